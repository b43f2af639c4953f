from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from parking.bookings.models import BookingStatus
from parking.fields import FIRST_DAY, LAST_DAY, MONTH_PATTERN, Day, Id, Text, month_start

MAX_FEE = Decimal("100000")


def _month(text: str) -> None:
    if month_start(text) is None:
        raise ValidationError(f"a month as YYYY-MM, from {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}")


def Month(**kwargs: Any) -> fields.String:  # noqa: N802 - reads like a field class
    metadata = {"example": "2027-01", "description": "YYYY-MM", "pattern": MONTH_PATTERN, **kwargs.pop("metadata", {})}
    return fields.String(validate=_month, metadata=metadata, **kwargs)


class OfferSetSchema(Schema):
    fee = fields.Decimal(
        required=True,
        places=2,
        validate=validate.Range(min=Decimal("0"), max=MAX_FEE),
        metadata={"description": "the monthly fee in CNY (yuan, two decimals)"},
    )
    monthly_share = fields.Decimal(
        places=3,
        validate=validate.Range(min=Decimal("0"), max=Decimal("1"), min_inclusive=False),
        metadata={"description": "monthly holders hold at most this share of each night's quota (default 0.7)"},
    )
    sale_starts_on = Day(metadata={"description": "no monthly pass is sold before this local date"})
    active = fields.Boolean(metadata={"description": "false stops the sale; passes sold stay valid"})


class SaleSchema(Schema):
    month = fields.String()
    renewal_opens_at = fields.DateTime(metadata={"description": "holders of the month before may renew from"})
    opens_at = fields.DateTime(metadata={"description": "everyone may subscribe from"})
    ends_at = fields.DateTime()


class OfferSchema(Schema):
    id = fields.Integer()
    garage_id = fields.Integer()
    template_id = fields.Integer()
    template_name = fields.Function(lambda o: o.template.name)
    fee = fields.Decimal(as_string=True, metadata={"description": "CNY"})
    monthly_share = fields.Float()
    sale_starts_on = fields.Date()
    active = fields.Boolean()
    updated_at = fields.DateTime()
    sales = fields.List(fields.Nested(SaleSchema), metadata={"description": "this month's and next month's sale"})


class SubscriptionCreateSchema(Schema):
    template_id = Id(required=True)
    month = Month(required=True)
    plate = fields.String(required=True, validate=validate.Length(min=1, max=32))
    accept_partial = fields.Boolean(
        load_default=False, metadata={"description": "keep the nights that can be booked when others cannot"}
    )


class RenewSchema(Schema):
    accept_partial = fields.Boolean(load_default=False)


class HandBackSchema(Schema):
    service_date = Day(required=True, metadata={"description": "the night to give back"})


class MonthQuerySchema(Schema):
    month = Month(metadata={"description": "YYYY-MM; default: this month"})


class StatementQuerySchema(MonthQuerySchema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class PaidSchema(Schema):
    receipt_number = Text(required=True, max_length=40)


class MonthNightSchema(Schema):
    booking_id = fields.Integer(attribute="id")
    window_id = fields.Integer()
    service_date = fields.Function(lambda b: b.window.service_date.isoformat())
    opens_at = fields.Function(lambda b: b.window.opens_at.isoformat())
    closes_at = fields.Function(lambda b: b.window.closes_at.isoformat())
    status = fields.Enum(BookingStatus, by_value=True)
    holds_space = fields.Boolean()
    inside = fields.Boolean()


class MonthNightOutcomeSchema(Schema):
    window_id = fields.Integer()
    service_date = fields.Date()
    result = fields.String(metadata={"description": "confirmed, refused, past (booking closed) or closed"})
    reason = fields.String(allow_none=True)
    booking_id = fields.Integer(allow_none=True)


class SubscriptionSchema(Schema):
    id = fields.Integer()
    garage_id = fields.Integer()
    template_id = fields.Integer()
    household_id = fields.Integer()
    plate = fields.String()
    month = fields.Function(lambda s: s.month.strftime("%Y-%m"))
    fee = fields.Decimal(as_string=True)
    nights_planned = fields.Integer(metadata={"description": "nights the window lends in the month"})
    nights_booked = fields.Integer(metadata={"description": "nights booked when subscribing"})
    renewal_of_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    nights = fields.List(fields.Nested(MonthNightSchema))
    outcome = fields.List(fields.Nested(MonthNightOutcomeSchema), metadata={"description": "on creation: each night"})


class StatementLineSchema(Schema):
    id = fields.Integer(metadata={"description": "subscription id"})
    plate = fields.String()
    template_id = fields.Integer()
    fee = fields.Decimal(as_string=True)
    credit = fields.Decimal(as_string=True)
    nights_planned = fields.Integer()
    nights_booked = fields.Integer()
    bumped_nights = fields.Integer()


class StatementAddressSchema(Schema):
    building = fields.String()
    unit = fields.String()
    room = fields.String()


class StatementSchema(Schema):
    id = fields.Integer()
    garage_id = fields.Integer()
    household_id = fields.Integer()
    address = fields.Nested(StatementAddressSchema)
    month = fields.String()
    fee = fields.Decimal(as_string=True, metadata={"description": "CNY"})
    credits = fields.Decimal(
        as_string=True, metadata={"description": "nights not booked and nights bumped, pro rata of the fee"}
    )
    total = fields.Decimal(as_string=True)
    bumped_nights = fields.Integer()
    unbooked_nights = fields.Integer()
    paid = fields.Boolean()
    paid_at = fields.DateTime(allow_none=True)
    receipt_number = fields.String(allow_none=True)
    paid_total = fields.Decimal(as_string=True, allow_none=True)
    refund_due = fields.Decimal(as_string=True, metadata={"description": "credits that arose after payment"})
    subscriptions = fields.List(fields.Nested(StatementLineSchema))
