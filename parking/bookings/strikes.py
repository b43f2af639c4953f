"""Strikes and suspensions (the garage rules): one policy, used by the gate one booking at a time
and by the tide in set-based statements.

- An overstay: a car still inside `exit_grace_minutes` after its window closed. It costs one
  strike (one per booking and kind, a unique key), and a notice.
- A suspension: `strike_limit` strikes within `strike_window_days`, newer than the household's last
  suspension (the strikes a suspension answered for are used up by it, so it does not renew
  itself), suspend booking for `suspension_days`; audited and notified once.

The conditions are written here once, as SQL over the households and strikes tables, so that the
tide's statements over many households and the gate's over one decide alike."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from parking.audit.services import record
from parking.auth.models import User
from parking.bookings.admission import member_ids, notify_household, set_status
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.households.models import Household, Strike, StrikeKind
from parking.notifications.services import notify
from parking.windows.models import Garage, Window

H = cast(sa.Table, Household.__table__)
S = cast(sa.Table, Strike.__table__)


@dataclass(frozen=True)
class Rules:
    """One garage's tide rules, loaded once per pass (or once per gate charge)."""

    id: int
    timezone: str
    booking_cutoff_minutes: int
    no_show_minutes: int
    reminder_minutes: int
    exit_grace_minutes: int
    strike_limit: int
    strike_window_days: int
    suspension_days: int


_RULE_COLUMNS = (
    Garage.id,
    Garage.timezone,
    Garage.booking_cutoff_minutes,
    Garage.no_show_minutes,
    Garage.reminder_minutes,
    Garage.exit_grace_minutes,
    Garage.strike_limit,
    Garage.strike_window_days,
    Garage.suspension_days,
)


def load_rules(garage_id: int | None = None) -> dict[int, Rules]:
    """The rules of every garage, or of one."""
    stmt = sa.select(*_RULE_COLUMNS)
    if garage_id is not None:
        stmt = stmt.where(Garage.id == garage_id)
    return {row.id: Rules(*row) for row in db.session.execute(stmt).all()}


def per_garage(
    garage_column: sa.ColumnElement,
    rules: dict[int, Rules],
    setting: Callable[[Rules], Any],
    clause: Callable[[Any], sa.ColumnElement[bool]],
) -> sa.ColumnElement[bool]:
    """`clause(setting of the row's garage)`, as one clause per distinct value of the setting."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for rule in rules.values():
        groups[setting(rule)].append(rule.id)
    if not groups:
        return sa.false()
    if len(groups) == 1:
        return clause(next(iter(groups)))
    return sa.or_(*(sa.and_(garage_column.in_(ids), clause(value)) for value, ids in groups.items()))


# -- overstays -------------------------------------------------------------------------------------


def exit_deadline(window: Window, garage: Garage) -> datetime:
    """Until this instant a car may leave; still inside then, it has overstayed."""
    return window.closes_at + timedelta(minutes=garage.exit_grace_minutes)


def overstay_due(
    closes_at: sa.ColumnElement[Any], garage_column: sa.ColumnElement, rules: dict[int, Rules], now: datetime
) -> Any:
    """The same rule as `exit_deadline(…) <= now`, for the windows of many garages at once."""
    return per_garage(
        garage_column, rules, lambda r: r.exit_grace_minutes, lambda m: closes_at <= now - timedelta(minutes=m)
    )


def charge_overstay(actor: User | None, booking: Booking, now: datetime) -> None:
    """A car that left after the exit grace before the tide marked it: overstayed, one strike and
    one notice, exactly as the tide would; the unique strike and the notice's dedupe key keep it
    once if the tide charges it too. Then the household's suspension, by the one condition."""
    set_status(
        booking, BookingStatus.OVERSTAYED, actor, now, action="booking.overstayed", reason="left after the exit grace"
    )
    garage = booking.window.garage
    deadline = exit_deadline(booking.window, garage)
    try:
        with db.session.begin_nested():
            db.session.add(
                Strike(household_id=booking.household_id, booking_id=booking.id, kind=StrikeKind.OVERSTAY, at=deadline)
            )
    except sa.exc.IntegrityError:
        return  # already charged
    local_deadline = deadline.astimezone(ZoneInfo(garage.timezone)).strftime("%H:%M")
    notify_household(booking, "overstayed", now, dedupe=True, extra={"time": local_deadline})
    suspend_household(booking.household_id, now, load_rules(garage.id)[garage.id])


# -- suspensions -----------------------------------------------------------------------------------


def not_suspended(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(H.c.suspended_until.is_(None), H.c.suspended_until <= now)


def counted_strikes(now: datetime, rules: dict[int, Rules]) -> sa.ColumnElement[bool]:
    """The strikes (joined to their household) that count towards a suspension now: within the
    garage's window of days, and newer than the household's last suspension."""
    recent = per_garage(
        H.c.garage_id, rules, lambda r: r.strike_window_days, lambda d: S.c.at >= now - timedelta(days=d)
    )
    return sa.and_(recent, S.c.at <= now, sa.or_(H.c.suspended_at.is_(None), S.c.at > H.c.suspended_at))


def suspension_reason(count: int, rule: Rules) -> str:
    return f"{count} strikes in {rule.strike_window_days} days"


def suspension_notice(household_id: Any, now: datetime) -> Any:
    """One notice per suspension: keyed by the household and the instant it began. `household_id`
    is a number, or a column of household ids for a statement that keys many (the tide's)."""
    begun = now.strftime("%Y%m%dT%H%M%S")
    if isinstance(household_id, int):
        return f"suspended:{household_id}:{begun}"
    return sa.literal("suspended:") + sa.cast(household_id, sa.String) + sa.literal(f":{begun}")


def suspend_household(household_id: int, now: datetime, rule: Rules) -> bool:
    """The tide's suspension, for one household (the gate's overstay): True when it began now."""
    rules = {rule.id: rule}
    row = db.session.execute(
        sa.select(H.c.suspended_until, sa.func.count(S.c.id))
        .join(S, S.c.household_id == H.c.id)
        .where(H.c.id == household_id, not_suspended(now), counted_strikes(now, rules))
        .group_by(H.c.id, H.c.suspended_until)
    ).first()
    if row is None or row[1] < rule.strike_limit:
        return False
    previous, count = row
    until = now + timedelta(days=rule.suspension_days)
    changed = db.session.execute(
        sa.update(H)
        .where(H.c.id == household_id, not_suspended(now))
        .values(suspended_until=until, suspended_at=now)
        .returning(H.c.id)
    ).first()
    if changed is None:
        return False
    household = db.session.get(Household, household_id)
    if household is not None:
        db.session.refresh(household, ["suspended_until", "suspended_at"])
        record(
            None,
            "household.suspended",
            household,
            before={"suspended_until": previous.isoformat() if previous else None},
            after={"suspended_until": until.isoformat()},
            reason=suspension_reason(count, rule),
            at=now,
        )
    local_until = until.astimezone(ZoneInfo(rule.timezone)).date().isoformat()
    notify(
        member_ids(household_id),
        "suspended",
        {"until": local_until},
        dedupe_key=suspension_notice(household_id, now),
        now=now,
    )
    return True
