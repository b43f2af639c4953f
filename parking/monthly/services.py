"""Monthly passes (包月, DESIGN section 9). Every function flushes; the caller commits.

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

import csv
import io
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from parking import clock
from parking.audit.services import record, snapshot
from parking.auth.models import Role, User
from parking.bookings import admission
from parking.bookings.admission import AUDITED, member_ids, new_booking
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.bookings.services import cancel_booking
from parking.errors import (
    BookingClosed,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unprocessable,
)
from parking.extensions import db
from parking.fields import month_start
from parking.garages.models import Garage, TemplateMode, Window, WindowState, WindowTemplate
from parking.garages.services import insert_windows, today, window_rows
from parking.households.models import Household, Vehicle
from parking.monthly.models import MonthlyOffer, MonthlyStatement, Subscription
from parking.notifications.services import notify
from parking.quotas.resolve import overrides_between

RENEWAL_DAYS = 7
DEFAULT_SHARE = Decimal("0.700")
CENT = Decimal("0.01")
CONFIRMED, REFUSED, PAST, CLOSED = "confirmed", "refused", "past", "closed"
OFFER_FIELDS = ("fee", "monthly_share", "sale_starts_on", "active")


class MonthlyNotOffered(Unprocessable):
    reason, message = "monthly_not_offered", _l("This window has no monthly pass.")


class MonthlyNotForBallot(Unprocessable):
    reason, message = (
        "monthly_not_for_ballot",
        _l("Nights drawn by lot cannot be sold monthly; make the window first come first."),
    )
    field = "fee"  # the form field a page puts the message beside


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
        _l("Some nights of this month have no space for a monthly pass, so nothing was booked."),
    )
    field = "accept_partial"  # the form field a page puts the message beside


class NoNightLeft(Conflict):
    reason, message = "no_night_left", _l("No night of this month can be booked any more.")


class AlreadyPaid(Conflict):
    reason, message = "already_paid", _l("This statement is already paid.")
    field = "receipt_number"  # the form field a page puts the message beside


class ReceiptUsed(Conflict):
    reason, message = "receipt_used", _l("This receipt number is already used for another statement.")
    field = "receipt_number"  # the form field a page puts the message beside


#: A refused night's reason in words for the people reading `details.nights`.
NIGHT_REASONS: dict[str, Any] = {
    "window_full": _l("Full"),
    "monthly_share_full": _l("The monthly places of this night are taken"),
    "duplicate_booking": _l("Already booked for this night"),
}


# -- months ----------------------------------------------------------------------------------------


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return month_of(month - timedelta(days=1))


def month_days(month: date) -> list[date]:
    end = next_month(month)
    return [month + timedelta(days=i) for i in range((end - month).days)]


def parse_month(text: str) -> date:
    """`YYYY-MM` → the month's first day; 422 for anything else."""
    first = month_start(text)
    if first is None:
        raise Unprocessable(reason="validation_error", errors={"month": ["a month as YYYY-MM"]})
    return first


def month_text(month: date) -> str:
    return month.strftime("%Y-%m")


def local_midnight(day: date, garage: Garage) -> datetime:
    return clock.local_midnight(day, garage.timezone)


@dataclass(frozen=True)
class SaleTimes:
    month: date
    renewal_opens_at: datetime  # holders of the month before
    opens_at: datetime  # everyone
    ends_at: datetime  # the month's end (local midnight after its last day)


def sale_times(offer: MonthlyOffer, garage: Garage, month: date) -> SaleTimes:
    start = local_midnight(offer.sale_starts_on, garage)
    renewal = local_midnight(next_month(previous_month(month)) - timedelta(days=RENEWAL_DAYS), garage)
    return SaleTimes(
        month, max(start, renewal), max(start, local_midnight(month, garage)), local_midnight(next_month(month), garage)
    )


# -- offers ----------------------------------------------------------------------------------------


def offer_of(template_id: int) -> MonthlyOffer | None:
    return db.session.scalar(db.select(MonthlyOffer).where(MonthlyOffer.template_id == template_id))


def _offer_snapshot(offer: MonthlyOffer) -> dict[str, Any]:
    return {
        "fee": str(offer.fee),
        "monthly_share": str(offer.monthly_share),
        "sale_starts_on": offer.sale_starts_on.isoformat(),
        "active": offer.active,
    }


def set_offer(actor: User, garage: Garage, template_id: int, data: dict[str, Any], now: datetime) -> MonthlyOffer:
    """Create or change a template's monthly offer (managers; audited)."""
    template = db.session.get(WindowTemplate, template_id)
    if template is None or template.garage_id != garage.id:
        raise NotFound()
    if template.mode == TemplateMode.BALLOT:
        raise MonthlyNotForBallot()
    offer = db.session.scalar(db.select(MonthlyOffer).where(MonthlyOffer.template_id == template.id).with_for_update())
    before = _offer_snapshot(offer) if offer is not None else None
    if offer is None:
        offer = MonthlyOffer(
            garage_id=garage.id,
            template_id=template.id,
            fee=data["fee"],
            monthly_share=data.get("monthly_share", DEFAULT_SHARE),
            sale_starts_on=data.get("sale_starts_on") or today(garage, now),
            active=data.get("active", True),
            created_at=now,
            updated_at=now,
        )
        db.session.add(offer)
    else:
        for name in OFFER_FIELDS:
            if name in data and data[name] is not None:
                setattr(offer, name, data[name])
        offer.updated_at = now
    db.session.flush()
    db.session.refresh(offer)  # the database's rounding of the decimals
    action = "monthly_offer.created" if before is None else "monthly_offer.changed"
    record(actor, action, offer, before=before, after=_offer_snapshot(offer), at=now)
    return offer


def offers_of(garage: Garage, *, active_only: bool = False) -> list[MonthlyOffer]:
    stmt = db.select(MonthlyOffer).where(MonthlyOffer.garage_id == garage.id)
    if active_only:
        stmt = stmt.where(MonthlyOffer.active.is_(True))
    return list(db.session.scalars(stmt.order_by(MonthlyOffer.template_id)))


def share_cap(quota: int, share: Decimal) -> int:
    """The spaces of a night that monthly holders may hold at most: the share of its quota, down."""
    return int((Decimal(quota) * share).to_integral_value(rounding=ROUND_FLOOR))


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
    return sorted(s.month for s in rows if amounts(s.household_id, s.month)["total"] > 0)


# -- subscribing -----------------------------------------------------------------------------------


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
    reason, message = "monthly_share_full", NIGHT_REASONS["monthly_share_full"]


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
    admission.Offer.BOOKING_OVER: (PAST, "booking_closed"),
    admission.Offer.DRAW: (REFUSED, "booking_closed"),  # a ballot night confirms nobody before its draw
    admission.Offer.AWAITS_DRAW: (REFUSED, "booking_closed"),
    admission.Offer.FULL: (REFUSED, "window_full"),
}


def _book_night(
    window: Window,
    subscription: Subscription,
    household: Household,
    vehicle: Vehicle,
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
    db.session.add(booking)
    db.session.flush()
    record(actor, "booking.confirmed", booking, after=snapshot(booking, *AUDITED), reason="monthly pass", at=now)
    return {**night, "result": CONFIRMED, "reason": None, "booking_id": booking.id}


def _night_out(night: dict[str, Any]) -> dict[str, Any]:
    out = {**night, "service_date": night["service_date"].isoformat()}
    if night.get("reason") in NIGHT_REASONS:
        out["message"] = str(NIGHT_REASONS[night["reason"]])
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


# -- reading ---------------------------------------------------------------------------------------


def can_manage(actor: User, garage_id: int) -> bool:
    return actor.is_staff_of(garage_id, Role.MANAGER)


def visible_subscription(actor: User, subscription_id: int) -> Subscription:
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or (
        actor.household_id != subscription.household_id and not can_manage(actor, subscription.garage_id)
    ):
        raise NotFound()
    return subscription


def own_subscription(actor: User, subscription_id: int) -> Subscription:
    subscription = visible_subscription(actor, subscription_id)
    if actor.household_id != subscription.household_id:
        raise Forbidden()
    return subscription


def nights_of(subscription_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            db.select(Booking)
            .join(Window, Window.id == Booking.window_id)
            .where(Booking.subscription_id == subscription_id)
            .order_by(Window.service_date)
        )
    )


def list_own(actor: User) -> list[Subscription]:
    if actor.household_id is None:
        return []
    return list(
        db.session.scalars(
            db.select(Subscription)
            .where(Subscription.household_id == actor.household_id)
            .order_by(Subscription.month.desc(), Subscription.id)
        )
    )


def holders(garage: Garage, month: date) -> list[Subscription]:
    return list(
        db.session.scalars(
            db.select(Subscription)
            .where(Subscription.garage_id == garage.id, Subscription.month == month)
            .order_by(Subscription.template_id, Subscription.id)
        )
    )


def night_counts(subscription_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per subscription, its nights by booking status."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if subscription_ids:
        rows = db.session.execute(
            db.select(Booking.subscription_id, Booking.status, sa.func.count())
            .where(Booking.subscription_id.in_(subscription_ids))
            .group_by(Booking.subscription_id, Booking.status)
        ).tuples()
        for subscription_id, status, count in rows:
            counts[subscription_id][BookingStatus(status).value] = count  # type: ignore[index]
    return counts


# -- handing a night back --------------------------------------------------------------------------


def hand_back(actor: User, subscription_id: int, service_date: date, now: datetime) -> Booking:
    """Give one night of the month back: its space returns and the waitlist moves, no strike."""
    subscription = own_subscription(actor, subscription_id)
    booking_id = db.session.scalar(
        db.select(Booking.id)
        .join(Window, Window.id == Booking.window_id)
        .where(Booking.subscription_id == subscription.id, Window.service_date == service_date)
    )
    if booking_id is None:
        raise NotFound(reason="no_such_night", message=_l("This night is not part of your monthly pass."))
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    return cancel_booking(actor, booking, now)


# -- statements ------------------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def subscription_amounts(subscription: Subscription, counts: dict[str, int]) -> dict[str, Any]:
    """The fee of one subscription and its credit: the nights it did not get at subscription time
    and the nights the station bumped, each at fee / nights lent in the month."""
    bumped = counts.get(BookingStatus.BUMPED.value, 0)
    unbooked = subscription.nights_planned - subscription.nights_booked
    credit = _money(subscription.fee * (unbooked + bumped) / subscription.nights_planned)
    return {"fee": subscription.fee, "credit": min(credit, subscription.fee), "bumped": bumped, "unbooked": unbooked}


def amounts(household_id: int, month: date) -> dict[str, Any]:
    subs = list(
        db.session.scalars(
            db.select(Subscription)
            .where(Subscription.household_id == household_id, Subscription.month == month)
            .order_by(Subscription.id)
        )
    )
    return _amounts(subs, night_counts([s.id for s in subs]))


def _amounts(subs: list[Subscription], counts: dict[int, dict[str, int]]) -> dict[str, Any]:
    lines = [(s, subscription_amounts(s, counts.get(s.id, {}))) for s in subs]
    fee = sum((line["fee"] for _s, line in lines), Decimal("0.00"))
    credits = sum((line["credit"] for _s, line in lines), Decimal("0.00"))
    return {
        "fee": _money(fee),
        "credits": _money(credits),
        "total": _money(fee - credits),
        "bumped_nights": sum(line["bumped"] for _s, line in lines),
        "unbooked_nights": sum(line["unbooked"] for _s, line in lines),
        "lines": lines,
    }


def statement_view(statement: MonthlyStatement, figures: dict[str, Any]) -> dict[str, Any]:
    household = statement.household
    paid_total = statement.paid_total
    refund = _money(paid_total - figures["total"]) if paid_total is not None else Decimal("0.00")
    return {
        "id": statement.id,
        "garage_id": statement.garage_id,
        "household_id": statement.household_id,
        "address": {"building": household.building, "unit": household.unit, "room": household.room},
        "month": month_text(statement.month),
        "fee": figures["fee"],
        "credits": figures["credits"],
        "total": figures["total"],
        "bumped_nights": figures["bumped_nights"],
        "unbooked_nights": figures["unbooked_nights"],
        "paid": statement.paid_at is not None,
        "paid_at": statement.paid_at,
        "receipt_number": statement.receipt_number,
        "paid_total": paid_total,
        "refund_due": refund if refund > 0 else Decimal("0.00"),
        "subscriptions": [
            {
                "id": s.id,
                "plate": s.plate,
                "template_id": s.template_id,
                "fee": line["fee"],
                "credit": line["credit"],
                "nights_planned": s.nights_planned,
                "nights_booked": s.nights_booked,
                "bumped_nights": line["bumped"],
            }
            for s, line in figures["lines"]
        ],
    }


def statements(garage: Garage, month: date) -> list[dict[str, Any]]:
    rows = list(
        db.session.scalars(
            db.select(MonthlyStatement)
            .where(MonthlyStatement.garage_id == garage.id, MonthlyStatement.month == month)
            .order_by(MonthlyStatement.id)
        )
    )
    subs = list(
        db.session.scalars(
            db.select(Subscription)
            .where(Subscription.garage_id == garage.id, Subscription.month == month)
            .order_by(Subscription.id)
        )
    )
    counts = night_counts([s.id for s in subs])
    by_household: dict[int, list[Subscription]] = defaultdict(list)
    for subscription in subs:
        by_household[subscription.household_id].append(subscription)
    return [statement_view(row, _amounts(by_household[row.household_id], counts)) for row in rows]


def own_statements(actor: User) -> list[dict[str, Any]]:
    return own_statements_of(actor.household_id) if actor.household_id is not None else []


def own_statements_of(household_id: int) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        db.select(MonthlyStatement)
        .where(MonthlyStatement.household_id == household_id)
        .order_by(MonthlyStatement.month.desc())
    ).all()
    return [statement_view(row, amounts(row.household_id, row.month)) for row in rows]


def mark_paid(actor: User, garage: Garage, statement_id: int, receipt_number: str, now: datetime) -> dict[str, Any]:
    """Record the payment of a statement at the office, with its receipt number (audited)."""
    statement = db.session.scalar(
        db.select(MonthlyStatement).where(MonthlyStatement.id == statement_id).with_for_update()
    )
    if statement is None or statement.garage_id != garage.id:
        raise NotFound()
    if statement.paid_at is not None:
        raise AlreadyPaid(details={"receipt_number": statement.receipt_number})
    figures = amounts(statement.household_id, statement.month)
    statement.paid_at = now
    statement.receipt_number = receipt_number
    statement.paid_total = figures["total"]
    statement.paid_by_id = actor.id
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ReceiptUsed() from None
    record(
        actor,
        "monthly_statement.paid",
        statement,
        before={"paid": False},
        after={"paid": True, "receipt_number": receipt_number, "paid_total": str(figures["total"])},
        at=now,
    )
    return statement_view(statement, figures)


CSV_COLUMNS = [
    "statement_id",
    "month",
    "building",
    "unit",
    "room",
    "plates",
    "fee",
    "credits",
    "total",
    "bumped_nights",
    "paid",
    "receipt_number",
    "paid_at",
]


def statements_csv(garage: Garage, month: date) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in statements(garage, month):
        writer.writerow(
            [
                row["id"],
                row["month"],
                row["address"]["building"],
                row["address"]["unit"],
                row["address"]["room"],
                " ".join(s["plate"] for s in row["subscriptions"]),
                row["fee"],
                row["credits"],
                row["total"],
                row["bumped_nights"],
                "yes" if row["paid"] else "no",
                row["receipt_number"] or "",
                row["paid_at"].isoformat() if row["paid_at"] else "",
            ]
        )
    return buffer.getvalue()


# -- what the answers show ---------------------------------------------------------------------------


def with_sales(offer: MonthlyOffer, garage: Garage, now: datetime) -> MonthlyOffer:
    """The offer with this month's and next month's sale times (for the schema)."""
    this_month = month_of(today(garage, now))
    offer.sales = [  # type: ignore[attr-defined]
        {**sale_times(offer, garage, m).__dict__, "month": month_text(m)} for m in (this_month, next_month(this_month))
    ]
    return offer


def with_nights(subscription: Subscription) -> Subscription:
    subscription.nights = nights_of(subscription.id)  # type: ignore[attr-defined]
    return subscription


def month_or_current(text: str | None, garage: Garage, now: datetime) -> date:
    return parse_month(text) if text else month_of(today(garage, now))
