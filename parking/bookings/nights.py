"""Several nights at once: each night its own booking through the one booking
path (`request_booking`, every single-booking rule, through the admission core), all or nothing
unless the request accepts a partial set. Each night runs in a savepoint, so that a refused night
leaves no trace; the windows are taken in id order, the order every writer locks them in."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

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
from parking.i18n import lazy_gettext as _l
from parking.windows.models import Window

REFUSED = "refused"


@dataclass(frozen=True)
class NightOutcome:
    """One night of a several-nights request: booked (confirmed, waitlisted, requested) or refused,
    and why. `message` only for a refusal a rule said in words (`NightOutcomeSchema` leaves it out
    otherwise)."""

    window_id: int
    service_date: date | None
    result: str
    reason: str | None = None
    booking_id: int | None = None
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        """As a refusal's details carry it (the API's shape, the date in ISO)."""
        out: dict[str, Any] = {
            "window_id": self.window_id,
            "service_date": self.service_date.isoformat() if self.service_date is not None else None,
            "booking_id": self.booking_id,
            "result": self.result,
            "reason": self.reason,
        }
        if self.message is not None:
            out["message"] = self.message
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NightOutcome:
        """A refusal's details read back (a stored refusal comes as JSON)."""
        served = data.get("service_date")
        return cls(
            window_id=data["window_id"],
            service_date=date.fromisoformat(served) if served else None,
            result=data["result"],
            reason=data.get("reason"),
            booking_id=data.get("booking_id"),
            message=data.get("message"),
        )


@dataclass(frozen=True)
class NightsResult:
    """The nights of a request, each with its outcome, and how many came out each way."""

    nights: list[NightOutcome]
    confirmed: int
    waitlisted: int
    requested: int
    refused: int


class NightsRefused(Conflict):
    reason, message = "nights_refused", _l("Some of these nights cannot be booked, so none was booked.")


class NothingBooked(Conflict):
    reason, message = "nothing_booked", _l("None of these nights can be booked.")


def _integrity_reason(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    return WindowFull.reason if "booked_within_quota" in text else DuplicateBooking.reason


def request_nights(
    actor: User, window_ids: list[int], raw_plate: str, waitlist: bool, accept_partial: bool, now: datetime
) -> NightsResult:
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
    nights: list[NightOutcome] = []
    codes: list[int] = []
    for window_id in sorted(window_ids):
        served = dates.get(window_id)
        try:
            with db.session.begin_nested():
                booking = request_booking(actor, window_id, raw_plate, waitlist, now)
            nights.append(NightOutcome(window_id, served, booking.status.value, booking_id=booking.id))
        except DomainError as exc:
            nights.append(NightOutcome(window_id, served, REFUSED, exc.reason, message=str(exc.message)))
            codes.append(exc.code)
        except IntegrityError as exc:  # a constraint fired: another request got there first
            nights.append(NightOutcome(window_id, served, REFUSED, _integrity_reason(exc)))
            codes.append(409)
    nights.sort(key=lambda n: (n.service_date is None, n.service_date or date.min, n.window_id))
    counted = {
        key: sum(1 for n in nights if n.result == key)
        for key in (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.REQUESTED, REFUSED)
    }
    if codes and (not accept_partial or len(codes) == len(nights)):
        # nothing is kept: say what each night would have been
        nights = [replace(night, booking_id=None) for night in nights]
        error = NothingBooked if len(codes) == len(nights) else NightsRefused
        details = {"nights": [n.as_json() for n in nights], "refused": len(codes)}
        raise error(code=409 if 409 in codes else codes[0], details=details)
    return NightsResult(
        nights,
        confirmed=counted[BookingStatus.CONFIRMED],
        waitlisted=counted[BookingStatus.WAITLISTED],
        requested=counted[BookingStatus.REQUESTED],
        refused=counted[REFUSED],
    )
