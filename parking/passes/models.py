from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parking.dbtypes import UTCDateTime
from parking.extensions import Base


class PassKey(Base):
    """A garage's Ed25519 signing key. The private half is stored encrypted (Fernet, with a key
    derived from SECRET_KEY) and never leaves `parking.passes.services`. The key without
    `retired_at` signs new passes; a retired key stays published while its passes can be used."""

    __tablename__ = "pass_keys"
    __audit_type__ = "pass_key"
    __table_args__ = (
        # One signing key per garage, even when two first uses race.
        sa.Index(
            "uq_pass_keys_active_garage",
            "garage_id",
            unique=True,
            sqlite_where=sa.text("retired_at IS NULL"),
            postgresql_where=sa.text("retired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), index=True)
    kid: Mapped[str] = mapped_column(sa.String(16), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    private_key_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # never the private key, not even encrypted
        return f"<PassKey {self.kid} garage={self.garage_id} retired_at={self.retired_at}>"


class Pass(Base):
    """The pass of a booking, or of a monthly subscription (one pass for its nights): issued once,
    so the token is stable (renders are cached by it); revocation is by booking id, and for a
    subscription by its nights."""

    __tablename__ = "passes"
    __audit_type__ = "pass"
    __table_args__ = (
        sa.Index("ix_passes_garage_not_after", "garage_id", "not_after"),
        sa.CheckConstraint(
            "(booking_id IS NOT NULL AND subscription_id IS NULL) OR "
            "(booking_id IS NULL AND subscription_id IS NOT NULL)",
            name="of_booking_or_subscription",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), unique=True
    )
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    kid: Mapped[str] = mapped_column(sa.ForeignKey("pass_keys.kid", ondelete="CASCADE"), index=True)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary(8))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    token: Mapped[str] = mapped_column(sa.String(400))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())

    booking = relationship("Booking")
