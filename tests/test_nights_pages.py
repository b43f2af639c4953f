"""Several nights at once and the ballot nights on /nights, without a browser: the batch form
books through the same service as POST /api/v1/bookings/batch, all or nothing unless the resident
ticks the partial box; ballot nights say when asking closes, and then what the draw decided."""

from __future__ import annotations

import re
from datetime import timedelta

from parking.bookings import ballot, next_steps
from parking.bookings.models import Booking, BookingStatus
from parking.windows.services import today
from tests.ballot_helpers import CLOSE, ballot_night
from tests.ballot_helpers import at as move_to
from tests.test_resident_pages import _csrf, _sign_in


def _two_nights(factory, second_quota: int = 3):
    first = factory.window(quota=3)
    day = today(first.garage, first.opens_at) + timedelta(days=1)
    second = factory.window(template=first.template, quota=second_quota, day=day)
    return first, second


def _mine(db, user) -> list[Booking]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Booking).where(Booking.household_id == user.household_id)))


def test_the_nights_page_offers_a_checkbox_per_bookable_night_and_one_button(client, factory):
    first, second = _two_nights(factory)
    user, plate = factory.resident(first.garage)
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    form = re.search(r'action="/nights/several".*?</form>', page, re.S).group(0)
    for window in (first, second):
        assert f'name="window_ids" value="{window.id}"' in form
    assert 'name="accept_partial"' in form and "有的晚上订不到也没关系，能订的先订上" in form
    assert "预约选中的几晚" in form and plate in form
    assert f'id="night-{first.id}"' in page and "预约这一晚" in page  # the one-tap buttons stay


def test_two_ticked_nights_are_both_booked_and_each_is_said_in_words(client, factory, db):
    first, second = _two_nights(factory)
    user, plate = factory.resident(first.garage)
    _sign_in(client, user)
    data = {"csrf_token": _csrf(client, "/nights"), "window_ids": [first.id, second.id], "plate": plate}
    response = client.post("/nights/several", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/bookings")
    booked = _mine(db, user)
    assert sorted(b.window_id for b in booked) == sorted([first.id, second.id])
    assert all(b.status == BookingStatus.CONFIRMED for b in booked)
    page = client.get("/bookings").get_data(as_text=True)
    assert page.count("：已预约") >= 2 and "今晚" in page


def test_without_the_partial_box_a_full_night_books_none_and_the_nights_are_listed(client, factory, db):
    first, second = _two_nights(factory, second_quota=1)
    factory.booking(second)  # the second night is full
    user, plate = factory.resident(first.garage)
    _sign_in(client, user)
    data = {"csrf_token": _csrf(client, "/nights"), "window_ids": [first.id, second.id], "plate": plate}
    response = client.post("/nights/several", data=data)
    assert response.status_code == 409
    errors = re.search(
        r'id="several-errors" tabindex="-1" autofocus>(.*?)</div>', response.get_data(as_text=True), re.S
    ).group(1)
    assert "其中有几晚约不上，所以这几晚都没有预约。" in errors
    assert "没有预约上" in errors and "已预约" in errors  # each night: what it would have been
    assert _mine(db, user) == []
    assert f'value="{first.id}" checked' in response.get_data(as_text=True)  # the ticks are kept


def test_with_the_partial_box_the_night_with_room_is_booked(client, factory, db):
    first, second = _two_nights(factory, second_quota=1)
    factory.booking(second)
    user, plate = factory.resident(first.garage)
    _sign_in(client, user)
    data = {
        "csrf_token": _csrf(client, "/nights"),
        "window_ids": [first.id, second.id],
        "plate": plate,
        "accept_partial": "y",
    }
    assert client.post("/nights/several", data=data).status_code == 302
    assert [(b.window_id, b.status) for b in _mine(db, user)] == [(first.id, BookingStatus.CONFIRMED)]
    page = client.get("/bookings").get_data(as_text=True)
    assert "：已预约" in page and "：没有预约上" in page


def test_no_night_ticked_is_refused_beside_the_form(client, factory, db):
    first, _second = _two_nights(factory)
    user, plate = factory.resident(first.garage)
    _sign_in(client, user)
    response = client.post("/nights/several", data={"csrf_token": _csrf(client, "/nights"), "plate": plate})
    assert response.status_code == 422 and "请至少选一晚" in response.get_data(as_text=True)
    assert _mine(db, user) == []


def test_a_ballot_night_says_when_asking_closes_then_waits_then_says_the_result(client, factory, db):
    window = ballot_night(factory, quota=2)
    user, plate = factory.resident(window.garage)
    _sign_in(client, user)
    page = client.get("/nights").get_data(as_text=True)
    card = re.search(rf'id="night-{window.id}">.*?</li>', page, re.S).group(0)
    assert "抽签：12月2日 12:00 截止申请，之后抽签" in card and "申请抽签" in card
    data = {"csrf_token": _csrf(client, "/nights"), "window_id": window.id, "plate": plate}
    response = client.post("/nights", data=data)
    assert response.status_code == 302
    booking = _mine(db, user)[0]
    assert booking.status == BookingStatus.REQUESTED
    flashed = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "您已申请" in flashed and "已预约：" not in flashed
    card = re.search(rf'id="night-{window.id}">.*?</li>', client.get("/nights").get_data(as_text=True), re.S)
    assert "等待抽签" in card.group(0)
    assert "等待抽签" in client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    now = move_to(CLOSE + timedelta(minutes=1))
    ballot.run_due_draws(now)
    db.session.commit()
    detail = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    status = re.search(r'<p class="status-line">(.*?)</section>', detail, re.S).group(1)
    assert "已预约" in status and "抽中" in status and "等待抽签" not in status


def test_a_ballot_request_can_be_cancelled_from_its_page(client, factory, db):
    """The service lets a household withdraw its request before the draw; the page offers it."""
    window = ballot_night(factory, quota=2)
    user, plate = factory.resident(window.garage)
    _sign_in(client, user)
    client.post("/nights", data={"csrf_token": _csrf(client, "/nights"), "window_id": window.id, "plate": plate})
    booking = _mine(db, user)[0]
    assert booking.status == BookingStatus.REQUESTED
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/bookings/{booking.id}/cancel"' in page
    token = _csrf(client, f"/bookings/{booking.id}/cancel")
    assert client.post(f"/bookings/{booking.id}/cancel", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED


def test_one_answer_says_who_may_cancel_a_ballot_request_and_the_api_agrees(client, factory, db):
    """The page's offer and the API's rule come from one service: a member and a manager may
    withdraw a draw request, an attendant may not, and nobody has a pass for it yet."""
    window = ballot_night(factory, quota=2)
    user, plate = factory.resident(window.garage)
    _sign_in(client, user)
    client.post("/nights", data={"csrf_token": _csrf(client, "/nights"), "window_id": window.id, "plate": plate})
    booking = _mine(db, user)[0]
    now = window.opens_at - timedelta(days=1)
    member = next_steps.for_booking(user, booking, now)
    assert member.cancel and not member.hand_back and not member.show_pass
    assert member.cancel_refusal is None and member.pass_refusal == "no_space_held"
    manager = next_steps.for_booking(factory.manager(window.garage), booking, now)
    assert manager.cancel and manager.pass_refusal == "forbidden"
    attendant = factory.attendant(window.garage)
    assert next_steps.for_booking(attendant, booking, now).cancel_refusal == "forbidden"
    refused = client.post(f"/api/v1/bookings/{booking.id}/cancel", headers=factory.headers(attendant))
    assert refused.status_code == 403
