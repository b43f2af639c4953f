"""Everything stored about a person, as one JSON document (`GET /api/v1/me/export` and the
button on /account): the account, the household and its vehicles, the household's bookings,
monthly passes and statements, the scans and camera reads of its plates, the person's
notifications, sign-ins and lock-outs, and the audit events the person acted in or that are about
the account. Secrets are never in it: hashes, pass nonces, fingerprints.

A row is exported whole (every column but the secrets), so a column added later is exported
without a change here. Each section is one function; a notification's delivery states go in
`notifications()`."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.auth.models import LoginLockout, User, UserSession
from parking.bookings.models import Booking
from parking.extensions import db
from parking.gate.models import PlateEvent, Scan
from parking.households.models import Household, Vehicle
from parking.monthly.models import MonthlyStatement, Subscription
from parking.notifications.models import Delivery, DeliveryAttempt, Notification
from parking.notifications.services import render

FORMAT = "tidal-parking export 1"

#: Columns never exported: secrets, or values only the machinery reads.
SECRET_COLUMNS = frozenset(
    {"password_hash", "code_hash", "credential_hash", "pass_nonce", "fingerprint", "token_version"}
)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def row(obj: Any, *, without: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every column of a model's row, JSON-ready, but the secrets."""
    return {
        column.key: _plain(getattr(obj, column.key))
        for column in sa.inspect(obj).mapper.column_attrs
        if column.key not in SECRET_COLUMNS | without
    }


def _all(stmt: sa.Select[Any]) -> list[Any]:
    return list(db.session.scalars(stmt))


def account(user: User) -> dict[str, Any]:
    return {**row(user), "garage_ids": user.garage_ids}


def household(user: User) -> dict[str, Any] | None:
    """The person's household; its other members by id and name (their phones are theirs)."""
    found = db.session.get(Household, user.household_id) if user.household_id else None
    if found is None:
        return None
    return {**row(found), "members": [{"id": m.id, "name": m.name} for m in found.members]}


def vehicles(household_id: int | None) -> list[dict[str, Any]]:
    return [row(v) for v in _all(sa.select(Vehicle).where(Vehicle.household_id == household_id).order_by(Vehicle.id))]


def bookings(household_id: int | None) -> list[dict[str, Any]]:
    found = _all(sa.select(Booking).where(Booking.household_id == household_id).order_by(Booking.id))
    return [{**row(b), "service_date": _plain(b.window.service_date)} for b in found]


def subscriptions(household_id: int | None) -> list[dict[str, Any]]:
    return [
        row(s)
        for s in _all(
            sa.select(Subscription).where(Subscription.household_id == household_id).order_by(Subscription.id)
        )
    ]


def statements(household_id: int | None) -> list[dict[str, Any]]:
    stmt = sa.select(MonthlyStatement).where(MonthlyStatement.household_id == household_id)
    return [row(s) for s in _all(stmt.order_by(MonthlyStatement.id))]


def _plates(household_id: int | None) -> list[str]:
    return list(db.session.scalars(sa.select(Vehicle.plate).where(Vehicle.household_id == household_id)))


def scans(household_id: int | None) -> list[dict[str, Any]]:
    """The gate's scans of the household's plates or bookings."""
    plates = _plates(household_id)
    own = sa.select(Booking.id).where(Booking.household_id == household_id)
    stmt = sa.select(Scan).where(sa.or_(Scan.plate.in_(plates), Scan.plate_seen.in_(plates), Scan.booking_id.in_(own)))
    return [row(s) for s in _all(stmt.order_by(Scan.id))]


def plate_events(household_id: int | None) -> list[dict[str, Any]]:
    """The cameras' reads of the household's plates."""
    plates = _plates(household_id)
    stmt = sa.select(PlateEvent).where(sa.or_(PlateEvent.plate.in_(plates), PlateEvent.confirmed_plate.in_(plates)))
    return [row(e) for e in _all(stmt.order_by(PlateEvent.id))]


def notifications(user: User) -> list[dict[str, Any]]:
    """The person's notifications with their text in the person's language. The one place where
    a notification's delivery states (per channel, with attempts) join its export."""
    found = _all(sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    ids = [n.id for n in found]
    deliveries = _all(sa.select(Delivery).where(Delivery.notification_id.in_(ids)).order_by(Delivery.id)) if ids else []
    attempts = (
        _all(
            sa.select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(DeliveryAttempt.id)
        )
        if deliveries
        else []
    )
    channels: dict[int, list[dict[str, Any]]] = {}
    for delivery in deliveries:
        tried = [row(a, without=frozenset({"delivery_id"})) for a in attempts if a.delivery_id == delivery.id]
        out = row(delivery, without=frozenset({"notification_id", "lease_until"}))
        channels.setdefault(delivery.notification_id, []).append({**out, "attempts_made": tried})
    return [{**row(n), "text": render(n), "deliveries": channels.get(n.id, [])} for n in found]


def sign_ins(user: User) -> dict[str, Any]:
    sessions = _all(sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.created_at))
    lockouts = _all(sa.select(LoginLockout).where(LoginLockout.user_id == user.id).order_by(LoginLockout.id))
    return {
        "browsers": [{"signed_in_at": _plain(s.created_at)} for s in sessions],
        "lockouts": [row(lock) for lock in lockouts],
    }


def audit_events(user: User) -> list[dict[str, Any]]:
    """What the person did, and what was done to their account (`user:<id>`)."""
    about = sa.and_(AuditEvent.object_type == "user", AuditEvent.object_id == user.id)
    found = _all(sa.select(AuditEvent).where(sa.or_(AuditEvent.actor_id == user.id, about)).order_by(AuditEvent.id))
    return [
        {**row(e, without=frozenset({"object_type", "object_id"})), "object": f"{e.object_type}:{e.object_id}"}
        for e in found
    ]


def everything(user: User, now: datetime) -> dict[str, Any]:
    """The whole export of `user` as of `now`. Reads only."""
    household_id = user.household_id
    return {
        "format": FORMAT,
        "exported_at": _plain(now),
        "user": account(user),
        "household": household(user),
        "vehicles": vehicles(household_id),
        "bookings": bookings(household_id),
        "subscriptions": subscriptions(household_id),
        "statements": statements(household_id),
        "scans": scans(household_id),
        "plate_events": plate_events(household_id),
        "notifications": notifications(user),
        "sign_ins": sign_ins(user),
        "audit_events": audit_events(user),
    }


def file_name(user: User, now: datetime) -> str:
    return f"tidal-parking-export-{user.id}-{now.date().isoformat()}.json"
