from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, require
from parking.extensions import db
from parking.gate import images, offline_queue, services
from parking.gate.schemas import (
    OccupancySchema,
    OfflineAnswerSchema,
    OfflineUploadAnswerSchema,
    OfflineUploadSchema,
    ScanCreateSchema,
    ScanImageFileSchema,
    ScanImageFormSchema,
    ScanImageSchema,
    ScanSchema,
)

blp = Blueprint("gate", __name__, url_prefix="/api/v1", description="Gate scans and occupancy")

#: A scan's idempotency key sent again with another scan: refused, the first scan stands.
KEY_REUSED = "`idempotency_key_reused`: this idempotency_key came with another scan at this garage"


@blp.route("/gate/scan")
class GateScan(MethodView):
    @require()
    @blp.arguments(ScanCreateSchema())
    @blp.response(200, ScanSchema)
    @blp.alt_response(409, description=KEY_REUSED)
    def post(self, data: dict[str, Any]) -> Any:
        """Judge a scan at the barrier (by pass token or by plate); a rejection is a 200 answer"""
        garage_id = data.pop("garage_id")
        scan = services.scan(current_actor(), garage_id, now=clock.now(), **data)
        db.session.commit()
        return services.scan_view(scan)


@blp.route("/garages/<id:garage_id>/occupancy")
class GarageOccupancy(MethodView):
    @require()
    @blp.response(200, OccupancySchema)
    def get(self, garage_id: int) -> Any:
        """Cars inside now, and overstays"""
        return services.occupancy(current_actor(), garage_id, clock.now())


@blp.route("/gate/scans/offline")
class GateOfflineQueue(MethodView):
    @require()
    @blp.arguments(OfflineUploadSchema())
    @blp.response(200, OfflineUploadAnswerSchema)
    @blp.alt_response(422, description="`validation_error` with `errors.scans`: a scan's idempotency_key used twice")
    def post(self, data: dict[str, Any]) -> Any:
        """Upload the scans a gate device judged offline; each is recorded once and judged at its device time.

        Re-uploading a queue records nothing new and returns the stored answers. Each answer has the
        server's `result` and `reason` and, where they differ from what happened at the barrier, a
        `conflict` (`revoked_meanwhile`, `scanned_elsewhere`, `not_inside`, `result_mismatch`); conflicts
        are audited and notified to the garage's managers. A device time more than 5 minutes ahead of
        the server is answered `device_time_in_future`; one whose night is over (exit grace included),
        or older than 24 hours, `device_time_too_old`. Attendants and managers of the garage."""
        answers = offline_queue.upload(current_actor(), data["garage_id"], data["device"], data["scans"], clock.now())
        db.session.commit()
        return {"garage_id": data["garage_id"], "device": data["device"], "scans": answers}


@blp.route("/garages/<id:garage_id>/gate-conflicts")
class GateConflicts(MethodView):
    @require()
    @blp.response(200, OfflineAnswerSchema(many=True))
    def get(self, garage_id: int) -> Any:
        """Gate conflicts of the last 7 days, newest first (attendants and managers of the garage)"""
        return offline_queue.recent_conflicts(current_actor(), garage_id, clock.now())


@blp.route("/gate/scan-image")
class GateScanImage(MethodView):
    @images.limit_body(images.MAX_IMAGE_BYTES)
    @require()
    @blp.arguments(ScanImageFormSchema(), location="form")
    @blp.arguments(ScanImageFileSchema(), location="files")
    @blp.response(200, ScanSchema)
    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": ScanImageSchema}}})
    @blp.alt_response(409, description=KEY_REUSED)
    @blp.alt_response(413, description="the upload is larger than 8 MB")
    @blp.alt_response(422, description="`not_an_image`, `image_too_large`, or `no_code_found` (nothing is recorded)")
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> Any:
        """Judge a scan from a photo of the pass (multipart: garage_id, direction, idempotency_key, image)

        The QR code is read on the server (zxing-cpp) and the token found is judged as by `POST
        /gate/scan`. A picture without a readable QR code is a 422 `no_code_found` and records
        nothing, so the page can simply take another photo with the same idempotency key."""
        upload = files["image"]
        try:
            image = upload.read()
        finally:
            upload.close()  # werkzeug spools a large upload to a temporary file
        scan = services.scan_image(current_actor(), form.pop("garage_id"), image, now=clock.now(), **form)
        db.session.commit()
        return services.scan_view(scan)
