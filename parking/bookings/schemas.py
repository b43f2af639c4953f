from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from parking.bookings.models import BookingStatus
from parking.fields import Id, Text


class BookingCreateSchema(Schema):
    window_id = Id(metadata={"description": "the night; or, for a night not made yet, template_id and service_date"})
    template_id = Id(metadata={"description": "with service_date: a night the listing shows without an id"})
    service_date = fields.Date()
    plate = fields.String(required=True, validate=validate.Length(min=1, max=32))
    waitlist = fields.Boolean(load_default=False)

    OPENAPI_RULES: ClassVar[dict[str, Any]] = {
        "anyOf": [{"required": ["window_id"]}, {"required": ["template_id", "service_date"]}]
    }

    @validates_schema
    def _names_a_night(self, data: dict, **_kwargs: object) -> None:
        if data.get("window_id") is None and (data.get("template_id") is None or data.get("service_date") is None):
            raise ValidationError("Missing data for required field.", "window_id")


class BookingCancelSchema(Schema):
    reason = Text(max_length=255, load_default=None)


class BookingQuerySchema(Schema):
    garage_id = Id(strict=False)
    window_id = Id(strict=False)
    status = fields.Enum(BookingStatus, by_value=True)
    plate = fields.String(validate=validate.Length(min=1, max=32))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class HistoryEntrySchema(Schema):
    at = fields.DateTime()
    action = fields.String()
    actor_id = fields.Integer(allow_none=True)
    status = fields.Function(lambda e: (e.after or {}).get("status"))
    previous = fields.Function(lambda e: (e.before or {}).get("status"))
    reason = fields.String(allow_none=True)


class BookingWindowSchema(Schema):
    id = fields.Integer()
    service_date = fields.Date()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()


class BookingSchema(Schema):
    id = fields.Integer()
    window_id = fields.Integer()
    garage_id = fields.Integer()
    household_id = fields.Integer()
    vehicle_id = fields.Integer()
    plate = fields.String()
    status = fields.Enum(BookingStatus, by_value=True)
    holds_space = fields.Boolean()
    priority = fields.Boolean()
    late_cancel = fields.Boolean()
    inside = fields.Boolean()
    created_at = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    entered_at = fields.DateTime(allow_none=True)
    exited_at = fields.DateTime(allow_none=True)
    window = fields.Nested(BookingWindowSchema)


class BookingDetailSchema(BookingSchema):
    history = fields.List(fields.Nested(HistoryEntrySchema))


class DrawEntrySchema(Schema):
    household_id = fields.Integer()
    wins = fields.Integer(metadata={"description": "draws the household won in the 30 days before the close"})
    bumped = fields.Boolean(metadata={"description": "bumped households are drawn first"})
    u = fields.Float(metadata={"description": "(first 8 bytes of HMAC-SHA256(seed, str(household_id)) + 0.5) / 2**64"})
    result = fields.String(metadata={"description": "confirmed or waitlisted, at the draw"})


class DrawSchema(Schema):
    window_id = fields.Integer()
    garage_id = fields.Integer()
    service_date = fields.Date()
    ballot_closes_at = fields.DateTime(allow_none=True)
    commitment = fields.String(metadata={"description": "hex SHA-256 of the seed, published before the draw"})
    drawn = fields.Boolean()
    drawn_at = fields.DateTime(allow_none=True)
    requested = fields.Integer(metadata={"description": "requests waiting for the draw (before it)"})
    seed = fields.String(allow_none=True, metadata={"description": "hex of the 32-byte seed, after the draw"})
    quota = fields.Integer(allow_none=True, metadata={"description": "the quota the draw filled"})
    entries = fields.List(fields.Nested(DrawEntrySchema), allow_none=True, metadata={"description": "in draw order"})


def _distinct_ids(ids: list[int]) -> None:
    if len(set(ids)) != len(ids):
        raise ValidationError("each night at most once")


class NightsCreateSchema(Schema):
    window_ids = fields.List(
        Id(), required=True, validate=[validate.Length(min=1, max=62), _distinct_ids], metadata={"uniqueItems": True}
    )
    plate = fields.String(required=True, validate=validate.Length(min=1, max=32))
    waitlist = fields.Boolean(load_default=False, metadata={"description": "join the waitlist of full nights"})
    accept_partial = fields.Boolean(
        load_default=False, metadata={"description": "keep the nights that can be booked when others cannot"}
    )


class NightOutcomeSchema(Schema):
    window_id = fields.Integer()
    service_date = fields.Date(allow_none=True)
    result = fields.String(metadata={"description": "confirmed, waitlisted, requested (ballot) or refused"})
    reason = fields.String(allow_none=True, metadata={"description": "the machine reason of a refusal"})
    message = fields.String(metadata={"description": "the refusal in the caller's language"})
    booking_id = fields.Integer(allow_none=True)

    @post_dump
    def _without_absent_message(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("message") is None:  # only a refusal said in words has one
            data.pop("message", None)
        return data


class NightsSchema(Schema):
    nights = fields.List(fields.Nested(NightOutcomeSchema))
    confirmed = fields.Integer()
    waitlisted = fields.Integer()
    requested = fields.Integer()
    refused = fields.Integer()
