"""Scenario helpers for the ballot tests (importable by spawned tide processes' tests)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from parking import clock
from parking.bookings.models import Booking
from parking.extensions import db
from parking.windows.models import TemplateMode, Window

SH = ZoneInfo("Asia/Shanghai")
#: The 3 Dec 2026 night's ballot closes at 12:00 on 2 Dec (Shanghai); T0 is 1 Dec 10:00.
NIGHT = datetime(2026, 12, 3, tzinfo=SH).date()
CLOSE = datetime(2026, 12, 2, 12, 0, tzinfo=SH)


def ballot_night(factory, *, quota: int = 2, day=NIGHT, garage=None) -> Window:
    template = factory.template(garage, default_quota=quota, mode=TemplateMode.BALLOT)
    return factory.window(template=template, quota=quota, day=day)


def request(client, factory, user, window, plate, **body):
    return client.post(
        "/api/v1/bookings",
        json={"window_id": window.id, "plate": plate, **body},
        headers=factory.headers(user),
    )


def requesters(client, factory, window, n: int) -> list[tuple]:
    """`n` households that each request the night: [(user, plate, booking id)]."""
    made = []
    for _ in range(n):
        user, plate = factory.resident(window.garage)
        response = request(client, factory, user, window, plate)
        assert response.status_code == 201, response.json
        assert response.json["status"] == "requested"
        made.append((user, plate, response.json["id"]))
    return made


def by_household(window_id: int) -> dict[int, Booking]:
    db.session.expire_all()
    return {b.household_id: b for b in db.session.scalars(db.select(Booking).where(Booking.window_id == window_id))}


def at(instant: datetime) -> datetime:
    clock.set_now(instant)
    return clock.now()
