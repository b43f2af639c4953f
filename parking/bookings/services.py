"""Booking rules (DESIGN sections 3 and 4). Every function flushes; the caller commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from parking import plates
from parking.audit.services import record, snapshot
from parking.auth.models import Role, User
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.errors import (
    BookingClosed,
    DuplicateBooking,
    Forbidden,
    HouseholdNotVerified,
    InvalidPlate,
    NotFound,
    PlateNotVerified,
    Suspended,
    Unprocessable,
    WindowFull,
)
from parking.extensions import db
from parking.garages.models import Garage, Window, WindowState
from parking.garages.services import horizon_end
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.locking import lock_window
from parking.notifications.services import notify

AUDITED = ("status", "slot", "priority", "late_cancel")

# The statements of a booking request, built once with bound parameters: building a statement and
# its cache key on every request cost about as much CPU as running it (README, "Benchmarks").
_WINDOW = sa.select(Window).where(Window.id == sa.bindparam("window_id"))
_VEHICLE = sa.select(Vehicle).where(
    Vehicle.household_id == sa.bindparam("household_id"), Vehicle.plate == sa.bindparam("plate")
)
_MEMBERS = sa.select(User.id).where(User.household_id == sa.bindparam("household_id"))
# Takes the window's lock with the increment itself; no row when the window is full or cancelled.
_TAKE_SPACE = (
    sa.update(Window)
    .where(Window.id == sa.bindparam("window_id"), Window.booked < Window.quota, Window.state != WindowState.CANCELLED)
    .values(booked=Window.booked + 1)
    .returning(Window.booked)
)
_RELATED = sa.select(Booking.plate, Booking.household_id, Booking.status, Booking.slot).where(
    Booking.window_id == sa.bindparam("window_id"),
    sa.or_(Booking.plate == sa.bindparam("plate"), Booking.household_id == sa.bindparam("household_id")),
    Booking.status.in_((*SPACE_HOLDING, BookingStatus.WAITLISTED)),
)


def member_ids(household_id: int) -> list[int]:
    return list(db.session.scalars(_MEMBERS, {"household_id": household_id}))


def notify_household(
    booking: Booking,
    kind: str,
    now: datetime,
    *,
    dedupe: bool = False,
    extra: dict | None = None,
    members: list[int] | None = None,
) -> None:
    window = booking.window
    params = {"plate": booking.plate, "date": window.service_date.isoformat(), **(extra or {})}
    notify(
        members if members is not None else member_ids(booking.household_id),
        kind,
        params,
        booking_id=booking.id,
        dedupe_key=f"{kind}:{booking.id}" if dedupe else None,
        now=now,
    )


def set_status(
    booking: Booking,
    status: BookingStatus,
    actor: User | int | None,
    now: datetime,
    *,
    action: str,
    reason: str | None = None,
) -> None:
    """Change a booking's status and audit it (invariant 4)."""
    before = snapshot(booking, *AUDITED)
    booking.status = status
    booking.updated_at = now
    if status not in SPACE_HOLDING:
        booking.slot = None
    record(actor, action, booking, before=before, after=snapshot(booking, *AUDITED), reason=reason, at=now)


def booking_open(window: Window, garage: Garage, now: datetime) -> bool:
    return window.state != WindowState.CANCELLED and now < window.opens_at + timedelta(
        minutes=garage.booking_cutoff_minutes
    )


def _holding(window_id: int, household_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            db.select(Booking).where(
                Booking.window_id == window_id,
                Booking.household_id == household_id,
                Booking.status.in_(SPACE_HOLDING),
            )
        )
    )


def _free_slot(window: Window, household_id: int, limit: int) -> int | None:
    used = {b.slot for b in _holding(window.id, household_id)}
    return next((slot for slot in range(1, limit + 1) if slot not in used), None)


def _plate_holds(window_id: int, plate: str) -> bool:
    return (
        db.session.scalar(
            db.select(sa.func.count())
            .select_from(Booking)
            .where(Booking.window_id == window_id, Booking.plate == plate, Booking.status.in_(SPACE_HOLDING))
        )
        > 0
    )


def _take_space(window: Window, booking: Booking, slot: int) -> None:
    """Count one more space-holding booking on the locked window. The UPDATE is relative so the
    CHECK (booked <= quota) judges the value the database holds, not a stale Python copy."""
    booked = db.session.execute(
        sa.update(Window).where(Window.id == window.id).values(booked=Window.booked + 1).returning(Window.booked)
    ).scalar_one()
    set_committed_value(window, "booked", booked)
    booking.slot = slot


def _give_back_space(window: Window) -> None:
    booked = db.session.execute(
        sa.update(Window).where(Window.id == window.id).values(booked=Window.booked - 1).returning(Window.booked)
    ).scalar_one()
    set_committed_value(window, "booked", booked)


def _check_window(window: Window, garage: Garage, household: Household, now: datetime) -> None:
    if window.garage_id != household.garage_id:
        raise Forbidden(reason="wrong_garage")
    if not booking_open(window, garage, now):
        raise BookingClosed()
    if window.service_date > horizon_end(garage, now):
        raise Unprocessable(reason="beyond_horizon", details={"horizon_days": garage.horizon_days})


def new_booking(
    actor: User, household: Household, window: Window, vehicle: Vehicle, status: BookingStatus, now: datetime
) -> Booking:
    """A booking of the household (not yet added); a bumped household's priority goes with it."""
    booking = Booking(
        window_id=window.id,
        garage_id=window.garage_id,
        household_id=household.id,
        vehicle_id=vehicle.id,
        plate=vehicle.plate,
        status=status,
        priority=household.waitlist_priority,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    if household.waitlist_priority:
        before = snapshot(household, "waitlist_priority")
        household.waitlist_priority = False  # used up by this request
        record(
            actor,
            "household.priority_used",
            household,
            before=before,
            after=snapshot(household, "waitlist_priority"),
            at=now,
        )
    return booking


def request_booking(actor: User, window_id: int, raw_plate: str, waitlist: bool, now: datetime) -> Booking:
    """Book a space for the actor's household: confirmed, or waitlisted when full and asked for."""
    household: Household | None = actor.household
    if household is None or household.state != HouseholdState.VERIFIED:
        raise HouseholdNotVerified()
    if household.is_suspended(now):
        raise Suspended(details={"suspended_until": household.suspended_until.isoformat()})  # type: ignore[union-attr]
    plate = plates.parse(raw_plate)
    if plate is None:
        raise InvalidPlate(errors={"plate": ["not a valid Chinese plate"]})
    garage = household.garage

    # Cheap refusals first, without the lock: in a rush most requests find the window full, and
    # they must not queue on the lock the confirmations need. The counter only falls through a
    # cancel or a quota rise, so a refusal read here was true at the moment it was read.
    window = db.session.scalar(_WINDOW, {"window_id": window_id})
    if window is None:
        raise NotFound()
    _check_window(window, garage, household, now)
    if not waitlist and window.booked >= window.quota:
        raise WindowFull(details={"quota": window.quota, "booked": window.booked})
    vehicle = db.session.scalar(_VEHICLE, {"household_id": household.id, "plate": plate})
    if vehicle is None or vehicle.state != VehicleState.VERIFIED:
        raise PlateNotVerified()

    members = member_ids(household.id)  # read before the lock: the lock is the rush's bottleneck

    if window.awaits_draw:
        from parking.bookings import ballot  # the ballot builds on this module

        if now < window.ballot_closes_at:  # type: ignore[operator]
            entry = ballot.request_entry(actor, household, window, vehicle, now, members)
            if entry is not None:
                return entry
        else:
            # The draw is due: whichever comes first, the tide or this request, runs it (once),
            # so that nobody books the night first come ahead of the draw.
            ballot.run_due_draws(now, garage_id=window.garage_id)
        db.session.refresh(window)

    # Everything below runs under the window lock: quota, household limit and waitlist order. A
    # booking that can be confirmed takes the lock with the counter increment itself (one
    # statement instead of a SELECT … FOR UPDATE and an UPDATE); if a rule below refuses it, the
    # rollback gives the space back.
    booked = db.session.execute(_TAKE_SPACE, {"window_id": window.id}).scalar_one_or_none()
    if booked is not None:
        set_committed_value(window, "booked", booked)
    else:
        if not waitlist:
            db.session.refresh(window, ["booked", "quota", "state"])
            if window.state == WindowState.CANCELLED:
                raise BookingClosed()
            raise WindowFull(details={"quota": window.quota, "booked": window.booked})
        locked = lock_window(window_id)
        assert locked is not None  # windows are never deleted while bookings point at them
        window = locked
    _check_window(window, garage, household, now)  # a manager may have closed it meanwhile

    related = db.session.execute(_RELATED, {"window_id": window.id, "plate": plate, "household_id": household.id}).all()
    if any(r.plate == plate and r.status in SPACE_HOLDING for r in related):
        raise DuplicateBooking()
    if any(
        r.plate == plate and r.household_id == household.id and r.status == BookingStatus.WAITLISTED for r in related
    ):
        raise DuplicateBooking()
    used = {r.slot for r in related if r.household_id == household.id and r.status in SPACE_HOLDING}
    limit = garage.bookings_per_household
    slot = next((n for n in range(1, limit + 1) if n not in used), None)
    if slot is None:
        raise DuplicateBooking(details={"limit": limit})

    booking = new_booking(actor, household, window, vehicle, BookingStatus.WAITLISTED, now)

    if booked is not None:  # the space is taken already
        booking.slot = slot
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now
        db.session.add(booking)
        db.session.flush()
        record(actor, "booking.confirmed", booking, after=snapshot(booking, *AUDITED), at=now)
        notify_household(booking, "booking_confirmed", now, members=members)
    else:
        db.session.add(booking)
        db.session.flush()
        record(actor, "booking.waitlisted", booking, after=snapshot(booking, *AUDITED), at=now)
        notify_household(booking, "booking_waitlisted", now, members=members)
    return booking


def release(
    booking: Booking,
    window: Window,
    status: BookingStatus,
    actor: User | int | None,
    now: datetime,
    *,
    action: str,
    reason: str | None = None,
) -> None:
    """Move a booking out of the space-holding statuses and give its space back. The caller
    holds the window lock and decides whether the waitlist moves."""
    held = booking.holds_space
    set_status(booking, status, actor, now, action=action, reason=reason)
    if held:
        _give_back_space(window)


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
    come first served; skip entries whose household already holds its limit or whose plate holds
    a space. Each promoted household is notified."""
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
        if _plate_holds(window.id, candidate.plate):
            continue
        slot = _free_slot(window, candidate.household_id, garage.bookings_per_household)
        if slot is None:
            continue
        _take_space(window, candidate, slot)
        candidate.confirmed_at = now
        set_status(
            candidate, BookingStatus.CONFIRMED, actor, now, action="booking.promoted", reason="a space became free"
        )
        db.session.flush()
        notify_household(candidate, "booking_promoted", now)
        promoted.append(candidate)
    return promoted


def can_manage(actor: User, booking: Booking) -> bool:
    return actor.is_staff_of(booking.garage_id, Role.MANAGER)


def can_view(actor: User, booking: Booking) -> bool:
    return actor.household_id == booking.household_id or actor.is_staff_of(booking.garage_id)


def get_visible(actor: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view(actor, booking):
        raise NotFound()  # a stranger learns nothing about other households' bookings
    return booking


def free_cancel_until(window: Window) -> datetime:
    """Until this instant a cancellation is free; later ones are recorded as late (DESIGN 4)."""
    return window.opens_at - timedelta(minutes=window.garage.free_cancel_minutes)


def cancel_is_late(booking: Booking, window: Window, now: datetime) -> bool:
    """Whether cancelling now would be recorded as late: only a held space is cancelled late."""
    return booking.status == BookingStatus.CONFIRMED and now >= free_cancel_until(window)


class NotHandedBack(Unprocessable):
    reason, message = "not_handed_back", _l("This night can no longer be handed back.")


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


SINGLE_NIGHT = CancelPolicy(
    "booking.cancelled",
    (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.REQUESTED),
    until_close=False,
    records_lateness=True,
    notifies=True,
    default_reason=None,
)
MONTHLY_NIGHT = CancelPolicy(
    "booking.handed_back",
    (BookingStatus.CONFIRMED,),
    until_close=True,
    records_lateness=False,
    notifies=False,
    default_reason="monthly night",
)


def cancel_policy(booking: Booking) -> CancelPolicy:
    return MONTHLY_NIGHT if booking.subscription_id is not None else SINGLE_NIGHT


def can_cancel(booking: Booking, window: Window, now: datetime) -> bool:
    """Whether the booking may be cancelled (a monthly night: handed back) now."""
    policy = cancel_policy(booking)
    return booking.status in policy.statuses and not (policy.until_close and now >= window.closes_at)


def cancel(actor: User, booking_id: int, now: datetime, reason: str | None = None) -> Booking:
    """The one cancel verb, for members of the household and managers of the garage; its policy
    is chosen by the booking's kind (`cancel_policy`)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view(actor, booking):
        raise NotFound()
    if actor.household_id != booking.household_id and not can_manage(actor, booking):
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
        raise Unprocessable(reason="not_cancellable", details={"status": booking.status.value})
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
    """The actor's household's bookings whose window has not ended yet, soonest first, with their
    windows loaded: what a resident's home and nights pages show."""
    if actor.household_id is None:
        return []
    return list(
        db.session.scalars(
            db.select(Booking)
            .join(Window, Window.id == Booking.window_id)
            .where(Booking.household_id == actor.household_id, Window.closes_at > now)
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
