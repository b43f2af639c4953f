"""Several nights at once: each night its own booking through the one booking
path (`request_booking`, every single-booking rule, through the admission core), all or nothing
unless the request accepts a partial set. Each night runs in a savepoint, so that a refused night
leaves no trace; the windows are taken in id order, the order every writer locks them in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from parking.auth.models import User
from parking.bookings import admission
from parking.bookings.models import BookingStatus
from parking.bookings.services import request_booking
from parking.errors import (
    Conflict,
    DomainError,
    DuplicateBooking,
    Unprocessable,
    WindowFull,
)
from parking.extensions import db
from parking.windows.models import Window

REFUSED = "refused"


class NightsRefused(Conflict):
    reason, message = "nights_refused", _l("Some of these nights cannot be booked, so none was booked.")


class NothingBooked(Conflict):
    reason, message = "nothing_booked", _l("None of these nights can be booked.")


def _integrity_reason(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    return WindowFull.reason if "booked_within_quota" in text else DuplicateBooking.reason


def request_nights(
    actor: User, window_ids: list[int], raw_plate: str, waitlist: bool, accept_partial: bool, now: datetime
) -> dict[str, Any]:
    # Refusals that hold for every night are said once, before any night is tried.
    household = admission.eligible_household(actor.household, now)
    admission.eligible_plate(raw_plate)
    limit = household.garage.horizon_days + 1
    if len(window_ids) > limit:
        raise Unprocessable(
            reason="too_many_nights",
            errors={"window_ids": [f"at most {limit} nights: the booking horizon"]},
            details={"limit": limit},
        )
    dates = dict(
        db.session.execute(db.select(Window.id, Window.service_date).where(Window.id.in_(window_ids))).tuples().all()
    )
    nights: list[dict[str, Any]] = []
    codes: list[int] = []
    for window_id in sorted(window_ids):
        night: dict[str, Any] = {"window_id": window_id, "service_date": dates.get(window_id), "booking_id": None}
        try:
            with db.session.begin_nested():
                booking = request_booking(actor, window_id, raw_plate, waitlist, now)
            night.update(result=booking.status.value, reason=None, booking_id=booking.id)
        except DomainError as exc:
            night.update(result=REFUSED, reason=exc.reason, message=str(exc.message))
            codes.append(exc.code)
        except IntegrityError as exc:  # a constraint fired: another request got there first
            night.update(result=REFUSED, reason=_integrity_reason(exc))
            codes.append(409)
        nights.append(night)
    nights.sort(key=lambda n: (n["service_date"] is None, n["service_date"] or "", n["window_id"]))
    counts = {
        key: sum(1 for n in nights if n["result"] == key)
        for key in (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.REQUESTED, REFUSED)
    }
    if codes and (not accept_partial or len(codes) == len(nights)):
        for night in nights:  # nothing is kept: say what each night would have been
            night["booking_id"] = None
        error = NothingBooked if len(codes) == len(nights) else NightsRefused
        details = {"nights": [_jsonable(n) for n in nights], "refused": len(codes)}
        raise error(code=409 if 409 in codes else codes[0], details=details)
    return {"nights": nights, **{str(key): value for key, value in counts.items()}}


def _jsonable(night: dict[str, Any]) -> dict[str, Any]:
    date = night["service_date"]
    return {**night, "service_date": date.isoformat() if date is not None else None}
