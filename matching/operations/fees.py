"""Writes of the fee ledger (issue 13 §1): charges, the signed contract, exchange rates.

Each checks, flushes and returns; the request or command commits. Refusals are
``OperationError`` (``DispatchError`` on a dispatch), their messages translated.

- A charge: the dispatch's agency (or an admin, or the CLI) records it; its amount is whole
  units of VND or JPY (``models.fees``); a currency with no exchange rate on or before the
  payment date is refused (``fees.rates.NoRate``), never checked with a wrong figure; the
  receipt's file is a dispatch document of kind ``receipt`` (``documents.add_document``: the
  same file checks and storage as every document).
- The contract: prefilled from the job order when the dispatch reaches ``contracted``
  (``prefill_contract``, called by ``dispatch.write_move``); the agency corrects it.
- A rate: an administrator sets the rate of a currency from a date on. Rates are never
  deleted nor moved to another date, so a charge that could be converted always can.

Each write recomputes the stored flags and totals of the dispatches it changed
(``fees.store.refresh_dispatches``), in its own transaction.
"""

import logging
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from matching import access
from matching.extensions import db
from matching.fees.rates import RateTable
from matching.fees.store import rate_dispatches, refresh_dispatches
from matching.i18n import _l
from matching.models import (
    ALL_CHARGE_KINDS,
    CURRENCIES,
    PAYERS,
    RETURN_KINDS,
    Charge,
    Dispatch,
    ExchangeRate,
    Organisation,
)
from matching.models.dispatch import RECEIPT_KIND, TRACK_STAGES
from matching.models.fees import BASE_CURRENCY
from matching.operations.documents import add_document, withdraw_document
from matching.operations.errors import DispatchError, OperationError
from matching.validation import PAST_EVENT, InvalidValue, check_date
from matching.vocab import FIELDS, PREFECTURES

log = logging.getLogger(__name__)

#: Amounts above this are typos (a hundred billion đồng is about ¥600 million).
MAX_AMOUNT = 100_000_000_000
MAX_WAGE = 10_000_000  # yen a month, as for job orders
MAX_CONTRACT_MONTHS = 120
PAYEE_LIMIT, RECEIPT_LIMIT, NOTE_LIMIT = 200, 64, 1000
MAX_RATE = Decimal("100000")


def _refused(message, field=None, code="invalid"):
    return DispatchError(message, field=field, code=code)


def check_charge(*, kind: str, amount: int, currency: str, paid_on: date, payer: str,
                 payee: str | None = None, receipt_no: str | None = None,
                 note: str | None = None) -> dict:
    """The charge's values, cleaned, or ``DispatchError`` naming the field (the form and
    the import share it)."""
    if kind not in ALL_CHARGE_KINDS:
        raise _refused(_l("Choose what the payment was for from the list."), "kind")
    if currency not in CURRENCIES:
        raise _refused(_l("The currency must be VND or JPY."), "currency")
    if payer not in PAYERS:
        raise _refused(_l("Choose who paid from the list."), "payer")
    if kind in RETURN_KINDS and payer == "worker":
        raise _refused(_l("A refund or compensation is paid to the worker, by the agency or "
                          "the employer."), "payer")
    if not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise _refused(_l("The amount must be a whole number above 0 (VND and JPY have no "
                          "decimals)."), "amount")
    try:
        check_date(paid_on, "paid_on", PAST_EVENT)
    except InvalidValue as exc:
        raise _refused(exc.message, "paid_on") from None
    texts = {}
    for name, value, limit in (("payee", payee, PAYEE_LIMIT),
                               ("receipt_no", receipt_no, RECEIPT_LIMIT),
                               ("note", note, NOTE_LIMIT)):
        value = " ".join((value or "").split())
        if len(value) > limit:
            raise _refused(_l("This text is longer than %(limit)d characters.", limit=limit),
                           name)
        texts[name] = value
    return {"kind": kind, "amount": amount, "currency": currency, "paid_on": paid_on,
            "payer": payer, "payee": texts["payee"], "receipt_no": texts["receipt_no"] or None,
            "note": texts["note"] or None}


def record_charge(user, dispatch: Dispatch, *, upload: FileStorage | None = None,
                  rates: RateTable | None = None, **values) -> Charge:
    """Record one payment on ``dispatch``'s ledger (``check_charge``'s ``values``); flush.

    ``user`` None is the system (the CLI). ``NoRate`` when the currency has no rate on or
    before the payment date. The receipt's file, if any, goes through ``add_document``.
    """
    if user is not None and not access.can_record_charge(user, dispatch):
        raise _refused(_l("Only the dispatch agency or an administrator can record "
                          "payments."), code="forbidden")
    values = check_charge(**values)
    (rates or RateTable.load()).to_jpy(values["amount"], values["currency"],
                                       values["paid_on"])
    charge = Charge(dispatch_id=dispatch.id, created_by_id=getattr(user, "id", None), **values)
    if upload is not None and upload.filename:
        charge.receipt_document = add_document(
            user, dispatch=dispatch, kind=RECEIPT_KIND, number=values["receipt_no"],
            issued_on=values["paid_on"], expires_on=None, upload=upload)
    db.session.add(charge)
    db.session.flush()
    refresh_dispatches([dispatch.id])
    log.info("charge %s (%s %s %s) on dispatch %s by %s", charge.id, values["kind"],
             values["amount"], values["currency"], dispatch.id,
             getattr(user, "email", "system"))
    return charge


def delete_charge(user, charge: Charge) -> None:
    """Remove a charge recorded by mistake (its receipt stays in the documents' history,
    withdrawn)."""
    if user is not None and not access.can_record_charge(user, charge.dispatch):
        raise _refused(_l("Only the dispatch agency or an administrator can record "
                          "payments."), code="forbidden")
    receipt = charge.receipt_document
    if receipt is not None and receipt.is_current:
        withdraw_document(user, receipt, str(_l("Its payment was deleted from the ledger.")))
    dispatch_id = charge.dispatch_id
    db.session.delete(charge)
    db.session.flush()
    refresh_dispatches([dispatch_id])


# -- the contract -------------------------------------------------------------------------------


def prefill_contract(dispatch: Dispatch) -> None:
    """The job order's terms as the contract's, where the dispatch has none yet (in the
    move's own UPDATE: loading the job order must not flush the move first)."""
    with db.session.no_autoflush:
        job = dispatch.job_order
    if dispatch.contract_wage_jpy is None:
        dispatch.contract_wage_jpy = job.monthly_salary_jpy
    if dispatch.contract_months is None:
        dispatch.contract_months = job.contract_months_or_default
    if dispatch.contract_field is None:
        dispatch.contract_field = job.field
    if dispatch.contract_prefecture is None:
        dispatch.contract_prefecture = job.prefecture
    if dispatch.contract_employer_id is None:
        dispatch.contract_employer_id = job.employer_id


def set_contract(user, dispatch: Dispatch, *, wage_jpy: int | None, months: int | None,
                 field: str | None, prefecture: str | None, employer_id: int | None,
                 track_stage: str | None, return_worker_fault: bool | None = None
                 ) -> Dispatch:
    """Record the contract as signed (the agency's correction of the prefilled terms)."""
    if user is not None and not access.can_move_dispatch(user, dispatch):
        raise _refused(_l("Only the dispatch agency or an administrator can change this "
                          "dispatch."), code="forbidden")
    if dispatch.stage == "selected":
        raise _refused(_l("The contract is recorded once the dispatch reaches the stage "
                          "“Contract signed”."), code="not_allowed")
    if wage_jpy is not None and not 0 < wage_jpy <= MAX_WAGE:
        raise _refused(_l("The monthly wage must be a whole number of yen from 1 to "
                          "%(max)d.", max=MAX_WAGE), "wage_jpy")
    if months is not None and not 0 < months <= MAX_CONTRACT_MONTHS:
        raise _refused(_l("The contract length must be from 1 to %(max)d months.",
                          max=MAX_CONTRACT_MONTHS), "months")
    if field is not None and field not in FIELDS:
        raise _refused(_l("Choose a value from the list."), "field")
    if prefecture is not None and prefecture not in PREFECTURES:
        raise _refused(_l("Choose a value from the list."), "prefecture")
    if employer_id is not None and db.session.scalar(sa.select(Organisation.id).where(
            Organisation.id == employer_id, Organisation.kind == "employer")) is None:
        raise _refused(_l("Choose a value from the list."), "employer_id")
    if track_stage is not None and track_stage not in TRACK_STAGES:
        raise _refused(_l("Choose a value from the list."), "track_stage")
    dispatch.contract_wage_jpy, dispatch.contract_months = wage_jpy, months
    dispatch.contract_field, dispatch.contract_prefecture = field, prefecture
    dispatch.contract_employer_id, dispatch.track_stage = employer_id, track_stage
    if dispatch.stage == "early_return":
        dispatch.return_worker_fault = return_worker_fault
    db.session.flush()
    refresh_dispatches([dispatch.id])
    log.info("contract of dispatch %s recorded by %s", dispatch.id,
             getattr(user, "email", "system"))
    return dispatch


# -- exchange rates -----------------------------------------------------------------------------


def parse_rate(text: str) -> Decimal:
    """A rate as typed ("0.0059", "0,0059"), or ``OperationError``."""
    try:
        rate = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        rate = Decimal(0)
    if (not rate.is_finite() or not Decimal(0) < rate <= MAX_RATE
            or rate.as_tuple().exponent < -8):
        raise OperationError(_l("The rate must be a number of yen above 0, with at most 8 "
                                "decimals."), field="rate", code="invalid")
    return rate


def set_rate(user, *, currency: str, valid_on: date, rate: Decimal,
             source: str | None = None) -> ExchangeRate:
    """Set the rate of ``currency`` from ``valid_on`` (a new one, or a correction of the
    same day's); admin or the CLI (``user`` None)."""
    if user is not None and not access.is_admin(user):
        raise OperationError(_l("Only administrators maintain exchange rates."),
                             code="forbidden")
    if currency not in CURRENCIES or currency == BASE_CURRENCY:
        raise OperationError(_l("The currency must be VND."), field="currency", code="invalid")
    if not isinstance(rate, Decimal):
        rate = parse_rate(str(rate))
    try:
        check_date(valid_on, "valid_on", PAST_EVENT)
    except InvalidValue as exc:
        raise OperationError(exc.message, field="valid_on", code="invalid") from None
    row = db.session.scalar(sa.select(ExchangeRate).where(
        ExchangeRate.currency == currency, ExchangeRate.valid_on == valid_on))
    if row is None:
        row = ExchangeRate(currency=currency, valid_on=valid_on)
        db.session.add(row)
    row.rate_to_jpy, row.source = rate, (" ".join((source or "").split()) or None)
    row.updated_by_id = getattr(user, "id", None)
    db.session.flush()
    # The payments this rate converts, and only theirs (until the currency's next rate).
    refresh_dispatches(rate_dispatches(currency, valid_on))
    log.info("exchange rate %s %s = %s JPY by %s", currency, valid_on, rate,
             getattr(user, "email", "system"))
    return row


__all__ = ["check_charge", "delete_charge", "parse_rate", "prefill_contract",
           "record_charge", "set_contract", "set_rate"]
