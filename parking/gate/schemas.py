from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any, ClassVar

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from parking.bookings.models import BookingStatus
from parking.fields import Id, Text
from parking.gate.models import Direction, ScanResult
from parking.passes.offline import MAX_TOKEN_LENGTH

#: Exactly one of `token` and `plate`, as the API document states it.
TOKEN_XOR_PLATE: dict[str, Any] = {
    "oneOf": [{"required": ["token"]}, {"required": ["plate"]}],
    "description": "exactly one of `token` and `plate`",
}


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

    OPENAPI_RULES: ClassVar[dict[str, Any]] = TOKEN_XOR_PLATE

    @validates_schema
    def _token_or_plate(self, data: dict[str, Any], **kwargs: Any) -> None:
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


class Instant(fields.AwareDateTime):
    """An ISO 8601 instant with its offset, returned in UTC; out-of-range instants are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            return instant.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationError("instant out of range") from exc


class OfflineScanSchema(Schema):
    idempotency_key = Text(max_length=64, required=True)
    token = fields.String(validate=validate.Length(min=1, max=MAX_TOKEN_LENGTH + 100))
    plate = Text(max_length=32)
    direction = fields.Enum(Direction, by_value=True, required=True)
    plate_seen = Text(max_length=32, load_default=None)
    device_time = Instant(required=True, metadata={"description": "when the device judged it, ISO 8601 with offset"})
    offline_result = fields.Enum(
        ScanResult, by_value=True, load_default=None, metadata={"description": "what the device decided"}
    )

    OPENAPI_RULES: ClassVar[dict[str, Any]] = TOKEN_XOR_PLATE

    @validates_schema
    def _token_or_plate(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("token" in data) == ("plate" in data):
            raise ValidationError("give exactly one of token and plate", "token")


MAX_QUEUE = 500


class OfflineUploadSchema(Schema):
    garage_id = Id(required=True)
    device = Text(max_length=64, required=True)
    scans = fields.List(fields.Nested(OfflineScanSchema), required=True, validate=validate.Length(min=1, max=MAX_QUEUE))

    @validates_schema
    def _unique_keys(self, data: dict[str, Any], **kwargs: Any) -> None:
        keys = [item["idempotency_key"] for item in data.get("scans", [])]
        if len(keys) != len(set(keys)):
            raise ValidationError("each queued scan needs its own idempotency_key", "scans")


class OfflineAnswerSchema(Schema):
    id = fields.Integer(allow_none=True)
    idempotency_key = fields.String()
    result = fields.Enum(ScanResult, by_value=True)
    reason = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    conflict = fields.String(
        allow_none=True,
        metadata={"description": "revoked_meanwhile, scanned_elsewhere, not_inside or result_mismatch"},
    )
    conflict_message = fields.String(allow_none=True)
    booking = fields.Integer(allow_none=True)
    plate = fields.String(allow_none=True)
    direction = fields.Enum(Direction, by_value=True)
    device = fields.String(allow_none=True)
    device_time = fields.DateTime()
    offline_result = fields.Enum(ScanResult, by_value=True, allow_none=True)
    at = fields.DateTime()
    recorded = fields.Boolean(metadata={"description": "false when the key was used for another scan"})


class OfflineUploadAnswerSchema(Schema):
    garage_id = fields.Integer()
    device = fields.String()
    scans = fields.List(fields.Nested(OfflineAnswerSchema))


class ScanImageFormSchema(Schema):
    garage_id = Id(strict=False, required=True)
    direction = fields.Enum(Direction, by_value=True, required=True)
    idempotency_key = Text(max_length=64, required=True)
    device = Text(max_length=64, load_default=None)
    plate_seen = Text(max_length=32, load_default=None)


class ScanImageFileSchema(Schema):
    image = Upload(required=True, metadata={"description": "a photo or camera frame with the pass's QR code"})


class ScanImageSchema(ScanImageFormSchema, ScanImageFileSchema):
    """The whole multipart body, for the API document (the view reads the form and the file apart)."""
