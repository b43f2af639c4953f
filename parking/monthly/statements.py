"""Monthly statements: what a household owes for a month, the managers' list and CSV, and
marking a statement paid."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.exc import IntegrityError

from parking.audit.services import record
from parking.auth.models import User
from parking.bookings.models import BookingStatus
from parking.errors import (
    Conflict,
    NotFound,
)
from parking.extensions import db
from parking.i18n import lazy_gettext as _l
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


@dataclass(frozen=True)
class SubscriptionAmounts:
    """One subscription's fee and its credit: the nights it did not get at subscription time and
    the nights the station bumped, each at fee / nights lent in the month."""

    fee: Decimal
    credit: Decimal
    bumped: int
    unbooked: int

    @property
    def credit_unbooked(self) -> Decimal:
        """The part of the credit for the nights not got, unrounded (the statement rounds its sum)."""
        return self.credit * self.unbooked / max(self.unbooked + self.bumped, 1)


def subscription_amounts(subscription: Subscription, counts: dict[str, int]) -> SubscriptionAmounts:
    bumped = counts.get(BookingStatus.BUMPED.value, 0)
    unbooked = subscription.nights_planned - subscription.nights_booked
    credit = _money(subscription.fee * (unbooked + bumped) / subscription.nights_planned)
    return SubscriptionAmounts(subscription.fee, min(credit, subscription.fee), bumped, unbooked)


@dataclass(frozen=True)
class Amounts:
    """What a household owes for a month, with its credits split by why they arose."""

    fee: Decimal
    credits: Decimal
    credits_unbooked: Decimal
    credits_bumped: Decimal
    total: Decimal
    bumped_nights: int
    unbooked_nights: int
    lines: list[tuple[Subscription, SubscriptionAmounts]]


def amounts(household_id: int, month: date) -> Amounts:
    subs = list(
        db.session.scalars(
            db.select(Subscription)
            .where(Subscription.household_id == household_id, Subscription.month == month)
            .order_by(Subscription.id)
        )
    )
    return _amounts(subs, night_counts([s.id for s in subs]))


def _amounts(subs: list[Subscription], counts: dict[int, dict[str, int]]) -> Amounts:
    lines = [(s, subscription_amounts(s, counts.get(s.id, {}))) for s in subs]
    fee = _money(sum((line.fee for _s, line in lines), Decimal("0.00")))
    credits = _money(sum((line.credit for _s, line in lines), Decimal("0.00")))
    unbooked = sum((line.credit_unbooked for _s, line in lines), Decimal("0")).quantize(CENT)
    return Amounts(
        fee=fee,
        credits=credits,
        credits_unbooked=unbooked,
        credits_bumped=credits - unbooked,
        total=_money(fee - credits),
        bumped_nights=sum(line.bumped for _s, line in lines),
        unbooked_nights=sum(line.unbooked for _s, line in lines),
        lines=lines,
    )


@dataclass(frozen=True)
class StatementAddress:
    building: str
    unit: str
    room: str


@dataclass(frozen=True)
class StatementLine:
    id: int  # the subscription's
    plate: str
    template_id: int
    fee: Decimal
    credit: Decimal
    nights_planned: int
    nights_booked: int
    bumped_nights: int


@dataclass(frozen=True)
class Statement:
    """A household's statement for a month, as the API (`StatementSchema`) and the pages read it."""

    id: int
    garage_id: int
    household_id: int
    address: StatementAddress
    month: str
    fee: Decimal
    credits: Decimal
    credits_unbooked: Decimal  # for the nights the passes did not get
    credits_bumped: Decimal  # for the nights the station took back
    total: Decimal
    bumped_nights: int
    unbooked_nights: int
    paid: bool
    paid_at: datetime | None
    receipt_number: str | None
    paid_total: Decimal | None
    refund_due: Decimal
    subscriptions: list[StatementLine]


def statement_view(statement: MonthlyStatement, figures: Amounts) -> Statement:
    household = statement.household
    paid_total = statement.paid_total
    refund = _money(paid_total - figures.total) if paid_total is not None else Decimal("0.00")
    return Statement(
        id=statement.id,
        garage_id=statement.garage_id,
        household_id=statement.household_id,
        address=StatementAddress(household.building, household.unit, household.room),
        month=month_text(statement.month),
        fee=figures.fee,
        credits=figures.credits,
        credits_unbooked=figures.credits_unbooked,
        credits_bumped=figures.credits_bumped,
        total=figures.total,
        bumped_nights=figures.bumped_nights,
        unbooked_nights=figures.unbooked_nights,
        paid=statement.paid_at is not None,
        paid_at=statement.paid_at,
        receipt_number=statement.receipt_number,
        paid_total=paid_total,
        refund_due=refund if refund > 0 else Decimal("0.00"),
        subscriptions=[
            StatementLine(
                s.id, s.plate, s.template_id, line.fee, line.credit, s.nights_planned, s.nights_booked, line.bumped
            )
            for s, line in figures.lines
        ],
    )


def statements(garage: Garage, month: date) -> list[Statement]:
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


def own_statements(actor: User) -> list[Statement]:
    return own_statements_of(actor.household_id) if actor.household_id is not None else []


def own_statements_of(household_id: int) -> list[Statement]:
    rows = db.session.scalars(
        db.select(MonthlyStatement)
        .where(MonthlyStatement.household_id == household_id)
        .order_by(MonthlyStatement.month.desc())
    ).all()
    return [statement_view(row, amounts(row.household_id, row.month)) for row in rows]


def mark_paid(actor: User, garage: Garage, statement_id: int, receipt_number: str, now: datetime) -> Statement:
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
    statement.paid_total = figures.total
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
        after={"paid": True, "receipt_number": receipt_number, "paid_total": str(figures.total)},
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
                row.id,
                row.month,
                row.address.building,
                row.address.unit,
                row.address.room,
                " ".join(s.plate for s in row.subscriptions),
                row.fee,
                row.credits,
                row.total,
                row.bumped_nights,
                "yes" if row.paid else "no",
                row.receipt_number or "",
                row.paid_at.isoformat() if row.paid_at else "",
            ]
        )
    return buffer.getvalue()
