"""What the gate station page reads: the garages a member of staff works at, the night
the gate is serving, the lists (inside now, expected tonight, overstays), the bookings of a plate
tonight, and the offline material. Scans themselves go through `parking.gate.services.scan`, the
same function as `POST /api/v1/gate/scan`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from parking import plates
from parking.auth.access import require_gate_staff
from parking.auth.models import Role, User
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.gate import services as gate
from parking.gate.models import PlateEvent, Scan
from parking.passes import services as passes
from parking.windows.models import Garage, Window, WindowState


def staff_garages(actor: User) -> list[Garage]:
    """The garages whose gate `actor` may work: all for an admin, else the ones they are staff of."""
    if actor.role == Role.ADMIN:
        return list(db.session.scalars(sa.select(Garage).order_by(Garage.id)))
    if actor.role not in (Role.ATTENDANT, Role.MANAGER):
        return []
    ids = [s.garage_id for s in actor.staff_of]
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Garage).where(Garage.id.in_(ids)).order_by(Garage.id)))


def tonight(garage: Garage, now: datetime) -> list[Window]:
    """The night the gate is serving: the windows open now (early entry and exit grace included),
    else the next window to open within a day."""
    early = timedelta(minutes=garage.early_entry_minutes)
    grace = timedelta(minutes=garage.exit_grace_minutes)
    windows = list(
        db.session.scalars(
            sa.select(Window)
            .where(
                Window.garage_id == garage.id,
                Window.state != WindowState.CANCELLED,
                Window.closes_at > now - grace,
                Window.opens_at < now + timedelta(days=1) + early,
            )
            .order_by(Window.opens_at, Window.id)
        )
    )
    current = [w for w in windows if w.opens_at - early <= now]
    if current:
        return current
    return [w for w in windows if w.opens_at == windows[0].opens_at] if windows else []


@dataclass(frozen=True)
class Entry:
    """A booking on the station's lists: its car, its state, and when it may come and must leave.
    A car from the occupancy has no night of its own here (`window` None) and counts as inside."""

    booking: int
    plate: str
    status: BookingStatus
    entered_at: datetime | None
    leave_by: datetime
    inside: bool = True
    exited_at: datetime | None = None
    window: Window | None = None
    entry_from: datetime | None = None


@dataclass(frozen=True)
class StationLists:
    """Inside now, expected tonight and overstays, for the garage's nights being served."""

    garage: Garage
    at: datetime
    windows: list[Window]
    inside: list[Entry]
    expected: list[Entry]
    overstays: list[Entry]


@dataclass(frozen=True)
class PlateFound:
    """A plate looked up: the plate as read (None when it is not a plate) and its bookings."""

    plate: str | None
    bookings: list[Entry]


@dataclass(frozen=True)
class OfflineMaterial:
    garage_id: int
    server_time: datetime
    jwks: dict
    revocations: passes.RevocationList


def _entry(booking: Booking, window: Window, garage: Garage) -> Entry:
    return Entry(
        booking=booking.id,
        plate=booking.plate,
        status=booking.status,
        inside=booking.inside,
        entered_at=booking.entered_at,
        exited_at=booking.exited_at,
        window=window,
        entry_from=window.opens_at - timedelta(minutes=garage.early_entry_minutes),
        leave_by=window.closes_at + timedelta(minutes=garage.exit_grace_minutes),
    )


def _occupant(car: gate.Occupant) -> Entry:
    return Entry(
        booking=car.booking, plate=car.plate, status=car.status, entered_at=car.entered_at, leave_by=car.leave_by
    )


def lists(actor: User, garage_id: int, now: datetime) -> StationLists:
    """Inside now, expected tonight (booked, not yet in) and overstays, for the station's lists."""
    garage = require_gate_staff(actor, garage_id)
    occupancy = gate.occupancy(actor, garage_id, now)
    windows = tonight(garage, now)
    by_id = {w.id: w for w in windows}
    expected: list[Entry] = []
    if by_id:
        rows = db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.window_id.in_(by_id),
                Booking.status == BookingStatus.CONFIRMED,
                Booking.inside.is_(False),
            )
            .order_by(Booking.plate, Booking.id)
        )
        expected = [_entry(b, by_id[b.window_id], garage) for b in rows]
    return StationLists(
        garage=garage,
        at=now,
        windows=windows,
        inside=[_occupant(car) for car in occupancy.inside],
        expected=expected,
        overstays=[_occupant(car) for car in occupancy.overstays],
    )


def plate_lookup(actor: User, garage_id: int, raw_plate: str, now: datetime) -> PlateFound:
    """The plate's bookings in tonight's windows, and whether the car is inside (any night)."""
    garage = require_gate_staff(actor, garage_id)
    plate = plates.parse(raw_plate)
    if plate is None:
        return PlateFound(None, [])
    windows = {w.id: w for w in tonight(garage, now)}
    rows = list(
        db.session.execute(
            sa.select(Booking, Window)
            .join(Window, Window.id == Booking.window_id)
            .where(
                Booking.garage_id == garage.id,
                Booking.plate == plate,
                sa.or_(Booking.window_id.in_(windows) if windows else sa.false(), Booking.inside.is_(True)),
            )
            .order_by(Window.opens_at, Booking.id)
        )
    )
    return PlateFound(plate, [_entry(b, w, garage) for b, w in rows])


def offline_material(actor: User, garage_id: int, now: datetime) -> OfflineMaterial:
    """The garage's public keys and revocation list in one answer, with the server's clock, so
    that a gate page can judge passes while the network is down."""
    return OfflineMaterial(
        garage_id=garage_id,
        server_time=now,
        jwks=passes.jwks(actor, garage_id, now),
        revocations=passes.revocations(actor, garage_id, now),
    )


def scan_of(actor: User, garage_id: int, scan_id: int) -> Scan | None:
    """A stored scan of the garage, for the page that shows the last result after a plain form post."""
    require_gate_staff(actor, garage_id)
    scan = db.session.get(Scan, scan_id)
    return scan if scan is not None and scan.garage_id == garage_id else None


def booking_window(booking_id: int | None) -> Window | None:
    """The window of the booking a scan was about, to show the night beside the answer."""
    if booking_id is None:
        return None
    booking = db.session.get(Booking, booking_id)
    return db.session.get(Window, booking.window_id) if booking is not None else None


def event_place(event_id: int) -> tuple[Garage, str]:
    """The garage and direction of a plate event (once the caller was allowed to resolve it)."""
    event = db.session.get(PlateEvent, event_id)
    assert event is not None
    garage = db.session.get(Garage, event.garage_id)
    assert garage is not None
    return garage, event.direction.value
