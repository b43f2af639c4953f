"""Garages, templates and their windows: instants in the garage's timezone, stored in UTC."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

import sqlalchemy as sa

from parking.bookings import draw
from parking.bookings.models import LIVE, Booking, BookingStatus
from parking.dbtypes import bound_row, insert_skipping
from parking.errors import NotFound, Unprocessable
from parking.extensions import db
from parking.quotas.resolve import overrides_between, pick
from parking.windows.models import Garage, TemplateMode, Window, WindowState, WindowTemplate, runs_on
from parking.windows.services import ballot_close, horizon_end
from parking.windows.services import get_garage as get_garage  # the pages find a garage here too
from parking.windows.services import today as today
from parking.windows.services import window_instants as window_instants

MAX_LISTING_DAYS = 62


def ballot_columns(garage: Garage, service_date: date, mode: TemplateMode, now: datetime) -> dict:
    """The mode columns of a new window. A ballot night gets its seed now and publishes its
    commitment; a night whose ballot would already have closed runs first come."""
    closes = ballot_close(garage, service_date)
    if mode != TemplateMode.BALLOT or closes <= now:
        return {
            "mode": TemplateMode.FIRST_COME.value,
            "ballot_closes_at": None,
            "ballot_seed": None,
            "ballot_commitment": None,
        }
    seed = draw.new_seed()
    return {
        "mode": TemplateMode.BALLOT.value,
        "ballot_closes_at": closes,
        "ballot_seed": seed.hex(),
        "ballot_commitment": draw.commitment(seed),
    }


_WINDOW_TABLE = cast(sa.Table, Window.__table__)


def list_garages() -> list[Garage]:
    return list(db.session.scalars(db.select(Garage).order_by(Garage.id)))


def insert_windows(rows: list[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING (`dbtypes.insert_skipping`): two requests (or tide passes)
    materialising the same day both succeed, and the day has one window. One statement of the
    rows' columns as bound values, run once a row (executemany; psycopg pipelines them)."""
    if not rows:
        return
    columns = tuple(rows[0])
    given = bound_row(_WINDOW_TABLE, columns)
    db.session.execute(insert_skipping(_WINDOW_TABLE, columns, given, "uq_windows_template_date"), rows)


def window_rows(
    garage: Garage,
    templates: list[WindowTemplate],
    start: date,
    end: date,
    existing: set[tuple[int, date]],
    overrides: list,
    now: datetime,
) -> list[dict]:
    """The rows of the windows the garage's `templates` should have on service dates [start, end]
    and do not (`existing` holds (template_id, service_date)), with the quota the overrides give."""
    rows = []
    day = start
    while day <= end:
        for template in templates:
            if not template.runs_on(day) or (template.id, day) in existing:
                continue
            opens_at, closes_at = window_instants(template, day, garage.timezone)
            effective = pick(template, day, overrides)
            rows.append(
                {
                    "garage_id": garage.id,
                    "template_id": template.id,
                    "service_date": day,
                    "opens_at": opens_at,
                    "closes_at": closes_at,
                    "quota": effective.quota,
                    "booked": 0,
                    "state": (WindowState.CANCELLED if effective.closed else WindowState.PLANNED).value,
                    "closed_reason": effective.reason if effective.closed else None,
                    "created_at": now,
                    **ballot_columns(garage, day, template.mode, now),
                }
            )
        day += timedelta(days=1)
    return rows


def _missing_rows(
    garage: Garage, start: date, end: date, now: datetime, templates: list[WindowTemplate] | None
) -> list[dict]:
    """The rows of the windows the garage's active templates (or `templates`) should have on
    service dates [start, end], never before yesterday nor beyond the booking horizon, and do not."""
    start = max(start, today(garage, now) - timedelta(days=1))
    end = min(end, horizon_end(garage, now))
    if end < start:
        return []
    if templates is None:
        templates = list(
            db.session.scalars(
                db.select(WindowTemplate).where(WindowTemplate.garage_id == garage.id, WindowTemplate.active.is_(True))
            )
        )
    if not templates:
        return []
    ids = [t.id for t in templates]
    existing = set(
        db.session.execute(
            db.select(Window.template_id, Window.service_date).where(
                Window.template_id.in_(ids), Window.service_date.between(start, end)
            )
        ).tuples()
    )
    return window_rows(garage, templates, start, end, existing, overrides_between(ids, start, end), now)


def ensure_windows(
    garage: Garage, start: date, end: date, now: datetime, templates: list[WindowTemplate] | None = None
) -> int:
    """Create the missing windows of the garage's active templates for service dates in
    [start, end], never before yesterday nor beyond the booking horizon. Returns how many were new.
    A write: the tide, a template's change and the booking that needs a night call it; a read
    shows a missing night with `computed_windows` instead."""
    rows = _missing_rows(garage, start, end, now, templates)
    insert_windows(rows)
    return len(rows)


def computed_windows(garage: Garage, start: date, end: date, now: datetime) -> list[Window]:
    """The windows `ensure_windows` would create, computed from their templates and not stored:
    what a read shows of a night the tide has not made yet (a GET never writes). They have no id;
    a ballot night's seed and commitment are made with the night itself, so none is shown yet."""
    windows = []
    for row in _missing_rows(garage, start, end, now, None):
        row.update(
            ballot_seed=None,
            ballot_commitment=None,
            state=WindowState(row["state"]),
            mode=TemplateMode(row["mode"]),
        )
        window = Window(**row)
        # Neither relationship has a back reference: the window stays out of the session.
        window.garage, window.template = garage, db.session.get(WindowTemplate, row["template_id"])
        windows.append(window)
    return windows


def night_key(window: Window) -> str:
    """How a page names a night in its forms: the window's id, or, for a night not made yet,
    `t<template id>-<service date>`."""
    if window.id is not None:
        return str(window.id)
    return f"t{window.template_id}-{window.service_date.isoformat()}"


_NIGHT_KEY = re.compile(r"^(?:(\d{1,18})|t(\d{1,18})-(\d{4}-\d{2}-\d{2}))$")


def valid_night_key(key: str) -> bool:
    return bool(_NIGHT_KEY.match(key or ""))


def night_window_id(garage: Garage, key: str, now: datetime) -> int:
    """The id of the night a form names (`night_key`); a night not made yet is made now, by the
    booking that needs it (the window's lock is taken by the booking right after, in the same
    transaction), so booking never waits for the tide. Unknown nights are not found."""
    match = _NIGHT_KEY.match(key or "")
    if match is None:
        raise NotFound()
    if match.group(1):
        return int(match.group(1))
    try:
        day = date.fromisoformat(match.group(3))
    except ValueError:
        raise NotFound() from None
    return night_of(int(match.group(2)), day, now, garage)


def night_of(template_id: int, day: date, now: datetime, garage: Garage | None = None) -> int:
    """The id of the template's night of `day`, made now if the tide has not made it yet (by
    the booking that needs it; it takes the window's lock next). Not found when the template is
    unknown, inactive, of another garage than `garage`, or does not run that day within the
    horizon."""
    template = db.session.get(WindowTemplate, template_id)
    if template is None or not template.active or (garage is not None and template.garage_id != garage.id):
        raise NotFound()
    ensure_windows(template.garage, day, day, now, [template])
    window_id = db.session.scalar(
        db.select(Window.id).where(Window.template_id == template.id, Window.service_date == day)
    )
    if window_id is None:
        raise NotFound()
    return window_id


def _waiting(status: BookingStatus) -> sa.Label:
    return (
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(Booking.window_id == Window.id, Booking.status == status)
        .correlate(Window)
        .scalar_subquery()
        .label(status.value)
    )


_ACTIVE_TEMPLATES = (
    sa.select(sa.func.count())
    .select_from(WindowTemplate)
    .where(WindowTemplate.garage_id == sa.bindparam("garage_id"), WindowTemplate.active.is_(True))
    .scalar_subquery()
    .label("active_templates")
)
_MINE = Booking.__table__.alias("mine")


def _listing(with_household: bool) -> sa.Select:
    """The windows of a garage between two service dates in one statement: each with its waitlist,
    its ballot requests, its template's weekdays and whether the template is active, with the
    number of the garage's active templates (so that the horizon's completeness is checked without
    another statement), and, for a household, its live booking of the window."""
    stmt = (
        sa.select(
            Window,
            _waiting(BookingStatus.WAITLISTED),
            _waiting(BookingStatus.REQUESTED),
            WindowTemplate.active.label("template_active"),
            WindowTemplate.weekdays.label("template_weekdays"),
            _ACTIVE_TEMPLATES,
        )
        .join(WindowTemplate, WindowTemplate.id == Window.template_id)
        .where(
            Window.garage_id == sa.bindparam("garage_id"),
            Window.service_date.between(sa.bindparam("start"), sa.bindparam("end")),
        )
    )
    if not with_household:
        return stmt.add_columns(sa.null().label("mine_id"), sa.null().label("mine_status")).order_by(
            Window.opens_at, Window.id
        )
    return (
        stmt.add_columns(_MINE.c.id.label("mine_id"), _MINE.c.status.label("mine_status"))
        .outerjoin(
            _MINE,
            sa.and_(
                _MINE.c.window_id == Window.id,
                _MINE.c.household_id == sa.bindparam("household_id"),
                _MINE.c.status.in_((*LIVE, BookingStatus.REQUESTED)),  # a ballot request is the night's too
            ),
        )
        .order_by(Window.opens_at, Window.id, _MINE.c.id)
    )


# Built once with bound parameters: the resident's night list runs it on every page view.
_WINDOWS = _listing(with_household=False)
_WINDOWS_OF_HOUSEHOLD = _listing(with_household=True)


@dataclass
class Listed:
    """A window as listed: with its waitlist, its ballot requests and, when a household asked, the
    id and status of that household's live booking of it (the latest, if it holds several)."""

    window: Window
    waitlisted: int
    requested: int
    mine_id: int | None = None
    mine_status: BookingStatus | None = None


def listed_windows(
    garage: Garage, start: date | None, end: date | None, now: datetime, household_id: int | None = None
) -> list[Listed]:
    """The garage's windows of service dates [start, end] (default: today to the horizon), in one
    statement when the horizon is already complete. A night the tide has not made yet is shown
    computed from its template (no id, nobody on it): a read writes nothing, and the booking that
    needs the night makes it (`night_window_id`)."""
    start = start or today(garage, now)
    end = end or start + timedelta(days=garage.horizon_days)
    if end < start:
        raise Unprocessable(reason="invalid_range", errors={"to": ["must not be before from"]})
    if (end - start).days > MAX_LISTING_DAYS:
        raise Unprocessable(reason="invalid_range", errors={"to": [f"at most {MAX_LISTING_DAYS} days after from"]})
    stmt = _WINDOWS if household_id is None else _WINDOWS_OF_HOUSEHOLD
    params = {"garage_id": garage.id, "start": start, "end": end, "household_id": household_id}
    rows = db.session.execute(stmt, params).all()
    listed: dict[int, Listed] = {}
    for row in rows:
        # Ordered by the booking id within a window: the household's latest live booking wins.
        listed[row.Window.id] = Listed(row.Window, row.waitlisted, row.requested, row.mine_id, row.mine_status)
    if not _incomplete(garage, rows, start, end, now):
        return list(listed.values())
    computed = [Listed(window, 0, 0) for window in computed_windows(garage, start, end, now)]
    return sorted([*listed.values(), *computed], key=lambda row: (row.window.opens_at, row.window.id or 0))


def _incomplete(garage: Garage, rows: Sequence[sa.Row], start: date, end: date, now: datetime) -> bool:
    """Whether `ensure_windows(garage, start, end, now)` would have anything to create, judged from the
    listing's rows: every active template must have its window on each of its days in the range
    that `ensure_windows` covers. An active template without any window there (it is known from
    the count) sends the listing the long way, which is right in every case."""
    if not rows:
        return True
    active = {row.Window.template_id: row.template_weekdays for row in rows if row.template_active}
    if len(active) != rows[0].active_templates:
        return True
    have = {(row.Window.template_id, row.Window.service_date) for row in rows}
    day, last = max(start, today(garage, now) - timedelta(days=1)), min(end, horizon_end(garage, now))
    while day <= last:
        if any(runs_on(weekdays, day) and (template_id, day) not in have for template_id, weekdays in active.items()):
            return True
        day += timedelta(days=1)
    return False


def list_windows(garage: Garage, start: date | None, end: date | None, now: datetime) -> list[Window]:
    """The windows as model objects, each with its `waitlisted` and `requested` counts."""
    windows = []
    for row in listed_windows(garage, start, end, now):
        row.window.waitlisted = row.waitlisted  # type: ignore[attr-defined]  # a transient attribute the response schema reads
        row.window.requested = row.requested  # type: ignore[attr-defined]  # a transient attribute the response schema reads
        windows.append(row.window)
    return windows


def window_view(window: Window, now: datetime) -> dict:
    """A window as the API shows it; the state comes from the instants and the clock, so it is
    right whether or not the tide job has run."""
    return {
        "id": window.id,
        "garage_id": window.garage_id,
        "template_id": window.template_id,
        "service_date": window.service_date,
        "opens_at": window.opens_at,
        "closes_at": window.closes_at,
        "quota": window.quota,
        "booked": window.booked,
        "available": window.available,
        "waitlisted": getattr(window, "waitlisted", 0),
        "requested": getattr(window, "requested", 0),
        "state": window.state_at(now),
        "closed_reason": window.closed_reason,
        "mode": window.mode,
        "ballot_closes_at": window.ballot_closes_at,
        "commitment": window.ballot_commitment,
        "drawn": window.drawn_at is not None,
    }
