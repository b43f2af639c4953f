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


#: 1 … MAX_ID in decimal, without leading zeros, as one regular expression.
ID_PATTERN = (
    r"[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7]"
)


class IdConverter(IntegerConverter):
    """`<id:booking_id>`: a positive id that fits the INTEGER columns, else 404.

    The bound is in the regular expression, not only in `to_python`: Werkzeug records the methods
    of a rule whose path matches before it converts the values, so `PATCH /garages/0` would answer
    405 (a GET rule "matched") where it must answer 404."""

    regex = ID_PATTERN

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


#: The rules below as the API document states them (JSON Schema `pattern`s). A pattern may be
#: stricter than the rule (a phone written with spaces is accepted but not documented), never looser.
_NOT_CONTROL = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
TEXT_PATTERN = rf"^{_NOT_CONTROL}*$"
#: …with at least one character that trimming keeps.
FILLED_TEXT_PATTERN = rf"^{_NOT_CONTROL}*[^\s\x00-\x1f\x7f\x85\ufeff]{_NOT_CONTROL}*$"
PHONE_PATTERN = r"^(\+86)?1[3-9][0-9]{9}$"
_YEAR = r"(19[0-9]{2}|2[01][0-9]{2})"  # FIRST_DAY … LAST_DAY
DAY_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MONTH_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"
#: An instant a day inside the range whatever its offset: years 1901 to 2198.
INSTANT_PATTERN = r"^(19(0[1-9]|[1-9][0-9])|2[01]([0-8][0-9]|9[0-8]))-"
HH_MM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _documented(kwargs: dict[str, Any], **schema: Any) -> dict[str, Any]:
    """`kwargs` with `schema` added to the field's metadata (what apispec writes into the document)."""
    return {**kwargs, "metadata": {**schema, **kwargs.get("metadata", {})}}


class Text(fields.String):
    """A trimmed single-line string with a length bound and no control characters."""

    def __init__(self, *, max_length: int = 255, min_length: int = 1, **kwargs: Any) -> None:
        pattern = FILLED_TEXT_PATTERN if min_length > 0 else TEXT_PATTERN
        super().__init__(
            validate=validate.Length(min=min_length, max=max_length), **_documented(kwargs, pattern=pattern)
        )

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
    """A mainland mobile number; `+86`, spaces and dashes are dropped first."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_documented(kwargs, pattern=PHONE_PATTERN, example="13912345678"))

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
            **_documented(kwargs, pattern=DAY_PATTERN),
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
        super().__init__(default_timezone=UTC, **_documented(kwargs, pattern=INSTANT_PATTERN))

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


#: The 200 of an operation that also answers `format=csv`, for `blp.doc(responses={"200": CSV_TOO})`
#: beside its JSON `blp.response(200, …)`.
CSV_TOO: dict[str, Any] = {
    "description": "JSON; with `format=csv`, text/csv (UTF-8 with a byte order mark)",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
