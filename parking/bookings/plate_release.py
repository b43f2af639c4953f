"""Releasing a plate from its household (a car sold to a neighbour): the plate leaves the household
and its coming bookings there are cancelled the ordinary way, so each night's waitlist moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parking.auth.models import User
from parking.bookings import services as booking_services
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.households import services as household_services
from parking.households.models import Vehicle
from parking.windows.models import Window

#: What a release cancels: the plate's bookings that do not yet have the car inside.
CANCELLABLE = (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.REQUESTED)


@dataclass(frozen=True)
class Released:
    vehicle: Vehicle
    cancelled: list[int]


def release_plate(actor: User, vehicle_id: int, reason: str, now: datetime) -> Released:
    """Release a verified plate from its household; cancel its bookings there whose night has not
    ended (a car already inside leaves as usual). Audited and the household is told."""
    vehicle = household_services.release_vehicle(actor, vehicle_id, reason, now)
    coming = db.session.scalars(
        db.select(Booking.id)
        .join(Window, Window.id == Booking.window_id)
        .where(Booking.vehicle_id == vehicle.id, Booking.status.in_(CANCELLABLE), Window.closes_at > now)
        .order_by(Window.opens_at, Booking.id)
    ).all()
    for booking_id in coming:
        booking_services.cancel(actor, booking_id, now, reason=f"plate released: {reason}")
    return Released(vehicle=vehicle, cancelled=list(coming))
