"""The admission core: the one way any booking comes to hold a space.

A single night, several nights, a ballot draw, a monthly subscription and a waitlist promotion all
go through these functions:

- `eligible` (and its parts): the household is verified and not suspended, the plate is a valid
  Chinese plate, and the household's vehicle with that plate is verified;
- `availability`: what a night offers now (closed, booking over, a draw to ask for, free spaces,
  full), the one place where that is decided, for the pages and the refusals alike;
- `take_space`: under the window's lock, the quota (the counter's CHECK), one space per plate
  and the household limit (their unique partial indexes, checked first so that a refusal has its
  reason), and the mode's own check passed as an argument (e.g. the monthly share). Nothing is
  taken when any of them refuses;
- `write_taking`: a first-come booking on PostgreSQL where a household holds one space: the
  counter taken, and the booking (already holding), its audit and its notices written, by one
  statement, so the lock is held for the rest of it and the commit only;
- `take_space_last`: the same rules for a first-come booking elsewhere, whose row, audit and
  notices are already written (as waiting): the window's counter and the move into a holding
  status are the last two statements before the commit.

The one lock order (docs/architecture.md): the window row first, then the holding entries of its
bookings (the unique partial indexes). A booking only ever enters a holding status under its
window's lock: a promotion, a draw, a monthly night and `take_space` write it after the lock;
`write_taking` writes it in the statement that takes the lock, after the counter;
`take_space_last` writes the row before the lock in a status no unique index covers (waiting) and
moves it into holding under the lock, as a promotion does.

Every function flushes; the caller commits."""

from __future__ import annotations

import enum
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from parking import plates
from parking.audit.services import record, snapshot
from parking.auth.models import User
from parking.bookings import writing
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.catalogue import CLOSED_CAUSES
from parking.database import AsLoaded
from parking.errors import (
    BookingClosed,
    DomainError,
    DuplicateBooking,
    Forbidden,
    HouseholdNotVerified,
    InvalidPlate,
    PlateNotVerified,
    Suspended,
    WindowFull,
)
from parking.extensions import db
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.notifications.services import notify
from parking.windows.locking import lock_window
from parking.windows.models import Garage, Window, WindowState

AUDITED = ("status", "slot", "priority", "late_cancel")

# Built once with bound parameters: building a statement and its cache key on every request cost
# about as much CPU as running it (docs/benchmarks.md).
# The household's car with the plate (unique per household), as both reads of a car find it.
# In Core (the table's columns, not the mapped attributes): a statement that names a mapped
# attribute goes through the ORM, which sets up each of its columns again on every execution.
_VEHICLES = Vehicle.__table__
_THE_CAR = sa.and_(_VEHICLES.c.household_id == sa.bindparam("household_id"), _VEHICLES.c.plate == sa.bindparam("plate"))
# The two columns eligibility reads, not the vehicle object.
_VEHICLE = sa.select(_VEHICLES.c.id, _VEHICLES.c.state).where(_THE_CAR)


# The night a booking asks for and, in the same statement, the car: an outer join, so that an
# unknown car still brings the night, whose refusals come first.
@functools.cache
def _window_and_car() -> tuple[AsLoaded[Window], sa.Select[Any]]:
    """In Core, the window made from the row (`AsLoaded`): the ORM's loaders of its columns cost
    more than the statement. Built on first use (the mappers are configured by then)."""
    windows = AsLoaded(Window)
    statement = (
        sa.select(*windows.selected, _VEHICLES.c.id.label("car_id"), _VEHICLES.c.state.label("car_state"))
        .select_from(Window.__table__.outerjoin(_VEHICLES, _THE_CAR))
        .where(Window.__table__.c.id == sa.bindparam("window_id"))
    )
    return windows, statement


_WINDOWS_TABLE = cast(sa.Table, Window.__table__)


def _taking(window_id: str) -> sa.Update:
    """The taking of a space, written once: the window's counter up by one, which takes the
    window's lock with the increment itself, where a space is left and the night is not cancelled;
    no row otherwise. `window_id` names the window's parameter. In Core, its constants written
    into the SQL (a prepared statement's generic plan)."""
    windows = _WINDOWS_TABLE.c
    return (
        sa.update(_WINDOWS_TABLE)
        .where(
            windows.id == sa.bindparam(window_id),
            windows.booked < windows.quota,
            windows.state != sa.literal_column(f"'{WindowState.CANCELLED.value}'"),
        )
        .values(booked=windows.booked + sa.literal_column("1"))
        .returning(windows.booked)
    )


_TAKE_SPACE = _taking("window_id")
_GIVE_BACK_SPACE = (
    sa.update(Window)
    .where(Window.id == sa.bindparam("window_id"))
    .values(booked=Window.booked - 1)
    .returning(Window.booked)
)
_HELD = Booking.__table__.alias("held")  # a table's alias: in Core, the statements below stay out of the ORM


def _in_the_way(slot: sa.ColumnElement[int] | None, exclude: sa.ColumnElement[int] | None) -> sa.ColumnElement[bool]:
    """A booking of the window (`held_window_id`) stands in the way of the household's
    (`held_household_id`) plate (`held_plate`) holding a space: a booking that holds a space has
    the plate, or the household's slot (any of its slots where `slot` is None), or the household's
    same plate waits already (but the booking `exclude`): the refusals of `household_slot`, which
    then says which. Three EXISTS, each one look-up in its index (one EXISTS of their OR read every
    holding booking of the window), with the statuses written into the SQL, so that a prepared
    statement's generic plan can use the partial unique indexes."""
    held = _HELD.c
    window = held.window_id == sa.bindparam("held_window_id")
    holding = held.status.in_([sa.literal_column(f"'{status.value}'") for status in SPACE_HOLDING])
    plate = held.plate == sa.bindparam("held_plate")
    household = held.household_id == sa.bindparam("held_household_id")
    waiting = [window, held.status == sa.literal_column(f"'{BookingStatus.WAITLISTED.value}'"), plate, household]
    return sa.or_(
        sa.exists().where(window, holding, plate),
        sa.exists().where(window, holding, household if slot is None else sa.and_(household, held.slot == slot)),
        sa.exists().where(*waiting, *([] if exclude is None else [held.id != exclude])),
    )


# A booking written as waiting moves into holding with its slot, unless a booking of the window
# stands in its way: under the window's lock this read is exact (every holding entry of the window
# is written under that lock), so the unique indexes behind it only stand guard and the
# transaction is never left in error.
_HOLD = (
    sa.update(Booking)
    .where(Booking.id == sa.bindparam("booking_id"), ~_in_the_way(sa.bindparam("new_slot"), sa.bindparam("booking_id")))
    .values(status=BookingStatus.CONFIRMED, slot=sa.bindparam("new_slot"))
    .returning(Booking.id)
    .execution_options(synchronize_session=False)
)
# PostgreSQL, where a household holds one space: the counter is taken, and the booking, its audit
# event and its notices written, in one statement (`writing.Gate`), so the window's lock is held for
# the rest of that statement and the commit, and the booking's row is written once, already
# holding. Its reads of the window's bookings are of the statement's start (before the wait for the
# lock), so a booking of the same household committed during the wait meets the unique indexes
# instead: with a limit of 1 that is the right refusal (DuplicateBooking, by
# errors.integrity_conflict), while with more a slot would be refused that another could take, so
# a larger limit (and SQLite, which allows no insert inside `WITH`) goes by `take_space_last`.
# Its constants are written into the SQL and its parameters named apart from the bookings' columns
# (a parameter named like a column of an UPDATE's table becomes a SET of that column).
_TAKEN = _taking("taken_window_id").cte("taken")
_FIRST_COME = writing.Gate(_TAKEN, "booked", _in_the_way(None, None))
# The window's bookings of this plate or this household that hold a space or wait for one.
_RELATED = sa.select(Booking.id, Booking.plate, Booking.household_id, Booking.status, Booking.slot).where(
    Booking.window_id == sa.bindparam("window_id"),
    sa.or_(Booking.plate == sa.bindparam("plate"), Booking.household_id == sa.bindparam("household_id")),
    Booking.status.in_((*SPACE_HOLDING, BookingStatus.WAITLISTED)),
)


# -- who may book --------------------------------------------------------------------------------------


def eligible_household(household: Household | None, now: datetime) -> Household:
    """The household, if it may book now: verified and not suspended."""
    if household is None or household.state != HouseholdState.VERIFIED:
        raise HouseholdNotVerified()
    if household.is_suspended(now):
        raise Suspended(details={"suspended_until": household.suspended_until.isoformat()})  # type: ignore[union-attr]  # a suspended household has suspended_until
    return household


def eligible_plate(raw_plate: str) -> str:
    plate = plates.parse(raw_plate)
    if plate is None:
        raise InvalidPlate(errors={"plate": ["not a valid Chinese plate"]})
    return plate


@dataclass(frozen=True)
class Car:
    """A household's verified vehicle as a booking needs it: its id and its normalised plate."""

    id: int
    plate: str


def verified_car(car_id: int | None, state: VehicleState | None, plate: str) -> Car:
    """The car as a booking needs it, if the household has it verified: the one rule for every
    read of it (`eligible_vehicle`, `night_and_car`)."""
    if car_id is None or state != VehicleState.VERIFIED:
        raise PlateNotVerified()
    return Car(car_id, plate)


def eligible_vehicle(household: Household, plate: str) -> Car:
    """The household's verified vehicle with this (normalised) plate."""
    found = db.session.execute(_VEHICLE, {"household_id": household.id, "plate": plate}).first()
    return verified_car(found.id if found else None, found.state if found else None, plate)


@dataclass(frozen=True)
class NightAndCar:
    """A booking's night and, read in the same statement, the household's car with the plate (its
    id and state, None when the household has no such car): `car()` applies the car's rule when
    the night's refusals have had their turn."""

    window: Window | None
    car_id: int | None
    car_state: VehicleState | None
    plate: str

    def car(self) -> Car:
        return verified_car(self.car_id, self.car_state, self.plate)


def night_and_car(window_id: int, household_id: int, plate: str) -> NightAndCar:
    """The window and the household's car with the plate, in one round trip instead of two."""
    params = {"window_id": window_id, "household_id": household_id, "plate": plate}
    windows, statement = _window_and_car()
    row = db.session.execute(statement, params).first()
    if row is None:
        return NightAndCar(None, None, None, plate)
    car_id, car_state = row[-2:]
    return NightAndCar(windows.adopt(db.session(), row, 0), car_id, car_state, plate)


def eligible(household: Household | None, raw_plate: str, now: datetime) -> tuple[Household, Car]:
    """The eligibility of a household and a vehicle, in the order the refusals are reported."""
    household = eligible_household(household, now)
    return household, eligible_vehicle(household, eligible_plate(raw_plate))


def member_ids(household_id: int) -> list[int]:
    return list(db.session.scalars(writing.MEMBERS, {"household_id": household_id}))


# -- what a night offers ---------------------------------------------------------------------------


class Offer(enum.StrEnum):
    CLOSED = "closed"  # the station closed the night
    NO_QUOTA = "no_quota"  # the station set the night's quota to 0: no space, and no waitlist to wait on
    BOOKING_OVER = "booking_over"  # too late to book it
    DRAW = "draw"  # a ballot night taking requests
    AWAITS_DRAW = "awaits_draw"  # a ballot night whose draw is due: nobody is confirmed before it
    FREE = "free"
    FULL = "full"


@dataclass(frozen=True)
class Availability:
    offer: Offer
    spaces: int  # free spaces by the counter (0 when closed or over); a due draw frees none by itself


def booking_open(window: Window, garage: Garage, now: datetime) -> bool:
    return window.state != WindowState.CANCELLED and now < window.opens_at + timedelta(
        minutes=garage.booking_cutoff_minutes
    )


def availability(window: Window, garage: Garage, now: datetime) -> Availability:
    """What the night offers now, from the window as read (the lock re-decides what it must)."""
    if window.state == WindowState.CANCELLED:
        return Availability(Offer.CLOSED, 0)
    if not booking_open(window, garage, now):
        return Availability(Offer.BOOKING_OVER, 0)
    if window.quota <= 0:
        return Availability(Offer.NO_QUOTA, 0)
    free = window.available
    if window.awaits_draw:
        closes = window.ballot_closes_at
        return Availability(Offer.DRAW if closes is not None and now < closes else Offer.AWAITS_DRAW, free)
    return Availability(Offer.FREE if free else Offer.FULL, free)


#: The offers that take nothing, not even a waitlist entry: `booking_closed` with the offer as
#: `details.cause` (closed, no_quota, booking_over).
REFUSING = (Offer.CLOSED, Offer.NO_QUOTA, Offer.BOOKING_OVER)


def booking_closed(offer: Offer) -> BookingClosed:
    """The refusal of a night that takes nothing, naming its cause."""
    return BookingClosed(CLOSED_CAUSES[offer.value], details={"cause": offer.value})


def check_window(window: Window, household: Household, now: datetime) -> None:
    """The household may book on this window now: its garage's, booking has not closed, and the
    night has a quota (a night cut to 0 takes no waitlist entry either)."""
    if window.garage_id != household.garage_id:
        raise Forbidden(reason="wrong_garage")
    offer = availability(window, household.garage, now).offer
    if offer in REFUSING:
        raise booking_closed(offer)


# -- taking a space --------------------------------------------------------------------------------

#: A mode's own check on the locked window (e.g. the monthly share): it raises its refusal.
ModeCheck = Callable[[Window], None]


def household_slot(window: Window, household_id: int, plate: str, limit: int, *, exclude: int | None = None) -> int:
    """The household's free slot for this plate, or DuplicateBooking when the plate holds a space,
    the household's same plate waits already, or the household holds its limit. `exclude` is the
    booking being admitted (a promotion, a draw, a first-come booking written first). Exact under
    the window's lock; read before it (`take_space_last`'s caller) it is what was committed then,
    and the move into holding decides again under the lock."""
    related = [
        r
        for r in db.session.execute(_RELATED, {"window_id": window.id, "plate": plate, "household_id": household_id})
        if r.id != exclude
    ]
    if any(r.plate == plate and r.status in SPACE_HOLDING for r in related):
        raise DuplicateBooking()
    if any(
        r.plate == plate and r.household_id == household_id and r.status == BookingStatus.WAITLISTED for r in related
    ):
        raise DuplicateBooking()
    used = {r.slot for r in related if r.household_id == household_id and r.status in SPACE_HOLDING}
    slot = next((n for n in range(1, limit + 1) if n not in used), None)
    if slot is None:
        raise DuplicateBooking(details={"limit": limit})
    return slot


def take_space(
    window: Window,
    household: Household,
    plate: str,
    now: datetime,
    *,
    check: ModeCheck | None = None,
    exclude: int | None = None,
) -> tuple[Window, int]:
    """Take one space of the window for the household's plate: (the locked window, the household
    slot). The increment takes the window's lock (one statement); when the window is full or
    closed nothing is taken (WindowFull, BookingClosed). Under the lock the window is checked
    again, then the mode's check, the plate and the household limit; a refusal gives the space
    back before it is raised."""
    booked = db.session.execute(_TAKE_SPACE, {"window_id": window.id}).scalar_one_or_none()
    if booked is None:
        raise not_taken(window)
    set_committed_value(window, "booked", booked)
    try:
        check_window(window, household, now)  # a manager may have closed it meanwhile
        if check is not None:
            check(window)
        slot = household_slot(window, household.id, plate, household.garage.bookings_per_household, exclude=exclude)
    except DomainError:
        give_back_space(window)
        raise
    return window, slot


def not_taken(window: Window) -> DomainError:
    """Why the counter took no space: the window closed, cut to 0, or full (read again)."""
    db.session.refresh(window, ["booked", "quota", "state"])
    if window.state == WindowState.CANCELLED:
        return booking_closed(Offer.CLOSED)
    if window.quota <= 0:
        return booking_closed(Offer.NO_QUOTA)
    return WindowFull(details={"quota": window.quota, "booked": window.booked})


def take_space_last(booking: Booking, window: Window, household: Household) -> int:
    """Take one space of the window for a booking already written as waiting, with its slot chosen
    from an unlocked read (`household_slot`), and hold it: the household slot it holds. The
    counter's increment takes the window's lock (WindowFull, BookingClosed when it takes nothing),
    then the booking moves into holding unless its plate or slot was taken meanwhile; if it was,
    the slot is decided again under the lock (DuplicateBooking when the plate holds a space or the
    household its limit) and the move tried once more.

    Called last before the commit: a refusal leaves the space taken and the rows written, and the
    caller's unit of work (or its savepoint) rolls them back, as it does with every refusal. The
    window's other checks need no lock: its garage and instants do not change, and a window
    closed or cut meanwhile is refused by the counter."""
    slot = booking.slot
    params = {
        "booking_id": booking.id,
        "held_window_id": window.id,
        "held_plate": booking.plate,
        "held_household_id": household.id,
    }
    booked = db.session.execute(_TAKE_SPACE, {"window_id": window.id}).scalar_one_or_none()
    if booked is None:
        raise not_taken(window)
    set_committed_value(window, "booked", booked)
    if db.session.execute(_HOLD, {**params, "new_slot": slot}).first() is None:
        slot = household_slot(
            window, household.id, booking.plate, household.garage.bookings_per_household, exclude=booking.id
        )
        if db.session.execute(_HOLD, {**params, "new_slot": slot}).first() is None:
            raise DuplicateBooking()
    set_committed_value(booking, "status", BookingStatus.CONFIRMED)
    set_committed_value(booking, "slot", slot)
    assert slot is not None  # hold() gave the booking its slot
    return slot


def takes_with_its_writing(household: Household) -> bool:
    """A first-come booking of the household takes its space in the statement that writes it
    (`write_taking`): on PostgreSQL, where a household holds one space."""
    return household.garage.bookings_per_household == 1 and db.session.get_bind().dialect.name == "postgresql"


def write_taking(booking: Booking, window: Window, household: Household, actor: User | None, now: datetime) -> Booking:
    """Write a first-come booking (built holding, with its pass: `hold`), its audit event and its
    notices in the statement that takes the window's space (`_FIRST_COME`), where
    `takes_with_its_writing`: the booking in the session. Nothing is written when the window is
    full or closed (WindowFull, BookingClosed) or a booking of the window stands in the way
    (DuplicateBooking, its reason read under the lock); the space then taken is given back by the
    caller's rollback, as with every refusal."""
    gate = {
        "taken_window_id": window.id,
        "held_window_id": window.id,
        "held_plate": booking.plate,
        "held_household_id": household.id,
    }
    written = writing.write_new(
        booking,
        actor,
        "booking.confirmed",
        now,
        after=snapshot(booking, *AUDITED),
        notice="booking_confirmed",
        params=notice_params(booking, window),
        behind=(_FIRST_COME, gate),
    )
    if written.taken is None:
        raise not_taken(window)
    set_committed_value(window, "booked", written.taken)
    if written.booking is None:
        household_slot(window, household.id, booking.plate, 1)  # says which booking is in the way
        raise DuplicateBooking()
    set_committed_value(written.booking, "window", window)  # what its pass and its answer read
    return written.booking


def waitlist_place(window_id: int, household: Household, plate: str, now: datetime) -> Window:
    """The locked window, where the household's plate may wait for a space (same rules as
    `take_space`, without taking one)."""
    window = lock_window(window_id)
    assert window is not None  # windows are never deleted while bookings point at them
    check_window(window, household, now)
    household_slot(window, household.id, plate, household.garage.bookings_per_household)
    return window


def give_back_space(window: Window) -> None:
    """One space fewer held on the locked window; relative, so the CHECK judges the database's value."""
    booked = db.session.execute(_GIVE_BACK_SPACE, {"window_id": window.id}).scalar_one()
    set_committed_value(window, "booked", booked)


#: The bytes of a pass's random nonce (the token's claim; `parking.passes.offline` reads it).
PASS_NONCE_BYTES = 8


def pass_validity(window: Window, garage: Garage) -> tuple[datetime, datetime]:
    """[not_before, not_after) of a night's pass: the window with the early-entry and exit graces."""
    return (
        window.opens_at - timedelta(minutes=garage.early_entry_minutes),
        window.closes_at + timedelta(minutes=garage.exit_grace_minutes),
    )


def hold(booking: Booking, window: Window, slot: int, at: datetime) -> None:
    """The booking holds the space just taken for it (`take_space`) from `at`, and its pass is
    written with it: the nonce and the validity its token carries when shown. The caller sets
    the status (a new booking is made confirmed; a promotion or a draw audits the change)."""
    booking.slot = slot
    booking.confirmed_at = at
    if booking.pass_nonce is None:
        booking.pass_nonce = secrets.token_bytes(PASS_NONCE_BYTES)
    booking.pass_not_before, booking.pass_not_after = pass_validity(window, window.garage)


# -- bookings and their changes ----------------------------------------------------------------------


def new_booking(
    actor: User | None,
    household: Household,
    window: Window,
    vehicle: Car,
    status: BookingStatus,
    now: datetime,
    *,
    subscription_id: int | None = None,
) -> Booking:
    """A booking of the household (not yet added); a bumped household's priority goes with a
    request of its own (not with a monthly night)."""
    priority = household.waitlist_priority and subscription_id is None
    booking = Booking(
        window_id=window.id,
        garage_id=window.garage_id,
        household_id=household.id,
        vehicle_id=vehicle.id,
        plate=vehicle.plate,
        status=status,
        priority=priority,
        late_cancel=False,
        inside=False,
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
        updated_at=now,
        subscription_id=subscription_id,
    )
    if priority:
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


def notice_params(booking: Booking, window: Window, extra: dict | None = None) -> dict:
    """What a notice about a booking says: its plate and its night (and the kind's own values)."""
    return {"plate": booking.plate, "date": window.service_date.isoformat(), **(extra or {})}


def write_booking(
    booking: Booking,
    window: Window,
    actor: User | None,
    action: str,
    now: datetime,
    *,
    notice: str | None,
    extra: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
) -> tuple[Booking, int]:
    """Write a new booking (`new_booking`, not added) with its audit event `action` and, with a
    `notice` kind, its household's notices (`parking.bookings.writing`): (the booking in the
    session, the audit event's id). `after` overrides the audited values read from the booking."""
    written = writing.write_new(
        booking,
        actor,
        action,
        now,
        after={**snapshot(booking, *AUDITED), **(after or {})},
        notice=notice,
        params=notice_params(booking, window, extra),
        reason=reason,
    )
    assert written.booking is not None and written.event_id is not None  # no gate: always written
    set_committed_value(written.booking, "window", window)  # what its pass and its answer read
    return written.booking, written.event_id


def notify_household(
    booking: Booking,
    kind: str,
    now: datetime,
    *,
    dedupe: bool = False,
    extra: dict | None = None,
) -> None:
    notify(
        member_ids(booking.household_id),
        kind,
        notice_params(booking, booking.window, extra),
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
        give_back_space(window)
