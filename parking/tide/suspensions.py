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
from parking.notifications.services import NOTICE_TYPES, queue
from parking.tide.bulk import H, S, U, id_among, insert_audit, text_value


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
    audits: list[dict] = []
    told: dict[str, list[int]] = defaultdict(list)  # households by the local date they are suspended until
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
            told[local_until].append(household_id)
    insert_audit(audits)
    # Every member of each household, told once (its dedupe key): one statement for the households
    # whose suspension ends on the same local date, by the one statement that queues notices.
    for local_until, suspended in sorted(told.items()):
        rows = (
            sa.select(
                U.c.id,
                text_value("suspended"),
                sa.literal({"until": local_until}, NOTICE_TYPES["params"]),
                sa.null(),
                suspension_notice(U.c.household_id, now),
                sa.literal(now, NOTICE_TYPES["created_at"]),
            )
            .where(id_among(U.c.household_id, suspended))
            .order_by(U.c.id)
        )
        summary["notifications"] += queue(rows)
    summary["suspended"] += sum(len(suspended) for suspended in told.values())
