"""personal information: a garage's retention_days (default 180), after which the tide masks
plates and phones in scans, plate events, notifications, bookings and audit values, marking each
row once (anonymised_at); an erased account's deleted_at; and the phones the audit trail held in
clear (`user.created` stored `after.phone`) masked in the existing rows

Revision ID: 0011
Revises: 0010

"""

import json

import sqlalchemy as sa
from alembic import op

import parking.dbtypes
from parking.masking import mask_values

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MARKED = ("scans", "plate_events", "notifications", "bookings", "audit_events")

audit_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("reason", sa.String),
)


def _mask_audit_phones() -> None:
    """Every phone number in an existing audit value, masked (plates stay until the retention)."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(audit_events.c.id, audit_events.c.before, audit_events.c.after, audit_events.c.reason))
    for row in rows.all():
        before, after = (mask_values(v, plates=False) for v in (row.before, row.after))
        reason = mask_values(row.reason, plates=False)
        if json.dumps([before, after, reason]) != json.dumps([row.before, row.after, row.reason]):
            conn.execute(
                audit_events.update()
                .where(audit_events.c.id == row.id)
                .values(before=before, after=after, reason=reason)
            )


def upgrade():
    with op.batch_alter_table("garages") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), server_default=sa.text("180"), nullable=False))
        batch.create_check_constraint(op.f("ck_garages_retention_days_positive"), "retention_days >= 1")
    for table in MARKED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("anonymised_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("deleted_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
    _mask_audit_phones()


def downgrade():
    # The masked phones stay masked: a masked number cannot be unmasked.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deleted_at")
    for table in reversed(MARKED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("anonymised_at")
    with op.batch_alter_table("garages") as batch:
        batch.drop_constraint(op.f("ck_garages_retention_days_positive"), type_="check")
        batch.drop_column("retention_days")
