from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.extensions import db
from parking.gate import services
from parking.gate.schemas import OccupancySchema, ScanCreateSchema, ScanSchema

blp = Blueprint("gate", __name__, url_prefix="/api/v1", description="Gate scans and occupancy")


@blp.route("/gate/scan")
class GateScan(MethodView):
    @require()
    @blp.arguments(ScanCreateSchema())
    @blp.response(200, ScanSchema)
    def post(self, data):
        """Judge a scan at the barrier (by pass token or by plate); a rejection is a 200 answer"""
        garage_id = data.pop("garage_id")
        scan = services.scan(current_actor(), garage_id, now=clock.now(), **data)
        db.session.commit()
        return services.scan_view(scan)


@blp.route("/garages/<id:garage_id>/occupancy")
class GarageOccupancy(MethodView):
    @require()
    @blp.response(200, OccupancySchema)
    def get(self, garage_id: int):
        """Cars inside now, and overstays"""
        return services.occupancy(current_actor(), garage_id, clock.now())
