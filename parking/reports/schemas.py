from __future__ import annotations

from marshmallow import Schema, fields, validate

from parking.fields import Day


class NightsQuerySchema(Schema):
    from_ = Day(data_key="from")
    to = Day()
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class NightTotalsSchema(Schema):
    quota = fields.Integer()
    booked = fields.Integer()
    checked_in = fields.Integer()
    no_shows = fields.Integer()
    overstays = fields.Integer()
    cancellations = fields.Integer()
    bumped = fields.Integer()
    waitlisted = fields.Integer()


class NightRowSchema(NightTotalsSchema):
    service_date = fields.Date()
    window_id = fields.Integer()
    template = fields.String()
    state = fields.String()
    utilisation = fields.Float(allow_none=True)


class NightsReportSchema(Schema):
    garage_id = fields.Integer()
    from_ = fields.Date(data_key="from", attribute="start")
    to = fields.Date(attribute="end")
    rows = fields.List(fields.Nested(NightRowSchema))
    totals = fields.Nested(NightTotalsSchema)
