"""Flask CLI: `flask --app wsgi users create …`, `flask --app wsgi seed-demo`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from parking import clock
from parking.auth.models import Role
from parking.extensions import db
from parking.fields import PHONE_RE

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.option("--phone", required=True, help="11-digit mainland mobile number")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.RESIDENT.value)
@click.option("--garage", "garages", type=int, multiple=True, help="garage id (attendants, managers)")
@click.option("--name", default=None)
def create_user(phone: str, password: str, role: str, garages: tuple[int, ...], name: str | None) -> None:
    """Create a user (an attendant or manager belongs to --garage)."""
    from parking.auth.services import register
    from parking.errors import DomainError
    from parking.windows.models import Garage

    if not PHONE_RE.match(phone):
        raise click.BadParameter("must be an 11-digit mainland mobile number", param_hint="--phone")
    if len(password) < 8:
        raise click.BadParameter("at least 8 characters", param_hint="--password")
    for garage_id in garages:
        if db.session.get(Garage, garage_id) is None:
            raise click.BadParameter(f"no garage {garage_id}", param_hint="--garage")
    try:
        user = register(phone, password, name or phone, clock.now(), role=Role(role), garage_ids=list(garages))
    except DomainError as exc:
        raise click.ClickException(exc.reason) from exc
    db.session.commit()
    click.echo(f"created user {user.id} ({user.role.value})")


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Seed the demo garage and accounts if the database is empty."""
    from parking.seed import is_empty, seed_demo

    if not is_empty():
        click.echo("database is not empty: demo seed skipped")
        return
    garage = seed_demo(clock.now())
    db.session.commit()
    click.echo(f"seeded demo garage {garage.id}: {garage.name}")


def register_cli(app: Flask) -> None:
    from parking.backup import backup_command
    from parking.bookings.cli import ballot_cli
    from parking.passes.cli import passes_cli
    from schedules.cli import notifications_cli, scheduler_cli, tide_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(passes_cli)
    app.cli.add_command(ballot_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(tide_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(backup_command)
