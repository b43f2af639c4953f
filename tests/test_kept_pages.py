"""What /home keeps for no signal, and whose it is: /home names itself, /bookings, the pass of every
night that holds a space in the next 48 hours and the month's pass; every resident page carries
X-Kept-For, a keyed hash of its user (never the id), which the service worker compares before it
shows a kept page. The worker's behaviour itself is tested in tests/browser/test_pass_underground.py."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.windows.models import Window
from tests.monthly_helpers import offered, subscribe


def _sign_in(client, user) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "phone": user.phone, "password": "password123"})
    assert response.status_code == 302


def _keep(page: str) -> list[str]:
    return json.loads(html.unescape(re.search(r'data-keep="([^"]*)"', page).group(1)))


def test_home_keeps_itself_the_bookings_the_passes_of_the_next_48_hours_and_the_months_pass(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    subscription_id = subscribe(client, factory, user, setup, plate).json["id"]
    now = clock.now()
    nights = db.session.execute(
        db.select(Booking.id, Window.opens_at, Booking.status)
        .join(Window, Window.id == Booking.window_id)
        .where(Booking.subscription_id == subscription_id)
    ).all()
    soon = {f"/bookings/{i}/pass" for i, opens, status in nights if opens <= now + timedelta(hours=48)}
    later = {f"/bookings/{i}/pass" for i, opens, status in nights if opens > now + timedelta(hours=48)}
    assert soon and later and all(status == BookingStatus.CONFIRMED for *_, status in nights)
    _sign_in(client, user)
    for path in ("/home", "/bookings"):
        keep = _keep(client.get(path).get_data(as_text=True))
        assert keep[:2] == ["/home", "/bookings"], path
        assert soon <= set(keep) and not later & set(keep), path
        assert f"/monthly/{subscription_id}/pass" in keep
        assert "/static/js/kept.js" in keep and "/static/css/resident.css" in keep
    pass_page = client.get(f"/monthly/{subscription_id}/pass").get_data(as_text=True)
    assert _keep(pass_page)[0] == f"/monthly/{subscription_id}/pass"  # a pass page keeps itself


def test_every_resident_page_says_whose_it_is_and_no_one_elses(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    other, _ = factory.resident(setup.garage)
    attendant = factory.attendant(setup.garage)
    subscription_id = subscribe(client, factory, user, setup, plate).json["id"]
    user_id = user.id
    assert "X-Kept-For" not in client.get("/login").headers
    _sign_in(client, user)
    mine = {
        client.get(path).headers.get("X-Kept-For")
        for path in ("/home", "/bookings", f"/monthly/{subscription_id}/pass")
    }
    assert len(mine) == 1
    whose = mine.pop()
    assert re.fullmatch("[0-9a-f]{32}", whose) and whose != str(user_id)
    second = client.application.test_client()  # another phone
    _sign_in(second, other)
    theirs = second.get("/home").headers.get("X-Kept-For")
    assert theirs and theirs != whose
    staff = client.application.test_client()
    _sign_in(staff, attendant)
    assert "X-Kept-For" not in staff.get("/gate").headers


def test_a_page_kept_in_the_background_takes_no_message_and_sets_no_cookie(client, factory, db):
    """The service worker keeps /home and /bookings in the background (X-Kept-Fetch) while the
    resident goes on: such a fetch must not take the message of the resident's next page, nor set
    the session cookie (a late answer would put back a cookie older than the one a submit set)."""
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage)
    db.session.commit()
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page).group(1)
    booked = client.post(
        "/nights", data={"csrf_token": token, "idempotency_key": key, "window_id": window.id, "plate": plate}
    )
    assert booked.status_code == 302
    for path in ("/home", "/bookings"):
        kept = client.get(path, headers={"X-Kept-Fetch": "keep"})
        assert kept.status_code == 200 and "Set-Cookie" not in kept.headers, path
        assert 'class="flashes"' not in kept.get_data(as_text=True), path
    shown = client.get(booked.headers["Location"]).get_data(as_text=True)
    assert 'class="flashes"' in shown and plate in shown  # the message waited for the resident's page
    again = client.get("/home")
    assert "Set-Cookie" in again.headers  # the resident's own pages refresh the session as before
