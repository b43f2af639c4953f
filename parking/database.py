"""Engine behaviour per dialect."""

from __future__ import annotations

import select
import sqlite3
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar, overload

import psycopg
import sqlalchemy as sa
from flask import has_request_context, request
from flask_sqlalchemy.session import Session
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import class_mapper, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

T = TypeVar("T")


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions would defer it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN: a deferred transaction that read first and writes later can
    # fail with SQLITE_BUSY instead of waiting, and the window lock must serialise bookers.
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# -- a result's columns, described when asked for ------------------------------------------------
# psycopg builds `cursor.description` afresh, one `Column` object a column, every time it is read,
# and SQLAlchemy reads it once a statement, even where it has the result's columns from the
# statement's compiled cache and never looks at them. The signed-in caller's statement has 71
# columns: building them was a quarter of its CPU, a ninth of a confirmed booking's
# (docs/benchmarks.md, "Columns described when asked for"). This cursor answers a sequence that
# builds each column's `Column` only when it is read: the same entries, for the same result.


class _ResultOf:
    """What psycopg's `Column` reads of its cursor, kept for one result: a later statement on the
    cursor changes the cursor's result, not a description already given out."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.pgresult = cursor.pgresult
        self._encoding = cursor._encoding  # the result's text encoding, with which `Column` decodes names
        self.adapters = cursor.adapters


class Described(Sequence[psycopg.Column]):
    """A result's `cursor.description`: its `Column` entries, each built when it is read."""

    __slots__ = ("_count", "_result")

    def __init__(self, cursor: psycopg.Cursor[Any], count: int) -> None:
        self._result = _ResultOf(cursor)
        self._count = count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> psycopg.Column: ...
    @overload
    def __getitem__(self, index: slice) -> list[psycopg.Column]: ...
    def __getitem__(self, index: int | slice) -> psycopg.Column | list[psycopg.Column]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        position = index + self._count if index < 0 else index
        if not 0 <= position < self._count:
            raise IndexError(index)
        return psycopg.Column(self._result, position)  # type: ignore[arg-type]  # it reads what _ResultOf keeps


class DescribedOnDemand(psycopg.Cursor[Any]):
    """psycopg's cursor, whose `description` builds a column's entry when it is read (`Described`);
    None, as psycopg's, for a result without rows."""

    @property
    def description(self) -> Described | None:  # type: ignore[override]  # a sequence of the same entries
        result = self.pgresult
        if result and (
            result.nfields or result.status in (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)
        ):
            return Described(self, result.nfields)
        return None


@event.listens_for(Engine, "connect")
def _psycopg_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.cursor_factory = DescribedOnDemand


def check_connections_at_checkout(engine: Engine) -> None:
    """A pooled PostgreSQL connection whose server ended it is replaced before a request uses it.
    This stands in for the pool's pre-ping, a `SELECT 1` round trip on every checkout, which cost
    40 microseconds of the worker's CPU and 65 of wall time per request (docs/benchmarks.md).
    SQLite has no server to lose: nothing is listened for there."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", _drop_connections_the_server_ended)


def _drop_connections_the_server_ended(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """An idle connection between transactions has nothing to read: a server that was restarted,
    or that terminated the backend, has sent its goodbye and closed the socket, which makes the
    socket readable. One `poll` with no timeout sees that (redis-py checks its pooled connections
    the same way). `DisconnectionError` makes the pool discard this connection and check out
    another. A connection cut while a request uses it is that request's 503 (parking.errors)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the server ended the connection")


#: The methods that never write (tests/test_get_never_writes.py holds every GET route to it).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestSession(Session):
    """`db.session`: on PostgreSQL, a request that only reads (GET, HEAD, OPTIONS) runs its
    statements in autocommit, outside a transaction, once the app has asked for it
    (`read_in_autocommit`).

    Why: psycopg forgets the statements it counted and prepared whenever a transaction is rolled
    back, and a read's transaction always ended in a rollback. So a page's statements were never
    prepared, and the server planned each one again on every request: 1-2 ms a statement for the
    signed-in user's joins and the night listing, more than running them (docs/benchmarks.md,
    "Statements planned once"). In autocommit there is no BEGIN and no ROLLBACK: two round trips
    less, and a statement run five times on a connection is prepared and planned once.

    What it changes for a read: nothing a page can see. PostgreSQL's READ COMMITTED already gives
    each statement of a transaction its own snapshot, and a read takes no row locks. A GET that
    wrote would have its write committed at once instead of rolled back, which is why GETs are
    held to writing nothing. The connection's own isolation level is restored when it goes back
    to the pool. SQLite keeps its transactions (its connections have nothing to prepare)."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if isinstance(engine, Engine) and has_request_context() and request.method in READING_METHODS:
            return _READS.get(engine, engine)
        return engine


#: Each engine that reads in autocommit, with the engine its reads use.
_READS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def read_in_autocommit(engine: Engine) -> None:
    """A request that only reads uses the same engine and pool, its connection in autocommit while
    it is checked out (`RequestSession`). PostgreSQL only: SQLite keeps its transactions."""
    if engine.dialect.name == "postgresql":
        _READS[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")


def commit_transactions_that_wrote_nothing(engine: Engine) -> None:
    """On PostgreSQL, a transaction that sent no write is ended with COMMIT where the app rolls it
    back: a refusal found before anything was written (a full night, a closed one), a page drawn
    again after a refused form, the session's end. Ending it either way changes nothing, but
    psycopg forgets every statement it prepared on the connection at a ROLLBACK, and the next
    requests then have each statement planned again (docs/benchmarks.md, "Statements planned
    once"). A transaction that wrote anything, or failed, is rolled back as before. SQLite has
    nothing to prepare: nothing is listened for there."""
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "begin", _nothing_written_yet)
    event.listen(engine, "before_cursor_execute", _note_a_write)
    event.listen(engine, "rollback", _commit_when_nothing_was_written)


def _nothing_written_yet(conn: Any) -> None:
    conn.info["wrote"] = False


def _note_a_write(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    # Anything but a plain SELECT counts as a write: INSERT, UPDATE, DELETE, a WITH that may hold
    # one, a SAVEPOINT. A SELECT … FOR UPDATE only locks, and a COMMIT releases its locks as a
    # ROLLBACK does.
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info["wrote"] = True


def _commit_when_nothing_was_written(conn: Any) -> None:
    """Before the rollback: COMMIT a transaction that is open, healthy and wrote nothing. The
    rollback that follows then finds no transaction and sends nothing."""
    if conn.info.get("wrote", True) or conn.invalidated:
        return
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection.info.transaction_status != TransactionStatus.INTRANS:
        return  # no transaction open, or a failed one: the rollback ends it
    try:
        dbapi_connection.commit()
    except psycopg.Error:
        return  # the connection failed meanwhile: the rollback that follows meets and reports it


# -- instances made from a Core row, as a query would have loaded them --------------------------
# The ORM builds the loaders of every column and every eager relationship of a statement afresh on
# each execution. For the signed-in caller (a user, the household and its garage, the garages a
# member of staff works for: five entities, 71 columns) that was 230 of the 340 microseconds the
# statement cost, on every request of the API and of the pages (docs/benchmarks.md, "The caller
# from one row"). The same statement in Core returns the same row; `AsLoaded` makes the instances
# from it, each exactly as a query makes an instance it had not loaded before: every column set,
# nothing changed, in the session's identity map, its other attributes left to load when read.


class AsLoaded(Generic[T]):
    """The instances of one mapped class held by a run of columns of a Core row. Built once, for
    `columns`, the class's table (or an alias of it): `selected` are the columns to select, in
    the order `adopt` reads them from `start`."""

    def __init__(self, entity: type[T], columns: sa.FromClause | None = None) -> None:
        mapper = class_mapper(entity)
        table = mapper.local_table if columns is None else columns
        attributes = [prop for prop in mapper.column_attrs if not prop.deferred]  # a deferred one loads when read
        self._mapper = mapper
        self.keys = tuple(prop.key for prop in attributes)
        self.selected = tuple(table.c[prop.columns[0].key] for prop in attributes)
        primary = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
        self._primary = tuple(self.keys.index(key) for key in primary)

    def adopt(self, session: OrmSession, row: Row[Any], start: int, *, refresh: bool = False) -> T | None:
        """The instance of the row's columns from `start` (None where an outer join found no row):
        the one the session already has for that primary key, with what it had not loaded (or had
        expired) filled from the row, as a query fills it (with `refresh`, every column set from
        the row, as `populate_existing` sets it); else a new one."""
        values = row[start : start + len(self.keys)]
        identity = tuple(values[i] for i in self._primary)
        if any(part is None for part in identity):
            return None
        existing = session.identity_map.get(self._mapper.identity_key_from_primary_key(identity))
        if existing is not None:
            if refresh:
                for key, value in zip(self.keys, values, strict=True):
                    set_committed_value(existing, key, value)
            else:
                fill(existing, zip(self.keys, values, strict=True))
            return existing
        instance = self._mapper.class_manager.new_instance()
        instance_dict(instance).update(zip(self.keys, values, strict=True))
        return as_loaded(session, instance)


def as_loaded(session: OrmSession, instance: T) -> T:
    """A new instance whose columns hold its row (its primary key among them) put in the session
    as a query would have loaded it: its history reset (nothing to flush), persistent, in the
    identity map, the attributes it does not hold left to load when read."""
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def fill(instance: Any, values: Iterable[tuple[str, Any]]) -> None:
    """Set each attribute the instance has not loaded (never read, or expired) to its value, as
    loaded: an attribute it holds, changed or not, is kept."""
    loaded = instance_dict(instance)
    for key, value in values:
        if key not in loaded:
            set_committed_value(instance, key, value)
