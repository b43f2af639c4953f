"""The pass underground, where there is no signal: one visit to /home with signal keeps /home,
/bookings and the pass of every night in the next 48 hours (and the month's pass); with the browser
offline the resident reaches tonight's pass from /home in one tap, the page says how old it is and
turns off what needs the network. Kept pages show only to the resident they were kept for and go at
sign-out. A browser that keeps no pages offers the pass as a picture instead."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from parking import clock
from parking.auth.models import User
from parking.extensions import db
from parking.garages.services import today
from tests.browser.pages import read_qr, sign_in
from tests.gate_helpers import qr_codes


def _token(client, factory, user_id: int, booking_id: int) -> str:
    db.session.rollback()
    answer = client.get(f"/api/v1/bookings/{booking_id}/pass", headers=factory.headers(db.session.get(User, user_id)))
    assert answer.status_code == 200
    return answer.get_json()["token"]


def _resident_with_tonight(factory):
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage)
    booking = factory.booking(window, user=user, plate=plate)
    db.session.commit()
    return user.id, user.phone, plate, booking.id


def _kept(page) -> None:
    """Wait until the service worker has kept what /home named, and controls the page."""
    page.wait_for_selector("html[data-kept]", state="attached")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def test_one_visit_to_home_keeps_tonights_pass_one_tap_away_with_no_signal(live, new_page, factory, client):
    user_id, phone, plate, booking_id = _resident_with_tonight(factory)
    user = db.session.get(User, user_id)
    garage = user.household.garage
    later = factory.window(garage, quota=3, day=today(garage, clock.now()) + timedelta(days=5))
    far = factory.booking(later, user=user, plate=plate).id  # beyond 48 hours: not kept
    next_night = factory.window(garage, quota=3, day=today(garage, clock.now()) + timedelta(days=1))
    tomorrow = factory.booking(next_night, user=user, plate=plate).id
    db.session.commit()
    token = _token(client, factory, user_id, booking_id)
    page = new_page()  # a fresh browser profile
    sign_in(page, live, phone, "password123")  # lands on /home: the one visit
    assert page.url.endswith("/home")
    _kept(page)
    keep = page.evaluate("JSON.parse(document.querySelector('script[data-keep]').dataset.keep)")
    assert {f"/bookings/{booking_id}/pass", f"/bookings/{tomorrow}/pass", "/bookings"} <= set(keep)
    assert f"/bookings/{far}/pass" not in keep

    page.context.set_offline(True)
    try:
        page.goto(live + "/home")
        note = page.locator("#kept-note")
        expect(note).to_be_visible()
        assert "没有信号" in note.inner_text() and "保存" in note.inner_text()
        # what needs the network is off, with the reason
        for button in page.locator("form button").all():
            assert button.is_disabled() and button.get_attribute("aria-describedby") == "kept-note"
        # tomorrow's booking opens its kept pass; a night beyond 48 hours is turned off
        expect(page.locator(f'a[data-href="/bookings/{tomorrow}"]').first).to_have_attribute(
            "href", f"/bookings/{tomorrow}/pass"
        )
        expect(page.locator(f'a[data-href="/bookings/{far}"]').first).to_have_attribute("aria-disabled", "true")

        page.get_by_role("link", name="出示通行证").click()  # the one tap
        expect(page.locator(".pass-plate")).to_have_text(plate)
        assert page.url.endswith(f"/bookings/{booking_id}/pass")
        expect(page.locator("#kept-note")).to_be_visible()
        assert read_qr(page) == token
        assert page.locator(".qr svg").bounding_box()["width"] >= 280

        page.goto(live + "/bookings")  # the list too
        expect(page.locator("#kept-note")).to_be_visible()
        expect(page.locator("form button").first).to_be_disabled()
    finally:
        page.context.set_offline(False)
    expect(page.locator("form button").first).to_be_enabled()  # the signal is back

    page.context.set_offline(True)
    try:
        with pytest.raises(PlaywrightError):
            page.goto(f"{live}/bookings/{far}/pass")  # nothing kept beyond 48 hours
    finally:
        page.context.set_offline(False)


def test_the_age_of_a_kept_page_is_said_in_minutes(live, new_page, factory):
    _user_id, phone, _plate, _booking_id = _resident_with_tonight(factory)
    page = new_page()
    sign_in(page, live, phone, "password123")
    _kept(page)
    # the page was kept 7 minutes ago by this phone's clock
    page.evaluate(
        """async () => {
            const cache = await caches.open('tidal-kept-v2');
            const hit = await cache.match('/home');
            const headers = new Headers(hit.headers);
            headers.set('X-Kept-At', String(Date.now() - 7 * 60000));
            await cache.put('/home', new Response(await hit.blob(), {headers}));
        }"""
    )
    page.context.set_offline(True)
    try:
        page.goto(live + "/home")
        expect(page.locator(".kept-age")).to_contain_text("7 分钟前保存")
    finally:
        page.context.set_offline(False)


def test_kept_pages_show_only_to_the_resident_they_were_kept_for(live, new_page, factory):
    _user_id, phone, _plate, booking_id = _resident_with_tonight(factory)
    other_window = factory.window(quota=3)
    other, _other_plate = factory.resident(other_window.garage)
    other_phone = other.phone
    db.session.commit()
    page = new_page()
    sign_in(page, live, phone, "password123")
    _kept(page)
    whose = page.evaluate("fetch('/home').then(r => r.headers.get('X-Kept-For'))")
    assert re.fullmatch("[0-9a-f]{32}", whose)  # a keyed hash, not the id

    # This browser now carries another resident's sign-in, without passing the sign-in page (which
    # forgets every kept page by itself): that resident's own pages say whose they are.
    elsewhere = new_page()
    sign_in(elsewhere, live, other_phone, "password123")
    page.context.clear_cookies()
    page.context.add_cookies(elsewhere.context.cookies())
    page.goto(live + "/home")
    _kept(page)
    page.context.set_offline(True)
    try:
        page.goto(live + "/home")
        expect(page.locator("#kept-note")).to_be_visible()  # the other resident's own home, kept
        with pytest.raises(PlaywrightError):
            page.goto(f"{live}/bookings/{booking_id}/pass")  # the first resident's pass is not shown
    finally:
        page.context.set_offline(False)


def test_sign_out_clears_what_was_kept(live, new_page, factory):
    _user_id, phone, _plate, booking_id = _resident_with_tonight(factory)
    page = new_page()
    sign_in(page, live, phone, "password123")
    _kept(page)
    assert page.evaluate("caches.keys()") != []
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login")
    assert page.evaluate("caches.keys()") == []
    page.context.set_offline(True)
    try:
        for path in ("/home", f"/bookings/{booking_id}/pass"):
            with pytest.raises(PlaywrightError):
                page.goto(live + path)
    finally:
        page.context.set_offline(False)


@pytest.mark.drawing
def test_a_browser_that_keeps_no_pages_offers_the_pass_as_a_picture(live, new_page, factory, client):
    user_id, phone, plate, booking_id = _resident_with_tonight(factory)
    token = _token(client, factory, user_id, booking_id)
    page = new_page(service_workers="block")
    sign_in(page, live, phone, "password123")
    page.goto(f"{live}/bookings/{booking_id}/pass")
    offer = page.locator("#no-keeping")
    expect(offer).to_be_visible(timeout=15_000)  # after the wait for a worker that never starts
    assert "浏览器" in offer.inner_text()
    expect(page.locator("#saved-note")).to_be_hidden()
    with page.expect_download() as download:
        page.get_by_role("button", name="把通行证存为图片").click()
    picture = Image.open(download.value.path())
    texts = {barcode.text for barcode in qr_codes(picture)}
    assert texts == {token}
    assert plate in download.value.suggested_filename
