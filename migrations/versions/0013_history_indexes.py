"""history indexes: occupancy finds the cars inside among a garage's years of bookings, and the
retention pass the rows not masked yet by their instant (docs/history-plans.md)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 06:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OCCUPYING = "inside IS true OR status = 'overstayed'"
NOT_MASKED = "anonymised_at IS NULL"
#: (table, the column that dates its rows): the models' `retention_index`.
RETENTION = (
    ("audit_events", "at"),
    ("bookings", "updated_at"),
    ("notifications", "created_at"),
    ("plate_events", "received_at"),
    ("scans", "at"),
)


def upgrade():
    op.create_index(
        "ix_bookings_garage_occupancy",
        "bookings",
        ["garage_id"],
        sqlite_where=sa.text(OCCUPYING),
        postgresql_where=sa.text(OCCUPYING),
    )
    for table, at in RETENTION:
        op.create_index(
            f"ix_{table}_retention_due",
            table,
            [at],
            sqlite_where=sa.text(NOT_MASKED),
            postgresql_where=sa.text(NOT_MASKED),
        )


def downgrade():
    for table, _ in RETENTION:
        op.drop_index(f"ix_{table}_retention_due", table_name=table)
    op.drop_index("ix_bookings_garage_occupancy", table_name="bookings")
