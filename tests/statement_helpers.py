"""What a block of a test sends to the database: the statements the app's engine runs while it is
open, kept by a test of the statement's text; and the statements it had to compile afresh."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import CacheStats

from parking.extensions import db as _db

_CONTROL = re.compile(r"\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)\b", re.IGNORECASE)
_DML = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


def is_dml(statement: str) -> bool:
    """A SELECT, INSERT, UPDATE, DELETE or WITH: what the app asks of the data, not DDL or a
    transaction's control."""
    return _DML.match(statement) is not None


@contextlib.contextmanager
def _noting(describe: Callable[[str, Any], str | None], engine: sa.Engine | None = None) -> Iterator[list[str]]:
    """What `describe(statement, context)` says of each statement the engine (the app's by default)
    sends while the block runs, where it says something, in order."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        found = describe(statement, context)
        if found is not None:
            seen.append(found)

    target = engine if engine is not None else _db.engine
    sa.event.listen(target, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(target, "before_cursor_execute", note)


def sent(keep: Callable[[str], bool]) -> contextlib.AbstractContextManager[list[str]]:
    """The statements sent while the block runs for which `keep(statement)` is true, in order."""
    return _noting(lambda statement, context: statement if keep(statement) else None)


def _compiled(context: Any) -> bool:
    return context is not None and context.compiled is not None


def compiled_afresh() -> contextlib.AbstractContextManager[list[str]]:
    """The statements SQLAlchemy compiled while the block ran instead of taking them from its cache
    of compiled statements: a statement without a cache key is compiled on every execution (the
    dialects' `on_conflict_do_nothing` inserts were, a third of a booking's CPU). SAVEPOINTs and
    other transaction control are left out: they are never cached."""

    def describe(statement: str, context: Any) -> str | None:
        if not _compiled(context) or context.cache_hit is CacheStats.CACHE_HIT or _CONTROL.match(statement):
            return None
        return f"{context.cache_hit.name}: " + " ".join(statement.split())[:120]

    return _noting(describe)


def forget_compiled() -> None:
    """Empty the engine's cache of compiled statements, so that the next run of a path compiles
    every statement it sends (the cache is the engine's, shared by the tests of one process)."""
    cache = _db.engine._compiled_cache  # no public way to empty it
    if cache is not None:
        cache.clear()


def never_cached(engine: sa.Engine) -> contextlib.AbstractContextManager[list[str]]:
    """The statements (SELECT, INSERT, UPDATE, DELETE, WITH) the block ran that SQLAlchemy cannot
    cache at all: no cache key, so compiled on every execution however often they run. The
    fixtures hold every test to none (tests/conftest.py)."""

    def describe(statement: str, context: Any) -> str | None:
        if not _compiled(context) or not is_dml(statement):
            return None
        if context.cache_hit not in (CacheStats.NO_CACHE_KEY, CacheStats.CACHING_DISABLED):
            return None
        return " ".join(statement.split())[:160]

    return _noting(describe, engine)
