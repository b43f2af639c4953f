"""Monthly statements: what a household owes for a month, the managers' list and CSV, and
marking a statement paid."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from parking.audit.services import record
from parking.auth.models import User
from parking.bookings.models import BookingStatus
from parking.errors import (
    Conflict,
    NotFound,
)
from parking.extensions import db
from parking.monthly.models import MonthlyStatement, Subscription
from parking.monthly.months import month_text
from parking.monthly.subscriptions import night_counts
from parking.windows.models import Garage

CENT = Decimal("0.01")


class AlreadyPaid(Conflict):
    reason, message = "already_paid", _l("This statement is already paid.")
    field = "receipt_number"  # the form field a page puts the message beside


class ReceiptUsed(Conflict):
    reason, message = "receipt_used", _l("This receipt number is already used for another statement.")
    field = "receipt_number"  # the form field a page puts the message beside


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
