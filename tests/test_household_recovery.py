"""A rejected household finds its way back: it sees the reason, corrects its address and sends it
again; a manager sees the earlier reason, and can reopen a rejected household. API and pages."""

from __future__ import annotations

import re

import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.households.models import Household, HouseholdState
from parking.notifications.models import Notification

REASON = "地址有误，请重新登记"


def _rejected(client, factory, db):
    garage = factory.garage()
    manager = factory.manager(garage)
    resident = factory.user()
    created = client.post(
        "/api/v1/households",
        json={"garage_id": garage.id, "building": "12", "unit": "3", "room": "4O2"},
        headers=factory.headers(resident),
    )
    assert created.status_code == 201, created.json
    household_id = created.json["id"]
    rejected = client.post(
        f"/api/v1/households/{household_id}/verify",
        json={"decision": "rejected", "reason": REASON},
        headers=factory.headers(manager),
    )
    assert rejected.json["state"] == "rejected"
    return garage, manager, resident, household_id


def test_a_rejected_household_corrects_its_address_and_sends_it_again_then_the_manager_sees_the_earlier_reason(
    client, factory, db
):
    _garage, manager, resident, household_id = _rejected(client, factory, db)
    h = factory.headers(resident)
    seen = client.get(f"/api/v1/households/{household_id}", headers=h)
    assert (seen.json["state"], seen.json["state_reason"]) == ("rejected", REASON)

    sent = client.post(
        f"/api/v1/households/{household_id}/resubmit",
        json={"building": "12号楼", "unit": "3单元", "room": "402室"},
        headers=h,
    )

    assert sent.status_code == 200, sent.json
    assert (sent.json["building"], sent.json["unit"], sent.json["room"]) == ("12", "3", "402")
    assert (sent.json["state"], sent.json["state_reason"], sent.json["previous_reason"]) == ("pending", None, REASON)
    assert sent.json["resubmitted_at"]
    queue = client.get("/api/v1/households?state=pending", headers=factory.headers(manager))
    assert [(row["id"], row["previous_reason"]) for row in queue.json] == [(household_id, REASON)]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "household.resubmitted"))
    assert event.actor_id == resident.id
    assert (event.before["room"], event.before["state"], event.after["room"], event.after["state"]) == (
        "4O2",
        "rejected",
        "402",
        "pending",
    )
    verified = client.post(
        f"/api/v1/households/{household_id}/verify", json={"decision": "verified"}, headers=factory.headers(manager)
    )
    assert verified.json["state"] == "verified"


def test_only_a_member_of_a_rejected_household_can_send_it_again_and_to_a_free_address(client, factory, db):
    garage, _manager, resident, household_id = _rejected(client, factory, db)
    address = {"building": "12", "unit": "3", "room": "402"}
    stranger = client.post(
        f"/api/v1/households/{household_id}/resubmit", json=address, headers=factory.headers(factory.user())
    )
    assert stranger.status_code == 404
    neighbour = factory.household(garage)
    taken = client.post(
        f"/api/v1/households/{household_id}/resubmit",
        json={"building": neighbour.building, "unit": neighbour.unit, "room": neighbour.room},
        headers=factory.headers(resident),
    )
    assert (taken.status_code, taken.json["error"]) == (409, "household_exists")
    bad = client.post(
        f"/api/v1/households/{household_id}/resubmit",
        json={"building": "🏠🏠🏠", "unit": "3", "room": "<script>"},
        headers=factory.headers(resident),
    )
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"building", "room"}
    assert client.post(
        f"/api/v1/households/{household_id}/resubmit", json=address, headers=factory.headers(resident)
    ).json["state"] == ("pending")
    twice = client.post(f"/api/v1/households/{household_id}/resubmit", json=address, headers=factory.headers(resident))
    assert (twice.status_code, twice.json["error"]) == (409, "not_rejected")


def test_a_manager_reopens_a_rejected_household_audited_and_the_household_is_told(client, factory, db):
    _garage, manager, resident, household_id = _rejected(client, factory, db)
    by_resident = client.post(f"/api/v1/households/{household_id}/reopen", json={}, headers=factory.headers(resident))
    assert by_resident.status_code == 404
    rejected = client.get("/api/v1/households?state=rejected", headers=factory.headers(manager))
    assert [row["id"] for row in rejected.json] == [household_id]

    reopened = client.post(
        f"/api/v1/households/{household_id}/reopen",
        json={"reason": "rejected by mistake"},
        headers=factory.headers(manager),
    )

    assert reopened.status_code == 200, reopened.json
    assert (reopened.json["state"], reopened.json["previous_reason"]) == ("pending", REASON)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "household.reopened"))
    assert (event.actor_id, event.reason, event.before["state"]) == (manager.id, "rejected by mistake", "rejected")
    kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == resident.id)).all()
    assert "household_reopened" in kinds
    again = client.post(f"/api/v1/households/{household_id}/reopen", json={}, headers=factory.headers(manager))
    assert (again.status_code, again.json["error"]) == (409, "not_rejected")


# -- pages ----------------------------------------------------------------------------------------


def _sign_in(client, user):
    from tests.test_manage_pages import _sign_in as sign_in

    sign_in(client, user)


def _csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_household_page_shows_the_reason_and_a_prefilled_form_that_sends_it_again(client, factory, db):
    _garage, manager, resident, household_id = _rejected(client, factory, db)
    _sign_in(client, resident)

    page = client.get("/household").get_data(as_text=True)

    assert REASON in page
    assert 'value="4O2"' in page
    assert "重新提交" in page
    bad = client.post(
        "/household/resubmit",
        data={"csrf_token": _csrf(client, "/household"), "building": "12", "unit": "3", "room": "<b>"},
    )
    assert bad.status_code == 422
    assert re.search(r'id="room-error">.*只能填数字和英文字母', bad.get_data(as_text=True), re.S)
    sent = client.post(
        "/household/resubmit",
        data={"csrf_token": _csrf(client, "/household"), "building": "12", "unit": "3", "room": "402"},
    )
    assert sent.status_code == 302
    db.session.expire_all()
    household = db.session.get(Household, household_id)
    assert (household.state, household.room, household.previous_reason) == (HouseholdState.PENDING, "402", REASON)

    desk = client.application.test_client()
    _sign_in(desk, manager)
    queue = desk.get("/manage/verify").get_data(as_text=True)
    assert "上次未通过的原因" in queue and REASON in queue


def test_the_manager_reopens_from_the_list_of_rejected_households(client, factory, db):
    _garage, manager, _resident, household_id = _rejected(client, factory, db)
    _sign_in(client, manager)
    page = client.get("/manage/verify").get_data(as_text=True)
    assert f"/manage/verify/households/{household_id}/reopen" in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    reopened = client.post(f"/manage/verify/households/{household_id}/reopen", data={"csrf_token": token})

    assert reopened.status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household_id).state == HouseholdState.PENDING


def test_a_rejected_household_of_a_garage_with_a_list_corrects_its_address_with_the_pickers(client, factory, db):
    from parking.households.models import GarageAddressList

    garage, _manager, resident, household_id = _rejected(client, factory, db)
    db.session.add(
        GarageAddressList(
            garage_id=garage.id, spec="12 号楼, 3 单元, 401-402 室", addresses=2, updated_at=garage.created_at
        )
    )
    db.session.commit()
    _sign_in(client, resident)

    page = client.get("/household").get_data(as_text=True)

    assert '<option value="12" selected>12</option>' in page
    assert re.search(r'<select id="room" name="room"[^>]*>\s*<option value="" selected>', page)  # 4O2 is not listed
    outside = client.post(
        "/household/resubmit",
        data={"csrf_token": _csrf(client, "/household"), "building": "12", "unit": "3", "room": "403"},
    )
    assert outside.status_code == 422 and 'id="room-error"' in outside.get_data(as_text=True)
    sent = client.post(
        "/household/resubmit",
        data={"csrf_token": _csrf(client, "/household"), "building": "12", "unit": "3", "room": "402"},
    )
    assert sent.status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household_id).state == HouseholdState.PENDING
