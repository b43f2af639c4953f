from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parking.dbtypes import UTCDateTime, str_enum
from parking.extensions import Base
from parking.masking import Personal, retention_index


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    OVERSTAYED = "overstayed"
    BUMPED = "bumped"
    REQUESTED = "requested"  # a ballot entry before the draw


#: The statuses that hold a space: each counts against the window's quota.
SPACE_HOLDING = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.OVERSTAYED)
#: Bookings that are still going on: a night page shows them instead of a book button.
LIVE = (*SPACE_HOLDING, BookingStatus.WAITLISTED)
#: Bookings still to come for the household: live ones and ballot requests before their draw.
UPCOMING = (*LIVE, BookingStatus.REQUESTED)
_HOLDS_SQL = sa.text("status IN ('confirmed', 'checked_in', 'overstayed')")
_REQUESTED_SQL = sa.text("status = 'requested'")
_OCCUPYING_SQL = sa.text("inside IS true OR status = 'overstayed'")  # as occupancy asks


class Booking(Base):
    __tablename__ = "bookings"
    __audit_type__ = "booking"
    # Dated by its last change (a night's end settles it); a car still inside or a booking still
    # live keeps its plate, which the gate and the unique indexes need.
    __personal__ = Personal(
        at="updated_at",
        plates=("plate",),
        live="inside OR status IN ('confirmed', 'checked_in', 'overstayed', 'waitlisted', 'requested')",
    )
    __table_args__ = (
        # Invariant 2: one space-holding booking per plate per window ...
        sa.Index(
            "uq_bookings_window_plate_holding",
            "window_id",
            "plate",
            unique=True,
            sqlite_where=_HOLDS_SQL,
            postgresql_where=_HOLDS_SQL,
        ),
        # ... and at most `bookings_per_household` per household: each holding booking takes a
        # numbered household slot (1 when the limit is 1), unique among the holding bookings.
        sa.Index(
            "uq_bookings_window_household_slot",
            "window_id",
            "household_id",
            "slot",
            unique=True,
            sqlite_where=_HOLDS_SQL,
            postgresql_where=_HOLDS_SQL,
        ),
        # One draw entry per household and per plate: the draw gives each household one number.
        sa.Index(
            "uq_bookings_window_household_requested",
            "window_id",
            "household_id",
            unique=True,
            sqlite_where=_REQUESTED_SQL,
            postgresql_where=_REQUESTED_SQL,
        ),
        sa.Index(
            "uq_bookings_window_plate_requested",
            "window_id",
            "plate",
            unique=True,
            sqlite_where=_REQUESTED_SQL,
            postgresql_where=_REQUESTED_SQL,
        ),
        sa.CheckConstraint(
            "(status NOT IN ('confirmed', 'checked_in', 'overstayed')) OR slot IS NOT NULL",
            name="holding_has_slot",
        ),
        sa.Index("ix_bookings_window_status", "window_id", "status", "priority", "created_at"),
        sa.Index("ix_bookings_household_status", "household_id", "status"),
        sa.Index("ix_bookings_plate", "plate"),
        # The tide finds the few bookings still in a live status among all past ones.
        sa.Index("ix_bookings_status_window", "status", "window_id"),
        # The draw weighs a household by its recent wins.
        sa.Index("ix_bookings_household_won", "household_id", "won_draw_at"),
        # A monthly pass books each night of its month once.
        sa.Index("uq_bookings_subscription_window", "subscription_id", "window_id", unique=True),
        # The offline material: passes that can still be used, per garage.
        sa.Index("ix_bookings_garage_pass_not_after", "garage_id", "pass_not_after"),
        # Occupancy: the few cars inside or overstaying among a garage's years of bookings.
        sa.Index(
            "ix_bookings_garage_occupancy",
            "garage_id",
            sqlite_where=_OCCUPYING_SQL,
            postgresql_where=_OCCUPYING_SQL,
        ),
        retention_index("bookings", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(sa.ForeignKey("windows.id", ondelete="CASCADE"))
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="CASCADE"))
    vehicle_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicles.id", ondelete="CASCADE"), index=True)
    plate: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus, "booking_status"))
    slot: Mapped[int | None] = mapped_column()
    priority: Mapped[bool] = mapped_column(default=False)  # waitlist priority after a bump
    late_cancel: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Gate state: anti-passback needs to know whether the car is inside now.
    inside: Mapped[bool] = mapped_column(default=False)
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Tide markers, so that each notice is sent once.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Ballot: the entry's place in the draw order (1 = first drawn), and for a booking the draw
    # confirmed, the instant of that draw (its recent wins lower a household's weight).
    draw_rank: Mapped[int | None] = mapped_column()
    won_draw_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A night of a monthly pass: the subscription it belongs to.
    subscription_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subscriptions.id", ondelete="CASCADE"))
    # Its pass, written when it takes its space: the nonce and the validity that
    # the token signed when shown carries. A monthly night's pass is its month's.
    pass_nonce: Mapped[bytes | None] = mapped_column(sa.LargeBinary(8))
    pass_not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pass_not_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the tide masked its plate (its night ended longer ago than the retention_days): once.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    window = relationship("Window")
    household = relationship("Household")
    vehicle = relationship("Vehicle")

    @property
    def holds_space(self) -> bool:
        return self.status in SPACE_HOLDING
