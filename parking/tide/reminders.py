"""Reminders: cars still inside `reminder_minutes` before the window closes are told once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.bookings.models import BookingStatus
from parking.bookings.strikes import (
    Rules,
)
from parking.dbtypes import UTCDateTime
from parking.extensions import db
from parking.tide.bulk import (
    AUDIT_COLUMNS,
    B,
    W,
    by_window,
    due_before,
    due_windows,
    id_among,
    iso_date,
    json_object,
    local_text,
    notify_bookings,
    take_due,
    text_value,
    transition,
)


def remind(now: datetime, rules: dict[int, Rules], summary: Counter) -> None:
    """Cars still inside `reminder_minutes` before `closes_at` are reminded, once (`reminded_at`)."""
    due = due_before(W.c.closes_at, rules, lambda r: -timedelta(minutes=r.reminder_minutes), now)
    not_over = sa.not_(due_before(W.c.closes_at, rules, lambda r: timedelta(minutes=r.exit_grace_minutes), now))
    waiting = (B.c.inside.is_(True), B.c.reminded_at.is_(None))
    windows = due_windows(BookingStatus.CHECKED_IN, sa.and_(due, not_over), *waiting, lock=False)
    taken = take_due([w.id for w in windows], BookingStatus.CHECKED_IN, *waiting)
    if not taken:
        return
    ids = [t.id for t in taken]
    audit = (
        sa.select(
            sa.literal(now, UTCDateTime()),
            sa.null(),
            text_value("booking.reminded"),
            text_value("booking"),
            B.c.id,
            B.c.garage_id,
            json_object(reminded_at=None),
            json_object(reminded_at=now.isoformat()),
            text_value("reclaim reminder"),
        )
        .where(id_among(B.c.id, ids))
        .order_by(B.c.window_id, B.c.id)
    )
    db.session.execute(sa.insert(AuditEvent).from_select(AUDIT_COLUMNS, audit))
    local = by_window({w.id: local_text(w.closes_at, rules[w.garage_id].timezone) for w in windows})
    params = json_object(plate=B.c.plate, date=iso_date(W.c.service_date), time=local)
    summary["notifications"] += notify_bookings(ids, "reclaim_reminder", params, now)
    transition(ids, BookingStatus.CHECKED_IN, {"reminded_at": now}, *waiting)
    summary["reminded"] += len(ids)
