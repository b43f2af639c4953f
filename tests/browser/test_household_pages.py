"""A rejected household finds its way back, in Chromium at phone size: the resident reads the
manager's reason, corrects the address and sends it again; the manager sees the earlier reason and
approves. The estate's address pickers at 390x844 in zh and en. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from parking import clock
from parking.extensions import db
from parking.households.models import GarageAddressList, Household, HouseholdState, Vehicle, VehicleState
from tests.browser.conftest import DESKTOP, PHONE, screenshot_folder
from tests.browser.pages import STAFF_TARGET, axe_violations, db_scalar, sign_in, sizes, small_targets

REASON = "室号写错了（402 不是 4O2），请重新登记"
SPEC = "1-24 号楼, 1-6 单元, 101-604 室"


def _shot(page, name: str) -> None:
    page.screenshot(path=str(screenshot_folder() / f"{name}.png"), full_page=True)


def _resident_checks(page) -> None:
    assert axe_violations(page) == []
    measured = sizes(page)
    assert measured["body_font"] >= 20, measured["body_font"]
    assert small_targets(page) == [], small_targets(page)


def _rejected_household(factory):
    garage = factory.garage(name="东站车库")
    manager = factory.manager(garage)
    household = Household(
        garage_id=garage.id,
        building="12",
        unit="3",
        room="4O2",
        state=HouseholdState.REJECTED,
        state_reason=REASON,
        created_at=clock.now(),
    )
    db.session.add(household)
    db.session.flush()
    resident = factory.user(household_id=household.id)
    db.session.commit()
    return garage, manager.phone, resident.phone, household.id


RECOVERY_WORDS = {
    "zh": {
        "correct": "修改我的地址",
        "room": "室号",
        "send": "重新提交",
        "refused": "只能填数字和英文字母",
        "sent": "已重新提交",
        "address": "12 号楼 3 单元 402 室",
        "earlier": "上次未通过的原因",
        "again": "已修改并重新提交",
        "approve": "通过 12-3-402",
        "approved": "已通过",
    },
    "en": {
        "correct": "Correct my address",
        "room": "Room",
        "send": "Send again",
        "refused": "Use only digits and Latin letters",
        "sent": "Sent again",
        "address": "Building 12, unit 3, room 402",
        "earlier": "Earlier reason it was not accepted",
        "again": "corrected and sent again",
        "approve": "Approve 12-3-402",
        "approved": "approved",
    },
}


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_rejected_household_reads_the_reason_corrects_the_room_and_the_manager_approves_it(
    live, new_page, factory, locale
):
    words = RECOVERY_WORDS[locale]
    _garage, manager_phone, resident_phone, household_id = _rejected_household(factory)
    page = new_page(viewport=PHONE)
    sign_in(page, live, resident_phone, "password123")

    page.goto(f"{live}/lang/{locale}?next=/home")
    page.get_by_role("link", name=words["correct"]).click()
    expect(page.locator(".rejection-reason")).to_contain_text(REASON)
    room = page.get_by_label(words["room"], exact=True)
    expect(room).to_have_value("4O2")
    _resident_checks(page)
    _shot(page, f"household-rejected-phone-{locale}")

    room.fill("402号")
    page.get_by_role("button", name=words["send"]).click()
    expect(page.locator("#room-error")).to_contain_text(words["refused"])
    expect(page.get_by_label(words["room"], exact=True)).to_have_value("402号")
    page.get_by_label(words["room"], exact=True).fill("402室")
    page.get_by_role("button", name=words["send"]).click()
    expect(page.locator(".flashes")).to_contain_text(words["sent"])
    expect(page.locator("#address-title")).to_have_text(words["address"])
    assert db_scalar(db.select(Household.state).where(Household.id == household_id)) == HouseholdState.PENDING

    desk = new_page(viewport=DESKTOP)
    sign_in(desk, live, manager_phone, "password123")
    desk.goto(f"{live}/lang/{locale}?next=/manage/verify")
    card = desk.locator(f"#household-{household_id}").locator("xpath=..")
    expect(card).to_contain_text(words["earlier"])
    expect(card).to_contain_text(REASON)
    expect(card).to_contain_text(words["again"])
    assert axe_violations(desk, STAFF_TARGET) == []
    _shot(desk, f"manage-verify-resubmitted-desktop-{locale}")
    desk.get_by_role("button", name=words["approve"], exact=True).click()
    expect(desk.locator(".flashes")).to_contain_text(words["approved"])
    assert db_scalar(db.select(Household.state).where(Household.id == household_id)) == HouseholdState.VERIFIED


def test_the_manager_reopens_a_rejected_household_from_the_verify_page(live, new_page, factory):
    _garage, manager_phone, _resident_phone, household_id = _rejected_household(factory)
    desk = new_page(viewport=PHONE)
    sign_in(desk, live, manager_phone, "password123")
    desk.goto(live + "/manage/verify")
    rejected = desk.get_by_role("region", name="未通过审核：1 户")
    expect(rejected).to_contain_text(REASON)
    assert small_targets(desk, STAFF_TARGET) == []
    rejected.get_by_role("button", name="重新审核 12-3-4O2").click()
    expect(desk.locator(".flashes")).to_contain_text("已重新放回待审核列表")
    assert db_scalar(db.select(Household.state).where(Household.id == household_id)) == HouseholdState.PENDING


LABELS = {
    "zh": {
        "building": "楼号",
        "unit": "单元",
        "room": "室号",
        "submit": "登记我的住户",
        "pick": "请从小区的地址列表里选择",
    },
    "en": {
        "building": "Building",
        "unit": "Unit (entrance)",
        "room": "Room",
        "submit": "Register my household",
        "pick": "Choose your building, unit and room",
    },
}


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_new_resident_chooses_the_address_from_the_pickers_at_phone_size(live, new_page, factory, locale):
    garage = factory.garage(name="东站车库")
    spec = SPEC + "\n25 号楼, 1 单元, 1701-1702 室"
    db.session.add(GarageAddressList(garage_id=garage.id, spec=spec, addresses=3458, updated_at=clock.now()))
    phone = factory.user().phone
    db.session.commit()
    words = LABELS[locale]
    page = new_page(viewport=PHONE)
    sign_in(page, live, phone, "password123")
    page.goto(f"{live}/lang/{locale}?next=/household")

    expect(page.locator("form.form")).to_contain_text(words["pick"])
    building = page.get_by_label(words["building"], exact=True)
    assert building.evaluate("e => e.tagName") == "SELECT"
    assert building.locator("option").count() == 26  # "choose" and the 25 buildings
    building.select_option("25")  # the script narrows the units and rooms to building 25's
    expect(page.get_by_label(words["unit"], exact=True).locator("option:not([hidden])")).to_have_count(2)
    expect(page.get_by_label(words["room"], exact=True).locator("option:not([hidden])")).to_have_count(3)
    building.select_option("12")
    expect(page.get_by_label(words["room"], exact=True).locator("option:not([hidden])")).to_have_count(25)
    page.get_by_label(words["unit"], exact=True).select_option("3")
    page.get_by_label(words["room"], exact=True).select_option("402")
    _resident_checks(page)
    _shot(page, f"household-pickers-phone-{locale}")
    page.get_by_role("button", name=words["submit"]).click()

    expect(page.locator("h1")).to_have_text("我家" if locale == "zh" else "My household")
    stored = db_scalar(db.select(Household).where(Household.garage_id == garage.id))
    assert (stored.building, stored.unit, stored.room) == ("12", "3", "402")


def test_a_manager_enters_the_estates_addresses_with_a_preview(live, new_page, factory):
    garage = factory.garage(name="东站车库")
    manager_phone = factory.manager(garage).phone
    db.session.commit()
    desk = new_page(viewport=PHONE)
    sign_in(desk, live, manager_phone, "password123")
    desk.goto(live + "/manage/addresses")
    desk.get_by_label("小区地址列表").fill(SPEC + "\n25、26 号楼, 1 单元, 1701-1702 室")
    desk.get_by_role("button", name="预览").click()
    expect(desk.locator("#preview")).to_contain_text("预览：共 3460 个地址")
    assert db_scalar(db.select(GarageAddressList).where(GarageAddressList.garage_id == garage.id)) is None
    assert axe_violations(desk, STAFF_TARGET) == []
    _shot(desk, "manage-addresses-phone-zh")
    desk.get_by_role("button", name="保存列表").click()
    expect(desk.locator(".flashes")).to_contain_text("已保存：共 3460 个地址")
    assert db_scalar(db.select(GarageAddressList.addresses).where(GarageAddressList.garage_id == garage.id)) == 3460


def test_the_manager_sees_a_plate_clash_releases_the_sold_car_and_approves_the_neighbour(live, new_page, factory):
    garage = factory.garage(name="东站车库")
    manager_phone = factory.manager(garage).phone
    seller = factory.household(garage, plates=0)
    buyer = factory.household(garage, plates=0)
    db.session.add_all(
        [
            Vehicle(household_id=seller.id, plate="沪AD12345", state=VehicleState.VERIFIED, created_at=clock.now()),
            Vehicle(household_id=buyer.id, plate="沪AD12345", state=VehicleState.PENDING, created_at=clock.now()),
        ]
    )
    db.session.commit()
    seller_address = f"{seller.building}-{seller.unit}-{seller.room}"
    desk = new_page(viewport=DESKTOP)
    sign_in(desk, live, manager_phone, "password123")
    desk.goto(live + "/manage/verify")
    clash = desk.locator(".clash")
    expect(clash).to_contain_text("这个车牌已登记在另一户")
    expect(clash).to_contain_text(f"{seller.building} 号楼 {seller.unit} 单元 {seller.room} 室")
    desk.get_by_role("button", name="通过 沪AD12345", exact=True).click()
    expect(desk.locator(".form-errors, .error").first).to_contain_text("请先从那一户解除")
    assert axe_violations(desk, STAFF_TARGET) == []
    _shot(desk, "manage-verify-clash-desktop-zh")

    desk.get_by_role("button", name=f"从 {seller_address} 解除这个车牌").click()
    expect(desk.locator(".clash .error")).to_contain_text("请写明原因")
    desk.locator(".clash").get_by_label("解除这个车牌的原因").fill("车已卖给邻居")
    desk.get_by_role("button", name=f"从 {seller_address} 解除这个车牌").click()
    expect(desk.locator(".flashes")).to_contain_text("已从住户")
    desk.get_by_role("button", name="通过 沪AD12345", exact=True).click()
    expect(desk.locator(".flashes")).to_contain_text("已通过")
    states = {
        hid: db_scalar(db.select(Vehicle.state).where(Vehicle.household_id == hid)) for hid in (seller.id, buyer.id)
    }
    assert states == {seller.id: VehicleState.RELEASED, buyer.id: VehicleState.VERIFIED}


def test_choosing_another_garage_shows_that_garages_address_list(live, new_page, factory):
    typed = factory.garage(name="甲车库")  # first in the list: no address list, the parts are typed
    listed = factory.garage(name="乙车库")
    db.session.add(GarageAddressList(garage_id=listed.id, spec=SPEC, addresses=3456, updated_at=clock.now()))
    phone = factory.user().phone
    db.session.commit()
    page = new_page(viewport=PHONE)
    sign_in(page, live, phone, "password123")
    page.goto(live + "/household")
    expect(page.get_by_label("车库")).to_have_value(str(typed.id))
    expect(page.get_by_label("楼号", exact=True)).to_have_attribute("type", "text")

    page.get_by_label("车库").select_option(str(listed.id))

    expect(page).to_have_url(f"{live}/household?garage_id={listed.id}")
    expect(page.get_by_label("车库")).to_have_value(str(listed.id))
    assert page.get_by_label("楼号", exact=True).evaluate("e => e.tagName") == "SELECT"
