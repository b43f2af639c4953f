from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, managed_garage, require
from parking.auth.models import Role
from parking.extensions import db
from parking.quotas import holidays, services
from parking.quotas.schemas import (
    HolidayPresetSchema,
    HolidayResultSchema,
    OverrideCreatedSchema,
    OverrideCreateSchema,
    OverrideDeletedSchema,
    OverrideQuerySchema,
    OverrideSchema,
    PolicyQuerySchema,
)

blp = Blueprint("quotas", __name__, url_prefix="/api/v1", description="Quota overrides and holiday presets")


@blp.route("/garages/<id:garage_id>/overrides")
class Overrides(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(OverrideQuerySchema(), location="query")
    @blp.response(200, OverrideSchema(many=True))
    @blp.alt_response(422, description="`invalid_range`")
    def get(self, args: dict[str, Any], garage_id: int) -> Any:
        """Quota overrides of a garage, optionally those touching [from, to]"""
        garage = managed_garage(current_actor(), garage_id)
        return services.list_overrides(garage, args.get("from_"), args.get("to"))

    @require(Role.MANAGER)
    @blp.arguments(OverrideCreateSchema())
    @blp.response(201, OverrideCreatedSchema)
    @blp.alt_response(409, description="`quota_below_booked` (`details.affected`), `cars_inside`")
    @blp.alt_response(
        422,
        description="`unknown_template`, `quota_above_capacity`, `invalid_range`, `range_in_past`, `quota_or_closed`",
    )
    def post(self, data: dict[str, Any], garage_id: int) -> Any:
        """Add a quota override (409 quota_below_booked unless policy is bump)"""
        actor = current_actor()
        override = services.create_override(managed_garage(actor, garage_id), data, actor, clock.now())
        db.session.commit()
        return override


@blp.route("/garages/<id:garage_id>/overrides/<id:override_id>")
class OverrideOne(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(PolicyQuerySchema(), location="query")
    @blp.response(200, OverrideDeletedSchema)
    @blp.alt_response(409, description="`quota_below_booked` (`details.affected`), `cars_inside`")
    def delete(self, args: dict[str, Any], garage_id: int, override_id: int) -> Any:
        """Remove an override; its windows follow the remaining rules (?policy=bump if that lowers)"""
        actor = current_actor()
        result = services.delete_override(
            managed_garage(actor, garage_id), override_id, args["policy"], actor, clock.now()
        )
        db.session.commit()
        return result


@blp.route("/garages/<id:garage_id>/overrides/holidays")
class HolidayPreset(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(HolidayPresetSchema())
    @blp.response(201, HolidayResultSchema)
    @blp.alt_response(422, description="`quota_above_capacity`, `holiday_year_unsupported`")
    def post(self, data: dict[str, Any], garage_id: int) -> Any:
        """Fill overrides for the official Chinese holidays and the Spring Festival rush of a year"""
        actor = current_actor()
        result = holidays.apply_preset(
            managed_garage(actor, garage_id), data["year"], data["quota"], data["policy"], actor, clock.now()
        )
        db.session.commit()
        return result
