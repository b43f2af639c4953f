"""Monthly passes (包月): a template's offer, a household's subscription of one
plate for a calendar month (its nights are ordinary bookings that name it), and the month's
statement per household, paid at the garage's office (no payment gateway)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parking.dbtypes import UTCDateTime
from parking.extensions import Base

#: Money in CNY with fen (two decimals).
Money = sa.Numeric(10, 2)


class MonthlyOffer(Base):
    """What a template offers monthly holders: the fee, the share of each night's quota they may
    hold at most, and the first day of sale."""

    __tablename__ = "monthly_offers"
    __audit_type__ = "monthly_offer"
    __table_args__ = (
        sa.CheckConstraint("fee >= 0", name="fee_nonnegative"),
        sa.CheckConstraint("monthly_share > 0 AND monthly_share <= 1", name="share_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("window_templates.id", ondelete="CASCADE"), unique=True)
    fee: Mapped[Decimal] = mapped_column(Money)
    monthly_share: Mapped[Decimal] = mapped_column(sa.Numeric(4, 3), default=Decimal("0.700"))
    sale_starts_on: Mapped[date] = mapped_column(sa.Date())
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    template = relationship("WindowTemplate")


class Subscription(Base):
    """One plate of one household on one template for one calendar month (`month` is its first
    day). `nights_planned` are the nights the template lends in the month and `nights_booked`
    those the subscription got when it was made: the fee is for those, pro rata."""

    __tablename__ = "subscriptions"
    __audit_type__ = "subscription"
    __table_args__ = (
        sa.UniqueConstraint("template_id", "month", "household_id", name="uq_subscriptions_template_month_household"),
        sa.UniqueConstraint("template_id", "month", "plate", name="uq_subscriptions_template_month_plate"),
        sa.CheckConstraint("fee >= 0", name="fee_nonnegative"),
        sa.CheckConstraint("nights_booked >= 1 AND nights_booked <= nights_planned", name="nights_counted"),
        sa.Index("ix_subscriptions_household_month", "household_id", "month"),
        sa.Index("ix_subscriptions_garage_month", "garage_id", "month"),
        # The garage's limit of monthly passes a household holds at once: each pass of the month
        # takes a numbered slot within the limit, unique per household and month.
        sa.Index(
            "uq_subscriptions_household_month_slot",
            "household_id",
            "month",
            "household_slot",
            unique=True,
            sqlite_where=sa.text("household_slot IS NOT NULL"),
            postgresql_where=sa.text("household_slot IS NOT NULL"),
        ),
        sa.CheckConstraint("household_slot >= 1", name="household_slot_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("window_templates.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="CASCADE"))
    vehicle_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicles.id", ondelete="CASCADE"), index=True)
    plate: Mapped[str] = mapped_column(sa.String(8))
    month: Mapped[date] = mapped_column(sa.Date())
    fee: Mapped[Decimal] = mapped_column(Money)
    nights_planned: Mapped[int] = mapped_column()
    nights_booked: Mapped[int] = mapped_column()
    renewal_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subscriptions.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The month's pass nonce, written with the subscription; the token is signed when shown.
    pass_nonce: Mapped[bytes | None] = mapped_column(sa.LargeBinary(8))
    household_slot: Mapped[int | None] = mapped_column()  # None where the garage sets no limit

    template = relationship("WindowTemplate")
    household = relationship("Household")


class MonthlyStatement(Base):
    """A household's statement of one month: the amounts come from its subscriptions and their
    nights; the row holds whether it is paid, with the receipt number the office wrote."""

    __tablename__ = "monthly_statements"
    __audit_type__ = "monthly_statement"
    __table_args__ = (
        sa.UniqueConstraint("household_id", "month", name="uq_monthly_statements_household_month"),
        sa.UniqueConstraint("garage_id", "receipt_number", name="uq_monthly_statements_garage_receipt"),
        sa.CheckConstraint(
            "(paid_at IS NULL AND receipt_number IS NULL AND paid_total IS NULL) OR "
            "(paid_at IS NOT NULL AND receipt_number IS NOT NULL AND paid_total IS NOT NULL)",
            name="paid_with_receipt",
        ),
        sa.Index("ix_monthly_statements_garage_month", "garage_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(sa.Date())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_number: Mapped[str | None] = mapped_column(sa.String(40))
    paid_total: Mapped[Decimal | None] = mapped_column(Money)
    paid_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    household = relationship("Household")
