"""gate: offline scans (device time, conflicts), plate cameras and their events

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import parking.dbtypes

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("garages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("camera_confidence_threshold", sa.Float(), server_default=sa.text("0.9"), nullable=False)
        )
        batch_op.create_check_constraint(
            "camera_threshold_range", "camera_confidence_threshold >= 0 AND camera_confidence_threshold <= 1"
        )

    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offline", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("device_time", parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "offline_result",
                sa.Enum(
                    "accepted", "rejected", name="scan_offline_result", native_enum=False, create_constraint=True, length=20
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("conflict", sa.String(length=30), nullable=True))
        batch_op.create_index(
            "ix_scans_garage_conflicts",
            ["garage_id", "at"],
            unique=False,
            sqlite_where=sa.text("conflict IS NOT NULL"),
            postgresql_where=sa.text("conflict IS NOT NULL"),
        )

    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("garage_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("in", "out", "both", name="camera_direction", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("credential_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("active OR revoked_at IS NOT NULL", name=op.f("ck_cameras_revoked_has_time")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_cameras_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["garage_id"], ["garages.id"], name=op.f("fk_cameras_garage_id_garages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cameras_garage_id"), ["garage_id"], unique=False)
        batch_op.create_index(
            "uq_cameras_garage_name_active",
            ["garage_id", "name"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "plate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("garage_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("in", "out", name="scan_direction", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("captured_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "decided",
                "pending",
                "confirmed",
                "dismissed",
                name="plate_event_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("confirmed_plate", sa.String(length=16), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name=op.f("ck_plate_events_confidence_range")),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_plate_events_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["garage_id"], ["garages.id"], name=op.f("fk_plate_events_garage_id_garages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_plate_events_resolved_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_events")),
        sa.UniqueConstraint("camera_id", "event_id", name="uq_plate_events_camera_event"),
    )
    with op.batch_alter_table("plate_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plate_events_garage_pending",
            ["garage_id", "received_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plate_event_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_scans_plate_event_id"), ["plate_event_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_scans_plate_event_id_plate_events"),
            "plate_events",
            ["plate_event_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_scans_plate_event_id_plate_events"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_scans_plate_event_id"), type_="unique")
        batch_op.drop_column("plate_event_id")
    with op.batch_alter_table("plate_events", schema=None) as batch_op:
        batch_op.drop_index("ix_plate_events_garage_pending")
    op.drop_table("plate_events")
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.drop_index("uq_cameras_garage_name_active")
        batch_op.drop_index(batch_op.f("ix_cameras_garage_id"))
    op.drop_table("cameras")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index("ix_scans_garage_conflicts")
        batch_op.drop_column("conflict")
        batch_op.drop_column("offline_result")
        batch_op.drop_column("device_time")
        batch_op.drop_column("offline")
    with op.batch_alter_table("garages", schema=None) as batch_op:
        batch_op.drop_constraint("camera_threshold_range", type_="check")
        batch_op.drop_column("camera_confidence_threshold")
