"""A garage found by id, its local day and booking horizon, and a night's instants in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from parking import clock
from parking.errors import NotFound
from parking.extensions import db
from parking.windows.models import Garage, WindowTemplate


def get_garage(garage_id: int) -> Garage:
    garage = db.session.get(Garage, garage_id)
    if garage is None:
        raise NotFound()
    return garage


def today(garage: Garage, now: datetime) -> date:
    return clock.local_date(now, garage.timezone)


def horizon_end(garage: Garage, now: datetime) -> date:
    return today(garage, now) + timedelta(days=garage.horizon_days)


def window_instants(template: WindowTemplate, service_date: date, tz: str) -> tuple[datetime, datetime]:
    """[opens_at, closes_at) in UTC; an end at or before the start is on the next day."""
    zone = ZoneInfo(tz)
    opens_local = datetime.combine(service_date, template.start_time, tzinfo=zone)
    end_date = service_date + timedelta(days=1) if template.end_time <= template.start_time else service_date
    closes_local = datetime.combine(end_date, template.end_time, tzinfo=zone)
    return opens_local.astimezone(UTC), closes_local.astimezone(UTC)


def ballot_close(garage: Garage, service_date: date) -> datetime:
    """When the ballot of a night closes: `ballot_close_hour` local time on the day before."""
    day_before = service_date - timedelta(days=1)
    return datetime.combine(day_before, time(garage.ballot_close_hour), ZoneInfo(garage.timezone)).astimezone(UTC)
