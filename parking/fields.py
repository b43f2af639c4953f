"""Marshmallow fields and the URL converter shared by the API schemas: every client value is
bounded before it reaches the database (no NUL bytes, no over-long strings, no ids past INT)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from marshmallow import ValidationError, fields, validate
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
#: The days a client may name: wide enough for any record or plan, narrow enough that a service
#: adding a horizon, a month or a time zone to one never leaves the calendar (date.max + 1 day).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


class IdConverter(IntegerConverter):
    """`<id:booking_id>`: a positive id that fits the INTEGER columns, else 404."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class Text(fields.String):
    """A trimmed single-line string with a length bound and no control characters."""

    def __init__(self, *, max_length: int = 255, min_length: int = 1, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(min=min_length, max=max_length), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ValidationError("must not contain control characters")
        return text.strip()


def Id(*, strict: bool = True, **kwargs: Any) -> fields.Integer:  # noqa: N802 - reads like a field class
    """A positive id that fits INTEGER. JSON bodies must send a number (strict); a query string
    can only send text, so query schemas use `Id(strict=False)`."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class Phone(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        text = text.removeprefix("+86").replace(" ", "").replace("-", "")
        if not PHONE_RE.match(text):
            raise ValidationError("must be an 11-digit mainland mobile number")
        return text


class Day(fields.Date):
    """A calendar date (`YYYY-MM-DD`) between FIRST_DAY and LAST_DAY; 422 outside."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Range(
                min=FIRST_DAY, max=LAST_DAY, error=f"must be a date from {FIRST_DAY} to {LAST_DAY}"
            ),
            **kwargs,
        )


def month_start(text: str) -> date | None:
    """`YYYY-MM` → the month's first day, or None when it is not a month between FIRST_DAY and
    LAST_DAY ("9999-12", "0000-01", "2027-13")."""
    found = _MONTH.match(text)
    if found is None:
        return None
    first = date(int(found.group(1)) or 1, int(found.group(2)), 1)
    return first if FIRST_DAY <= first <= LAST_DAY else None


class Instant(fields.AwareDateTime):
    """An ISO 8601 instant (UTC when it names no offset) between FIRST_DAY and LAST_DAY, in UTC;
    422 outside, before any comparison or time-zone arithmetic can overflow."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        first, last = datetime.combine(FIRST_DAY, time.min, UTC), datetime.combine(LAST_DAY, time.max, UTC)
        error = ValidationError(f"must be an instant from {FIRST_DAY} to {LAST_DAY}")
        try:
            in_utc = instant.astimezone(UTC)
        except (OverflowError, ValueError):
            raise error from None
        if not first <= in_utc <= last:
            raise error
        return in_utc
