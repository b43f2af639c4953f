from __future__ import annotations

from marshmallow import Schema, fields

from parking.fields import Day
from parking.windows.models import TemplateMode, WindowState


class RulesSchema(Schema):
    horizon_days = fields.Integer()
    booking_cutoff_minutes = fields.Integer()
    free_cancel_minutes = fields.Integer()
    early_entry_minutes = fields.Integer()
    no_show_minutes = fields.Integer()
    reminder_minutes = fields.Integer()
    exit_grace_minutes = fields.Integer()
    strike_limit = fields.Integer()
    strike_window_days = fields.Integer()
    suspension_days = fields.Integer()
    bookings_per_household = fields.Integer()
    ballot_close_hour = fields.Integer()
    camera_confidence_threshold = fields.Float()
    monthly_passes_per_household = fields.Integer(metadata={"description": "0: no limit"})
    retention_days = fields.Integer(
        metadata={"description": "days after which plates and phones in scans, bookings, notices and audit are masked"}
    )


class TemplateSchema(Schema):
    id = fields.Integer()
    garage_id = fields.Integer()
    name = fields.String()
    weekdays = fields.List(fields.Integer(), attribute="weekday_list")
    start_time = fields.Time(format="%H:%M")
    end_time = fields.Time(format="%H:%M")
    default_quota = fields.Integer()
    mode = fields.Enum(TemplateMode, by_value=True)
    active = fields.Boolean()


class GarageSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    timezone = fields.String()
    capacity = fields.Integer()
    rules = fields.Function(lambda garage: RulesSchema().dump(garage))
    templates = fields.List(fields.Nested(TemplateSchema))


class WindowQuerySchema(Schema):
    from_ = Day(data_key="from")
    to = Day()


class WindowSchema(Schema):
    id = fields.Integer(
        allow_none=True,
        metadata={"description": "null for a night the tide has not made yet: book it by template_id and service_date"},
    )
    garage_id = fields.Integer()
    template_id = fields.Integer()
    service_date = fields.Date()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    quota = fields.Integer()
    booked = fields.Integer()
    available = fields.Integer()
    waitlisted = fields.Integer()
    requested = fields.Integer(metadata={"description": "ballot requests waiting for the draw"})
    state = fields.Enum(WindowState, by_value=True)
    closed_reason = fields.String(allow_none=True)
    mode = fields.Enum(TemplateMode, by_value=True)
    ballot_closes_at = fields.DateTime(allow_none=True, metadata={"description": "when the ballot closes (draw)"})
    commitment = fields.String(allow_none=True, metadata={"description": "hex SHA-256 of the draw's seed"})
    drawn = fields.Boolean(metadata={"description": "the draw has run; the night runs first come since"})
