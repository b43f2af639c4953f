"""Every refusal names its real cause, on the API and the pages: a night cut to quota 0 or closed
takes no waitlist entry (422 `booking_closed`, the cause in `details`), and its page row says why
instead of offering the waitlist."""

from __future__ import annotations

from parking.extensions import db
from parking.windows.models import Window, WindowState
from tests.test_resident_pages import _sign_in


def _book(client, factory, user, window, plate, waitlist=True):
    return client.post(
        "/api/v1/bookings",
        json={"window_id": window.id, "plate": plate, "waitlist": waitlist},
        headers=factory.headers(user),
    )


def test_a_night_cut_to_quota_0_takes_no_waitlist_entry(client, factory):
    window = factory.window(quota=0)
    user, plate = factory.resident(window.garage)
    response = _book(client, factory, user, window, plate, waitlist=True)
    assert (response.status_code, response.json["error"]) == (422, "booking_closed"), response.json
    assert response.json["details"] == {"cause": "no_quota"}
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    assert "这一晚没有车位" in page
    assert "加入候补" not in page and "已满，可候补" not in page


def test_a_closed_night_refuses_with_its_cause(client, factory):
    window = factory.window(quota=5)
    row = db.session.get(Window, window.id)
    row.state, row.closed_reason = WindowState.CANCELLED, "春运"
    db.session.commit()
    user, plate = factory.resident(window.garage)
    response = _book(client, factory, user, window, plate, waitlist=True)
    assert (response.status_code, response.json["error"]) == (422, "booking_closed")
    assert response.json["details"] == {"cause": "closed"}
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    assert "春运" in page and "加入候补" not in page


def test_while_the_household_waits_for_its_check_no_night_can_be_booked_and_the_page_says_why(client, factory):
    from parking.households.models import HouseholdState

    window = factory.window(quota=5)
    user, _plate = factory.resident(window.garage, state=HouseholdState.PENDING)
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    assert "预约这一晚" not in page and "加入候补" not in page and 'action="/nights/several"' not in page
    assert "管理员核实您的住户后才能预约" in page
    home = client.get("/home").get_data(as_text=True)
    assert "预约这一晚" not in home


def test_home_lists_bookings_still_to_come_and_a_month_as_one_line(client, factory, db):
    from datetime import timedelta

    from parking import clock
    from parking.bookings import services as booking_services

    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    booking = factory.booking(window, user=user, plate=plate)
    booking_services.cancel(user, booking.id, clock.now())
    db.session.commit()
    tomorrow = factory.window(template=window.template, quota=5, day=window.service_date + timedelta(days=1))
    factory.booking(tomorrow, user=user, plate=plate)
    _sign_in(client, user)
    page = client.get("/home").get_data(as_text=True)
    assert "已取消" not in page  # the cancelled booking of tonight is not "coming"
    assert page.count('class="card booking"') == 1


def test_registering_a_phone_already_used_offers_to_sign_in_and_to_reset(client, factory):
    from tests.test_resident_pages import _csrf

    user = factory.user()
    token = _csrf(client, "/register")
    data = {"csrf_token": token, "name": "王", "phone": user.phone, "password": "password123"}
    response = client.post("/register", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'href="/login"' in page and 'href="/reset"' in page and "用这个号码登录" in page


def test_the_audit_trail_says_events_fields_and_reasons_in_words_with_the_code_as_a_tooltip(client, factory):
    from tests.manager_helpers import api

    window = factory.window(quota=2)
    factory.booking(window)
    manager = factory.manager(window.garage)
    cut = api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{window.garage_id}/overrides",
        json={
            "template_id": window.template_id,
            "start_date": window.service_date.isoformat(),
            "end_date": window.service_date.isoformat(),
            "quota": 0,
            "reason": "春运",
            "policy": "bump",
        },
    )
    assert cut.status_code == 201, cut.get_json()
    factory.browser(client, manager)
    page = client.get(f"/manage/audit?garage_id={window.garage_id}").get_data(as_text=True)
    assert '<span title="window.quota_changed">名额调整</span>' in page
    assert '<span title="booking.bumped">车站收回了预约</span>' in page
    assert "状态</span>: 未进场 → 车站收回" in page or "状态</span>: 已预约，未进场 → 车站收回" in page
    assert "车站收回了第 " in page and " bumped<" not in page  # the service's reason, in words


def test_a_holiday_preset_reason_is_said_in_one_language(app):
    from flask_babel import force_locale

    from parking.catalogue import reason_words
    from parking.quotas.holidays import PROVISIONAL_NOTE

    with app.test_request_context("/"), force_locale("zh"):
        assert reason_words("New Year's Day 元旦") == "元旦"
        assert reason_words(f"National Day 国庆节 ({PROVISIONAL_NOTE})") == "国庆节（暂定：调休安排还没有公布）"
        assert reason_words("Spring Festival travel rush 春运") == "春运"
        assert reason_words("车站检修") == "车站检修"
    with app.test_request_context("/"), force_locale("en"):
        assert reason_words("Spring Festival 春节") == "Spring Festival"


def test_a_night_cut_to_quota_0_leaves_nobody_waiting_on_it(client, factory):
    from parking.bookings.models import Booking, BookingStatus
    from tests.manager_helpers import api

    window = factory.window(quota=1)
    factory.booking(window)
    waiting = factory.booking(window, waitlist=True)
    assert waiting.status == BookingStatus.WAITLISTED
    manager = factory.manager(window.garage)
    body = {
        "template_id": window.template_id,
        "start_date": window.service_date.isoformat(),
        "end_date": window.service_date.isoformat(),
        "quota": 0,
        "reason": "春运",
        "policy": "bump",
    }
    cut = api(client, factory, manager, "POST", f"/garages/{window.garage_id}/overrides", json=body)
    assert cut.status_code == 201, cut.get_json()
    db.session.expire_all()
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CANCELLED


def test_a_household_not_accepted_is_told_to_correct_its_address_instead_of_a_book_button(client, factory):
    from parking.households.models import HouseholdState

    window = factory.window(quota=5)
    user, _plate = factory.resident(window.garage, state=HouseholdState.REJECTED)
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    assert "您的住户没有通过核实。请先在“我家”页面改正地址。" in page and "预约这一晚" not in page


def test_a_household_waiting_for_its_check_is_offered_no_monthly_pass_and_told_why(client, factory):
    from parking.households.models import HouseholdState
    from tests.monthly_helpers import offered

    setup = offered(factory)
    user, _plate = factory.resident(setup.garage, state=HouseholdState.PENDING)
    _sign_in(client, user)
    monthly = client.get("/monthly").get_data(as_text=True)
    assert "管理员核实您的住户后才能预约" in monthly
    assert 'action="/monthly"' not in monthly  # no form to buy
