"""Invariant 1 while a manager cuts the quota and residents keep booking: real threads, each with
its own connection, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from parking.bookings.models import Booking, BookingStatus
from tests.concurrency_helpers import race
from tests.conftest import FIGURES
from tests.manager_helpers import assert_counter_consistent, book_many


def _setup(factory, quota, booked, racers):
    window = factory.window(quota=quota)
    book_many(factory, window, booked)
    manager = factory.manager(window.garage)
    residents = [factory.resident(window.garage) for _ in range(racers)]
    bookers = [
        (
            lambda client, h=factory.headers(u), p=p: client.post(
                "/api/v1/bookings", json={"window_id": window.id, "plate": p}, headers=h
            )
        )
        for u, p in residents
    ]
    return window, manager, bookers


def _cut(factory, manager, window, quota, policy):
    day = window.service_date.isoformat()
    body = {
        "template_id": window.template_id,
        "start_date": day,
        "end_date": day,
        "quota": quota,
        "reason": "peak",
        "policy": policy,
    }
    headers = factory.headers(manager)
    return lambda client: client.post(f"/api/v1/garages/{window.garage_id}/overrides", json=body, headers=headers)


def _statuses(db, window_id):
    db.session.expire_all()
    return Counter(db.session.scalars(sa.select(Booking.status).where(Booking.window_id == window_id)))


def test_bump_cut_racing_bookers_never_overbooks_and_accounts_for_every_booking(app, factory, db):
    window, manager, bookers = _setup(factory, quota=20, booked=10, racers=30)
    db.session.commit()
    responses = race(app, [_cut(factory, manager, window, 5, "bump"), *bookers])

    cut, booked_responses = responses[0], responses[1:]
    assert cut.status_code == 201, cut.json
    codes = Counter((r.status_code, r.json.get("error") or r.json.get("status")) for r in booked_responses)
    assert set(codes) <= {(201, "confirmed"), (409, "window_full")}
    final = assert_counter_consistent(window.id)
    assert (final.quota, final.booked) == (5, 5)
    statuses = _statuses(db, window.id)
    confirmed_by_racers = codes[(201, "confirmed")]
    assert statuses[BookingStatus.CONFIRMED] == 5
    assert statuses[BookingStatus.BUMPED] == 10 + confirmed_by_racers - 5
    assert cut.json["result"]["bumped"] == statuses[BookingStatus.BUMPED]
    FIGURES.append(
        f"[{app.config['BACKEND']}] bump cut 20→5 racing 30 bookers: racers confirmed={confirmed_by_racers} "
        f"bumped={statuses[BookingStatus.BUMPED]} final booked/quota={final.booked}/{final.quota}"
    )


def test_refuse_cut_racing_bookers_either_applies_cleanly_or_changes_nothing(app, factory, db):
    window, manager, bookers = _setup(factory, quota=20, booked=10, racers=30)
    db.session.commit()
    responses = race(app, [*bookers[:15], _cut(factory, manager, window, 15, "refuse"), *bookers[15:]])

    cut = responses[15]
    final = assert_counter_consistent(window.id)
    statuses = _statuses(db, window.id)
    assert statuses[BookingStatus.BUMPED] == 0
    if cut.status_code == 201:
        assert final.quota == 15 and final.booked == 15
    else:
        assert (cut.status_code, cut.json["error"]) == (409, "quota_below_booked")
        assert cut.json["details"]["affected"] > 0
        assert final.quota == 20 and final.booked == 20
    FIGURES.append(
        f"[{app.config['BACKEND']}] refuse cut 20→15 racing 30 bookers: cut={cut.status_code} "
        f"final booked/quota={final.booked}/{final.quota}"
    )
