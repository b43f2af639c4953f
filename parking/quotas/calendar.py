"""The month of one template as the manager's calendar shows it
(`/manage/calendar`): for every night its quota, spaces held, waitlist and state.

Read only: a night whose window exists shows the window; a night without one (past the booking
horizon, or long ago) shows what the rules would give it (template default and overrides), so a
manager can plan a holiday cut months ahead. Nothing is created by looking."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from parking.bookings.waiting import waitlist_counts
from parking.extensions import db
from parking.quotas.resolve import overrides_between, pick
from parking.windows.models import Garage, TemplateMode, Window, WindowState, WindowTemplate
from parking.windows.services import horizon_end, today

#: Night states beyond the window's own: not lent on that weekday, or not released for booking yet.
NOT_SCHEDULED, NOT_RELEASED, NO_RECORD = "not_scheduled", "not_released", "no_record"


@dataclass(frozen=True)
class Night:
    day: date
    in_month: bool
    state: str
    quota: int | None = None
    booked: int | None = None
    waitlisted: int | None = None
    reason: str | None = None
    editable: bool = False  # an override can still change it
    draw_window_id: int | None = None  # a ballot night's window: its draw can be looked at
    # Figures without a window (booked None) are what the rules would give the night.

    @property
    def full(self) -> bool:
        return (
            self.state in (WindowState.PLANNED, WindowState.OPEN)
            and self.quota is not None
            and (self.booked or 0) >= self.quota
        )


def month_nights(garage: Garage, template: WindowTemplate, year: int, month: int, now: datetime) -> list[list[Night]]:
    """The weeks (Monday first) of the month, each a list of seven nights."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    first, last = weeks[0][0], weeks[-1][-1]
    windows = {
        w.service_date: w
        for w in db.session.scalars(
            db.select(Window).where(Window.template_id == template.id, Window.service_date.between(first, last))
        )
    }
    waiting = waitlist_counts([w.id for w in windows.values()])
    overrides = overrides_between([template.id], first, last)
    local_today = today(garage, now)
    last_bookable = horizon_end(garage, now)
    out = []
    for week in weeks:
        row = []
        for day in week:
            window = windows.get(day)
            in_month = day.month == month
            if window is not None:
                closed = window.state == WindowState.CANCELLED
                row.append(
                    Night(
                        day,
                        in_month,
                        window.state_at(now).value,
                        window.quota,
                        window.booked,
                        waiting.get(window.id, 0),
                        window.closed_reason if closed else pick(template, day, overrides).reason,
                        editable=window.closes_at > now,
                        draw_window_id=window.id if window.mode == TemplateMode.BALLOT else None,
                    )
                )
            elif not template.runs_on(day):
                row.append(Night(day, in_month, NOT_SCHEDULED))
            elif day < local_today:
                row.append(Night(day, in_month, NO_RECORD))
            else:
                effective = pick(template, day, overrides)
                # Within the horizon a window is created when someone asks: residents can book it.
                upcoming = WindowState.PLANNED.value if day <= last_bookable else NOT_RELEASED
                state = WindowState.CANCELLED.value if effective.closed else upcoming
                row.append(Night(day, in_month, state, effective.quota, None, None, effective.reason, editable=True))
        out.append(row)
    return out
