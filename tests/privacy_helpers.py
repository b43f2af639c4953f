"""A resident's whole way through the service over the API, shared by the retention, export,
deletion and log tests: register, sign in, a household and a plate (verified by the manager),
a night booked, its pass, a scan by the pass and one by the plate, a reset code."""

from __future__ import annotations

import itertools
import logging
import runpy
from dataclasses import dataclass
from pathlib import Path

from parking import clock
from parking.auth.models import User
from parking.extensions import db
from parking.windows.models import Garage, Window
from tests.gate_helpers import scan

PASSWORD = "correct horse 1"
_phones = itertools.count(1)


@dataclass
class Flow:
    garage: Garage
    window: Window
    user: User
    phone: str
    plate: str
    token: str  # the bearer token
    pass_token: str
    booking_id: int
    household_id: int
    reset_code: str
    manager: User
    attendant: User


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ok(response, status: int = 200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.json


def full_flow(client, factory, window: Window | None = None, *, plate: str = "沪A12345") -> Flow:
    window = window or factory.window(quota=10)
    garage = window.garage
    manager, attendant = factory.manager(garage), factory.attendant(garage)
    phone = f"138{next(_phones):08d}"
    user_id = ok(
        client.post("/api/v1/auth/register", json={"phone": phone, "password": PASSWORD, "name": "王芳"}), 201
    )["id"]
    token = ok(client.post("/api/v1/auth/token", json={"phone": phone, "password": PASSWORD}))["access_token"]
    household = ok(
        client.post(
            "/api/v1/households",
            json={"garage_id": garage.id, "building": "3", "unit": "1", "room": str(100 + user_id)},
            headers=bearer(token),
        ),
        201,
    )
    vehicle = ok(
        client.post(f"/api/v1/households/{household['id']}/vehicles", json={"plate": plate}, headers=bearer(token)),
        201,
    )
    staff = factory.headers(manager)
    ok(client.post(f"/api/v1/households/{household['id']}/verify", json={"decision": "verified"}, headers=staff))
    ok(client.post(f"/api/v1/vehicles/{vehicle['id']}/verify", json={}, headers=staff))
    booking = ok(
        client.post(
            "/api/v1/bookings",
            json={"window_id": window.id, "plate": plate, "waitlist": False},
            headers={**bearer(token), "Idempotency-Key": f"flow-{user_id}"},
        ),
        201,
    )
    pass_token = ok(client.get(f"/api/v1/bookings/{booking['id']}/pass", headers=bearer(token)))["token"]
    code = ok(client.post(f"/api/v1/users/{user_id}/reset-code", headers=staff), 201)["code"]
    user = db.session.get(User, user_id)
    assert user is not None
    return Flow(
        garage, window, user, phone, plate, token, pass_token, booking["id"], household["id"], code, manager, attendant
    )


def drive_in_and_out(client, factory, flow: Flow) -> None:
    """At the gate tonight: in by the pass, out by the plate the next morning."""
    window = db.session.get(Window, flow.window.id)
    clock.set_now(window.opens_at)
    ok(scan(client, factory, flow.attendant, flow.garage.id, token=flow.pass_token, direction="in"))
    clock.set_now(window.closes_at)
    ok(scan(client, factory, flow.attendant, flow.garage.id, plate=flow.plate, direction="out"))


ROOT = Path(__file__).resolve().parent.parent


def gunicorn_logger(handler: logging.Handler):
    """gunicorn's own logger, configured from the repository's gunicorn.conf.py, its access lines
    going to `handler` too."""
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    cfg = Config()
    for name, value in runpy.run_path(str(ROOT / "gunicorn.conf.py")).items():
        if name in cfg.settings:
            cfg.set(name, value)
    logger = Logger(cfg)
    logger.access_log.addHandler(handler)
    return logger
