from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from parking.dbtypes import UTCDateTime, str_enum
from parking.extensions import Base


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class ScanResult(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Scan(Base):
    """One gate event, accepted or rejected, with its reason and actor. A gate device re-sending a
    scan (same garage, same idempotency key) gets the stored answer: the unique key records it once."""

    __tablename__ = "scans"
    __audit_type__ = "scan"
    __table_args__ = (
        sa.UniqueConstraint("garage_id", "idempotency_key", name="uq_scans_garage_idempotency_key"),
        sa.Index("ix_scans_garage_at", "garage_id", "at"),
        sa.Index("ix_scans_booking", "booking_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(64))
    # What was asked, so that a key re-used for a different scan is told apart from a re-send.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    device: Mapped[str | None] = mapped_column(sa.String(64))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "scan_direction"))
    by_plate: Mapped[bool] = mapped_column(default=False)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", ondelete="SET NULL"))
    plate: Mapped[str | None] = mapped_column(sa.String(16))
    plate_seen: Mapped[str | None] = mapped_column(sa.String(16))
    result: Mapped[ScanResult] = mapped_column(str_enum(ScanResult, "scan_result"))
    reason: Mapped[str | None] = mapped_column(sa.String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
