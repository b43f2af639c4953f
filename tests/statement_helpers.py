"""What a block of a test sends to the database: the statements the app's engine runs while it is
open, kept by a test of the statement's text; and the statements it had to compile afresh."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import CacheStats

from parking.extensions import db as _db

_CONTROL = re.compile(r"\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)\b", re.IGNORECASE)


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


@contextlib.contextmanager
def compiled_afresh() -> Iterator[list[str]]:
    """The statements SQLAlchemy compiled while the block ran instead of taking them from its cache
    of compiled statements: a statement without a cache key is compiled on every execution (the
    dialects' `on_conflict_do_nothing` inserts were, a third of a booking's CPU). SAVEPOINTs and
    other transaction control are left out: they are never cached."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        compiled = context is not None and context.compiled is not None
        if compiled and context.cache_hit is not CacheStats.CACHE_HIT and not _CONTROL.match(statement):
            seen.append(f"{context.cache_hit.name}: " + " ".join(statement.split())[:120])

    sa.event.listen(_db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", note)


def forget_compiled() -> None:
    """Empty the engine's cache of compiled statements, so that the next run of a path compiles
    every statement it sends (the cache is the engine's, shared by the tests of one process)."""
    cache = _db.engine._compiled_cache  # no public way to empty it
    if cache is not None:
        cache.clear()


_DML = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


@contextlib.contextmanager
def never_cached(engine: sa.Engine) -> Iterator[list[str]]:
    """The statements (SELECT, INSERT, UPDATE, DELETE, WITH) the block ran that SQLAlchemy cannot
    cache at all: no cache key, so compiled on every execution however often they run. The
    fixtures hold every test to none (tests/conftest.py)."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if context is None or context.compiled is None or not _DML.match(statement):
            return
        if context.cache_hit in (CacheStats.NO_CACHE_KEY, CacheStats.CACHING_DISABLED):
            seen.append(" ".join(statement.split())[:160])

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
