from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth import services
from parking.auth.access import current_actor, require
from parking.auth.schemas import MeSchema, RegisterSchema, TokenRequestSchema, TokenSchema, UserSchema
from parking.extensions import db, limiter

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Users and sign-in")


def _auth_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


#: Shared with the web pages' forms: signing in on a page or by the API draws on one budget.
register_limit = limiter.shared_limit(_auth_limit, scope="auth-register", methods=["POST"])
token_limit = limiter.shared_limit(_auth_limit, scope="auth-token", methods=["POST"])


@blp.route("/auth/register")
class Register(MethodView):
    decorators = [register_limit]

    @blp.arguments(RegisterSchema())
    @blp.response(201, UserSchema)
    def post(self, data):
        """Register a resident with an 11-digit mainland mobile number"""
        user = services.register(data["phone"], data["password"], data["name"], clock.now())
        db.session.commit()
        return user


@blp.route("/auth/token")
class Token(MethodView):
    decorators = [token_limit]

    @blp.arguments(TokenRequestSchema())
    @blp.response(200, TokenSchema)
    def post(self, data):
        """Exchange phone and password for a bearer token"""
        token, ttl = services.authenticate(data["phone"], data["password"])
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


@blp.route("/me")
class Me(MethodView):
    @require()
    @blp.response(200, MeSchema)
    def get(self):
        """The signed-in user, roles and household"""
        return current_actor()
