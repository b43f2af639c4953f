"""Quota overrides and the quota engine shared by templates and holiday presets (invariant 3).

Every quota change goes through `apply_targets()`: it locks the affected windows (in id order, so
two managers never deadlock), checks every window first and only then changes anything. Refused
changes therefore change nothing. With the bump policy the most recently made confirmed bookings
lose their space (status `bumped`), their households are notified and get waitlist priority.

Decisions the issue left open:

- A car already inside (`checked_in` or `overstayed`) is never bumped: the gate would have to
  evict it. When a cut cannot be met by bumping confirmed bookings alone, the change is refused
  with 409 `cars_inside` even under the bump policy.
- Closing a window (state `cancelled`, quota 0) also withdraws its waitlist: each waiting entry is
  cancelled with the `window_closed` notice, because that night will not come back on its own.
- Windows that have ended (`closes_at <= now`) are history: overrides do not rewrite them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from parking.audit.services import record, snapshot
from parking.auth.models import User
from parking.bookings.admission import notify_household, release, set_status
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.bookings.services import promote_waitlist
from parking.errors import Conflict, NotFound, QuotaBelowBooked, Unprocessable
from parking.extensions import db
from parking.households.models import Household
from parking.i18n import lazy_gettext as _l
from parking.quotas.models import QuotaOverride
from parking.quotas.resolve import EffectiveQuota, overrides_between, pick
from parking.windows.locking import lock_window
from parking.windows.models import Garage, Window, WindowState, WindowTemplate
from parking.windows.services import today

REFUSE, BUMP = "refuse", "bump"
POLICIES = (REFUSE, BUMP)
MAX_OVERRIDE_DAYS = 400
WINDOW_FIELDS = ("quota", "state", "closed_reason")
#: closed_reason of a window whose template no longer runs on its weekday (kept for its history).
NOT_SCHEDULED = "not_scheduled"


class CarsInside(Conflict):
    reason, message = (
        "cars_inside",
        _l("Cars already inside the garage hold more spaces than the new quota; they cannot be bumped."),
    )
    field = "quota"  # the form field a page puts the message beside


@dataclass
class Target:
    """What a window should become: a quota, or closed."""

    quota: int
    closed: bool = False
    reason: str | None = None

    @classmethod
    def of(cls, effective: EffectiveQuota) -> Target:
        return cls(effective.quota, effective.closed, effective.reason)


@dataclass(frozen=True)
class ChangeSummary:
    """What a change of quotas did, counted (`ChangeSummarySchema`)."""

    windows_changed: int
    bumped: int
    promoted: int
    waitlist_cancelled: int


@dataclass(frozen=True)
class OverrideDeleted(ChangeSummary):
    id: int
    deleted: bool = True


@dataclass
class ChangeResult:
    windows: int = 0
    bumped: list[int] = field(default_factory=list)
    promoted: list[int] = field(default_factory=list)
    waitlist_cancelled: list[int] = field(default_factory=list)

    def summary(self) -> ChangeSummary:
        return ChangeSummary(
            windows_changed=self.windows,
            bumped=len(self.bumped),
            promoted=len(self.promoted),
            waitlist_cancelled=len(self.waitlist_cancelled),
        )


def mask_of(weekdays: Iterable[int] | None) -> int | None:
    """[1, 3] → 0b101 (bit d-1 for ISO weekday d); None stays None (every day)."""
    if weekdays is None:
        return None
    mask = 0
    for day in weekdays:
        mask |= 1 << (day - 1)
    return mask


def days_of(mask: int | None) -> list[int] | None:
    if mask is None:
        return None
    return [d for d in range(1, 8) if mask & (1 << (d - 1))]


def _holding_counts(window_ids: list[int]) -> dict[int, dict[BookingStatus, int]]:
    counts: dict[int, dict[BookingStatus, int]] = {}
    if not window_ids:
        return counts
    rows = db.session.execute(
        db.select(Booking.window_id, Booking.status, sa.func.count())
        .where(Booking.window_id.in_(window_ids), Booking.status.in_((*SPACE_HOLDING, BookingStatus.WAITLISTED)))
        .group_by(Booking.window_id, Booking.status)
    ).tuples()
    for window_id, status, count in rows:
        counts.setdefault(window_id, {})[status] = count
    return counts


def apply_targets(
    targets: dict[int, Target], policy: str, actor: User | None, now: datetime, *, reason: str | None
) -> ChangeResult:
    """Bring each window (by id) to its target quota or closed state, all or nothing."""
    result = ChangeResult()
    windows: list[tuple[Window, Target]] = []
    for window_id in sorted(targets):
        window = lock_window(window_id)
        if window is None or window.closes_at <= now:
            continue
        target = targets[window_id]
        closed_now = window.state == WindowState.CANCELLED
        if (
            window.quota == target.quota
            and closed_now == target.closed
            and (not target.closed or window.closed_reason == target.reason)
        ):
            continue
        windows.append((window, target))
    if not windows:
        return result

    # Check every window before changing any: a refusal leaves everything as it was.
    counts = _holding_counts([w.id for w, _ in windows])
    affected: list[dict[str, Any]] = []
    inside_blocked: list[dict[str, Any]] = []
    for window, target in windows:
        cut = window.booked - target.quota
        if cut <= 0:
            continue
        per_status = counts.get(window.id, {})
        inside = per_status.get(BookingStatus.CHECKED_IN, 0) + per_status.get(BookingStatus.OVERSTAYED, 0)
        detail = {
            "window_id": window.id,
            "service_date": window.service_date.isoformat(),
            "quota": target.quota,
            "booked": window.booked,
            "affected": cut,
        }
        affected.append(detail)
        if inside > target.quota:
            inside_blocked.append({**detail, "inside": inside})
    total = sum(int(d["affected"]) for d in affected)
    if affected and policy != BUMP:
        raise QuotaBelowBooked(details={"affected": total, "windows": affected})
    if inside_blocked:
        raise CarsInside(details={"affected": total, "windows": inside_blocked})

    for window, target in windows:
        _change_window(window, target, actor, now, reason, result)
    return result


def _change_window(
    window: Window, target: Target, actor: User | None, now: datetime, reason: str | None, result: ChangeResult
) -> None:
    before = snapshot(window, *WINDOW_FIELDS)
    change_reason = target.reason or reason
    cut = window.booked - target.quota
    if cut > 0:
        victims = db.session.scalars(
            db.select(Booking)
            .where(Booking.window_id == window.id, Booking.status == BookingStatus.CONFIRMED)
            # A booking the draw confirmed was made at the draw; among those, the last drawn first.
            .order_by(
                sa.func.coalesce(Booking.won_draw_at, Booking.created_at).desc(),
                sa.func.coalesce(Booking.draw_rank, 0).desc(),
                Booking.id.desc(),
            )
            .limit(cut)
            .with_for_update()  # a gate may be checking one of them in right now
            .execution_options(populate_existing=True)
        ).all()
        for booking in victims:
            _bump(booking, window, actor, now, change_reason, result)
    if target.closed or target.quota <= 0:
        # A night without a space has no waitlist either (it takes no entry; `booking_closed`):
        # whoever waited, or asked for its draw, is told, not left hoping.
        _withdraw_waitlist(window, actor, now, change_reason, result)
    # The counter is down first, so the CHECK (booked <= quota) holds at every statement.
    db.session.execute(sa.update(Window).where(Window.id == window.id).values(quota=target.quota))
    db.session.refresh(window, ["quota", "booked"])
    if target.closed:
        window.state, window.closed_reason = WindowState.CANCELLED, target.reason
    elif window.state == WindowState.CANCELLED:  # reopened; the tide job moves it on from here
        window.state, window.closed_reason = WindowState.PLANNED, None
    db.session.flush()
    record(
        actor,
        "window.quota_changed",
        window,
        before=before,
        after=snapshot(window, *WINDOW_FIELDS),
        reason=change_reason,
        at=now,
    )
    result.windows += 1
    if not target.closed and window.booked < window.quota:
        result.promoted.extend(b.id for b in promote_waitlist(window, now, actor))


def _bump(
    booking: Booking, window: Window, actor: User | None, now: datetime, reason: str | None, result: ChangeResult
) -> None:
    release(booking, window, BookingStatus.BUMPED, actor, now, action="booking.bumped", reason=reason)
    household = db.session.get(Household, booking.household_id)
    assert household is not None
    if not household.waitlist_priority:
        before = snapshot(household, "waitlist_priority")
        household.waitlist_priority = True
        record(
            actor,
            "household.priority_granted",
            household,
            before=before,
            after=snapshot(household, "waitlist_priority"),
            reason=f"booking {booking.id} bumped",
            at=now,
        )
    notify_household(booking, "booking_bumped", now, dedupe=True, extra={"reason": reason or ""})
    result.bumped.append(booking.id)


def _withdraw_waitlist(
    window: Window, actor: User | None, now: datetime, reason: str | None, result: ChangeResult
) -> None:
    waiting = db.session.scalars(
        db.select(Booking)
        .where(Booking.window_id == window.id, Booking.status.in_((BookingStatus.WAITLISTED, BookingStatus.REQUESTED)))
        .order_by(Booking.id)
        .execution_options(populate_existing=True)
    ).all()
    for booking in waiting:
        kind = "ballot_withdrawn" if booking.status == BookingStatus.REQUESTED else "window_closed"
        booking.cancelled_at = now
        set_status(booking, BookingStatus.CANCELLED, actor, now, action="booking.window_closed", reason=reason)
        notify_household(booking, kind, now, dedupe=True, extra={"reason": reason or ""})
        result.waitlist_cancelled.append(booking.id)


# --- recomputing windows from the rules -------------------------------------------------------


def live_windows(template_ids: list[int], start: date, end: date, now: datetime) -> list[Window]:
    """The materialised windows of these templates in [start, end] that have not ended."""
    if not template_ids or end < start:
        return []
    return list(
        db.session.scalars(
            db.select(Window)
            .where(
                Window.template_id.in_(template_ids),
                Window.service_date.between(start, end),
                Window.closes_at > now,
            )
            .order_by(Window.id)
        )
    )


def recompute(
    templates: list[WindowTemplate],
    start: date,
    end: date,
    policy: str,
    actor: User | None,
    now: datetime,
    *,
    reason: str | None,
) -> ChangeResult:
    """Make the live windows of `templates` in [start, end] follow the current rules (template
    default and overrides, as flushed in this transaction)."""
    db.session.flush()
    by_id = {t.id: t for t in templates}
    windows = live_windows(list(by_id), start, end, now)
    if not windows:
        return ChangeResult()
    overrides = overrides_between(list(by_id), start, end)
    targets = {}
    for window in windows:
        template = by_id[window.template_id]
        if template.runs_on(window.service_date):
            targets[window.id] = Target.of(pick(template, window.service_date, overrides))
        else:
            targets[window.id] = Target(0, True, NOT_SCHEDULED)
    return apply_targets(targets, policy, actor, now, reason=reason)


# --- overrides ---------------------------------------------------------------------------------

OVERRIDE_FIELDS = (
    "template_id",
    "start_date",
    "end_date",
    "weekdays",
    "quota",
    "closed",
    "reason",
    "source",
    "provisional",
)


def garage_template(garage: Garage, template_id: int) -> WindowTemplate:
    template = db.session.get(WindowTemplate, template_id)
    if template is None or template.garage_id != garage.id:
        raise Unprocessable(reason="unknown_template", errors={"template_id": ["not a template of this garage"]})
    return template


def check_quota(garage: Garage, quota: int | None, field_name: str = "quota") -> None:
    if quota is not None and garage.capacity and quota > garage.capacity:
        raise Unprocessable(
            reason="quota_above_capacity",
            errors={field_name: [f"must not exceed the garage's capacity of {garage.capacity}"]},
            details={"capacity": garage.capacity},
        )


def list_overrides(garage: Garage, start: date | None, end: date | None) -> list[QuotaOverride]:
    if start is not None and end is not None and end < start:
        raise Unprocessable(reason="invalid_range", errors={"to": ["must not be before from"]})
    stmt = db.select(QuotaOverride).where(QuotaOverride.garage_id == garage.id)
    if start is not None:
        stmt = stmt.where(QuotaOverride.end_date >= start)
    if end is not None:
        stmt = stmt.where(QuotaOverride.start_date <= end)
    return list(db.session.scalars(stmt.order_by(QuotaOverride.start_date, QuotaOverride.id).limit(1000)))


def create_override(garage: Garage, data: dict, actor: User, now: datetime) -> QuotaOverride:
    template = garage_template(garage, data["template_id"])
    start, end = data["start_date"], data["end_date"]
    if end < start:
        raise Unprocessable(reason="invalid_range", errors={"end_date": ["must not be before start_date"]})
    if (end - start).days >= MAX_OVERRIDE_DAYS:
        raise Unprocessable(reason="invalid_range", errors={"end_date": [f"at most {MAX_OVERRIDE_DAYS} days"]})
    if end < today(garage, now) - timedelta(days=1):
        raise Unprocessable(reason="range_in_past", errors={"end_date": ["the range has already passed"]})
    closed = bool(data.get("closed"))
    quota = data.get("quota")
    if closed == (quota is not None):
        raise Unprocessable(reason="quota_or_closed", errors={"quota": ["give either a quota or closed: true"]})
    check_quota(garage, quota)
    override = QuotaOverride(
        garage_id=garage.id,
        template_id=template.id,
        start_date=start,
        end_date=end,
        weekdays=mask_of(data.get("weekdays")),
        quota=quota,
        closed=closed,
        reason=data["reason"],
        source="manual",
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(override)
    db.session.flush()
    record(
        actor, "override.created", override, after=snapshot(override, *OVERRIDE_FIELDS), reason=override.reason, at=now
    )
    result = recompute([template], start, end, data.get("policy", REFUSE), actor, now, reason=override.reason)
    override.result = result.summary()  # type: ignore[attr-defined]  # a transient attribute the response schema reads
    return override


def delete_override(garage: Garage, override_id: int, policy: str, actor: User, now: datetime) -> OverrideDeleted:
    override = db.session.get(QuotaOverride, override_id)
    if override is None or override.garage_id != garage.id:
        raise NotFound()
    template = db.session.get(WindowTemplate, override.template_id)
    assert template is not None
    start, end = override.start_date, override.end_date
    record(actor, "override.deleted", override, before=snapshot(override, *OVERRIDE_FIELDS), at=now)
    db.session.delete(override)
    result = recompute([template], start, end, policy, actor, now, reason="override removed")
    return OverrideDeleted(**asdict(result.summary()), id=override_id)
