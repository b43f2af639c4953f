"""The bookings API (`/api/v1/bookings`). It stands with the garages, a layer above the bookings
core, because a booking may name a night the listing showed computed (`template_id` and
`service_date`): the night is made first (`garages.services.night_of`), then booked."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.audit.services import history
from parking.auth.access import current_actor, require
from parking.bookings import nights, services
from parking.bookings.schemas import (
    BookingCancelSchema,
    BookingCreateSchema,
    BookingDetailSchema,
    BookingQuerySchema,
    BookingSchema,
    NightsCreateSchema,
    NightsSchema,
)
from parking.extensions import db
from parking.garages.services import night_of
from parking.idempotency.api import idempotent

blp = Blueprint("bookings", __name__, url_prefix="/api/v1/bookings", description="Bookings and the waitlist")


@blp.route("")
class Bookings(MethodView):
    @require()
    @blp.arguments(BookingQuerySchema(), location="query")
    @blp.response(200, BookingSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Own bookings; staff filter their garages' bookings by garage, window, status, plate"""
        return services.list_for(current_actor(), **args)

    @require()
    @idempotent(blp)
    @blp.arguments(BookingCreateSchema())
    @blp.response(201, BookingSchema)
    @blp.alt_response(403, description="`household_not_verified`, `suspended`, `wrong_garage`")
    @blp.alt_response(
        422,
        description="`booking_closed` (nothing taken, not even a waitlist entry; `details.cause`: `closed`, "
        "`no_quota` for a night cut to quota 0, or `booking_over`), `plate_not_verified`, `invalid_plate`, "
        "`beyond_horizon` (a full night is 409 `window_full`; a night already booked 409 `duplicate_booking`)",
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Book a space (confirmed), or join the waitlist when full and `waitlist` is true"""
        now = clock.now()
        window_id = data.get("window_id")
        if window_id is None:  # a night the listing showed computed: the booking makes it
            window_id = night_of(data["template_id"], data["service_date"], now)
        return services.request_booking(current_actor(), window_id, data["plate"], data["waitlist"], now)


@blp.route("/batch")
class BookingNights(MethodView):
    @require()
    @idempotent(blp)
    @blp.arguments(NightsCreateSchema())
    @blp.response(201, NightsSchema)
    @blp.alt_response(403, description="`household_not_verified`, `suspended`, `wrong_garage`")
    @blp.alt_response(
        409, description="`window_full`, `duplicate_booking`, `too_many_nights`, `idempotency_key_reused`"
    )
    @blp.alt_response(422, description="`invalid_plate`, `plate_not_verified`, `booking_closed`, `beyond_horizon`")
    def post(self, data: dict[str, Any]) -> Any:
        """Book several nights at once: each its own booking; all or nothing unless `accept_partial`"""
        return nights.request_nights(
            current_actor(), data["window_ids"], data["plate"], data["waitlist"], data["accept_partial"], clock.now()
        )


@blp.route("/<id:booking_id>")
class BookingOne(MethodView):
    @require()
    @blp.response(200, BookingDetailSchema)
    def get(self, booking_id: int) -> Any:
        """One booking with its status history"""
        booking = services.get_visible(current_actor(), booking_id)
        booking.history = history("booking", booking.id)  # type: ignore[attr-defined]  # for the schema
        return booking


@blp.route("/<id:booking_id>/cancel")
class BookingCancel(MethodView):
    @require()
    @blp.arguments(BookingCancelSchema())
    @blp.response(200, BookingSchema)
    @blp.alt_response(422, description="`not_cancellable`: this booking can no longer be cancelled")
    def post(self, data: dict[str, Any], booking_id: int) -> Any:
        """Cancel a booking; the waitlist moves in the same transaction"""
        booking = services.cancel(current_actor(), booking_id, clock.now(), data["reason"])
        db.session.commit()
        return booking
