"""fee ledger: charges, exchange rates, the contract on the dispatch (issue 13 §1–2)

Revision ID: 0011_fee_ledger
Revises: 0010_model_versions
Create Date: 2026-12-07 05:30:00

- ``charges``: each payment of a dispatch (kind, whole units of VND or JPY, date, payer,
  payee, receipt number and file);
- ``exchange_rates``: yen per unit of a currency from a date on (an admin maintains them);
- ``dispatches``: the signed contract (monthly wage, months, field, prefecture, employer),
  the track stage that caps the service fee at 0, and whether an early return was the
  worker's fault;
- ``job_orders.contract_months`` (None: the visa track's default).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_fee_ledger'
down_revision = '0010_model_versions'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'charges',
        sa.Column('id', BIG_ID, autoincrement=False, nullable=False),
        sa.Column('dispatch_id', BIG_ID, nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('payer', sa.String(length=12), nullable=False),
        sa.Column('payee', sa.String(length=200), nullable=False),
        sa.Column('receipt_no', sa.String(length=64), nullable=True),
        sa.Column('note', sa.String(length=1000), nullable=True),
        sa.Column('receipt_document_id', BIG_ID, nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], ondelete='CASCADE',
                                name=op.f('fk_charges_dispatch_id_dispatches')),
        sa.ForeignKeyConstraint(['receipt_document_id'], ['documents.id'], ondelete='SET NULL',
                                name=op.f('fk_charges_receipt_document_id_documents')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_charges_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_charges')),
    )
    op.create_index(op.f('ix_charges_dispatch_id'), 'charges', ['dispatch_id'])
    op.create_table(
        'exchange_rates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('valid_on', sa.Date(), nullable=False),
        sa.Column('rate_to_jpy', sa.Numeric(18, 8), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_exchange_rates_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates')),
        sa.UniqueConstraint('currency', 'valid_on', name='uq_exchange_rates_currency_day'),
    )
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_wage_jpy', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contract_months', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contract_field', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('contract_prefecture', sa.String(length=32),
                                      nullable=True))
        batch_op.add_column(sa.Column('contract_employer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('track_stage', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('return_worker_fault', sa.Boolean(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_dispatches_contract_employer_id_organisations'),
                                    'organisations', ['contract_employer_id'], ['id'])
    with op.batch_alter_table('job_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_months', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('job_orders', schema=None) as batch_op:
        batch_op.drop_column('contract_months')
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dispatches_contract_employer_id_organisations'),
                                 type_='foreignkey')
        for column in ('return_worker_fault', 'track_stage', 'contract_employer_id',
                       'contract_prefecture', 'contract_field', 'contract_months',
                       'contract_wage_jpy'):
            batch_op.drop_column(column)
    op.drop_table('exchange_rates')
    op.drop_index(op.f('ix_charges_dispatch_id'), table_name='charges')
    op.drop_table('charges')
