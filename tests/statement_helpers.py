"""What a block of a test sends to the database: the statements the app's engine runs while it is
open, kept by a test of the statement's text."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from parking.extensions import db as _db


@contextlib.contextmanager
def sent(keep: Callable[[str], bool]) -> Iterator[list[str]]:
    """The statements sent while the block runs for which `keep(statement)` is true, in order."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if keep(statement):
            seen.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", note)
