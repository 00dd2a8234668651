"""registry version: an O(1) check that the ranking pool is current, and the delta

Revision ID: 0008_registry_version
Revises: 0007_random_ids
Create Date: 2026-12-07 02:50:00

``registry_state`` holds one row: ``version`` goes up by one in every transaction that
changes trainees (it is bumped in that same transaction), and ``full_since`` is the
version from which a cached pool must be rebuilt whole (a trainee was deleted). Each
trainee row carries the ``registry_version`` of its last change, indexed, so a worker
holding the pool of version V reads only the rows changed since V.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_registry_version'
down_revision = '0007_random_ids'
branch_labels = None
depends_on = None


def upgrade():
    state = op.create_table(
        'registry_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('full_since', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_state')),
    )
    op.bulk_insert(state, [{"id": 1, "version": 1, "full_since": 1}])
    with op.batch_alter_table('trainees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registry_version', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.create_index(batch_op.f('ix_trainees_registry_version'), ['registry_version'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('trainees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainees_registry_version'))
        batch_op.drop_column('registry_version')
    op.drop_table('registry_state')
