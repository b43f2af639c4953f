from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from parking.dbtypes import UTCDateTime
from parking.extensions import Base
from parking.masking import Personal, retention_index


class AuditEvent(Base):
    """Who did what to which object, when, with before/after values and a reason (invariant 4)."""

    __tablename__ = "audit_events"
    __personal__ = Personal(at="at", texts=("before", "after", "reason"))
    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id", "id"),
        sa.Index("ix_audit_events_garage_at", "garage_id", "at"),
        sa.Index("ix_audit_events_actor", "actor_id"),
        retention_index("audit_events", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))  # None: system
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str] = mapped_column(sa.String(30))
    object_id: Mapped[int] = mapped_column(sa.BigInteger())
    garage_id: Mapped[int | None] = mapped_column()
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON())
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON())
    reason: Mapped[str | None] = mapped_column(sa.String(255))
    # When the tide masked the plates and phones in its values (past the retention_days): once.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
