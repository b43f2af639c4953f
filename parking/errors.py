"""The one place where exceptions become the JSON error shape of the API:

    {"code": 409, "status": "Conflict", "message": "...", "error": "window_full",
     "errors": {...}, "details": {...}}

Services raise `DomainError` subclasses; validation, routing, HTTP and database errors are mapped
here too, so that no client input reaches an HTML page or a 500.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, jsonify, render_template, request
from flask_babel import force_locale
from flask_wtf.csrf import CSRFError
from marshmallow import Schema
from marshmallow import fields as ma_fields
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from parking.catalogue import HTTP_REASONS, REASON_MESSAGES
from parking.extensions import db, login_manager
from parking.i18n import LANG_COOKIE, select_locale
from parking.i18n import lazy_gettext as _l

log = logging.getLogger(__name__)


#: The field each of those reasons is about, where it is about one (`DomainError.field`).
REASON_FIELDS: dict[str, str] = {
    "phone_taken": "phone",
    "bad_credentials": "password",
    "household_exists": "room",
    "already_in_household": "phone",
    "already_member": "phone",
    "user_not_found": "phone",
    "not_a_resident": "phone",
    "duplicate_vehicle": "plate",
    "invalid_range": "end_date",
    "unknown_template": "template_id",
    "quota_above_capacity": "quota",
    "range_in_past": "start_date",
    "quota_or_closed": "quota",
    "bad_reset_code": "code",
}


class DomainError(Exception):
    """A rule said no. `reason` is the machine reason; `message` is translated when rendered;
    `field`, when the refusal is about one thing a person typed or chose, names it (the API's
    field name, which the page's form shares), so that a page says it beside that field."""

    code = 400
    reason = "bad_request"
    message: Any = _l("The request cannot be carried out.")
    field: str | None = None

    def __init__(
        self,
        message: Any = None,
        *,
        reason: str | None = None,
        details: dict | None = None,
        errors: dict | None = None,
        code: int | None = None,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(str(reason or self.reason))
        if reason is not None:
            self.reason = reason
        if message is not None:
            self.message = message
        elif reason in REASON_MESSAGES:
            self.message = REASON_MESSAGES[reason]
        named = field or REASON_FIELDS.get(reason or "")
        if named is not None:
            self.field = named
        if code is not None:
            self.code = code
        self.details = details
        self.errors = errors
        self.headers = headers  # e.g. Retry-After on a refusal that ends at a known time


class BadRequest(DomainError):
    code, reason = 400, "bad_request"


class Unauthorized(DomainError):
    code, reason, message = 401, "unauthorized", _l("Please sign in.")


class Forbidden(DomainError):
    code, reason, message = 403, "forbidden", _l("You are not allowed to do this.")


class NotFound(DomainError):
    code, reason, message = 404, "not_found", _l("Not found.")


class Conflict(DomainError):
    code, reason, message = 409, "conflict", _l("This conflicts with the current state.")


class Unprocessable(DomainError):
    code, reason, message = 422, "unprocessable", _l("The request is well formed but cannot be carried out.")


class WindowFull(Conflict):
    reason, message = "window_full", _l("This night is fully booked.")


class DuplicateBooking(Conflict):
    reason, message = "duplicate_booking", _l("Your household or this plate already has a booking for this night.")


class NotYourGarage(Forbidden):
    reason, message = "not_your_garage", _l("You do not manage this garage.")


class HouseholdNotVerified(Forbidden):
    reason, message = "household_not_verified", _l("Your household has not been verified yet.")


class Suspended(Forbidden):
    reason, message = "suspended", _l("Booking is suspended for your household.")


class BookingClosed(Unprocessable):
    reason, message = "booking_closed", _l("Booking for this night is closed.")


class PlateNotVerified(Unprocessable):
    reason, message = "plate_not_verified", _l("This plate is not a verified vehicle of your household.")
    field = "plate"  # the form field a page puts the message beside


class InvalidPlate(Unprocessable):
    reason, message = "invalid_plate", _l("This is not a valid Chinese licence plate.")
    field = "plate"  # the form field a page puts the message beside


class WrongPassword(Forbidden):
    reason, message = "wrong_password", _l("The current password is not right.")
    field = "current_password"  # the form field a page puts the message beside


class PlateHeldElsewhere(Conflict):
    reason, message = (
        "plate_held_elsewhere",
        _l("This plate is verified for another household of this garage; release it there first."),
    )


class QuotaBelowBooked(Conflict):
    reason, message = (
        "quota_below_booked",
        _l("The new quota is below the bookings already held; name the bump policy to proceed."),
    )
    field = "quota"  # the form field a page puts the message beside


def integrity_conflict(exc: IntegrityError) -> DomainError:
    """The invariant a database constraint guarded, as the conflict a client can act on."""
    text = str(exc.orig).lower()
    if "booked_within_quota" in text:
        return WindowFull()
    if "uq_bookings" in text or "unique constraint failed: bookings." in text:
        return DuplicateBooking()
    if "uq_vehicles_garage_plate_verified" in text or "failed: vehicles.garage_id, vehicles.plate" in text:
        return PlateHeldElsewhere()
    return Conflict()


class ErrorSchema(Schema):
    """The error shape as the API document states it (`error_body` makes it)."""

    code = ma_fields.Integer(required=True, metadata={"description": "the HTTP status"})
    status = ma_fields.String(required=True, metadata={"description": "the HTTP status phrase"})
    message = ma_fields.String(required=True, metadata={"description": "for a person, in the caller's language"})
    error = ma_fields.String(
        required=True,
        metadata={"description": "the machine reason, e.g. `not_found`, `validation_error`, `window_full`"},
    )
    errors = ma_fields.Dict(
        keys=ma_fields.String(),
        metadata={"description": "validation only: what is wrong with each field, by field name"},
    )
    details = ma_fields.Dict(
        keys=ma_fields.String(), metadata={"description": "figures of the refusal, where it has any"}
    )


def error_body(
    code: int, reason: str, message: Any, errors: dict | None = None, details: dict | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "message": str(message),
        "error": reason,
    }
    if errors:
        body["errors"] = errors
    if details:
        body["details"] = details
    return body


def wants_page() -> bool:
    """A person's browser on a page (not the API, not a page script asking for JSON) gets an HTML
    error page in the layout; everything else gets the JSON shape."""
    if not has_request_context() or request.path == "/api" or request.path.startswith("/api/"):
        return False
    if request.is_json:
        return False
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) != "application/json"


def _page(code: int, reason: str, message: Any) -> Any:
    try:
        return render_template("error.html", code=code, reason=reason, message=str(message))
    except Exception:  # the database itself may be what failed: a plain page still answers
        log.warning("error page could not be rendered; plain text instead", exc_info=True)
        return str(message)


#: The database cannot be reached: down, failing over, restarting, a connection cut, a pool
#: exhausted. Each is a 503 with Retry-After, rendered without another query.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PendingRollbackError,
    PoolTimeout,
)


def reader_language() -> str:
    """The caller's language without asking the database: `?lang=`, the bearer user's choice when
    it was loaded before the fault, the page's remembered switch, then Accept-Language."""

    def remembered() -> str | None:
        chosen = request.cookies.get(LANG_COOKIE)
        return chosen if chosen in current_app.config["LANGUAGES"] else None

    return select_locale(remembered)


def unavailable_response() -> Response:
    """503 with Retry-After: JSON under /api, elsewhere a page in the reader's language. Nothing
    here touches the database (not even the signed-in user), since the database is what failed."""
    try:
        db.session.rollback()
    except Exception:  # a connection that died may fail to roll back; the pool discards it anyway
        log.debug("rollback after a database fault failed", exc_info=True)
    if has_request_context() and "_login_user" not in g:
        # Anything that asks for the signed-in user from here on sees nobody, and queries nothing.
        g._login_user = login_manager.anonymous_user()
    code, reason = 503, "service_unavailable"
    language = reader_language()
    with force_locale(language):
        message = str(_l("The service is unavailable for a moment. Please try again in a minute."))
        if wants_page():
            template = current_app.jinja_env.get_template("error_unavailable.html")
            page = template.render(message=message, lang=language, retry_url=_retry_url())
            response = current_app.make_response((page, code))
        else:
            response = jsonify(error_body(code, reason, message))
            response.status_code = code
    response.headers["Retry-After"] = str(current_app.config["UNAVAILABLE_RETRY_AFTER_SECONDS"])
    return response


def _retry_url() -> str:
    """Where "try again" leads: the same page for a GET; a form is not sent again behind the
    reader's back, so after a POST back to the start."""
    if has_request_context() and request.method == "GET":
        return request.full_path.rstrip("?")
    return "/"


def _response(
    code: int, reason: str, message: Any, errors: dict | None = None, details: dict | None = None, headers: Any = None
) -> Any:
    try:
        return _error_response(code, reason, message, errors, details, headers)
    except DATABASE_UNAVAILABLE:  # e.g. a page's language or layout needed the signed-in user
        log.warning("the database failed while a %s was answered; 503 instead", code)
        return unavailable_response()


def _error_response(
    code: int, reason: str, message: Any, errors: dict | None, details: dict | None, headers: Any
) -> Any:
    body = error_body(code, reason, message, errors, details)  # before the rollback expires the caller
    db.session.rollback()  # bad input changes nothing
    if wants_page():
        response = current_app.make_response((_page(code, reason, message), code))
    else:
        response = jsonify(body)
        response.status_code = code
    if headers:
        for key, value in headers:
            if key.lower() not in {"content-type", "content-length"}:
                response.headers[key] = value
    return response


def _flatten_validation(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {...}, "query": {...}}); clients want fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain(exc: DomainError) -> Any:
        headers = exc.headers.items() if exc.headers else None
        return _response(exc.code, exc.reason, exc.message, exc.errors, exc.details, headers)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException) -> Any:
        code = exc.code or 500
        reason, message = HTTP_REASONS.get(code, ("http_error", exc.description or ""))
        errors = None
        data = getattr(exc, "data", None) or {}
        if code == 422 and "messages" in data:
            errors = _flatten_validation(data["messages"])
        elif code == 400 and "messages" in data:
            reason, message = "malformed_request", _l("The request body is not valid JSON.")
            errors = _flatten_validation(data["messages"])
        if isinstance(exc, CSRFError):
            reason, message = "csrf", _l("This form has expired or was not sent from this site.")
        headers = data.get("headers") or (exc.get_response().headers.items() if code in (405, 429) else None)
        details = None
        if code == 413 and has_request_context() and request.max_content_length:
            details = {"max_bytes": request.max_content_length}  # the limit of this endpoint
        return _response(code, reason, message, errors, details, headers)

    @app.errorhandler(IntegrityError)
    def handle_integrity(exc: IntegrityError) -> Any:
        # The database is the last guard of invariants 1 and 2: a constraint that fires is a
        # conflict with state another request created, never a server error.
        log.info("integrity error mapped to 409: %s", exc.orig.__class__.__name__)
        conflict = integrity_conflict(exc)
        return _response(conflict.code, conflict.reason, conflict.message)

    @app.errorhandler(DataError)
    def handle_data(exc: DataError) -> Any:
        log.info("data error mapped to 400: %s", exc.orig.__class__.__name__)
        return _response(400, "invalid_value", _l("A value is out of range or malformed."))

    def handle_unavailable(exc: Exception) -> Any:
        origin = getattr(exc, "orig", None) or exc
        first_line = (str(origin).strip().splitlines() or [""])[0]
        log.error(
            "database unavailable on %s %s: %s: %s", request.method, request.path, type(origin).__name__, first_line
        )
        return unavailable_response()

    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, handle_unavailable)

    @app.errorhandler(DBAPIError)
    def handle_dbapi(exc: DBAPIError) -> Any:
        # Any other driver error on a connection that the fault invalidated is the outage too.
        if exc.connection_invalidated:
            return handle_unavailable(exc)
        return handle_unexpected(exc)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _response(500, "internal_error", _l("Something went wrong on our side."))
