"""workers and grievances (issue 13 §3–4)

Revision ID: 0012_workers_grievances
Revises: 0011_fee_ledger
Create Date: 2026-12-07 05:40:00

- ``users.trainee_id``: a worker account is linked to exactly one trainee (unique);
- ``worker_invitations``: one-time links (only the digest of the secret is stored);
- ``wage_reports``: the wage a worker was paid for a month of a dispatch;
- ``grievances`` and their append-only ``grievance_events``.
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_workers_grievances"
down_revision = "0011_fee_ledger"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trainee_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_trainee_id"), ["trainee_id"])
        batch_op.create_foreign_key(batch_op.f("fk_users_trainee_id_trainees"), "trainees",
                                    ["trainee_id"], ["id"], ondelete="CASCADE")
    op.create_table(
        "worker_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["trainee_id"], ["trainees.id"], ondelete="CASCADE",
                                name=op.f("fk_worker_invitations_trainee_id_trainees")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_worker_invitations_created_by_id_users")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["users.id"],
                                name=op.f("fk_worker_invitations_revoked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_worker_invitations_token_hash")),
    )
    op.create_index(op.f("ix_worker_invitations_trainee_id"), "worker_invitations",
                    ["trainee_id"])
    op.create_table(
        "wage_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", BIG_ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount_jpy", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatches.id"], ondelete="CASCADE",
                                name=op.f("fk_wage_reports_dispatch_id_dispatches")),
        sa.ForeignKeyConstraint(["reported_by_id"], ["users.id"],
                                name=op.f("fk_wage_reports_reported_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wage_reports")),
        sa.UniqueConstraint("dispatch_id", "month", name="uq_wage_reports_dispatch_month"),
    )
    op.create_index(op.f("ix_wage_reports_dispatch_id"), "wage_reports", ["dispatch_id"])
    op.create_table(
        "grievances",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", BIG_ID, nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("agency_may_see", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("by_worker", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_path", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["trainee_id"], ["trainees.id"], ondelete="CASCADE",
                                name=op.f("fk_grievances_trainee_id_trainees")),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatches.id"], ondelete="SET NULL",
                                name=op.f("fk_grievances_dispatch_id_dispatches")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_grievances_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grievances")),
    )
    for column in ("trainee_id", "dispatch_id", "category", "state", "created_at"):
        op.create_index(op.f(f"ix_grievances_{column}"), "grievances", [column])
    op.create_table(
        "grievance_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grievance_id", BIG_ID, nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grievance_id"], ["grievances.id"], ondelete="CASCADE",
                                name=op.f("fk_grievance_events_grievance_id_grievances")),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"],
                                name=op.f("fk_grievance_events_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grievance_events")),
    )
    op.create_index(op.f("ix_grievance_events_grievance_id"), "grievance_events",
                    ["grievance_id"])


def downgrade():
    op.drop_index(op.f("ix_grievance_events_grievance_id"), table_name="grievance_events")
    op.drop_table("grievance_events")
    for column in ("trainee_id", "dispatch_id", "category", "state", "created_at"):
        op.drop_index(op.f(f"ix_grievances_{column}"), table_name="grievances")
    op.drop_table("grievances")
    op.drop_index(op.f("ix_wage_reports_dispatch_id"), table_name="wage_reports")
    op.drop_table("wage_reports")
    op.drop_index(op.f("ix_worker_invitations_trainee_id"), table_name="worker_invitations")
    op.drop_table("worker_invitations")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_trainee_id_trainees"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_users_trainee_id"), type_="unique")
        batch_op.drop_column("trainee_id")
