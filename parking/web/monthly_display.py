"""What the monthly-pass pages show (residents and managers), computed here so that the templates
only display: months, money and nights in plain words."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date

from parking.auth.models import User
from parking.bookings import next_steps
from parking.bookings.models import BookingStatus
from parking.catalogue import status_words
from parking.garages.models import Garage, WindowTemplate
from parking.garages.services import today, window_instants
from parking.households.models import VehicleState
from parking.i18n import gettext as _
from parking.monthly import services as monthly
from parking.monthly.models import MonthlyOffer, Subscription
from parking.monthly.statements import Statement
from parking.passes import services as pass_services
from parking.web.words import day_words, held_back_words, local, moment_words, page_language, span_words


def month_words(month: date) -> str:
    lang = page_language()
    return format_date(month, "y年M月" if lang == "zh" else "MMMM y", locale=lang)


def money(value: Decimal) -> str:
    amount = f"{value:.2f}"
    return _("%(amount)s yuan", amount=amount)


def times_of(template: WindowTemplate, garage: Garage, day: date) -> str:
    opens, closes = window_instants(template, day, garage.timezone)
    return span_words(local(opens, garage.timezone), local(closes, garage.timezone))


def statement_words(statement: Statement) -> dict[str, Any]:
    """A statement's lines in words, with whether it is paid (icon and word, not colour alone)."""
    lines = [{"label": _("Monthly fee"), "amount": money(statement.fee)}]
    if statement.unbooked_nights:
        lines.append(
            {
                "label": _("Back for %(n)s nights the pass did not get", n=statement.unbooked_nights),
                "amount": "- " + money(statement.credits_unbooked),
            }
        )
    if statement.bumped_nights:
        lines.append(
            {
                "label": _("Back for %(n)s nights the station took back", n=statement.bumped_nights),
                "amount": "- " + money(statement.credits_bumped),
            }
        )
    return {
        "month": statement.month,
        "lines": lines,
        "total": money(statement.total),
        "paid": statement.paid,
        "paid_words": _("Paid, receipt %(number)s", number=statement.receipt_number)
        if statement.paid
        else _("Not paid yet: please pay at the garage office"),
        "refund": money(statement.refund_due) if statement.refund_due else None,
    }


def statement_of(household_id: int, month: date) -> dict[str, Any] | None:
    rows = [r for r in monthly.own_statements_of(household_id) if r.month == monthly.month_text(month)]
    return statement_words(rows[0]) if rows else None


# -- the resident's page ---------------------------------------------------------------------------


def _plates(user: User) -> list[tuple[str, str]]:
    household = user.household
    return [(v.plate, v.plate) for v in household.vehicles if v.state == VehicleState.VERIFIED] if household else []


def offer_cards(user: User, now: datetime) -> list[dict[str, Any]]:
    """The garage's monthly passes on offer, each with the months this household may buy now and
    why not where it may not."""
    household = user.household
    if household is None:
        return []
    garage = household.garage
    this_month = monthly.month_of(today(garage, now))
    held_back = next_steps.household_refusal(household, now)
    cards = []
    for offer in monthly.offers_of(garage, active_only=True):
        months, notes = [], []
        if held_back is not None:  # nothing to buy while the household waits for its check
            notes.append(held_back_words(household, held_back, now))
        for month in (this_month, monthly.next_month(this_month)) if held_back is None else ():
            if monthly.holds_month(household.id, offer.template_id, month) is not None:
                notes.append(_("You have the monthly pass for %(month)s.", month=month_words(month)))
                continue
            refusal = monthly.sale_refusal(offer, garage, household.id, month, now)
            if refusal is None:
                months.append((monthly.month_text(month), month_words(month)))
            else:
                notes.append(_refusal_words(refusal, month, garage))
        cards.append(
            {
                "offer": offer,
                "name": offer.template.name,
                "times": times_of(offer.template, garage, this_month),
                "fee": money(offer.fee),
                "share": int(offer.monthly_share * 100),
                "months": months,
                "notes": notes,
            }
        )
    return cards


def _refusal_words(refusal: Any, month: date, garage: Garage) -> str:
    details = refusal.details or {}
    if refusal.reason in ("sale_not_open", "renewal_only") and details.get("opens_at"):
        opens = datetime.fromisoformat(details["opens_at"])
        return _(
            "%(month)s goes on sale on %(when)s.",
            month=month_words(month),
            when=moment_words(local(opens, garage.timezone)),
        )
    if refusal.reason == "unpaid_statement":
        return _("Please pay last month's statement at the garage office first.")
    return f"{month_words(month)}: {refusal.message}"


def my_passes(user: User, now: datetime) -> list[dict[str, Any]]:
    household = user.household
    if household is None:
        return []
    this_month = monthly.month_of(today(household.garage, now))
    subs = [s for s in monthly.list_own(user) if s.month >= this_month]
    counts = monthly.night_counts([s.id for s in subs])
    with_pass = pass_services.months_with_pass(household.garage, [s.id for s in subs], now)
    return [pass_card(s, counts.get(s.id, {}), s.id in with_pass) for s in subs]


def pass_card(subscription: Subscription, counts: dict[str, int], has_pass: bool) -> dict[str, Any]:
    used = counts.get(BookingStatus.COMPLETED.value, 0) + counts.get(BookingStatus.OVERSTAYED.value, 0)
    back = counts.get(BookingStatus.CANCELLED.value, 0)
    bumped = counts.get(BookingStatus.BUMPED.value, 0)
    parts = [_("%(n)s nights booked", n=subscription.nights_booked)]
    if back:
        parts.append(_("%(n)s handed back", n=back))
    if bumped:
        parts.append(_("%(n)s taken back by the station", n=bumped))
    return {
        "id": subscription.id,
        "month": month_words(subscription.month),
        "plate": subscription.plate,
        "name": subscription.template.name,
        "summary": _(", ").join(parts),
        "has_pass": has_pass,
        "used": used,
    }


def night_rows(user: User, subscription: Subscription, now: datetime) -> list[dict[str, Any]]:
    garage = subscription.template.garage
    today_date = today(garage, now)
    rows = []
    for booking in monthly.nights_of(subscription.id):
        window = booking.window
        words = status_words(booking.status)
        status = str(words.words)
        if booking.status == BookingStatus.CANCELLED:
            status = _("Handed back")
        rows.append(
            {
                "service_date": window.service_date.isoformat(),
                "day": day_words(window.service_date, today_date),
                "times": span_words(local(window.opens_at, garage.timezone), local(window.closes_at, garage.timezone)),
                "status": status,
                "tone": words.tone if booking.status != BookingStatus.CANCELLED else "info",
                "icon": words.icon if booking.status != BookingStatus.CANCELLED else "↩",
                "can_hand_back": next_steps.for_booking(user, booking, now).hand_back,
                "past": window.closes_at <= now,
            }
        )
    return rows


def renewal(user: User, subscription: Subscription, now: datetime) -> dict[str, Any] | None:
    """Whether the holder may renew this pass for the month after now, with the words."""
    household = user.household
    if household is None:
        return None
    offer: MonthlyOffer | None = monthly.offer_of(subscription.template_id)
    following = monthly.next_month(subscription.month)
    if offer is None or monthly.holds_month(household.id, subscription.template_id, following) is not None:
        return None
    refusal = monthly.sale_refusal(offer, household.garage, household.id, following, now)
    if refusal is not None:
        if refusal.reason == "unpaid_statement":
            return {"open": False, "words": _refusal_words(refusal, following, household.garage)}
        return None
    return {"open": True, "month": month_words(following)}


FIRST_NIGHTS = 7  # the coming week is listed; the rest of the month folds away


def detail(user: User, subscription_id: int, now: datetime) -> dict[str, Any]:
    subscription = monthly.own_subscription(user, subscription_id)
    counts = monthly.night_counts([subscription.id])
    nights = night_rows(user, subscription, now)
    coming = [n for n in nights if not n["past"]]
    garage = subscription.template.garage
    return {
        "card": pass_card(
            subscription,
            counts.get(subscription.id, {}),
            bool(pass_services.months_with_pass(garage, [subscription.id], now)),
        ),
        "nights": nights,
        "first_nights": coming[:FIRST_NIGHTS],
        "later_nights": coming[FIRST_NIGHTS:],
        "times": times_of(subscription.template, garage, subscription.month),
        "statement": statement_of(subscription.household_id, subscription.month),
        "renewal": renewal(user, subscription, now),
        "subscription_id": subscription.id,
    }


def plate_choices(user: User) -> list[tuple[str, str]]:
    return _plates(user)
