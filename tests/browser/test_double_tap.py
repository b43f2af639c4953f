"""A resident taps "book this night" in Chromium and the answer is lost on the way back (no signal:
the page simply stays), so the resident taps again on the same form: the night is booked once, and
the second tap lands on the booking with its flash, not on a refusal. (Chromium itself sends a quick
double click's form once.)"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from parking.bookings.models import Booking
from parking.extensions import db
from parking.idempotency.models import IdempotencyKey
from tests.browser.conftest import PHONE
from tests.browser.pages import db_scalar, sign_in


def test_a_resident_double_taps_book_this_night_and_books_it_once(live, new_page, factory):
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage)
    window_id, phone, household_id = window.id, user.phone, user.household_id
    db.session.commit()
    page = new_page(viewport=PHONE)
    sign_in(page, live, phone, "password123")
    page.goto(live + "/nights")

    sent: list[str] = []

    def lose_the_first_answer(route):
        sent.append(route.request.post_data or "")
        if len(sent) == 1:
            route.fetch(max_redirects=0)  # the server books …
            route.fulfill(status=204)  # … and nothing comes back: the page stays as it was
        else:
            route.continue_()

    page.route(live + "/nights", lose_the_first_answer)
    tap = page.locator(f"#night-{window_id}").get_by_role("button", name=re.compile("预约这一晚"))
    with page.expect_response(lambda r: r.request.method == "POST"):  # the handler above has run
        tap.click()
    expect(page).to_have_url(live + "/nights")
    assert db_scalar(db.select(db.func.count()).select_from(Booking).where(Booking.household_id == household_id)) == 1
    tap.click()

    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    expect(page.locator(".flashes")).to_contain_text(f"预约成功：{plate}")
    assert len(sent) == 2 and sent[0] == sent[1], sent  # the same form, key and all, sent twice
    booked = db.select(db.func.count()).select_from(Booking).where(Booking.household_id == household_id)
    assert db_scalar(booked) == 1
    assert db_scalar(db.select(db.func.count()).select_from(IdempotencyKey)) == 1
