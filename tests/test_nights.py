"""Several nights at once: each night its own booking, all or nothing unless the
request accepts a partial set; every single-booking rule holds, also against racing bookers."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.households.models import Household
from parking.notifications.models import Notification
from parking.windows.models import TemplateMode, Window
from parking.windows.services import today
from tests.concurrency_helpers import race
from tests.conftest import FIGURES
from tests.manager_helpers import assert_counter_consistent, assert_error, fresh


def nights(factory, n=3, quota=2, **template):
    template = factory.template(default_quota=quota, **template)
    start = today(template.garage, clock.now())
    return [factory.window(template=template, quota=quota, day=start + timedelta(days=i)) for i in range(n)]


def batch(client, factory, user, windows, plate, **body):
    return client.post(
        "/api/v1/bookings/batch",
        json={"window_ids": [w.id for w in windows], "plate": plate, **body},
        headers=factory.headers(user),
    )


def _bookings(household_id):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Booking).where(Booking.household_id == household_id).order_by(Booking.id)))


def test_several_nights_become_one_booking_each(client, factory, db):
    windows = nights(factory, 4)
    user, plate = factory.resident(windows[0].garage)
    response = batch(client, factory, user, list(reversed(windows)), plate)
    assert response.status_code == 201, response.json
    body = response.json
    assert [n["service_date"] for n in body["nights"]] == [w.service_date.isoformat() for w in windows]
    assert {n["result"] for n in body["nights"]} == {"confirmed"}
    assert (body["confirmed"], body["waitlisted"], body["requested"], body["refused"]) == (4, 0, 0, 0)
    made = _bookings(user.household_id)
    assert sorted(b.window_id for b in made) == sorted(w.id for w in windows)
    assert {n["booking_id"] for n in body["nights"]} == {b.id for b in made}
    assert all(assert_counter_consistent(w.id).booked == 1 for w in windows)
    notes = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == user.id)).all()
    assert notes == ["booking_confirmed"] * 4


def test_one_full_night_refuses_the_whole_set_unless_partial_is_accepted(client, factory, db):
    windows = nights(factory, 3, quota=1)
    factory.booking(windows[1])
    user, plate = factory.resident(windows[0].garage)
    body = assert_error(batch(client, factory, user, windows, plate), 409, "nights_refused")
    outcomes = {n["window_id"]: n for n in body["details"]["nights"]}
    assert outcomes[windows[1].id]["result"] == "refused" and outcomes[windows[1].id]["reason"] == "window_full"
    assert outcomes[windows[0].id]["result"] == "confirmed" and outcomes[windows[0].id]["booking_id"] is None
    assert body["details"]["refused"] == 1
    assert _bookings(user.household_id) == []  # nothing changed
    assert [fresh(Window, w.id).booked for w in windows] == [0, 1, 0]
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.user_id == user.id))
        == 0
    )

    partial = batch(client, factory, user, windows, plate, accept_partial=True)
    assert partial.status_code == 201, partial.json
    assert [n["result"] for n in partial.json["nights"]] == ["confirmed", "refused", "confirmed"]
    assert partial.json["nights"][1]["reason"] == "window_full" and partial.json["nights"][1]["message"]
    # a booked night has no message at all, a refused one its words
    assert set(partial.json["nights"][0]) == {"window_id", "service_date", "result", "reason", "booking_id"}
    assert set(body["details"]["nights"][1]) == {*partial.json["nights"][0], "message"}
    assert [fresh(Window, w.id).booked for w in windows] == [1, 1, 1]

    waiting_user, waiting_plate = factory.resident(windows[0].garage)
    waiting = batch(client, factory, waiting_user, windows, waiting_plate, waitlist=True)
    assert [n["result"] for n in waiting.json["nights"]] == ["waitlisted"] * 3


def test_every_single_night_rule_holds_in_a_set(client, factory, db):
    windows = nights(factory, 2, quota=5)
    garage = windows[0].garage
    user, plate = factory.resident(garage)
    factory.booking(windows[0], user=user, plate=plate)
    body = assert_error(batch(client, factory, user, windows, plate), 409, "nights_refused")
    reasons = {n["window_id"]: n["reason"] for n in body["details"]["nights"]}
    assert reasons[windows[0].id] == "duplicate_booking" and reasons[windows[1].id] is None
    other_garage_window = nights(factory, 1)[0]
    refused = batch(client, factory, user, [windows[1], other_garage_window], plate)
    body = assert_error(refused, 403, "nights_refused")
    assert {n["reason"] for n in body["details"]["nights"]} == {None, "wrong_garage"}
    assert_error(batch(client, factory, user, [other_garage_window], plate), 403, "nothing_booked")
    assert_error(batch(client, factory, user, windows, "not a plate"), 422, "invalid_plate")
    assert_error(batch(client, factory, user, [windows[0], windows[0]], plate), 422, "validation_error")
    assert_error(batch(client, factory, user, [], plate), 422, "validation_error")
    too_many = client.post(
        "/api/v1/bookings/batch",
        json={"window_ids": list(range(1, 17)), "plate": plate},
        headers=factory.headers(user),
    )
    assert_error(too_many, 422, "too_many_nights")
    household = fresh(Household, user.household_id)
    household.suspended_until = clock.now() + timedelta(days=3)
    db.session.commit()
    assert_error(batch(client, factory, user, windows, plate), 403, "suspended")


def test_a_set_of_ballot_nights_are_requests(client, factory, db):
    windows = nights(factory, 4, mode=TemplateMode.BALLOT)  # tonight's ballot has closed: first come
    user, plate = factory.resident(windows[0].garage)
    response = batch(client, factory, user, windows, plate)
    assert response.status_code == 201, response.json
    assert [n["result"] for n in response.json["nights"]] == ["confirmed", "requested", "requested", "requested"]


def test_a_set_racing_single_bookers_never_overbooks(app, client, factory, db):
    windows = nights(factory, 3, quota=2)
    garage = windows[0].garage
    setter, set_plate = factory.resident(garage)
    partial_setter, partial_plate = factory.resident(garage)
    singles = [factory.resident(garage) for _ in range(9)]
    calls = [
        (
            "/api/v1/bookings/batch",
            {"window_ids": [w.id for w in windows], "plate": set_plate},
            factory.headers(setter),
        ),
        (
            "/api/v1/bookings/batch",
            {"window_ids": [w.id for w in windows], "plate": partial_plate, "accept_partial": True},
            factory.headers(partial_setter),
        ),
    ] + [
        ("/api/v1/bookings", {"window_id": windows[i % 3].id, "plate": plate}, factory.headers(user))
        for i, (user, plate) in enumerate(singles)
    ]

    def call(path, body, headers):
        return lambda c: c.post(path, json=body, headers=headers)

    db.session.commit()  # the test's own transaction would hold SQLite's write lock
    responses = race(app, [call(*c) for c in calls])
    assert {r.status_code for r in responses} <= {201, 409}
    for window in windows:
        assert assert_counter_consistent(window.id).booked == 2  # full, never more
    held = _bookings(setter.household_id)
    if responses[0].status_code == 201:
        assert len(held) == 3  # all …
    else:
        assert held == []  # … or nothing
    partial = _bookings(partial_setter.household_id)
    if responses[1].status_code == 201:
        confirmed = [n for n in responses[1].json["nights"] if n["result"] == "confirmed"]
        assert {b.window_id for b in partial} == {n["window_id"] for n in confirmed}
    assert all(b.status == BookingStatus.CONFIRMED for b in held + partial)
    confirmed_singles = sum(1 for r in responses[2:] if r.status_code == 201)
    assert confirmed_singles + len(held) + len(partial) == 6
    FIGURES.append(
        f"[{app.config['BACKEND']}] nights at once racing 9 single bookers on 3 nights of 2 spaces: "
        f"all-or-nothing set {'booked 3' if held else 'refused'}, partial set booked {len(partial)}, "
        f"singles confirmed {confirmed_singles}"
    )
