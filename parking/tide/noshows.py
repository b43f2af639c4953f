"""No-shows: confirmed bookings never checked in by `no_show_minutes` after the window opens give
their space back, get one strike and a notice; the waitlist moves while booking is still open."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from parking.bookings.admission import booking_open
from parking.bookings.models import BookingStatus
from parking.bookings.services import promote_waitlist
from parking.bookings.strikes import (
    Rules,
)
from parking.extensions import db
from parking.households.models import StrikeKind
from parking.notifications.delivery import untold_promotions
from parking.tide.bulk import (
    B,
    G,
    W,
    audit_bookings,
    due_before,
    due_windows,
    give_back,
    id_among,
    iso_date,
    json_object,
    notify_bookings,
    plus_minutes,
    strike_bookings,
    take_due,
    transition,
)
from parking.windows.locking import lock_window


def mark_no_shows(now: datetime, rules: dict[int, Rules], summary: Counter) -> set[int]:
    """Confirmed bookings not checked in `no_show_minutes` after `opens_at` become `no_show`: the
    space returns to the pool, the waitlist moves while booking is still open, one strike, a notice.
    Returns the households charged."""
    due = due_before(W.c.opens_at, rules, lambda r: timedelta(minutes=r.no_show_minutes), now)
    windows = due_windows(BookingStatus.CONFIRMED, due, lock=True)
    taken = take_due([w.id for w in windows], BookingStatus.CONFIRMED)
    if not taken:
        return set()
    ids = [t.id for t in taken]
    at = plus_minutes(W.c.opens_at, G.c.no_show_minutes)
    # A monthly pass's night that was not used returns its space without a strike or a notice.
    monthly = _monthly_nights(ids)
    single = [i for i in ids if i not in monthly]
    for group, reason in ((single, "not checked in"), (sorted(monthly), MONTHLY_UNUSED)):
        if group:
            audit_bookings(group, "booking.no_show", "confirmed", "no_show", at, reason, releases=True)
    # A household promoted from the waitlist in quiet hours and never told (nobody read the notice, no
    # gateway took it) loses the space but gets no strike.
    untold = untold_promotions(single)
    charged = [i for i in single if i not in untold]
    summary["strikes"] += strike_bookings(charged, StrikeKind.NO_SHOW, at) if charged else 0
    if untold:
        summary["untold_no_strike"] += len(untold)
    params = json_object(plate=B.c.plate, date=iso_date(W.c.service_date))
    summary["notifications"] += notify_bookings(single, "no_show", params, now) if single else 0
    transition(ids, BookingStatus.CONFIRMED, {"status": BookingStatus.NO_SHOW, "slot": None, "updated_at": now})
    give_back(ids)
    summary["no_shows"] += len(ids)
    # Only garages whose no-show deadline falls before the booking cutoff still have an open night.
    changed = {t.window_id for t in taken}
    for window in windows:
        cutoff = window.opens_at + timedelta(minutes=rules[window.garage_id].booking_cutoff_minutes)
        if window.id in changed and now < cutoff:
            locked = lock_window(window.id)
            if locked is not None and booking_open(locked, locked.garage, now):
                summary["promoted"] += len(promote_waitlist(locked, now))
    return {t.household_id for t in taken if t.id not in monthly and t.id not in untold}


MONTHLY_UNUSED = "monthly night not used"


def _monthly_nights(ids: Sequence[int]) -> set[int]:
    """The bookings among `ids` that are nights of a monthly pass."""
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(B.c.id).where(id_among(B.c.id, ids), B.c.subscription_id.is_not(None))))
