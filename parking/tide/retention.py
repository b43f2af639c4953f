"""Retention of personal information: every row of a model that declares `__personal__` (see
`parking.masking.Personal`: scans, plate events, notifications, bookings, audit events) and is
older than its garage's `retention_days` gets its plates and phones masked, once.

Exactly once: the pass locks the due rows it reads (`anonymised_at IS NULL`, oldest first, `FOR
UPDATE SKIP LOCKED` on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the whole database), then one
conditional UPDATE a row masks it and stamps `anonymised_at` together, so a second pass, or one
that raced this one, finds nothing left or skips what the other holds. Rows without a garage (a
notification about no booking, an audit event of a person) follow the default retention.

Bounded: a pass masks at most `BATCH` rows of each table. A masked row is a new version of the
row in every index of its table (its plate is indexed, and `anonymised_at` decides the partial
`retention_index`), so a pass's time is its rows; the tide job repeats the batch while one comes
back full (`run_tide(commit=…)`), each batch its own short transaction (docs/benchmarks.md, "Years of history")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from parking.bookings.models import Booking
from parking.dbtypes import id_among
from parking.extensions import Base, db
from parking.masking import Personal, mask_plate, mask_values
from parking.windows.models import Garage

#: Rows of each table one pass masks at most, oldest first; a full batch says more may be due. A
#: masked row costs about 0.13 ms and a pass's five claims about 5 ms whatever is due, so 5 rows a
#: table keep a pass within 5 ms of a one-garage pass however many garages share the minute
#: (docs/benchmarks.md, "Years of history": 25 rows a table took 30 ms at 100 garages).
BATCH = 5

B = cast(sa.Table, Booking.__table__)


def personal_tables() -> Iterator[tuple[sa.Table, Personal]]:
    """Every mapped table whose model declares what of it is personal, by table name."""
    found = [
        (cast(sa.Table, mapper.local_table), mapper.class_.__personal__)
        for mapper in Base.registry.mappers
        if isinstance(getattr(mapper.class_, "__personal__", None), Personal)
    ]
    yield from sorted(found, key=lambda item: item[0].name)


def default_days() -> int:
    """The model's default `retention_days`: for rows that belong to no garage."""
    default = cast(sa.Table, Garage.__table__).c.retention_days.default
    assert isinstance(default, sa.ColumnDefault)
    return cast(int, default.arg)


def _older(table: sa.Table, spec: Personal, retention: dict[int, int], now: datetime) -> sa.ColumnElement[bool]:
    """`at < now - retention_days` of the row's garage, one clause per distinct setting."""
    at = table.c[spec.at]
    garage: sa.ColumnElement[Any] = (
        table.c[spec.garage]
        if spec.garage is not None
        else sa.select(B.c.garage_id).where(B.c.id == table.c.booking_id).scalar_subquery()
    )
    groups: dict[int, list[int]] = defaultdict(list)
    for garage_id, days in retention.items():
        groups[days].append(garage_id)
    clauses = [sa.and_(id_among(garage, ids), at < now - timedelta(days=days)) for days, ids in groups.items()]
    clauses.append(sa.and_(garage.is_(None), at < now - timedelta(days=default_days())))
    return sa.or_(*clauses)


def _masked(spec: Personal, row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in spec.plates:
        value = getattr(row, name)
        values[f"m_{name}"] = mask_plate(value) if value is not None else None
    for name in spec.texts:
        values[f"m_{name}"] = mask_values(getattr(row, name))
    return values


def _anonymise_table(table: sa.Table, spec: Personal, retention: dict[int, int], now: datetime) -> int:
    columns = [*spec.plates, *spec.texts]
    at = table.c[spec.at]
    # The bound every due row is within (the shortest retention), and the order of the instants:
    # with them the claim reads the model's `retention_index` from its oldest unmasked row to the
    # bound, not years of masked rows in id order (docs/benchmarks.md, "Years of history").
    bound = now - timedelta(days=min([*retention.values(), default_days()]))
    due = sa.and_(table.c.anonymised_at.is_(None), at < bound, _older(table, spec, retention, now))
    if spec.live is not None:
        due = sa.and_(due, sa.text(f"NOT ({spec.live})"))
    claimed = db.session.execute(
        sa.select(table.c.id, *(table.c[name] for name in columns))
        .where(due)
        .order_by(at, table.c.id)
        .limit(BATCH)
        .with_for_update(of=table, skip_locked=True)
    ).all()
    if not claimed:
        return 0
    # One version of each row: the mask and the stamp in the same UPDATE (the row is locked; the
    # `anonymised_at IS NULL` guard is what makes a row counted once even without the lock).
    write = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("m_id"), table.c.anonymised_at.is_(None))
        .values(anonymised_at=now, **{name: sa.bindparam(f"m_{name}", type_=table.c[name].type) for name in columns})
    )
    result = db.session.execute(write, [{"m_id": row.id, **_masked(spec, row)} for row in claimed])
    return cast(sa.CursorResult[Any], result).rowcount


def anonymise(now: datetime) -> dict[str, int]:
    """Mask what every garage keeps past its retention, at most `BATCH` rows of each table, the
    oldest first; how many rows of each table were masked (`BATCH`: more may be due)."""
    retention = dict(db.session.execute(sa.select(Garage.id, Garage.retention_days)).tuples().all())
    return {
        f"anonymised_{table.name}": _anonymise_table(table, spec, retention, now) for table, spec in personal_tables()
    }
