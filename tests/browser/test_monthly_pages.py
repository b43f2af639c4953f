"""A resident buys a monthly pass in Chromium, hands a night back and shows the month's pass (the QR
read from the screen is the pass the gate accepts); every monthly page passes axe and the size rules
of the pages (60 px targets for residents, 44 px for managers) at phone and desktop sizes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.monthly.models import Subscription
from tests.browser.conftest import PHONE
from tests.browser.pages import (
    db_scalar,
    meets_the_page_rules,
    pass_shows_with_no_signal,
    read_qr,
    sign_in,
)
from tests.monthly_helpers import offered, subscribe


def test_resident_buys_a_month_hands_a_night_back_and_shows_the_pass(live, new_page, factory):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    db.session.commit()
    page = new_page()
    sign_in(page, live, user.phone, "password123")
    page.goto(live + "/home")
    page.get_by_role("link", name="包月").first.click()
    assert page.url.endswith("/monthly")
    offer = page.locator(f"#offer-{setup.template.id}")
    assert "每月 310.00 元" in offer.inner_text()
    offer.get_by_label("2026年12月").check()
    offer.get_by_role("button", name="买这个包月").click()
    assert "包月已买好" in page.locator(".flashes").inner_text()
    assert "已订 31 晚" in page.content()

    page.get_by_role("link", name=re.compile("退回这一晚.*12月3日")).click()
    expect(page.locator("body")).to_contain_text("这不算违约")
    page.get_by_role("button", name="是的，退回").click()
    assert "已退回：12月3日" in page.locator(".flashes").inner_text()
    subscription = db_scalar(db.select(Subscription))
    night = db_scalar(
        db.select(Booking).where(Booking.subscription_id == subscription.id, Booking.status == BookingStatus.CANCELLED)
    )
    assert night is not None

    page.get_by_role("link", name="出示包月通行证").first.click()
    assert plate in page.locator(".pass-plate").inner_text()
    assert read_qr(page).startswith("M1.")


def test_the_monthly_pass_shows_again_with_no_signal_after_one_visit(live, new_page, factory, client):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    response = subscribe(client, factory, user, setup, plate)
    subscription_id, phone = response.json["id"], user.phone
    db.session.commit()
    page = new_page()
    sign_in(page, live, phone, "password123")
    pass_shows_with_no_signal(page, f"{live}/monthly/{subscription_id}/pass", plate)


@pytest.mark.drawing
def test_every_monthly_page_passes_axe_and_the_size_rules(live, new_page, factory, client):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    response = subscribe(client, factory, user, setup, plate)
    subscription_id = response.json["id"]
    resident_phone, manager_phone = user.phone, setup.manager.phone
    db.session.commit()  # reading a phone began a transaction: on SQLite it holds the lock
    page = new_page(viewport=PHONE)

    def check(path: str, target: int) -> None:
        page.goto(live + path)
        meets_the_page_rules(page, target, axe_at="phone" if target == 60 else "desktop")

    sign_in(page, live, resident_phone, "password123")
    for path in (
        "/monthly",
        f"/monthly/{subscription_id}",
        f"/monthly/{subscription_id}/nights/2026-12-05/hand-back",
        f"/monthly/{subscription_id}/pass",
        "/bookings",  # the month as one line, with its next night
        "/home",
    ):
        check(path, 60)
    page.context.clear_cookies()
    sign_in(page, live, manager_phone, "password123")
    check("/manage/monthly", 44)
