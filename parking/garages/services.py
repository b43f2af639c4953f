"""Garages, templates and their windows: instants in the garage's timezone, stored in UTC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from parking.bookings import draw
from parking.bookings.models import LIVE, Booking, BookingStatus
from parking.errors import Unprocessable
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


def list_garages() -> list[Garage]:
    return list(db.session.scalars(db.select(Garage).order_by(Garage.id)))


def insert_windows(rows: list[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two requests (or tide passes) materialising the same day
    both succeed, and the day has one window."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    for start in range(0, len(rows), 1000):
        stmt = module.insert(Window).values(rows[start : start + 1000])
        db.session.execute(stmt.on_conflict_do_nothing(index_elements=["template_id", "service_date"]))


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


def ensure_windows(
    garage: Garage, start: date, end: date, now: datetime, templates: list[WindowTemplate] | None = None
) -> int:
    """Create the missing windows of the garage's active templates for service dates in
    [start, end], never before yesterday nor beyond the booking horizon. Returns how many were new."""
    start = max(start, today(garage, now) - timedelta(days=1))
    end = min(end, horizon_end(garage, now))
    if end < start:
        return 0
    if templates is None:
        templates = list(
            db.session.scalars(
                db.select(WindowTemplate).where(WindowTemplate.garage_id == garage.id, WindowTemplate.active.is_(True))
            )
        )
    if not templates:
        return 0
    ids = [t.id for t in templates]
    existing = set(
        db.session.execute(
            db.select(Window.template_id, Window.service_date).where(
                Window.template_id.in_(ids), Window.service_date.between(start, end)
            )
        ).tuples()
    )
    rows = window_rows(garage, templates, start, end, existing, overrides_between(ids, start, end), now)
    insert_windows(rows)
    return len(rows)


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
    """The garage's windows of service dates [start, end] (default: today to the horizon), the
    missing ones created on demand (invariant 6: not only by the tide), in one statement when the
    horizon is already complete."""
    start = start or today(garage, now)
    end = end or start + timedelta(days=garage.horizon_days)
    if end < start:
        raise Unprocessable(reason="invalid_range", errors={"to": ["must not be before from"]})
    if (end - start).days > MAX_LISTING_DAYS:
        raise Unprocessable(reason="invalid_range", errors={"to": [f"at most {MAX_LISTING_DAYS} days after from"]})
    stmt = _WINDOWS if household_id is None else _WINDOWS_OF_HOUSEHOLD
    params = {"garage_id": garage.id, "start": start, "end": end, "household_id": household_id}
    rows = db.session.execute(stmt, params).all()
    if _incomplete(garage, rows, start, end, now) and ensure_windows(garage, start, end, now):
        rows = db.session.execute(stmt, params).all()
    listed: dict[int, Listed] = {}
    for row in rows:
        # Ordered by the booking id within a window: the household's latest live booking wins.
        listed[row.Window.id] = Listed(row.Window, row.waitlisted, row.requested, row.mine_id, row.mine_status)
    return list(listed.values())


def _incomplete(garage: Garage, rows: Sequence[sa.Row], start: date, end: date, now: datetime) -> bool:
    """Whether `ensure_windows(garage, start, end, now)` has anything to create, judged from the
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
