"""A garage manager at work, in Chromium: cutting a night below its bookings asks first (refuse
changes nothing, bump bumps and tells the household), bad input is said beside the field, another
garage's pages are closed, and every manager page passes axe with 44 px targets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from parking import clock
from parking.auth.models import User
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.quotas.models import QuotaOverride
from parking.windows.models import Window, WindowTemplate
from tests.browser.conftest import DESKTOP
from tests.browser.pages import STAFF_TARGET, db_scalar, meets_the_page_rules, sign_in
from tests.manager_helpers import book_many


@pytest.fixture
def garage(factory):
    """A garage with tonight's window (5 spaces, 4 booked), a pending household and a pending plate,
    and its manager."""
    garage = factory.garage(name="浦东东站车库")
    window = factory.window(garage, quota=5)
    made = book_many(factory, window, 4)
    factory.household(garage, state=HouseholdState.PENDING)
    household = factory.household(garage, plates=0)
    db.session.add(
        Vehicle(household_id=household.id, plate="沪AD12345", state=VehicleState.PENDING, created_at=clock.now())
    )
    manager = factory.manager(garage)
    db.session.commit()
    return {"garage": garage, "window": window, "bookings": made, "manager": manager}


def _statuses(window_id: int) -> list[BookingStatus]:
    db.session.rollback()
    try:
        return list(
            db.session.scalars(db.select(Booking.status).where(Booking.window_id == window_id).order_by(Booking.id))
        )
    finally:
        db.session.commit()


def _count(model) -> int:
    return db_scalar(db.select(db.func.count()).select_from(model))


def _cut_tonight(page, quota: str) -> None:
    page.get_by_role("link", name="日历").click()
    page.locator("td.today").get_by_role("link", name="修改").click()
    expect(page.get_by_label("给居民的车位数", exact=True)).to_be_visible()
    page.get_by_label("给居民的车位数", exact=True).fill(quota)
    page.get_by_label("原因（居民可能会看到）").fill("春运车站自用")
    page.get_by_role("button", name="保存规则").click()


def test_a_manager_cuts_tonight_below_its_bookings_refuses_then_bumps(live, new_page, garage):
    window, made = garage["window"], garage["bookings"]
    db.session.commit()
    page = new_page(viewport=DESKTOP)
    sign_in(page, live, garage["manager"].phone, "password123")
    assert page.url.endswith("/manage")

    _cut_tonight(page, "1")
    assert "3 个预约会失去车位" in page.locator(".warn-card").inner_text()
    assert page.get_by_label("保留所有预约：什么都不改").is_checked()
    page.get_by_role("button", name="确认").click()
    assert "什么都没有改" in page.locator(".flashes").inner_text()
    assert db_scalar(db.select(Window.quota).where(Window.id == window.id)) == 5
    assert _statuses(window.id) == [BookingStatus.CONFIRMED] * 4
    assert _count(QuotaOverride) == 0

    _cut_tonight(page, "1")
    page.get_by_label("收回车位：最新的预约失去车位，并通知这些住户").check()
    page.get_by_role("button", name="确认").click()
    assert "3 个预约失去了车位" in page.locator(".flashes").inner_text()
    assert db_scalar(db.select(Window.quota).where(Window.id == window.id)) == 1
    assert _statuses(window.id) == [BookingStatus.CONFIRMED] + [BookingStatus.BUMPED] * 3
    expect(page.get_by_role("cell", name="春运车站自用")).to_be_visible()  # the rule is listed

    # The bumped household is told: its member reads it in the inbox.
    newest = made[-1]
    member = db_scalar(db.select(User).where(User.household_id == newest.household_id))
    resident = new_page()
    sign_in(resident, live, member.phone, "password123")
    resident.goto(live + "/notifications")
    inbox = resident.locator("main").inner_text()
    assert newest.plate in inbox and "候补" in inbox


def _error(page, field_id: str) -> str:
    return page.locator(f"#{field_id}-error").inner_text()


def test_bad_input_in_every_manager_form_is_said_beside_the_field_and_changes_nothing(live, new_page, garage):
    g = garage["garage"]
    db.session.commit()
    before = {
        "overrides": _count(QuotaOverride),
        "templates": _count(WindowTemplate),
        "pending": db_scalar(
            db.select(db.func.count()).select_from(Household).where(Household.state == HouseholdState.PENDING)
        ),
        "plates": db_scalar(
            db.select(db.func.count()).select_from(Vehicle).where(Vehicle.state == VehicleState.PENDING)
        ),
    }
    page = new_page(viewport=DESKTOP)
    sign_in(page, live, garage["manager"].phone, "password123")

    page.goto(f"{live}/manage/overrides?garage_id={g.id}")
    form = page.locator("form", has=page.get_by_role("button", name="保存规则"))
    form.get_by_label("第一晚").fill("2026-12-10")
    form.get_by_label("最后一晚").fill("2026-12-05")
    form.get_by_label("给居民的车位数", exact=True).fill("3")
    form.get_by_role("button", name="保存规则").click()
    assert "不能早于第一晚" in _error(page, "end_date")
    assert "请填写此项" in _error(page, "reason")
    assert page.get_by_label("给居民的车位数", exact=True).first.input_value() == "3"  # values kept

    holiday = page.locator("form", has=page.get_by_role("button", name="设置节假日"))
    holiday.get_by_label("年份").fill("1800")
    holiday.get_by_role("button", name="设置节假日").click()
    assert "2027" in _error(page, "year-holiday")
    assert "请填写此项" in _error(page, "quota-holiday")

    page.goto(f"{live}/manage/verify?garage_id={g.id}")
    first = page.locator("article").first
    first.get_by_role("button", name="不通过").click()
    assert "请写明原因" in page.locator("article").first.locator(".error").inner_text()
    plate = page.locator("article", has_text="沪AD12345")
    plate.get_by_role("button", name="不通过 沪AD12345", exact=True).click()
    assert "请写明原因" in page.locator("article", has_text="沪AD12345").locator(".error").inner_text()

    page.goto(f"{live}/manage/templates?garage_id={g.id}")
    page.get_by_label("名称").fill("")
    page.get_by_label("开始时间").fill("")
    page.get_by_label("给居民的车位数", exact=True).fill("-1")
    page.get_by_role("button", name="新增这个时段").click()
    assert "请填写此项" in _error(page, "name")
    assert "19:00" in _error(page, "start_time") or "请填写" in _error(page, "start_time")
    assert "0 到" in _error(page, "default_quota")

    page.goto(f"{live}/manage/templates?garage_id={g.id}")
    page.get_by_role("link", name="修改").first.click()
    page.get_by_label("给居民的车位数", exact=True).fill("100000000")
    page.get_by_role("button", name="保存", exact=True).click()
    assert "0 到" in _error(page, "default_quota")

    page.goto(f"{live}/manage/reports?garage_id={g.id}&from=2026-12-05&to=2026-12-01")
    assert "结束日期不能早于开始日期" in _error(page, "to")
    page.goto(f"{live}/manage/audit?garage_id={g.id}&object=booking-42")
    assert "booking:42" in _error(page, "object")
    page.goto(f"{live}/manage/calendar?garage_id={g.id}&month=2026-13")
    assert "2026-12" in _error(page, "month")

    assert _count(QuotaOverride) == before["overrides"]
    assert _count(WindowTemplate) == before["templates"]
    pending = db.select(db.func.count()).select_from(Household).where(Household.state == HouseholdState.PENDING)
    assert db_scalar(pending) == before["pending"]
    waiting = db.select(db.func.count()).select_from(Vehicle).where(Vehicle.state == VehicleState.PENDING)
    assert db_scalar(waiting) == before["plates"]
    assert db_scalar(db.select(WindowTemplate.default_quota)) == 5  # the edit did not save


SECTIONS = ["calendar", "overrides", "reports", "verify", "audit"]


def test_a_manager_of_one_garage_gets_403_for_another_garages_pages(live, new_page, garage, factory):
    other = factory.garage(name="别的车库")
    factory.window(other, quota=3)
    db.session.commit()
    page = new_page(viewport=DESKTOP)
    sign_in(page, live, garage["manager"].phone, "password123")
    for section in SECTIONS:
        response = page.goto(f"{live}/manage/{section}?garage_id={other.id}")
        assert response.status == 403, section
        assert "您不是该车库的管理人员" in page.get_by_role("heading", level=1).inner_text()
        assert "别的车库" not in page.content()
    page.goto(f"{live}/manage/calendar")  # the refused garage was not remembered
    assert "浦东东站车库" in page.locator(".garage-name").inner_text()


MANAGER_PAGES = [
    "/manage",
    "/manage/calendar",
    "/manage/overrides",
    "/manage/verify",
    "/manage/people",
    "/manage/templates",
    "/manage/templates/{template_id}",
    "/manage/reports",
    "/manage/addresses",
    "/manage/audit",
    "/manage/deliveries",
]


def _a_dead_letter(user, garage_id: int) -> None:
    """A message the gateway refused: the banner on every page, a row and its button on /manage/deliveries."""
    from parking.notifications.models import Delivery, DeliveryState, Notification
    from parking.notifications.services import notify

    assert notify([user.id], "household_verified", {}) == 1
    note = db.session.scalar(
        db.select(Notification).where(Notification.user_id == user.id, Notification.kind == "household_verified")
    )
    now = clock.now()
    db.session.add(
        Delivery(
            notification_id=note.id,
            garage_id=garage_id,
            state=DeliveryState.DEAD,
            attempts=1,
            last_error="HTTP 410",
            created_at=now,
            next_attempt_at=now,
            dead_at=now,
            sms_counted=False,
        )
    )
    db.session.commit()


@pytest.mark.drawing
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_manager_page_passes_axe_with_44px_targets(live, new_page, garage, locale):
    template_id = garage["window"].template_id
    _a_dead_letter(garage["manager"], garage["window"].garage_id)
    clock.advance(timedelta(minutes=1))
    db.session.commit()
    page = new_page(viewport=DESKTOP)  # a manager's PC: axe there, the targets at phone size too
    sign_in(page, live, garage["manager"].phone, "password123")
    for path in [*MANAGER_PAGES, "confirm"]:
        if path == "confirm":  # the second step of a cut
            page.goto(f"{live}/lang/{locale}?next=/manage/overrides")
            page.locator("input[name=quota]").first.fill("1")
            page.locator("input[name=reason]").fill("test")
            page.locator("input[name=start_date]").first.fill(garage["window"].service_date.isoformat())
            page.locator("input[name=end_date]").first.fill(garage["window"].service_date.isoformat())
            page.locator("form", has=page.locator("input[name=reason]")).locator("button[type=submit]").click()
            expect(page.locator(".warn-card")).to_be_visible()
        else:
            page.goto(f"{live}/lang/{locale}?next=" + path.format(template_id=template_id))
        meets_the_page_rules(page, STAFF_TARGET, axe_at="desktop", text=False)
        assert page.locator("html").get_attribute("lang") == ("zh-CN" if locale == "zh" else "en")
