"""Suspensions: households that reached the strike limit within the strike window are suspended,
audited and told once."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from parking.bookings.strikes import (
    Rules,
    counted_strikes,
    not_suspended,
    suspension_notice,
    suspension_reason,
)
from parking.extensions import db
from parking.notifications.models import Notification
from parking.tide.bulk import H, S, id_among, insert_audit, insert_ignore, members_of


def suspend(household_ids: Iterable[int], now: datetime, rules: dict[int, Rules], summary: Counter) -> None:
    """The suspension policy (`parking.bookings.strikes`) over many households at once: a household
    whose counted strikes reach `strike_limit` is suspended for `suspension_days`, audited and
    notified once."""
    ids = sorted(set(household_ids))
    due: dict[int, list[tuple[int, int, datetime | None]]] = defaultdict(list)  # by suspension_days
    if ids:
        found = db.session.execute(
            sa.select(H.c.id, H.c.garage_id, H.c.suspended_until, sa.func.count(S.c.id))
            .join(S, S.c.household_id == H.c.id)
            .where(id_among(H.c.id, ids), not_suspended(now), counted_strikes(now, rules))
            .group_by(H.c.id, H.c.garage_id, H.c.suspended_until)
        ).all()
        for household_id, garage_id, previous, count in found:
            rule = rules[garage_id]
            if count >= rule.strike_limit:
                due[rule.suspension_days].append((household_id, count, previous))
    audits, notes = [], []
    for days, households in sorted(due.items()):
        until = now + timedelta(days=days)
        by_id = {h: (count, previous) for h, count, previous in households}
        changed = db.session.execute(
            sa.update(H)
            .where(id_among(H.c.id, sorted(by_id)), not_suspended(now))
            .values(suspended_until=until, suspended_at=now)
            .returning(H.c.id, H.c.garage_id)
        ).all()
        for household_id, garage_id in sorted(changed):
            count, previous = by_id[household_id]
            rule = rules[garage_id]
            audits.append(
                {
                    "at": now,
                    "actor_id": None,
                    "action": "household.suspended",
                    "object_type": "household",
                    "object_id": household_id,
                    "garage_id": garage_id,
                    "before": {"suspended_until": previous.isoformat() if previous else None},
                    "after": {"suspended_until": until.isoformat()},
                    "reason": suspension_reason(count, rule),
                }
            )
            local_until = until.astimezone(ZoneInfo(rule.timezone)).date().isoformat()
            notes.append((household_id, {"until": local_until}))
    insert_audit(audits)
    members = members_of(h for h, _p in notes)
    rows = [
        {
            "user_id": user_id,
            "kind": "suspended",
            "params": params,
            "booking_id": None,
            "dedupe_key": suspension_notice(household_id, now),
            "created_at": now,
        }
        for household_id, params in notes
        for user_id in members.get(household_id, [])
    ]
    insert_ignore(
        Notification, rows, index_elements=["user_id", "dedupe_key"], index_where=Notification.dedupe_key.isnot(None)
    )
    summary["suspended"] += len(notes)
    summary["notifications"] += len(rows)
