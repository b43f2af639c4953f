"""`flask backup DEST`: a consistent copy of the embedded SQLite database while the service runs.

SQLite's online backup API copies the database page by page under its own locks, so bookings made
during the copy either are in it or are not, never half. PostgreSQL is backed up with its own tools
(`pg_dump -Fc`, `pg_restore`); docs/operations.md gives both procedures."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import click
from flask import current_app
from sqlalchemy.engine import make_url


def backup_sqlite(source: str, destination: Path) -> None:
    """Copy the SQLite database file `source` into `destination` with the online backup API."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(destination)) as dst:
        src.backup(dst)


@click.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(destination: Path) -> None:
    """Back up the SQLite database to DESTINATION while the service runs (PostgreSQL: use pg_dump -Fc)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise click.ClickException(
            "this database is not an SQLite file; back up PostgreSQL with `pg_dump -Fc` (docs/operations.md)"
        )
    if destination.exists():
        raise click.ClickException(f"{destination} exists; choose a new file")
    backup_sqlite(url.database, destination)
    click.echo(f"backed up {url.database} to {destination}")
