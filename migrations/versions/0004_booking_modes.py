"""booking modes: the ballot (requests, seed, commitment, draw) and provisional holiday overrides

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import parking.dbtypes


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_STATUSES = ('confirmed', 'waitlisted', 'checked_in', 'completed', 'cancelled', 'no_show', 'overstayed', 'bumped')
NEW_STATUSES = (*OLD_STATUSES, 'requested')
REQUESTED = sa.text("status = 'requested'")


def _status(values):
    return sa.Enum(*values, name='booking_status', native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table('windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'mode',
            sa.Enum('first_come', 'ballot', name='window_mode', native_enum=False, create_constraint=True, length=20),
            nullable=False,
            server_default='first_come',
        ))
        batch_op.add_column(sa.Column('ballot_closes_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ballot_seed', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('ballot_commitment', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('drawn_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('draw_quota', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('draw_entries', sa.JSON(), nullable=True))
        batch_op.create_index('ix_windows_ballot_due', ['mode', 'drawn_at', 'ballot_closes_at'], unique=False)
        batch_op.create_check_constraint(
            'ballot_drawn_before_booked', "mode <> 'ballot' OR drawn_at IS NOT NULL OR booked = 0"
        )
        batch_op.create_check_constraint(
            'ballot_has_seed',
            "mode <> 'ballot' OR (ballot_seed IS NOT NULL AND ballot_commitment IS NOT NULL "
            "AND ballot_closes_at IS NOT NULL)",
        )
    with op.batch_alter_table('windows', schema=None) as batch_op:
        batch_op.alter_column('mode', server_default=None)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_status(OLD_STATUSES), type_=_status(NEW_STATUSES),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('draw_rank', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('won_draw_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_bookings_household_won', ['household_id', 'won_draw_at'], unique=False)
        batch_op.create_index('uq_bookings_window_household_requested', ['window_id', 'household_id'], unique=True,
                              sqlite_where=REQUESTED, postgresql_where=REQUESTED)
        batch_op.create_index('uq_bookings_window_plate_requested', ['window_id', 'plate'], unique=True,
                              sqlite_where=REQUESTED, postgresql_where=REQUESTED)


    with op.batch_alter_table('quota_overrides', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provisional', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('quota_overrides', schema=None) as batch_op:
        batch_op.alter_column('provisional', server_default=None)


def downgrade():
    with op.batch_alter_table('quota_overrides', schema=None) as batch_op:
        batch_op.drop_column('provisional')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_bookings_window_plate_requested', sqlite_where=REQUESTED, postgresql_where=REQUESTED)
        batch_op.drop_index('uq_bookings_window_household_requested', sqlite_where=REQUESTED,
                            postgresql_where=REQUESTED)
        batch_op.drop_index('ix_bookings_household_won')
        batch_op.drop_column('won_draw_at')
        batch_op.drop_column('draw_rank')
        batch_op.alter_column('status', existing_type=_status(NEW_STATUSES), type_=_status(OLD_STATUSES),
                              existing_nullable=False)

    with op.batch_alter_table('windows', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_windows_ballot_has_seed'), type_='check')
        batch_op.drop_constraint(op.f('ck_windows_ballot_drawn_before_booked'), type_='check')
        batch_op.drop_constraint(op.f('ck_windows_window_mode'), type_='check')
        batch_op.drop_index('ix_windows_ballot_due')
        batch_op.drop_column('draw_entries')
        batch_op.drop_column('draw_quota')
        batch_op.drop_column('drawn_at')
        batch_op.drop_column('ballot_commitment')
        batch_op.drop_column('ballot_seed')
        batch_op.drop_column('ballot_closes_at')
        batch_op.drop_column('mode')
