"""job-order requirements, user time zones, replaced and withdrawn documents, skill aliases

Revision ID: 0009_issue10_schema
Revises: 0008_registry_version
Create Date: 2026-12-07 03:00:00

- ``job_orders.language_is_hard`` / ``start_window_days``: the employer's requirements as
  filters (below the minimum Japanese level excluded; available later than start date +
  window excluded);
- ``users.timezone``: the zone each user reads times in (default by organisation);
- ``documents.status`` (current, superseded, withdrawn), ``replaced_by_id``, and who
  withdrew a document, when and why: only the current document of a kind counts;
- ``skill_aliases``: what an admin mapped onto the skill vocabulary (a custom skill seen in
  real files becomes an alias of a vocabulary skill).
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_issue10_schema'
down_revision = '0008_registry_version'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table('job_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_is_hard', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('start_window_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), nullable=False,
                                      server_default='current'))
        batch_op.add_column(sa.Column('replaced_by_id', BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdraw_reason', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_documents_replaced_by_id_documents'),
                                    'documents', ['replaced_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_documents_withdrawn_by_id_users'),
                                    'users', ['withdrawn_by_id'], ['id'])
    op.create_table(
        'skill_aliases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alias', sa.String(length=120), nullable=False),
        sa.Column('slug', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_skill_aliases_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_aliases')),
        sa.UniqueConstraint('alias', name=op.f('uq_skill_aliases_alias')),
    )


def downgrade():
    op.drop_table('skill_aliases')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_documents_withdrawn_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_documents_replaced_by_id_documents'),
                                 type_='foreignkey')
        for column in ('withdraw_reason', 'withdrawn_by_id', 'withdrawn_at', 'replaced_by_id',
                       'status'):
            batch_op.drop_column(column)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('timezone')
    with op.batch_alter_table('job_orders', schema=None) as batch_op:
        batch_op.drop_column('start_window_days')
        batch_op.drop_column('language_is_hard')
