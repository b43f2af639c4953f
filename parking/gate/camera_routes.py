from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Api, Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.extensions import db
from parking.gate import cameras
from parking.gate.camera_schemas import (
    BarrierAnswerSchema,
    CameraCreatedSchema,
    CameraCreateSchema,
    CameraRevokeSchema,
    CameraSchema,
    PlateEventConfirmSchema,
    PlateEventCreateSchema,
    PlateEventDismissSchema,
    PlateEventSchema,
)

blp = Blueprint("cameras", __name__, url_prefix="/api/v1", description="Plate-recognition cameras at the barrier")

CAMERA_SECURITY: list[dict[str, list[str]]] = [{"camera": []}]


def register_security_scheme(api: Api) -> None:
    api.spec.components.security_scheme(
        "camera",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Camera <camera_id>:<secret>`: the credential shown once when the camera was registered",
        },
    )


@blp.route("/garages/<id:garage_id>/cameras")
class GarageCameras(MethodView):
    @require()
    @blp.response(200, CameraSchema(many=True))
    def get(self, garage_id: int) -> Any:
        """The garage's cameras, without their credentials (managers of the garage)"""
        return cameras.list_cameras(current_actor(), garage_id)

    @require()
    @blp.arguments(CameraCreateSchema())
    @blp.response(201, CameraCreatedSchema)
    @blp.alt_response(409, description="`camera_name_taken`")
    def post(self, data: dict[str, Any], garage_id: int) -> Any:
        """Register a camera; the answer holds its credential, shown this once (managers of the garage)"""
        camera, credential = cameras.register(current_actor(), garage_id, data["name"], data["direction"], clock.now())
        db.session.commit()
        fields = ("id", "garage_id", "name", "direction", "active", "created_at", "revoked_at")
        return {**{name: getattr(camera, name) for name in fields}, "credential": credential}


@blp.route("/cameras/<id:camera_id>/revoke")
class CameraRevoke(MethodView):
    @require()
    @blp.arguments(CameraRevokeSchema())
    @blp.response(200, CameraSchema)
    @blp.alt_response(409, description="`camera_revoked`")
    def post(self, data: dict[str, Any], camera_id: int) -> Any:
        """Revoke a camera's credential: its next event is a 401 (managers of its garage)"""
        camera = cameras.revoke(current_actor(), camera_id, clock.now(), data["reason"])
        db.session.commit()
        return camera


@blp.route("/gate/plate-events")
class PlateEvents(MethodView):
    @blp.arguments(PlateEventCreateSchema())
    @blp.response(200, BarrierAnswerSchema)
    @blp.alt_response(401, description="`camera_unauthorized`: unknown or revoked camera credential")
    @blp.alt_response(403, description="`forbidden`: another camera's or another garage's event")
    @blp.doc(security=CAMERA_SECURITY)
    def post(self, data: dict[str, Any]) -> Any:
        """A camera's plate read at the barrier: `{open, result, reason, display}` (camera credential)

        Authenticated by `Authorization: Camera <camera_id>:<secret>` (401 when unknown or revoked; 403
        for another camera's or another garage's event). Stored once per (camera_id, event_id): a
        re-sent event gets the stored answer. At or above the garage's `camera_confidence_threshold`
        the read is judged as a plate scan at once; below it nothing is decided and the answer is
        `{open: false, result: "pending"}` until an attendant confirms or dismisses it."""
        camera = cameras.authenticate(request.headers.get("Authorization", ""))
        body = cameras.plate_event(camera, now=clock.now(), **data)
        db.session.commit()
        return body


@blp.route("/garages/<id:garage_id>/plate-events")
class GaragePendingPlateEvents(MethodView):
    @require()
    @blp.response(200, PlateEventSchema(many=True))
    def get(self, garage_id: int) -> Any:
        """Camera reads waiting for an attendant, oldest first (attendants and managers of the garage)"""
        return [cameras.event_view(e) for e in cameras.pending_events(current_actor(), garage_id)]


@blp.route("/plate-events/<id:event_id>/confirm")
class PlateEventConfirm(MethodView):
    @require()
    @blp.arguments(PlateEventConfirmSchema())
    @blp.response(200, BarrierAnswerSchema)
    @blp.alt_response(409, description="`event_not_pending`")
    @blp.alt_response(422, description="`invalid_plate`")
    def post(self, data: dict[str, Any], event_id: int) -> Any:
        """Confirm a pending camera read, optionally correcting the plate; it is then judged as a plate scan"""
        body = cameras.confirm(current_actor(), event_id, clock.now(), data["plate"])
        db.session.commit()
        return body


@blp.route("/plate-events/<id:event_id>/dismiss")
class PlateEventDismiss(MethodView):
    @require()
    @blp.arguments(PlateEventDismissSchema())
    @blp.response(200, BarrierAnswerSchema)
    @blp.alt_response(409, description="`event_not_pending`")
    def post(self, data: dict[str, Any], event_id: int) -> Any:
        """Dismiss a pending camera read: nothing is judged, the barrier stays shut"""
        body = cameras.dismiss(current_actor(), event_id, clock.now(), data["reason"])
        db.session.commit()
        return body
