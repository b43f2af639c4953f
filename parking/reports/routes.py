from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, managed_garage, require
from parking.auth.models import Role
from parking.fields import CSV_TOO
from parking.reports import services
from parking.reports.schemas import NightsQuerySchema, NightsReportSchema

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports")


@blp.route("/garages/<id:garage_id>/reports/nights")
class Nights(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(NightsQuerySchema(), location="query")
    @blp.response(200, NightsReportSchema)
    @blp.alt_response(422, description="`invalid_range`")
    @blp.doc(responses={"200": CSV_TOO})
    def get(self, args: dict[str, Any], garage_id: int) -> Any:
        """Per window: quota, booked, checked in, no-shows, overstays, cancellations, bumped, utilisation"""
        garage = managed_garage(current_actor(), garage_id)
        report = services.nights(garage, args.get("from_"), args.get("to"), clock.now())
        if args["format"] == "csv":
            filename = f"nights-{garage.id}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
            return Response(
                services.to_csv(report),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        return report
