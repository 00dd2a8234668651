"""model versions in the database

Revision ID: 0010_model_versions
Revises: 0009_issue10_schema
Create Date: 2026-12-07 03:05:00

Every host ranks with the same version and a rollback is one transaction: the versions
live in ``model_versions`` (the JSON files under instance/models/ become an export and
import format: ``model show --json``, ``model import``).
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_model_versions'
down_revision = '0009_issue10_schema'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'model_versions',
        sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('saved_at', sa.DateTime(), nullable=False),
        sa.Column('rolled_back_from', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('version', name=op.f('pk_model_versions')),
    )


def downgrade():
    op.drop_table('model_versions')
