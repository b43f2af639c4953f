"""The gate station after one online load, and its plate look-up: the page and all it needs are kept
on the first load (a reload without network shows it and judges passes), the lists refresh as soon
as the scans queued offline are uploaded, and a plate is looked up by POST (never in an address)
with its answer at the top, where a scan's goes; an unknown plate offers no button to let it in."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from parking import clock
from parking.bookings.models import Booking
from parking.extensions import db
from tests.browser.pages import db_scalar, meets_the_page_rules
from tests.browser.test_gate_page import EVENING, _open_gate, _scan, _token
from tests.gate_helpers import booked


def _kept_on_first_load(page) -> None:
    expect(page.locator("html")).to_have_attribute("data-gate-kept", "true")


def test_the_gate_page_works_offline_after_its_first_load(live, new_page, factory):
    setup = booked(factory)
    token = _token(setup)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)  # one online load, nothing more
    _kept_on_first_load(page)
    expect(page.locator("#gate-banner")).to_have_attribute("data-network", "online")
    page.context.set_offline(True)
    try:
        reloaded = page.reload()
        assert reloaded is not None and reloaded.from_service_worker
        expect(page.locator("html")).to_have_attribute("data-gate-ready", "true")
        expect(page.locator("#gate-banner")).to_have_attribute("data-network", "offline")
        assert (
            page.evaluate("getComputedStyle(document.querySelector('#gate-result')).borderRadius") != "0px"
        )  # gate.css
        _scan(page, token, "ok")  # the verifier script came from the store too
        expect(page.locator("#gate-result .result-offline")).to_be_visible()
    finally:
        page.context.set_offline(False)


def test_the_lists_refresh_as_soon_as_the_offline_scans_are_uploaded(live, new_page, factory):
    setup = booked(factory)
    token, plate = _token(setup), setup.booking.plate
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    _kept_on_first_load(page)
    inside = page.locator(".list-inside")
    expect(inside).not_to_contain_text(plate)
    page.context.set_offline(True)
    expect(page.locator("#gate-banner")).to_have_attribute("data-network", "offline")
    _scan(page, token, "ok")
    page.context.set_offline(False)
    expect(page.locator("#gate-banner")).to_have_attribute("data-queue", "0", timeout=15_000)
    # well before the 20-second refresh: the upload itself brings the lists up to date
    expect(inside).to_contain_text(plate, timeout=3_000)
    expect(page.locator(".list-expected")).not_to_contain_text(plate, timeout=3_000)


def _look_up(page, plate: str) -> None:
    page.locator(".lookup-form select[name=province]").select_option(plate[0])
    page.locator(".lookup-form input[name=plate]").fill(plate[1:])
    requests = []
    page.on("request", lambda request: requests.append(request))
    page.get_by_role("button", name="查询", exact=True).click()
    page.wait_for_load_state()
    looked = [r for r in requests if urlsplit(r.url).path == "/gate/plate"]
    assert looked and looked[0].method == "POST"
    assert all(plate[1:] not in r.url and "plate=" not in r.url for r in requests)  # never in an address


def test_a_plate_answer_takes_the_top_and_lets_a_booked_car_in(live, new_page, factory):
    setup = booked(factory)
    plate = setup.booking.plate
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    _look_up(page, plate)
    top = page.locator("#gate-result")
    expect(top).to_have_attribute("data-result", "lookup")
    expect(top.locator(".result-plate")).to_have_text(plate)
    expect(top).not_to_contain_text("请扫码")
    expect(top).to_contain_text("今晚有预约")
    expect(top.get_by_role("button", name="凭车牌放行出场")).to_have_count(0)  # not inside yet
    expect(page.locator("html")).to_have_attribute("data-gate-ready", "true")
    box = top.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]  # all of it in view
    assert page.evaluate("document.activeElement.name") == "token"  # the scanner still types into its field
    meets_the_page_rules(page)  # the answer's buttons as large as every gate control
    before = int(top.get_attribute("data-seq") or 0)
    top.get_by_role("button", name="凭车牌放行入场").click()
    expect(top).to_have_attribute("data-seq", str(before + 1))
    expect(top).to_have_attribute("data-result", "ok")
    expect(top.locator(".lookup-actions")).to_have_count(0)
    assert db_scalar(db.select(Booking.inside).where(Booking.id == setup.booking.id)) is True


def test_an_unknown_plate_offers_no_button_to_let_it_in(live, new_page, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    _look_up(page, "沪Z99999")
    top = page.locator("#gate-result")
    expect(top).to_have_attribute("data-result", "lookup")
    expect(top.locator(".result-plate")).to_have_text("沪Z99999")
    expect(top).to_contain_text("今晚没有预约")
    expect(top).not_to_contain_text("请扫码")
    expect(page.get_by_role("button", name="凭车牌放行入场")).to_have_count(0)
    expect(page.get_by_role("button", name="凭车牌放行出场")).to_have_count(0)


def test_a_plate_look_up_without_network_is_said_at_the_top_and_the_page_stays(live, new_page, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    _kept_on_first_load(page)
    page.context.set_offline(True)
    try:
        expect(page.locator("#gate-banner")).to_have_attribute("data-network", "offline")
        page.locator(".lookup-form input[name=plate]").fill(setup.booking.plate[1:])
        page.get_by_role("button", name="查询", exact=True).click()
        top = page.locator("#gate-result")
        expect(top).to_have_attribute("data-result", "error")
        expect(top).to_contain_text("服务器没有回应")
        assert urlsplit(page.url).path == "/gate"
    finally:
        page.context.set_offline(False)
