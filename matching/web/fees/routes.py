"""The fee ledger's pages (issue 13 §1–2): a dispatch's payments and contract, the flags of
everything a user follows, and the exchange rates (admin).

Who: the dispatch's agency (and admin) records payments and the contract; the department
of the worker's province, the agency and admin read the ledger and its flags; the employer
sees only what the worker paid in all (``access.can_read_ledger``). Every list is scoped by
``access``; the flags and totals come from ``matching.fees`` in a fixed number of queries.
"""

import logging
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from matching import access, fees
from matching.extensions import db
from matching.fees.checks import load_ledgers, run_checks
from matching.fees.texts import title
from matching.labels import charge_kind_label
from matching.models import Charge, Dispatch, ExchangeRate
from matching.operations import fees as ops
from matching.operations.errors import OperationError
from matching.web.dispatch.forms import ProvinceForm
from matching.web.dispatch.queries import in_province
from matching.web.downloads import stored_file
from matching.web.fees import bp
from matching.web.fees.forms import ChargeForm, ContractForm, RateForm, contract_form_data
from matching.web.forms import EmptyForm, show_refusal

log = logging.getLogger(__name__)

#: Flags listed on a page at most (the command line prints them all).
FLAGS_SHOWN = 500
#: Flags a summary panel names before "see all".
SUMMARY_FLAGS = 5


# -- what other pages show (template globals, ``matching.web.templates``) ------------------------


def fee_panel(dispatch: Dispatch) -> dict:
    """The fee section of a dispatch's page for the current user: the ledger, its flags and
    totals, the contract and the forms (for whoever records them); for its employer only
    the totals."""
    user = current_user
    stmt = sa.select(Dispatch).where(Dispatch.id == dispatch.id)
    readable = access.can_read_ledger(user, dispatch)
    ledgers = load_ledgers(stmt)
    panel = {"readable": readable, "totals": fees.worker_paid_totals(stmt, ledgers=ledgers),
             "survey": fees.survey_average(), "flags": [], "charges": [], "rates": {},
             "can_record": False, "today": date.today()}
    if not readable:
        return panel
    panel["flags"] = run_checks(ledgers)
    panel["charges"] = db.session.scalars(
        access.charges_select(user).where(Charge.dispatch_id == dispatch.id)
        .options(selectinload(Charge.receipt_document))
        .order_by(Charge.paid_on, Charge.created_at, Charge.id)).all()
    panel["rates"] = {c.id: c.rate for facts in ledgers for c in facts.charges}
    panel["amount_jpy"] = {c.id: c.amount_jpy for facts in ledgers for c in facts.charges}
    if access.can_record_charge(user, dispatch):
        panel["can_record"] = True
        panel["charge_form"] = ChargeForm(formdata=None)
        panel["contract_form"] = ContractForm(formdata=None, dispatch=dispatch,
                                              data=contract_form_data(dispatch))
        panel["delete_form"] = ChargeDeleteForm(formdata=None)
    return panel


def fee_summary(province: str | None = None) -> dict:
    """The small panel of the department's pipeline and the agency's board: flags by rule,
    the first few, and what workers paid next to the survey average; ``province`` narrows
    the admin's view."""
    stmt = access.dispatches_select(current_user)
    if province:
        stmt = in_province(stmt, province)
    ledgers = load_ledgers(stmt)
    flags = run_checks(ledgers)
    return {"flags": flags[:SUMMARY_FLAGS], "count": len(flags),
            "by_rule": _by_rule(flags), "survey": fees.survey_average(),
            "totals": fees.worker_paid_totals(stmt, ledgers=ledgers),
            "by_agency": fees.worker_paid_totals(stmt, by="agency", ledgers=ledgers)
            if current_user.role != "agency" else {}}


def _by_rule(flags) -> list[tuple[str, str, int]]:
    counts: dict[str, int] = {}
    titles = {}
    for flag in flags:
        counts[flag.rule_id] = counts.get(flag.rule_id, 0) + 1
        titles[flag.rule_id] = title(flag)
    return [(rule, titles[rule], counts[rule]) for rule in fees.rule_ids() if rule in counts]


# -- the flags of everything a user follows -------------------------------------------------------


@bp.route("/")
@access.roles_required(*access.FEE_READERS)
def index():
    """Every flag in the user's scope (a department: its province; an agency: its
    dispatches), and what workers paid per agency and per province."""
    stmt = access.dispatches_select(current_user)
    form, chosen = None, None
    if current_user.role == "admin":
        form = ProvinceForm(formdata=request.args)
        chosen = form.chosen("province")
        if chosen:
            stmt = in_province(stmt, chosen)
    ledgers = load_ledgers(stmt)
    flags = run_checks(ledgers)
    rule = request.args.get("rule")
    shown = [f for f in flags if f.rule_id == rule] if rule in fees.rule_ids() else flags
    return render_template(
        "fees/index.html", form=form, flags=shown[:FLAGS_SHOWN], total=len(shown),
        by_rule=_by_rule(flags), rule=rule if rule in fees.rule_ids() else None,
        province=chosen, survey=fees.survey_average(),
        totals=fees.worker_paid_totals(stmt, ledgers=ledgers),
        by_agency=fees.worker_paid_totals(stmt, by="agency", ledgers=ledgers),
        by_province=fees.worker_paid_totals(stmt, by="province", ledgers=ledgers),
        agency_names={f.agency: f.agency_name for f in ledgers})


# -- one dispatch: payments and contract ---------------------------------------------------------


class ChargeDeleteForm(EmptyForm):
    """The delete button of a payment recorded by mistake."""


def _recordable(dispatch_id: int) -> Dispatch:
    dispatch = access.get_dispatch_or_404(current_user, dispatch_id)
    if not access.can_record_charge(current_user, dispatch):
        abort(403)
    return dispatch


def _back_with_errors(dispatch: Dispatch, form, anchor: str):
    """Back to the dispatch's page with the form's problems said (as a move's are)."""
    for name, errors in form.errors.items():
        label = form[name].label.text if name in form else ""
        for message in errors:
            flash(f"{label}: {message}" if label else str(message), "error")
    return redirect(url_for("dispatch.view", dispatch_id=dispatch.id, _anchor=anchor))


@bp.route("/dispatch/<bigid:dispatch_id>/charges", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def add_charge(dispatch_id: int):
    dispatch = _recordable(dispatch_id)
    form = ChargeForm()
    if form.validate_on_submit():
        try:
            ops.record_charge(current_user, dispatch, **form.charge_data())
        except OperationError as err:
            db.session.rollback()  # a stored receipt goes with it
            show_refusal(form, err)
        else:
            flash(_("The payment “%(kind)s” has been recorded.",
                    kind=charge_kind_label(form.kind.data)), "success")
            return redirect(url_for("dispatch.view", dispatch_id=dispatch.id, _anchor="fees"))
    return _back_with_errors(dispatch, form, "add-charge")


@bp.route("/dispatch/<bigid:dispatch_id>/charges/<bigid:charge_id>/delete", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def delete_charge(dispatch_id: int, charge_id: int):
    dispatch = _recordable(dispatch_id)
    charge = access.get_charge_or_404(current_user, dispatch, charge_id)
    if not ChargeDeleteForm().validate_on_submit():
        abort(400)
    kind = charge.kind
    ops.delete_charge(current_user, charge)
    flash(_("The payment “%(kind)s” has been deleted from the ledger.",
            kind=charge_kind_label(kind)), "success")
    return redirect(url_for("dispatch.view", dispatch_id=dispatch.id, _anchor="fees"))


@bp.route("/dispatch/<bigid:dispatch_id>/charges/<bigid:charge_id>/receipt")
@access.roles_required(*access.FEE_READERS)
def receipt(dispatch_id: int, charge_id: int):
    """Download a payment's receipt: whoever reads the ledger; never cached."""
    dispatch = access.get_dispatch_or_404(current_user, dispatch_id)
    if not access.can_read_ledger(current_user, dispatch):
        abort(404)
    charge = access.get_charge_or_404(current_user, dispatch, charge_id)
    if charge.receipt_document is None:
        abort(404)
    log.info("receipt of charge %s downloaded by %s", charge.id, current_user.email)
    return stored_file(charge.receipt_document, f"receipt-{charge.id}")


@bp.route("/dispatch/<bigid:dispatch_id>/contract", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def contract(dispatch_id: int):
    dispatch = _recordable(dispatch_id)
    form = ContractForm(dispatch=dispatch)
    if form.validate_on_submit():
        try:
            ops.set_contract(current_user, dispatch, **form.contract_data())
        except OperationError as err:
            show_refusal(form, err)
        else:
            flash(_("The contract has been saved."), "success")
            return redirect(url_for("dispatch.view", dispatch_id=dispatch.id,
                                    _anchor="contract"))
    return _back_with_errors(dispatch, form, "contract")


# -- exchange rates (admin) -------------------------------------------------------------------


@bp.route("/rates", methods=["GET", "POST"])
@access.roles_required(*access.ADMINS)
def rates():
    """The exchange rates the checks convert with; a new date, or a correction of a day's."""
    form = RateForm()
    if form.validate_on_submit():
        try:
            rate = ops.parse_rate(form.rate.data)
            ops.set_rate(current_user, currency=form.currency.data,
                         valid_on=form.valid_on.data, rate=rate, source=form.source.data)
        except OperationError as err:
            show_refusal(form, err)
        else:
            flash(_("The exchange rate has been saved."), "success")
            return redirect(url_for(".rates"))
    rows = db.session.scalars(sa.select(ExchangeRate).order_by(
        ExchangeRate.currency, ExchangeRate.valid_on.desc())).all()
    return render_template("fees/rates.html", form=form, rows=rows)
