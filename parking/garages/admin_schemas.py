"""What an admin sends to create or change a garage and its staff. Every garage rule is
a top-level field named as its Garage column, bounded to values a garage can live with."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from parking.auth.models import Role
from parking.fields import Phone, Text
from parking.quotas.schemas import MAX_QUOTA

# The tz database's pseudo-zones name no place: a garage is somewhere.
_NOT_PLACES = {"localtime", "Factory"}


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_PLACES)


class Timezone(fields.String):
    """An IANA time zone name, e.g. `Asia/Shanghai`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text not in _iana_zones():
            raise ValidationError("must be an IANA time zone name such as Asia/Shanghai")
        return text


def _bounded(lower: int, upper: int) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=lower, max=upper))


class GarageRulesInput(Schema):
    """The rule columns of Garage, all optional: the model holds the defaults."""

    horizon_days = _bounded(1, 60)
    booking_cutoff_minutes = _bounded(0, 24 * 60)  # after opens_at
    free_cancel_minutes = _bounded(0, 7 * 24 * 60)  # before opens_at
    early_entry_minutes = _bounded(0, 4 * 60)
    no_show_minutes = _bounded(1, 24 * 60)  # after opens_at
    reminder_minutes = _bounded(0, 12 * 60)  # before closes_at
    exit_grace_minutes = _bounded(0, 4 * 60)  # after closes_at
    strike_limit = _bounded(1, 100)
    strike_window_days = _bounded(1, 365)
    suspension_days = _bounded(1, 365)
    bookings_per_household = _bounded(1, 20)
    ballot_close_hour = _bounded(0, 23)
    # Below this a camera's plate read waits for an attendant.
    camera_confidence_threshold = fields.Float(validate=validate.Range(min=0.0, max=1.0))
    monthly_passes_per_household = _bounded(0, 20)  # 0: no limit


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
    role = fields.Enum(Role, by_value=True, required=True, validate=validate.OneOf([Role.MANAGER, Role.ATTENDANT]))


class StaffSchema(Schema):
    user_id = fields.Integer(attribute="id")
    phone = fields.String()
    name = fields.String()
    role = fields.Enum(Role, by_value=True)
    garage_ids = fields.List(fields.Integer(), attribute="staff_garage_ids")


#: The names of the rule columns, in the order the pages and the README list them.
RULE_NAMES: tuple[str, ...] = tuple(GarageRulesInput._declared_fields)
