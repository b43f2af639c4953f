from __future__ import annotations

from marshmallow import Schema, fields


class PassSchema(Schema):
    booking_id = fields.Integer()
    token = fields.String()
    not_before = fields.DateTime()
    not_after = fields.DateTime()
    kid = fields.String()


class JwkSchema(Schema):
    kty = fields.String()
    crv = fields.String()
    x = fields.String()
    kid = fields.String()
    use = fields.String()
    alg = fields.String()


class JwksSchema(Schema):
    garage_id = fields.Integer()
    keys = fields.List(fields.Nested(JwkSchema))


class RevocationListSchema(Schema):
    generated_at = fields.DateTime()
    garage_id = fields.Integer()
    booking_ids = fields.List(fields.Integer())
