from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from parking.fields import Day, Id, Text
from parking.quotas.services import POLICIES, days_of
from parking.windows.rules import MAX_QUOTA


def _distinct(days: list[int]) -> None:
    if len(set(days)) != len(days):
        raise ValidationError("each weekday at most once")


def weekday_list(**kwargs: Any) -> fields.List:
    """[1..7] (1 = Monday), each day at most once."""
    return fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
        validate=[validate.Length(min=1, max=7), _distinct],
        **{**kwargs, "metadata": {"uniqueItems": True, **kwargs.get("metadata", {})}},
    )


class OverrideCreateSchema(Schema):
    template_id = Id(required=True)
    start_date = Day(required=True)
    end_date = Day(required=True)
    weekdays = weekday_list(load_default=None, allow_none=True)
    quota = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_QUOTA), load_default=None)
    closed = fields.Boolean(load_default=False)
    reason = Text(required=True, max_length=255)
    policy = fields.String(load_default="refuse", validate=validate.OneOf(POLICIES))


class OverrideQuerySchema(Schema):
    from_ = Day(data_key="from")
    to = Day()


class PolicyQuerySchema(Schema):
    policy = fields.String(load_default="refuse", validate=validate.OneOf(POLICIES))


class ChangeSummarySchema(Schema):
    windows_changed = fields.Integer()
    bumped = fields.Integer()
    promoted = fields.Integer()
    waitlist_cancelled = fields.Integer()


class OverrideSchema(Schema):
    id = fields.Integer()
    garage_id = fields.Integer()
    template_id = fields.Integer()
    start_date = fields.Date()
    end_date = fields.Date()
    weekdays = fields.Function(lambda o: days_of(o.weekdays))
    quota = fields.Integer(allow_none=True)
    closed = fields.Boolean()
    reason = fields.String()
    source = fields.String()
    provisional = fields.Boolean(
        metadata={"description": "a holiday preset made before the official arrangement: make-up days unknown"}
    )
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class OverrideCreatedSchema(OverrideSchema):
    result = fields.Nested(ChangeSummarySchema)


class OverrideDeletedSchema(ChangeSummarySchema):
    id = fields.Integer()
    deleted = fields.Boolean()


class HolidayPresetSchema(Schema):
    year = fields.Integer(strict=True, required=True, validate=validate.Range(min=1900, max=2200))
    quota = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=MAX_QUOTA))
    policy = fields.String(load_default="refuse", validate=validate.OneOf(POLICIES))


class HolidayResultSchema(ChangeSummarySchema):
    year = fields.Integer()
    quota = fields.Integer()
    days = fields.Integer()
    replaced = fields.Integer()
    replaced_provisional = fields.Integer(metadata={"description": "of them, provisional overrides"})
    provisional = fields.Boolean(metadata={"description": "the official arrangement of the year is not installed"})
    note = fields.String(allow_none=True)
    overrides = fields.List(fields.Nested(OverrideSchema))
