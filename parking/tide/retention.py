"""Retention of personal information: every row of a model that declares `__personal__` (see
`parking.masking.Personal`: scans, plate events, notifications, bookings, audit events) and is
older than its garage's `retention_days` gets its plates and phones masked, once.

Exactly once: a conditional UPDATE claims the due rows (`anonymised_at IS NULL`) and stamps them;
only the rows its RETURNING hands back are masked and counted, so a second pass, or one that
raced this one, finds nothing left. Rows without a garage (a notification about no booking, an
audit event of a person) follow the default retention."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from parking.bookings.models import Booking
from parking.extensions import Base, db
from parking.masking import Personal, mask_plate, mask_values
from parking.windows.models import Garage

#: Rows claimed per statement: the first pass after a long time catches up in slices.
CHUNK = 2000

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
    clauses = [sa.and_(garage.in_(ids), at < now - timedelta(days=days)) for days, ids in groups.items()]
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
    # bound, not years of masked rows in id order (docs/history-plans.md).
    bound = now - timedelta(days=min([*retention.values(), default_days()]))
    due = sa.and_(table.c.anonymised_at.is_(None), at < bound, _older(table, spec, retention, now))
    if spec.live is not None:
        due = sa.and_(due, sa.text(f"NOT ({spec.live})"))
    write = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("m_id"))
        .values({name: sa.bindparam(f"m_{name}", type_=table.c[name].type) for name in columns})
    )
    count = 0
    while True:
        ids = sa.select(table.c.id).where(due).order_by(at, table.c.id).limit(CHUNK)
        claimed = db.session.execute(
            sa.update(table)
            .where(table.c.id.in_(ids.scalar_subquery()), table.c.anonymised_at.is_(None))
            .values(anonymised_at=now)
            .returning(table.c.id, *(table.c[name] for name in columns))
        ).all()
        if claimed:
            db.session.execute(write, [{"m_id": row.id, **_masked(spec, row)} for row in claimed])
        count += len(claimed)
        if len(claimed) < CHUNK:
            return count


def anonymise(now: datetime) -> dict[str, int]:
    """Mask what every garage keeps past its retention; how many rows of each table were masked."""
    retention = dict(db.session.execute(sa.select(Garage.id, Garage.retention_days)).tuples().all())
    return {
        f"anonymised_{table.name}": _anonymise_table(table, spec, retention, now) for table, spec in personal_tables()
    }
