"""notification delivery: per channel delivery state and attempts, a garage's webhook to its SMS or
WeChat gateway, and a user's SMS switch

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 02:30:00

"""

from alembic import op
import sqlalchemy as sa

import parking.dbtypes


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

STATES = ("pending", "sent", "failed", "dead", "expired")


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("sms_enabled", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "garage_webhooks",
        sa.Column("garage_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("set_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["garage_id"], ["garages.id"], name=op.f("fk_garage_webhooks_garage_id_garages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("garage_id", name=op.f("pk_garage_webhooks")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("webhook", name="delivery_channel", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("garage_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*STATES, name="delivery_state", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", parking.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("created_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dead_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sms_counted", sa.Boolean(), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notification_deliveries_attempts_nonnegative")),
        sa.ForeignKeyConstraint(
            ["garage_id"], ["garages.id"], name=op.f("fk_notification_deliveries_garage_id_garages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("notification_id", "channel", name="uq_notification_deliveries_channel"),
    )
    op.create_index(
        "ix_notification_deliveries_due", "notification_deliveries", ["state", "next_attempt_at"], unique=False
    )
    op.create_index(
        "ix_notification_deliveries_garage_state",
        "notification_deliveries",
        ["garage_id", "state", "dead_at"],
        unique=False,
    )
    op.create_table(
        "notification_delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_delivery_attempts_delivery_id_notification_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_notification_delivery_attempts_delivery_id"),
        "notification_delivery_attempts",
        ["delivery_id"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_notification_delivery_attempts_delivery_id"), table_name="notification_delivery_attempts")
    op.drop_table("notification_delivery_attempts")
    op.drop_index("ix_notification_deliveries_garage_state", table_name="notification_deliveries")
    op.drop_index("ix_notification_deliveries_due", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_table("garage_webhooks")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sms_enabled")
