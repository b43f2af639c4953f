"""A resident ticks two nights on /nights and books both with the one button, in Chromium; the
page with its checkboxes passes axe and the resident size rules (60 px targets); the manager's
draw page passes axe at 44 px on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from parking import clock
from parking.bookings import ballot
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.windows.services import today
from tests.ballot_helpers import CLOSE, ballot_night, requesters
from tests.browser.conftest import PHONE
from tests.browser.pages import axe_violations, db_scalar, sign_in, small_targets


def _two_nights(factory):
    first = factory.window(quota=3)
    day = today(first.garage, first.opens_at) + timedelta(days=1)
    second = factory.window(template=first.template, quota=3, day=day)
    user, _plate = factory.resident(first.garage)
    ids = (first.id, second.id, user.phone, user.household_id)
    db.session.commit()
    return ids


def test_a_resident_ticks_two_nights_and_books_them(live, new_page, factory):
    first, second, phone, household_id = _two_nights(factory)
    page = new_page(viewport=PHONE)
    sign_in(page, live, phone, "password123")
    page.goto(live + "/nights")
    form = page.locator("section.several form")
    form.locator(f"input[name=window_ids][value='{first}']").check()
    form.locator(f"input[name=window_ids][value='{second}']").check()
    form.get_by_role("button", name="预约选中的几晚").click()
    page.wait_for_url(live + "/bookings")
    flashes = page.locator(".flashes").inner_text()
    assert flashes.count("：已预约") == 2, flashes
    statuses = db_scalar(
        db.select(db.func.count())
        .select_from(Booking)
        .where(Booking.household_id == household_id, Booking.status == BookingStatus.CONFIRMED)
    )
    assert statuses == 2


@pytest.mark.drawing
def test_the_nights_page_with_its_checkboxes_passes_axe_at_60_px(live, new_page, factory):
    _first, _second, phone, _household = _two_nights(factory)
    page = new_page(viewport=PHONE)
    sign_in(page, live, phone, "password123")
    for locale in ("zh", "en"):
        page.goto(f"{live}/lang/{locale}?next=/nights")
        assert page.locator("input[name=window_ids]").count() >= 2
        assert axe_violations(page, 60) == []
        assert small_targets(page, 60) == [], small_targets(page, 60)


@pytest.mark.drawing
def test_the_draw_page_passes_axe_at_44_px(live, new_page, factory, client):
    window = ballot_night(factory, quota=1)
    requesters(client, factory, window, 2)
    manager = factory.manager(window.garage)
    clock.set_now(CLOSE + timedelta(minutes=1))
    ballot.run_due_draws(clock.now())
    ids = (window.id, manager.phone)
    db.session.commit()
    page = new_page(viewport=PHONE)
    sign_in(page, live, ids[1], "password123")
    page.goto(f"{live}/manage/draw/{ids[0]}")
    assert page.locator("table.draw tbody tr").count() == 2
    assert axe_violations(page, 44) == []
    assert small_targets(page, 44) == [], small_targets(page, 44)


def test_a_resident_withdraws_a_draw_request_from_its_page(live, new_page, factory, client):
    """The booking page offers the cancel the service allows for a request before the draw."""
    window = ballot_night(factory, quota=2)
    ((user, _plate, booking_id),) = requesters(client, factory, window, 1)
    phone = user.phone
    db.session.commit()
    page = new_page(viewport=PHONE)
    sign_in(page, live, phone, "password123")
    page.goto(f"{live}/bookings/{booking_id}")
    page.get_by_role("link", name="取消这个预约").click()
    page.get_by_role("button", name="是的，取消预约").click()
    page.wait_for_url(f"{live}/bookings/{booking_id}")
    assert "已取消。谢谢您把车位让出来。" in page.locator(".flashes").inner_text()
    status = db_scalar(db.select(Booking.status).where(Booking.id == booking_id))
    assert status == BookingStatus.CANCELLED
