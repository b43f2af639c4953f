from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth import lockout, reset_codes, services
from parking.auth.access import current_actor, require
from parking.auth.models import Role
from parking.auth.schemas import (
    LockoutSchema,
    RegisterSchema,
    ResetCodeSchema,
    ResetRequestSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from parking.errors import DomainError, NotFound
from parking.extensions import db, limiter

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Users and sign-in")


def _auth_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


def _login_failures_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_FAILURES"]


def _refused(response: Response) -> bool:
    """A wrong password or code (401), or an attempt on a locked-out phone (403)."""
    return response.status_code in (401, 403)


#: Shared with the web pages' forms: signing in on a page or by the API draws on one budget.
register_limit = limiter.shared_limit(_auth_limit, scope="auth-register", methods=["POST"])
#: Per client address, sign-in and password reset, page and API: only refusals count (many
#: residents share a carrier's address, and their successful sign-ins must not lock each other out).
token_limit = limiter.shared_limit(_login_failures_limit, scope="auth-token", methods=["POST"], deduct_when=_refused)


@blp.route("/auth/register")
class Register(MethodView):
    decorators = [register_limit]

    @blp.arguments(RegisterSchema())
    @blp.response(201, UserSchema)
    @blp.alt_response(409, description="`phone_taken`: this phone number is already registered")
    def post(self, data: dict[str, Any]) -> Any:
        """Register a resident with an 11-digit mainland mobile number"""
        user = services.register(data["phone"], data["password"], data["name"], clock.now())
        db.session.commit()
        return user


@blp.route("/auth/token")
class Token(MethodView):
    decorators = [token_limit]

    @blp.arguments(TokenRequestSchema())
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="`bad_credentials`: wrong phone number or password")
    @blp.alt_response(403, description="`login_locked`: too many failures; `details.locked_until`, `Retry-After`")
    def post(self, data: dict[str, Any]) -> Any:
        """Exchange phone and password for a bearer token

        403 `login_locked` (with `details.locked_until` and `Retry-After`) after 5 failures for one
        phone within 15 minutes: 15 minutes, doubling for each further lock-out, up to 24 hours."""
        try:
            token, ttl = services.authenticate(data["phone"], data["password"], clock.now())
        except DomainError:
            db.session.commit()  # the failure's count, audit and any lock-out stand
            raise
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


@blp.route("/auth/reset")
class Reset(MethodView):
    decorators = [token_limit]

    @blp.arguments(ResetRequestSchema())
    @blp.response(204)
    @blp.alt_response(401, description="`bad_reset_code`: wrong phone number or code, or the code has expired")
    @blp.alt_response(403, description="`login_locked`: too many failures; `details.locked_until`, `Retry-After`")
    def post(self, data: dict[str, Any]) -> None:
        """Set a new password with a reset code from the garage manager

        Ends every session and bearer token of the person. A wrong or expired code is 401
        `bad_reset_code` and counts as a failed sign-in for the phone."""
        try:
            reset_codes.reset_password(data["phone"], data["code"], data["password"], clock.now())
        except DomainError:
            db.session.commit()
            raise
        db.session.commit()


@blp.route("/users/<id:user_id>/reset-code")
class UserResetCode(MethodView):
    @require(Role.MANAGER)
    @blp.response(201, ResetCodeSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
    def post(self, user_id: int) -> Any:
        """Issue a one-time 8-digit reset code (shown this once, valid 24 hours)

        For a manager, a member of a household of their garage; for an admin, anybody. Older unused
        codes stop working, and a lock-out of the person is lifted."""
        issued = reset_codes.issue(current_actor(), user_id, clock.now())
        db.session.commit()
        return issued, 201, {"Cache-Control": "no-store"}


@blp.route("/users/<id:user_id>/lockout")
class UserLockout(MethodView):
    @require(Role.MANAGER)
    @blp.response(200, LockoutSchema)
    @blp.alt_response(404, description="`not_locked_out`: password sign-in is not paused for this person")
    def get(self, user_id: int) -> Any:
        """The person's current lock-out of password sign-in; 404 `not_locked_out` when none"""
        person = lockout.person_for(current_actor(), user_id)
        current = lockout.active_lockout(person.id, clock.now())
        if current is None:
            raise NotFound(reason="not_locked_out")
        return current

    @require(Role.MANAGER)
    @blp.response(200, LockoutSchema)
    @blp.alt_response(404, description="`not_locked_out`: password sign-in is not paused for this person")
    def delete(self, user_id: int) -> Any:
        """Lift the person's lock-out (an admin anybody's; a manager their garage's residents and attendants)"""
        lifted = lockout.lift(current_actor(), user_id, clock.now())
        db.session.commit()
        return lifted
