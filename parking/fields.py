"""Marshmallow fields and the URL converter shared by the API schemas: every client value is
bounded before it reaches the database (no NUL bytes, no over-long strings, no ids past INT)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
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
