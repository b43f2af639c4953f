from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from parking.dbtypes import UTCDateTime
from parking.extensions import Base


class QuotaOverride(Base):
    """A manager's rule for a date range (optionally some weekdays) of one template: a quota, or
    closed. The most specific rule wins: a single date over a range over the template default."""

    __tablename__ = "quota_overrides"
    __audit_type__ = "override"
    __table_args__ = (
        sa.CheckConstraint("end_date >= start_date", name="range_ordered"),
        sa.CheckConstraint("closed OR quota IS NOT NULL", name="quota_or_closed"),
        sa.CheckConstraint("quota IS NULL OR quota >= 0", name="quota_nonnegative"),
        sa.Index("ix_quota_overrides_template_dates", "template_id", "start_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("window_templates.id", ondelete="CASCADE"))
    start_date: Mapped[date] = mapped_column(sa.Date())
    end_date: Mapped[date] = mapped_column(sa.Date())
    weekdays: Mapped[int | None] = mapped_column()  # bit mask like WindowTemplate.weekdays; None = all
    quota: Mapped[int | None] = mapped_column()
    closed: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(sa.String(255))
    source: Mapped[str] = mapped_column(sa.String(20), default="manual")  # manual | holiday
    # A holiday preset built before the official arrangement of its year was installed.
    provisional: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def applies_to(self, day: date) -> bool:
        if not (self.start_date <= day <= self.end_date):
            return False
        return self.weekdays is None or bool(self.weekdays & (1 << (day.isoweekday() - 1)))

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Higher wins: a single date, then the narrowest range, then the newest rule."""
        span = (self.end_date - self.start_date).days
        return (1 if span == 0 else 0, -span, self.id or 0)
