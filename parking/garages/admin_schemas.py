"""What an admin sends to create or change a garage and its staff. Every garage rule is
a top-level field named as its Garage column, bounded to values a garage can live with."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from parking.auth.models import Role
from parking.fields import Phone, Text
from parking.windows import rules
from parking.windows.rules import MAX_QUOTA

# The tz database's pseudo-zones name no place: a garage is somewhere.
_NOT_PLACES = {"localtime", "Factory"}


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_PLACES)


class Timezone(fields.String):
    """An IANA time zone name, e.g. `Asia/Shanghai`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"enum": sorted(_iana_zones()), "example": "Asia/Shanghai"}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text not in _iana_zones():
            raise ValidationError("must be an IANA time zone name such as Asia/Shanghai")
        return text


def _bounded(lower: int, upper: int) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=lower, max=upper))


def _rule(name: str) -> fields.Field:
    """A rule's field, bounded as the rules catalogue says."""
    rule = rules.BY_NAME[name]
    if rule.decimal:
        return fields.Float(validate=validate.Range(min=rule.lower, max=rule.upper))
    return fields.Integer(strict=True, validate=validate.Range(min=rule.lower, max=rule.upper))


class GarageRulesInput(Schema):
    """The rule columns of Garage, all optional: the model holds the defaults; the bounds are the
    catalogue's (`parking.windows.rules`)."""

    horizon_days = _rule("horizon_days")
    booking_cutoff_minutes = _rule("booking_cutoff_minutes")
    free_cancel_minutes = _rule("free_cancel_minutes")
    early_entry_minutes = _rule("early_entry_minutes")
    no_show_minutes = _rule("no_show_minutes")
    reminder_minutes = _rule("reminder_minutes")
    exit_grace_minutes = _rule("exit_grace_minutes")
    strike_limit = _rule("strike_limit")
    strike_window_days = _rule("strike_window_days")
    suspension_days = _rule("suspension_days")
    bookings_per_household = _rule("bookings_per_household")
    ballot_close_hour = _rule("ballot_close_hour")
    camera_confidence_threshold = _rule("camera_confidence_threshold")
    monthly_passes_per_household = _rule("monthly_passes_per_household")
    retention_days = _rule("retention_days")


class GarageCreateSchema(GarageRulesInput):
    name = Text(required=True, max_length=120)
    name_en = Text(max_length=120, allow_none=True)
    address = Text(max_length=255, allow_none=True)
    timezone = Timezone(load_default="Asia/Shanghai")
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_QUOTA))


class GarageUpdateSchema(GarageRulesInput):
    """A partial change: only the fields sent change."""

    name = Text(max_length=120)
    name_en = Text(max_length=120, allow_none=True)
    address = Text(max_length=255, allow_none=True)
    timezone = Timezone()
    capacity = _bounded(1, MAX_QUOTA)


class StaffCreateSchema(Schema):
    phone = Phone(required=True)
    role = fields.Enum(
        Role,
        by_value=True,
        required=True,
        validate=validate.OneOf([Role.MANAGER, Role.ATTENDANT]),
    )


class StaffSchema(Schema):
    user_id = fields.Integer(attribute="id")
    phone = fields.String()
    name = fields.String()
    role = fields.Enum(Role, by_value=True)
    garage_ids = fields.List(fields.Integer(), attribute="staff_garage_ids")
