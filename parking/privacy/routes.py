from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.privacy import export
from parking.privacy.schemas import ExportSchema

blp = Blueprint("privacy", __name__, url_prefix="/api/v1", description="Personal information: export and erasure")

_FILE_HEADERS = {
    "Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; the file's name"},
    "Cache-Control": {"schema": {"type": "string"}},
}


@blp.route("/me/export")
class MeExport(MethodView):
    @require()
    @blp.response(200, ExportSchema, headers=_FILE_HEADERS)
    def get(self) -> Any:
        """Everything stored about the caller, as a JSON file

        The account, the household and its vehicles, the household's bookings, monthly passes and
        statements, the scans and camera reads of its plates, the caller's notifications (with
        their text), sign-ins and lock-outs, and the audit events the caller acted in or that are
        about the account. Never a password hash, a pass nonce or any other secret."""
        user, now = current_actor(), clock.now()
        headers = {
            "Content-Disposition": f'attachment; filename="{export.file_name(user, now)}"',
            "Cache-Control": "no-store",
        }
        return export.everything(user, now), 200, headers
