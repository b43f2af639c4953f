from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from parking.auth.models import User
from parking.auth.schemas import UserSchema
from parking.fields import Id, Phone, Text
from parking.households.addresses import MAX_TYPED, typed_pattern
from parking.households.models import HouseholdState, VehicleState


def _part(part: str) -> Text:
    return Text(required=True, max_length=MAX_TYPED, metadata={"pattern": typed_pattern(part)})


class HouseholdCreateSchema(Schema):
    garage_id = Id(required=True)
    building = _part("building")
    unit = _part("unit")
    room = _part("room")


class ResubmitSchema(Schema):
    building = _part("building")
    unit = _part("unit")
    room = _part("room")


class ReopenSchema(Schema):
    reason = Text(max_length=255, load_default=None)


class ReleaseSchema(Schema):
    reason = Text(required=True, max_length=255)


class AddressListSetSchema(Schema):
    spec = fields.String(required=True, validate=validate.Length(max=4000))
    dry_run = fields.Boolean(load_default=False)


class AddressBlockSchema(Schema):
    buildings = fields.List(fields.String())
    units = fields.List(fields.String())
    rooms = fields.List(fields.String())


class AddressListSchema(Schema):
    garage_id = fields.Integer()
    spec = fields.String()
    count = fields.Integer()
    buildings = fields.List(fields.String())
    units = fields.List(fields.String())
    rooms = fields.List(fields.String())
    blocks = fields.List(fields.Nested(AddressBlockSchema))


class MemberCreateSchema(Schema):
    phone = Phone(required=True)


class VerifySchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["verified", "rejected"]))
    reason = Text(max_length=255, load_default=None)


class VehicleVerifySchema(Schema):
    decision = fields.String(load_default="verified", validate=validate.OneOf(["verified", "rejected"]))
    reason = Text(max_length=255, load_default=None)


class VehicleCreateSchema(Schema):
    plate = fields.String(required=True, validate=validate.Length(min=1, max=32))


class HouseholdQuerySchema(Schema):
    state = fields.Enum(HouseholdState, by_value=True)
    garage_id = Id(strict=False)


class VehicleSchema(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    garage_id = fields.Integer()
    plate = fields.String()
    new_energy = fields.Function(lambda v: len(v.plate) == 8)
    state = fields.Enum(VehicleState, by_value=True)
    created_at = fields.DateTime()


class MemberSchema(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True, metadata={"description": "null for an attendant"})
    phone = fields.String(allow_none=True, metadata={"description": "null for an attendant"})


class HouseholdSummarySchema(Schema):
    id = fields.Integer()
    garage_id = fields.Integer()
    building = fields.String()
    unit = fields.String()
    room = fields.String()
    state = fields.Enum(HouseholdState, by_value=True)


class HouseholdQueueSchema(HouseholdSummarySchema):
    state_reason = fields.String(allow_none=True)
    previous_reason = fields.String(allow_none=True)
    resubmitted_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class HouseholdSchema(HouseholdSummarySchema):
    state_reason = fields.String(allow_none=True)
    previous_reason = fields.String(allow_none=True)
    resubmitted_at = fields.DateTime(allow_none=True)
    members = fields.List(
        fields.Nested(MemberSchema),
        attribute="visible_members",
        metadata={"description": "an attendant sees the members' ids only, never a name or a phone"},
    )
    vehicles = fields.List(fields.Nested(VehicleSchema))
    strikes = fields.Integer()
    suspended_until = fields.DateTime(allow_none=True)
    waitlist_priority = fields.Boolean()
    created_at = fields.DateTime()


class ReleasedSchema(Schema):
    vehicle = fields.Nested(VehicleSchema)
    cancelled = fields.List(fields.Integer(), metadata={"description": "ids of the bookings cancelled"})


class MeSchema(UserSchema):
    household = fields.Method("get_household")

    def get_household(self, user: User) -> dict[str, Any] | None:
        return HouseholdSummarySchema().dump(user.household) if user.household else None
