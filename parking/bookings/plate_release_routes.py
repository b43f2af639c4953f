from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.bookings.plate_release import release_plate
from parking.extensions import db
from parking.households.schemas import ReleasedSchema, ReleaseSchema

# Releasing a plate cancels its bookings, so its route sits with the bookings, at the household's path.
blp = Blueprint("plate_release", __name__, url_prefix="/api/v1", description="Releasing a plate from its household")


@blp.route("/vehicles/<id:vehicle_id>/release")
class VehicleRelease(MethodView):
    @require()
    @blp.arguments(ReleaseSchema())
    @blp.response(200, ReleasedSchema)
    @blp.alt_response(409, description="`plate_not_held`: the vehicle is not verified, so there is nothing to release")
    def post(self, data: dict[str, Any], vehicle_id: int) -> Any:
        """Release a verified plate from its household (manager of its garage)

        A car sold to a neighbour: the plate's bookings there whose night has not ended are
        cancelled (the waitlist moves), the household is told, and the plate can then be verified
        for another household. Audited as `vehicle.released` with the reason.
        """
        released = release_plate(current_actor(), vehicle_id, data["reason"], clock.now())
        db.session.commit()
        return released
