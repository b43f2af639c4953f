"""Ending sign-ins through the API: this one token, or every token and browser of the caller."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth import sign_ins, tokens
from parking.auth.access import current_actor, current_token, require
from parking.auth.schemas import PasswordChangeSchema, TokenSchema
from parking.extensions import db, limiter

blp = Blueprint("sign_ins", __name__, url_prefix="/api/v1", description="Users and sign-in")


def _password_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


#: Guessing the current password with a stolen session or token draws on the same kind of budget as
#: signing in; the /account form shares it.
password_limit = limiter.shared_limit(_password_limit, scope="auth-password", methods=["POST"])


@blp.route("/auth/logout")
class Logout(MethodView):
    @require()
    @blp.response(204)
    def post(self) -> None:
        """End the bearer token this request carries (the caller's other tokens and browsers stay signed in)"""
        sign_ins.end_token(current_token(), clock.now())
        db.session.commit()


@blp.route("/me/sign-out-everywhere")
class SignOutEverywhere(MethodView):
    @require()
    @blp.response(204)
    def post(self) -> None:
        """End every bearer token and every browser sign-in of the caller, this token included"""
        sign_ins.sign_out_everywhere(current_actor(), clock.now())
        db.session.commit()


@blp.route("/me/password")
class Password(MethodView):
    decorators = [password_limit]

    @require()
    @blp.arguments(PasswordChangeSchema())
    @blp.response(200, TokenSchema)
    @blp.alt_response(403, description="`wrong_password`: the current password is not right")
    def post(self, data: dict[str, Any]) -> Any:
        """Change the password (needs the current one). Every token and browser sign-in of the caller
        ends; the answer is a new bearer token for this client."""
        user = current_actor()
        sign_ins.change_password(user, data["current_password"], data["password"], clock.now())
        db.session.commit()
        token, ttl = tokens.issue(user)
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
