"""Two phones signed in to one account, in Chromium at phone size, in Chinese and English: logging
out on one leaves the other signed in and kills the logged-out phone's cookies, copies included;
"sign out everywhere" and a password change end the other phone; logging out clears the pass kept
for no signal; a resident downloads their data and deletes their account; /account and its
confirm pages pass axe and the size rules."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from parking.auth.models import User
from parking.extensions import db
from tests.browser.conftest import PHONE
from tests.browser.pages import (
    axe_violations,
    db_scalar,
    pass_shows_with_no_signal,
    sign_in,
    sizes,
    small_targets,
)

WORDS = {
    "zh": {
        "sign_out": "退出登录",
        "account": "我的账号",
        "everywhere": "所有设备退出登录",
        "signed_out": "您已退出登录",
        "everywhere_done": "所有手机和电脑都已退出登录",
        "current": "现在的密码",
        "new": "新密码",
        "again": "再输一遍新密码",
        "change": "修改密码",
        "wrong": "现在的密码不对",
        "changed": "密码已修改",
    },
    "en": {
        "sign_out": "Sign out",
        "account": "My account",
        "everywhere": "Sign out everywhere",
        "signed_out": "You have signed out",
        "everywhere_done": "You are signed out on every phone and computer",
        "current": "Current password",
        "new": "New password",
        "again": "New password again",
        "change": "Change password",
        "wrong": "The current password is not right",
        "changed": "Your password is changed",
    },
}


def _phone(new_page, live: str, locale: str, user_phone: str):
    """A phone of its own (a fresh browser context) signed in to the account in `locale`."""
    page = new_page(viewport=PHONE, locale="zh-CN" if locale == "zh" else "en-US")
    page.goto(f"{live}/lang/{locale}?next=/login")
    sign_in(page, live, user_phone, "password123")
    assert urlsplit(page.url).path == "/home", page.url
    return page


def _opens_home(page, live: str) -> bool:
    page.goto(f"{live}/home")
    return urlsplit(page.url).path == "/home"


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_logout_on_one_phone_leaves_the_other_signed_in_and_a_copied_cookie_dies(
    live, new_page, factory, browser, locale
):
    user = factory.user()
    db.session.commit()
    words = WORDS[locale]
    first, second = _phone(new_page, live, locale, user.phone), _phone(new_page, live, locale, user.phone)
    copied = first.context.cookies()
    assert {c["name"] for c in copied} >= {"session", "remember_token"}

    first.get_by_role("button", name=words["sign_out"]).click()
    expect(first.locator(".flashes")).to_contain_text(words["signed_out"])
    assert urlsplit(first.url).path == "/login"

    assert _opens_home(second, live)
    thief = new_page(viewport=PHONE)
    thief.context.add_cookies(copied)
    assert not _opens_home(thief, live)
    assert "/login" in thief.url


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_sign_out_everywhere_on_one_phone_ends_the_other(live, new_page, factory, locale):
    user = factory.user()
    db.session.commit()
    words = WORDS[locale]
    first, second = _phone(new_page, live, locale, user.phone), _phone(new_page, live, locale, user.phone)

    first.get_by_role("navigation", name="Main menu" if locale == "en" else "主菜单").get_by_role(
        "link", name=words["account"]
    ).click()
    expect(first.get_by_role("heading", level=1)).to_have_text(words["account"])
    first.get_by_role("link", name=words["everywhere"]).click()
    first.get_by_role("button", name=words["everywhere"]).click()
    expect(first.locator(".flashes")).to_contain_text(words["everywhere_done"])

    assert not _opens_home(second, live)
    assert not _opens_home(first, live)


def test_a_password_change_keeps_this_phone_and_signs_the_other_out(live, new_page, factory):
    user = factory.user()
    db.session.commit()
    words = WORDS["zh"]
    first, second = _phone(new_page, live, "zh", user.phone), _phone(new_page, live, "zh", user.phone)
    first.goto(f"{live}/account")

    first.get_by_label(words["current"]).fill("not-my-password")
    first.get_by_label(words["new"], exact=True).fill("a-new-secret-9")
    first.get_by_label(words["again"]).fill("a-new-secret-9")
    first.get_by_role("button", name=words["change"]).click()
    expect(first.locator("#current_password-error")).to_contain_text(words["wrong"])
    assert _opens_home(second, live)

    first.get_by_label(words["current"]).fill("password123")
    first.get_by_label(words["new"], exact=True).fill("a-new-secret-9")
    first.get_by_label(words["again"]).fill("a-new-secret-9")
    first.get_by_role("button", name=words["change"]).click()
    expect(first.locator(".flashes")).to_contain_text(words["changed"])

    assert _opens_home(first, live)
    assert not _opens_home(second, live)
    sign_in(second, live, user.phone, "a-new-secret-9")
    assert urlsplit(second.url).path == "/home"


def test_logout_clears_the_pass_kept_for_no_signal(live, new_page, factory):
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage)
    booking_id, phone = factory.booking(window, user=user, plate=plate).id, user.phone
    db.session.commit()
    page = new_page()
    sign_in(page, live, phone, "password123")
    url = f"{live}/bookings/{booking_id}/pass"
    pass_shows_with_no_signal(page, url, plate)

    page.get_by_role("button", name="退出登录").click()
    expect(page.locator(".flashes")).to_contain_text("您已退出登录")
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0

    page.context.set_offline(True)
    try:
        page.goto(url)
    except PlaywrightError:
        pass  # no signal and nothing kept: the browser's own offline page
    finally:
        page.context.set_offline(False)
    assert page.locator(".pass-plate").count() == 0


@pytest.mark.drawing
@pytest.mark.parametrize("locale", ["zh", "en"])
@pytest.mark.parametrize("path", ["/account", "/account/sign-out-everywhere", "/account/delete"])
def test_account_pages_pass_axe_and_the_size_rules_at_phone_size(live, new_page, factory, locale, path):
    user = factory.user()
    db.session.commit()
    page = _phone(new_page, live, locale, user.phone)
    page.goto(live + path)
    assert axe_violations(page) == []
    measured = sizes(page)
    assert measured["body_font"] >= 20 and measured["line_height"] >= 1.5
    assert measured["smallest_text"] >= 18
    assert small_targets(page) == []
    assert db_scalar(db.select(User.locale).where(User.id == user.id)) == locale


def test_a_resident_downloads_their_data_then_deletes_their_account(live, new_page, factory):
    user = factory.user()
    db.session.commit()
    phone = user.phone
    page = _phone(new_page, live, "en", phone)
    page.goto(f"{live}/account")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    assert download.value.suggested_filename.startswith(f"tidal-parking-export-{user.id}-")

    page.get_by_role("link", name="Delete my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account?")
    page.get_by_label("Your password").fill("not the password")
    page.get_by_label("I understand", exact=False).check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator("#current_password-error")).to_contain_text("The current password is not right")
    page.get_by_label("Your password").fill("password123")
    page.get_by_label("I understand", exact=False).check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator(".flashes")).to_contain_text("Your account is deleted")
    assert urlsplit(page.url).path == "/login"
    assert not _opens_home(page, live)
    assert db_scalar(db.select(User.phone).where(User.id == user.id)) == f"x{user.id:010d}"
