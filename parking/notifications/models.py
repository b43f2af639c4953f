from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from parking.dbtypes import UTCDateTime, str_enum
from parking.extensions import Base
from parking.masking import Personal, retention_index


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
        retention_index("notifications", "created_at"),
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


class DeliveryState(enum.StrEnum):
    """A notification's state on one channel."""

    PENDING = "pending"  # due at `next_attempt_at`
    SENT = "sent"  # the gateway answered 2xx
    FAILED = "failed"  # the last attempt failed; retried at `next_attempt_at`
    DEAD = "dead"  # the last attempt, or a permanent refusal: a manager may send it again
    EXPIRED = "expired"  # never sent: its night ended, or `reason` says why it stays in-app


class Channel(enum.StrEnum):
    WEBHOOK = "webhook"


class Delivery(Base):
    """One notification on one outbound channel (the in-app channel is the outbox itself). A row is
    claimed by one scheduler process at a time through `lease_until`; its id is the `X-Tidal-Delivery`
    header, the same on every attempt."""

    __tablename__ = "notification_deliveries"
    __audit_type__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel", name="uq_notification_deliveries_channel"),
        sa.Index("ix_notification_deliveries_due", "state", "next_attempt_at"),
        sa.Index("ix_notification_deliveries_garage_state", "garage_id", "state", "dead_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "delivery_channel"), default=Channel.WEBHOOK)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState, "delivery_state"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    # Why a message stays in-app only (`expired`): night_ended, sms_daily_limit …
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Counted against the phone's daily SMS allowance (the payload carried an `sms`).
    sms_counted: Mapped[bool] = mapped_column(default=False)


class DeliveryAttempt(Base):
    """One POST to the gateway and what came of it."""

    __tablename__ = "notification_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notification_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(sa.String(200))


class GarageWebhook(Base):
    """A garage's gateway: where its notifications are POSTed and the secret that signs them
    (stored encrypted, so that it can sign; never returned after it is set)."""

    __tablename__ = "garage_webhooks"

    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary())
    # Notifications created before this instant are not sent through it.
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
