from __future__ import annotations

from marshmallow import Schema, fields, validate

from parking.fields import Text
from parking.garages.schemas import TemplateSchema
from parking.quotas.schemas import ChangeSummarySchema, weekday_list
from parking.quotas.services import POLICIES
from parking.windows.models import TemplateMode
from parking.windows.rules import MAX_QUOTA


class TemplateCreateSchema(Schema):
    name = Text(required=True, max_length=60)
    weekdays = weekday_list(required=True)
    start_time = fields.Time(required=True, format="%H:%M")
    end_time = fields.Time(required=True, format="%H:%M")
    default_quota = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=MAX_QUOTA))
    mode = fields.Enum(TemplateMode, by_value=True, load_default=TemplateMode.FIRST_COME)


class TemplateUpdateSchema(Schema):
    name = Text(max_length=60)
    weekdays = weekday_list()
    start_time = fields.Time(format="%H:%M")
    end_time = fields.Time(format="%H:%M")
    default_quota = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_QUOTA))
    mode = fields.Enum(TemplateMode, by_value=True)
    policy = fields.String(load_default="refuse", validate=validate.OneOf(POLICIES))


class ModeChangeSchema(Schema):
    switched = fields.Integer(metadata={"description": "upcoming nights that now run the new mode"})
    kept = fields.Integer(metadata={"description": "nights kept in their mode: booked, requested or too close"})


class TemplateOutSchema(TemplateSchema):
    windows_created = fields.Integer()
    result = fields.Nested(ChangeSummarySchema)
    mode_change = fields.Nested(ModeChangeSchema)
