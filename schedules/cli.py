"""`flask scheduler run`, `flask tide tick [--at ISO]` and `flask notifications deliver [--at ISO]`."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from parking import clock
from parking.extensions import db

scheduler_cli = AppGroup("scheduler", help="The tide scheduler.")
tide_cli = AppGroup("tide", help="The tide job.")
notifications_cli = AppGroup("notifications", help="Delivering notifications to the garages' gateways.")

#: A naive --at is read as local time at the estate.
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


@scheduler_cli.command("run")
def run_scheduler() -> None:
    """Run the tide scheduler in this process (blocking). Safe to run more than one."""
    from schedules import build_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a LocalProxy; the scheduler needs the app itself
    scheduler = build_scheduler(app, blocking=True)
    logging.getLogger("schedules").info(
        "tide scheduler running, every %ss; Ctrl-C stops it", app.config.get("TIDE_INTERVAL_SECONDS", 60)
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def parse_instant(value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO 8601 instant, e.g. 2027-01-02T08:00:00+08:00", param_hint="--at")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=DEFAULT_TZ)
    return clock.as_utc(instant)


@tide_cli.command("tick")
@click.option("--at", "at", default=None, help="run as if at this ISO 8601 instant (naive: Asia/Shanghai)")
def tick(at: str | None) -> None:
    """Run one tide pass now, or as if at --at, and print what changed."""
    from parking.tide.services import describe, run_tide

    now = parse_instant(at) if at else clock.now()
    summary = run_tide(now, commit=db.session.commit)
    click.echo(f"{now.isoformat()} {describe(summary)}")


@notifications_cli.command("deliver")
@click.option("--at", "at", default=None, help="run as if at this ISO 8601 instant (naive: Asia/Shanghai)")
def deliver(at: str | None) -> None:
    """Run one delivery pass now, or as if at --at, and print what it did."""
    from parking.notifications.delivery import deliver_due, describe

    now = parse_instant(at) if at else clock.now()
    summary = deliver_due(now, db.session.commit)
    click.echo(f"{now.isoformat()} {describe(summary)}")
