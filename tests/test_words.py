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
