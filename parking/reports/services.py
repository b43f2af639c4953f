"""The nights report: one row per window, counted by one grouped query (no N+1).

Columns and their meaning:
- `booked`: bookings holding a space now (the window's counter).
- `checked_in`: bookings whose car entered (`entered_at` set), whatever happened after.
- `no_shows`, `overstays`, `cancellations` (late ones included), `bumped`: bookings by status.
- `waitlisted`: bookings still on the waitlist.
- `utilisation`: for a window that has opened, cars that entered ÷ quota; before it opens, spaces
  held ÷ quota. None when the quota is 0 (a closed night).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from parking.bookings.models import Booking, BookingStatus
from parking.errors import Unprocessable
from parking.extensions import db
from parking.windows.models import Garage, Window, WindowState, WindowTemplate
from parking.windows.services import today

MAX_REPORT_DAYS = 366
COLUMNS = [
    ("service_date", "服务日期 Service date"),
    ("window_id", "时段编号 Window"),
    ("template", "时段 Template"),
    ("state", "状态 State"),
    ("quota", "名额 Quota"),
    ("booked", "已占用 Booked"),
    ("checked_in", "已入场 Checked in"),
    ("no_shows", "未到 No-shows"),
    ("overstays", "超时 Overstays"),
    ("cancellations", "取消 Cancellations"),
    ("bumped", "被撤销 Bumped"),
    ("waitlisted", "候补 Waitlisted"),
    ("utilisation", "利用率 Utilisation"),
]


@dataclass(frozen=True)
class NightTotals:
    quota: int
    booked: int
    checked_in: int
    no_shows: int
    overstays: int
    cancellations: int
    bumped: int
    waitlisted: int


@dataclass(frozen=True)
class NightRow(NightTotals):
    """One window's line of the report (the columns are explained above)."""

    service_date: date
    window_id: int
    template: str
    state: str
    utilisation: float | None


@dataclass(frozen=True)
class NightsReport:
    """The report of [start, end] (`NightsReportSchema` names them `from` and `to`)."""

    garage_id: int
    start: date
    end: date
    rows: list[NightRow]
    totals: NightTotals


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _state(row: sa.Row, now: datetime) -> WindowState:
    """From the instants and the clock, whether or not the tide job has run (invariant 6)."""
    if row.state == WindowState.CANCELLED:
        return WindowState.CANCELLED
    if now < row.opens_at:
        return WindowState.PLANNED
    return WindowState.OPEN if now < row.closes_at else WindowState.CLOSED


def nights(garage: Garage, start: date | None, end: date | None, now: datetime) -> NightsReport:
    end = end or today(garage, now)
    start = start or end - timedelta(days=6)
    if end < start:
        raise Unprocessable(reason="invalid_range", errors={"to": ["must not be before from"]})
    if (end - start).days >= MAX_REPORT_DAYS:
        raise Unprocessable(reason="invalid_range", errors={"to": [f"at most {MAX_REPORT_DAYS} days after from"]})
    per_window = (
        Window.id,
        Window.service_date,
        WindowTemplate.name,
        Window.state,
        Window.opens_at,
        Window.closes_at,
        Window.quota,
        Window.booked,
    )
    stmt = (
        db.select(
            *per_window,
            _count(Booking.entered_at.is_not(None)).label("checked_in"),
            _count(Booking.status == BookingStatus.NO_SHOW).label("no_shows"),
            _count(Booking.status == BookingStatus.OVERSTAYED).label("overstays"),
            _count(Booking.status == BookingStatus.CANCELLED).label("cancellations"),
            _count(Booking.status == BookingStatus.BUMPED).label("bumped"),
            _count(Booking.status == BookingStatus.WAITLISTED).label("waitlisted"),
        )
        .join(WindowTemplate, WindowTemplate.id == Window.template_id)
        .outerjoin(Booking, Booking.window_id == Window.id)
        .where(Window.garage_id == garage.id, Window.service_date.between(start, end))
        .group_by(*per_window)
        .order_by(Window.service_date, Window.opens_at, Window.id)
    )
    rows: list[NightRow] = []
    for r in db.session.execute(stmt):
        used = r.checked_in if now >= r.opens_at else r.booked
        rows.append(
            NightRow(
                service_date=r.service_date,
                window_id=r.id,
                template=r.name,
                state=_state(r, now).value,
                quota=r.quota,
                booked=r.booked,
                checked_in=int(r.checked_in),
                no_shows=int(r.no_shows),
                overstays=int(r.overstays),
                cancellations=int(r.cancellations),
                bumped=int(r.bumped),
                waitlisted=int(r.waitlisted),
                utilisation=round(used / r.quota, 4) if r.quota else None,
            )
        )
    totals = NightTotals(**{f.name: sum(getattr(row, f.name) for row in rows) for f in fields(NightTotals)})
    return NightsReport(garage.id, start, end, rows, totals)


def to_csv(report: NightsReport) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese headers intact."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([title for _, title in COLUMNS])
    for row in report.rows:
        values = []
        for key, _ in COLUMNS:
            value = getattr(row, key)
            values.append("" if value is None else value.isoformat() if isinstance(value, date) else value)
        writer.writerow(values)
    return buffer.getvalue().encode("utf-8-sig")
