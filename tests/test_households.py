from __future__ import annotations

from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.notifications.models import Notification


def test_resident_registers_a_household_adds_a_member_and_a_plate_and_a_manager_verifies(client, factory, db):
    garage = factory.garage()
    manager = factory.manager(garage)
    resident = factory.user()
    spouse = factory.user()
    h = factory.headers(resident)

    created = client.post(
        "/api/v1/households",
        json={"garage_id": garage.id, "building": "12号楼", "unit": "3单元", "room": "402"},
        headers=h,
    )
    assert created.status_code == 201, created.json
    assert created.json["state"] == "pending"
    household_id = created.json["id"]
    assert [m["id"] for m in created.json["members"]] == [resident.id]

    added = client.post(f"/api/v1/households/{household_id}/members", json={"phone": spouse.phone}, headers=h)
    assert added.status_code == 201
    vehicle = client.post(f"/api/v1/households/{household_id}/vehicles", json={"plate": "沪a·d12345"}, headers=h)
    assert vehicle.status_code == 201
    assert vehicle.json["plate"] == "沪AD12345"
    assert vehicle.json["state"] == "pending"
    assert vehicle.json["new_energy"] is True

    queue = client.get("/api/v1/households?state=pending", headers=factory.headers(manager))
    assert [row["id"] for row in queue.json] == [household_id]
    verified = client.post(
        f"/api/v1/households/{household_id}/verify", json={"decision": "verified"}, headers=factory.headers(manager)
    )
    assert verified.json["state"] == "verified"
    plate_ok = client.post(f"/api/v1/vehicles/{vehicle.json['id']}/verify", json={}, headers=factory.headers(manager))
    assert plate_ok.json["state"] == "verified"

    detail = client.get(f"/api/v1/households/{household_id}", headers=factory.headers(spouse))
    assert detail.status_code == 200
    assert detail.json["strikes"] == 0
    assert detail.json["suspended_until"] is None
    assert {m["id"] for m in detail.json["members"]} == {resident.id, spouse.id}
    kinds = db.session.scalars(db.select(Notification.kind).where(Notification.user_id == spouse.id)).all()
    assert "household_verified" in kinds


def test_invalid_plate_gets_422_and_changes_nothing(client, factory, db):
    garage = factory.garage()
    household = factory.household(garage, plates=0)
    response = client.post(
        f"/api/v1/households/{household.id}/vehicles",
        json={"plate": "ABC-123"},
        headers=factory.headers(household.members[0]),
    )
    assert (response.status_code, response.json["error"]) == (422, "invalid_plate")
    assert db.session.scalar(db.select(Vehicle).where(Vehicle.household_id == household.id)) is None


def test_only_a_manager_of_that_garage_verifies(client, factory, db):
    garage, other = factory.garage(), factory.garage()
    household = factory.household(garage, state=HouseholdState.PENDING)
    other_manager = factory.manager(other)
    attendant = factory.attendant(garage)
    body = {"decision": "verified"}
    assert client.post(
        f"/api/v1/households/{household.id}/verify", json=body, headers=factory.headers(other_manager)
    ).status_code in (403, 404)
    assert (
        client.post(
            f"/api/v1/households/{household.id}/verify", json=body, headers=factory.headers(attendant)
        ).status_code
        == 403
    )
    assert client.post(
        f"/api/v1/households/{household.id}/verify", json=body, headers=factory.headers(household.members[0])
    ).status_code in (403, 404)
    assert db.session.get(Household, household.id).state == HouseholdState.PENDING
    queue = client.get("/api/v1/households?state=pending", headers=factory.headers(other_manager))
    assert queue.json == []


def test_strangers_cannot_see_or_change_a_household(client, factory):
    garage = factory.garage()
    household = factory.household(garage)
    stranger = factory.user()
    h = factory.headers(stranger)
    assert client.get(f"/api/v1/households/{household.id}", headers=h).status_code == 404
    assert (
        client.post(f"/api/v1/households/{household.id}/vehicles", json={"plate": "沪B12345"}, headers=h).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/households/{household.id}/members", json={"phone": stranger.phone}, headers=h).status_code
        == 404
    )


def test_an_address_is_registered_once_and_a_resident_joins_one_household(client, factory):
    garage = factory.garage()
    first, second = factory.user(), factory.user()
    body = {"garage_id": garage.id, "building": "1", "unit": "1", "room": "101"}
    assert client.post("/api/v1/households", json=body, headers=factory.headers(first)).status_code == 201
    again = client.post("/api/v1/households", json=body, headers=factory.headers(second))
    assert (again.status_code, again.json["error"]) == (409, "household_exists")
    twice = client.post("/api/v1/households", json={**body, "room": "102"}, headers=factory.headers(first))
    assert (twice.status_code, twice.json["error"]) == (409, "already_in_household")


def test_rejected_vehicle_cannot_be_booked(client, factory, db):
    window = factory.window()
    manager = factory.manager(window.garage)
    household = factory.household(window.garage)
    vehicle = household.vehicles[0]
    vehicle.state = VehicleState.PENDING
    db.session.commit()
    client.post(
        f"/api/v1/vehicles/{vehicle.id}/verify", json={"decision": "rejected"}, headers=factory.headers(manager)
    )
    response = client.post(
        "/api/v1/bookings",
        json={"window_id": window.id, "plate": vehicle.plate},
        headers=factory.headers(household.members[0]),
    )
    assert response.json["error"] == "plate_not_verified"


def test_queue_and_bookings_filter_by_ids_given_in_the_query_string(client, factory):
    window = factory.window(quota=3)
    other = factory.window(quota=3)
    manager = factory.manager(window.garage)
    factory.household(window.garage, state=HouseholdState.PENDING)
    booking = factory.booking(window)
    h = factory.headers(manager)
    queue = client.get(f"/api/v1/households?state=pending&garage_id={window.garage_id}", headers=h)
    assert queue.status_code == 200 and len(queue.json) == 1
    rows = client.get(f"/api/v1/bookings?window_id={window.id}&status=confirmed", headers=h)
    assert [r["id"] for r in rows.json] == [booking.id]
    assert client.get(f"/api/v1/bookings?window_id={other.id}", headers=h).json == []
