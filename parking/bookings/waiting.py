"""How many wait on each night: the waitlist and the ballot requests before the draw."""

from __future__ import annotations

import sqlalchemy as sa

from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db


def waiting_counts(window_ids: list[int]) -> dict[tuple[int, BookingStatus], int]:
    """Per window, the bookings on the waitlist and the requests waiting for the draw."""
    if not window_ids:
        return {}
    rows = db.session.execute(
        db.select(Booking.window_id, Booking.status, sa.func.count())
        .where(
            Booking.window_id.in_(window_ids),
            Booking.status.in_((BookingStatus.WAITLISTED, BookingStatus.REQUESTED)),
        )
        .group_by(Booking.window_id, Booking.status)
    ).tuples()
    return {(window_id, status): count for window_id, status, count in rows}


def waitlist_counts(window_ids: list[int]) -> dict[int, int]:
    """Per window, the bookings on the waitlist."""
    return {wid: n for (wid, status), n in waiting_counts(window_ids).items() if status == BookingStatus.WAITLISTED}
