from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking.bookings import ballot
from parking.bookings.schemas import DrawSchema

blp = Blueprint("ballot", __name__, url_prefix="/api/v1/windows", description="The ballot draw of a night")


@blp.route("/<id:window_id>/draw")
class Draw(MethodView):
    @blp.response(200, DrawSchema)
    @blp.alt_response(404, description="`not_a_ballot`: this night has no draw")
    def get(self, window_id: int) -> Any:
        """The draw of a ballot night: its commitment, and after the draw the seed, quota and entries"""
        return ballot.published(window_id)
