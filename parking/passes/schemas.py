from __future__ import annotations

from marshmallow import Schema, fields


class PassSchema(Schema):
    booking_id = fields.Integer(allow_none=True)
    subscription_id = fields.Integer(allow_none=True)
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


class RevokedNightSchema(Schema):
    subscription_id = fields.Integer()
    service_date = fields.Date()
    not_before = fields.DateTime(metadata={"description": "the night's pass validity begins"})
    not_after = fields.DateTime(metadata={"description": "and ends (exclusive)"})


class RevocationListSchema(Schema):
    generated_at = fields.DateTime()
    garage_id = fields.Integer()
    booking_ids = fields.List(fields.Integer())
    subscription_nights = fields.List(
        fields.Nested(RevokedNightSchema),
        metadata={"description": "nights of monthly passes that hold no space any more: refuse the pass then"},
    )
