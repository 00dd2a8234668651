"""The fee ledger of a dispatch (issue 13 §1): what each worker paid, to whom, and the
exchange rates that turn it into yen for the checks (``matching.fees``).

Amounts are whole units of their currency, stored as integers: neither the đồng nor the yen
has a minor unit in use (no hào or xu, no sen), so an integer is exact, sums exactly in SQL
on SQLite and PostgreSQL alike, and never rounds. Rates are ``Numeric`` (a đồng is about
0.006 yen): a conversion is computed once, in ``Decimal``, and rounded to the yen.
"""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models._common import BigId, random_id, utcnow
from matching.models.dispatch import Dispatch, Document
from matching.models.orgs import User

#: What a charge is for (issue 13 §1), then what goes back to the worker: a refund of
#: service fees (after an early return) and compensation (a worker kept waiting).
CHARGE_KINDS = ("service_fee", "brokerage", "deposit", "training", "language_course",
                "accommodation", "medical", "visa", "flight", "documents", "other")
RETURN_KINDS = ("service_fee_refund", "compensation")
ALL_CHARGE_KINDS = CHARGE_KINDS + RETURN_KINDS
#: Who paid. Refunds and compensation are paid *to* the worker: by the agency or employer.
PAYERS = ("worker", "employer", "agency")
CURRENCIES = ("VND", "JPY")
#: The base currency of the checks: its rate is always 1.
BASE_CURRENCY = "JPY"


class Charge(db.Model):
    """One payment in a dispatch's ledger."""

    __tablename__ = "charges"

    #: Random, not sequential: agencies see it in their URLs (the receipt's download).
    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=random_id)
    dispatch_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("dispatches.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    #: Whole units of ``currency`` (module docstring).
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    paid_on: Mapped[date]
    payer: Mapped[str] = mapped_column(sa.String(12))
    payee: Mapped[str] = mapped_column(sa.String(200), default="")
    receipt_no: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    #: The receipt's file, a dispatch document of kind ``receipt`` (its checks and storage).
    receipt_document_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("documents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    dispatch: Mapped[Dispatch] = relationship()
    receipt_document: Mapped[Document | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class ExchangeRate(db.Model):
    """How many yen one unit of ``currency`` was worth from ``valid_on`` (until the next
    rate of the same currency). An administrator maintains them."""

    __tablename__ = "exchange_rates"
    __table_args__ = (sa.UniqueConstraint("currency", "valid_on",
                                          name="uq_exchange_rates_currency_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    valid_on: Mapped[date]
    rate_to_jpy: Mapped[Decimal] = mapped_column(sa.Numeric(18, 8))
    source: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class FeeFlag(db.Model):
    """One flag of the fee checks on one dispatch, as stored by ``matching.fees.store`` in
    the transaction of the write that changed its facts: the panels read these rows instead
    of checking every ledger of their scope on each view. A flag that waits (a worker kept
    waiting, a refund not paid in time) holds from ``active_from``: read with
    ``active_from <= today``, never recomputed daily."""

    __tablename__ = "fee_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("dispatches.id", ondelete="CASCADE"), index=True)
    #: The flag's order within its dispatch (the rule table's).
    position: Mapped[int] = mapped_column(sa.SmallInteger)
    rule_id: Mapped[str] = mapped_column(sa.String(40))
    amount_jpy: Mapped[int | None] = mapped_column(sa.BigInteger)
    limit_jpy: Mapped[int | None] = mapped_column(sa.BigInteger)
    active_from: Mapped[date | None]
    #: The check's figures (dates as ISO text), the rates used and the charges' ids.
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    rates: Mapped[list] = mapped_column(sa.JSON, default=list)
    charge_ids: Mapped[list] = mapped_column(sa.JSON, default=list)


class FeeTotals(db.Model):
    """What the worker of one dispatch paid, in yen (``matching.fees.Totals``), stored with
    its flags; a dispatch without any payment has no row."""

    __tablename__ = "fee_totals"

    dispatch_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("dispatches.id", ondelete="CASCADE"), primary_key=True)
    #: Payments by the worker (a dispatch with one counts as a worker who paid).
    worker_payments: Mapped[int] = mapped_column(default=0)
    paid_jpy: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    costs_jpy: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    fees_jpy: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    returned_jpy: Mapped[int] = mapped_column(sa.BigInteger, default=0)
