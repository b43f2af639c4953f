"""The holiday preset: quota overrides for the official Chinese public holidays of a year and the
Spring Festival travel rush, from maintained calendars (chinese_calendar for the State Council's
holiday arrangement, lunardate for the lunar new year), never from a hand-typed date list.

Decisions:
- A day gets the holiday quota when it is an official holiday (weekends inside a holiday break
  included) or a day of the Spring Festival travel rush (春运: the 40 days starting 15 days before
  Chinese New Year's Day). Make-up working days (调休) are working days and get no override, even
  inside the rush.
- The preset covers service dates, i.e. the nights that *start* on those days.
- Contiguous days with the same label become one override per template (source "holiday"); its
  reason names the holiday in English and Chinese. Re-running a year replaces the preset's own
  overrides of that year; manual overrides are left alone (and a manual single date still wins).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
from flask_babel import lazy_gettext as _l
from lunardate import LunarDate

from parking.audit.services import record, snapshot
from parking.auth.models import User
from parking.errors import Unprocessable
from parking.extensions import db
from parking.garages.models import Garage, WindowTemplate
from parking.quotas.models import QuotaOverride
from parking.quotas.services import OVERRIDE_FIELDS, ChangeResult, check_quota, recompute

RUSH_DAYS, RUSH_LEAD_DAYS = 40, 15
RUSH_LABEL = "Spring Festival travel rush 春运"
#: chinese_calendar names its holidays in English; the reason shows both languages.
CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


class HolidayYearUnsupported(Unprocessable):
    reason, message = (
        "holiday_year_unsupported",
        _l("The official holiday calendar for this year is not available yet."),
    )


def supported_years() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def chinese_new_year(year: int) -> date:
    return LunarDate(year, 1, 1).to_solar_date()


def label(english: str) -> str:
    chinese = CHINESE_NAMES.get(english)
    return f"{english} {chinese}" if chinese else english


def holiday_days(year: int) -> dict[date, str]:
    """Each service date of `year` that gets the holiday quota, with its label."""
    first, last = supported_years()
    if not first <= year <= last:
        raise HolidayYearUnsupported(
            errors={"year": [f"the holiday calendar covers {first} to {last}"]},
            details={"supported_from": first, "supported_to": last},
        )
    days: dict[date, str] = {}
    cny = chinese_new_year(year)
    rush_start = cny - timedelta(days=RUSH_LEAD_DAYS)
    for offset in range(RUSH_DAYS):
        day = rush_start + offset * timedelta(days=1)
        if day.year == year:
            days[day] = RUSH_LABEL
    for day in chinese_calendar.get_holidays(date(year, 1, 1), date(year, 12, 31), include_weekends=False):
        _, name = chinese_calendar.get_holiday_detail(day)
        days[day] = label(name or "Public holiday")
    # Make-up working days are working days: no override, even inside the rush.
    for day in list(days):
        if day.weekday() >= 5 and chinese_calendar.is_workday(day):
            del days[day]
    return days


def runs(days: dict[date, str]) -> list[tuple[date, date, str]]:
    """Contiguous days with the same label, as (start, end, label)."""
    out: list[tuple[date, date, str]] = []
    for day in sorted(days):
        name = days[day]
        if out and out[-1][2] == name and out[-1][1] + timedelta(days=1) == day:
            out[-1] = (out[-1][0], day, name)
        else:
            out.append((day, day, name))
    return out


def apply_preset(garage: Garage, year: int, quota: int, policy: str, actor: User, now: datetime) -> dict:
    check_quota(garage, quota)
    days = holiday_days(year)
    templates = list(
        db.session.scalars(
            db.select(WindowTemplate)
            .where(WindowTemplate.garage_id == garage.id, WindowTemplate.active.is_(True))
            .order_by(WindowTemplate.id)
        )
    )
    old = list(
        db.session.scalars(
            db.select(QuotaOverride).where(
                QuotaOverride.garage_id == garage.id,
                QuotaOverride.source == "holiday",
                QuotaOverride.start_date >= date(year, 1, 1),
                QuotaOverride.start_date <= date(year, 12, 31),
            )
        )
    )
    for override in old:
        record(
            actor,
            "override.deleted",
            override,
            before=snapshot(override, *OVERRIDE_FIELDS),
            reason=f"holiday preset {year} re-applied",
            at=now,
        )
        db.session.delete(override)
    created = []
    for start, end, name in runs(days):
        for template in templates:
            override = QuotaOverride(
                garage_id=garage.id,
                template_id=template.id,
                start_date=start,
                end_date=end,
                weekdays=None,
                quota=quota,
                closed=False,
                reason=name,
                source="holiday",
                created_by_id=actor.id,
                created_at=now,
            )
            db.session.add(override)
            created.append(override)
    db.session.flush()
    for override in created:
        record(
            actor,
            "override.created",
            override,
            after=snapshot(override, *OVERRIDE_FIELDS),
            reason=override.reason,
            at=now,
        )
    result = ChangeResult()
    if templates:
        result = recompute(
            templates, date(year, 1, 1), date(year, 12, 31), policy, actor, now, reason=f"holiday preset {year}"
        )
    return {
        "year": year,
        "quota": quota,
        "days": len(days),
        "overrides": created,
        "replaced": len(old),
        **result.summary(),
    }
