from __future__ import annotations

from marshmallow import Schema, fields, validate

from parking.notifications.services import render


class NotificationQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    message = fields.Function(render)
    params = fields.Dict()
    booking_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class WebhookInputSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "http:// or https://; loopback and private addresses are allowed"},
    )


class WebhookSchema(Schema):
    """A garage's webhook as it is shown: never its secret."""

    garage_id = fields.Integer()
    url = fields.String(allow_none=True)
    set_at = fields.DateTime(allow_none=True)


class WebhookSetSchema(WebhookSchema):
    secret = fields.String(
        metadata={"description": "signs every POST (X-Tidal-Signature); shown this once, never again"}
    )
