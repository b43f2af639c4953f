"""Column types shared by the models, and the statement pieces every service builds the same way."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored as UTC and always returned timezone-aware (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column stored as its values, with a named CHECK constraint."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# -- a column among many ids, as one bound value ----------------------------------------------------


class IdList(TypeDecorator):
    """A list of integer ids bound as ONE value: an integer array on PostgreSQL, a JSON array on
    SQLite (unpacked there by `json_each`). However many ids, the statement has one parameter:
    PostgreSQL refuses more than 65,535 of them, and a city's tide pass can name more bookings."""

    impl = sa.String
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return dialect.type_descriptor(postgresql.ARRAY(sa.Integer))
        return dialect.type_descriptor(sa.String())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        ids = [int(i) for i in value]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _IdAmong(sa.sql.expression.ColumnElement[bool]):
    """`column IN (ids)` with the ids as one bound value (`id_among`)."""

    inherit_cache = True
    type = sa.Boolean()

    def __init__(self, column: sa.ColumnElement[int], ids: sa.BindParameter[Any]) -> None:
        self.column, self.ids = column, ids

    _traverse_internals = [
        ("column", sa.sql.visitors.InternalTraversal.dp_clauseelement),
        ("ids", sa.sql.visitors.InternalTraversal.dp_clauseelement),
    ]


@compiles(_IdAmong)
def _id_among_sqlite(element: _IdAmong, compiler: Any, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"  # noqa: S608 - a compiled column and a bound parameter


@compiles(_IdAmong, "postgresql")
def _id_among_postgresql(element: _IdAmong, compiler: Any, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} = ANY({ids})"


def id_among(column: sa.ColumnElement[int], ids: Any) -> sa.ColumnElement[bool]:
    """`column IN ids` as ONE bound value however many ids (`IdList`): the one way a statement
    names a long list of rows, in the tide and wherever else it hands such a list on."""
    return _IdAmong(column, sa.bindparam(None, list(ids), type_=IdList()))


# -- a row of bound values, typed as the columns they go to -----------------------------------------


class _Typed(sa.sql.expression.ColumnElement[Any]):
    """A bound value typed as a column (`bound_row`): CAST on PostgreSQL, the bare parameter on
    SQLite (whose CAST to DATETIME would turn a stored timestamp into a number)."""

    inherit_cache = True

    def __init__(self, value: sa.BindParameter[Any]) -> None:
        self.value, self.type = value, value.type

    _traverse_internals = [("value", sa.sql.visitors.InternalTraversal.dp_clauseelement)]


@compiles(_Typed)
def _typed_sqlite(element: _Typed, compiler: Any, **kw: Any) -> str:
    return cast(str, compiler.process(element.value, **kw))


@compiles(_Typed, "postgresql")
def _typed_postgresql(element: _Typed, compiler: Any, **kw: Any) -> str:
    return cast(str, compiler.process(sa.cast(element.value, element.type), **kw))


def bound_row(table: sa.Table, columns: Sequence[str]) -> sa.Select[Any]:
    """SELECT of one bound value per column of `table`, each bound by its column's name and typed as
    the column (PostgreSQL types a bare parameter in a select list as text). Given to
    `insert_skipping` and run with a list of rows, it inserts them one statement a row
    (executemany), compiled once."""
    return sa.select(*(_Typed(sa.bindparam(name, type_=table.c[name].type)) for name in columns))


# -- INSERT … SELECT that skips the rows a unique index already holds -------------------------------


def insert_skipping(table: sa.Table, columns: Sequence[str], rows: sa.Select[Any], unique: str) -> sa.Insert:
    """INSERT … SELECT `rows` (which select `columns` in order) … ON CONFLICT DO NOTHING on the unique
    index or constraint named `unique` (its columns, and its predicate if it is partial, read from
    the model): a row that index already holds is skipped by the database, whoever raced to write
    it. The one way an insert skips what is already there, on both databases (a list of rows is a
    SELECT of bound values run once a row: `garages.services.insert_windows`).

    The clause is rendered as the SELECT's suffix, so the statement has a cache key and SQLAlchemy
    compiles it once: the dialects' own `insert(…).on_conflict_do_nothing()` has none in SQLAlchemy
    2.0 (`inherit_cache = False`), and a new booking's one statement was compiled afresh on every
    request, about a third of its CPU (docs/benchmarks.md, "Compiled once")."""
    target, where = _unique_target(table, unique)
    if rows.whereclause is None:
        rows = rows.where(sa.true())  # SQLite reads INSERT … SELECT … ON CONFLICT only after a WHERE
    clause = f"ON CONFLICT ({', '.join(target)})" + (f" WHERE {where}" if where else "") + " DO NOTHING"
    return sa.insert(table).from_select(list(columns), rows.suffix_with(clause))


def _unique_target(table: sa.Table, name: str) -> tuple[list[str], str | None]:
    """The columns of the unique index or constraint `name` of `table`, and its predicate (SQL text)."""
    for index in table.indexes:
        if index.name == name and index.unique:
            wheres = {index.dialect_options[dialect]["where"] for dialect in ("postgresql", "sqlite")}
            texts = {where.text if isinstance(where, sa.TextClause) else where for where in wheres}
            if len(texts) > 1 or any(where is not None and not isinstance(where, str) for where in texts):
                raise TypeError(f"{name}: a conflict target's predicate is one sa.text() given to both databases")
            return [column.name for column in index.columns], texts.pop()
    for constraint in table.constraints:
        if constraint.name == name and isinstance(constraint, sa.UniqueConstraint):
            return [column.name for column in constraint.columns], None
    raise LookupError(f"{table.name} has no unique index or constraint named {name}")
