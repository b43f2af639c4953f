from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.auth.models import Role
from parking.auth.sign_in_routes import password_limit
from parking.extensions import db
from parking.privacy import erasure, export
from parking.privacy.schemas import ErasedSchema, ErasureSchema, ExportSchema

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


@blp.route("/me/erasure")
class MeErasure(MethodView):
    decorators = [password_limit]

    @require()
    @blp.arguments(ErasureSchema)
    @blp.response(200, ErasedSchema)
    @blp.alt_response(403, schema="Error", description="`wrong_password`")
    def post(self, data: dict[str, Any]) -> Any:
        """Erase the caller's own account, given its password

        Coming bookings are cancelled (each night's waitlist moves) and coming monthly nights
        handed back (where the household keeps other members: those the person made or bought);
        the phone becomes a placeholder, the name is cleared, the password stops matching and every
        session and token ends; the household stays while it has other members (left empty, its
        plates are released); the audit trail keeps `user:<id>` and the action."""
        erased = erasure.erase_own(current_actor(), data["current_password"], clock.now())
        db.session.commit()
        return erased


@blp.route("/users/<id:user_id>/erasure")
class UserErasure(MethodView):
    @require(Role.ADMIN)
    @blp.response(200, ErasedSchema)
    @blp.alt_response(404, schema="Error", description="`user_not_found`")
    def post(self, user_id: int) -> Any:
        """Erase someone's account (an admin)

        Coming bookings are cancelled (each night's waitlist moves) and coming monthly nights
        handed back (where the household keeps other members: those the person made or bought);
        the phone becomes a placeholder, the name is cleared, the password stops matching and every
        session and token ends; the household stays while it has other members (left empty, its
        plates are released); the audit trail keeps `user:<id>` and the action."""
        erased = erasure.erase_by_admin(current_actor(), user_id, clock.now())
        db.session.commit()
        return erased
