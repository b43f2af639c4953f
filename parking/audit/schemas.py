from __future__ import annotations

from marshmallow import Schema, fields, validate

from parking.fields import MAX_ID, Instant

#: `object=` of the audit search: `<type>:<id>`, e.g. `booking:42`.
OBJECT_PATTERN = r"^([a-z_]{1,30}):([0-9]{1,18})$"


class AuditQuerySchema(Schema):
    object = fields.String(
        validate=validate.Length(max=60),
        metadata={"pattern": OBJECT_PATTERN, "description": "`<type>:<id>`, e.g. `booking:42`"},
    )
    actor = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))  # query strings are text: not strict
    action = fields.String(validate=validate.Length(max=60))
    garage_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    from_ = Instant(data_key="from")
    to = Instant()


class AuditActorSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.Nested(AuditActorSchema, allow_none=True)
    action = fields.String()
    object = fields.Function(lambda e: f"{e.object_type}:{e.object_id}")
    garage_id = fields.Integer(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)
