"""The worker's own page: everything about themself on one mobile page, their grievances,
"ask for a correction", and their monthly wage.

No route takes a trainee or dispatch id: the worker is ``current_user.trainee_id``. The
ids that do appear (a document, a grievance) are looked up within the worker's own rows
(``access.own_*``, ``access.get_grievance_or_404``): anyone else's answers 404.
"""

import logging
from datetime import date

from babel.dates import format_skeleton
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from matching import access
from matching.extensions import db
from matching.i18n import locale_code
from matching.models import (
    EXITS,
    GRIEVANCE_CATEGORIES,
    STAGES,
    Dispatch,
    Grievance,
    GrievanceEvent,
    JobOrder,
    Trainee,
)
from matching.operations import grievances as grievance_ops
from matching.operations import wages as wage_ops
from matching.operations.documents import valid_until
from matching.operations.errors import OperationError
from matching.web.downloads import stored_file
from matching.web.forms import show_refusal
from matching.web.grievances.forms import CorrectionForm, GrievanceForm
from matching.web.worker import bp
from matching.web.worker.forms import WageForm
from matching.web.worker.ledger import charges_by_dispatch, worker_ledger

log = logging.getLogger(__name__)

#: Days before expiry a document is marked "expires soon".
EXPIRY_WARNING_DAYS = 60


def _dispatches() -> list[Dispatch]:
    return list(db.session.scalars(access.own_dispatches_select(current_user).options(
        joinedload(Dispatch.job_order).joinedload(JobOrder.employer),
        joinedload(Dispatch.agency), joinedload(Dispatch.contract_employer),
        selectinload(Dispatch.events))).unique())


def _wage_dispatch(dispatches: list[Dispatch]) -> Dispatch | None:
    """The dispatch the worker reports wages on: the latest one that reached work."""
    return next((d for d in dispatches
                 if any(e.to_stage == "deployed" for e in d.events)), None)


def _render_home(wage_form: WageForm | None = None, status: int = 200):
    trainee = access.own_trainee_or_404(current_user, selectinload(Trainee.skills))
    dispatches = _dispatches()
    documents = list(db.session.scalars(access.own_documents_select(current_user)))
    grievances = list(db.session.scalars(
        access.grievances_select(current_user)
        .order_by(Grievance.created_at.desc(), Grievance.id.desc())))
    wage_dispatch = _wage_dispatch(dispatches)
    wages = wage_ops.wage_reports(wage_dispatch) if wage_dispatch else []
    if wage_dispatch is not None and wage_form is None:
        wage_form = WageForm(formdata=None, month=date.today().replace(day=1))
    ledger = worker_ledger(current_user)
    return render_template(
        "worker/home.html", trainee=trainee, dispatches=dispatches, documents=documents,
        grievances=grievances, wage_dispatch=wage_dispatch, wages=wages, wage_form=wage_form,
        ledger=ledger, charges=charges_by_dispatch(ledger), today=date.today(),
        valid_until=valid_until, warning_days=EXPIRY_WARNING_DAYS, STAGE_ORDER=STAGES,
        EXIT_STAGES=EXITS, reached_of=_reached, format_month=_month), status


def _reached(dispatch: Dispatch) -> dict[str, date]:
    """stage -> the day ``dispatch`` reached it."""
    return {e.to_stage: e.happened_on for e in dispatch.events}


def _month(day: date) -> str:
    """"March 2026", "Tháng 3 năm 2026", "2026年3月"."""
    text = format_skeleton("yMMMM", day, locale=locale_code())
    return text[:1].upper() + text[1:]  # "Tháng 3 năm 2026" begins a line


@bp.route("/")
@access.roles_required(*access.WORKERS)
def home():
    return _render_home()


@bp.route("/wages", methods=["POST"])
@access.roles_required(*access.WORKERS)
def report_wage():
    dispatch = _wage_dispatch(_dispatches())
    if dispatch is None:
        flash(_("You can report your wage once you have started work in Japan."), "error")
        return redirect(url_for(".home"))
    form = WageForm()
    if form.validate_on_submit():
        try:
            wage_ops.report_wage(current_user, dispatch, form.month.data, form.amount_jpy.data)
        except OperationError as err:
            show_refusal(form, err)
        else:
            flash(_("Thank you. Your wage has been saved."), "success")
            return redirect(url_for(".home", _anchor="wages"))
    return _render_home(form)


@bp.route("/documents/<bigid:document_id>")
@access.roles_required(*access.WORKERS)
def document_file(document_id: int):
    document = access.get_own_document_or_404(current_user, document_id)
    log.info("document %s downloaded by its worker %s", document.id, current_user.email)
    return stored_file(document, f"document-{document.id}")


@bp.route("/charges/<bigid:charge_id>/receipt")
@access.roles_required(*access.WORKERS)
def receipt(charge_id: int):
    """The receipt's file of one of the worker's own payments (as the agency stored it)."""
    charge = access.get_own_charge_or_404(current_user, charge_id)
    if charge.receipt_document is None:
        abort(404)
    log.info("receipt of charge %s downloaded by its worker %s", charge.id, current_user.email)
    return stored_file(charge.receipt_document, f"receipt-{charge.id}")


def _file(form: GrievanceForm | CorrectionForm, **values):
    trainee = access.own_trainee_or_404(current_user)
    try:
        grievance = grievance_ops.file_grievance(current_user, trainee, **values)
    except OperationError as err:  # also the attachment's checks (type, size)
        show_refusal(form, err)
        return None
    flash(_("Sent. The labour department will answer you here."), "success")
    return redirect(url_for(".grievance", grievance_id=grievance.id))


@bp.route("/grievances/new", methods=["GET", "POST"])
@access.roles_required(*access.WORKERS)
def new_grievance():
    form = GrievanceForm()
    if request.method == "GET" and request.args.get("category") in GRIEVANCE_CATEGORIES:
        form.category.data = request.args["category"]  # "Report a fee problem"
    if form.validate_on_submit():
        done = _file(form, category=form.category.data, description=form.description.data,
                     agency_may_see=form.agency_may_see.data, upload=form.file.data)
        if done is not None:
            return done
    return render_template("worker/grievance_new.html", form=form)


@bp.route("/correction", methods=["GET", "POST"])
@access.roles_required(*access.WORKERS)
def correction():
    """"Ask for a correction" of the record: a grievance about documents and personal data
    that only the department reads (it keeps the record)."""
    form = CorrectionForm()
    if form.validate_on_submit():
        done = _file(form, category="documents", description=form.description.data,
                     agency_may_see=False)
        if done is not None:
            return done
    return render_template("worker/correction.html", form=form)


@bp.route("/grievances/<bigid:grievance_id>")
@access.roles_required(*access.WORKERS)
def grievance(grievance_id: int):
    found = access.get_grievance_or_404(
        current_user, grievance_id,
        selectinload(Grievance.events).joinedload(GrievanceEvent.by))
    return render_template("worker/grievance.html", grievance=found, events=found.events)


@bp.route("/grievances/<bigid:grievance_id>/attachment")
@access.roles_required(*access.WORKERS)
def grievance_attachment(grievance_id: int):
    found = access.get_grievance_or_404(current_user, grievance_id)
    return stored_file(found, f"grievance-{found.id}")

