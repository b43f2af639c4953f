"""one admission path: a pass's nonce and validity written with its booking (and a month's nonce
with its subscription), so that showing a pass writes nothing; the garage rule of monthly passes a
household may hold at once (0: no limit), kept by numbered slots unique per household and month

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa

import parking.dbtypes


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bookings') as batch:
        batch.add_column(sa.Column('pass_nonce', sa.LargeBinary(length=8), nullable=True))
        batch.add_column(sa.Column('pass_not_before', parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('pass_not_after', parking.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch.create_index('ix_bookings_garage_pass_not_after', ['garage_id', 'pass_not_after'], unique=False)
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('pass_nonce', sa.LargeBinary(length=8), nullable=True))
        batch.add_column(sa.Column('household_slot', sa.Integer(), nullable=True))
        batch.create_check_constraint(op.f('ck_subscriptions_household_slot_positive'), 'household_slot >= 1')
        batch.create_index(
            'uq_subscriptions_household_month_slot',
            ['household_id', 'month', 'household_slot'],
            unique=True,
            sqlite_where=sa.text('household_slot IS NOT NULL'),
            postgresql_where=sa.text('household_slot IS NOT NULL'),
        )
    with op.batch_alter_table('garages') as batch:
        batch.add_column(sa.Column('monthly_passes_per_household', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch.create_check_constraint(op.f('ck_garages_monthly_passes_nonnegative'), 'monthly_passes_per_household >= 0')


def downgrade():
    with op.batch_alter_table('garages') as batch:
        batch.drop_constraint(op.f('ck_garages_monthly_passes_nonnegative'), type_='check')
        batch.drop_column('monthly_passes_per_household')
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_index('uq_subscriptions_household_month_slot')
        batch.drop_constraint(op.f('ck_subscriptions_household_slot_positive'), type_='check')
        batch.drop_column('household_slot')
        batch.drop_column('pass_nonce')
    with op.batch_alter_table('bookings') as batch:
        batch.drop_index('ix_bookings_garage_pass_not_after')
        batch.drop_column('pass_not_after')
        batch.drop_column('pass_not_before')
        batch.drop_column('pass_nonce')
