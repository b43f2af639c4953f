from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, managed_garage, require
from parking.auth.models import Role
from parking.errors import NotFound
from parking.extensions import db
from parking.fields import CSV_TOO
from parking.idempotency.api import idempotent
from parking.monthly import months, offers, sale, statements, subscriptions
from parking.monthly.schemas import (
    HandBackSchema,
    MonthNightSchema,
    MonthQuerySchema,
    OfferSchema,
    OfferSetSchema,
    PaidSchema,
    RenewSchema,
    StatementQuerySchema,
    StatementSchema,
    SubscriptionCreateSchema,
    SubscriptionSchema,
)
from parking.windows.services import get_garage

blp = Blueprint("monthly", __name__, url_prefix="/api/v1", description="Monthly passes (包月)")


@blp.route("/garages/<id:garage_id>/templates/<id:template_id>/monthly")
class MonthlyOfferOne(MethodView):
    @require(Role.MANAGER)
    @blp.response(200, OfferSchema)
    def get(self, garage_id: int, template_id: int) -> Any:
        """The window's monthly offer: fee, monthly share, sale start (managers)"""
        garage = managed_garage(current_actor(), garage_id)
        offer = offers.offer_of(template_id)
        if offer is None or offer.garage_id != garage.id:
            raise NotFound()
        return offers.with_sales(offer, garage, clock.now())

    @require(Role.MANAGER)
    @blp.arguments(OfferSetSchema())
    @blp.response(200, OfferSchema)
    @blp.alt_response(422, description="`monthly_not_offered`, `monthly_not_for_ballot`")
    def put(self, data: dict[str, Any], garage_id: int, template_id: int) -> Any:
        """Set the window's monthly offer (created on first use; audited). Not for ballot windows"""
        actor, now = current_actor(), clock.now()
        garage = managed_garage(actor, garage_id)
        offer = offers.set_offer(actor, garage, template_id, data, now)
        db.session.commit()
        return offers.with_sales(offer, garage, now)


@blp.route("/garages/<id:garage_id>/monthly-offers")
class MonthlyOffers(MethodView):
    @require()
    @blp.response(200, OfferSchema(many=True))
    def get(self, garage_id: int) -> Any:
        """The garage's monthly passes on offer, with this month's and next month's sale times"""
        garage, now = get_garage(garage_id), clock.now()
        return [offers.with_sales(o, garage, now) for o in offers.offers_of(garage, active_only=True)]


@blp.route("/garages/<id:garage_id>/subscriptions")
class GarageSubscriptions(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(MonthQuerySchema(), location="query")
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self, args: dict[str, Any], garage_id: int) -> Any:
        """The month's monthly holders of the garage, with their nights (managers)"""
        garage = managed_garage(current_actor(), garage_id)
        month = months.month_or_current(args.get("month"), garage, clock.now())
        return [subscriptions.with_nights(s) for s in subscriptions.holders(garage, month)]


@blp.route("/garages/<id:garage_id>/statements")
class GarageStatements(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(StatementQuerySchema(), location="query")
    @blp.response(200, StatementSchema(many=True))
    @blp.doc(responses={"200": CSV_TOO})
    def get(self, args: dict[str, Any], garage_id: int) -> Any:
        """The month's statements per household: fee, credits, total, paid or not; `format=csv` for CSV"""
        garage = managed_garage(current_actor(), garage_id)
        month = months.month_or_current(args.get("month"), garage, clock.now())
        if args["format"] == "csv":
            filename = f"statements-{garage.id}-{months.month_text(month)}.csv"
            return Response(
                "\ufeff" + statements.statements_csv(garage, month),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        return statements.statements(garage, month)


@blp.route("/garages/<id:garage_id>/statements/<id:statement_id>/paid")
class StatementPaid(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(PaidSchema())
    @blp.response(200, StatementSchema)
    @blp.alt_response(409, description="`already_paid`, `receipt_used`")
    def post(self, data: dict[str, Any], garage_id: int, statement_id: int) -> Any:
        """Mark a statement paid at the office, with its receipt number (audited; no payment gateway)"""
        actor = current_actor()
        garage = managed_garage(actor, garage_id)
        statement = statements.mark_paid(actor, garage, statement_id, data["receipt_number"], clock.now())
        db.session.commit()
        return statement


@blp.route("/subscriptions")
class Subscriptions(MethodView):
    @require()
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self) -> Any:
        """The monthly passes of the caller's household, newest month first"""
        return [subscriptions.with_nights(s) for s in subscriptions.list_own(current_actor())]

    @require()
    @idempotent(blp)
    @blp.arguments(SubscriptionCreateSchema())
    @blp.response(201, SubscriptionSchema)
    @blp.alt_response(403, description="`household_not_verified`, `wrong_garage`")
    @blp.alt_response(
        409,
        description=(
            "`renewal_only`, `unpaid_statement`, `already_subscribed`, `monthly_pass_limit`, "
            "`month_refused` (`details.nights`), `monthly_share_full`, `idempotency_key_reused`"
        ),
    )
    @blp.alt_response(
        422,
        description=(
            "`invalid_plate`, `plate_not_verified`, `monthly_not_offered`, `sale_not_open`, "
            "`month_over`, `no_night_left`"
        ),
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Subscribe a verified plate for a month: every night booked in one go; 409 `month_refused`
        with `details.nights` when some cannot be, unless `accept_partial`"""
        subscription = sale.subscribe(
            current_actor(),
            data["template_id"],
            months.parse_month(data["month"]),
            data["plate"],
            data["accept_partial"],
            clock.now(),
        )
        return subscriptions.with_nights(subscription)


@blp.route("/subscriptions/<id:subscription_id>")
class SubscriptionOne(MethodView):
    @require()
    @blp.response(200, SubscriptionSchema)
    def get(self, subscription_id: int) -> Any:
        """One monthly pass with its nights (members of the household, managers)"""
        return subscriptions.with_nights(subscriptions.visible_subscription(current_actor(), subscription_id))


@blp.route("/subscriptions/<id:subscription_id>/renew")
class SubscriptionRenew(MethodView):
    @require()
    @blp.arguments(RenewSchema())
    @blp.response(201, SubscriptionSchema)
    @blp.alt_response(403, description="`household_not_verified`")
    @blp.alt_response(
        409,
        description=(
            "`unpaid_statement`, `already_subscribed`, `monthly_pass_limit`, `month_refused`, `monthly_share_full`"
        ),
    )
    @blp.alt_response(422, description="`sale_not_open`, `month_over`, `no_night_left`, `monthly_not_offered`")
    def post(self, data: dict[str, Any], subscription_id: int) -> Any:
        """Renew for the next month: holders first, in the last 7 days of the month; unpaid statements block it"""
        subscription = sale.renew(current_actor(), subscription_id, data["accept_partial"], clock.now())
        db.session.commit()
        return subscriptions.with_nights(subscription)


@blp.route("/subscriptions/<id:subscription_id>/hand-back")
class SubscriptionHandBack(MethodView):
    @require()
    @blp.arguments(HandBackSchema())
    @blp.response(200, MonthNightSchema)
    @blp.alt_response(404, description="`no_such_night`: this night is not part of the monthly pass")
    @blp.alt_response(422, description="`not_cancellable`")
    def post(self, data: dict[str, Any], subscription_id: int) -> Any:
        """Hand one night back: its space returns and the waitlist moves; no strike"""
        booking = subscriptions.hand_back(current_actor(), subscription_id, data["service_date"], clock.now())
        db.session.commit()
        return booking


@blp.route("/statements")
class OwnStatements(MethodView):
    @require()
    @blp.response(200, StatementSchema(many=True))
    def get(self) -> Any:
        """The monthly statements of the caller's household, newest first"""
        return statements.own_statements(current_actor())
