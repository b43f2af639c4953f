from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.extensions import db
from parking.households import services
from parking.households.addresses import AddressList
from parking.households.models import Household
from parking.households.schemas import (
    AddressListSchema,
    AddressListSetSchema,
    HouseholdCreateSchema,
    HouseholdQuerySchema,
    HouseholdQueueSchema,
    HouseholdSchema,
    MemberCreateSchema,
    MeSchema,
    ReopenSchema,
    ResubmitSchema,
    VehicleCreateSchema,
    VehicleSchema,
    VehicleVerifySchema,
    VerifySchema,
)
from parking.households.schemas import MemberSchema as MemberSchemaOut
from parking.windows.services import get_garage

ADDRESS_REFUSED = (
    "`validation_error` (a part with other than digits, Latin letters and the usual suffixes, or over 20 "
    "characters; `errors` names the part) or `address_not_in_list` (the garage has a list of addresses)"
)

blp = Blueprint("households", __name__, url_prefix="/api/v1", description="Households, members and vehicles")


def _with_strikes(household: Household, now: datetime) -> Household:
    # The schema reads the recent strikes and the members as the caller may see them from
    # transient attributes the model does not declare.
    household.strikes = services.recent_strikes(household, now)  # type: ignore[attr-defined]  # a transient attribute the response schema reads
    household.visible_members = services.members_seen_by(current_actor(), household)  # type: ignore[attr-defined]  # a transient attribute the response schema reads
    return household


@blp.route("/households")
class Households(MethodView):
    @require()
    @blp.arguments(HouseholdQuerySchema(), location="query")
    @blp.response(200, HouseholdQueueSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The verification queue of the manager's garages"""
        return services.queue(current_actor(), args.get("state"), args.get("garage_id"))

    @require()
    @blp.arguments(HouseholdCreateSchema())
    @blp.response(201, HouseholdSchema)
    @blp.alt_response(403, description="`residents_only`: only residents register a household")
    @blp.alt_response(409, description="`already_in_household`, `household_exists`")
    @blp.alt_response(422, description=ADDRESS_REFUSED)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a household (pending); the caller becomes a member"""
        now = clock.now()
        household = services.create(
            current_actor(), data["garage_id"], data["building"], data["unit"], data["room"], now
        )
        db.session.commit()
        return _with_strikes(household, now)


@blp.route("/households/<id:household_id>")
class HouseholdOne(MethodView):
    @require()
    @blp.response(200, HouseholdSchema)
    def get(self, household_id: int) -> Any:
        """A household: address, state, members, vehicles, strikes, suspension

        An attendant of its garage sees the address, the state and the plates: the members come with
        their ids only, never a name or a phone number."""
        now = clock.now()
        return _with_strikes(services.get_visible(current_actor(), household_id), now)


@blp.route("/households/<id:household_id>/members")
class Members(MethodView):
    @require()
    @blp.arguments(MemberCreateSchema())
    @blp.response(201, MemberSchemaOut)
    @blp.alt_response(404, description="`user_not_found`: no user has this phone number")
    @blp.alt_response(409, description="`already_member`, `already_in_household`, `not_a_resident`")
    def post(self, data: dict[str, Any], household_id: int) -> Any:
        """Add another registered resident to the household"""
        user = services.add_member(current_actor(), household_id, data["phone"], clock.now())
        db.session.commit()
        return user


@blp.route("/households/<id:household_id>/verify")
class Verify(MethodView):
    @require()
    @blp.arguments(VerifySchema())
    @blp.response(200, HouseholdSchema)
    def post(self, data: dict[str, Any], household_id: int) -> Any:
        """Verify or reject a household (manager of its garage)"""
        now = clock.now()
        household = services.verify(current_actor(), household_id, data["decision"], data["reason"], now)
        db.session.commit()
        return _with_strikes(household, now)


@blp.route("/households/<id:household_id>/vehicles")
class Vehicles(MethodView):
    @require()
    @blp.arguments(VehicleCreateSchema())
    @blp.response(201, VehicleSchema)
    @blp.alt_response(409, description="`duplicate_vehicle`: already registered for the household")
    @blp.alt_response(422, description="`invalid_plate`: not a valid Chinese licence plate")
    def post(self, data: dict[str, Any], household_id: int) -> Any:
        """Register a plate (pending until a manager verifies it)"""
        vehicle = services.add_vehicle(current_actor(), household_id, data["plate"], clock.now())
        db.session.commit()
        return vehicle


@blp.route("/vehicles/<id:vehicle_id>/verify")
class VehicleVerify(MethodView):
    @require()
    @blp.arguments(VehicleVerifySchema())
    @blp.response(200, VehicleSchema)
    @blp.alt_response(
        409,
        description="`plate_held_elsewhere`: the plate is verified for another household of the garage; "
        "`details` gives `vehicle_id`, `household_id` and `address` of where it is held (release it there first)",
    )
    def post(self, data: dict[str, Any], vehicle_id: int) -> Any:
        """Verify (or reject) a plate (manager of the household's garage)"""
        vehicle = services.verify_vehicle(current_actor(), vehicle_id, data["decision"], clock.now(), data["reason"])
        db.session.commit()
        return vehicle


@blp.route("/households/<id:household_id>/resubmit")
class Resubmit(MethodView):
    @require()
    @blp.arguments(ResubmitSchema())
    @blp.response(200, HouseholdSchema)
    @blp.alt_response(409, description="`not_rejected` (only a rejected household is sent again) or `household_exists`")
    @blp.alt_response(
        422,
        description=ADDRESS_REFUSED,
    )
    def post(self, data: dict[str, Any], household_id: int) -> Any:
        """Correct the address of a rejected household and send it again (member; back to pending)"""
        now = clock.now()
        household = services.resubmit(current_actor(), household_id, data["building"], data["unit"], data["room"], now)
        db.session.commit()
        return _with_strikes(household, now)


@blp.route("/households/<id:household_id>/reopen")
class Reopen(MethodView):
    @require()
    @blp.arguments(ReopenSchema())
    @blp.response(200, HouseholdSchema)
    @blp.alt_response(409, description="`not_rejected`: only a rejected household is reopened")
    def post(self, data: dict[str, Any], household_id: int) -> Any:
        """Reopen a rejected household: back to pending (manager of its garage)"""
        now = clock.now()
        household = services.reopen(current_actor(), household_id, data["reason"], now)
        db.session.commit()
        return _with_strikes(household, now)


def _list_out(garage_id: int, listed: AddressList | None) -> Any:
    listed = listed or AddressList(spec="")
    return {
        "garage_id": garage_id,
        "spec": listed.spec,
        "count": listed.count,
        "blocks": listed.blocks,
        "buildings": listed.choices("building"),
        "units": listed.choices("unit"),
        "rooms": listed.choices("room"),
    }


@blp.route("/garages/<id:garage_id>/addresses")
class Addresses(MethodView):
    @blp.response(200, AddressListSchema)
    def get(self, garage_id: int) -> Any:
        """The estate's addresses that households of the garage choose from (empty: typed freely)"""
        get_garage(garage_id)
        return _list_out(garage_id, services.address_list(garage_id))

    @require()
    @blp.arguments(AddressListSetSchema())
    @blp.response(200, AddressListSchema)
    @blp.alt_response(422, description="`validation_error` with `errors.spec`: what in the list cannot be read")
    def put(self, data: dict[str, Any], garage_id: int) -> Any:
        """Enter the estate's addresses (manager of the garage)

        One block a line, e.g. `1-24 号楼, 1-6 单元, 101-604 室`: values and ranges separated by
        commas or 、, each group closed by its suffix. A room range of three or more digits means
        floors by rooms (101-604: floors 1-6, rooms 01-04). An empty `spec` removes the list; with
        `dry_run` the list is only checked and counted. Households already registered keep their
        address.
        """
        listed = services.set_address_list(
            current_actor(), garage_id, data["spec"], clock.now(), dry_run=data["dry_run"]
        )
        db.session.commit()
        return _list_out(garage_id, listed)


@blp.route("/me")
class Me(MethodView):
    @require()
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """The signed-in user, roles and household"""
        return current_actor()
