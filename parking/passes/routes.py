from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.extensions import db
from parking.passes import services
from parking.passes.schemas import JwksSchema, PassSchema, RevocationListSchema

blp = Blueprint("passes", __name__, url_prefix="/api/v1", description="Passes and offline verification material")

_IMAGE = {"type": "string", "format": "binary"}


def _image(body: bytes, mimetype: str) -> Any:
    response = make_response(body)
    response.mimetype = mimetype
    # The picture of a pass never changes, but it is the household's: no shared caches.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@blp.route("/bookings/<id:booking_id>/pass")
class BookingPass(MethodView):
    @require()
    @blp.response(200, PassSchema)
    @blp.alt_response(409, description="`no_space_held`: this booking holds no space, so it has no pass")
    def get(self, booking_id: int) -> Any:
        """The booking's signed pass token (members of the household; only while it holds a space)

        A night of a monthly pass answers with its month's pass: an `M1.` token, with
        `subscription_id` set and `booking_id` null. A night's own `P1.` pass issued for a monthly
        night before stays valid for its night; none is issued any more.
        """
        issued = services.issue(current_actor(), booking_id, clock.now())
        db.session.commit()
        return issued


@blp.route("/bookings/<id:booking_id>/pass.png")
class BookingPassPng(MethodView):
    @require()
    @blp.response(200, _IMAGE, content_type="image/png")
    @blp.alt_response(409, description="`no_space_held`: this booking holds no space, so it has no pass")
    def get(self, booking_id: int) -> Any:
        """The pass as a QR code (PNG)"""
        issued = services.issue(current_actor(), booking_id, clock.now())
        db.session.commit()
        return _image(services.render_png(issued.token), "image/png")


@blp.route("/bookings/<id:booking_id>/pass.svg")
class BookingPassSvg(MethodView):
    @require()
    @blp.response(200, _IMAGE, content_type="image/svg+xml")
    @blp.alt_response(409, description="`no_space_held`: this booking holds no space, so it has no pass")
    def get(self, booking_id: int) -> Any:
        """The pass as a QR code (SVG)"""
        issued = services.issue(current_actor(), booking_id, clock.now())
        db.session.commit()
        return _image(services.render_svg(issued.token), "image/svg+xml")


@blp.route("/subscriptions/<id:subscription_id>/pass")
class SubscriptionPass(MethodView):
    @require()
    @blp.response(200, PassSchema)
    def get(self, subscription_id: int) -> Any:
        """The one signed pass of the month (members of the household)"""
        issued = services.issue_month(current_actor(), subscription_id, clock.now())
        db.session.commit()
        return issued


@blp.route("/subscriptions/<id:subscription_id>/pass.png")
class SubscriptionPassPng(MethodView):
    @require()
    @blp.response(200, _IMAGE, content_type="image/png")
    def get(self, subscription_id: int) -> Any:
        """The month's pass as a QR code (PNG)"""
        issued = services.issue_month(current_actor(), subscription_id, clock.now())
        db.session.commit()
        return _image(services.render_png(issued.token), "image/png")


@blp.route("/subscriptions/<id:subscription_id>/pass.svg")
class SubscriptionPassSvg(MethodView):
    @require()
    @blp.response(200, _IMAGE, content_type="image/svg+xml")
    def get(self, subscription_id: int) -> Any:
        """The month's pass as a QR code (SVG)"""
        issued = services.issue_month(current_actor(), subscription_id, clock.now())
        db.session.commit()
        return _image(services.render_svg(issued.token), "image/svg+xml")


@blp.route("/bookings/<id:booking_id>/pass.html")
class BookingPassPage(MethodView):
    @require()
    @blp.response(200, {"type": "string"}, content_type="text/html")
    @blp.alt_response(409, description="`no_space_held`: this booking holds no space, so it has no pass")
    def get(self, booking_id: int) -> Any:
        """A printable pass page: plate, window and garage in large type, with the QR code"""
        context = services.pass_page(current_actor(), booking_id, clock.now())
        db.session.commit()
        return make_response(render_template("pass.html", **vars(context)))


@blp.route("/garages/<id:garage_id>/keys")
class GarageKeys(MethodView):
    @require()
    @blp.response(200, JwksSchema)
    def get(self, garage_id: int) -> Any:
        """The garage's public pass keys as a JWKS (OKP/Ed25519), for offline gate devices"""
        document = services.jwks(current_actor(), garage_id, clock.now())
        db.session.commit()
        return document


@blp.route("/garages/<id:garage_id>/revocations")
class GarageRevocations(MethodView):
    @require()
    @blp.response(200, RevocationListSchema)
    def get(self, garage_id: int) -> Any:
        """Bookings whose passes are still in date but no longer hold a space, for offline gates"""
        return services.revocations(current_actor(), garage_id, clock.now())
