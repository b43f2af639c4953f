"""Tonight at a glance for a garage's managers (`/manage`): each window of
tonight with its quota, spaces held, cars inside, cars still expected and waitlist; overstays; and
how many households and plates wait for verification.

"Tonight" is the windows whose service date is the garage's local today, plus yesterday's windows
that are still open (at 03:00 last night's cars are still tonight's business)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from parking.auth.models import User
from parking.bookings.models import Booking, BookingStatus
from parking.bookings.waiting import waitlist_counts
from parking.extensions import db
from parking.garages.services import computed_windows, night_key
from parking.gate.services import Occupant, occupancy
from parking.households.services import PendingCounts, pending_counts
from parking.windows.models import Garage, Window, WindowState, WindowTemplate
from parking.windows.services import today


@dataclass(frozen=True)
class TonightNight:
    """One window of tonight: its counts now, and its state from the instants and the clock (right
    whether or not the tide has run)."""

    key: str
    template: str
    service_date: date
    opens_at: datetime
    closes_at: datetime
    quota: int
    booked: int
    available: int
    waitlisted: int
    state: WindowState
    closed_reason: str | None
    inside: int
    expected: int


@dataclass(frozen=True)
class Glance:
    day: date
    nights: list[TonightNight]
    inside: int
    overstays: list[Occupant]
    pending: PendingCounts


def tonight(actor: User, garage: Garage, now: datetime) -> Glance:
    day = today(garage, now)
    found = (
        db.session.execute(
            db.select(Window, WindowTemplate.name)
            .join(WindowTemplate, WindowTemplate.id == Window.template_id)
            .where(
                Window.garage_id == garage.id,
                sa.or_(
                    Window.service_date == day,
                    sa.and_(Window.service_date == day - timedelta(days=1), Window.closes_at > now),
                ),
            )
            .order_by(Window.opens_at, Window.id)
        )
        .tuples()
        .all()
    )
    rows: list[tuple[Window, str]] = list(found)
    # A night of tonight the tide has not made yet is shown computed from its template (invariant 6).
    missing = computed_windows(garage, day, day, now)
    if missing:
        rows = sorted([*rows, *((w, w.template.name) for w in missing)], key=lambda r: (r[0].opens_at, r[0].id or 0))
    ids = [window.id for window, _ in rows if window.id is not None]
    waiting = waitlist_counts(ids)
    inside: dict[int, int] = {}
    expected: dict[int, int] = {}
    if ids:
        per_window = db.session.execute(
            db.select(
                Booking.window_id,
                sa.func.sum(sa.case((Booking.inside.is_(True), 1), else_=0)),
                sa.func.sum(sa.case((Booking.status == BookingStatus.CONFIRMED, 1), else_=0)),
            )
            .where(Booking.window_id.in_(ids))
            .group_by(Booking.window_id)
        ).tuples()
        for window_id, in_count, confirmed in per_window:
            inside[window_id] = int(in_count or 0)
            expected[window_id] = int(confirmed or 0)  # confirmed = held but not yet entered
    nights = [
        TonightNight(
            key=night_key(window),
            template=name,
            service_date=window.service_date,
            opens_at=window.opens_at,
            closes_at=window.closes_at,
            quota=window.quota,
            booked=window.booked,
            available=window.available,
            waitlisted=waiting.get(window.id, 0),
            state=window.state_at(now),
            closed_reason=window.closed_reason,
            inside=inside.get(window.id, 0),
            expected=expected.get(window.id, 0),
        )
        for window, name in rows
    ]
    cars = occupancy(actor, garage.id, now)
    return Glance(day, nights, len(cars.inside), cars.overstays, pending_counts(garage.id))
