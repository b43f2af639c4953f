from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from parking.dbtypes import UTCDateTime
from parking.extensions import Base
from parking.masking import Personal


class Notification(Base):
    """The outbox: one row per message per user. The text is rendered in the reader's language
    from `kind` and `params`; `delivered_at` is set by whichever channel delivers it."""

    __tablename__ = "notifications"
    __personal__ = Personal(at="created_at", texts=("params",), garage=None)
    __table_args__ = (
        sa.Index("ix_notifications_user_id", "user_id", "id"),
        sa.Index("ix_notifications_undelivered", "delivered_at", "id"),
        # One notice of a kind about a booking per user: the tide may run twice, the user hears once.
        sa.Index(
            "uq_notifications_dedupe",
            "user_id",
            "dedupe_key",
            unique=True,
            sqlite_where=sa.text("dedupe_key IS NOT NULL"),
            postgresql_where=sa.text("dedupe_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON(), default=dict)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the tide masked the plates and phones of its text (past the retention_days): once.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
