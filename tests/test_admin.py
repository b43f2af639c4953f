"""Admin endpoints: garages (create, partial change, capacity against quotas, time zone) and their
staff (add by phone, role rules, removal back to resident). Admins only; every change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.auth.models import GarageStaff, Role, User
from parking.garages.services import ensure_windows
from parking.windows.models import Garage, Window
from parking.windows.services import today, window_instants
from tests.concurrency_helpers import race
from tests.manager_helpers import api, assert_error, fresh
from tests.test_bad_input import assert_error_shape, row_counts

RULES = {
    "horizon_days": 7,
    "booking_cutoff_minutes": 60,
    "free_cancel_minutes": 30,
    "early_entry_minutes": 20,
    "no_show_minutes": 150,
    "reminder_minutes": 45,
    "exit_grace_minutes": 10,
    "strike_limit": 4,
    "strike_window_days": 20,
    "suspension_days": 7,
    "bookings_per_household": 2,
    "ballot_close_hour": 11,
    "camera_confidence_threshold": 0.85,
    "monthly_passes_per_household": 2,
    "retention_days": 90,
}
NEW_GARAGE = {"name": "浦东东站地下车库", "timezone": "Asia/Shanghai", "capacity": 120, **RULES}


def audit(db, action):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def staff_rows(db, user_id):
    db.session.expire_all()
    return sorted(db.session.scalars(sa.select(GarageStaff.garage_id).where(GarageStaff.user_id == user_id)))


# --- garages ---------------------------------------------------------------------------------


def test_admin_creates_a_garage_with_its_rules_and_the_creation_is_audited(client, factory, db):
    admin = factory.admin()
    response = api(client, factory, admin, "POST", "/garages", json={**NEW_GARAGE, "address": "浦东南路"})
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["name"], body["timezone"], body["capacity"], body["address"]) == (
        "浦东东站地下车库",
        "Asia/Shanghai",
        120,
        "浦东南路",
    )
    assert body["rules"] == RULES
    garage = fresh(Garage, body["id"])
    assert garage.no_show_minutes == 150 and garage.bookings_per_household == 2
    (event,) = audit(db, "garage.created")
    assert (event.actor_id, event.object_type, event.object_id, event.garage_id) == (
        admin.id,
        "garage",
        garage.id,
        garage.id,
    )
    assert event.before is None
    assert event.after["capacity"] == 120 and event.after["no_show_minutes"] == 150
    assert api(client, factory, admin, "GET", f"/garages/{garage.id}").json["rules"] == RULES
    # Opened with its signing key: showing the garage's first pass writes nothing.
    (key_event,) = audit(db, "pass_key.created")
    assert key_event.garage_id == garage.id


def test_a_new_garage_gets_the_default_rules_and_shanghai_time(client, factory):
    admin = factory.admin()
    response = api(client, factory, admin, "POST", "/garages", json={"name": "Small", "capacity": 10})
    assert response.status_code == 201, response.json
    assert response.json["timezone"] == "Asia/Shanghai"
    rules = response.json["rules"]
    assert (rules["horizon_days"], rules["booking_cutoff_minutes"], rules["no_show_minutes"]) == (14, 120, 180)
    assert (rules["strike_limit"], rules["strike_window_days"], rules["suspension_days"]) == (3, 30, 14)


def test_patch_changes_only_the_fields_sent_and_audits_before_and_after(client, factory, db):
    admin = factory.admin()
    garage = factory.garage(capacity=100)
    old_name = garage.name
    response = api(
        client, factory, admin, "PATCH", f"/garages/{garage.id}", json={"name": "East", "exit_grace_minutes": 25}
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "East" and response.json["rules"]["exit_grace_minutes"] == 25
    after = fresh(Garage, garage.id)
    assert (after.capacity, after.no_show_minutes, after.timezone) == (100, 180, "Asia/Shanghai")
    (event,) = audit(db, "garage.updated")
    assert event.before == {"name": old_name, "exit_grace_minutes": 15}
    assert event.after == {"name": "East", "exit_grace_minutes": 25}


def test_patch_that_changes_nothing_records_nothing(client, factory, db):
    admin = factory.admin()
    garage = factory.garage(capacity=100)
    response = api(client, factory, admin, "PATCH", f"/garages/{garage.id}", json={"capacity": 100})
    assert response.status_code == 200
    assert audit(db, "garage.updated") == []


def test_lowering_capacity_below_a_template_quota_is_refused_and_changes_nothing(client, factory, db):
    admin = factory.admin()
    template = factory.template(factory.garage(capacity=100), default_quota=60)
    before = row_counts()
    response = api(client, factory, admin, "PATCH", f"/garages/{template.garage_id}", json={"capacity": 50})
    body = assert_error(response, 409, "capacity_below_quota")
    assert body["details"]["capacity"] == 50 and body["details"]["highest_quota"] == 60
    assert body["message"] == "这个车库有名额高于新的车位总数，请先把这些名额调低。"
    assert body["details"]["template_ids"] == [template.id]
    assert fresh(Garage, template.garage_id).capacity == 100
    assert row_counts() == before
    ok = api(client, factory, admin, "PATCH", f"/garages/{template.garage_id}", json={"capacity": 60})
    assert ok.status_code == 200 and ok.json["capacity"] == 60


def test_capacity_below_a_live_window_or_an_override_quota_is_refused(client, factory, db):
    admin = factory.admin()
    garage = factory.garage(capacity=100)
    window = factory.window(garage, quota=80)  # the template says 80; lower it so only the window is above
    window.template.default_quota = 20
    db.session.commit()
    body = assert_error(
        api(client, factory, admin, "PATCH", f"/garages/{garage.id}", json={"capacity": 50}),
        409,
        "capacity_below_quota",
    )
    assert (body["details"]["windows"], body["details"]["template_ids"]) == (1, [])

    clock.set_now(window.closes_at + timedelta(hours=1))  # that night is over: it no longer counts
    day = today(garage, clock.now()) + timedelta(days=2)
    override = api(
        client,
        factory,
        factory.manager(garage),
        "POST",
        f"/garages/{garage.id}/overrides",
        json={
            "template_id": window.template_id,
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
            "quota": 70,
            "reason": "event",
        },
    )
    assert override.status_code == 201, override.json
    body = assert_error(
        api(client, factory, admin, "PATCH", f"/garages/{garage.id}", json={"capacity": 50}),
        409,
        "capacity_below_quota",
    )
    assert body["details"]["override_ids"] == [override.json["id"]] and body["details"]["highest_quota"] == 70


def test_a_garage_without_a_capacity_cannot_get_one_below_its_quotas(client, factory):
    admin = factory.admin()
    template = factory.template(factory.garage(capacity=0), default_quota=60)
    response = api(client, factory, admin, "PATCH", f"/garages/{template.garage_id}", json={"capacity": 30})
    assert_error(response, 409, "capacity_below_quota")


def test_changing_the_time_zone_moves_unbooked_nights_to_the_new_local_times(client, factory, db):
    admin = factory.admin()
    window = factory.window(quota=10)
    garage, template = window.garage, window.template
    ensure_windows(garage, window.service_date, window.service_date + timedelta(days=3), clock.now(), [template])
    db.session.commit()
    response = api(client, factory, admin, "PATCH", f"/garages/{garage.id}", json={"timezone": "Asia/Tokyo"})
    assert response.status_code == 200, response.json
    db.session.expire_all()
    moved = db.session.scalars(sa.select(Window).where(Window.template_id == template.id).order_by(Window.service_date))
    for each in moved:
        assert (each.opens_at, each.closes_at) == window_instants(template, each.service_date, "Asia/Tokyo")
    assert fresh(Garage, garage.id).timezone == "Asia/Tokyo"


def test_changing_the_time_zone_under_booked_nights_is_refused(client, factory, db):
    admin = factory.admin()
    window = factory.window(quota=10)
    factory.booking(window)
    opens_at = window.opens_at
    before = row_counts()
    response = api(client, factory, admin, "PATCH", f"/garages/{window.garage_id}", json={"timezone": "Asia/Tokyo"})
    body = assert_error(response, 409, "timezone_has_bookings")
    assert body["details"]["bookings"] == 1
    assert fresh(Garage, window.garage_id).timezone == "Asia/Shanghai"
    assert fresh(Window, window.id).opens_at == opens_at
    assert row_counts() == before


def test_booking_cutoff_after_the_no_show_time_is_refused(client, factory):
    admin = factory.admin()
    garage = factory.garage()
    response = api(client, factory, admin, "PATCH", f"/garages/{garage.id}", json={"booking_cutoff_minutes": 200})
    body = assert_error(response, 422, "validation_error")
    assert "booking_cutoff_minutes" in body["errors"]
    response = api(client, factory, admin, "POST", "/garages", json={**NEW_GARAGE, "no_show_minutes": 30})
    assert_error(response, 422, "validation_error")


def test_the_ballot_closing_hour_can_be_set_now_that_ballots_are_drawn(client, factory):
    admin = factory.admin()
    garage = factory.garage()
    response = api(client, factory, admin, "PATCH", f"/garages/{garage.id}", json={"ballot_close_hour": 18})
    assert response.status_code == 200, response.get_json()
    assert fresh(Garage, garage.id).ballot_close_hour == 18
    created = api(client, factory, admin, "POST", "/garages", json={**NEW_GARAGE, "ballot_close_hour": 9})
    assert created.status_code == 201
    assert fresh(Garage, created.get_json()["id"]).ballot_close_hour == 9


# --- staff -----------------------------------------------------------------------------------


def test_admin_makes_a_resident_manager_of_a_garage_by_phone(client, factory, db):
    admin = factory.admin()
    garage = factory.garage()
    user = factory.user()
    response = api(
        client, factory, admin, "POST", f"/garages/{garage.id}/staff", json={"phone": user.phone, "role": "manager"}
    )
    assert response.status_code == 201, response.json
    assert response.json == {
        "user_id": user.id,
        "phone": user.phone,
        "name": user.name,
        "role": "manager",
        "garage_ids": [garage.id],
    }
    assert fresh(User, user.id).role == Role.MANAGER
    (event,) = audit(db, "staff.added")
    assert (event.actor_id, event.object_type, event.object_id, event.garage_id) == (
        admin.id,
        "user",
        user.id,
        garage.id,
    )
    assert event.before == {"role": "resident", "garages": []}
    assert event.after == {"role": "manager", "garages": [garage.id]}
    # the new manager manages at once
    assert api(client, factory, fresh(User, user.id), "GET", f"/garages/{garage.id}/templates").status_code == 200
    listed = api(client, factory, admin, "GET", f"/garages/{garage.id}/staff").json
    assert [(s["user_id"], s["role"]) for s in listed] == [(user.id, "manager")]


def test_staff_list_shows_every_member_of_staff_and_their_garages(client, factory):
    admin = factory.admin()
    garage, other = factory.garage(), factory.garage()
    manager = factory.manager(garage)
    attendant = factory.attendant(garage)
    api(
        client,
        factory,
        admin,
        "POST",
        f"/garages/{other.id}/staff",
        json={"phone": attendant.phone, "role": "attendant"},
    )
    factory.manager(other)
    response = api(client, factory, admin, "GET", f"/garages/{garage.id}/staff")
    assert response.status_code == 200
    assert sorted((s["user_id"], s["role"], tuple(s["garage_ids"])) for s in response.json) == sorted(
        [(manager.id, "manager", (garage.id,)), (attendant.id, "attendant", (garage.id, other.id))]
    )


def test_a_manager_of_one_garage_cannot_become_attendant_of_another(client, factory):
    admin = factory.admin()
    garage, other = factory.garage(), factory.garage()
    manager = factory.manager(garage)
    before = row_counts()
    response = api(
        client, factory, admin, "POST", f"/garages/{other.id}/staff", json={"phone": manager.phone, "role": "attendant"}
    )
    body = assert_error(response, 409, "staff_role_conflict")
    assert body["details"] == {"role": "manager", "garage_ids": [garage.id]}
    assert row_counts() == before
    ok = api(
        client, factory, admin, "POST", f"/garages/{other.id}/staff", json={"phone": manager.phone, "role": "manager"}
    )
    assert ok.status_code == 201 and ok.json["garage_ids"] == sorted([garage.id, other.id])


def test_an_attendant_of_only_this_garage_is_promoted_to_manager(client, factory, db):
    admin = factory.admin()
    garage = factory.garage()
    attendant = factory.attendant(garage)
    response = api(
        client,
        factory,
        admin,
        "POST",
        f"/garages/{garage.id}/staff",
        json={"phone": attendant.phone, "role": "manager"},
    )
    assert response.status_code == 201, response.json
    assert fresh(User, attendant.id).role == Role.MANAGER and staff_rows(db, attendant.id) == [garage.id]
    (event,) = audit(db, "staff.added")
    assert event.before == {"role": "attendant", "garages": [garage.id]}


def test_adding_someone_already_in_that_role_or_an_unknown_phone_is_refused(client, factory):
    admin = factory.admin()
    garage = factory.garage()
    manager = factory.manager(garage)
    path = f"/garages/{garage.id}/staff"
    assert_error(
        api(client, factory, admin, "POST", path, json={"phone": manager.phone, "role": "manager"}),
        409,
        "already_staff",
    )
    assert_error(
        api(client, factory, admin, "POST", path, json={"phone": "13800000000", "role": "manager"}),
        404,
        "user_not_found",
    )
    assert_error(
        api(client, factory, admin, "POST", "/garages/999/staff", json={"phone": manager.phone, "role": "manager"}),
        404,
        "not_found",
    )


def test_an_admin_made_staff_stays_admin(client, factory, db):
    admin, other_admin = factory.admin(), factory.admin()
    garage = factory.garage()
    response = api(
        client,
        factory,
        admin,
        "POST",
        f"/garages/{garage.id}/staff",
        json={"phone": other_admin.phone, "role": "attendant"},
    )
    assert response.status_code == 201 and response.json["role"] == "admin"
    removed = api(client, factory, admin, "DELETE", f"/garages/{garage.id}/staff/{other_admin.id}")
    assert removed.status_code == 200 and removed.json == {**response.json, "garage_ids": []}
    assert fresh(User, other_admin.id).role == Role.ADMIN


def test_removal_from_the_last_garage_makes_staff_a_resident_again(client, factory, db):
    admin = factory.admin()
    garage, other = factory.garage(), factory.garage()
    manager = factory.manager(garage)
    api(client, factory, admin, "POST", f"/garages/{other.id}/staff", json={"phone": manager.phone, "role": "manager"})

    first = api(client, factory, admin, "DELETE", f"/garages/{garage.id}/staff/{manager.id}")
    assert first.status_code == 200, first.json
    assert (first.json["role"], first.json["garage_ids"]) == ("manager", [other.id])
    second = api(client, factory, admin, "DELETE", f"/garages/{other.id}/staff/{manager.id}")
    assert (second.json["role"], second.json["garage_ids"]) == ("resident", [])
    assert fresh(User, manager.id).role == Role.RESIDENT and staff_rows(db, manager.id) == []
    last = audit(db, "staff.removed")[-1]
    assert (last.before, last.after, last.garage_id) == (
        {"role": "manager", "garages": [other.id]},
        {"role": "resident", "garages": []},
        other.id,
    )
    # a former manager manages nothing
    assert api(client, factory, fresh(User, manager.id), "GET", f"/garages/{other.id}/templates").status_code == 403
    again = api(client, factory, admin, "DELETE", f"/garages/{other.id}/staff/{manager.id}")
    assert_error(again, 404, "not_staff")


def test_two_admins_giving_one_person_two_different_roles_at_once_give_one_role(app, client, factory, db):
    """Without the lock on the user row both would read `resident` and both succeed, leaving a
    manager of one garage who is, by the same role, manager of the other too."""
    admin_a, admin_b = factory.admin(), factory.admin()
    garage_a, garage_b = factory.garage(), factory.garage()
    headers_a, headers_b = factory.headers(admin_a), factory.headers(admin_b)
    paths = (f"/api/v1/garages/{garage_a.id}/staff", f"/api/v1/garages/{garage_b.id}/staff")
    for attempt in range(3):
        user = factory.user()
        user_id, phone = user.id, user.phone  # the threads have no app context to load them in
        calls = [
            lambda c, p=phone: c.post(paths[0], json={"phone": p, "role": "manager"}, headers=headers_a),
            lambda c, p=phone: c.post(paths[1], json={"phone": p, "role": "attendant"}, headers=headers_b),
        ]
        responses = race(app, calls)
        codes = sorted((r.status_code, r.json.get("error", "")) for r in responses)
        assert codes == [(201, ""), (409, "staff_role_conflict")], (attempt, codes)
        assert len(staff_rows(db, user_id)) == 1


# --- who may call, and bad input ---------------------------------------------------------------

ENDPOINTS = [
    ("POST", "/garages", NEW_GARAGE),
    ("PATCH", "/garages/{garage}", {"capacity": 7}),
    ("GET", "/garages/{garage}/staff", None),
    ("POST", "/garages/{garage}/staff", {"phone": "{phone}", "role": "manager"}),
    ("DELETE", "/garages/{garage}/staff/{manager}", None),
]


@pytest.fixture
def admin_world(factory, db):
    garage = factory.garage()
    manager = factory.manager(garage)
    resident, _ = factory.resident(garage)
    return {
        "garage": garage.id,
        "manager": manager.id,
        "phone": resident.phone,
        "as": {
            "anonymous": {},
            "resident": factory.headers(resident),
            "attendant": factory.headers(factory.attendant(garage)),
            "manager": factory.headers(manager),
        },
    }


def _fill(value, world):
    if isinstance(value, str):
        return value.format(**{k: v for k, v in world.items() if k != "as"})
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("resident", 403), ("attendant", 403), ("manager", 403)]
)
def test_only_admins_may_call_the_admin_endpoints(client, admin_world, method, path, body, who, status):
    before = row_counts()
    response = client.open(
        "/api/v1" + _fill(path, admin_world),
        method=method,
        json=_fill(body, admin_world),
        headers=admin_world["as"][who],
    )
    assert_error_shape(response, status)
    assert row_counts() == before


LONG = "x" * 500
BAD_ADMIN_BODIES = [
    ("POST", "/garages", {"timezone": "Asia/Shanghai", "capacity": 10}),  # no name
    ("POST", "/garages", {"name": "G"}),  # no capacity
    ("POST", "/garages", {"name": "G", "capacity": 10, "timezone": "Mars/Olympus"}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "timezone": "localtime"}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "timezone": "../../etc/passwd"}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "timezone": 8}),
    ("POST", "/garages", {"name": "G", "capacity": 0}),
    ("POST", "/garages", {"name": "G", "capacity": -5}),
    ("POST", "/garages", {"name": "G", "capacity": "10"}),
    ("POST", "/garages", {"name": "G", "capacity": 10**30}),
    ("POST", "/garages", {"name": LONG, "capacity": 10}),
    ("POST", "/garages", {"name": "a\x00b", "capacity": 10}),
    ("POST", "/garages", {"name": "", "capacity": 10}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "horizon_days": 0}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "horizon_days": 365}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "no_show_minutes": -1}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "strike_limit": 0}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "bookings_per_household": 0}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "exit_grace_minutes": 1.5}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "suspension_days": True}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "ballot_close_hour": 24}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "id": 5}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "created_at": "2026-01-01T00:00:00Z"}),
    ("POST", "/garages", {"name": "G", "capacity": 10, "rules": {"horizon_days": 3}}),
    ("PATCH", "/garages/{garage}", {"timezone": "Nowhere"}),
    ("PATCH", "/garages/{garage}", {"timezone": None}),
    ("PATCH", "/garages/{garage}", {"capacity": None}),
    ("PATCH", "/garages/{garage}", {"name": None}),
    ("PATCH", "/garages/{garage}", {"capacity": 0}),
    ("PATCH", "/garages/{garage}", {"reminder_minutes": 100000}),
    ("PATCH", "/garages/{garage}", {"booking_cutoff_minutes": 999}),
    ("PATCH", "/garages/{garage}", {"templates": []}),
    ("PATCH", "/garages/999999", {"capacity": 10}),
    ("POST", "/garages/{garage}/staff", {"phone": "12", "role": "manager"}),
    ("POST", "/garages/{garage}/staff", {"phone": "{phone}"}),
    ("POST", "/garages/{garage}/staff", {"phone": "{phone}", "role": "admin"}),
    ("POST", "/garages/{garage}/staff", {"phone": "{phone}", "role": "resident"}),
    ("POST", "/garages/{garage}/staff", {"phone": "{phone}", "role": "boss"}),
    ("POST", "/garages/{garage}/staff", {"phone": "13800000000", "role": "manager"}),
    ("POST", "/garages/{garage}/staff", {"phone": "{manager_phone}", "role": "manager"}),
    ("POST", "/garages/999999/staff", {"phone": "{phone}", "role": "manager"}),
    ("POST", "/garages/{garage}/staff", {"phone": "{phone}", "role": "manager", "garage_id": 1}),
    ("DELETE", "/garages/{garage}/staff/{phone_user}", None),
    ("DELETE", "/garages/{garage}/staff/999999", None),
    ("DELETE", "/garages/{garage}/staff/99999999999999999999", None),
    ("GET", "/garages/999999/staff", None),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_ADMIN_BODIES)
def test_bad_admin_input_gets_one_error_shape_and_changes_nothing(client, factory, db, method, path, body):
    admin = factory.admin()
    garage = factory.garage(capacity=100)
    manager = factory.manager(garage)
    resident, _ = factory.resident(garage)
    world = {
        "garage": garage.id,
        "phone": resident.phone,
        "phone_user": resident.id,
        "manager_phone": manager.phone,
    }
    before = row_counts()
    response = client.open(
        "/api/v1" + _fill(path, world), method=method, json=_fill(body, world), headers=factory.headers(admin)
    )
    assert_error_shape(response)
    assert row_counts() == before
    assert fresh(Garage, garage.id).capacity == 100
