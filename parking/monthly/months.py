"""Calendar months of a garage: parsing and naming a month, its days, its local midnight, and
when a month is on sale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from parking import clock
from parking.errors import (
    Unprocessable,
)
from parking.fields import month_start
from parking.monthly.models import MonthlyOffer
from parking.windows.models import Garage
from parking.windows.services import today

RENEWAL_DAYS = 7


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return month_of(month - timedelta(days=1))


def month_days(month: date) -> list[date]:
    end = next_month(month)
    return [month + timedelta(days=i) for i in range((end - month).days)]


def parse_month(text: str) -> date:
    """`YYYY-MM` → the month's first day; 422 for anything else."""
    first = month_start(text)
    if first is None:
        raise Unprocessable(reason="validation_error", errors={"month": ["a month as YYYY-MM"]})
    return first


def month_text(month: date) -> str:
    return month.strftime("%Y-%m")


def local_midnight(day: date, garage: Garage) -> datetime:
    return clock.local_midnight(day, garage.timezone)


@dataclass(frozen=True)
class SaleTimes:
    month: date
    renewal_opens_at: datetime  # holders of the month before
    opens_at: datetime  # everyone
    ends_at: datetime  # the month's end (local midnight after its last day)


def sale_times(offer: MonthlyOffer, garage: Garage, month: date) -> SaleTimes:
    start = local_midnight(offer.sale_starts_on, garage)
    renewal = local_midnight(next_month(previous_month(month)) - timedelta(days=RENEWAL_DAYS), garage)
    return SaleTimes(
        month, max(start, renewal), max(start, local_midnight(month, garage)), local_midnight(next_month(month), garage)
    )


def month_or_current(text: str | None, garage: Garage, now: datetime) -> date:
    return parse_month(text) if text else month_of(today(garage, now))
