from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.garages import services
from parking.garages.schemas import GarageSchema, WindowQuerySchema, WindowSchema

blp = Blueprint("garages", __name__, url_prefix="/api/v1/garages", description="Garages and windows")


@blp.route("")
class Garages(MethodView):
    @blp.response(200, GarageSchema(many=True))
    def get(self) -> Any:
        """List garages and their rules"""
        return services.list_garages()


@blp.route("/<id:garage_id>")
class GarageOne(MethodView):
    @blp.response(200, GarageSchema)
    def get(self, garage_id: int) -> Any:
        """One garage and its rules"""
        return services.get_garage(garage_id)


@blp.route("/<id:garage_id>/windows")
class Windows(MethodView):
    @blp.arguments(WindowQuerySchema(), location="query")
    @blp.response(200, WindowSchema(many=True))
    @blp.alt_response(422, description="`invalid_range`: `to` before `from`, or too many days after it")
    def get(self, args: dict[str, Any], garage_id: int) -> Any:
        """Windows of a garage between two service dates; a night not made yet has no `id`"""
        now = clock.now()
        garage = services.get_garage(garage_id)
        windows = services.list_windows(garage, args.get("from_"), args.get("to"), now)
        return [services.window_view(window, now) for window in windows]
