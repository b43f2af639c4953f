"""Invariant 6: the scheduler is not a single point of truth. With the tide job never run,
listings, booking and the household's standing are still right, because they compute from the
windows' instants and the clock."""

from __future__ import annotations

from parking import clock
from parking.windows.models import Window, WindowState
from tests.tide_helpers import sh


def windows_on(client, garage_id, day):
    response = client.get(f"/api/v1/garages/{garage_id}/windows?from={day}&to={day}")
    assert response.status_code == 200, response.json
    return response.json


def test_window_lists_open_then_closed_though_the_job_never_ran(client, db, factory):
    window = factory.window(quota=4)
    day = window.service_date.isoformat()
    assert windows_on(client, window.garage_id, day)[0]["state"] == "planned"
    clock.set_now(sh(1, 19, 30))
    assert windows_on(client, window.garage_id, day)[0]["state"] == "open"
    clock.set_now(sh(2, 7, 31))
    assert windows_on(client, window.garage_id, day)[0]["state"] == "closed"
    db.session.expire_all()
    assert db.session.get(Window, window.id).state == WindowState.PLANNED  # nothing was written


def test_booking_opens_and_closes_on_the_instants_though_the_job_never_ran(client, db, factory):
    window = factory.window(quota=4)
    early, early_plate = factory.resident(window.garage)
    late, late_plate = factory.resident(window.garage)
    clock.set_now(sh(1, 20, 59))  # window open in fact, still `planned` in the table
    response = client.post(
        "/api/v1/bookings", json={"window_id": window.id, "plate": early_plate}, headers=factory.headers(early)
    )
    assert (response.status_code, response.json["status"]) == (201, "confirmed")
    clock.set_now(sh(1, 21, 0))  # booking closes 2 h after opens_at
    response = client.post(
        "/api/v1/bookings", json={"window_id": window.id, "plate": late_plate}, headers=factory.headers(late)
    )
    assert (response.status_code, response.json["error"]) == (422, "booking_closed")
