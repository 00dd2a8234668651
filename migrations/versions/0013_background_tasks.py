"""background tasks: one row per queued, running or ended task (issue 11 §4)

Revision ID: 0013_background_tasks
Revises: 0012_workers_grievances
Create Date: 2026-12-07 05:35:00

The queue (RQ on Redis, or none: inline) carries only a task id; the row is the source of
truth for the progress page on every server: kind, who started it, status, progress,
result, the reason of a failure (a message code), the heartbeat that tells an abandoned
task, and the input a retry needs (an import's file). ``unique_key`` makes the daily
expiry scan happen once per day however many schedulers run.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_background_tasks'
down_revision = '0012_workers_grievances'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'background_tasks',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=40), nullable=True),
        sa.Column('error_params', sa.JSON(), nullable=True),
        sa.Column('notice', sa.String(length=40), nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=True),
        sa.Column('unique_key', sa.String(length=80), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_background_tasks_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_background_tasks')),
        sa.UniqueConstraint('unique_key', name=op.f('uq_background_tasks_unique_key')),
    )
    with op.batch_alter_table('background_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_background_tasks_status'), ['status'],
                              unique=False)
        batch_op.create_index('ix_background_tasks_user_created', ['user_id', 'created_at'],
                              unique=False)


def downgrade():
    op.drop_table('background_tasks')
