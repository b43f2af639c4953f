"""Hot paths keep a fixed number of SQL statements (the benchmark fixes, guarded): a booking refused
in a rush, a confirmation, a gate exit, and a window listing whatever its length."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.extensions import db as _db
from tests.gate_helpers import booked, scan, token_of

DML = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@contextlib.contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(DML):
            seen.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", count)


def test_a_booking_refused_because_the_window_is_full_costs_two_statements(client, factory):
    window = factory.window(quota=1)
    factory.booking(window)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)
    with statements() as seen:
        response = client.post("/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=headers)
    assert response.json["error"] == "window_full"
    assert len(seen) == 2, seen  # the caller with household and garage, then the window (no lock)


def test_a_confirmed_booking_stays_within_its_statement_budget(client, factory):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)
    with statements() as seen:
        response = client.post("/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=headers)
    assert response.status_code == 201
    assert len(seen) <= 11, seen


def test_a_gate_exit_stays_within_its_statement_budget(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    clock.set_now(s.window.opens_at)
    scan(client, factory, s.attendant, s.garage.id, token=token)
    clock.set_now(s.window.opens_at + timedelta(hours=1))
    body = {"garage_id": s.garage.id, "token": token, "direction": "out", "idempotency_key": "exit-1"}
    headers = factory.headers(s.attendant)
    with statements() as seen:
        out = client.post("/api/v1/gate/scan", json=body, headers=headers)
    assert out.json["result"] == "accepted"
    # caller with staff and garage, claim, lock window, booking, audit, scan result, booking update
    assert len(seen) <= 7, "\n".join(s.split("\n")[0][:90] for s in seen)


def test_listing_windows_costs_the_same_for_three_days_or_fourteen(client, factory):
    template = factory.template()
    base = f"/api/v1/garages/{template.garage_id}/windows"
    client.get(f"{base}?from=2026-12-01&to=2026-12-15")  # materialise once
    with statements() as short:
        assert len(client.get(f"{base}?from=2026-12-01&to=2026-12-03").json) == 3
    with statements() as long:
        assert len(client.get(f"{base}?from=2026-12-01&to=2026-12-14").json) == 14
    assert len(short) == len(long) <= 6, long
