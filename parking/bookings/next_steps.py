"""What an actor may do next with a booking or a night: the one answer the pages put into words and
the services enforce.

A booking may be cancelled (a monthly night: handed back), and its pass shown; a night may be
booked, waitlisted or asked for in its draw. Each answer that is "no" carries the reason code the
service's refusal would carry, so a page and a refusal never disagree. `services.cancel` and the
pass issuer ask the same predicates (`may_act_for`, `can_cancel`, `shows_pass`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from parking.auth.models import Role, User
from parking.bookings import admission
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.errors import DomainError, HouseholdNotVerified
from parking.households.models import Household
from parking.windows.models import Garage, Window

# -- cancelling ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CancelPolicy:
    """What cancelling means for a kind of booking. A single night is cancelled (late after the
    free-cancellation time, the household is told); a monthly night is handed back: only while it
    holds its space and the night has not ended, never late, no message."""

    action: str
    statuses: tuple[BookingStatus, ...]
    until_close: bool
    records_lateness: bool
    notifies: bool
    default_reason: str | None
    refusal: str  # the reason code when the booking may not be cancelled now


SINGLE_NIGHT = CancelPolicy(
    "booking.cancelled",
    (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.REQUESTED),
    until_close=False,
    records_lateness=True,
    notifies=True,
    default_reason=None,
    refusal="not_cancellable",
)
MONTHLY_NIGHT = CancelPolicy(
    "booking.handed_back",
    (BookingStatus.CONFIRMED,),
    until_close=True,
    records_lateness=False,
    notifies=False,
    default_reason="monthly night",
    refusal="not_handed_back",
)


def cancel_policy(booking: Booking) -> CancelPolicy:
    return MONTHLY_NIGHT if booking.subscription_id is not None else SINGLE_NIGHT


def can_manage(actor: User, booking: Booking) -> bool:
    return actor.is_staff_of(booking.garage_id, Role.MANAGER)


def can_view(actor: User, booking: Booking) -> bool:
    return actor.household_id == booking.household_id or actor.is_staff_of(booking.garage_id)


def may_act_for(actor: User, booking: Booking) -> bool:
    """Who may cancel a booking: a member of its household or a manager of its garage."""
    return actor.household_id == booking.household_id or can_manage(actor, booking)


def can_cancel(booking: Booking, window: Window, now: datetime) -> bool:
    """Whether the booking may be cancelled (a monthly night: handed back) now, by whoever may act for it."""
    policy = cancel_policy(booking)
    return booking.status in policy.statuses and not (policy.until_close and now >= window.closes_at)


def free_cancel_until(window: Window) -> datetime:
    """Until this instant a cancellation is free; later ones are recorded as late (the rule free_cancel_minutes)."""
    return window.opens_at - timedelta(minutes=window.garage.free_cancel_minutes)


def cancel_is_late(booking: Booking, window: Window, now: datetime) -> bool:
    """Whether cancelling now would be recorded as late: only a held space of a single night is."""
    return (
        cancel_policy(booking).records_lateness
        and booking.status == BookingStatus.CONFIRMED
        and now >= free_cancel_until(window)
    )


def shows_pass(booking: Booking) -> bool:
    """A pass is shown while the booking holds a space (a monthly night's is its month's)."""
    return booking.status in SPACE_HOLDING


# -- a booking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingSteps:
    """What the actor may do with one booking now; a refusal's reason code where they may not."""

    cancel: bool  # cancel a single night
    hand_back: bool  # hand a monthly night back
    show_pass: bool
    cancel_is_late: bool  # cancelling now would be recorded as late
    free_cancel_until: datetime
    monthly: bool
    cancel_refusal: str | None  # "forbidden", "not_cancellable" or "not_handed_back"
    pass_refusal: str | None  # "forbidden" or "no_space_held"


def for_booking(actor: User, booking: Booking, now: datetime) -> BookingSteps:
    window = booking.window
    policy = cancel_policy(booking)
    member = actor.household_id == booking.household_id
    if not may_act_for(actor, booking):
        cancel_refusal: str | None = "forbidden"
    elif not can_cancel(booking, window, now):
        cancel_refusal = policy.refusal
    else:
        cancel_refusal = None
    if not member:
        withheld: str | None = "forbidden"  # staff never hold a household's pass
    elif not shows_pass(booking):
        withheld = "no_space_held"
    else:
        withheld = None
    cancellable = cancel_refusal is None
    return BookingSteps(
        cancel=cancellable and policy is SINGLE_NIGHT,
        hand_back=cancellable and policy is MONTHLY_NIGHT,
        show_pass=withheld is None,
        cancel_is_late=cancellable and cancel_is_late(booking, window, now),
        free_cancel_until=free_cancel_until(window),
        monthly=policy is MONTHLY_NIGHT,
        cancel_refusal=cancel_refusal,
        pass_refusal=withheld,
    )


# -- a night ---------------------------------------------------------------------------------------


class NightAction(enum.StrEnum):
    BOOK = "book"
    WAITLIST = "waitlist"
    BALLOT = "ballot"


@dataclass(frozen=True)
class NightSteps:
    """What a household may ask for on a night now: one action, or the reason it may not.

    `refusal` is `window_closed` (the station closed the night), `no_quota` (the station set its
    quota to 0: no space and no waitlist) or `booking_closed` (its booking time is over); `spaces`
    is what is free as read, for the words."""

    action: NightAction | None
    refusal: str | None
    spaces: int
    ballot_closes_at: datetime | None = None
    #: What the night offers, but not to this household now: the refusal a request would get
    #: (`household_not_verified`); `action` is then None.
    offered: NightAction | None = None


def household_refusal(household: Household | None, now: datetime) -> str | None:
    """`household_not_verified` while the household waits for its check (or was not accepted): the
    admission core's own refusal, which no night can lift, so the pages offer none. A suspension
    (a pause with its end) keeps its buttons, and the refusal is said beside the one pressed."""
    try:
        admission.eligible_household(household, now)
    except HouseholdNotVerified as exc:
        return exc.reason
    except DomainError:
        return None
    return None


def for_night(window: Window, garage: Garage, now: datetime, household: Household | None) -> NightSteps:
    """What the household may ask for on the night now; while it waits for its verification (or
    was not accepted, or is suspended) it may ask for nothing, and `refusal` says why."""
    steps = _offer(window, garage, now)
    if steps.action is None:
        return steps
    held_back = household_refusal(household, now)
    if held_back is None:
        return steps
    return NightSteps(None, held_back, steps.spaces, steps.ballot_closes_at, offered=steps.action)


def _offer(window: Window, garage: Garage, now: datetime) -> NightSteps:
    offer = admission.availability(window, garage, now)
    if offer.offer == admission.Offer.CLOSED:
        return NightSteps(None, "window_closed", 0)
    if offer.offer == admission.Offer.NO_QUOTA:
        return NightSteps(None, "no_quota", 0)
    if offer.offer == admission.Offer.BOOKING_OVER:
        return NightSteps(None, "booking_closed", 0)
    if offer.offer == admission.Offer.DRAW:
        return NightSteps(NightAction.BALLOT, None, offer.spaces, window.ballot_closes_at)
    # A draw that is due runs when the booking comes: its night books first come then.
    if offer.spaces > 0:
        return NightSteps(NightAction.BOOK, None, offer.spaces)
    return NightSteps(NightAction.WAITLIST, None, 0)
