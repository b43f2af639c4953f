"""Households, members and vehicles, verified by a manager of the household's garage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from parking import plates
from parking.audit.services import record, snapshot
from parking.auth.models import Role, User
from parking.catalogue import ADDRESS_MESSAGES
from parking.errors import Conflict, Forbidden, InvalidPlate, NotFound, PlateHeldElsewhere, Unprocessable
from parking.extensions import db
from parking.households import addresses
from parking.households.addresses import AddressError, AddressList
from parking.households.models import (
    GarageAddressList,
    Household,
    HouseholdState,
    Strike,
    Vehicle,
    VehicleState,
)
from parking.notifications.services import notify
from parking.windows.services import get_garage

ADDRESS_FIELDS = ("building", "unit", "room", "state", "state_reason", "previous_reason")


def _is_manager(actor: User, garage_id: int) -> bool:
    return actor.is_staff_of(garage_id, Role.MANAGER)


@dataclass(frozen=True)
class MemberView:
    """A member as a reader of the household sees them: an attendant sees neither name nor phone."""

    id: int
    name: str | None
    phone: str | None


def members_seen_by(actor: User, household: Household) -> list[MemberView]:
    """Only who needs it sees it: the household's own members and the managers of its garage see
    the members' names and phone numbers; an attendant (address, state and plates) sees neither."""
    full = actor.household_id == household.id or _is_manager(actor, household.garage_id)
    return [MemberView(m.id, m.name if full else None, m.phone if full else None) for m in household.members]


def get_visible(actor: User, household_id: int) -> Household:
    household = db.session.get(Household, household_id)
    if household is None or not (actor.household_id == household.id or actor.is_staff_of(household.garage_id)):
        raise NotFound()
    return household


def create(actor: User, garage_id: int, building: str, unit: str, room: str, now: datetime) -> Household:
    if actor.role != Role.RESIDENT:
        raise Forbidden(reason="residents_only")
    if actor.household_id is not None:
        raise Conflict(reason="already_in_household", details={"household_id": actor.household_id})
    get_garage(garage_id)
    building, unit, room = check_address(garage_id, building, unit, room)
    _refuse_taken(garage_id, building, unit, room, None)
    household = Household(
        garage_id=garage_id, building=building, unit=unit, room=room, state=HouseholdState.PENDING, created_at=now
    )
    db.session.add(household)
    db.session.flush()
    actor.household_id = household.id
    record(
        actor, "household.created", household, after=snapshot(household, "building", "unit", "room", "state"), at=now
    )
    return household


def _same_address(stored: tuple[str, str, str], address: tuple[str, str, str]) -> bool:
    try:
        return addresses.normalise_address(*stored) == address
    except AddressError:
        return False


def _refuse_taken(garage_id: int, building: str, unit: str, room: str, household_id: int | None) -> None:
    """409 when another household of the garage has this address, also where that household's
    address was stored as typed before addresses were normalised ("12号楼" is building 12)."""
    # Any stored room that normalises to `room` contains it, in upper case ("402室", "0402").
    stmt = db.select(Household.building, Household.unit, Household.room).where(
        Household.garage_id == garage_id, sa.func.upper(Household.room).contains(room, autoescape=True)
    )
    if household_id is not None:
        stmt = stmt.where(Household.id != household_id)
    address = (building, unit, room)
    if any(tuple(row) == address or _same_address(tuple(row), address) for row in db.session.execute(stmt)):
        # The address is registered: the existing member adds this person (POST …/members).
        raise Conflict(reason="household_exists")


# -- addresses ------------------------------------------------------------------------------------


def _as_text(errors: dict) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in errors.items()}


def address_list(garage_id: int) -> AddressList | None:
    """The garage's list of addresses, or None where its manager has entered none."""
    row = db.session.get(GarageAddressList, garage_id)
    if row is None:
        return None
    try:
        return addresses.parse_spec(row.spec)
    except AddressError:  # saved lists were checked; a list the rules now refuse offers nothing
        return AddressList(spec=row.spec)


def check_address(garage_id: int, building: str, unit: str, room: str) -> tuple[str, str, str]:
    """The address as stored, or 422: each part normalised and, where the garage has a list, one
    of its addresses."""
    try:
        address = addresses.normalise_address(building, unit, room)
    except AddressError as exc:
        raise Unprocessable(reason="validation_error", errors=_as_text(exc.errors))
    listed = address_list(garage_id)
    if listed is not None and not listed.allows(*address):
        message = str(ADDRESS_MESSAGES["not_in_list"])
        raise Unprocessable(reason="address_not_in_list", errors={listed.first_wrong(*address): [message]})
    return address


def set_address_list(actor: User, garage_id: int, spec: str, now: datetime, *, dry_run: bool = False) -> AddressList:
    """Enter (or with an empty text, remove) the garage's list of addresses. Households already
    registered keep their address. With `dry_run`, only check it and count."""
    get_garage(garage_id)
    if not _is_manager(actor, garage_id):
        raise Forbidden()
    try:
        parsed = addresses.parse_spec(spec)
    except AddressError as exc:
        raise Unprocessable(reason="validation_error", errors=_as_text(exc.errors))
    if dry_run:
        return parsed
    row = db.session.get(GarageAddressList, garage_id)
    before = {"spec": row.spec, "addresses": row.addresses} if row is not None else None
    if not parsed.blocks:
        if row is not None:
            record(actor, "address_list.removed", row, before=before, garage_id=garage_id, at=now)
            db.session.delete(row)
        return parsed
    if row is None:
        row = GarageAddressList(garage_id=garage_id, spec=parsed.spec, addresses=parsed.count, updated_at=now)
        db.session.add(row)
    else:
        row.spec, row.addresses, row.updated_at = parsed.spec, parsed.count, now
    db.session.flush()
    record(
        actor,
        "address_list.saved",
        row,
        before=before,
        after={"spec": row.spec, "addresses": row.addresses},
        garage_id=garage_id,
        at=now,
    )
    return parsed


# -- a rejected household finds its way back ------------------------------------------------------


def resubmit(actor: User, household_id: int, building: str, unit: str, room: str, now: datetime) -> Household:
    """A member corrects the address of a rejected household and sends it again: pending, with
    the manager's earlier reason kept for the manager to see."""
    household = get_visible(actor, household_id)
    if actor.household_id != household.id:
        raise Forbidden()
    if household.state != HouseholdState.REJECTED:
        raise Conflict(reason="not_rejected", details={"state": household.state.value})
    building, unit, room = check_address(household.garage_id, building, unit, room)
    _refuse_taken(household.garage_id, building, unit, room, household.id)
    before = snapshot(household, *ADDRESS_FIELDS)
    household.building, household.unit, household.room = building, unit, room
    household.previous_reason = household.state_reason
    household.state_reason = None
    household.state = HouseholdState.PENDING
    household.resubmitted_at = now
    record(
        actor,
        "household.resubmitted",
        household,
        before=before,
        after=snapshot(household, *ADDRESS_FIELDS),
        at=now,
    )
    return household


def reopen(actor: User, household_id: int, reason: str | None, now: datetime) -> Household:
    """A manager takes a rejected household back into the queue (a rejection made in error)."""
    household = db.session.get(Household, household_id)
    if household is None or not actor.is_staff_of(household.garage_id):
        raise NotFound()
    if not _is_manager(actor, household.garage_id):
        raise Forbidden()
    if household.state != HouseholdState.REJECTED:
        raise Conflict(reason="not_rejected", details={"state": household.state.value})
    before = snapshot(household, *ADDRESS_FIELDS)
    household.previous_reason = household.state_reason
    household.state_reason = None
    household.state = HouseholdState.PENDING
    record(
        actor,
        "household.reopened",
        household,
        before=before,
        after=snapshot(household, *ADDRESS_FIELDS),
        reason=reason,
        at=now,
    )
    notify([m.id for m in household.members], "household_reopened", {}, now=now)
    return household


def add_member(actor: User, household_id: int, phone: str, now: datetime) -> User:
    household = get_visible(actor, household_id)
    if actor.household_id != household.id and not _is_manager(actor, household.garage_id):
        raise Forbidden()
    user = db.session.scalar(db.select(User).where(User.phone == phone))
    if user is None:
        raise NotFound(reason="user_not_found")
    if user.role != Role.RESIDENT:
        raise Unprocessable(reason="not_a_resident")
    if user.household_id == household.id:
        raise Conflict(reason="already_member")
    if user.household_id is not None:
        raise Conflict(reason="already_in_household")
    user.household_id = household.id
    record(actor, "household.member_added", household, after={"user_id": user.id}, at=now)
    return user


def verify(actor: User, household_id: int, decision: str, reason: str | None, now: datetime) -> Household:
    household = db.session.get(Household, household_id)
    if household is None or not actor.is_staff_of(household.garage_id):
        raise NotFound()
    if not _is_manager(actor, household.garage_id):
        raise Forbidden()
    before = snapshot(household, "state", "state_reason")
    household.state = HouseholdState.VERIFIED if decision == "verified" else HouseholdState.REJECTED
    household.state_reason = reason
    record(
        actor,
        f"household.{household.state.value}",
        household,
        before=before,
        after=snapshot(household, "state", "state_reason"),
        reason=reason,
        at=now,
    )
    kind = "household_verified" if household.state == HouseholdState.VERIFIED else "household_rejected"
    notify([m.id for m in household.members], kind, {"reason": reason or ""}, now=now)
    return household


def add_vehicle(actor: User, household_id: int, raw_plate: str, now: datetime) -> Vehicle:
    household = get_visible(actor, household_id)
    if actor.household_id != household.id and not _is_manager(actor, household.garage_id):
        raise Forbidden()
    plate = plates.parse(raw_plate)
    if plate is None:
        raise InvalidPlate(errors={"plate": ["not a valid Chinese plate"]})
    if any(v.plate == plate for v in household.vehicles):
        raise Conflict(reason="duplicate_vehicle")
    vehicle = Vehicle(household_id=household.id, plate=plate, state=VehicleState.PENDING, created_at=now)
    db.session.add(vehicle)
    db.session.flush()
    record(
        actor,
        "vehicle.created",
        vehicle,
        after=snapshot(vehicle, "plate", "state"),
        garage_id=household.garage_id,
        at=now,
    )
    return vehicle


def verify_vehicle(actor: User, vehicle_id: int, decision: str, now: datetime, reason: str | None = None) -> Vehicle:
    vehicle = db.session.get(Vehicle, vehicle_id)
    if vehicle is None or not actor.is_staff_of(vehicle.household.garage_id):
        raise NotFound()
    if not _is_manager(actor, vehicle.household.garage_id):
        raise Forbidden()
    before = snapshot(vehicle, "state")
    if decision == "verified":
        _take_plate(vehicle)
    else:
        vehicle.state = VehicleState.REJECTED
    record(
        actor,
        f"vehicle.{vehicle.state.value}",
        vehicle,
        before=before,
        after=snapshot(vehicle, "state"),
        reason=reason,
        garage_id=vehicle.household.garage_id,
        at=now,
    )
    if vehicle.state == VehicleState.VERIFIED:
        notify([m.id for m in vehicle.household.members], "vehicle_verified", {"plate": vehicle.plate}, now=now)
    return vehicle


def address_of(household: Household) -> str:
    return f"{household.building}-{household.unit}-{household.room}"


def _held_elsewhere(holder: Vehicle) -> PlateHeldElsewhere:
    return PlateHeldElsewhere(
        details={
            "vehicle_id": holder.id,
            "household_id": holder.household_id,
            "address": address_of(holder.household),
        }
    )


def plate_holder(vehicle: Vehicle) -> Vehicle | None:
    """The verified vehicle of another household of the garage with the same plate, if any."""
    return db.session.scalar(
        db.select(Vehicle).where(
            Vehicle.garage_id == vehicle.garage_id,
            Vehicle.plate == vehicle.plate,
            Vehicle.state == VehicleState.VERIFIED,
            Vehicle.id != vehicle.id,
        )
    )


def plate_holders(vehicles: list[Vehicle]) -> dict[int, Vehicle]:
    """For each vehicle (by id), the other household's verified vehicle holding its plate: the
    clashes the verification queue shows, in one query."""
    if not vehicles:
        return {}
    held = db.session.scalars(
        db.select(Vehicle).where(
            Vehicle.state == VehicleState.VERIFIED,
            sa.tuple_(Vehicle.garage_id, Vehicle.plate).in_(sorted({(v.garage_id, v.plate) for v in vehicles})),
        )
    ).all()
    by_plate = {(v.garage_id, v.plate): v for v in held}
    return {
        v.id: holder
        for v in vehicles
        if (holder := by_plate.get((v.garage_id, v.plate))) is not None and holder.id != v.id
    }


def _take_plate(vehicle: Vehicle) -> None:
    """Verify the plate for its household, unless another household of the garage holds it. The
    unique index decides between two managers verifying at the same moment."""
    holder = plate_holder(vehicle)
    if holder is not None:
        raise _held_elsewhere(holder)
    try:
        with db.session.begin_nested():
            vehicle.state = VehicleState.VERIFIED
    except IntegrityError:
        vehicle.state = VehicleState.PENDING
        holder = plate_holder(vehicle)
        if holder is None:
            raise
        raise _held_elsewhere(holder)


def release_vehicle(actor: User, vehicle_id: int, reason: str, now: datetime) -> Vehicle:
    """A manager takes a verified plate off its household (the car was sold): the plate is free
    for another household. The caller cancels the plate's coming bookings."""
    vehicle = db.session.get(Vehicle, vehicle_id)
    if vehicle is None or not actor.is_staff_of(vehicle.garage_id):
        raise NotFound()
    if not _is_manager(actor, vehicle.garage_id):
        raise Forbidden()
    if vehicle.state != VehicleState.VERIFIED:
        raise Conflict(reason="plate_not_held", details={"state": vehicle.state.value})
    return _release(actor, vehicle, reason, now)


def release_when_left_empty(actor: User, household: Household, now: datetime) -> list[Vehicle]:
    """The household's last member erased their account: its verified plates are free for another
    household (as a manager's release), and its pending ones are not waiting for anyone."""
    released = []
    for vehicle in household.vehicles:
        if vehicle.state in (VehicleState.VERIFIED, VehicleState.PENDING):
            released.append(_release(actor, vehicle, "account erased", now))
    return released


def _release(actor: User, vehicle: Vehicle, reason: str, now: datetime) -> Vehicle:
    before = snapshot(vehicle, "state")
    vehicle.state = VehicleState.RELEASED
    db.session.flush()
    record(
        actor,
        "vehicle.released",
        vehicle,
        before=before,
        after=snapshot(vehicle, "state"),
        reason=reason,
        garage_id=vehicle.garage_id,
        at=now,
    )
    notify(
        [m.id for m in vehicle.household.members],
        "plate_released",
        {"plate": vehicle.plate, "reason": reason},
        now=now,
    )
    return vehicle


def queue(actor: User, state: HouseholdState | None, garage_id: int | None) -> list[Household]:
    if actor.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden()
    stmt = db.select(Household).order_by(Household.created_at, Household.id)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(Household.garage_id.in_(actor.garage_ids or [-1]))
    if garage_id is not None:
        stmt = stmt.where(Household.garage_id == garage_id)
    if state is not None:
        stmt = stmt.where(Household.state == state)
    return list(db.session.scalars(stmt.limit(500)))


def vehicle_queue(actor: User, garage_id: int) -> list[Vehicle]:
    """Plates waiting for a manager of the garage, oldest first (their household may be verified
    already: a new plate of a known household waits here too)."""
    if not _is_manager(actor, garage_id):
        raise Forbidden()
    return list(
        db.session.scalars(
            db.select(Vehicle)
            .join(Household, Household.id == Vehicle.household_id)
            .where(Household.garage_id == garage_id, Vehicle.state == VehicleState.PENDING)
            .order_by(Vehicle.created_at, Vehicle.id)
            .limit(500)
        )
    )


@dataclass(frozen=True)
class PendingCounts:
    households: int
    vehicles: int


def pending_counts(garage_id: int) -> PendingCounts:
    """How many households and plates of the garage wait for verification."""
    households = db.session.scalar(
        db.select(sa.func.count())
        .select_from(Household)
        .where(Household.garage_id == garage_id, Household.state == HouseholdState.PENDING)
    )
    vehicles = db.session.scalar(
        db.select(sa.func.count())
        .select_from(Vehicle)
        .join(Household, Household.id == Vehicle.household_id)
        .where(Household.garage_id == garage_id, Vehicle.state == VehicleState.PENDING)
    )
    return PendingCounts(households or 0, vehicles or 0)


def recent_strikes(household: Household, now: datetime) -> int:
    since = now - timedelta(days=household.garage.strike_window_days)
    return (
        db.session.scalar(
            db.select(sa.func.count())
            .select_from(Strike)
            .where(Strike.household_id == household.id, Strike.at >= since)
        )
        or 0
    )
