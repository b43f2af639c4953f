"""The tide: one idempotent pass that performs every time-based transition that is due at `now`.

The pass reads only the clock and the windows' instants, so it catches up after any downtime: one
pass settles the missed transitions in their natural order

    materialise → draw (ballot) → open → no-show → remind → close (waitlist expires) → overstay / complete → suspend

and audits each with the instant it was due. Booking and gate decisions never wait for it: they
compute from the same instants (`Window.state_at`, `booking_open`), so the pass only records what
the clock already decided (a state is computed from the instants, so the pass only records it).

Exactly once. Every transition is a conditional UPDATE (`… WHERE status = 'confirmed'`) whose
RETURNING rows are the only rows the pass goes on to audit, strike and notify; a pass that loses a
race to another one finds nothing left to update. Counters change only under the window row locks,
taken in id order. Unique keys back it up: one strike per booking and kind, one notice per user and
`dedupe_key`. On PostgreSQL a transaction-scoped advisory lock serialises whole passes first, which
spares concurrent passes from waiting on each other's row locks; it is an optimisation, the
conditional updates alone are correct without it.

Set-based: each transition kind is a few statements over all due rows of all garages (in chunks of
`CHUNK` ids), so the cost grows with the rows that change, not with one query per booking. The
per-garage rule minutes become one `instant <= now - minutes` clause per distinct setting.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from parking.audit.models import AuditEvent
from parking.auth.models import User
from parking.bookings.admission import booking_open
from parking.bookings.ballot import run_due_draws
from parking.bookings.models import Booking, BookingStatus
from parking.bookings.services import promote_waitlist
from parking.bookings.strikes import (
    Rules,
    counted_strikes,
    load_rules,
    not_suspended,
    overstay_due,
    per_garage,
    suspension_notice,
    suspension_reason,
)
from parking.dbtypes import UTCDateTime
from parking.extensions import db
from parking.garages.services import insert_windows, window_rows
from parking.households.models import Household, Strike, StrikeKind
from parking.notifications.models import Notification
from parking.quotas.resolve import overrides_between
from parking.windows.locking import lock_window
from parking.windows.models import Garage, Window, WindowState, WindowTemplate
from parking.windows.services import horizon_end, today

log = logging.getLogger(__name__)

CHUNK = 5000
#: Any constant: the key of the PostgreSQL advisory lock that serialises tide passes.
ADVISORY_KEY = 0x71DE_0001

B = cast(sa.Table, Booking.__table__)
W = cast(sa.Table, Window.__table__)
H = cast(sa.Table, Household.__table__)
S = cast(sa.Table, Strike.__table__)
G = cast(sa.Table, Garage.__table__)
U = cast(sa.Table, User.__table__)

WAITLIST_EXPIRED = "waitlist expired"


def _due(
    column: sa.ColumnElement, rules: dict[int, Rules], offset: Callable[[Rules], timedelta], now: datetime
) -> sa.ColumnElement[bool]:
    """`column + offset(garage) <= now` for the window's garage."""
    return per_garage(W.c.garage_id, rules, offset, lambda delta: column <= now - delta)


def _chunks(ids: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _among(column: sa.ColumnElement[int], ids: Sequence[int]) -> sa.ColumnElement[bool]:
    """`column IN ids` as ONE bound value however many ids: an array on PostgreSQL, a JSON array
    unpacked by `json_each` on SQLite (no bind-parameter limit, no statement per chunk)."""
    ids = [int(i) for i in ids]
    if _postgres():
        return column == sa.any_(sa.bindparam(None, ids, type_=postgresql.ARRAY(sa.Integer)))
    values = sa.func.json_each(sa.bindparam(None, json.dumps(ids), type_=sa.String)).table_valued("value")
    return column.in_(sa.select(values.c.value))


def _text(value: str) -> sa.ColumnElement[str]:
    return sa.literal(value, sa.String)


def _json_object(**pairs: Any) -> sa.ColumnElement[Any]:
    """A JSON object built by the database, keys in the given order; Python constants are bound
    as JSON-ready values and booleans stay booleans on SQLite too."""
    postgres = _postgres()
    args: list[Any] = []
    for key, value in pairs.items():
        if value is None:
            value = sa.null()
        elif isinstance(value, str):
            value = _text(value)
        elif isinstance(value, sa.ColumnElement) and isinstance(value.type, sa.Boolean) and not postgres:
            value = sa.func.json(sa.case((value, "true"), else_="false"))
        args += [_text(key), value]
    return (sa.func.json_build_object if postgres else sa.func.json_object)(*args)


def _iso_date(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A date column as `YYYY-MM-DD` (SQLite already stores it so)."""
    if _postgres():
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.type_coerce(column, sa.String)


def _plus_minutes(instant: sa.ColumnElement[Any], minutes: sa.ColumnElement[int]) -> sa.ColumnElement[Any]:
    """`instant + minutes` in the database, stored exactly as the UTC column type stores it (on SQLite
    the text `YYYY-MM-DD HH:MM:SS.ffffff`; whole minutes leave the fraction as it was)."""
    if _postgres():
        return instant + sa.func.make_interval(0, 0, 0, 0, 0, minutes)
    shifted = sa.func.strftime("%Y-%m-%d %H:%M:%S", instant, sa.func.printf("%+d minutes", minutes))
    return sa.type_coerce(shifted, sa.String).op("||")(sa.func.substr(instant, 20))


def _by_window(values: dict[int, str]) -> sa.ColumnElement[str]:
    """A per-window text computed in Python (local times need the timezone database), as one CASE
    with a branch per distinct value, not per window."""
    groups: dict[str, list[int]] = defaultdict(list)
    for window_id, value in values.items():
        groups[value].append(window_id)
    if len(groups) == 1:
        return _text(next(iter(groups)))
    return sa.case(*((_among(B.c.window_id, ids), _text(value)) for value, ids in sorted(groups.items())))


def _local(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def _insert_ignore(model: Any, rows: list[dict], **conflict: Any) -> None:
    if not rows:
        return
    module = postgresql if _postgres() else sqlite
    for chunk in _chunks(rows, 1000):
        db.session.execute(module.insert(model).on_conflict_do_nothing(**conflict), list(chunk))


def _audit(rows: list[dict]) -> None:
    """Bulk-insert audit events with the columns `parking.audit.services.record` fills."""
    for chunk in _chunks(rows, 1000):
        db.session.execute(sa.insert(AuditEvent), list(chunk))


AUDIT_COLUMNS = ["at", "actor_id", "action", "object_type", "object_id", "garage_id", "before", "after", "reason"]


def _booking_source(*, garage: bool = True) -> sa.FromClause:
    """Bookings with their window (and garage, for the rule minutes)."""
    source = B.join(W, W.c.id == B.c.window_id)
    return source.join(G, G.c.id == W.c.garage_id) if garage else source


def _audit_bookings(
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
    before = _json_object(status=status_from, slot=B.c.slot, priority=B.c.priority, late_cancel=B.c.late_cancel)
    after = _json_object(
        status=status_to, slot=None if releases else B.c.slot, priority=B.c.priority, late_cancel=B.c.late_cancel
    )
    rows = (
        sa.select(
            at,
            sa.null(),
            _text(action),
            _text("booking"),
            B.c.id,
            B.c.garage_id,
            before,
            after,
            _text(reason),
        )
        .select_from(_booking_source())
        .where(_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id)
    )
    db.session.execute(sa.insert(AuditEvent).from_select(AUDIT_COLUMNS, rows))


def _strike_bookings(ids: Sequence[int], kind: StrikeKind, at: sa.ColumnElement[Any]) -> int:
    """One strike per booking in `ids` (a strike someone already charged stays the only one)."""
    rows = (
        sa.select(B.c.household_id, B.c.id, _text(kind.value), at)
        .select_from(_booking_source())
        .where(_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id)
    )
    module = postgresql if _postgres() else sqlite
    db.session.execute(
        module.insert(Strike)
        .from_select(["household_id", "booking_id", "kind", "at"], rows)
        .on_conflict_do_nothing(index_elements=["booking_id", "kind"])
    )
    return len(ids)


def _notify_bookings(ids: Sequence[int], kind: str, params: sa.ColumnElement[Any], now: datetime) -> int:
    """One notice per member of each booking's household, keyed `kind:booking_id` so that a
    repeated notice is a no-op (as `notify(…, dedupe_key=…)`). Returns the notices queued."""
    source = _booking_source(garage=False).join(U, U.c.household_id == B.c.household_id)
    rows = (
        sa.select(
            U.c.id,
            _text(kind),
            params,
            B.c.id,
            _text(f"{kind}:").op("||")(sa.cast(B.c.id, sa.String)),
            sa.literal(now, UTCDateTime()),
        )
        .select_from(source)
        .where(_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id, U.c.id)
    )
    module = postgresql if _postgres() else sqlite
    db.session.execute(
        module.insert(Notification)
        .from_select(["user_id", "kind", "params", "booking_id", "dedupe_key", "created_at"], rows)
        .on_conflict_do_nothing(
            index_elements=["user_id", "dedupe_key"], index_where=Notification.dedupe_key.isnot(None)
        )
    )
    return db.session.scalar(sa.select(sa.func.count()).select_from(source).where(_among(B.c.id, ids))) or 0


def _members(household_ids: Iterable[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    ids = sorted(set(household_ids))
    if ids:
        for user_id, household_id in db.session.execute(
            sa.select(U.c.id, U.c.household_id).where(_among(U.c.household_id, ids)).order_by(U.c.id)
        ):
            members[household_id].append(user_id)
    return members


def _give_back(ids: Sequence[int]) -> None:
    """Decrement the `booked` counters of the (locked) windows by the spaces the bookings `ids`
    released: one grouped UPDATE … FROM."""
    if not ids:
        return
    released = (
        sa.select(B.c.window_id, sa.func.count().label("n"))
        .where(_among(B.c.id, ids))
        .group_by(B.c.window_id)
        .subquery()
    )
    db.session.execute(sa.update(W).where(W.c.id == released.c.window_id).values(booked=W.c.booked - released.c.n))


# --- the transitions --------------------------------------------------------------------------


def materialise(now: datetime) -> int:
    """Create the missing windows of every garage up to its booking horizon, as `ensure_windows`
    does for one garage, in a few statements for all garages. Garages whose active templates
    already reach the horizon are skipped, so a pass every minute costs a few statements."""
    reach: dict[int, Any] = dict(
        db.session.execute(
            sa.select(WindowTemplate.id, sa.func.max(W.c.service_date))
            .join(W, W.c.template_id == WindowTemplate.id)
            .where(WindowTemplate.active.is_(True), W.c.opens_at >= now - timedelta(days=2))
            .group_by(WindowTemplate.id)
        )
        .tuples()
        .all()
    )
    templates = list(
        db.session.scalars(sa.select(WindowTemplate).where(WindowTemplate.active.is_(True)).order_by(WindowTemplate.id))
    )
    garages = {g.id: g for g in db.session.scalars(sa.select(Garage).order_by(Garage.id))}
    stale = {
        t.garage_id
        for t in templates
        if reach.get(t.id) is None or reach[t.id] < horizon_end(garages[t.garage_id], now)
    }
    # Every active template of a stale garage, as ensure_windows(garage, today, horizon) would.
    todo = [t for t in templates if t.garage_id in stale]
    if not todo:
        return 0
    spans = {g: (today(garages[g], now), horizon_end(garages[g], now)) for g in stale}
    first, last = min(s for s, _e in spans.values()), max(e for _s, e in spans.values())
    ids = [t.id for t in todo]
    existing = set(
        db.session.execute(
            sa.select(W.c.template_id, W.c.service_date).where(
                _among(W.c.template_id, ids), W.c.service_date.between(first, last)
            )
        ).tuples()
    )
    overrides = overrides_between(ids, first, last)
    rows = []
    for garage_id in sorted(stale):
        start, end = spans[garage_id]
        mine = [t for t in todo if t.garage_id == garage_id]
        rows += window_rows(garages[garage_id], mine, start, end, existing, overrides, now)
    insert_windows(rows)
    return len(rows)


def open_windows(now: datetime) -> int:
    """planned → open at `opens_at`."""
    opened = 0
    while True:
        ids = list(
            db.session.scalars(
                sa.select(W.c.id)
                .where(W.c.state == WindowState.PLANNED, W.c.opens_at <= now)
                .order_by(W.c.id)
                .limit(CHUNK)
                .with_for_update()
            )
        )
        if not ids:
            return opened
        rows = db.session.execute(
            sa.update(W)
            .where(W.c.id.in_(ids), W.c.state == WindowState.PLANNED)
            .values(state=WindowState.OPEN)
            .returning(W.c.id, W.c.garage_id, W.c.opens_at)
        ).all()
        _audit([_window_audit("window.opened", r.id, r.garage_id, "planned", "open", r.opens_at) for r in rows])
        opened += len(rows)


def _window_audit(action: str, window_id: int, garage_id: int, before: str, after: str, at: datetime) -> dict:
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


def _due_windows(
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


def _take(window_ids: Sequence[int], status: BookingStatus, *extra: sa.ColumnElement[bool]) -> list[Any]:
    """Row-lock the bookings of the windows still in `status` (matching `extra`), in id order. A
    pass that lost the race finds them changed and takes nothing: between this statement and the
    commit, the rows it took are its own, so the rows it audits are exactly the rows it changes."""
    if not window_ids:
        return []
    return list(
        db.session.execute(
            sa.select(B.c.id, B.c.window_id, B.c.household_id, B.c.inside)
            .where(_among(B.c.window_id, window_ids), B.c.status == status, *extra)
            .order_by(B.c.id)
            .with_for_update()
        ).all()
    )


def _transition(ids: Sequence[int], status_from: BookingStatus, values: dict, *extra: sa.ColumnElement[bool]) -> None:
    """The conditional UPDATE of the taken rows; every one of them must still be in `status_from`."""
    if not ids:
        return
    result = db.session.execute(
        sa.update(B).where(_among(B.c.id, ids), B.c.status == status_from, *extra).values(**values)
    )
    changed = result.rowcount  # type: ignore[attr-defined]  # an UPDATE returns a CursorResult, which has rowcount
    if changed != len(ids):  # the row locks (SQLite: the database lock) make this impossible
        raise RuntimeError(f"tide: {len(ids)} bookings taken but {changed} still {status_from}")


def mark_no_shows(now: datetime, rules: dict[int, Rules], summary: Counter) -> set[int]:
    """Confirmed bookings not checked in `no_show_minutes` after `opens_at` become `no_show`: the
    space returns to the pool, the waitlist moves while booking is still open, one strike, a notice.
    Returns the households charged."""
    due = _due(W.c.opens_at, rules, lambda r: timedelta(minutes=r.no_show_minutes), now)
    windows = _due_windows(BookingStatus.CONFIRMED, due, lock=True)
    taken = _take([w.id for w in windows], BookingStatus.CONFIRMED)
    if not taken:
        return set()
    ids = [t.id for t in taken]
    at = _plus_minutes(W.c.opens_at, G.c.no_show_minutes)
    # A monthly pass's night that was not used returns its space without a strike or a notice.
    monthly = _monthly_nights(ids)
    single = [i for i in ids if i not in monthly]
    for group, reason in ((single, "not checked in"), (sorted(monthly), MONTHLY_UNUSED)):
        if group:
            _audit_bookings(group, "booking.no_show", "confirmed", "no_show", at, reason, releases=True)
    summary["strikes"] += _strike_bookings(single, StrikeKind.NO_SHOW, at) if single else 0
    params = _json_object(plate=B.c.plate, date=_iso_date(W.c.service_date))
    summary["notifications"] += _notify_bookings(single, "no_show", params, now) if single else 0
    _transition(ids, BookingStatus.CONFIRMED, {"status": BookingStatus.NO_SHOW, "slot": None, "updated_at": now})
    _give_back(ids)
    summary["no_shows"] += len(ids)
    # Only garages whose no-show deadline falls before the booking cutoff still have an open night.
    changed = {t.window_id for t in taken}
    for window in windows:
        cutoff = window.opens_at + timedelta(minutes=rules[window.garage_id].booking_cutoff_minutes)
        if window.id in changed and now < cutoff:
            locked = lock_window(window.id)
            if locked is not None and booking_open(locked, locked.garage, now):
                summary["promoted"] += len(promote_waitlist(locked, now))
    return {t.household_id for t in taken if t.id not in monthly}


MONTHLY_UNUSED = "monthly night not used"


def _monthly_nights(ids: Sequence[int]) -> set[int]:
    """The bookings among `ids` that are nights of a monthly pass."""
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(B.c.id).where(_among(B.c.id, ids), B.c.subscription_id.is_not(None))))


def remind(now: datetime, rules: dict[int, Rules], summary: Counter) -> None:
    """Cars still inside `reminder_minutes` before `closes_at` are reminded, once (`reminded_at`)."""
    due = _due(W.c.closes_at, rules, lambda r: -timedelta(minutes=r.reminder_minutes), now)
    not_over = sa.not_(_due(W.c.closes_at, rules, lambda r: timedelta(minutes=r.exit_grace_minutes), now))
    waiting = (B.c.inside.is_(True), B.c.reminded_at.is_(None))
    windows = _due_windows(BookingStatus.CHECKED_IN, sa.and_(due, not_over), *waiting, lock=False)
    taken = _take([w.id for w in windows], BookingStatus.CHECKED_IN, *waiting)
    if not taken:
        return
    ids = [t.id for t in taken]
    audit = (
        sa.select(
            sa.literal(now, UTCDateTime()),
            sa.null(),
            _text("booking.reminded"),
            _text("booking"),
            B.c.id,
            B.c.garage_id,
            _json_object(reminded_at=None),
            _json_object(reminded_at=now.isoformat()),
            _text("reclaim reminder"),
        )
        .where(_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id)
    )
    db.session.execute(sa.insert(AuditEvent).from_select(AUDIT_COLUMNS, audit))
    local = _by_window({w.id: _local(w.closes_at, rules[w.garage_id].timezone) for w in windows})
    params = _json_object(plate=B.c.plate, date=_iso_date(W.c.service_date), time=local)
    summary["notifications"] += _notify_bookings(ids, "reclaim_reminder", params, now)
    _transition(ids, BookingStatus.CHECKED_IN, {"reminded_at": now}, *waiting)
    summary["reminded"] += len(ids)


def close_windows(now: datetime, summary: Counter) -> None:
    """open (or planned) → closed at `closes_at`; waitlisted bookings still waiting then expire
    (`cancelled`, reason "waitlist expired"): the night is over, no space can free up any more."""
    while True:
        rows = db.session.execute(
            sa.select(W.c.id, W.c.state)
            .where(
                W.c.state.in_([WindowState.PLANNED, WindowState.OPEN]),
                W.c.opens_at <= now,  # implied by closes_at <= now; lets the (state, opens_at) index work
                W.c.closes_at <= now,
            )
            .order_by(W.c.id)
            .limit(CHUNK)
            .with_for_update()
        ).all()
        if not rows:
            return
        before = {r.id: r.state for r in rows}
        closed = db.session.execute(
            sa.update(W)
            .where(W.c.id.in_(list(before)), W.c.state.in_([WindowState.PLANNED, WindowState.OPEN]))
            .values(state=WindowState.CLOSED)
            .returning(W.c.id, W.c.garage_id, W.c.closes_at)
        ).all()
        _audit(
            [
                _window_audit(
                    "window.closed", r.id, r.garage_id, WindowState(before[r.id]).value, "closed", r.closes_at
                )
                for r in closed
            ]
        )
        summary["closed"] += len(closed)
        _expire_waitlist([r.id for r in closed], now, summary)


def _expire_waitlist(window_ids: list[int], now: datetime, summary: Counter) -> None:
    ids = [t.id for t in _take(window_ids, BookingStatus.WAITLISTED)]
    if not ids:
        return
    _audit_bookings(
        ids, "booking.waitlist_expired", "waitlisted", "cancelled", W.c.closes_at, WAITLIST_EXPIRED, releases=True
    )
    _transition(
        ids, BookingStatus.WAITLISTED, {"status": BookingStatus.CANCELLED, "cancelled_at": now, "updated_at": now}
    )
    summary["waitlist_expired"] += len(ids)


def settle_after_grace(now: datetime, rules: dict[int, Rules], summary: Counter) -> set[int]:
    """`exit_grace_minutes` after `closes_at`: a car still inside is `overstayed` (it keeps its
    space until the gate lets it out; strike, notice, listed for attendants); a checked-in car that
    left is `completed` and its space is counted out. Returns the households charged."""
    due = overstay_due(W.c.closes_at, W.c.garage_id, rules, now)
    windows = _due_windows(BookingStatus.CHECKED_IN, due, lock=True)
    taken = _take([w.id for w in windows], BookingStatus.CHECKED_IN)
    if not taken:
        return set()
    at = _plus_minutes(W.c.closes_at, G.c.exit_grace_minutes)
    inside = [t.id for t in taken if t.inside]
    left = [t.id for t in taken if not t.inside]
    if inside:
        reason = "still inside after the exit grace"
        _audit_bookings(inside, "booking.overstayed", "checked_in", "overstayed", at, reason, releases=False)
        summary["strikes"] += _strike_bookings(inside, StrikeKind.OVERSTAY, at)
        deadline = {
            w.id: _local(
                w.closes_at + timedelta(minutes=rules[w.garage_id].exit_grace_minutes), rules[w.garage_id].timezone
            )
            for w in windows
        }
        params = _json_object(plate=B.c.plate, date=_iso_date(W.c.service_date), time=_by_window(deadline))
        summary["notifications"] += _notify_bookings(inside, "overstayed", params, now)
        _transition(
            inside, BookingStatus.CHECKED_IN, {"status": BookingStatus.OVERSTAYED, "updated_at": now}, B.c.inside
        )
    if left:
        _audit_bookings(left, "booking.completed", "checked_in", "completed", at, "left", releases=True)
        _transition(
            left,
            BookingStatus.CHECKED_IN,
            {"status": BookingStatus.COMPLETED, "slot": None, "updated_at": now},
            sa.not_(B.c.inside),
        )
        _give_back(left)
    summary["overstayed"] += len(inside)
    summary["completed"] += len(left)
    return {t.household_id for t in taken if t.inside}


def suspend(household_ids: Iterable[int], now: datetime, rules: dict[int, Rules], summary: Counter) -> None:
    """The suspension policy (`parking.bookings.strikes`) over many households at once: a household
    whose counted strikes reach `strike_limit` is suspended for `suspension_days`, audited and
    notified once."""
    ids = sorted(set(household_ids))
    due: dict[int, list[tuple[int, int, datetime | None]]] = defaultdict(list)  # by suspension_days
    if ids:
        found = db.session.execute(
            sa.select(H.c.id, H.c.garage_id, H.c.suspended_until, sa.func.count(S.c.id))
            .join(S, S.c.household_id == H.c.id)
            .where(_among(H.c.id, ids), not_suspended(now), counted_strikes(now, rules))
            .group_by(H.c.id, H.c.garage_id, H.c.suspended_until)
        ).all()
        for household_id, garage_id, previous, count in found:
            rule = rules[garage_id]
            if count >= rule.strike_limit:
                due[rule.suspension_days].append((household_id, count, previous))
    audits, notes = [], []
    for days, households in sorted(due.items()):
        until = now + timedelta(days=days)
        by_id = {h: (count, previous) for h, count, previous in households}
        changed = db.session.execute(
            sa.update(H)
            .where(_among(H.c.id, sorted(by_id)), not_suspended(now))
            .values(suspended_until=until, suspended_at=now)
            .returning(H.c.id, H.c.garage_id)
        ).all()
        for household_id, garage_id in sorted(changed):
            count, previous = by_id[household_id]
            rule = rules[garage_id]
            audits.append(
                {
                    "at": now,
                    "actor_id": None,
                    "action": "household.suspended",
                    "object_type": "household",
                    "object_id": household_id,
                    "garage_id": garage_id,
                    "before": {"suspended_until": previous.isoformat() if previous else None},
                    "after": {"suspended_until": until.isoformat()},
                    "reason": suspension_reason(count, rule),
                }
            )
            local_until = until.astimezone(ZoneInfo(rule.timezone)).date().isoformat()
            notes.append((household_id, {"until": local_until}))
    _audit(audits)
    members = _members(h for h, _p in notes)
    rows = [
        {
            "user_id": user_id,
            "kind": "suspended",
            "params": params,
            "booking_id": None,
            "dedupe_key": suspension_notice(household_id, now),
            "created_at": now,
        }
        for household_id, params in notes
        for user_id in members.get(household_id, [])
    ]
    _insert_ignore(
        Notification, rows, index_elements=["user_id", "dedupe_key"], index_where=Notification.dedupe_key.isnot(None)
    )
    summary["suspended"] += len(notes)
    summary["notifications"] += len(rows)


def _serialise_passes() -> None:
    """Optimisation only: on PostgreSQL, a second pass waits for the first to commit and then finds
    nothing left to do, instead of both contending for the same row locks. SQLite's BEGIN IMMEDIATE
    already serialises every writer."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})


SUMMARY_KEYS = (
    "windows_created",
    "draws",
    "drawn_confirmed",
    "drawn_waitlisted",
    "opened",
    "no_shows",
    "promoted",
    "reminded",
    "closed",
    "waitlist_expired",
    "overstayed",
    "completed",
    "strikes",
    "suspended",
    "notifications",
)


def run_tide(now: datetime, *, serialise: bool = True) -> dict[str, int]:
    """One tide pass as of `now`: every transition due by then, each once. Flushes; the caller
    commits. Returns how many of each transition this pass performed."""
    if serialise:
        _serialise_passes()
    summary: Counter[str] = Counter()
    summary["windows_created"] = materialise(now)
    summary.update(run_due_draws(now))
    rules = load_rules()
    summary["opened"] = open_windows(now)
    charged = mark_no_shows(now, rules, summary)
    remind(now, rules, summary)
    close_windows(now, summary)
    charged |= settle_after_grace(now, rules, summary)
    suspend(charged, now, rules, summary)
    db.session.flush()
    db.session.expire_all()  # the bulk statements bypassed the identity map
    return {key: summary[key] for key in SUMMARY_KEYS}


def describe(summary: dict[str, int]) -> str:
    """A one-line summary for logs and the CLI."""
    changed = [f"{key}={value}" for key, value in summary.items() if value]
    return "tide: " + (", ".join(changed) if changed else "nothing due")
