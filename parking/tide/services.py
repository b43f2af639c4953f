"""The tide: one idempotent pass that performs every time-based transition that is due at `now`.

The pass reads only the clock and the windows' instants, so it catches up after any downtime: one
pass settles the missed transitions in their natural order

    materialise → open → no-show → remind → close (waitlist expires) → overstay / complete → suspend

and audits each with the instant it was due. Booking and gate decisions never wait for it: they
compute from the same instants (`Window.state_at`, `booking_open`), so the pass only records what
the clock already decided (DESIGN invariant 6).

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

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from parking.audit.models import AuditEvent
from parking.auth.models import User
from parking.bookings.models import Booking, BookingStatus
from parking.bookings.services import booking_open, promote_waitlist
from parking.extensions import db
from parking.garages.models import Garage, Window, WindowState
from parking.garages.services import ensure_windows, horizon_end, today
from parking.households.models import Household, Strike, StrikeKind
from parking.locking import lock_window
from parking.notifications.models import Notification

log = logging.getLogger(__name__)

CHUNK = 5000
#: Any constant: the key of the PostgreSQL advisory lock that serialises tide passes.
ADVISORY_KEY = 0x71DE_0001

B = Booking.__table__
W = Window.__table__
H = Household.__table__
S = Strike.__table__

WAITLIST_EXPIRED = "waitlist expired"


@dataclass(frozen=True)
class Rules:
    """One garage's tide rules, loaded once per pass."""

    id: int
    timezone: str
    booking_cutoff_minutes: int
    no_show_minutes: int
    reminder_minutes: int
    exit_grace_minutes: int
    strike_limit: int
    strike_window_days: int
    suspension_days: int


def _chunks(ids: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _load_rules() -> dict[int, Rules]:
    rows = db.session.execute(
        sa.select(
            Garage.id,
            Garage.timezone,
            Garage.booking_cutoff_minutes,
            Garage.no_show_minutes,
            Garage.reminder_minutes,
            Garage.exit_grace_minutes,
            Garage.strike_limit,
            Garage.strike_window_days,
            Garage.suspension_days,
        )
    ).all()
    return {row.id: Rules(*row) for row in rows}


def _due(
    column: sa.ColumnElement, rules: dict[int, Rules], offset: Callable[[Rules], timedelta], now: datetime
) -> sa.ColumnElement[bool]:
    """`column + offset(garage) <= now` for the window's garage."""
    return _per_garage(W.c.garage_id, rules, offset, lambda delta: column <= now - delta)


def _per_garage(
    garage_column: sa.ColumnElement,
    rules: dict[int, Rules],
    setting: Callable[[Rules], Any],
    clause: Callable[[Any], sa.ColumnElement[bool]],
) -> sa.ColumnElement[bool]:
    """`clause(setting of the row's garage)`, as one clause per distinct value of the setting."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for rule in rules.values():
        groups[setting(rule)].append(rule.id)
    if not groups:
        return sa.false()
    if len(groups) == 1:
        return clause(next(iter(groups)))
    return sa.or_(*(sa.and_(garage_column.in_(ids), clause(value)) for value, ids in groups.items()))


def _local(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def _insert_ignore(model: Any, rows: list[dict], **conflict: Any) -> None:
    if not rows:
        return
    module = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    for chunk in _chunks(rows, 1000):
        db.session.execute(module.insert(model).on_conflict_do_nothing(**conflict), list(chunk))


def _audit(rows: list[dict]) -> None:
    """Bulk-insert audit events with the columns `parking.audit.services.record` fills."""
    for chunk in _chunks(rows, 1000):
        db.session.execute(sa.insert(AuditEvent.__table__), list(chunk))


def _members(household_ids: Iterable[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    ids = sorted(set(household_ids))
    for chunk in _chunks(ids):
        for user_id, household_id in db.session.execute(
            sa.select(User.id, User.household_id).where(User.household_id.in_(chunk)).order_by(User.id)
        ):
            members[household_id].append(user_id)
    return members


def _notify(items: list[tuple[int, int, str, dict]], now: datetime) -> int:
    """Queue one notice per member of each (household_id, booking_id, kind, params); the dedupe key
    `kind:booking_id` makes a repeated notice a no-op, as `notify(…, dedupe_key=…)` does."""
    members = _members(h for h, _b, _k, _p in items)
    rows = [
        {
            "user_id": user_id,
            "kind": kind,
            "params": params,
            "booking_id": booking_id,
            "dedupe_key": f"{kind}:{booking_id}",
            "created_at": now,
        }
        for household_id, booking_id, kind, params in items
        for user_id in members.get(household_id, [])
    ]
    _insert_ignore(
        Notification,
        rows,
        index_elements=["user_id", "dedupe_key"],
        index_where=Notification.dedupe_key.isnot(None),
    )
    return len(rows)


def _lock_windows(window_ids: Iterable[int]) -> None:
    """Row-lock windows in id order (so that two lockers never wait on each other in a cycle)."""
    for chunk in _chunks(sorted(set(window_ids))):
        db.session.execute(sa.select(W.c.id).where(W.c.id.in_(chunk)).order_by(W.c.id).with_for_update()).all()


def _give_back(counts: Counter[int]) -> None:
    """Decrement the `booked` counters of locked windows by the spaces released."""
    if counts:
        db.session.execute(
            sa.update(W).where(W.c.id == sa.bindparam("wid")).values(booked=W.c.booked - sa.bindparam("n")),
            [{"wid": wid, "n": n} for wid, n in sorted(counts.items())],
        )


def _booking_audit(
    action: str, row: Any, status_from: str, status_to: str, at: datetime, reason: str, *, releases: bool
) -> dict:
    before = {"status": status_from, "slot": row.slot, "priority": row.priority, "late_cancel": row.late_cancel}
    after = {**before, "status": status_to, "slot": None if releases else row.slot}
    return {
        "at": at,
        "actor_id": None,
        "action": action,
        "object_type": "booking",
        "object_id": row.id,
        "garage_id": row.garage_id,
        "before": before,
        "after": after,
        "reason": reason,
    }


# --- the transitions --------------------------------------------------------------------------


def materialise(now: datetime) -> int:
    """Create the missing windows of every garage up to its booking horizon. Garages whose active
    templates already reach the horizon are skipped with one grouped query, so a pass every minute
    costs a few statements, not a few per garage (the API fills any gap on demand too)."""
    from parking.garages.models import WindowTemplate

    reach = dict(
        db.session.execute(
            sa.select(WindowTemplate.id, sa.func.max(W.c.service_date))
            .join(W, W.c.template_id == WindowTemplate.id)
            .where(WindowTemplate.active.is_(True), W.c.opens_at >= now - timedelta(days=2))
            .group_by(WindowTemplate.id)
        ).all()
    )
    templates = db.session.execute(
        sa.select(WindowTemplate.id, WindowTemplate.garage_id).where(WindowTemplate.active.is_(True))
    ).all()
    created = 0
    garages = {g.id: g for g in db.session.scalars(sa.select(Garage).order_by(Garage.id))}
    stale = sorted(
        {
            t.garage_id
            for t in templates
            if reach.get(t.id) is None or reach[t.id] < horizon_end(garages[t.garage_id], now)
        }
    )
    for garage_id in stale:
        garage = garages[garage_id]
        created += ensure_windows(garage, today(garage, now), horizon_end(garage, now), now)
    return created


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


def _candidates(status: BookingStatus, due: sa.ColumnElement[bool], *extra: sa.ColumnElement[bool]) -> list[Any]:
    """Bookings in `status` of the windows for which `due` holds, with what the pass needs."""
    return list(
        db.session.execute(
            sa.select(
                B.c.id,
                B.c.window_id,
                B.c.garage_id,
                B.c.household_id,
                B.c.plate,
                B.c.slot,
                B.c.priority,
                B.c.late_cancel,
                W.c.service_date,
                W.c.opens_at,
                W.c.closes_at,
            )
            .join(W, W.c.id == B.c.window_id)
            .where(B.c.status == status, W.c.state != WindowState.CANCELLED, due, *extra)
            .order_by(B.c.window_id, B.c.id)
        ).all()
    )


def _transition(
    candidates: list[Any], status_from: BookingStatus, values: dict, *extra: sa.ColumnElement[bool]
) -> set[int]:
    """The conditional UPDATE: only rows still in `status_from` change; returns their ids."""
    changed: set[int] = set()
    for chunk in _chunks([c.id for c in candidates]):
        changed.update(
            db.session.scalars(
                sa.update(B)
                .where(B.c.id.in_(chunk), B.c.status == status_from, *extra)
                .values(**values)
                .returning(B.c.id)
            )
        )
    return changed


def _strikes(rows: list[tuple[int, int, StrikeKind, datetime]]) -> int:
    _insert_ignore(
        Strike,
        [{"household_id": h, "booking_id": b, "kind": k, "at": at} for h, b, k, at in rows],
        index_elements=["booking_id", "kind"],
    )
    return len(rows)


def mark_no_shows(now: datetime, rules: dict[int, Rules], summary: Counter) -> set[int]:
    """Confirmed bookings not checked in `no_show_minutes` after `opens_at` become `no_show`: the
    space returns to the pool, the waitlist moves while booking is still open, one strike, a notice.
    Returns the households charged."""
    due = _due(W.c.opens_at, rules, lambda r: timedelta(minutes=r.no_show_minutes), now)
    candidates = _candidates(BookingStatus.CONFIRMED, due)
    if not candidates:
        return set()
    _lock_windows(c.window_id for c in candidates)
    changed = _transition(
        candidates, BookingStatus.CONFIRMED, {"status": BookingStatus.NO_SHOW, "slot": None, "updated_at": now}
    )
    done = [c for c in candidates if c.id in changed]
    _give_back(Counter(c.window_id for c in done))
    audits, strikes, notes = [], [], []
    for c in done:
        at = c.opens_at + timedelta(minutes=rules[c.garage_id].no_show_minutes)
        audits.append(_booking_audit("booking.no_show", c, "confirmed", "no_show", at, "not checked in", releases=True))
        strikes.append((c.household_id, c.id, StrikeKind.NO_SHOW, at))
        notes.append((c.household_id, c.id, "no_show", {"plate": c.plate, "date": c.service_date.isoformat()}))
    _audit(audits)
    summary["strikes"] += _strikes(strikes)
    summary["notifications"] += _notify(notes, now)
    summary["no_shows"] += len(done)
    # Only garages whose no-show deadline falls before the booking cutoff still have an open night.
    for window_id in sorted({c.window_id for c in done}):
        window = lock_window(window_id)
        if window is not None and booking_open(window, window.garage, now):
            summary["promoted"] += len(promote_waitlist(window, now))
    return {c.household_id for c in done}


def remind(now: datetime, rules: dict[int, Rules], summary: Counter) -> None:
    """Cars still inside `reminder_minutes` before `closes_at` are reminded, once (`reminded_at`)."""
    due = _due(W.c.closes_at, rules, lambda r: -timedelta(minutes=r.reminder_minutes), now)
    not_over = sa.not_(_due(W.c.closes_at, rules, lambda r: timedelta(minutes=r.exit_grace_minutes), now))
    candidates = _candidates(BookingStatus.CHECKED_IN, due, not_over, B.c.inside.is_(True), B.c.reminded_at.is_(None))
    if not candidates:
        return
    changed = _transition(
        candidates,
        BookingStatus.CHECKED_IN,
        {"reminded_at": now},
        B.c.inside.is_(True),
        B.c.reminded_at.is_(None),
    )
    done = [c for c in candidates if c.id in changed]
    _audit(
        [
            {
                "at": now,
                "actor_id": None,
                "action": "booking.reminded",
                "object_type": "booking",
                "object_id": c.id,
                "garage_id": c.garage_id,
                "before": {"reminded_at": None},
                "after": {"reminded_at": now.isoformat()},
                "reason": "reclaim reminder",
            }
            for c in done
        ]
    )
    summary["notifications"] += _notify(
        [
            (
                c.household_id,
                c.id,
                "reclaim_reminder",
                {
                    "plate": c.plate,
                    "date": c.service_date.isoformat(),
                    "time": _local(c.closes_at, rules[c.garage_id].timezone),
                },
            )
            for c in done
        ],
        now,
    )
    summary["reminded"] += len(done)


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
    if not window_ids:
        return
    candidates = list(
        db.session.execute(
            sa.select(B.c.id, B.c.garage_id, B.c.slot, B.c.priority, B.c.late_cancel, W.c.closes_at, B.c.household_id)
            .join(W, W.c.id == B.c.window_id)
            .where(B.c.window_id.in_(window_ids), B.c.status == BookingStatus.WAITLISTED)
            .order_by(B.c.id)
        ).all()
    )
    changed = _transition(
        candidates,
        BookingStatus.WAITLISTED,
        {"status": BookingStatus.CANCELLED, "cancelled_at": now, "updated_at": now},
    )
    _audit(
        [
            _booking_audit(
                "booking.waitlist_expired", c, "waitlisted", "cancelled", c.closes_at, WAITLIST_EXPIRED, releases=True
            )
            for c in candidates
            if c.id in changed
        ]
    )
    summary["waitlist_expired"] += len(changed)


def settle_after_grace(now: datetime, rules: dict[int, Rules], summary: Counter) -> set[int]:
    """`exit_grace_minutes` after `closes_at`: a car still inside is `overstayed` (it keeps its
    space until the gate lets it out; strike, notice, listed for attendants); a checked-in car that
    left is `completed` and its space is counted out. Returns the households charged."""
    due = _due(W.c.closes_at, rules, lambda r: timedelta(minutes=r.exit_grace_minutes), now)
    candidates = _candidates(BookingStatus.CHECKED_IN, due)
    if not candidates:
        return set()
    _lock_windows(c.window_id for c in candidates)
    overstayed = _transition(
        candidates, BookingStatus.CHECKED_IN, {"status": BookingStatus.OVERSTAYED, "updated_at": now}, B.c.inside
    )
    completed = _transition(
        candidates,
        BookingStatus.CHECKED_IN,
        {"status": BookingStatus.COMPLETED, "slot": None, "updated_at": now},
        sa.not_(B.c.inside),
    )
    audits, strikes, notes = [], [], []
    for c in candidates:
        at = c.closes_at + timedelta(minutes=rules[c.garage_id].exit_grace_minutes)
        if c.id in overstayed:
            audits.append(
                _booking_audit(
                    "booking.overstayed",
                    c,
                    "checked_in",
                    "overstayed",
                    at,
                    "still inside after the exit grace",
                    releases=False,
                )
            )
            strikes.append((c.household_id, c.id, StrikeKind.OVERSTAY, at))
            params = {
                "plate": c.plate,
                "date": c.service_date.isoformat(),
                "time": _local(at, rules[c.garage_id].timezone),
            }
            notes.append((c.household_id, c.id, "overstayed", params))
        elif c.id in completed:
            audits.append(_booking_audit("booking.completed", c, "checked_in", "completed", at, "left", releases=True))
    _give_back(Counter(c.window_id for c in candidates if c.id in completed))
    _audit(audits)
    summary["strikes"] += _strikes(strikes)
    summary["notifications"] += _notify(notes, now)
    summary["overstayed"] += len(overstayed)
    summary["completed"] += len(completed)
    return {c.household_id for c in candidates if c.id in overstayed}


def suspend(household_ids: Iterable[int], now: datetime, rules: dict[int, Rules], summary: Counter) -> None:
    """A household with `strike_limit` strikes within `strike_window_days` that are newer than its
    last suspension is suspended for `suspension_days`, audited and notified once. The strikes a
    suspension answered for are used up by it (`suspended_at`), so it does not renew itself."""
    ids = sorted(set(household_ids))
    not_suspended = sa.or_(H.c.suspended_until.is_(None), H.c.suspended_until <= now)
    recent = _per_garage(
        H.c.garage_id, rules, lambda r: r.strike_window_days, lambda d: S.c.at >= now - timedelta(days=d)
    )
    due: dict[int, list[tuple[int, int, datetime | None]]] = defaultdict(list)  # by suspension_days
    for chunk in _chunks(ids):
        rows = db.session.execute(
            sa.select(H.c.id, H.c.garage_id, H.c.suspended_until, sa.func.count(S.c.id))
            .join(S, S.c.household_id == H.c.id)
            .where(
                H.c.id.in_(chunk),
                not_suspended,
                recent,
                S.c.at <= now,
                sa.or_(H.c.suspended_at.is_(None), S.c.at > H.c.suspended_at),
            )
            .group_by(H.c.id, H.c.garage_id, H.c.suspended_until)
        ).all()
        for household_id, garage_id, previous, count in rows:
            rule = rules[garage_id]
            if count >= rule.strike_limit:
                due[rule.suspension_days].append((household_id, count, previous))
    audits, notes = [], []
    for days, households in sorted(due.items()):
        until = now + timedelta(days=days)
        by_id = {h: (count, previous) for h, count, previous in households}
        for chunk in _chunks(sorted(by_id)):
            changed = db.session.execute(
                sa.update(H)
                .where(H.c.id.in_(chunk), not_suspended)
                .values(suspended_until=until, suspended_at=now)
                .returning(H.c.id, H.c.garage_id)
            ).all()
            for household_id, garage_id in changed:
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
                        "reason": f"{count} strikes in {rule.strike_window_days} days",
                    }
                )
                local_until = until.astimezone(ZoneInfo(rule.timezone)).date().isoformat()
                notes.append((household_id, {"until": local_until}))
    _audit(audits)
    members = _members(h for h, _p in notes)
    # One notice per suspension: keyed by the household and the instant it began.
    stamp = now.strftime("%Y%m%dT%H%M%S")
    rows = [
        {
            "user_id": user_id,
            "kind": "suspended",
            "params": params,
            "booking_id": None,
            "dedupe_key": f"suspended:{household_id}:{stamp}",
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
    rules = _load_rules()
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
