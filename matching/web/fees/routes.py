"""The fee ledger's pages (issue 13 §1–2): a dispatch's payments and contract, the flags of
everything a user follows, and the exchange rates (admin).

Who: the dispatch's agency (and admin) records payments and the contract; the department
of the worker's province, the agency and admin read the ledger and its flags; the employer
sees only what the worker paid in all (``access.can_read_ledger``). Every list is scoped by
``access``; the flags and totals are the rows ``matching.fees.store`` keeps with each write,
read in a fixed number of queries.
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
from matching.fees import store
from matching.fees.rates import RateTable, yen
from matching.fees.texts import TITLES
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
    totals (stored with each write, ``fees.store``), the contract and the forms (for whoever
    records them); for its employer only the totals."""
    user = current_user
    stmt = sa.select(Dispatch).where(Dispatch.id == dispatch.id)
    readable = access.can_read_ledger(user, dispatch)
    panel = {"readable": readable, "totals": store.stored_totals(stmt),
             "survey": fees.survey_average(), "flags": [], "charges": [], "rates": {},
             "amount_jpy": {}, "can_record": False, "today": date.today()}
    if not readable:
        return panel
    panel["flags"] = store.stored_flags(stmt)
    panel["charges"] = db.session.scalars(
        access.charges_select(user).where(Charge.dispatch_id == dispatch.id)
        .options(selectinload(Charge.receipt_document))
        .order_by(Charge.paid_on, Charge.created_at, Charge.id)).all()
    table = RateTable.load()  # one small query; each charge's rate looked up in memory
    for charge in panel["charges"]:
        rate = panel["rates"][charge.id] = table.lookup(charge.currency, charge.paid_on)
        panel["amount_jpy"][charge.id] = (
            None if rate is None else yen(charge.amount, rate.rate))
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
    the admin's view. The stored flags and totals of the user's scope, a fixed number of
    grouped queries whatever its size."""
    stmt = access.dispatches_select(current_user)
    if province:
        stmt = in_province(stmt, province)
    counts = store.flag_counts(stmt)
    return {"flags": store.stored_flags(stmt, limit=SUMMARY_FLAGS),
            "count": sum(counts.values()), "by_rule": _by_rule(counts),
            "survey": fees.survey_average(), "totals": store.stored_totals(stmt),
            "by_agency": store.stored_totals(stmt, by="agency")
            if current_user.role != "agency" else {}}


def _by_rule(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(rule id, its title, how many) of the rules with a flag, in the table's order."""
    return [(rule.id, TITLES.get(rule.check, rule.id), counts[rule.id])
            for rule in fees.rules() if counts.get(rule.id)]


# -- the flags of everything a user follows -------------------------------------------------------


@bp.route("/")
@access.roles_required(*access.FEE_READERS)
def index():
    """Every flag in the user's scope (a department: its province; an agency: its
    dispatches), the first ``FLAGS_SHOWN`` listed, and what workers paid per agency and per
    province: stored rows, counted and summed in SQL."""
    stmt = access.dispatches_select(current_user)
    form, chosen = None, None
    if current_user.role == "admin":
        form = ProvinceForm(formdata=request.args)
        chosen = form.chosen("province")
        if chosen:
            stmt = in_province(stmt, chosen)
    counts = store.flag_counts(stmt)
    rule = request.args.get("rule")
    rule = rule if rule in fees.rule_ids() else None
    shown = store.stored_flags(stmt, rule=rule, limit=FLAGS_SHOWN)
    total = counts.get(rule, 0) if rule else sum(counts.values())
    return render_template(
        "fees/index.html", form=form, flags=shown, total=total,
        by_rule=_by_rule(counts), rule=rule, province=chosen, survey=fees.survey_average(),
        totals=store.stored_totals(stmt),
        by_agency=store.stored_totals(stmt, by="agency"),
        by_province=store.stored_totals(stmt, by="province"),
        agency_names=store.agency_names(stmt))


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
