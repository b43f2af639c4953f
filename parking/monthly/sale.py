"""Selling a month (包月): subscribing and renewing. Every function flushes; the caller commits.

A subscription books every night of its template in one calendar month, in ONE transaction, each
night under the window's lock (taken in window id order, the order of every writer): the quota
(invariant 1, the counter's CHECK), one booking per plate and the household limit (invariant 2,
the unique partial indexes), and the monthly share — the space-holding nights of subscriptions on
a window are counted under that same lock, so that a subscription and a single-night booking
racing for the last spaces are serialised there. A night that cannot be booked refuses the whole
month (409 with `details.nights`) unless the request accepts a partial month.

Sale: month M is on sale to everyone from local midnight of its first day (and not before the
offer's `sale_starts_on`); in the last 7 days of M-1 only the holders of M-1 may subscribe to M
(renewal). Any unpaid statement of an earlier month blocks subscribing and renewing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from parking.audit.services import record
from parking.auth.models import User
from parking.bookings import admission
from parking.bookings.admission import Car, member_ids, new_booking
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.catalogue import MONTHLY_NIGHT_REASONS
from parking.errors import (
    BookingClosed,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unprocessable,
)
from parking.extensions import db
from parking.garages.services import insert_windows, window_rows
from parking.households.models import Household
from parking.i18n import lazy_gettext as _l
from parking.monthly.models import MonthlyOffer, MonthlyStatement, Subscription
from parking.monthly.months import SaleTimes, month_days, month_of, month_text, next_month, previous_month, sale_times
from parking.monthly.offers import MonthlyNotForBallot, MonthlyNotOffered, offer_of, share_cap
from parking.monthly.statements import amounts
from parking.monthly.subscriptions import own_subscription
from parking.notifications.services import notify
from parking.quotas.resolve import overrides_between
from parking.windows.models import Garage, TemplateMode, Window, WindowState, WindowTemplate
from parking.windows.services import today

CONFIRMED, REFUSED, PAST, CLOSED = "confirmed", "refused", "past", "closed"


class SaleNotOpen(Unprocessable):
    reason, message = "sale_not_open", _l("Monthly passes for this month are not on sale yet.")
    field = "month"  # the form field a page puts the message beside


class MonthOver(Unprocessable):
    reason, message = "month_over", _l("This month is over.")
    field = "month"  # the form field a page puts the message beside


class RenewalOnly(Conflict):
    reason, message = (
        "renewal_only",
        _l("Until the month begins, only this month's holders may renew for next month."),
    )
    field = "month"  # the form field a page puts the message beside


class UnpaidStatement(Conflict):
    reason, message = (
        "unpaid_statement",
        _l("An earlier monthly statement is not paid yet; please pay it at the garage office first."),
    )
    field = "month"  # the form field a page puts the message beside


class AlreadySubscribed(Conflict):
    reason, message = "already_subscribed", _l("Your household or this car already has a monthly pass for this month.")
    field = "plate"  # the form field a page puts the message beside


class MonthlyPassLimit(Conflict):
    reason, message = (
        "monthly_pass_limit",
        _l("Your household already holds as many monthly passes for this month as the garage allows."),
    )


class MonthRefused(Conflict):
    reason, message = (
        "month_refused",
        _l("Some nights of this month cannot be taken by a monthly pass, so nothing was booked."),
    )
    field = "accept_partial"  # the form field a page puts the message beside


class NoNightLeft(Conflict):
    reason, message = "no_night_left", _l("No night of this month can be booked any more.")


def on_sale(offer: MonthlyOffer, garage: Garage, month: date, now: datetime) -> SaleTimes:
    if not offer.active:
        raise MonthlyNotOffered()
    times = sale_times(offer, garage, month)
    if now >= times.ends_at:
        raise MonthOver()
    if now < times.renewal_opens_at:
        raise SaleNotOpen(details={"opens_at": times.renewal_opens_at.isoformat()})
    return times


def sale_refusal(
    offer: MonthlyOffer, garage: Garage, household_id: int, month: date, now: datetime
) -> DomainError | None:
    """Why the household may not subscribe to `month` of this offer now (None: it may): the sale
    times, renewal first for the holders of the month before, no unpaid earlier statement."""
    try:
        times = on_sale(offer, garage, month, now)
    except DomainError as exc:
        return exc
    if now < times.opens_at and holds_month(household_id, offer.template_id, previous_month(month)) is None:
        return RenewalOnly(details={"opens_at": times.opens_at.isoformat()})
    unpaid = unpaid_before(household_id, month)
    if unpaid:
        return UnpaidStatement(details={"months": [month_text(m) for m in unpaid]})
    return None


def holds_month(household_id: int, template_id: int, month: date) -> Subscription | None:
    return db.session.scalar(
        db.select(Subscription).where(
            Subscription.household_id == household_id,
            Subscription.template_id == template_id,
            Subscription.month == month,
        )
    )


def unpaid_before(household_id: int, month: date) -> list[date]:
    """Months before `month` whose statement still has something to pay."""
    rows = db.session.scalars(
        db.select(MonthlyStatement).where(
            MonthlyStatement.household_id == household_id,
            MonthlyStatement.month < month,
            MonthlyStatement.paid_at.is_(None),
        )
    ).all()
    return sorted(s.month for s in rows if amounts(s.household_id, s.month).total > 0)


def _materialise_month(garage: Garage, template: WindowTemplate, month: date, now: datetime) -> None:
    """The month's windows of the template from yesterday on (beyond the booking horizon too: a
    monthly pass books ahead), INSERT … ON CONFLICT DO NOTHING."""
    start = max(month, today(garage, now) - timedelta(days=1))
    end = next_month(month) - timedelta(days=1)
    if end < start:
        return
    existing = set(
        db.session.execute(
            db.select(Window.template_id, Window.service_date).where(
                Window.template_id == template.id, Window.service_date.between(start, end)
            )
        ).tuples()
    )
    rows = window_rows(garage, [template], start, end, existing, overrides_between([template.id], start, end), now)
    insert_windows(rows)


def _nights_planned(template: WindowTemplate, month: date, windows: list[Window]) -> int:
    """The nights the template lends in the month: its weekdays, less the nights closed to residents."""
    closed = {w.service_date for w in windows if w.state == WindowState.CANCELLED}
    return sum(1 for day in month_days(month) if template.runs_on(day) and day not in closed)


_MONTHLY_HELD = (
    sa.select(sa.func.count())
    .select_from(Booking)
    .where(
        Booking.window_id == sa.bindparam("window_id"),
        Booking.subscription_id.is_not(None),
        Booking.status.in_(SPACE_HOLDING),
    )
)


class MonthlyShareFull(Conflict):
    reason, message = "monthly_share_full", MONTHLY_NIGHT_REASONS["monthly_share_full"]


def monthly_share_check(share: Decimal) -> Callable[[Window], None]:
    """The monthly mode's own check on a locked window: monthly holders hold at most the share."""

    def check(window: Window) -> None:
        cap = share_cap(window.quota, share)
        held = db.session.scalar(_MONTHLY_HELD, {"window_id": window.id}) or 0
        if held >= cap:
            raise MonthlyShareFull(details={"monthly_cap": cap})

    return check


#: A night's result when the window itself refuses, by what it offers.
_OFFER_RESULTS = {
    admission.Offer.CLOSED: (CLOSED, "closed"),
    admission.Offer.NO_QUOTA: (CLOSED, "no_quota"),
    admission.Offer.BOOKING_OVER: (PAST, "booking_closed"),
    admission.Offer.DRAW: (REFUSED, "booking_closed"),  # a ballot night confirms nobody before its draw
    admission.Offer.AWAITS_DRAW: (REFUSED, "booking_closed"),
    admission.Offer.FULL: (REFUSED, "window_full"),
}


def _book_night(
    window: Window,
    subscription: Subscription,
    household: Household,
    vehicle: Car,
    check: Callable[[Window], None],
    actor: User,
    now: datetime,
) -> dict[str, Any]:
    """One night of the month through the admission core: confirmed, or refused with its reason."""
    night: dict[str, Any] = {"window_id": window.id, "service_date": window.service_date, "booking_id": None}
    offer = admission.availability(window, household.garage, now)
    if offer.offer in _OFFER_RESULTS:
        result, reason = _OFFER_RESULTS[offer.offer]
        return {**night, "result": result, "reason": reason}
    try:
        window, slot = admission.take_space(window, household, vehicle.plate, now, check=check)
    except DomainError as exc:
        if exc.reason == BookingClosed.reason:  # closed meanwhile, under the lock
            result, reason = _OFFER_RESULTS[admission.availability(window, household.garage, now).offer]
            return {**night, "result": result, "reason": reason}
        figures = exc.details if isinstance(exc, MonthlyShareFull) else None
        return {**night, "result": REFUSED, "reason": exc.reason, **(figures or {})}
    booking = new_booking(
        actor, household, window, vehicle, BookingStatus.CONFIRMED, now, subscription_id=subscription.id
    )
    admission.hold(booking, window, slot, now)
    booking, _ = admission.write_booking(
        booking, window, actor, "booking.confirmed", now, notice=None, reason="monthly pass"
    )
    return {**night, "result": CONFIRMED, "reason": None, "booking_id": booking.id}


def _night_out(night: dict[str, Any]) -> dict[str, Any]:
    out = {**night, "service_date": night["service_date"].isoformat()}
    if night.get("reason") in MONTHLY_NIGHT_REASONS:
        out["message"] = str(MONTHLY_NIGHT_REASONS[night["reason"]])
    return out


def subscribe(
    actor: User,
    template_id: int,
    month: date,
    raw_plate: str,
    accept_partial: bool,
    now: datetime,
    *,
    renewal_of: Subscription | None = None,
) -> Subscription:
    """Subscribe one verified plate of the actor's household for a calendar month."""
    household, vehicle = admission.eligible(actor.household, raw_plate, now)
    garage = household.garage
    template = db.session.get(WindowTemplate, template_id)
    if template is None:
        raise NotFound()
    if template.garage_id != garage.id:
        raise Forbidden(reason="wrong_garage")
    offer = offer_of(template.id)
    if offer is None:
        raise MonthlyNotOffered()
    month = month_of(month)
    refusal = sale_refusal(offer, garage, household.id, month, now)
    if refusal is not None:
        raise refusal
    held_before = holds_month(household.id, template.id, previous_month(month))
    if template.mode == TemplateMode.BALLOT:
        raise MonthlyNotForBallot()

    _materialise_month(garage, template, month, now)
    windows = list(
        db.session.scalars(
            db.select(Window)
            .where(
                Window.template_id == template.id,
                Window.service_date >= month,
                Window.service_date < next_month(month),
            )
            .order_by(Window.id)
        )
    )
    planned = _nights_planned(template, month, windows)
    if planned == 0:
        raise NoNightLeft(details={"nights": []})
    previous = renewal_of or held_before
    subscription = Subscription(
        garage_id=garage.id,
        template_id=template.id,
        household_id=household.id,
        vehicle_id=vehicle.id,
        plate=vehicle.plate,
        month=month,
        fee=offer.fee,
        nights_planned=planned,
        nights_booked=1,  # counted below; the CHECK wants at least one
        renewal_of_id=previous.id if previous is not None else None,
        created_by_id=actor.id,
        created_at=now,
        pass_nonce=secrets.token_bytes(admission.PASS_NONCE_BYTES),  # the month's pass, signed when shown
    )
    _add_within_limit(subscription, garage.monthly_passes_per_household)

    check = monthly_share_check(offer.monthly_share)
    nights = [_book_night(w, subscription, household, vehicle, check, actor, now) for w in windows]
    nights.sort(key=lambda n: n["service_date"])
    booked = [n for n in nights if n["result"] == CONFIRMED]
    refused = [n for n in nights if n["result"] == REFUSED]
    if refused and not accept_partial:
        raise MonthRefused(
            details={"nights": [_night_out(n) for n in refused], "refused": len(refused), "bookable": len(booked)}
        )
    if not booked:
        raise NoNightLeft(details={"nights": [_night_out(n) for n in refused], "refused": len(refused)})
    subscription.nights_booked = len(booked)
    db.session.flush()
    _ensure_statement(garage, household.id, month, now)
    record(
        actor,
        "subscription.renewed" if subscription.renewal_of_id else "subscription.created",
        subscription,
        after={
            "plate": subscription.plate,
            "month": month_text(month),
            "template_id": template.id,
            "fee": str(subscription.fee),
            "nights_planned": planned,
            "nights_booked": len(booked),
            "refused": [n["service_date"].isoformat() for n in refused],
        },
        at=now,
    )
    notify(
        member_ids(household.id),
        "monthly_subscribed",
        {"plate": subscription.plate, "month": month_text(month), "nights": len(booked)},
        now=now,
    )
    subscription.outcome = nights  # type: ignore[attr-defined]  # for the answer
    return subscription


_HELD_SLOTS = sa.select(Subscription.household_slot).where(
    Subscription.household_id == sa.bindparam("household_id"), Subscription.month == sa.bindparam("month")
)


def _add_within_limit(subscription: Subscription, limit: int) -> None:
    """Add the subscription within the garage's limit of passes a household holds in a month (0:
    none): it takes the lowest free numbered slot up to the limit, and the unique index on the
    slots keeps two members subscribing at once from taking the same one."""
    while True:
        if limit:
            held = list(
                db.session.scalars(
                    _HELD_SLOTS, {"household_id": subscription.household_id, "month": subscription.month}
                )
            )
            free = next((n for n in range(1, limit + 1) if n not in held), None)
            if free is None or len(held) >= limit:
                raise MonthlyPassLimit(details={"limit": limit})
            subscription.household_slot = free
        try:
            with db.session.begin_nested():
                db.session.add(subscription)
            return
        except IntegrityError as exc:
            if limit and "slot" in str(exc.orig):
                continue  # taken meanwhile by another member: the next free one, if any
            raise AlreadySubscribed() from None  # another member (or tab) got this window first


def renew(actor: User, subscription_id: int, accept_partial: bool, now: datetime) -> Subscription:
    """The same plate and window for the month after the subscription's."""
    current = own_subscription(actor, subscription_id)
    return subscribe(
        actor, current.template_id, next_month(current.month), current.plate, accept_partial, now, renewal_of=current
    )


def _ensure_statement(garage: Garage, household_id: int, month: date, now: datetime) -> None:
    exists = db.session.scalar(
        db.select(MonthlyStatement.id).where(
            MonthlyStatement.household_id == household_id, MonthlyStatement.month == month
        )
    )
    if exists:
        return
    try:
        with db.session.begin_nested():
            statement = MonthlyStatement(garage_id=garage.id, household_id=household_id, month=month, created_at=now)
            db.session.add(statement)
    except IntegrityError:
        pass  # made meanwhile for another subscription of the household: one statement
