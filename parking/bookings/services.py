"""Booking rules: a single night, the waitlist, and the one cancel verb.
A booking takes its space through the admission core (`parking.bookings.admission`); a ballot
night's request goes to the ballot. Every function flushes; the caller commits."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from parking import plates
from parking.audit.services import amend_after, snapshot
from parking.auth.models import Role, User
from parking.bookings import admission, ballot
from parking.bookings.admission import (
    AUDITED,
    booking_open,
    new_booking,
    notify_household,
    release,
    set_status,
    write_booking,
)
from parking.bookings.models import UPCOMING, Booking, BookingStatus
from parking.bookings.next_steps import (
    MONTHLY_NIGHT,
    can_cancel,
    can_view,
    cancel_is_late,
    cancel_policy,
    may_act_for,
)
from parking.errors import (
    DomainError,
    Forbidden,
    NotFound,
    Unprocessable,
    WindowFull,
)
from parking.extensions import db
from parking.households.models import Household
from parking.i18n import lazy_gettext as _l
from parking.windows.locking import lock_window
from parking.windows.models import Window
from parking.windows.services import horizon_end


def request_booking(actor: User, window_id: int, raw_plate: str, waitlist: bool, now: datetime) -> Booking:
    """Book a space for the actor's household: confirmed, or waitlisted when full and asked for;
    on a ballot night before its draw, a request for the draw."""
    household = admission.eligible_household(actor.household, now)
    plate = admission.eligible_plate(raw_plate)
    garage = household.garage

    # Cheap refusals first, without the lock: in a rush most requests find the window full, and
    # they must not queue on the lock the confirmations need. The counter only falls through a
    # cancel or a quota rise, so a refusal read here was true at the moment it was read.
    read = admission.night_and_car(window_id, household.id, plate)
    window = read.window
    if window is None:
        raise NotFound()
    if window.garage_id != household.garage_id:
        raise Forbidden(reason="wrong_garage")
    offer = admission.availability(window, garage, now)
    if offer.offer in admission.REFUSING:
        raise admission.booking_closed(offer.offer)
    if window.service_date > horizon_end(garage, now):
        raise Unprocessable(reason="beyond_horizon", details={"horizon_days": garage.horizon_days})
    if offer.offer == admission.Offer.FULL and not waitlist:
        raise WindowFull(details={"quota": window.quota, "booked": window.booked})
    vehicle = read.car()

    if offer.offer == admission.Offer.DRAW:
        entry = ballot.request_entry(actor, household, window, vehicle, now)
        if entry is not None:
            return entry
        db.session.refresh(window)  # drawn meanwhile: first come now
    elif offer.offer == admission.Offer.AWAITS_DRAW:
        # The draw is due: whichever comes first, the tide or this request, runs it (once),
        # so that nobody books the night first come ahead of the draw.
        ballot.run_due_draws(now, garage_id=window.garage_id)
        db.session.refresh(window)

    if offer.offer == admission.Offer.FREE and not household.waitlist_priority:
        try:
            with db.session.begin_nested() if waitlist else contextlib.nullcontext():
                return confirm_first_come(actor, household, window, vehicle, now)
        except WindowFull:
            if not waitlist:
                raise
        # Filled meanwhile, and the request waits if need be: under the lock from the start.

    try:
        window, slot = admission.take_space(window, household, plate, now)
    except WindowFull:
        if not waitlist:
            raise
        window = admission.waitlist_place(window.id, household, plate, now)
        if not window.available:  # still full under the lock: the request waits
            booking = new_booking(actor, household, window, vehicle, BookingStatus.WAITLISTED, now)
            return write_booking(booking, window, actor, "booking.waitlisted", now, notice="booking_waitlisted")[0]
        # A cancel gave a space back between the full counter (which locks nothing) and the lock,
        # with nobody waiting to take it: it is this request's, not left free while it waits.
        window, slot = admission.take_space(window, household, plate, now)
    booking = new_booking(actor, household, window, vehicle, BookingStatus.CONFIRMED, now)
    admission.hold(booking, window, slot, now)
    return write_booking(booking, window, actor, "booking.confirmed", now, notice="booking_confirmed")[0]


def confirm_first_come(
    actor: User, household: Household, window: Window, vehicle: admission.Car, now: datetime
) -> Booking:
    """A first-come confirmation with the window's lock taken last: the slot is chosen from what
    is committed (where a household may hold more than one), the booking (written as waiting,
    with its pass), its audit and its notices are written before the lock, and `take_space_last`
    takes the counter and moves the booking into holding as the last statement(s) before the
    commit. A refusal there (full, closed, the plate
    or the household's limit taken meanwhile) is rolled back with the unit of work.

    A household with a waitlist priority takes the lock first (`take_space`): using the priority
    up changes its household row, which a quota cut changes under the window's lock.

    Where `admission.takes_with_its_writing` (PostgreSQL, one space a household), the booking is
    written holding by the statement that takes the space (`admission.write_taking`)."""
    if admission.takes_with_its_writing(household):
        booking = new_booking(actor, household, window, vehicle, BookingStatus.CONFIRMED, now)
        admission.hold(booking, window, 1, now)
        return admission.write_taking(booking, window, household, actor, now)
    limit = household.garage.bookings_per_household
    # With a limit of 1 the slot is 1, and the move into holding checks the plate and the household
    # (its refusal says why, under the lock): no read first.
    slot = 1 if limit == 1 else admission.household_slot(window, household.id, vehicle.plate, limit)
    booking = new_booking(actor, household, window, vehicle, BookingStatus.WAITLISTED, now)
    admission.hold(booking, window, slot, now)
    confirmed = {"status": BookingStatus.CONFIRMED.value}
    booking, event_id = write_booking(
        booking, window, actor, "booking.confirmed", now, notice="booking_confirmed", after=confirmed
    )
    held = admission.take_space_last(booking, window, household)
    if held != slot:  # another of the household's bookings took the slot meanwhile
        amend_after(event_id, {**snapshot(booking, *AUDITED), **confirmed})
    return booking


#: Bumped households first; then the draw's losers in draw order; then first come.
WAITLIST_ORDER = (
    Booking.priority.desc(),
    sa.case((Booking.draw_rank.is_(None), 1), else_=0),
    Booking.draw_rank,
    Booking.created_at,
    Booking.id,
)


def promote_waitlist(window: Window, now: datetime, actor: User | int | None = None) -> list[Booking]:
    """Fill free spaces of a locked window from its waitlist: bumped households first, then first
    come first served; an entry whose household holds its limit or whose plate holds a space is
    skipped (the admission core refuses it). Each promoted household is notified."""
    garage = window.garage
    promoted: list[Booking] = []
    if window.awaits_draw or not booking_open(window, garage, now) or window.booked >= window.quota:
        return promoted
    waiting = db.session.scalars(
        db.select(Booking)
        .where(Booking.window_id == window.id, Booking.status == BookingStatus.WAITLISTED)
        .order_by(*WAITLIST_ORDER)
    ).all()
    for candidate in waiting:
        if window.booked >= window.quota:
            break
        try:
            window, slot = admission.take_space(window, candidate.household, candidate.plate, now, exclude=candidate.id)
        except WindowFull:
            break
        except DomainError:
            continue
        admission.hold(candidate, window, slot, now)
        set_status(
            candidate, BookingStatus.CONFIRMED, actor, now, action="booking.promoted", reason="a space became free"
        )
        db.session.flush()
        notify_household(candidate, "booking_promoted", now)
        promoted.append(candidate)
    return promoted


def get_visible(actor: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view(actor, booking):
        raise NotFound()  # a stranger learns nothing about other households' bookings
    return booking


class NotHandedBack(Unprocessable):
    reason, message = "not_handed_back", _l("This night can no longer be handed back.")


def cancel(actor: User, booking_id: int, now: datetime, reason: str | None = None) -> Booking:
    """The one cancel verb, for members of the household and managers of the garage; its policy
    is chosen by the booking's kind (`cancel_policy`)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view(actor, booking):
        raise NotFound()
    if not may_act_for(actor, booking):
        raise Forbidden()
    return cancel_booking(actor, booking, now, reason)


def cancel_booking(actor: User, booking: Booking, now: datetime, reason: str | None = None) -> Booking:
    """Cancel a booking the caller may cancel: under the window's lock, the space returns and the
    waitlist moves."""
    window = lock_window(booking.window_id)
    assert window is not None
    db.session.refresh(booking, with_for_update=True)  # the status as it is, locked: the gate changes it too
    policy = cancel_policy(booking)
    if not can_cancel(booking, window, now):
        if policy is MONTHLY_NIGHT:
            raise NotHandedBack(details={"status": booking.status.value})
        raise Unprocessable(reason=policy.refusal, details={"status": booking.status.value})
    if policy.records_lateness:
        booking.late_cancel = cancel_is_late(booking, window, now)
    booking.cancelled_at = now
    release(
        booking,
        window,
        BookingStatus.CANCELLED,
        actor,
        now,
        action=policy.action,
        reason=reason or policy.default_reason,
    )
    db.session.flush()
    if policy.notifies:
        notify_household(booking, "booking_cancelled", now)
    promote_waitlist(window, now, actor)
    return booking


def coming_for(actor: User, now: datetime, limit: int = 50) -> list[Booking]:
    """The actor's household's bookings still to come (not cancelled or over, and the window has
    not ended), soonest first, with their windows loaded: what a resident's home page shows."""
    if actor.household_id is None:
        return []
    return list(
        db.session.scalars(
            db.select(Booking)
            .join(Window, Window.id == Booking.window_id)
            .where(
                Booking.household_id == actor.household_id,
                Window.closes_at > now,
                Booking.status.in_(UPCOMING),
            )
            .options(contains_eager(Booking.window))
            .order_by(Window.opens_at, Booking.id)
            .limit(limit)
        ).unique()
    )


def list_for(
    actor: User,
    *,
    garage_id: int | None = None,
    window_id: int | None = None,
    status: BookingStatus | None = None,
    plate: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[Booking]:
    """Residents see their household's bookings; staff filter their garages' bookings."""
    stmt = db.select(Booking)
    if actor.role in (Role.MANAGER, Role.ATTENDANT, Role.ADMIN):
        if actor.role != Role.ADMIN:
            stmt = stmt.where(Booking.garage_id.in_(actor.garage_ids or [-1]))
        if garage_id is not None:
            stmt = stmt.where(Booking.garage_id == garage_id)
    else:
        stmt = stmt.where(Booking.household_id == (actor.household_id or -1))
    if window_id is not None:
        stmt = stmt.where(Booking.window_id == window_id)
    if status is not None:
        stmt = stmt.where(Booking.status == status)
    if plate:
        normalised = plates.normalise(plate)
        stmt = stmt.where(Booking.plate == normalised)
    stmt = stmt.order_by(Booking.id.desc()).limit(limit).offset(offset)
    return db.session.scalars(stmt).all()
