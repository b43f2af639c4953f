"""Closing a night: windows close at `closes_at` (the waitlist expires), and after the exit grace
cars still inside are overstayed (a strike, a notice) and checked-in bookings whose car left complete."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from parking.bookings.models import BookingStatus
from parking.bookings.strikes import (
    Rules,
    overstay_due,
)
from parking.extensions import db
from parking.households.models import StrikeKind
from parking.tide.bulk import (
    CHUNK,
    B,
    G,
    W,
    audit_bookings,
    by_window,
    due_windows,
    give_back,
    insert_audit,
    iso_date,
    json_object,
    local_text,
    notify_bookings,
    plus_minutes,
    strike_bookings,
    take_due,
    transition,
    window_audit,
)
from parking.windows.models import WindowState

WAITLIST_EXPIRED = "waitlist expired"


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
        insert_audit(
            [
                window_audit("window.closed", r.id, r.garage_id, WindowState(before[r.id]).value, "closed", r.closes_at)
                for r in closed
            ]
        )
        summary["closed"] += len(closed)
        _expire_waitlist([r.id for r in closed], now, summary)


def _expire_waitlist(window_ids: list[int], now: datetime, summary: Counter) -> None:
    ids = [t.id for t in take_due(window_ids, BookingStatus.WAITLISTED)]
    if not ids:
        return
    audit_bookings(
        ids, "booking.waitlist_expired", "waitlisted", "cancelled", W.c.closes_at, WAITLIST_EXPIRED, releases=True
    )
    transition(
        ids, BookingStatus.WAITLISTED, {"status": BookingStatus.CANCELLED, "cancelled_at": now, "updated_at": now}
    )
    summary["waitlist_expired"] += len(ids)


def settle_after_grace(now: datetime, rules: dict[int, Rules], summary: Counter) -> set[int]:
    """`exit_grace_minutes` after `closes_at`: a car still inside is `overstayed` (it keeps its
    space until the gate lets it out; strike, notice, listed for attendants); a checked-in car that
    left is `completed` and its space is counted out. Returns the households charged."""
    due = overstay_due(W.c.closes_at, W.c.garage_id, rules, now)
    windows = due_windows(BookingStatus.CHECKED_IN, due, lock=True)
    taken = take_due([w.id for w in windows], BookingStatus.CHECKED_IN)
    if not taken:
        return set()
    at = plus_minutes(W.c.closes_at, G.c.exit_grace_minutes)
    inside = [t.id for t in taken if t.inside]
    left = [t.id for t in taken if not t.inside]
    if inside:
        reason = "still inside after the exit grace"
        audit_bookings(inside, "booking.overstayed", "checked_in", "overstayed", at, reason, releases=False)
        summary["strikes"] += strike_bookings(inside, StrikeKind.OVERSTAY, at)
        deadline = {
            w.id: local_text(
                w.closes_at + timedelta(minutes=rules[w.garage_id].exit_grace_minutes), rules[w.garage_id].timezone
            )
            for w in windows
        }
        params = json_object(plate=B.c.plate, date=iso_date(W.c.service_date), time=by_window(deadline))
        summary["notifications"] += notify_bookings(inside, "overstayed", params, now)
        transition(
            inside, BookingStatus.CHECKED_IN, {"status": BookingStatus.OVERSTAYED, "updated_at": now}, B.c.inside
        )
    if left:
        audit_bookings(left, "booking.completed", "checked_in", "completed", at, "left", releases=True)
        transition(
            left,
            BookingStatus.CHECKED_IN,
            {"status": BookingStatus.COMPLETED, "slot": None, "updated_at": now},
            sa.not_(B.c.inside),
        )
        give_back(left)
    summary["overstayed"] += len(inside)
    summary["completed"] += len(left)
    return {t.household_id for t in taken if t.inside}
