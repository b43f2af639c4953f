"""A forgotten password, end to end in Chromium: the manager issues a reset code on the people page,
the resident sets a new password with it on a phone, and the token issued before no longer works;
a resident locked out by wrong passwords reads until when, in Chinese and English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from parking.extensions import db
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE
from tests.browser.pages import STAFF_TARGET, axe_violations, sign_in, sizes, small_targets

PASSWORD = "password123"  # tests.factories
NEW = "a-new-password-7"

WORDS = {
    "zh": {
        "issue": "发重置码",
        "forgot": "用车库管理员给的重置码设新密码",
        "phone": "手机号",
        "code": "重置码（8位数字）",
        "new": "新密码",
        "again": "再输一遍新密码",
        "save": "保存新密码",
        "done": "密码已经改好了",
        "locked": "密码错误次数太多，已暂停到 12月1日 10:15。可以请车库管理员解除。",
    },
    "en": {
        "issue": "Issue a reset code",
        "forgot": "Set a new one with a reset code from the garage manager",
        "phone": "Mobile number",
        "code": "Reset code (8 digits)",
        "new": "New password",
        "again": "New password again",
        "save": "Save the new password",
        "done": "Your password is changed",
        "locked": "signing in with a password is paused until 1 December 10:15. The garage manager can lift this.",
    },
}


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_manager_issues_a_code_and_the_resident_resets_on_a_phone_ending_the_old_token(live, new_page, factory, locale):
    lang, words = locale, WORDS[locale]
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    db.session.commit()  # end the test's transaction: on SQLite it would hold the lock the server waits for

    phone = new_page(viewport=PHONE)
    old = phone.request.post(f"{live}/api/v1/auth/token", data={"phone": resident.phone, "password": PASSWORD})
    assert old.status == 200
    bearer = {"Authorization": f"Bearer {old.json()['access_token']}"}
    assert phone.request.get(f"{live}/api/v1/me", headers=bearer).status == 200

    desk = new_page(viewport=DESKTOP)
    desk.goto(f"{live}/lang/{lang}?next=/login")
    sign_in(desk, live, manager.phone, PASSWORD)
    desk.goto(f"{live}/manage/people")
    assert axe_violations(desk, STAFF_TARGET) == []
    desk.get_by_role("button", name=f"{words['issue']} {resident.name}").click()
    shown = desk.locator(".reset-code")
    expect(shown).to_be_visible()
    code = re.sub(r"\D", "", shown.inner_text())
    assert len(code) == 8
    assert small_targets(desk, STAFF_TARGET) == []
    _shot(desk, f"reset-code-shown-desktop-{lang}")

    phone.goto(f"{live}/lang/{lang}?next=/login")
    phone.get_by_role("link", name=words["forgot"]).click()
    expect(phone.get_by_label(words["code"])).to_be_visible()
    assert axe_violations(phone) == []
    measured = sizes(phone)
    assert measured["body_font"] >= 20 and small_targets(phone) == []
    phone.get_by_label(words["phone"]).fill(resident.phone)
    phone.get_by_label(words["code"]).fill(code)
    phone.get_by_label(words["new"], exact=True).fill(NEW)
    phone.get_by_label(words["again"]).fill(NEW)
    _shot(phone, f"reset-phone-{lang}")
    phone.get_by_role("button", name=words["save"]).click()
    expect(phone.locator(".flashes")).to_contain_text(words["done"])

    assert phone.request.get(f"{live}/api/v1/me", headers=bearer).status == 401
    sign_in(phone, live, resident.phone, NEW)
    assert phone.url.endswith("/home")


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_locked_out_resident_reads_until_when_on_a_phone(live, new_page, factory, locale):
    lang = locale
    garage = factory.garage()
    resident, _ = factory.resident(garage)
    db.session.commit()
    page = new_page(viewport=PHONE)
    page.goto(f"{live}/lang/{lang}?next=/login")
    for _ in range(5):
        sign_in(page, live, resident.phone, "wrong-password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(WORDS[lang]["locked"])
    sign_in(page, live, resident.phone, PASSWORD)  # the right password waits too
    expect(page.get_by_role("alert")).to_contain_text(WORDS[lang]["locked"])
    assert "/login" in page.url
    assert axe_violations(page) == []
    assert sizes(page)["body_font"] >= 20
    _shot(page, f"login-locked-phone-{lang}")
