from __future__ import annotations

from marshmallow import Schema, fields, validate

_ROWS = "each row with every stored column but secrets (hashes, pass nonces, fingerprints)"


class ExportSchema(Schema):
    """Everything the service stores about the caller (docs/privacy.md)."""

    format = fields.String(metadata={"description": "`tidal-parking export 1`"})
    exported_at = fields.String(metadata={"description": "ISO 8601"})
    user = fields.Dict(metadata={"description": "the account: phone, name, role, language, garages, created_at"})
    household = fields.Dict(
        allow_none=True, metadata={"description": "address, state, reasons, suspension; the members by id and name"}
    )
    vehicles = fields.List(fields.Dict(), metadata={"description": f"the household's plates; {_ROWS}"})
    bookings = fields.List(fields.Dict(), metadata={"description": f"the household's bookings; {_ROWS}"})
    subscriptions = fields.List(fields.Dict(), metadata={"description": "the household's monthly passes"})
    statements = fields.List(fields.Dict(), metadata={"description": "the household's monthly statements"})
    scans = fields.List(fields.Dict(), metadata={"description": "the gate's scans of its plates or bookings"})
    plate_events = fields.List(fields.Dict(), metadata={"description": "the cameras' reads of the household's plates"})
    notifications = fields.List(
        fields.Dict(),
        metadata={"description": "the caller's notifications, each with its text"},
    )
    sign_ins = fields.Dict(metadata={"description": "`browsers` signed in now, and `lockouts` of the password sign-in"})
    audit_events = fields.List(
        fields.Dict(), metadata={"description": "audit events the caller acted in, or about the account (`user:<id>`)"}
    )


class ErasureSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128), load_only=True)


class ErasedSchema(Schema):
    user_id = fields.Integer()
    cancelled = fields.List(fields.Integer(), metadata={"description": "ids of the future bookings cancelled"})
    handed_back = fields.List(fields.Integer(), metadata={"description": "ids of the monthly nights handed back"})
    household_kept = fields.Boolean(metadata={"description": "the household stays: it has other members"})
