"""Deletion: a person erases their own account (with the password, from /account or the API), or
an admin does; coming bookings are cancelled through the one cancel verb (the waitlist moves),
coming monthly nights handed back; the personal fields are erased; the household stays while it
has other members; the audit trail keeps `user:<id>` and the action; kept pages are cleared."""

from __future__ import annotations

import re

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.auth.models import User
from parking.bookings.models import Booking, BookingStatus
from parking.households.models import Household, Vehicle, VehicleState
from parking.notifications.models import Notification
from tests.monthly_helpers import offered, subscribe
from tests.privacy_helpers import PASSWORD, bearer, full_flow, ok


def csrf(browser, path: str) -> str:
    page = browser.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found is not None, path
    return found.group(1)


def fresh(db, model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def test_a_person_erases_their_account_the_waitlist_moves_and_the_household_stays(client, factory, db):
    window = factory.window(quota=1)
    flow = full_flow(client, factory, window)  # holds the night's one space
    housemate = factory.user(household_id=flow.household_id)
    waiting = factory.booking(window, waitlist=True)
    assert waiting.status == BookingStatus.WAITLISTED

    wrong = client.post("/api/v1/me/erasure", json={"current_password": "not it"}, headers=bearer(flow.token))
    assert wrong.status_code == 403 and wrong.json["error"] == "wrong_password"
    assert fresh(db, User, flow.user.id).phone == flow.phone

    erased = ok(client.post("/api/v1/me/erasure", json={"current_password": PASSWORD}, headers=bearer(flow.token)))
    assert erased == {
        "user_id": flow.user.id,
        "cancelled": [flow.booking_id],
        "handed_back": [],
        "household_kept": True,
    }
    assert fresh(db, Booking, flow.booking_id).status == BookingStatus.CANCELLED
    assert fresh(db, Booking, waiting.id).status == BookingStatus.CONFIRMED  # the waitlist moved

    user = fresh(db, User, flow.user.id)
    assert user.phone == f"x{flow.user.id:010d}" and not user.phone.isdigit() and user.name == ""
    assert user.active is False and user.deleted_at == clock.now() and user.household_id is None
    assert client.get("/api/v1/me", headers=bearer(flow.token)).status_code == 401  # the token ended
    signin = client.post("/api/v1/auth/token", json={"phone": flow.phone, "password": PASSWORD})
    assert signin.status_code == 401
    assert db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)).all() == []

    household = fresh(db, Household, flow.household_id)
    assert [m.id for m in household.members] == [housemate.id]
    assert [v.state for v in household.vehicles] == [VehicleState.VERIFIED]  # the housemate's car still
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.erased")).all()
    assert (event.actor_id, event.object_type, event.object_id) == (flow.user.id, "user", flow.user.id)
    trail = repr(db.session.execute(sa.select(AuditEvent.before, AuditEvent.after, AuditEvent.reason)).all())
    assert flow.phone not in trail and "王芳" not in trail
    # The phone is free again: the person may come back as somebody new.
    again = client.post("/api/v1/auth/register", json={"phone": flow.phone, "password": PASSWORD, "name": "王芳"})
    assert again.status_code == 201 and again.json["id"] != flow.user.id


def test_the_last_member_leaving_hands_back_the_monthly_nights_and_frees_the_plates(client, factory, db):
    setup = offered(factory)
    flow = full_flow(client, factory, factory.window(setup.garage, quota=5))  # tonight, another template
    sub = subscribe(client, factory, flow.user, setup, flow.plate)  # December's nights of the offer
    assert sub.status_code == 201, sub.json
    nights = db.session.scalars(sa.select(Booking.id).where(Booking.subscription_id == sub.json["id"])).all()
    assert len(nights) == 31  # from tonight, 1 December

    erased = ok(client.post("/api/v1/me/erasure", json={"current_password": PASSWORD}, headers=bearer(flow.token)))
    assert erased["household_kept"] is False
    assert erased["cancelled"] == [flow.booking_id] and sorted(erased["handed_back"]) == sorted(nights)
    db.session.expire_all()
    statuses = set(db.session.scalars(sa.select(Booking.status).where(Booking.subscription_id == sub.json["id"])))
    assert statuses == {BookingStatus.CANCELLED}
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "booking")))
    assert "booking.handed_back" in actions
    (vehicle,) = db.session.scalars(sa.select(Vehicle).where(Vehicle.household_id == flow.household_id)).all()
    assert vehicle.state == VehicleState.RELEASED  # the plate is free for another household
    assert fresh(db, Household, flow.household_id) is not None  # the garage's record of past nights


def test_the_account_page_asks_for_the_password_then_erases_and_clears_the_kept_pages(client, factory, db):
    flow = full_flow(client, factory)
    browser = factory.browser(client, flow.user)
    assert 'href="/account/delete"' in browser.get("/account").get_data(as_text=True)
    confirm = browser.get("/account/delete").get_data(as_text=True)
    assert 'name="current_password"' in confirm and 'name="understood"' in confirm

    refused = browser.post(
        "/account/delete",
        data={"csrf_token": csrf(browser, "/account/delete"), "current_password": "not it", "understood": "y"},
    )
    assert refused.status_code == 403
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    unticked = browser.post(
        "/account/delete", data={"csrf_token": csrf(browser, "/account/delete"), "current_password": PASSWORD}
    )
    assert unticked.status_code == 422 and fresh(db, User, flow.user.id).deleted_at is None

    gone = browser.post(
        "/account/delete",
        data={"csrf_token": csrf(browser, "/account/delete"), "current_password": PASSWORD, "understood": "y"},
    )
    assert gone.status_code == 302 and gone.headers["Location"].endswith("/login")
    assert gone.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert fresh(db, User, flow.user.id).deleted_at is not None
    after = browser.get("/account")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_an_admin_erases_an_account_by_api_and_by_page_and_nobody_else_can(client, factory, db):
    first = full_flow(client, factory)
    second = full_flow(client, factory, first.window, plate="沪B54321")
    admin = factory.admin()
    refused = client.post(f"/api/v1/users/{first.user.id}/erasure", headers=factory.headers(first.manager))
    assert refused.status_code == 403
    erased = ok(client.post(f"/api/v1/users/{first.user.id}/erasure", headers=factory.headers(admin)))
    assert erased["cancelled"] == [first.booking_id]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.erased"))
    assert (event.actor_id, event.object_id, event.reason) == (admin.id, first.user.id, "by an admin")
    assert client.post(f"/api/v1/users/{first.user.id}/erasure", headers=factory.headers(admin)).status_code == 404

    browser = factory.browser(client, admin)
    assert 'href="/admin/accounts/erase"' in browser.get("/admin").get_data(as_text=True)
    unticked = browser.post(
        "/admin/accounts/erase", data={"csrf_token": csrf(browser, "/admin/accounts/erase"), "phone": second.phone}
    )
    assert unticked.status_code == 422 and fresh(db, User, second.user.id).deleted_at is None
    done = browser.post(
        "/admin/accounts/erase",
        data={"csrf_token": csrf(browser, "/admin/accounts/erase"), "phone": second.phone, "understood": "y"},
    )
    assert done.status_code == 302
    assert fresh(db, User, second.user.id).phone == f"x{second.user.id:010d}"
    assert fresh(db, Booking, second.booking_id).status == BookingStatus.CANCELLED
    unknown = browser.post(
        "/admin/accounts/erase",
        data={"csrf_token": csrf(browser, "/admin/accounts/erase"), "phone": second.phone, "understood": "y"},
    )
    assert unknown.status_code == 404 and 'aria-invalid="true"' in unknown.get_data(as_text=True)  # beside the phone


def test_erasure_is_documented_in_the_openapi(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert "Erasure" in str(paths["/api/v1/me/erasure"]["post"]["requestBody"])
    assert "current_password" in spec["components"]["schemas"]["Erasure"]["properties"]
    assert "/api/v1/users/{user_id}/erasure" in paths
