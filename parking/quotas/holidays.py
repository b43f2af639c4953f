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

Next year's holidays. The State Council publishes a year's arrangement late in
the year before, and the installed chinese_calendar knows it only from a release after that. For a
year it does not cover (up to `PROVISIONAL_YEARS_AHEAD` years ahead), the preset builds a
provisional arrangement instead, marked `provisional` on each override and in the answer:
- the statutory holidays from the `holidays` package (China), with the days it observes in lieu;
- the Saturday and Sunday next to a holiday, which official breaks take in;
- the Spring Festival rush from the lunar calendar, as above;
- no make-up working days: they are unknown until the arrangement is published, which every
  provisional reason says.
Running the preset again once the installed calendar covers the year replaces the provisional
overrides with official ones, under invariant 3 (refused with the bookings affected unless bump).
The official calendar is a parameter (`OfficialCalendar`), so tests can give one that covers a year.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import chinese_calendar
import holidays as statutory
from lunardate import LunarDate

from parking.audit.services import record, snapshot
from parking.auth.models import User
from parking.errors import Unprocessable
from parking.extensions import db
from parking.i18n import lazy_gettext as _l
from parking.quotas.models import QuotaOverride
from parking.quotas.services import OVERRIDE_FIELDS, ChangeResult, ChangeSummary, check_quota, recompute
from parking.windows.models import Garage, WindowTemplate
from parking.windows.services import today

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


#: The `holidays` package's English names, as chinese_calendar names the same holidays.
STATUTORY_NAMES = {
    "New Year's Day": "New Year's Day",
    "Chinese New Year's Eve": "Spring Festival",
    "Chinese New Year (Spring Festival)": "Spring Festival",
    "Tomb-Sweeping Day": "Tomb-sweeping Day",
    "Labor Day": "Labour Day",
    "Dragon Boat Festival": "Dragon Boat Festival",
    "Mid-Autumn Festival": "Mid-autumn Festival",
    "National Day": "National Day",
}
PROVISIONAL_YEARS_AHEAD = 2
PROVISIONAL_MESSAGE = _l(
    "This year's official holiday arrangement is not published yet: these holidays are provisional, "
    "and the make-up working days are unknown. Run the preset again once it is published."
)
PROVISIONAL_NOTE = "provisional: make-up working days unknown 暂定 调休安排尚未公布"


class HolidayYearUnsupported(Unprocessable):
    reason, message = (
        "holiday_year_unsupported",
        _l("The official holiday calendar for this year is not available yet."),
    )
    field = "year"  # the form field a page puts the message beside


class OfficialCalendar(Protocol):
    """The State Council's holiday arrangement as far as it is installed."""

    def years(self) -> tuple[int, int]: ...

    def holidays(self, year: int) -> dict[date, str]:
        """Each official day off of `year` (weekends inside a break included), by English name."""
        ...

    def is_workday(self, day: date) -> bool: ...


class ChineseCalendar:
    """The installed chinese_calendar package."""

    def years(self) -> tuple[int, int]:
        years = [d.year for d in chinese_calendar.holidays]
        return min(years), max(years)

    def holidays(self, year: int) -> dict[date, str]:
        days = {}
        for day in chinese_calendar.get_holidays(date(year, 1, 1), date(year, 12, 31), include_weekends=False):
            _, name = chinese_calendar.get_holiday_detail(day)
            days[day] = name or "Public holiday"
        return days

    def is_workday(self, day: date) -> bool:
        return chinese_calendar.is_workday(day)


OFFICIAL: OfficialCalendar = ChineseCalendar()


def supported_years(calendar: OfficialCalendar | None = None) -> tuple[int, int]:
    return (calendar or OFFICIAL).years()


def chinese_new_year(year: int) -> date:
    return LunarDate(year, 1, 1).to_solar_date()


def label(english: str) -> str:
    chinese = CHINESE_NAMES.get(english)
    return f"{english} {chinese}" if chinese else english


def rush_days(year: int) -> dict[date, str]:
    cny = chinese_new_year(year)
    rush_start = cny - timedelta(days=RUSH_LEAD_DAYS)
    days = (rush_start + offset * timedelta(days=1) for offset in range(RUSH_DAYS))
    return {day: RUSH_LABEL for day in days if day.year == year}


def holiday_days(year: int, calendar: OfficialCalendar | None = None) -> dict[date, str]:
    """Each service date of `year` that gets the holiday quota, with its label (official calendar)."""
    calendar = calendar or OFFICIAL
    first, last = calendar.years()
    if not first <= year <= last:
        raise HolidayYearUnsupported(
            errors={"year": [f"the holiday calendar covers {first} to {last}"]},
            details={"supported_from": first, "supported_to": last},
        )
    days = rush_days(year)
    for day, name in calendar.holidays(year).items():
        days[day] = label(name)
    # Make-up working days are working days: no override, even inside the rush.
    for day in list(days):
        if day.weekday() >= 5 and calendar.is_workday(day):
            del days[day]
    return days


def provisional_days(year: int) -> dict[date, str]:
    """The provisional arrangement of a year the official calendar does not cover yet: statutory
    holidays (and their days in lieu) with their adjacent weekend, and the rush; no make-up days."""
    found = statutory.country_holidays("CN", years=year)
    days = rush_days(year)
    holiday: dict[date, str] = {}
    for day, names in sorted(found.items()):
        name = str(names).split("; ")[0].removesuffix(" (observed)")
        holiday[day] = label(STATUTORY_NAMES.get(name, name))
    for day, name in list(holiday.items()):
        for step in (-1, 1):  # a break takes in the weekend next to it
            other = day + timedelta(days=step)
            while other.weekday() >= 5 and other.year == year and other not in holiday:
                holiday[other] = name
                other += timedelta(days=step)
    days.update(holiday)
    return {day: f"{name} ({PROVISIONAL_NOTE})" for day, name in days.items()}


def arrangement(year: int, now: date, calendar: OfficialCalendar | None = None) -> tuple[dict[date, str], bool]:
    """The days of `year` and whether they are provisional."""
    calendar = calendar or OFFICIAL
    first, last = calendar.years()
    if first <= year <= last:
        return holiday_days(year, calendar), False
    horizon = now.year + PROVISIONAL_YEARS_AHEAD
    if last < year <= horizon:
        return provisional_days(year), True
    raise HolidayYearUnsupported(
        errors={"year": [f"the holiday calendar covers {first} to {last}, and provisionally up to {horizon}"]},
        details={"supported_from": first, "supported_to": last, "provisional_to": horizon},
    )


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


@dataclass(frozen=True)
class HolidayResult(ChangeSummary):
    """A year's holiday nights set (`HolidayResultSchema`): the overrides made, those replaced, and
    whether the year's official arrangement was known."""

    year: int
    quota: int
    days: int
    overrides: list[QuotaOverride]
    replaced: int
    replaced_provisional: int
    provisional: bool
    note: Any


def apply_preset(
    garage: Garage,
    year: int,
    quota: int,
    policy: str,
    actor: User,
    now: datetime,
    calendar: OfficialCalendar | None = None,
) -> HolidayResult:
    check_quota(garage, quota)
    days, provisional = arrangement(year, today(garage, now), calendar)
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
                provisional=provisional,
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
    return HolidayResult(
        **asdict(result.summary()),
        year=year,
        quota=quota,
        days=len(days),
        overrides=created,
        replaced=len(old),
        replaced_provisional=sum(1 for o in old if o.provisional),
        provisional=provisional,
        note=PROVISIONAL_MESSAGE if provisional else None,
    )
