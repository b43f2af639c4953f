"""The resident pages without a browser: the rules the pages add (joining a plate from the province
picker, the new-energy switch and the typed rest; the late-cancel wording), every page answering,
and refusals placed beside their field with nothing changed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from wtforms.validators import ValidationError

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.households import services as household_services
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.web.forms.household import join_plate
from tests.conftest import SHANGHAI


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in(client, user) -> None:
    token = _csrf(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "phone": user.phone, "password": "password123"})
    assert response.status_code == 302


def _count(db, model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.mark.parametrize(
    ("province", "rest", "new_energy", "plate"),
    [
        ("沪", "A12345", False, "沪A12345"),
        ("沪", "a 123-45", False, "沪A12345"),
        ("京", "AD12345", True, "京AD12345"),
        ("沪", "苏E12345", False, "苏E12345"),  # a whole plate pasted into the text field
        ("沪", "ｂ12345", False, "沪B12345"),  # full-width letters from a Chinese keyboard
    ],
)
def test_the_plate_is_joined_from_the_picker_and_the_typed_rest(app, province, rest, new_energy, plate):
    assert join_plate(province, rest, new_energy) == plate


@pytest.mark.parametrize(
    ("rest", "new_energy", "words"),
    [
        ("A12345", True, "绿色新能源车牌共 8 位"),  # ticked green, but only 7 in all
        ("AD12345", False, "请勾选“新能源车"),  # 8 in all, not ticked: the box named by its label
        ("A1234", False, "车牌共 7 位"),
        ("I12345", False, "不是有效的车牌"),  # I is never used on plates
    ],
)
def test_a_plate_that_does_not_fit_the_switch_or_the_rules_is_refused_in_words(app, rest, new_energy, words):
    with app.test_request_context("/"), pytest.raises(ValidationError) as refused:
        join_plate("沪", rest, new_energy)
    assert words in str(refused.value.args[0])


def _booked(factory, quota=5):
    window = factory.window(quota=quota)
    user, plate = factory.resident(window.garage)
    booking = factory.booking(window, user=user, plate=plate)
    return window, user, booking


def _shanghai(hour: int, minute: int = 0):
    return datetime(2026, 12, 1, hour, minute, tzinfo=SHANGHAI)


def test_every_resident_page_answers_for_a_resident_with_a_booking(client, factory):
    _window, user, booking = _booked(factory)
    _sign_in(client, user)
    paths = ["/home", "/household", "/nights", "/bookings", f"/bookings/{booking.id}"]
    paths += [f"/bookings/{booking.id}/cancel", f"/bookings/{booking.id}/pass", "/notifications"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:2000])


def test_the_cancel_question_says_free_before_the_free_cancel_time_and_late_after(client, factory, db):
    window, user, booking = _booked(factory)
    window.garage.free_cancel_minutes = 120  # free until 17:00 for a night that opens at 19:00
    db.session.commit()
    _sign_in(client, user)
    early = client.get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "现在取消不算晚" in early and "12月1日 17:00" in early

    clock.set_now(_shanghai(17, 0))  # the rule's own instant is already late
    late = client.get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "记为晚取消" in late and "现在取消不算晚" not in late
    response = client.post(f"/bookings/{booking.id}/cancel", data={"csrf_token": _csrf(client, "/bookings")})
    assert response.status_code == 302
    cancelled = db.session.get(Booking, booking.id)
    assert cancelled.status == BookingStatus.CANCELLED and cancelled.late_cancel is True
    assert "晚取消" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_cancelling_in_time_is_not_late_and_the_page_says_so(client, factory, db):
    _window, user, booking = _booked(factory)
    _sign_in(client, user)
    response = client.post(f"/bookings/{booking.id}/cancel", data={"csrf_token": _csrf(client, "/bookings")})
    assert db.session.get(Booking, booking.id).late_cancel is False
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "谢谢您把车位让出来" in page and "已取消" in page


def test_leaving_the_waitlist_is_never_late(client, factory):
    window = factory.window(quota=1)
    factory.booking(window)  # the one space
    user, plate = factory.resident(window.garage)
    waiting = factory.booking(window, user=user, plate=plate, waitlist=True)
    assert waiting.status == BookingStatus.WAITLISTED
    clock.set_now(_shanghai(20, 0))
    _sign_in(client, user)
    assert "退出候补不算晚取消" in client.get(f"/bookings/{waiting.id}/cancel").get_data(as_text=True)


def test_a_plate_is_joined_from_the_province_picker_the_rest_and_the_green_switch(client, factory, db):
    garage = factory.garage()
    household = factory.household(garage, plates=0)
    _sign_in(client, household.members[0])
    data = {"csrf_token": _csrf(client, "/household"), "province": "京", "plate": "ad 12345", "new_energy": "y"}
    response = client.post("/household/vehicles", data=data)
    assert response.status_code == 302
    assert [v.plate for v in db.session.scalars(db.select(Vehicle))] == ["京AD12345"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"province": "沪", "plate": "A12345", "new_energy": "y"}, "绿色新能源车牌共 8 位"),
        ({"province": "沪", "plate": "AO1234"}, "不是有效的车牌"),
        ({"province": "沪", "plate": ""}, "请填写车牌号"),
        ({"province": "X", "plate": "A12345"}, "请从列表中选择"),
    ],
)
def test_a_bad_plate_is_said_beside_its_field_and_adds_nothing(client, factory, db, data, message):
    garage = factory.garage()
    household = factory.household(garage, plates=0)
    _sign_in(client, household.members[0])
    response = client.post("/household/vehicles", data={"csrf_token": _csrf(client, "/household"), **data})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    field = "province" if data["province"] == "X" else "plate"
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    assert error and message in error.group(1)
    assert f'value="{data["plate"]}"' in page  # what was typed is kept
    assert _count(db, Vehicle) == 0


def test_a_refused_booking_is_explained_beside_that_nights_button_and_books_nothing(client, factory, db):
    window, _user, booking = _booked(factory)
    other, _plate = factory.resident(window.garage)  # a second household that registered the same car
    # One household per verified plate: the first household's car was released to the second
    # (its booking for tonight kept, as for a car already inside).
    db.session.get(Vehicle, booking.vehicle_id).state = VehicleState.RELEASED
    db.session.add(
        Vehicle(
            household_id=other.household_id, plate=booking.plate, state=VehicleState.VERIFIED, created_at=clock.now()
        )
    )
    db.session.commit()
    _sign_in(client, other)
    before = _count(db, Booking)
    data = {"csrf_token": _csrf(client, "/nights"), "window_id": window.id, "plate": booking.plate}
    response = client.post("/nights", data=data)
    assert response.status_code == 409
    error = re.search(
        rf'id="book-{window.id}-errors" tabindex="-1" autofocus>(.*?)</p>', response.get_data(as_text=True), re.S
    )
    assert error and "该车牌当晚已有预约" in error.group(1)
    assert _count(db, Booking) == before


def test_a_suspended_household_is_told_beside_the_button_and_on_the_page(client, factory, db):
    window = factory.window(quota=5)
    user, _plate = factory.resident(window.garage)
    household = db.session.get(Household, user.household_id)
    household.suspended_until = clock.now() + timedelta(days=3)
    db.session.commit()
    _sign_in(client, user)
    nights = client.get("/nights").get_data(as_text=True)
    assert "暂停预约到 12月4日 10:00" in nights
    data = {"csrf_token": _csrf(client, "/nights"), "window_id": window.id, "plate": household.vehicles[0].plate}
    response = client.post("/nights", data=data)
    assert response.status_code == 403
    error = re.search(
        rf'id="book-{window.id}-errors" tabindex="-1" autofocus>(.*?)</p>', response.get_data(as_text=True), re.S
    )
    assert error and "暂停" in error.group(1)
    assert _count(db, Booking) == 0


def test_another_households_booking_is_not_found(client, factory):
    _window, _user, booking = _booked(factory)
    stranger, _plate = factory.resident(booking.window.garage)
    _sign_in(client, stranger)
    for path in [f"/bookings/{booking.id}", f"/bookings/{booking.id}/cancel", f"/bookings/{booking.id}/pass"]:
        assert client.get(path).status_code == 404


def test_the_inbox_shows_the_newest_message_first_in_the_status_words(client, factory):
    _window, user, booking = _booked(factory)
    _sign_in(client, user)
    client.post(f"/bookings/{booking.id}/cancel", data={"csrf_token": _csrf(client, "/bookings")})
    page = client.get("/notifications").get_data(as_text=True)
    plate = booking.plate
    assert page.index(f"已取消：{plate}") < page.index(f"已预约：{plate}")


def test_a_verified_household_books_tonight_from_the_home_page_with_one_button(client, factory, db):
    window = factory.window(quota=4)
    user, plate = factory.resident(window.garage)
    _sign_in(client, user)
    home = client.get("/home").get_data(as_text=True)
    form = re.search(rf'<li class="card night" id="night-{window.id}">.*?</li>', home, re.S).group(0)
    assert 'action="/nights"' in form and "预约这一晚" in form and "还剩 4 个车位" in form
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    response = client.post("/nights", data=fields)
    assert response.status_code == 302
    booked = db.session.scalar(db.select(Booking).where(Booking.window_id == window.id))
    assert booked.plate == plate and booked.status == BookingStatus.CONFIRMED
    home = client.get("/home").get_data(as_text=True)
    assert "出示通行证" in home and "<svg" in home  # tonight's pass, with its code, on the home page


def test_a_full_night_offers_the_waitlist_and_joins_it(client, factory, db):
    window = factory.window(quota=1)
    factory.booking(window)
    user, plate = factory.resident(window.garage)
    _sign_in(client, user)
    nights = client.get("/nights").get_data(as_text=True)
    card = re.search(rf'id="night-{window.id}">.*?</li>', nights, re.S).group(0)
    assert "已满，可候补" in card and 'name="waitlist" value="y"' in card and "排队候补" in card
    data = {"csrf_token": _csrf(client, "/nights"), "window_id": window.id, "plate": plate, "waitlist": "y"}
    assert client.post("/nights", data=data).status_code == 302
    assert db.session.scalar(db.select(Booking.status).where(Booking.plate == plate)) == BookingStatus.WAITLISTED


def test_the_inbox_is_for_every_user_and_shows_only_their_own_messages(client, factory, db):
    garage = factory.garage()
    manager = factory.manager(garage)
    household = factory.household(garage, state=HouseholdState.PENDING)
    member = household.members[0]
    household_services.verify(manager, household.id, "verified", None, clock.now())
    db.session.commit()
    _sign_in(client, manager)
    staff_inbox = client.get("/notifications")
    assert staff_inbox.status_code == 200 and "您的住户已通过审核" not in staff_inbox.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": _csrf(client, "/logout")})
    _sign_in(client, member)
    assert "您的住户已通过审核" in client.get("/notifications").get_data(as_text=True)


def test_dates_and_times_worked_out_once_are_still_said_in_each_readers_language(app):
    """The night list's dates and times are worked out once per process and language: a reader of
    the other language, and tonight's reader tomorrow, never get the words of the first."""
    from datetime import date

    from parking.web.words import day_words, span_words

    day = date(2026, 12, 3)
    opens, closes = datetime(2026, 12, 3, 19, 0, tzinfo=SHANGHAI), datetime(2026, 12, 4, 7, 30, tzinfo=SHANGHAI)
    said = {}
    for lang in ("zh", "en", "zh", "en"):
        with app.app_context(), app.test_request_context(f"/nights?lang={lang}"):  # a fresh g
            said.setdefault(lang, set()).add(
                (
                    day_words(day),
                    day_words(day, date(2026, 12, 3)),
                    day_words(day, date(2026, 12, 2)),
                    span_words(opens, closes),
                )
            )
    assert said == {
        "zh": {("12月3日 星期四", "今晚，12月3日 星期四", "明晚，12月3日 星期四", "19:00 到 次日 07:30")},
        "en": {
            (
                "Thursday 3 December",
                "Tonight, Thursday 3 December",
                "Tomorrow night, Thursday 3 December",
                "19:00 to 07:30 next day",
            )
        },
    }
