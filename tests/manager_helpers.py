"""Helpers for the manager-endpoint tests (templates, overrides, holidays, reports, audit)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.extensions import db
from parking.windows.models import Window


def api(client, factory, user, method, path, **kwargs):
    return client.open(f"/api/v1{path}", method=method, headers=factory.headers(user), **kwargs)


def book_many(factory, window, n, *, step=timedelta(minutes=1), waitlist=False):
    """`n` bookings by fresh households, made one clock step apart (so "most recent" is defined)."""
    made = []
    for _ in range(n):
        clock.advance(step)
        made.append(factory.booking(window, waitlist=waitlist))
    return made


def check_in(booking):
    """The car has entered (what the gate does), without going through the gate service."""
    booking = db.session.get(Booking, booking.id)
    booking.status = BookingStatus.CHECKED_IN
    booking.inside = True
    booking.entered_at = clock.now()
    db.session.commit()
    return booking


def fresh(model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def holding(window_id):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(Booking.window_id == window_id, Booking.status.in_(SPACE_HOLDING))
    )


def statuses(window_id):
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Booking).where(Booking.window_id == window_id).order_by(Booking.id))
    return {b.id: b.status for b in rows}


def actions(object_type=None, object_id=None):
    stmt = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    return list(db.session.scalars(stmt))


def assert_counter_consistent(window_id):
    window = fresh(Window, window_id)
    assert window.booked <= window.quota
    assert window.booked == holding(window_id)
    return window


def assert_error(response, code, reason):
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.json
    assert body["code"] == code and body["error"] == reason, body
    assert "message" in body and "status" in body
    return body
