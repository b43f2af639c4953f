from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parking.dbtypes import UTCDateTime, str_enum
from parking.extensions import Base
from parking.masking import Personal, retention_index


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class ScanResult(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CameraDirection(enum.StrEnum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


class PlateEventStatus(enum.StrEnum):
    DECIDED = "decided"  # judged at once: the confidence reached the garage's threshold
    PENDING = "pending"  # below the threshold: waits for an attendant
    CONFIRMED = "confirmed"  # an attendant confirmed (or corrected) the plate; then judged
    DISMISSED = "dismissed"  # an attendant dismissed it; nothing judged


class Scan(Base):
    """One gate event, accepted or rejected, with its reason and actor. A gate device re-sending a
    scan (same garage, same idempotency key) gets the stored answer: the unique key records it once."""

    __tablename__ = "scans"
    __audit_type__ = "scan"
    __personal__ = Personal(at="at", plates=("plate", "plate_seen"))
    __table_args__ = (
        sa.UniqueConstraint("garage_id", "idempotency_key", name="uq_scans_garage_idempotency_key"),
        sa.Index("ix_scans_garage_at", "garage_id", "at"),
        sa.Index("ix_scans_booking", "booking_id"),
        # The managers' list of gate conflicts (offline scans the server judged otherwise).
        sa.Index(
            "ix_scans_garage_conflicts",
            "garage_id",
            "at",
            sqlite_where=sa.text("conflict IS NOT NULL"),
            postgresql_where=sa.text("conflict IS NOT NULL"),
        ),
        retention_index("scans", "at"),
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
    # A scan a gate device judged offline and uploaded later: judged at its device time.
    offline: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offline_result: Mapped[ScanResult | None] = mapped_column(str_enum(ScanResult, "scan_offline_result"))
    conflict: Mapped[str | None] = mapped_column(sa.String(30))
    # The camera event this scan judged (a camera's own decision, or an attendant's confirmation).
    plate_event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("plate_events.id", ondelete="SET NULL"), unique=True
    )
    # When the tide masked its plates (past the garage's retention_days): once, never again.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Camera(Base):
    """A plate-recognition camera at a garage's barrier. Its credential is random and
    shown once; only its SHA-256 is stored (a 256-bit random secret needs no slow hash)."""

    __tablename__ = "cameras"
    __audit_type__ = "camera"
    __table_args__ = (
        sa.Index(
            "uq_cameras_garage_name_active",
            "garage_id",
            "name",
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        ),
        sa.CheckConstraint("active OR revoked_at IS NOT NULL", name="revoked_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    direction: Mapped[CameraDirection] = mapped_column(str_enum(CameraDirection, "camera_direction"))
    credential_hash: Mapped[str] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    garage = relationship("Garage")

    def __repr__(self) -> str:  # never the credential hash
        return f"<Camera {self.id} garage={self.garage_id} {self.name!r} active={self.active}>"


class PlateEvent(Base):
    """One plate read by a camera, stored once per (camera, event id). A decided or confirmed event
    ran the plate scan, whose row (`scan`, by `Scan.plate_event_id`) holds the answer; a pending one
    waits for an attendant."""

    __tablename__ = "plate_events"
    __audit_type__ = "plate_event"
    __personal__ = Personal(at="received_at", plates=("plate", "confirmed_plate"))
    __table_args__ = (
        sa.UniqueConstraint("camera_id", "event_id", name="uq_plate_events_camera_event"),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
        sa.Index(
            "ix_plate_events_garage_pending",
            "garage_id",
            "received_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        retention_index("plate_events", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(sa.ForeignKey("cameras.id", ondelete="CASCADE"))
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(64))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    plate: Mapped[str] = mapped_column(sa.String(16))  # as read (normalised, maybe not a valid plate)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "scan_direction"))
    confidence: Mapped[float] = mapped_column(sa.Float())
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[PlateEventStatus] = mapped_column(str_enum(PlateEventStatus, "plate_event_status"))
    confirmed_plate: Mapped[str | None] = mapped_column(sa.String(16))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the tide masked its plates (past the garage's retention_days): once, never again.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    camera = relationship("Camera")
    scan = relationship("Scan", uselist=False, viewonly=True)
