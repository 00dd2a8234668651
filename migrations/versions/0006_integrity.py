"""security and integrity: per-user session token, dispatch end time, one open dispatch
per trainee

Revision ID: 0006_integrity
Revises: 0005_documents
Create Date: 2026-12-07 02:20:00

- ``users.session_token``: a per-user secret carried by every session and remember-me
  cookie; rotating it (password change, "log out everywhere") ends them all.
- ``dispatches.closed_at``: when a dispatch ended (an exit or ``completed``); what is
  recorded after it is never shown to that dispatch's employer and agency. Back-filled
  from the audit trail.
- ``uq_dispatches_open_trainee``: a partial unique index, so the database itself refuses
  a second open dispatch of one worker, whatever the timing.
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0006_integrity'
down_revision = '0005_documents'
branch_labels = None
depends_on = None

CLOSED = ("completed", "withdrawn", "denied", "early_return")
OPEN_WHERE = sa.text("stage NOT IN ('completed', 'withdrawn', 'denied', 'early_return')")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(session_token=secrets.token_hex(16)))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64),
                              nullable=False)

    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))
    dispatches = sa.table('dispatches', sa.column('id', sa.Integer),
                          sa.column('stage', sa.String), sa.column('closed_at', sa.DateTime))
    events = sa.table('status_events', sa.column('dispatch_id', sa.Integer),
                      sa.column('to_stage', sa.String), sa.column('at', sa.DateTime))
    ended = (sa.select(sa.func.max(events.c.at))
             .where(events.c.dispatch_id == dispatches.c.id, events.c.to_stage.in_(CLOSED))
             .scalar_subquery())
    conn.execute(dispatches.update().where(dispatches.c.stage.in_(CLOSED))
                 .values(closed_at=ended))

    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.create_index('uq_dispatches_open_trainee', ['trainee_id'], unique=True,
                              sqlite_where=OPEN_WHERE, postgresql_where=OPEN_WHERE)


def downgrade():
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_index('uq_dispatches_open_trainee')
        batch_op.drop_column('closed_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
