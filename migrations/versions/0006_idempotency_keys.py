"""idempotency keys: the first answer to a booking request, per user and key, for 24 h

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:39:47.565092

"""
from alembic import op
import sqlalchemy as sa

import parking.dbtypes


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'  # the current head on main; self-contained otherwise (re-chain freely)
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('created_at', parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(status_code IS NULL) = (response_body IS NULL)', name=op.f('ck_idempotency_keys_answer_complete')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_keys_user_key')
    )


def downgrade():
    op.drop_table('idempotency_keys')
