"""Admin endpoints: create and change garages, and say who works for them. Admins only. They stand
with the passes, a layer above the garages, because a garage opens with its first signing key
(`passes.services.open_garage`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.auth.models import Role
from parking.extensions import db
from parking.garages import admin_services as services
from parking.garages.admin_schemas import GarageCreateSchema, GarageUpdateSchema, StaffCreateSchema, StaffSchema
from parking.garages.schemas import GarageSchema
from parking.notifications import webhooks
from parking.notifications.schemas import WebhookInputSchema, WebhookSchema, WebhookSetSchema
from parking.passes.services import open_garage

blp = Blueprint("admin", __name__, url_prefix="/api/v1", description="Administration (admins only): garages and staff")

F = TypeVar("F", bound=Callable[..., Any])


def admin_only(view: F) -> F:
    """Admins only, and the OpenAPI document says so."""
    view = require(Role.ADMIN)(view)
    view = blp.alt_response(401, schema="Error", description="Not signed in")(view)
    return blp.alt_response(403, schema="Error", description="Signed in, but not an admin")(view)


#: The refusals of a garage's fields beyond what each field's schema states.
RULES_TOGETHER = (
    "`validation_error` with `errors.booking_cutoff_minutes`: the booking cut-off must not be after the "
    "no-show time (`no_show_minutes`), on the values the garage will have; `not_yet_supported`"
)


@blp.route("/garages")
class GarageCreate(MethodView):
    @admin_only
    @blp.arguments(GarageCreateSchema())
    @blp.response(201, GarageSchema)
    @blp.alt_response(422, schema="Error", description=RULES_TOGETHER)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a garage with its time zone, capacity and rules"""
        garage = open_garage(data, current_actor(), clock.now())  # with its first signing key
        db.session.commit()
        return garage


@blp.route("/garages/<id:garage_id>")
class GarageUpdate(MethodView):
    @admin_only
    @blp.arguments(GarageUpdateSchema())
    @blp.response(200, GarageSchema)
    @blp.alt_response(409, schema="Error", description="`capacity_below_quota`, `timezone_has_bookings`")
    @blp.alt_response(422, schema="Error", description=RULES_TOGETHER)
    def patch(self, data: dict[str, Any], garage_id: int) -> Any:
        """Change some fields of a garage; 409 when the capacity would fall below a quota in force"""
        garage = services.update_garage(garage_id, data, current_actor(), clock.now())
        db.session.commit()
        return garage


@blp.route("/garages/<id:garage_id>/staff")
class Staff(MethodView):
    @admin_only
    @blp.response(200, StaffSchema(many=True))
    def get(self, garage_id: int) -> Any:
        """The managers and attendants of a garage"""
        return services.list_staff(garage_id, current_actor())

    @admin_only
    @blp.arguments(StaffCreateSchema())
    @blp.response(201, StaffSchema)
    @blp.alt_response(404, schema="Error", description="`user_not_found`: no user has this phone number")
    @blp.alt_response(409, schema="Error", description="`already_staff`, `staff_role_conflict`")
    def post(self, data: dict[str, Any], garage_id: int) -> Any:
        """Make a user, found by phone number, manager or attendant of the garage"""
        user = services.add_staff(garage_id, data["phone"], data["role"], current_actor(), clock.now())
        db.session.commit()
        return user


@blp.route("/garages/<id:garage_id>/staff/<id:user_id>")
class StaffOne(MethodView):
    @admin_only
    @blp.response(200, StaffSchema)
    @blp.alt_response(404, schema="Error", description="`not_staff`: the user does not work for this garage")
    def delete(self, garage_id: int, user_id: int) -> Any:
        """Take a user off the garage's staff; with no garage left they are a resident again"""
        user = services.remove_staff(garage_id, user_id, current_actor(), clock.now())
        db.session.commit()
        return user


@blp.route("/garages/<id:garage_id>/webhook")
class Webhook(MethodView):
    @admin_only
    @blp.response(200, WebhookSchema)
    def get(self, garage_id: int) -> Any:
        """The garage's gateway webhook: its URL and when it was set, never its secret"""
        return webhooks.webhook_settings(garage_id, current_actor())

    @admin_only
    @blp.arguments(WebhookInputSchema())
    @blp.response(200, WebhookSetSchema)
    @blp.alt_response(422, schema="Error", description="`invalid_webhook_url`: not http:// or https://")
    def put(self, data: dict[str, Any], garage_id: int) -> Any:
        """Send the garage's notifications to this URL, signed with a new secret (answered this once)"""
        answer = webhooks.set_webhook(garage_id, data["url"], current_actor(), clock.now())
        db.session.commit()
        return answer

    @admin_only
    @blp.response(200, WebhookSchema)
    def delete(self, garage_id: int) -> Any:
        """No gateway: the garage's notifications stay in-app"""
        answer = webhooks.remove_webhook(garage_id, current_actor(), clock.now())
        db.session.commit()
        return answer
