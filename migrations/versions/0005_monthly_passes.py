"""monthly passes: offers, subscriptions and their statements; bookings and passes name a subscription

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import parking.dbtypes


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'  # the current head on main; self-contained otherwise (re-chain freely)
branch_labels = None
depends_on = None

PASS_OWNER = (
    "(booking_id IS NOT NULL AND subscription_id IS NULL) OR (booking_id IS NULL AND subscription_id IS NOT NULL)"
)


def upgrade():
    op.create_table('monthly_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('garage_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('fee', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('monthly_share', sa.Numeric(precision=4, scale=3), nullable=False),
    sa.Column('sale_starts_on', sa.Date(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_monthly_offers_fee_nonnegative')),
    sa.CheckConstraint('monthly_share > 0 AND monthly_share <= 1', name=op.f('ck_monthly_offers_share_in_range')),
    sa.ForeignKeyConstraint(['garage_id'], ['garages.id'], name=op.f('fk_monthly_offers_garage_id_garages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['window_templates.id'], name=op.f('fk_monthly_offers_template_id_window_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_offers')),
    sa.UniqueConstraint('template_id', name=op.f('uq_monthly_offers_template_id'))
    )
    with op.batch_alter_table('monthly_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monthly_offers_garage_id'), ['garage_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('garage_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=8), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('fee', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('nights_planned', sa.Integer(), nullable=False),
    sa.Column('nights_booked', sa.Integer(), nullable=False),
    sa.Column('renewal_of_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_subscriptions_fee_nonnegative')),
    sa.CheckConstraint('nights_booked >= 1 AND nights_booked <= nights_planned', name=op.f('ck_subscriptions_nights_counted')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_subscriptions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['garage_id'], ['garages.id'], name=op.f('fk_subscriptions_garage_id_garages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_subscriptions_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['renewal_of_id'], ['subscriptions.id'], name=op.f('fk_subscriptions_renewal_of_id_subscriptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['window_templates.id'], name=op.f('fk_subscriptions_template_id_window_templates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_subscriptions_vehicle_id_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('template_id', 'month', 'household_id', name='uq_subscriptions_template_month_household'),
    sa.UniqueConstraint('template_id', 'month', 'plate', name='uq_subscriptions_template_month_plate')
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_garage_month', ['garage_id', 'month'], unique=False)
        batch_op.create_index('ix_subscriptions_household_month', ['household_id', 'month'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('monthly_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('garage_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('paid_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('receipt_number', sa.String(length=40), nullable=True),
    sa.Column('paid_total', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        '(paid_at IS NULL AND receipt_number IS NULL AND paid_total IS NULL) OR '
        '(paid_at IS NOT NULL AND receipt_number IS NOT NULL AND paid_total IS NOT NULL)',
        name=op.f('ck_monthly_statements_paid_with_receipt'),
    ),
    sa.ForeignKeyConstraint(['garage_id'], ['garages.id'], name=op.f('fk_monthly_statements_garage_id_garages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_monthly_statements_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['paid_by_id'], ['users.id'], name=op.f('fk_monthly_statements_paid_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_statements')),
    sa.UniqueConstraint('garage_id', 'receipt_number', name='uq_monthly_statements_garage_receipt'),
    sa.UniqueConstraint('household_id', 'month', name='uq_monthly_statements_household_month')
    )
    with op.batch_alter_table('monthly_statements', schema=None) as batch_op:
        batch_op.create_index('ix_monthly_statements_garage_month', ['garage_id', 'month'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_bookings_subscription_id_subscriptions'), 'subscriptions', ['subscription_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_index('uq_bookings_subscription_window', ['subscription_id', 'window_id'], unique=True)

    with op.batch_alter_table('passes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_id', sa.Integer(), nullable=True))
        batch_op.alter_column('booking_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f('fk_passes_subscription_id_subscriptions'), 'subscriptions', ['subscription_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_unique_constraint(batch_op.f('uq_passes_subscription_id'), ['subscription_id'])
        batch_op.create_check_constraint('of_booking_or_subscription', PASS_OWNER)


def downgrade():
    with op.batch_alter_table('passes', schema=None) as batch_op:
        batch_op.drop_constraint('of_booking_or_subscription', type_='check')
        batch_op.drop_constraint(batch_op.f('uq_passes_subscription_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_passes_subscription_id_subscriptions'), type_='foreignkey')
        batch_op.alter_column('booking_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('subscription_id')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_bookings_subscription_window')
        batch_op.drop_constraint(batch_op.f('fk_bookings_subscription_id_subscriptions'), type_='foreignkey')
        batch_op.drop_column('subscription_id')
    with op.batch_alter_table('monthly_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_monthly_statements_garage_month')
    op.drop_table('monthly_statements')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_vehicle_id'))
        batch_op.drop_index('ix_subscriptions_household_month')
        batch_op.drop_index('ix_subscriptions_garage_month')
    op.drop_table('subscriptions')
    with op.batch_alter_table('monthly_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monthly_offers_garage_id'))
    op.drop_table('monthly_offers')
