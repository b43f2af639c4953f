"""Signing up and in as a person does, in Chromium: Chinese first, English by a remembered switch,
messages beside the fields, and nothing changed by bad input."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from parking.auth.models import User
from parking.extensions import db
from tests.browser.conftest import PHONE
from tests.browser.pages import db_scalar, meets_the_page_rules, sign_in


def _users() -> int:
    return db_scalar(db.select(db.func.count(User.id)))


def test_resident_registers_and_lands_on_the_household_page(live, new_page):
    page = new_page()
    page.goto(live + "/")
    page.get_by_role("link", name="注册（第一次使用）").click()
    page.get_by_label("您的姓名").fill("王阿姨")
    page.get_by_label("手机号").fill("139 1234 5678")
    page.get_by_label("密码").fill("secret-pass-1")
    page.get_by_role("button", name="注册").click()
    assert page.url.endswith("/household")
    assert "欢迎" in page.locator(".flashes").inner_text()
    user = db_scalar(db.select(User).where(User.phone == "13912345678"))
    assert user is not None and user.name == "王阿姨"


def test_bad_registration_shows_each_message_beside_its_field_and_changes_nothing(live, new_page, factory):
    factory.user(phone="13900000001")
    before = _users()
    page = new_page()
    page.goto(live + "/register")
    page.get_by_label("手机号").fill("12345")
    page.get_by_label("密码").fill("short")
    page.get_by_role("button", name="注册").click()
    assert page.locator("#name-error").inner_text().strip().endswith("请填写此项。")
    assert "11 位手机号" in page.locator("#phone-error").inner_text()
    assert "8" in page.locator("#password-error").inner_text()
    assert page.get_by_label("手机号").input_value() == "12345"  # the value is kept
    assert _users() == before

    page.get_by_label("您的姓名").fill("李伯伯")
    page.get_by_label("手机号").fill("13900000001")
    page.get_by_label("密码").fill("long-enough-1")
    page.get_by_role("button", name="注册").click()
    assert "已注册" in page.locator("#phone-error").inner_text()
    assert _users() == before


def test_wrong_password_is_said_beside_the_password(live, new_page, factory):
    factory.user(phone="13900000002")
    page = new_page()
    sign_in(page, live, "13900000002", "wrong-password")
    assert "/login" in page.url
    assert "手机号或密码不正确" in page.locator("#password-error").inner_text()
    sign_in(page, live, "13900000002", "password123")
    assert page.url.endswith("/home")


def test_language_switch_is_remembered_by_the_browser_and_the_account(live, new_page, factory):
    user = factory.user(phone="13900000003")
    page = new_page()
    page.goto(live + "/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(live + "/register")  # the browser remembers
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    sign_in(page, live, "13900000003", "password123")
    assert page.locator("html").get_attribute("lang") == "en"
    assert db_scalar(db.select(User.locale).where(User.id == user.id)) == "en"

    other = new_page()  # another browser, the same account: the account remembers
    sign_in(other, live, "13900000003", "password123")
    assert other.locator("html").get_attribute("lang") == "en"
    other.get_by_role("button", name="中文").click()
    assert other.locator("html").get_attribute("lang") == "zh-CN"
    assert db_scalar(db.select(User.locale).where(User.id == user.id)) == "zh"


@pytest.mark.drawing
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_account_pages_pass_axe_and_the_size_rules(live, new_page, locale):
    page = new_page(viewport=PHONE)
    for path in ["/", "/login", "/register"]:
        page.goto(f"{live}/lang/{locale}?next={path}")
        meets_the_page_rules(page)


@pytest.mark.parametrize(("locale", "show", "hide"), [("zh-CN", "显示", "隐藏"), ("en-GB", "Show", "Hide")])
def test_a_password_can_be_seen_with_its_switch_and_stays_a_plain_field_without_script(
    live, new_page, locale, show, hide
):
    page = new_page(viewport=PHONE, locale=locale)
    page.goto(f"{live}/lang/{locale[:2]}?next=/login")
    field = page.locator("input[name=password]")
    switch = page.locator("#sign-in button.show-password")
    field.fill("tide-demo-2026")
    expect(switch).to_be_visible()
    box = switch.bounding_box()
    assert box["width"] >= 60 and box["height"] >= 60, box
    assert switch.inner_text().startswith(show)
    switch.click()
    assert field.get_attribute("type") == "text" and field.input_value() == "tide-demo-2026"
    assert switch.inner_text().startswith(hide)
    switch.click()
    assert field.get_attribute("type") == "password"

    plain = new_page(viewport=PHONE, locale=locale, java_script_enabled=False)
    plain.goto(f"{live}/register")
    expect(plain.locator("button.show-password")).to_be_hidden()
    assert plain.locator("input[name=password]").get_attribute("type") == "password"
