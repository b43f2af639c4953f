"""Dates and times in plain words, in the reader's language and the garage's timezone:
"12月3日 星期四", "19:00 到 次日 07:30", "今晚". The pages compute them; templates only show them."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from babel.dates import format_date, format_datetime

from parking import clock
from parking.catalogue import HELD_BACK
from parking.households.models import Household, HouseholdState
from parking.i18n import date_words, get_locale
from parking.i18n import gettext as _

_SHORT_DATE = {"zh": "M月d日", "en": "d MMMM"}
_MOMENT = {"zh": "M月d日 HH:mm", "en": "d MMM HH:mm"}
_MOMENT_YEAR = {"zh": "y年M月d日 HH:mm", "en": "d MMM y HH:mm"}


def page_language() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def _reader() -> str:
    """The reader's exact locale: the key of the words worked out once per process below."""
    return str(get_locale() or "")


def local(instant: datetime, timezone: str) -> datetime:
    return clock.local(instant, timezone)


def hour_minute(instant: datetime | None, timezone: str) -> str:
    """ "19:00" on the garage's clock; nothing for no instant."""
    return "" if instant is None else clock.local(instant, timezone).strftime("%H:%M")


def day_words(day: date, today: date | None = None) -> str:
    """ "12月3日 星期四"; tonight and tomorrow night are named as such."""
    return _day_words(_reader(), day, today)


# A page of nights says the same dates and times for every reader of a language: each is worked
# out once per process and language (the catalogs and the calendar do not change while it runs).
@functools.lru_cache(maxsize=4096)
def _day_words(reader: str, day: date, today: date | None) -> str:
    lang = page_language()
    text = date_words(day, lang)
    if today is not None and day == today:
        return _("Tonight, %(date)s", date=text)
    if today is not None and day == today + timedelta(days=1):
        return _("Tomorrow night, %(date)s", date=text)
    return text


def short_day(day: date) -> str:
    lang = page_language()
    return format_date(day, _SHORT_DATE[lang], locale=lang)


def clock_time(instant: datetime) -> str:
    return instant.strftime("%H:%M")


def span_words(opens_local: datetime, closes_local: datetime) -> str:
    """ "19:00 到 次日 07:30": the end is said to be the next day when it is."""
    return _span_words(
        _reader(), clock_time(opens_local), clock_time(closes_local), opens_local.date(), closes_local.date()
    )


@functools.lru_cache(maxsize=4096)
def _span_words(reader: str, start: str, end: str, opens_on: date, closes_on: date) -> str:
    days = (closes_on - opens_on).days
    if days == 1:
        return _("%(start)s to %(end)s next day", start=start, end=end)
    if days > 1:
        return _("%(start)s to %(end)s on %(date)s", start=start, end=end, date=short_day(closes_on))
    return _("%(start)s to %(end)s", start=start, end=end)


def moment_words(instant_local: datetime, *, year: bool = False) -> str:
    """ "12月1日 10:00"; with `year`, "2025年12月1日 10:00"."""
    lang = page_language()
    pattern = (_MOMENT_YEAR if year else _MOMENT)[lang]
    return format_datetime(instant_local, pattern, tzinfo=instant_local.tzinfo, locale=lang)


def held_back_words(household: Household | None, refusal: str | None, now: datetime) -> str:
    """Why the household may not book now (`next_steps.household_refusal`), in words."""
    if refusal == "suspended" and household is not None and household.suspended_until is not None:
        until = moment_words(clock.local(household.suspended_until, household.garage.timezone))
        return _("Booking is paused for your household until %(until)s.", until=until)
    if household is not None and household.state == HouseholdState.REJECTED:
        return str(HELD_BACK["household_rejected"])
    return str(HELD_BACK.get(refusal or "", HELD_BACK["household_not_verified"]))
