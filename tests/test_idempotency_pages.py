"""The booking forms of /nights (one night, several nights) and /monthly carry a key per rendered
form: a double tap books once and the second submit lands on the first one's outcome, the same
redirect and flash, or the same refusal. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from parking.bookings.models import Booking
from parking.idempotency.models import IdempotencyKey
from parking.monthly.models import Subscription
from parking.windows.services import today
from tests.concurrency_helpers import race
from tests.monthly_helpers import offered
from tests.test_resident_pages import _sign_in


def _form(page: str, marker: str) -> str:
    return re.search(rf"<form(?:(?!<form).)*?{re.escape(marker)}.*?</form>", page, re.S).group(0)


def _hidden(form: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', form).group(1)


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _night_form(client, window) -> dict:
    form = _form(client.get("/nights").get_data(as_text=True), f'name="window_id" value="{window.id}"')
    return {
        "csrf_token": _hidden(form, "csrf_token"),
        "window_id": window.id,
        "plate": _hidden(form, "plate"),
        "idempotency_key": _hidden(form, "idempotency_key"),
    }


def _flashes(client, location: str) -> str:
    page = client.get(location).get_data(as_text=True)
    shown = re.findall(r'<p class="flash[^"]*">(.*?)</p>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", "", s).strip() for s in shown)


def test_every_rendered_booking_form_carries_its_own_key(client, factory):
    first = factory.window(quota=3)
    second = factory.window(
        template=first.template, quota=3, day=today(first.garage, first.opens_at) + timedelta(days=1)
    )
    user, _plate = factory.resident(first.garage)
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    assert len(keys) == page.count('name="window_id"') + 1  # a form per night and the several-nights form
    again = re.findall(r'name="idempotency_key" value="([^"]+)"', client.get("/nights").get_data(as_text=True))
    assert len(set(keys) | set(again)) == 2 * len(keys)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16,}", key) for key in keys)
    assert second.id in {int(w) for w in re.findall(r'name="window_id" value="(\d+)"', page)}


def test_a_double_tap_on_book_this_night_books_once_and_both_land_on_the_booking(client, factory, db):
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage)
    _sign_in(client, user)
    data = _night_form(client, window)

    first = client.post("/nights", data=data)
    first_flash = _flashes(client, first.headers["Location"])
    second = client.post("/nights", data=data)

    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers["Location"] == first.headers["Location"]
    assert _flashes(client, second.headers["Location"]) == first_flash
    assert plate in first_flash and "预约成功" in first_flash
    assert _count(db, Booking) == 1


def test_two_taps_at_the_same_moment_book_once(app, client, factory, db):
    window = factory.window(quota=3)
    user, _plate = factory.resident(window.garage)
    _sign_in(client, user)
    data = _night_form(client, window)
    session = client.get_cookie("session").value
    db.session.commit()

    def tap(c):
        c.set_cookie("session", session)
        return c.post("/nights", data=data)

    responses = race(app, [tap, tap])

    assert [r.status_code for r in responses] == [302, 302], [r.get_data(as_text=True)[:300] for r in responses]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert _count(db, Booking) == 1
    assert _count(db, IdempotencyKey) == 1


def test_a_new_form_after_booking_is_a_new_request_and_is_refused_as_before(client, factory, db):
    window = factory.window(quota=3)
    user, _plate = factory.resident(window.garage)
    _sign_in(client, user)
    data = _night_form(client, window)
    assert client.post("/nights", data=data).status_code == 302
    again = client.post("/nights", data={**data, "idempotency_key": "another-form-1"})
    assert again.status_code == 409  # duplicate_booking, judged afresh
    assert _count(db, Booking) == 1


def test_a_refused_tap_tapped_again_gets_the_same_refusal(client, factory, db):
    window = factory.window(quota=1)
    user, _plate = factory.resident(window.garage)
    _sign_in(client, user)
    data = _night_form(client, window)
    factory.booking(window)  # someone else takes the last space meanwhile

    first = client.post("/nights", data=data)
    second = client.post("/nights", data=data)

    assert (first.status_code, second.status_code) == (409, 409)
    message = "该晚车位已约满。"
    assert message in first.get_data(as_text=True) and message in second.get_data(as_text=True)
    assert db.session.scalar(sa.select(IdempotencyKey.status_code)) == 409


def test_a_double_tap_on_several_nights_books_them_once(client, factory, db):
    first = factory.window(quota=3)
    second = factory.window(
        template=first.template, quota=3, day=today(first.garage, first.opens_at) + timedelta(days=1)
    )
    user, plate = factory.resident(first.garage)
    _sign_in(client, user)
    form = _form(client.get("/nights").get_data(as_text=True), 'action="/nights/several"')
    data = {
        "csrf_token": _hidden(form, "csrf_token"),
        "idempotency_key": _hidden(form, "idempotency_key"),
        "window_ids": [first.id, second.id],
        "plate": plate,
    }
    one, two = client.post("/nights/several", data=data), client.post("/nights/several", data=data)
    assert (one.status_code, two.status_code) == (302, 302)
    assert one.headers["Location"] == two.headers["Location"]
    assert _count(db, Booking) == 2


def test_a_double_tap_on_buy_the_monthly_pass_buys_once(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    _sign_in(client, user)
    form = _form(client.get("/monthly").get_data(as_text=True), 'name="template_id"')
    data = {
        "csrf_token": _hidden(form, "csrf_token"),
        "idempotency_key": _hidden(form, "idempotency_key"),
        "template_id": setup.template.id,
        "month": "2026-12",
        "plate": plate,
    }
    one = client.post("/monthly", data=data)
    flash = _flashes(client, one.headers["Location"])
    two = client.post("/monthly", data=data)
    assert (one.status_code, two.status_code) == (302, 302), two.get_data(as_text=True)[:500]
    assert one.headers["Location"] == two.headers["Location"]
    assert _flashes(client, two.headers["Location"]) == flash and plate in flash
    assert _count(db, Subscription) == 1
