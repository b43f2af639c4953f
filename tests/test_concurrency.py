"""Invariants 1 and 2 under real concurrency: many threads, each with its own connection, against
a SQLite file database and PostgreSQL. No mocks."""

from __future__ import annotations

import time
from collections import Counter

import sqlalchemy as sa

from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.windows.models import Window
from tests.concurrency_helpers import race
from tests.conftest import FIGURES


def _holding(db, window_id):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(Booking.window_id == window_id, Booking.status.in_(SPACE_HOLDING))
    )


def test_last_spaces_go_to_exactly_k_of_many_concurrent_bookers(app, factory, db):
    spaces, attempts = 10, 40
    window = factory.window(quota=spaces)
    residents = [factory.resident(window.garage) for _ in range(attempts)]
    headers = [(factory.headers(user), plate) for user, plate in residents]
    db.session.commit()

    def attempt(h, plate):
        return lambda client: client.post("/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=h)

    started = time.perf_counter()
    responses = race(app, [attempt(h, p) for h, p in headers])
    seconds = time.perf_counter() - started

    codes = Counter((r.status_code, r.json.get("error") or r.json.get("status")) for r in responses)
    assert codes == {(201, "confirmed"): spaces, (409, "window_full"): attempts - spaces}
    db.session.expire_all()
    assert db.session.get(Window, window.id).booked == spaces
    assert _holding(db, window.id) == spaces
    FIGURES.append(
        f"[{app.config['BACKEND']}] concurrent booking: attempts={attempts} spaces={spaces} "
        f"confirmed={codes[(201, 'confirmed')]} seconds={seconds:.2f}"
    )


def test_one_household_double_submitting_gets_one_booking(app, factory, db):
    window = factory.window(quota=10)
    household = factory.household(window.garage, members=2, plates=2)
    calls = []
    for member in household.members:
        for vehicle in household.vehicles:
            h = factory.headers(member)
            for _ in range(3):
                calls.append(
                    lambda client, h=h, plate=vehicle.plate: client.post(
                        "/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=h
                    )
                )
    db.session.commit()
    responses = race(app, calls)
    codes = Counter((r.status_code, r.json.get("error") or r.json.get("status")) for r in responses)
    assert codes[(201, "confirmed")] == 1
    assert codes[(409, "duplicate_booking")] == len(calls) - 1
    db.session.expire_all()
    assert db.session.get(Window, window.id).booked == 1
    assert _holding(db, window.id) == 1


def test_cancel_and_promote_racing_new_bookings_never_overbooks(app, factory, db):
    window = factory.window(quota=3)
    holders = [factory.booking(window) for _ in range(3)]
    waiting = []
    for _ in range(4):
        user, plate = factory.resident(window.garage)
        factory.booking(window, user=user, plate=plate, waitlist=True)
        waiting.append(user)
    newcomers = [factory.resident(window.garage) for _ in range(6)]
    cancel_calls = [
        (
            lambda client, b=b, h=factory.headers(b.household.members[0]): client.post(
                f"/api/v1/bookings/{b.id}/cancel", json={}, headers=h
            )
        )
        for b in holders[:2]
    ]
    book_calls = [
        (
            lambda client, h=factory.headers(u), p=p: client.post(
                "/api/v1/bookings", json={"window_id": window.id, "plate": p}, headers=h
            )
        )
        for u, p in newcomers
    ]
    db.session.commit()
    responses = race(app, cancel_calls + book_calls)
    assert all(r.status_code == 200 for r in responses[:2])
    # The waitlist had priority on every freed space: newcomers found the window full.
    assert all(r.status_code == 409 and r.json["error"] == "window_full" for r in responses[2:])
    db.session.expire_all()
    assert db.session.get(Window, window.id).booked == 3
    assert _holding(db, window.id) == 3
    statuses = Counter(b.status for b in db.session.scalars(sa.select(Booking).where(Booking.window_id == window.id)))
    assert statuses[BookingStatus.CANCELLED] == 2
    assert statuses[BookingStatus.WAITLISTED] == 2


def test_database_refuses_a_counter_above_the_quota_even_without_python(app, factory, db):
    window = factory.window(quota=1)
    db.session.commit()
    try:
        db.session.execute(sa.update(Window).where(Window.id == window.id).values(booked=2))
        db.session.flush()
        raise AssertionError("CHECK (booked <= quota) did not fire")
    except sa.exc.IntegrityError:
        db.session.rollback()


def test_database_refuses_a_second_holding_booking_for_the_same_plate(app, factory, db):
    window = factory.window(quota=5)
    booking = factory.booking(window)
    twin = Booking(
        window_id=window.id,
        garage_id=window.garage_id,
        household_id=booking.household_id,
        vehicle_id=booking.vehicle_id,
        plate=booking.plate,
        status=BookingStatus.CONFIRMED,
        slot=2,
        created_at=booking.created_at,
        updated_at=booking.created_at,
    )
    db.session.add(twin)
    try:
        db.session.flush()
        raise AssertionError("the unique partial index on plate did not fire")
    except sa.exc.IntegrityError:
        db.session.rollback()
