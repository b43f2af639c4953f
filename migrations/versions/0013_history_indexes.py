"""history indexes: occupancy finds the cars inside among a garage's years of bookings, and the
retention pass the rows not masked yet by their instant (docs/benchmarks.md, "Years of history")

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
    # On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction: a
    # plain CREATE INDEX holds a SHARE lock that stops every booking, scan and notification write
    # to the table while years of rows are indexed (docs/operations.md, "Upgrading a large
    # database"). An index left invalid by a failed concurrent build is dropped and built again.
    postgresql = op.get_context().dialect.name == "postgresql"
    if not postgresql:
        _create_indexes()
        return
    with op.get_context().autocommit_block():
        for name, _table, _columns, _where in _INDEXES:
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        _create_indexes(postgresql_concurrently=True)


def _create_indexes(**options):
    for name, table, columns, where in _INDEXES:
        op.create_index(name, table, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where), **options)


#: (name, table, columns, the partial index's predicate)
_INDEXES = [
    ("ix_bookings_garage_occupancy", "bookings", ["garage_id"], OCCUPYING),
    *((f"ix_{table}_retention_due", table, [at], NOT_MASKED) for table, at in RETENTION),
]


def downgrade():
    for name, table, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
