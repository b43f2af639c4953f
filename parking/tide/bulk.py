"""The set-based statements every transition of the tide shares: due clauses over the garages'
rule minutes, chunked id lists, audit, strike and notice rows produced by INSERT … SELECT from the
rows a conditional UPDATE changed, and giving spaces back under the window locks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.auth.models import User
from parking.bookings.models import Booking, BookingStatus
from parking.bookings.strikes import (
    Rules,
    per_garage,
)
from parking.dbtypes import UTCDateTime, id_among, insert_skipping
from parking.extensions import db
from parking.households.models import Household, Strike, StrikeKind
from parking.notifications.services import queue
from parking.windows.models import Garage, Window, WindowState

CHUNK = 5000


B = cast(sa.Table, Booking.__table__)


W = cast(sa.Table, Window.__table__)


H = cast(sa.Table, Household.__table__)


S = cast(sa.Table, Strike.__table__)


G = cast(sa.Table, Garage.__table__)


U = cast(sa.Table, User.__table__)


def due_before(
    column: sa.ColumnElement, rules: dict[int, Rules], offset: Callable[[Rules], timedelta], now: datetime
) -> sa.ColumnElement[bool]:
    """`column + offset(garage) <= now` for the window's garage."""
    return per_garage(W.c.garage_id, rules, offset, lambda delta: column <= now - delta)


def _chunks(ids: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def text_value(value: str) -> sa.ColumnElement[str]:
    return sa.literal(value, sa.String)


def json_object(**pairs: Any) -> sa.ColumnElement[Any]:
    """A JSON object built by the database, keys in the given order; Python constants are bound
    as JSON-ready values and booleans stay booleans on SQLite too."""
    postgres = _postgres()
    args: list[Any] = []
    for key, value in pairs.items():
        if value is None:
            value = sa.null()
        elif isinstance(value, str):
            value = text_value(value)
        elif isinstance(value, sa.ColumnElement) and isinstance(value.type, sa.Boolean) and not postgres:
            value = sa.func.json(sa.case((value, "true"), else_="false"))
        args += [text_value(key), value]
    return (sa.func.json_build_object if postgres else sa.func.json_object)(*args)


def iso_date(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A date column as `YYYY-MM-DD` (SQLite already stores it so)."""
    if _postgres():
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.type_coerce(column, sa.String)


def plus_minutes(instant: sa.ColumnElement[Any], minutes: sa.ColumnElement[int]) -> sa.ColumnElement[Any]:
    """`instant + minutes` in the database, stored exactly as the UTC column type stores it (on SQLite
    the text `YYYY-MM-DD HH:MM:SS.ffffff`; whole minutes leave the fraction as it was)."""
    if _postgres():
        return instant + sa.func.make_interval(0, 0, 0, 0, 0, minutes)
    shifted = sa.func.strftime("%Y-%m-%d %H:%M:%S", instant, sa.func.printf("%+d minutes", minutes))
    return sa.type_coerce(shifted, sa.String).op("||")(sa.func.substr(instant, 20))


def by_window(values: dict[int, str]) -> sa.ColumnElement[str]:
    """A per-window text computed in Python (local times need the timezone database), as one CASE
    with a branch per distinct value, not per window."""
    groups: dict[str, list[int]] = defaultdict(list)
    for window_id, value in values.items():
        groups[value].append(window_id)
    if len(groups) == 1:
        return text_value(next(iter(groups)))
    return sa.case(*((id_among(B.c.window_id, ids), text_value(value)) for value, ids in sorted(groups.items())))


def local_text(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def insert_audit(rows: list[dict]) -> None:
    """Bulk-insert audit events with the columns `parking.audit.services.record` fills."""
    for chunk in _chunks(rows, 1000):
        db.session.execute(sa.insert(AuditEvent), list(chunk))


AUDIT_COLUMNS = ["at", "actor_id", "action", "object_type", "object_id", "garage_id", "before", "after", "reason"]


def _booking_source(*, garage: bool = True) -> sa.FromClause:
    """Bookings with their window (and garage, for the rule minutes)."""
    source = B.join(W, W.c.id == B.c.window_id)
    return source.join(G, G.c.id == W.c.garage_id) if garage else source


def audit_bookings(
    ids: Sequence[int],
    action: str,
    status_from: str,
    status_to: str,
    at: sa.ColumnElement[Any],
    reason: str,
    *,
    releases: bool,
) -> None:
    """One INSERT … SELECT: the audit event of each booking in `ids`, with the snapshot
    `record(before=…, after=…)` would store; run before the UPDATE, so `slot` is still the old one."""
    before = json_object(status=status_from, slot=B.c.slot, priority=B.c.priority, late_cancel=B.c.late_cancel)
    after = json_object(
        status=status_to, slot=None if releases else B.c.slot, priority=B.c.priority, late_cancel=B.c.late_cancel
    )
    rows = (
        sa.select(
            at,
            sa.null(),
            text_value(action),
            text_value("booking"),
            B.c.id,
            B.c.garage_id,
            before,
            after,
            text_value(reason),
        )
        .select_from(_booking_source())
        .where(id_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id)
    )
    db.session.execute(sa.insert(AuditEvent).from_select(AUDIT_COLUMNS, rows))


def strike_bookings(ids: Sequence[int], kind: StrikeKind, at: sa.ColumnElement[Any]) -> int:
    """One strike per booking in `ids` (a strike someone already charged stays the only one)."""
    rows = (
        sa.select(B.c.household_id, B.c.id, text_value(kind.value), at)
        .select_from(_booking_source())
        .where(id_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id)
    )
    db.session.execute(
        insert_skipping(S, ("household_id", "booking_id", "kind", "at"), rows, "uq_strikes_booking_kind")
    )
    return len(ids)


def notify_bookings(ids: Sequence[int], kind: str, params: sa.ColumnElement[Any], now: datetime) -> int:
    """One notice per member of each booking's household, keyed `kind:booking_id` so that a
    repeated notice is a no-op (`notifications.services.queue`, as for `notify(…, dedupe_key=…)`).
    Returns the notices the bookings call for."""
    source = _booking_source(garage=False).join(U, U.c.household_id == B.c.household_id)
    rows = (
        sa.select(
            U.c.id,
            text_value(kind),
            params,
            B.c.id,
            text_value(f"{kind}:").op("||")(sa.cast(B.c.id, sa.String)),
            sa.literal(now, UTCDateTime()),
        )
        .select_from(source)
        .where(id_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id, U.c.id)
    )
    queue(rows)
    return db.session.scalar(sa.select(sa.func.count()).select_from(source).where(id_among(B.c.id, ids))) or 0


def give_back(ids: Sequence[int]) -> None:
    """Decrement the `booked` counters of the (locked) windows by the spaces the bookings `ids`
    released: one grouped UPDATE … FROM."""
    if not ids:
        return
    released = (
        sa.select(B.c.window_id, sa.func.count().label("n"))
        .where(id_among(B.c.id, ids))
        .group_by(B.c.window_id)
        .subquery()
    )
    db.session.execute(sa.update(W).where(W.c.id == released.c.window_id).values(booked=W.c.booked - released.c.n))


def window_audit(action: str, window_id: int, garage_id: int, before: str, after: str, at: datetime) -> dict:
    return {
        "at": at,
        "actor_id": None,
        "action": action,
        "object_type": "window",
        "object_id": window_id,
        "garage_id": garage_id,
        "before": {"state": before},
        "after": {"state": after},
        "reason": None,
    }


def due_windows(
    status: BookingStatus, due: sa.ColumnElement[bool], *extra: sa.ColumnElement[bool], lock: bool
) -> list[Any]:
    """The windows (not cancelled) for which `due` holds that have bookings in `status` matching
    `extra`; row-locked in id order when `lock` (so that two lockers never wait in a cycle)."""
    live = sa.exists().where(B.c.window_id == W.c.id, B.c.status == status, *extra)
    stmt = (
        sa.select(W.c.id, W.c.garage_id, W.c.service_date, W.c.opens_at, W.c.closes_at)
        .where(W.c.state != WindowState.CANCELLED, due, live)
        .order_by(W.c.id)
    )
    return list(db.session.execute(stmt.with_for_update(of=W) if lock else stmt).all())


def take_due(window_ids: Sequence[int], status: BookingStatus, *extra: sa.ColumnElement[bool]) -> list[Any]:
    """Row-lock the bookings of the windows still in `status` (matching `extra`), in id order. A
    pass that lost the race finds them changed and takes nothing: between this statement and the
    commit, the rows it took are its own, so the rows it audits are exactly the rows it changes."""
    if not window_ids:
        return []
    return list(
        db.session.execute(
            sa.select(B.c.id, B.c.window_id, B.c.household_id, B.c.inside)
            .where(id_among(B.c.window_id, window_ids), B.c.status == status, *extra)
            .order_by(B.c.id)
            .with_for_update()
        ).all()
    )


def transition(ids: Sequence[int], status_from: BookingStatus, values: dict, *extra: sa.ColumnElement[bool]) -> None:
    """The conditional UPDATE of the taken rows; every one of them must still be in `status_from`."""
    if not ids:
        return
    result = db.session.execute(
        sa.update(B).where(id_among(B.c.id, ids), B.c.status == status_from, *extra).values(**values)
    )
    changed = result.rowcount  # type: ignore[attr-defined]  # an UPDATE returns a CursorResult, which has rowcount
    if changed != len(ids):  # the row locks (SQLite: the database lock) make this impossible
        raise RuntimeError(f"tide: {len(ids)} bookings taken but {changed} still {status_from}")
