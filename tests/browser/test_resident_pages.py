"""A resident's evening in Chromium: register, describe the household and the car, book a night,
show the pass (the QR read back from the screen is the API's token), and cancel; bad input in every
form said beside its field with nothing changed; the pass still showing with no signal; and every
resident page passing axe and the size rules of the pages at phone and desktop sizes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from parking.auth.models import User
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.households.models import Household, HouseholdState, Vehicle
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.pages import (
    db_scalar,
    meets_the_page_rules,
    pass_shows_with_no_signal,
    read_qr,
    sign_in,
)
from tests.conftest import FIGURES

PAGE_BUDGET = 150 * 1024  # bytes a resident page may transfer on its first load, all responses together


def _count(model) -> int:
    return db_scalar(db.select(db.func.count()).select_from(model))


def _manager_verifies(new_page, live: str, manager, address: str, plate: str) -> None:
    """The garage's manager, in a browser of their own, approves the household and its plate."""
    page = new_page(viewport=DESKTOP)
    sign_in(page, live, manager.phone, "password123")
    page.goto(live + "/manage/verify")
    page.get_by_role("button", name=f"通过 {address}", exact=True).click()
    assert "已通过" in page.locator(".flashes").inner_text()
    page.get_by_role("button", name=f"通过 {plate}", exact=True).click()
    assert "已通过" in page.locator(".flashes").inner_text()


def test_resident_registers_books_a_night_shows_the_pass_and_cancels(live, new_page, factory, client):
    window = factory.window(quota=12)
    garage = window.garage
    manager = factory.manager(garage)
    page = new_page()

    page.goto(live + "/register")
    page.get_by_label("您的姓名").fill("王阿姨")
    page.get_by_label("手机号").fill("13912345678")
    page.get_by_label("密码").fill("secret-pass-1")
    page.get_by_role("button", name="注册").click()
    assert page.url.endswith("/household")

    page.get_by_label("车库").select_option(str(garage.id))
    page.get_by_label("楼号").fill("12")
    page.get_by_label("单元").fill("1")
    page.get_by_label("室号").fill("301")
    page.get_by_role("button", name="登记我的住户").click()
    expect(page.locator("body")).to_contain_text("等待管理员审核您的住户")

    assert page.get_by_label("省份").input_value() == "沪"  # the picker starts at Shanghai
    page.get_by_label("车牌其余部分").fill("a12345")
    page.get_by_role("button", name="添加这辆车").click()
    assert "车牌 沪A12345 已添加" in page.locator(".flashes").inner_text()

    user = db_scalar(db.select(User).where(User.phone == "13912345678"))
    _manager_verifies(new_page, live, manager, "12-1-301", "沪A12345")
    assert db_scalar(db.select(Household.state).where(Household.id == user.household_id)) == HouseholdState.VERIFIED
    page.reload()

    page.get_by_role("link", name="订车位").click()
    tonight = page.locator(f"#night-{window.id}")
    assert "还剩 12 个车位" in tonight.inner_text()
    tonight.get_by_role("button", name="预约这一晚").click()
    assert "预约成功：沪A12345" in page.locator(".flashes").inner_text()
    booking_id = db_scalar(db.select(Booking.id).where(Booking.plate == "沪A12345"))

    page.get_by_role("link", name="出示通行证").click()
    page.wait_for_load_state()  # the stylesheet that sizes the code, before measuring it
    assert page.url.endswith(f"/bookings/{booking_id}/pass")
    assert page.locator(".pass-plate").inner_text() == "沪A12345"
    assert "请把手机屏幕调亮" in page.content()
    box = page.locator(".qr svg").bounding_box()
    assert box["width"] >= 280 and box["height"] >= 280
    db.session.rollback()
    api = client.get(f"/api/v1/bookings/{booking_id}/pass", headers=factory.headers(db.session.get(User, user.id)))
    assert api.status_code == 200
    assert read_qr(page) == api.get_json()["token"]

    page.get_by_role("link", name="返回预约").click()
    page.get_by_role("link", name="取消这个预约").click()
    assert "现在取消不算晚" in page.locator(".lateness").inner_text()
    page.get_by_role("button", name="是的，取消预约").click()
    assert "已取消" in page.locator(".status-line").inner_text()
    assert db_scalar(db.select(Booking.status).where(Booking.id == booking_id)) == BookingStatus.CANCELLED


def _error_of(page, field: str) -> str:
    return page.locator(f"#{field}-error").inner_text()


def _set_household_state(household_id: int, state: HouseholdState) -> None:
    db.session.rollback()
    db.session.get(Household, household_id).state = state
    db.session.commit()


def test_bad_input_in_every_resident_form_is_said_beside_the_field_and_changes_nothing(live, new_page, factory):
    window = factory.window(quota=3)
    garage = window.garage
    taken = factory.household(garage)  # an address somebody registered already
    address = (taken.building, taken.unit, taken.room)
    resident, plate = factory.resident(garage)
    resident_id, household_id, phone, window_id, garage_id = (
        resident.id,
        resident.household_id,
        resident.phone,
        window.id,
        garage.id,
    )
    newcomer = factory.user(phone="13900000011").phone
    db.session.commit()  # SQLite: no transaction of the test may hold the lock the server needs

    page = new_page()
    sign_in(page, live, newcomer, "password123")
    page.goto(live + "/household")  # the household form: empty fields, then a taken address
    page.get_by_label("楼号").fill("12")
    page.get_by_role("button", name="登记我的住户").click()
    assert "请填写此项" in _error_of(page, "unit") and "请填写此项" in _error_of(page, "room")
    assert page.get_by_label("楼号").input_value() == "12"
    page.get_by_label("车库").select_option(str(garage_id))
    page.get_by_label("楼号").fill(address[0])
    page.get_by_label("单元").fill(address[1])
    page.get_by_label("室号").fill(address[2])
    page.get_by_role("button", name="登记我的住户").click()
    assert "已登记" in _error_of(page, "room")
    assert _count(Household) == 2

    other = new_page()
    sign_in(other, live, phone, "password123")
    other.goto(live + "/household")  # the plate form: the switch and the plate disagree, then a duplicate
    vehicles = _count(Vehicle)
    other.get_by_label("车牌其余部分").fill("A12345")
    other.get_by_label("新能源车（绿牌，8 位）").check()
    other.get_by_role("button", name="添加这辆车").click()
    assert "8 位" in _error_of(other, "plate")
    assert other.get_by_label("车牌其余部分").input_value() == "A12345"
    other.get_by_label("新能源车（绿牌，8 位）").uncheck()
    other.get_by_label("车牌其余部分").fill(plate)
    other.get_by_role("button", name="添加这辆车").click()
    assert "已登记" in _error_of(other, "plate")
    assert _count(Vehicle) == vehicles

    other.get_by_label("家人的手机号").fill("12345")  # the member form
    other.get_by_role("button", name="添加这位家人").click()
    assert "11 位手机号" in _error_of(other, "phone")
    other.get_by_label("家人的手机号").fill("13911112222")
    other.get_by_role("button", name="添加这位家人").click()
    assert "没有" in _error_of(other, "phone")
    assert db_scalar(db.select(db.func.count()).where(User.household_id == household_id)) == 1

    _set_household_state(household_id, HouseholdState.PENDING)  # not verified: no book button, and why
    other.goto(live + "/nights")
    expect(other.locator(f"#night-{window_id}")).to_contain_text("管理员核实您的住户后才能预约")
    expect(other.locator(f"#night-{window_id}").get_by_role("button", name="预约这一晚")).to_have_count(0)
    assert _count(Booking) == 0

    _set_household_state(household_id, HouseholdState.VERIFIED)
    other.goto(live + "/nights")
    other.locator(f"#night-{window_id}").get_by_role("button", name="预约这一晚").click()
    booking_id = db_scalar(db.select(Booking.id).where(Booking.household_id == household_id))
    other.goto(f"{live}/bookings/{booking_id}/cancel")  # the cancel form, refused: the car drove in meanwhile
    db.session.rollback()
    db.session.get(Booking, booking_id).status = BookingStatus.CHECKED_IN
    db.session.commit()
    other.get_by_role("button", name="是的，取消预约").click()
    assert "已无法取消" in other.locator(".form-errors").inner_text()
    assert db_scalar(db.select(Booking.status).where(Booking.id == booking_id)) == BookingStatus.CHECKED_IN
    assert resident_id


def test_the_pass_shows_again_with_no_signal_after_one_visit(live, new_page, factory):
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage)
    booking_id, phone = factory.booking(window, user=user, plate=plate).id, user.phone
    db.session.commit()
    page = new_page()
    sign_in(page, live, phone, "password123")
    pass_shows_with_no_signal(page, f"{live}/bookings/{booking_id}/pass", plate)


def _first_load(browser, state: dict, url: str) -> int:
    """Bytes of every response of a first load of `url`: a new browser context with nothing cached,
    signed in with the cookies of `state`."""
    context = browser.new_context(viewport=PHONE, storage_state=state)
    responses, pending = [], set()
    try:
        page = context.new_page()
        page.on("request", lambda request: pending.add(request))
        page.on("requestfinished", lambda request: pending.discard(request))
        page.on("requestfailed", lambda request: pending.discard(request))
        page.on("response", lambda response: responses.append(response))
        page.goto(url, wait_until="load")
        for _ in range(100):  # and whatever the page's scripts asked for after the load event
            if not pending:
                break
            page.wait_for_timeout(20)
        assert not pending, [request.url for request in pending]
        assert all(r.status < 300 or r.status in (301, 302, 303) for r in responses), [
            (r.url, r.status) for r in responses
        ]
        return sum(len(r.body()) for r in responses if r.status < 300)
    finally:
        context.close()


def _resident_with_a_booking(factory) -> tuple[str, int]:
    window = factory.window(quota=12)
    household = factory.household(window.garage, plates=2)
    user = household.members[0]
    booking_id, phone = factory.booking(window, user=user, plate=household.vehicles[0].plate).id, user.phone
    db.session.commit()
    return phone, booking_id


def _pages(booking_id: int) -> list[str]:
    return [
        "/home",
        "/household",
        "/nights",
        "/bookings",
        f"/bookings/{booking_id}",
        f"/bookings/{booking_id}/cancel",
        f"/bookings/{booking_id}/pass",
        "/notifications",
    ]


NEWCOMER_PAGES = ["/home", "/household", "/nights"]


@pytest.mark.drawing
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_first_load_of_every_resident_page_transfers_at_most_150_kb(live, new_page, browser, factory, locale):
    phone, booking_id = _resident_with_a_booking(factory)
    page = new_page()
    sign_in(page, live, phone, "password123")
    page.goto(f"{live}/lang/{locale}?next=/home")
    state = page.context.storage_state()
    for path in _pages(booking_id):
        weight = _first_load(browser, state, live + path)
        FIGURES.append(f"first load of {path} ({locale}): {weight / 1024:.1f} KB")
        assert 0 < weight <= PAGE_BUDGET, (path, weight)


@pytest.mark.drawing
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_resident_page_passes_axe_and_the_size_rules(live, new_page, factory, locale):
    phone, booking_id = _resident_with_a_booking(factory)
    factory.user(phone="13900000021")  # a resident without a household yet
    db.session.commit()
    page = new_page(viewport=PHONE)

    def check(path: str) -> None:
        page.goto(f"{live}/lang/{locale}?next={path}")
        meets_the_page_rules(page)

    sign_in(page, live, phone, "password123")
    for path in _pages(booking_id):
        check(path)
    page.context.clear_cookies()
    sign_in(page, live, "13900000021", "password123")
    for path in NEWCOMER_PAGES:
        check(path)


def test_the_pass_prints_on_one_a4_page_without_the_menus(live, new_page, factory):
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage)
    booking_id, phone = factory.booking(window, user=user, plate=plate).id, user.phone
    db.session.commit()
    page = new_page()
    sign_in(page, live, phone, "password123")
    page.goto(f"{live}/bookings/{booking_id}/pass")
    page.emulate_media(media="print")
    assert not page.locator(".main-nav").is_visible() and not page.locator(".site-footer").is_visible()
    assert page.locator(".pass-plate").is_visible() and page.locator(".qr svg").is_visible()
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, pages
