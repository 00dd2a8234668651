"""unguessable ids for dispatches and documents

Revision ID: 0007_random_ids
Revises: 0006_integrity
Create Date: 2026-12-07 02:20:00

Employers and agencies see dispatch and document ids in their URLs; new rows get random
64-bit ids (``models._common.random_id``), so one id tells nothing about another nor how
many there are. PostgreSQL's columns become BIGINT; SQLite's INTEGER already holds 64 bits
(and re-creating the table there would cascade-delete the documents), so nothing changes
on SQLite.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_random_ids'
down_revision = '0006_integrity'
branch_labels = None
depends_on = None

COLUMNS = (("status_events", "dispatch_id"), ("documents", "dispatch_id"),
           ("documents", "id"), ("dispatches", "id"))


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, existing_type=sa.Integer(), type_=sa.BigInteger())


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in reversed(COLUMNS):
        op.alter_column(table, column, existing_type=sa.BigInteger(), type_=sa.Integer())
