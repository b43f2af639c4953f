from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from parking.dbtypes import UTCDateTime
from parking.extensions import Base

KEY_MAX_LENGTH = 255


class IdempotencyKey(Base):
    """One key a user sent with a request that books, and the answer it got. Written in the same
    transaction as the booking it answers, so a try that failed leaves no row; the unique index
    makes a second request with the key wait until the first commits or rolls back."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        sa.CheckConstraint("(status_code IS NULL) = (response_body IS NULL)", name="answer_complete"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(KEY_MAX_LENGTH))
    # sha256 of the method, the path and the canonical body: a key sent again with another request
    # is told apart from a re-send.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    # The answer; empty only while the first request runs (never committed so).
    status_code: Mapped[int | None] = mapped_column(sa.SmallInteger)
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
