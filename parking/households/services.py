"""Households, members and vehicles, verified by a manager of the household's garage."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from parking import plates
from parking.audit.services import record, snapshot
from parking.auth.models import Role, User
from parking.errors import Conflict, Forbidden, InvalidPlate, NotFound, Unprocessable
from parking.extensions import db
from parking.garages.services import get_garage
from parking.households.models import Household, HouseholdState, Strike, Vehicle, VehicleState
from parking.notifications.services import notify


def _is_manager(actor: User, garage_id: int) -> bool:
    return actor.is_staff_of(garage_id, Role.MANAGER)


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
    taken = db.session.scalar(
        db.select(Household.id).where(
            Household.garage_id == garage_id,
            Household.building == building,
            Household.unit == unit,
            Household.room == room,
        )
    )
    if taken:
        # The address is registered: the existing member adds this person (POST …/members).
        raise Conflict(reason="household_exists")
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
    vehicle.state = VehicleState.VERIFIED if decision == "verified" else VehicleState.REJECTED
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


def pending_counts(garage_id: int) -> dict[str, int]:
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
    return {"households": households or 0, "vehicles": vehicles or 0}


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
