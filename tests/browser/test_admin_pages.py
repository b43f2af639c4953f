"""The admin's pages in Chromium: create a garage, change its rules, give it staff, all through the
same services as the admin API; bad input is said beside the field and changes nothing."""

from __future__ import annotations

import pytest

from parking.audit.models import AuditEvent
from parking.auth.models import GarageStaff, Role, User
from parking.extensions import db
from parking.windows.models import Garage
from tests.browser.conftest import DESKTOP
from tests.browser.pages import STAFF_TARGET, db_scalar, meets_the_page_rules, sign_in


def _admin(factory) -> User:
    return factory.user(Role.ADMIN, phone="13800000100")


def test_admin_creates_a_garage_changes_a_rule_and_gives_it_staff(live, new_page, factory):
    _admin(factory)
    future = factory.user(phone="13800000101", name="李师傅")
    db.session.commit()
    page = new_page(viewport=DESKTOP)
    sign_in(page, live, "13800000100", "password123")
    assert page.url.endswith("/admin")
    page.get_by_role("link", name="新建车库").click()
    page.get_by_label("名称", exact=True).fill("周家渡地下车库")
    page.get_by_label("实际车位数").fill("120")
    page.get_by_label("居民可以提前几天预约").fill("7")
    page.get_by_role("button", name="创建车库").click()
    assert "已创建" in page.locator(".flashes").inner_text()
    garage = db_scalar(db.select(Garage).where(Garage.name == "周家渡地下车库"))
    assert garage.capacity == 120 and garage.horizon_days == 7 and garage.timezone == "Asia/Shanghai"

    page.get_by_label("每户每晚最多预约几个车位").fill("2")
    page.get_by_role("button", name="保存修改").click()
    assert "已保存" in page.locator(".flashes").inner_text()
    assert db_scalar(db.select(Garage.bookings_per_household).where(Garage.id == garage.id)) == 2

    page.locator("#staff").get_by_label("手机号").fill("13800000101")
    page.get_by_label("角色").select_option("attendant")
    page.get_by_role("button", name="添加为工作人员").click()
    assert "李师傅 已成为本车库的工作人员" in page.locator(".flashes").inner_text()
    assert db_scalar(db.select(User.role).where(User.id == future.id)) == Role.ATTENDANT

    page.get_by_role("button", name="把 李师傅 移出本车库").click()
    assert db_scalar(db.select(db.func.count()).select_from(GarageStaff).where(GarageStaff.user_id == future.id)) == 0
    assert db_scalar(db.select(User.role).where(User.id == future.id)) == Role.RESIDENT
    actions = {
        db_scalar(db.select(AuditEvent.id).where(AuditEvent.action == a).limit(1)) is not None
        for a in ("garage.created", "garage.updated", "staff.added", "staff.removed")
    }
    assert actions == {True}


def test_bad_admin_input_is_said_beside_the_field_and_changes_nothing(live, new_page, factory):
    _admin(factory)
    garage = factory.garage(capacity=100)
    factory.template(garage, default_quota=60)
    page = new_page(viewport=DESKTOP)
    sign_in(page, live, "13800000100", "password123")

    page.goto(f"{live}/admin/garages/new")
    page.get_by_label("实际车位数").fill("0")
    page.get_by_role("button", name="创建车库").click()
    assert "请填写此项" in page.locator("#name-error").inner_text()
    assert "1 到" in page.locator("#capacity-error").inner_text()
    assert page.get_by_label("实际车位数").input_value() == "0"  # kept

    page.goto(f"{live}/admin/garages/{garage.id}")
    page.get_by_label("实际车位数").fill("50")  # below the template's quota of 60
    page.get_by_role("button", name="保存修改").click()
    assert "名额" in page.locator("#capacity-error").inner_text()
    page.get_by_label("实际车位数").fill("100")
    page.get_by_label("居民可以提前几天预约").fill("999")
    page.get_by_role("button", name="保存修改").click()
    assert "1 到 60" in page.locator("#horizon_days-error").inner_text()

    page.locator("#staff").get_by_label("手机号").fill("13999999999")
    page.get_by_role("button", name="添加为工作人员").click()
    assert "没有" in page.locator("#staff #phone-error").inner_text()
    assert db_scalar(db.select(db.func.count(Garage.id))) == 1
    assert db_scalar(db.select(Garage.capacity).where(Garage.id == garage.id)) == 100
    assert db_scalar(db.select(db.func.count()).select_from(GarageStaff)) == 0


def test_only_admins_reach_the_admin_pages(live, new_page, factory):
    garage = factory.garage()
    factory.user(Role.MANAGER, garage, phone="13800000102")
    page = new_page()
    response = page.goto(f"{live}/admin")
    assert page.url.endswith("/login?next=/admin") and response.status == 200
    sign_in(page, live, "13800000102", "password123")
    assert page.goto(f"{live}/admin").status == 403
    assert page.goto(f"{live}/admin/garages/{garage.id}").status == 403


@pytest.mark.drawing
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_admin_pages_pass_axe(live, new_page, factory, locale):
    _admin(factory)
    garage = factory.garage()
    factory.user(Role.MANAGER, garage)
    page = new_page(viewport=DESKTOP)
    page.goto(f"{live}/lang/{locale}?next=/login")
    sign_in(page, live, "13800000100", "password123")
    for path in ["/admin", "/admin/garages/new", f"/admin/garages/{garage.id}", "/admin/accounts/erase"]:
        page.goto(live + path)
        meets_the_page_rules(page, STAFF_TARGET, axe_at="desktop", text=False)
