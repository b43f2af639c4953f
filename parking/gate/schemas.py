from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from parking.bookings.models import BookingStatus
from parking.fields import Id, Text
from parking.gate.models import Direction, ScanResult
from parking.passes.offline import MAX_TOKEN_LENGTH


class ScanCreateSchema(Schema):
    garage_id = Id(required=True)
    # Any string up to the bound reaches the gate, which answers "malformed" for a non-pass: a
    # scanner that read garbage gets a gate decision, not a validation error.
    token = fields.String(validate=validate.Length(min=1, max=MAX_TOKEN_LENGTH + 100))
    plate = Text(max_length=32)
    direction = fields.Enum(Direction, by_value=True, required=True)
    plate_seen = Text(max_length=32, load_default=None)
    idempotency_key = Text(max_length=64, required=True)
    device = Text(max_length=64, load_default=None)

    @validates_schema
    def _token_or_plate(self, data, **kwargs):
        if ("token" in data) == ("plate" in data):
            raise ValidationError("give exactly one of token and plate", "token")


class ScanSchema(Schema):
    id = fields.Integer()
    result = fields.Enum(ScanResult, by_value=True)
    reason = fields.String(allow_none=True)
    message = fields.String()
    booking = fields.Integer(allow_none=True)
    plate = fields.String(allow_none=True)
    direction = fields.Enum(Direction, by_value=True)
    at = fields.DateTime()


class OccupantSchema(Schema):
    booking = fields.Integer()
    plate = fields.String()
    status = fields.Enum(BookingStatus, by_value=True)
    entered_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime()
    leave_by = fields.DateTime()


class OccupancySchema(Schema):
    garage_id = fields.Integer()
    at = fields.DateTime()
    inside = fields.List(fields.Nested(OccupantSchema))
    overstays = fields.List(fields.Nested(OccupantSchema))
