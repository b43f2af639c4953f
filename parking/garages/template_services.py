"""Window templates as managers edit them. A new template materialises its windows for the
booking horizon. A schedule change (times or weekdays) moves the windows that have not opened yet,
and is refused with 409 `template_has_bookings` while any of them holds bookings or a waitlist:
nobody finds their night moved under them. A new default quota applies, like an override, to the
live windows that no override governs (refuse/bump policy)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from parking.audit.services import record, snapshot
from parking.auth.models import User
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.errors import Conflict, NotFound
from parking.extensions import db
from parking.garages.services import ballot_columns, ensure_windows
from parking.i18n import lazy_gettext as _l
from parking.quotas.resolve import overrides_between, pick
from parking.quotas.services import NOT_SCHEDULED, ChangeResult, Target, apply_targets, check_quota, mask_of, recompute
from parking.windows.models import Garage, TemplateMode, Window, WindowState, WindowTemplate
from parking.windows.services import horizon_end, today, window_instants

TEMPLATE_FIELDS = ("name", "weekday_list", "start_time", "end_time", "default_quota", "mode", "active")
ACTIVE = (*SPACE_HOLDING, BookingStatus.WAITLISTED, BookingStatus.REQUESTED)
FAR = timedelta(days=3660)


class TemplateHasBookings(Conflict):
    reason, message = (
        "template_has_bookings",
        _l("Upcoming nights of this template have bookings; its times or weekdays cannot change under them."),
    )


def list_templates(garage: Garage) -> list[WindowTemplate]:
    return list(
        db.session.scalars(
            db.select(WindowTemplate).where(WindowTemplate.garage_id == garage.id).order_by(WindowTemplate.id)
        )
    )


def get_template(garage: Garage, template_id: int) -> WindowTemplate:
    template = db.session.get(WindowTemplate, template_id)
    if template is None or template.garage_id != garage.id:
        raise NotFound()
    return template


def create_template(garage: Garage, data: dict, actor: User, now: datetime) -> WindowTemplate:
    check_quota(garage, data["default_quota"], "default_quota")
    template = WindowTemplate(
        garage_id=garage.id,
        name=data["name"],
        weekdays=mask_of(data["weekdays"]),
        start_time=data["start_time"],
        end_time=data["end_time"],
        default_quota=data["default_quota"],
        mode=data["mode"],
        active=True,
        created_at=now,
    )
    db.session.add(template)
    db.session.flush()
    record(actor, "template.created", template, after=snapshot(template, *TEMPLATE_FIELDS), at=now)
    template.windows_created = ensure_windows(  # type: ignore[attr-defined]  # a transient attribute the response schema reads
        garage, today(garage, now), horizon_end(garage, now), now, [template]
    )
    return template


def _bookings_per_window(window_ids: list[int]) -> dict[int, int]:
    if not window_ids:
        return {}
    rows = db.session.execute(
        db.select(Booking.window_id, sa.func.count())
        .where(Booking.window_id.in_(window_ids), Booking.status.in_(ACTIVE))
        .group_by(Booking.window_id)
    ).tuples()
    return {window_id: count for window_id, count in rows}


def reschedule(garage: Garage, template: WindowTemplate, actor: User, now: datetime) -> ChangeResult:
    """Move the windows that have not opened to the template's new times and weekdays."""
    upcoming = list(
        db.session.scalars(
            db.select(Window)
            .where(Window.template_id == template.id, Window.opens_at > now)
            .order_by(Window.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    held = _bookings_per_window([w.id for w in upcoming])
    if held:
        affected = [
            {"window_id": w.id, "service_date": w.service_date.isoformat(), "bookings": held[w.id]}
            for w in upcoming
            if w.id in held
        ]
        raise TemplateHasBookings(details={"affected": affected, "bookings": sum(held.values())})
    upcoming_ids = [w.id for w in upcoming]
    history = set(db.session.scalars(db.select(Booking.window_id).where(Booking.window_id.in_(upcoming_ids))))
    revive: dict[int, Target] = {}
    overrides = overrides_between([template.id], today(garage, now) - timedelta(days=1), today(garage, now) + FAR)
    for window in upcoming:
        if not template.runs_on(window.service_date):
            if window.id in history:  # past cancellations stay on record
                revive[window.id] = Target(0, True, NOT_SCHEDULED)
            else:
                db.session.delete(window)
            continue
        opens_at, closes_at = window_instants(template, window.service_date, garage.timezone)
        if (opens_at, closes_at) != (window.opens_at, window.closes_at):
            before = snapshot(window, "opens_at", "closes_at")
            window.opens_at, window.closes_at = opens_at, closes_at
            record(
                actor,
                "window.rescheduled",
                window,
                before=before,
                after=snapshot(window, "opens_at", "closes_at"),
                reason="template changed",
                at=now,
            )
        if window.state == WindowState.CANCELLED and window.closed_reason == NOT_SCHEDULED:
            revive[window.id] = Target.of(pick(template, window.service_date, overrides))
    db.session.flush()
    result = apply_targets(revive, "refuse", actor, now, reason="template changed")
    result.windows += ensure_windows(garage, today(garage, now), horizon_end(garage, now), now, [template])
    return result


def _switch_mode(garage: Garage, template: WindowTemplate, actor: User, now: datetime) -> dict[str, int]:
    """A new mode applies to the template's upcoming nights that nobody has booked or requested
    yet (and, for the ballot, whose ballot has not closed); the others keep the mode they were
    booked under, so that no booking or request changes its meaning under its holder."""
    upcoming = list(
        db.session.scalars(
            db.select(Window)
            .where(Window.template_id == template.id, Window.opens_at > now, Window.drawn_at.is_(None))
            .order_by(Window.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    held = _bookings_per_window([w.id for w in upcoming])
    switched = kept = 0
    for window in upcoming:
        if window.mode == template.mode:
            continue
        columns = ballot_columns(garage, window.service_date, template.mode, now)
        if window.id in held or columns["mode"] != template.mode.value:
            kept += 1
            continue
        before = snapshot(window, "mode", "ballot_closes_at", "ballot_commitment")
        for key, value in columns.items():
            setattr(window, key, value)
        window.mode = TemplateMode(columns["mode"])
        record(
            actor,
            "window.mode_changed",
            window,
            before=before,
            after=snapshot(window, "mode", "ballot_closes_at", "ballot_commitment"),
            reason="template mode changed",
            at=now,
        )
        switched += 1
    db.session.flush()
    return {"switched": switched, "kept": kept}


def update_template(garage: Garage, template_id: int, data: dict, actor: User, now: datetime) -> WindowTemplate:
    template = get_template(garage, template_id)
    before = snapshot(template, *TEMPLATE_FIELDS)
    policy = data.pop("policy", "refuse")
    if "weekdays" in data:
        data["weekdays"] = mask_of(data["weekdays"])
    if "default_quota" in data:
        check_quota(garage, data["default_quota"], "default_quota")
    schedule_keys = ("weekdays", "start_time", "end_time")
    schedule_changed = any(k in data and data[k] != getattr(template, k) for k in schedule_keys)
    quota_changed = "default_quota" in data and data["default_quota"] != template.default_quota
    mode_changed = "mode" in data and data["mode"] != template.mode
    for key, value in data.items():
        setattr(template, key, value)
    db.session.flush()
    result = ChangeResult()
    if schedule_changed:
        result = reschedule(garage, template, actor, now)
    if quota_changed:
        start = today(garage, now) - timedelta(days=1)
        changed = recompute([template], start, start + FAR, policy, actor, now, reason="template default quota changed")
        result.windows += changed.windows
        result.bumped += changed.bumped
        result.promoted += changed.promoted
    if mode_changed:
        template.mode_change = _switch_mode(garage, template, actor, now)  # type: ignore[attr-defined]  # a transient attribute the response schema reads
    record(actor, "template.updated", template, before=before, after=snapshot(template, *TEMPLATE_FIELDS), at=now)
    template.result = result.summary()  # type: ignore[attr-defined]  # a transient attribute the response schema reads
    return template
