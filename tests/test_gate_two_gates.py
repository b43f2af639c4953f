"""Two gates, one pass, the same instant (issue 11): the car is admitted exactly once, on SQLite
and PostgreSQL, with real threads each on its own connection."""

from __future__ import annotations

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import Booking, BookingStatus
from parking.gate.models import Scan
from tests.concurrency_helpers import race
from tests.gate_helpers import booked, token_of

ROUNDS = 4


def test_one_pass_scanned_in_at_two_gates_at_once_is_admitted_exactly_once(app, client, factory, db):
    window = factory.window(quota=10)
    north, south = factory.attendant(window.garage), factory.attendant(window.garage)
    cars = [booked(factory, window=window) for _ in range(ROUNDS)]
    tokens = [token_of(client, factory, s.resident, s.booking.id) for s in cars]
    clock.set_now(window.opens_at)
    gates = [(factory.headers(north), "gate-north"), (factory.headers(south), "gate-south")]
    garage_id = window.garage_id
    db.session.commit()
    for n, (car, token) in enumerate(zip(cars, tokens, strict=True)):

        def at_gate(headers, device, n=n, token=token):
            body = {
                "garage_id": garage_id,
                "token": token,
                "direction": "in",
                "device": device,
                "idempotency_key": f"{device}-{n}",
            }
            return lambda c: c.post("/api/v1/gate/scan", json=body, headers=headers)

        db.session.commit()  # the test's session must hold no SQLite lock while the threads run
        responses = race(app, [at_gate(h, d) for h, d in gates])
        assert sorted((r.status_code, r.json["result"], r.json["reason"] or "") for r in responses) == [
            (200, "accepted", ""),
            (200, "rejected", "already_inside"),
        ]
        db.session.expire_all()
        booking = db.session.get(Booking, car.booking.id)
        assert (booking.status, booking.inside) == (BookingStatus.CHECKED_IN, True)
        checked_in = sa.select(sa.func.count()).where(
            AuditEvent.action == "booking.checked_in", AuditEvent.object_id == car.booking.id
        )
        assert db.session.scalar(checked_in) == 1
        stored = db.session.scalars(sa.select(Scan.device).where(Scan.booking_id == car.booking.id)).all()
        assert sorted(stored) == ["gate-north", "gate-south"]
