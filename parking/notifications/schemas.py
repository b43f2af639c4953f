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
