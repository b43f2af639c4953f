"""Helpers for the pass and gate tests: a booked resident with a pass, an attendant, a scan call."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import zxingcpp

from parking.auth.models import User
from parking.bookings.models import Booking
from parking.windows.models import Garage, Window

_keys = itertools.count(1)


@dataclass
class Setup:
    garage: Garage
    window: Window
    resident: User
    booking: Booking
    attendant: User


def booked(factory, garage: Garage | None = None, window: Window | None = None) -> Setup:
    """Tonight's window (19:00 → 07:30, opens at 18:45 with early entry), a confirmed booking of a
    verified resident, and an attendant of the garage."""
    window = window or factory.window(garage, quota=10)
    resident, plate = factory.resident(window.garage)
    booking = factory.booking(window, user=resident, plate=plate)
    return Setup(window.garage, window, resident, booking, factory.attendant(window.garage))


def token_of(client, factory, user: User, booking_id: int) -> str:
    response = client.get(f"/api/v1/bookings/{booking_id}/pass", headers=factory.headers(user))
    assert response.status_code == 200, response.json
    return response.json["token"]


def scan(client, factory, user: User, garage_id: int, *, key: str | None = None, **body: Any):
    body.setdefault("direction", "in")
    payload = {"garage_id": garage_id, "idempotency_key": key or f"scan-{next(_keys)}", **body}
    return client.post("/api/v1/gate/scan", json=payload, headers=factory.headers(user))


def qr_codes(image: Any) -> list[Any]:
    """The QR codes found in a picture, as the gate reads them: QR only, since a reader looking for
    every format now and then takes a stretch of a QR code's modules for a 1D barcode ("1519")."""
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
