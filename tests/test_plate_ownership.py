"""One household per verified plate in a garage: the rule, its database constraint under real
concurrency (threads, SQLite file and PostgreSQL), the release of a plate, and migration 0009's
treatment of clashes that were already there."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from config import TestConfig
from parking import clock, create_app
from parking.audit.models import AuditEvent
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db as _db
from parking.households.models import Vehicle, VehicleState
from parking.notifications.models import Notification
from parking.windows.models import Window
from tests.concurrency_helpers import race
from tests.conftest import FIGURES
from tests.factories import days
from tests.test_migrations import fresh_database

PLATE = "沪AD12345"


def _pending_plate(db, household, plate=PLATE) -> Vehicle:
    vehicle = Vehicle(household_id=household.id, plate=plate, state=VehicleState.PENDING, created_at=clock.now())
    db.session.add(vehicle)
    db.session.commit()
    return vehicle


def test_a_plate_verified_for_one_household_is_refused_for_another_with_where_it_is_held(client, factory, db):
    garage = factory.garage()
    manager = factory.manager(garage)
    holder = factory.household(garage, plates=0)
    newcomer = factory.household(garage, plates=0)
    held = _pending_plate(db, holder)
    wanted = _pending_plate(db, newcomer)
    h = factory.headers(manager)
    assert client.post(f"/api/v1/vehicles/{held.id}/verify", json={}, headers=h).status_code == 200

    refused = client.post(f"/api/v1/vehicles/{wanted.id}/verify", json={}, headers=h)

    assert (refused.status_code, refused.json["error"]) == (409, "plate_held_elsewhere")
    assert refused.json["details"] == {
        "vehicle_id": held.id,
        "household_id": holder.id,
        "address": f"{holder.building}-{holder.unit}-{holder.room}",
    }
    db.session.expire_all()
    assert db.session.get(Vehicle, wanted.id).state == VehicleState.PENDING
    # Rejecting the clashing plate stays possible, and another garage may verify the same plate.
    other_garage = factory.garage()
    elsewhere = _pending_plate(db, factory.household(other_garage, plates=0))
    ok = client.post(
        f"/api/v1/vehicles/{elsewhere.id}/verify", json={}, headers=factory.headers(factory.manager(other_garage))
    )
    assert ok.status_code == 200 and ok.json["state"] == "verified"


def test_the_database_refuses_a_second_verified_plate_in_a_garage(factory, db):
    garage = factory.garage()
    first = factory.household(garage, plates=0)
    second = factory.household(garage, plates=0)
    db.session.add(Vehicle(household_id=first.id, plate=PLATE, state=VehicleState.VERIFIED, created_at=clock.now()))
    db.session.commit()
    db.session.add(Vehicle(household_id=second.id, plate=PLATE, state=VehicleState.VERIFIED, created_at=clock.now()))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Pending, rejected and released rows of the same plate are free to coexist.
    for state in (VehicleState.PENDING, VehicleState.REJECTED):
        db.session.add(
            Vehicle(
                household_id=factory.household(garage, plates=0).id, plate=PLATE, state=state, created_at=clock.now()
            )
        )
    db.session.commit()


def test_two_managers_verifying_the_same_plate_for_two_households_at_once_verify_exactly_one(app, factory, db):
    garage = factory.garage()
    households = [factory.household(garage, plates=0) for _ in range(6)]
    vehicles = [_pending_plate(db, h) for h in households]
    managers = [factory.headers(factory.manager(garage)) for _ in vehicles]

    def attempt(vehicle_id, h):
        return lambda c: c.post(f"/api/v1/vehicles/{vehicle_id}/verify", json={}, headers=h)

    responses = race(app, [attempt(v.id, h) for v, h in zip(vehicles, managers, strict=True)])

    codes = Counter((r.status_code, r.json.get("error") or r.json.get("state")) for r in responses)
    assert codes == {(200, "verified"): 1, (409, "plate_held_elsewhere"): len(vehicles) - 1}, codes
    db.session.expire_all()
    states = Counter(db.session.scalars(sa.select(Vehicle.state).where(Vehicle.plate == PLATE)).all())
    assert states == {VehicleState.VERIFIED: 1, VehicleState.PENDING: len(vehicles) - 1}
    FIGURES.append(f"[{app.config['BACKEND']}] concurrent plate verification: attempts={len(vehicles)} verified=1")


def test_a_manager_releases_a_sold_car_its_coming_bookings_are_cancelled_the_waitlist_moves_and_the_neighbour_gets_it(
    client, factory, db
):
    garage = factory.garage()
    manager = factory.manager(garage)
    tonight = factory.window(garage, quota=1)
    later = factory.window(day=tonight.service_date + days(2), template=tonight.template, quota=5)
    seller = factory.household(garage, plates=0)
    db.session.add(Vehicle(household_id=seller.id, plate=PLATE, state=VehicleState.VERIFIED, created_at=clock.now()))
    db.session.commit()
    member = seller.members[0]
    booked = factory.booking(tonight, user=member, plate=PLATE)
    coming = factory.booking(later, user=member, plate=PLATE)
    waiting_user, waiting_plate = factory.resident(garage)
    waiting = factory.booking(tonight, user=waiting_user, plate=waiting_plate, waitlist=True)
    assert waiting.status == BookingStatus.WAITLISTED
    buyer = factory.household(garage, plates=0)
    wanted = _pending_plate(db, buyer)
    h = factory.headers(manager)
    held = db.session.scalar(sa.select(Vehicle).where(Vehicle.household_id == seller.id))

    refused = client.post(f"/api/v1/vehicles/{held.id}/release", json={}, headers=h)
    assert refused.status_code == 422 and "reason" in refused.json["errors"]
    not_staff = client.post(
        f"/api/v1/vehicles/{held.id}/release", json={"reason": "x"}, headers=factory.headers(member)
    )
    assert not_staff.status_code == 404

    released = client.post(f"/api/v1/vehicles/{held.id}/release", json={"reason": "sold to 2-1-301"}, headers=h)

    assert released.status_code == 200, released.json
    assert released.json["vehicle"]["state"] == "released"
    assert sorted(released.json["cancelled"]) == sorted([booked.id, coming.id])
    db.session.expire_all()
    assert db.session.get(Booking, booked.id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, coming.id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CONFIRMED  # the waitlist moved
    assert db.session.get(Window, tonight.id).booked == 1
    kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == member.id)).all()
    assert "plate_released" in kinds
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "vehicle.released"))
    assert (event.actor_id, event.object_id, event.reason) == (manager.id, held.id, "sold to 2-1-301")
    again = client.post(f"/api/v1/vehicles/{held.id}/release", json={"reason": "again"}, headers=h)
    assert (again.status_code, again.json["error"]) == (409, "plate_not_held")

    verified = client.post(f"/api/v1/vehicles/{wanted.id}/verify", json={}, headers=h)
    assert verified.status_code == 200 and verified.json["state"] == "verified"


def test_the_verification_queue_shows_the_clash_and_offers_the_release(client, factory, db):
    from tests.test_manage_pages import _sign_in

    garage = factory.garage()
    manager = factory.manager(garage)
    holder = factory.household(garage, plates=0)
    db.session.add(Vehicle(household_id=holder.id, plate=PLATE, state=VehicleState.VERIFIED, created_at=clock.now()))
    newcomer = factory.household(garage, plates=0)
    db.session.commit()
    _pending_plate(db, newcomer)
    _sign_in(client, manager)

    page = client.get(f"/manage/verify?garage_id={garage.id}").get_data(as_text=True)

    assert "已登记在另一户" in page
    assert re.search(rf"已登记在另一户：</strong>\s*{holder.building} 号楼 {holder.unit} 单元 {holder.room} 室", page)
    held = db.session.scalar(sa.select(Vehicle).where(Vehicle.household_id == holder.id))
    assert f"/manage/verify/vehicles/{held.id}/release" in page


# -- migration 0009 -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_leaves_the_later_of_two_clashing_verifications_pending_and_audits_it(backend, tmp_path):
    from flask_migrate import upgrade

    url = fresh_database(backend, tmp_path, suffix="plates_migration")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=tmp_path)
    early, late = datetime(2026, 11, 1, 2, 0, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    clock.set_now(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    try:
        with app.app_context():
            upgrade(revision="0005")
            with _db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO garages (id, name, timezone, capacity, horizon_days, booking_cutoff_minutes,"
                        " free_cancel_minutes, early_entry_minutes, no_show_minutes, reminder_minutes,"
                        " exit_grace_minutes, strike_limit, strike_window_days, suspension_days,"
                        " bookings_per_household, ballot_close_hour, created_at)"
                        " VALUES (1, 'G', 'Asia/Shanghai', 10, 14, 120, 0, 15, 180, 30, 15, 3, 30, 14, 1, 12, :at)"
                    ),
                    {"at": early},
                )
                for hid, room in ((1, "101"), (2, "102"), (3, "103")):
                    conn.execute(
                        sa.text(
                            "INSERT INTO households (id, garage_id, building, unit, room, state, waitlist_priority,"
                            " created_at) VALUES (:id, 1, '1号楼', '1', :room, 'verified', false, :at)"
                        ),
                        {"id": hid, "room": room, "at": early},
                    )
                # Vehicle 1 was created first but verified last; vehicle 2 verified first keeps the plate.
                rows = [
                    (1, 1, PLATE, "verified", early),
                    (2, 2, PLATE, "verified", late),
                    (3, 3, "沪B11111", "verified", late),
                ]
                for vid, hid, plate, state, at in rows:
                    conn.execute(
                        sa.text(
                            "INSERT INTO vehicles (id, household_id, plate, state, created_at)"
                            " VALUES (:id, :hid, :plate, :state, :at)"
                        ),
                        {"id": vid, "hid": hid, "plate": plate, "state": state, "at": at},
                    )
                for vid, at in (
                    (1, datetime(2026, 11, 25, 2, 0, tzinfo=UTC)),
                    (2, datetime(2026, 11, 21, 2, 0, tzinfo=UTC)),
                ):
                    conn.execute(
                        sa.text(
                            "INSERT INTO audit_events (at, action, object_type, object_id, garage_id)"
                            " VALUES (:at, 'vehicle.verified', 'vehicle', :id, 1)"
                        ),
                        {"at": at.replace(tzinfo=None) if backend == "sqlite" else at, "id": vid},
                    )

            upgrade()

            with _db.engine.connect() as conn:
                states = dict(conn.execute(sa.text("SELECT id, state FROM vehicles")).all())
                garages = set(conn.execute(sa.text("SELECT garage_id FROM vehicles")).scalars())
                audits = conn.execute(
                    sa.text(
                        "SELECT object_id, actor_id, reason FROM audit_events WHERE action = 'vehicle.clash_pending'"
                    )
                ).all()
                address = conn.execute(sa.text("SELECT building FROM households WHERE id = 1")).scalar()
            _db.engine.dispose()
    finally:
        clock.set_now(None)
    assert states == {1: "pending", 2: "verified", 3: "verified"}
    assert garages == {1}
    assert [(a.object_id, a.actor_id) for a in audits] == [(1, None)] and audits[0].reason
    assert address == "1号楼"  # existing households keep their address as typed
