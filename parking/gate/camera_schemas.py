from __future__ import annotations

from marshmallow import Schema, fields, validate

from parking.fields import Id, Text
from parking.gate.models import CameraDirection, Direction, PlateEventStatus
from parking.gate.schemas import Instant


class CameraCreateSchema(Schema):
    name = Text(max_length=60, required=True)
    direction = fields.Enum(CameraDirection, by_value=True, required=True)


class CameraSchema(Schema):
    id = fields.Integer()
    garage_id = fields.Integer()
    name = fields.String()
    direction = fields.Enum(CameraDirection, by_value=True)
    active = fields.Boolean()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class CameraCreatedSchema(CameraSchema):
    credential = fields.String(
        metadata={
            "description": "`<camera_id>:<secret>` for `Authorization: Camera <credential>`; shown this once only"
        }
    )


class CameraRevokeSchema(Schema):
    reason = Text(max_length=255, load_default=None)


class PlateEventCreateSchema(Schema):
    garage_id = Id(required=True)
    camera_id = Id(required=True)
    event_id = Text(max_length=64, required=True)
    plate = Text(max_length=32, required=True)
    direction = fields.Enum(Direction, by_value=True, required=True)
    confidence = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, max=1))
    captured_at = Instant(required=True)


class BarrierAnswerSchema(Schema):
    event_id = fields.String()
    status = fields.String(metadata={"description": "decided, pending, confirmed or dismissed"})
    open = fields.Boolean(metadata={"description": "whether the barrier opens"})
    result = fields.String(metadata={"description": "accepted, rejected or pending"})
    reason = fields.String(allow_none=True)
    display = fields.String(metadata={"description": "a short Chinese text for the barrier's LED board"})
    plate = fields.String()
    booking = fields.Integer(allow_none=True)


class PlateEventSchema(Schema):
    id = fields.Integer()
    camera_id = fields.Integer()
    camera_name = fields.String()
    event_id = fields.String()
    plate = fields.String()
    direction = fields.Enum(Direction, by_value=True)
    confidence = fields.Float()
    captured_at = fields.DateTime()
    received_at = fields.DateTime()
    status = fields.Enum(PlateEventStatus, by_value=True)


class PlateEventConfirmSchema(Schema):
    plate = Text(
        max_length=32, load_default=None, metadata={"description": "the corrected plate, if the camera misread"}
    )


class PlateEventDismissSchema(Schema):
    reason = Text(max_length=255, load_default=None)
