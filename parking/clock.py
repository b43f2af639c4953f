"""The one clock. Code asks `clock.now()`; tests move it with `clock.freeze()`/`clock.set()`."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(UTC)


def set_now(instant: datetime | None) -> None:
    """Freeze the clock at `instant` (aware), or unfreeze it with None."""
    global _frozen
    if instant is not None and instant.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    with _lock:
        _frozen = instant.astimezone(UTC) if instant is not None else None


def advance(delta: timedelta) -> datetime:
    set_now(now() + delta)
    return now()


def local(instant: datetime, tz: str) -> datetime:
    """The one local-time helper: `instant` on the wall clock of time zone `tz` (a garage's)."""
    return as_utc(instant).astimezone(ZoneInfo(tz))


def local_date(instant: datetime, tz: str) -> date:
    return local(instant, tz).date()


def local_midnight(day: date, tz: str) -> datetime:
    """The instant (UTC) at which `day` begins in time zone `tz`."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)
