"""The manager pages without a browser: each page renders for the garage's manager, keeps to its
garage, and the two-step cut (refuse or bump) changes nothing before it is confirmed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from parking import clock
from parking.bookings.models import BookingStatus
from parking.extensions import db
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.notifications.models import Notification
from parking.quotas.models import QuotaOverride
from parking.windows.models import Window
from tests.manager_helpers import api, book_many, fresh, statuses


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in(client, user) -> None:
    token = _csrf(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "phone": user.phone, "password": "password123"})
    assert response.status_code == 302


@pytest.fixture
def setup(factory):
    garage = factory.garage(name="东站车库")
    window = factory.window(garage, quota=5)
    manager = factory.manager(garage)
    return garage, window, manager


PAGES = [
    "/manage",
    "/manage/calendar",
    "/manage/overrides",
    "/manage/verify",
    "/manage/people",
    "/manage/templates",
    "/manage/reports",
    "/manage/audit",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_manager_page_renders_for_the_garage_manager(client, factory, setup, path):
    garage, window, manager = setup
    book_many(factory, window, 2)
    _sign_in(client, manager)
    response = client.get(f"{path}?garage_id={garage.id}")
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert "东站车库" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [*PAGES, "/manage/reports/nights.csv"])
def test_a_manager_never_sees_another_garages_pages(client, factory, setup, path):
    _garage, _, manager = setup
    other = factory.garage(name="别人的车库")
    factory.window(other, quota=3)
    _sign_in(client, manager)
    response = client.get(f"{path}?garage_id={other.id}")
    assert response.status_code == 403
    assert "别人的车库" not in response.get_data(as_text=True)


def test_a_change_posted_for_another_garage_is_refused_and_changes_nothing(client, factory, setup):
    garage, _, manager = setup
    other = factory.garage()
    their = factory.window(other, quota=3)
    _sign_in(client, manager)
    token = _csrf(client, f"/manage/overrides?garage_id={garage.id}")
    day = their.service_date.isoformat()
    data = {"csrf_token": token, "template_id": their.template_id, "start_date": day, "end_date": day}
    response = client.post(f"/manage/overrides?garage_id={other.id}", data={**data, "closed": "y", "reason": "x"})
    assert response.status_code == 403
    assert db.session.scalar(db.select(db.func.count(QuotaOverride.id))) == 0


def test_the_garage_choice_is_remembered_and_an_admin_sees_every_garage(client, factory):
    first, second = factory.garage(name="甲车库"), factory.garage(name="乙车库")
    admin = factory.admin()
    _sign_in(client, admin)
    assert "甲车库" in client.get("/manage").get_data(as_text=True).split("garage-switch")[0]
    client.get(f"/manage/calendar?garage_id={second.id}")
    page = client.get("/manage/verify").get_data(as_text=True)
    assert '<p class="garage-name"><span class="icon" aria-hidden="true">🅿</span> 乙车库</p>' in page
    assert f'href="/manage/calendar?garage_id={second.id}"' in page  # links keep the garage
    assert first.id != second.id


def _cut(client, window, quota=None, **extra):
    day = window.service_date.isoformat()
    data = {
        "csrf_token": _csrf(client, f"/manage/overrides?garage_id={window.garage_id}"),
        "template_id": window.template_id,
        "start_date": day,
        "end_date": day,
        "quota": quota,
        "reason": "春运",
        **extra,
    }
    return client.post(f"/manage/overrides?garage_id={window.garage_id}", data=data)


def test_a_cut_below_the_bookings_asks_first_and_refuse_changes_nothing(client, factory, setup):
    _garage, window, manager = setup
    made = book_many(factory, window, 4)
    _sign_in(client, manager)
    asked = _cut(client, window, 1)
    assert asked.status_code == 409
    page = asked.get_data(as_text=True)
    assert "3 个预约会失去车位" in page
    assert 'name="policy" type="radio" value="bump"' in page or 'value="bump"' in page
    assert fresh(Window, window.id).quota == 5
    assert db.session.scalar(db.select(db.func.count(QuotaOverride.id))) == 0

    refused = _cut(client, window, 1, confirm="1", policy="refuse")
    assert refused.status_code == 302
    assert "什么都没有改" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert fresh(Window, window.id).quota == 5
    assert set(statuses(window.id).values()) == {BookingStatus.CONFIRMED}
    assert db.session.scalar(db.select(db.func.count(QuotaOverride.id))) == 0
    assert len(made) == 4


def test_bump_at_the_second_step_withdraws_the_newest_bookings_and_tells_them(client, factory, setup):
    _garage, window, manager = setup
    made = book_many(factory, window, 4)
    _sign_in(client, manager)
    done = _cut(client, window, 1, confirm="1", policy="bump")
    assert done.status_code == 302
    assert "3 个预约失去了车位" in client.get(done.headers["Location"]).get_data(as_text=True)
    now = statuses(window.id)
    assert [now[b.id] for b in made] == [BookingStatus.CONFIRMED] + [BookingStatus.BUMPED] * 3
    bumped_household = db.session.get(Household, made[-1].household_id)
    kinds = db.session.scalars(
        db.select(Notification.kind).where(Notification.user_id == bumped_household.members[0].id)
    ).all()
    assert "booking_bumped" in kinds


@pytest.mark.parametrize(
    ("fields", "field_id", "words"),
    [
        ({"quota": ""}, "quota-error", "请填车位数"),
        ({"quota": "abc"}, "quota-error", "整数"),
        ({"quota": "3", "closed": "y"}, "quota-error", "只能选一个"),
        ({"end_date": "2026-11-01"}, "end_date-error", "不能早于第一晚"),
        ({"start_date": "1.12.2026"}, "start_date-error", "2026-12-31"),
        ({"reason": ""}, "reason-error", "请填写此项"),
        ({"quota": "99999"}, "quota-error", "实际车位数"),
        ({"start_date": "2026-01-01", "end_date": "2026-01-02"}, "end_date-error", "已经过去"),
    ],
)
def test_bad_override_input_is_said_beside_the_field_and_changes_nothing(
    client, factory, setup, fields, field_id, words
):
    _garage, window, manager = setup
    _sign_in(client, manager)
    response = _cut(client, window, **{"quota": 2, **fields})
    assert response.status_code in (409, 422)
    page = response.get_data(as_text=True)
    message = re.search(rf'id="{field_id}">(.*?)</p>', page, re.S)
    assert message and words in message.group(1), page[:200]
    assert db.session.scalar(db.select(db.func.count(QuotaOverride.id))) == 0
    assert fresh(Window, window.id).quota == 5


def test_a_rejection_needs_a_reason_and_an_approval_verifies(client, factory, setup):
    garage, _, manager = setup
    household = factory.household(garage, state=HouseholdState.PENDING)
    _sign_in(client, manager)
    token = _csrf(client, f"/manage/verify?garage_id={garage.id}")
    path = f"/manage/verify/households/{household.id}?garage_id={garage.id}"
    missing = client.post(path, data={"csrf_token": token, "decision": "rejected", "reason": ""})
    assert missing.status_code == 422
    assert "请写明原因" in missing.get_data(as_text=True)
    assert fresh(Household, household.id).state == HouseholdState.PENDING

    approved = client.post(path, data={"csrf_token": token, "decision": "verified"})
    assert approved.status_code == 302
    assert fresh(Household, household.id).state == HouseholdState.VERIFIED


def test_a_plate_is_rejected_with_its_reason_in_the_audit_trail(client, factory, setup):
    garage, _, manager = setup
    household = factory.household(garage, plates=0)
    vehicle = Vehicle(household_id=household.id, plate="沪AD12345", state=VehicleState.PENDING, created_at=clock.now())
    db.session.add(vehicle)
    db.session.commit()
    _sign_in(client, manager)
    token = _csrf(client, f"/manage/verify?garage_id={garage.id}")
    response = client.post(
        f"/manage/verify/vehicles/{vehicle.id}?garage_id={garage.id}",
        data={"csrf_token": token, "decision": "rejected", "reason": "行驶证不符"},
    )
    assert response.status_code == 302
    assert fresh(Vehicle, vehicle.id).state == VehicleState.REJECTED
    audit = client.get(f"/manage/audit?garage_id={garage.id}&object=vehicle:{vehicle.id}").get_data(as_text=True)
    assert "行驶证不符" in audit and "vehicle.rejected" in audit


def test_the_page_csv_is_the_api_csv(client, factory, setup):
    garage, window, manager = setup
    book_many(factory, window, 2)
    day = window.service_date
    query = f"from={(day - timedelta(days=2)).isoformat()}&to={day.isoformat()}"
    from_api = api(client, factory, manager, "GET", f"/garages/{garage.id}/reports/nights?{query}&format=csv")
    _sign_in(client, manager)
    page = client.get(f"/manage/reports/nights.csv?garage_id={garage.id}&{query}")
    assert page.status_code == 200 and page.mimetype == "text/csv"
    assert page.data == from_api.data
    assert page.headers["Content-Disposition"] == from_api.headers["Content-Disposition"]


def test_a_report_range_backwards_is_said_beside_the_end(client, factory, setup):
    garage, _, manager = setup
    _sign_in(client, manager)
    response = client.get(f"/manage/reports?garage_id={garage.id}&from=2026-12-05&to=2026-12-01")
    assert response.status_code == 422
    assert "结束日期不能早于开始日期" in re.search(
        r'id="to-error">(.*?)</p>', response.get_data(as_text=True), re.S
    ).group(1)
