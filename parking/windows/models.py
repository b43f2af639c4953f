from __future__ import annotations

import enum
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parking.dbtypes import UTCDateTime, str_enum
from parking.extensions import Base


class WindowState(enum.StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class TemplateMode(enum.StrEnum):
    FIRST_COME = "first_come"
    BALLOT = "ballot"


def runs_on(weekdays: int, day: date) -> bool:
    """Whether a template with this weekday mask (bit d-1 for ISO weekday d) runs on `day`."""
    return bool(weekdays & (1 << (day.isoweekday() - 1)))


class Garage(Base):
    """A garage and its tide rules; every rule is a per-garage setting."""

    __tablename__ = "garages"
    __audit_type__ = "garage"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
        sa.CheckConstraint(
            "camera_confidence_threshold >= 0 AND camera_confidence_threshold <= 1", name="camera_threshold_range"
        ),
        sa.CheckConstraint("monthly_passes_per_household >= 0", name="monthly_passes_nonnegative"),
        sa.CheckConstraint("retention_days >= 1", name="retention_days_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    name_en: Mapped[str | None] = mapped_column(sa.String(120))
    address: Mapped[str | None] = mapped_column(sa.String(255))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    capacity: Mapped[int] = mapped_column(default=0)

    horizon_days: Mapped[int] = mapped_column(default=14)
    booking_cutoff_minutes: Mapped[int] = mapped_column(default=120)  # after opens_at
    free_cancel_minutes: Mapped[int] = mapped_column(default=0)  # before opens_at: 0 = until opens_at
    early_entry_minutes: Mapped[int] = mapped_column(default=15)
    no_show_minutes: Mapped[int] = mapped_column(default=180)
    reminder_minutes: Mapped[int] = mapped_column(default=30)  # before closes_at
    exit_grace_minutes: Mapped[int] = mapped_column(default=15)
    strike_limit: Mapped[int] = mapped_column(default=3)
    strike_window_days: Mapped[int] = mapped_column(default=30)
    suspension_days: Mapped[int] = mapped_column(default=14)
    bookings_per_household: Mapped[int] = mapped_column(default=1)
    ballot_close_hour: Mapped[int] = mapped_column(default=12)  # local hour on the day before
    # A plate camera's read below this confidence is not decided: an attendant confirms it (8b).
    camera_confidence_threshold: Mapped[float] = mapped_column(sa.Float(), default=0.9, server_default=sa.text("0.9"))
    # Monthly passes a household may hold at once (in one month); 0: no limit.
    monthly_passes_per_household: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    # Plates and phones in what is kept longer than this are masked by the tide (personal information).
    retention_days: Mapped[int] = mapped_column(default=180, server_default=sa.text("180"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    templates = relationship("WindowTemplate", back_populates="garage", order_by="WindowTemplate.id")


class WindowTemplate(Base):
    """A recurring lending window. An end at or before the start means the next day."""

    __tablename__ = "window_templates"
    __audit_type__ = "template"
    __table_args__ = (
        sa.CheckConstraint("default_quota >= 0", name="default_quota_nonnegative"),
        sa.CheckConstraint("weekdays > 0 AND weekdays < 128", name="weekdays_mask"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    weekdays: Mapped[int] = mapped_column(default=0b1111111)  # bit (d-1) for ISO weekday d
    start_time: Mapped[time] = mapped_column(sa.Time())
    end_time: Mapped[time] = mapped_column(sa.Time())
    default_quota: Mapped[int] = mapped_column()
    mode: Mapped[TemplateMode] = mapped_column(str_enum(TemplateMode, "template_mode"), default=TemplateMode.FIRST_COME)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    garage = relationship("Garage", back_populates="templates")

    @property
    def weekday_list(self) -> list[int]:
        return [d for d in range(1, 8) if self.weekdays & (1 << (d - 1))]

    def runs_on(self, day: date) -> bool:
        return runs_on(self.weekdays, day)


class Window(Base):
    """One occurrence of a template. `booked` counts the bookings that hold a space; the row is the
    lock that serialises bookings of the window and the CHECK keeps it within the quota."""

    __tablename__ = "windows"
    __audit_type__ = "window"
    __table_args__ = (
        sa.UniqueConstraint("template_id", "service_date", name="uq_windows_template_date"),
        sa.CheckConstraint("booked <= quota", name="booked_within_quota"),
        sa.CheckConstraint("booked >= 0", name="booked_nonnegative"),
        sa.CheckConstraint("quota >= 0", name="quota_nonnegative"),
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        sa.Index("ix_windows_garage_date", "garage_id", "service_date"),
        sa.Index("ix_windows_state_opens", "state", "opens_at"),
        # A ballot window confirms nobody before its draw, whatever the path.
        sa.CheckConstraint("mode <> 'ballot' OR drawn_at IS NOT NULL OR booked = 0", name="ballot_drawn_before_booked"),
        sa.CheckConstraint(
            "mode <> 'ballot' OR (ballot_seed IS NOT NULL AND ballot_commitment IS NOT NULL "
            "AND ballot_closes_at IS NOT NULL)",
            name="ballot_has_seed",
        ),
        # The tide finds the draws that are due.
        sa.Index("ix_windows_ballot_due", "mode", "drawn_at", "ballot_closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("window_templates.id", ondelete="CASCADE"))
    service_date: Mapped[date] = mapped_column(sa.Date())
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    quota: Mapped[int] = mapped_column()
    booked: Mapped[int] = mapped_column(default=0)
    state: Mapped[WindowState] = mapped_column(str_enum(WindowState, "window_state"), default=WindowState.PLANNED)
    closed_reason: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Ballot. The seed is secret until the draw; its SHA-256 is published.
    mode: Mapped[TemplateMode] = mapped_column(str_enum(TemplateMode, "window_mode"), default=TemplateMode.FIRST_COME)
    ballot_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ballot_seed: Mapped[str | None] = mapped_column(sa.String(64))  # hex of 32 random bytes
    ballot_commitment: Mapped[str | None] = mapped_column(sa.String(64))  # hex SHA-256 of the seed
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    draw_quota: Mapped[int | None] = mapped_column()
    #: The published draw: entries in draw order, as they were at the draw (never rewritten).
    draw_entries: Mapped[list[dict] | None] = mapped_column(sa.JSON(), deferred=True)

    garage = relationship("Garage")
    template = relationship("WindowTemplate")

    @property
    def available(self) -> int:
        return max(self.quota - self.booked, 0)

    @property
    def awaits_draw(self) -> bool:
        """A ballot window whose draw has not run: it takes requests, it confirms nobody."""
        return self.mode == TemplateMode.BALLOT and self.drawn_at is None

    def state_at(self, now: datetime) -> WindowState:
        """The state from the instants and the clock, whether or not the tide job has run."""
        if self.state == WindowState.CANCELLED:
            return WindowState.CANCELLED
        if now < self.opens_at:
            return WindowState.PLANNED
        if now < self.closes_at:
            return WindowState.OPEN
        return WindowState.CLOSED
