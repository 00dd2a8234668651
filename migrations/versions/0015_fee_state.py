"""fee state: each dispatch's stored flags and totals (issue 13, read by the panels)

Revision ID: 0015_fee_state
Revises: 0014_api_tokens
Create Date: 2026-12-07 14:30:00

- ``fee_flags``: one row per flag of the fee checks on a dispatch (rule, amount and limit in
  yen, the figures the explanation shows, the rates used), with ``active_from`` for a flag
  that waits (read with ``active_from <= today``);
- ``fee_totals``: what the worker of a dispatch paid, in yen (costs, fees, returned).

Both are written by ``matching.fees.store`` in the transaction of each write that changes a
ledger's facts. After this upgrade run ``flask --app matching fees rebuild`` once to fill
them for the dispatches already recorded.
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_fee_state"
down_revision = "0014_api_tokens"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "fee_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", BIG_ID, nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("amount_jpy", sa.BigInteger(), nullable=True),
        sa.Column("limit_jpy", sa.BigInteger(), nullable=True),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.Column("charge_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatches.id"], ondelete="CASCADE",
                                name=op.f("fk_fee_flags_dispatch_id_dispatches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_flags")),
    )
    op.create_index(op.f("ix_fee_flags_dispatch_id"), "fee_flags", ["dispatch_id"])
    op.create_table(
        "fee_totals",
        sa.Column("dispatch_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("worker_payments", sa.Integer(), nullable=False),
        sa.Column("paid_jpy", sa.BigInteger(), nullable=False),
        sa.Column("costs_jpy", sa.BigInteger(), nullable=False),
        sa.Column("fees_jpy", sa.BigInteger(), nullable=False),
        sa.Column("returned_jpy", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatches.id"], ondelete="CASCADE",
                                name=op.f("fk_fee_totals_dispatch_id_dispatches")),
        sa.PrimaryKeyConstraint("dispatch_id", name=op.f("pk_fee_totals")),
    )


def downgrade():
    op.drop_table("fee_totals")
    op.drop_index(op.f("ix_fee_flags_dispatch_id"), table_name="fee_flags")
    op.drop_table("fee_flags")
