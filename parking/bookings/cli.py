"""`flask ballot verify WINDOW_ID`: recompute a published draw from its own data."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click
from flask.cli import AppGroup

ballot_cli = AppGroup("ballot", help="The ballot draw.")


@ballot_cli.command("verify")
@click.argument("window_id", type=int)
@click.option(
    "--file",
    "path",
    type=click.File("r"),
    default=None,
    help="verify this saved JSON of GET /api/v1/windows/WINDOW_ID/draw instead of the database's",
)
def verify_command(window_id: int, path: TextIO | None) -> None:
    """Recompute the draw of a night from the published seed and entries; exit 1 unless it matches."""
    from parking.bookings import ballot, draw
    from parking.bookings.schemas import DrawSchema
    from parking.errors import DomainError

    if path is not None:
        try:
            published = json.load(path)
        except ValueError as exc:
            raise click.ClickException(f"not JSON: {exc}") from exc
        if published.get("window_id") != window_id:
            raise click.ClickException(f"the file is the draw of window {published.get('window_id')}")
    else:
        try:
            published = DrawSchema().dump(ballot.published(window_id))
        except DomainError as exc:
            raise click.ClickException(f"window {window_id}: {exc.reason}") from exc
    if not published.get("drawn"):
        click.echo(f"window {window_id}: the draw has not run yet (commitment {published.get('commitment')})")
        sys.exit(1)
    verdict = draw.verify(published)
    entries = published.get("entries") or []
    if verdict.ok:
        confirmed = sum(1 for e in entries if e.get("result") == draw.CONFIRMED)
        click.echo(
            f"window {window_id}: the draw matches: seed matches commitment {published['commitment']}, "
            f"{len(entries)} entries, {confirmed} confirmed of quota {published['quota']}"
        )
        return
    click.echo(f"window {window_id}: the draw does NOT match:")
    for problem in verdict.problems:
        click.echo(f"  - {problem}")
    sys.exit(1)
