"""Grievances for the department of the worker's province (and admin): the list, one
grievance, its transitions, filing on a worker's behalf; an agency reads those the worker
let it see. Employers never reach these pages (403)."""

import logging

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from matching import access
from matching.extensions import db
from matching.models import Grievance, GrievanceEvent
from matching.models._common import utcnow
from matching.models.grievances import GRIEVANCE_TRANSITIONS
from matching.operations import grievances as ops
from matching.operations.errors import OperationError
from matching.web.downloads import stored_file
from matching.web.forms import show_refusal
from matching.web.grievances import bp
from matching.web.grievances.forms import GrievanceFilterForm, GrievanceForm, TransitionForm
from matching.web.params import paginate

log = logging.getLogger(__name__)


@bp.route("/")
@access.roles_required(*access.GRIEVANCE_READERS)
def index():
    form = GrievanceFilterForm(formdata=request.args)
    now = utcnow()
    stmt = access.grievances_select(current_user).options(joinedload(Grievance.trainee))
    if state := form.chosen("state"):
        stmt = stmt.where(Grievance.state == state)
    if category := form.chosen("category"):
        stmt = stmt.where(Grievance.category == category)
    if form.overdue.data:
        stmt = stmt.where(ops.overdue_clause(now))
    # Overdue first, then open, then the newest.
    stmt = stmt.order_by(sa.case((ops.overdue_clause(now), 0), (Grievance.state == "open", 1),
                                 (Grievance.state == "acknowledged", 2), else_=3),
                         Grievance.created_at.desc(), Grievance.id.desc())
    pagination = paginate(stmt, per_page=current_app.config["TRAINEES_PER_PAGE"])
    overdue_count = db.session.scalar(
        access.grievances_select(current_user).where(ops.overdue_clause(now))
        .with_only_columns(sa.func.count()).order_by(None))
    return render_template("grievances/index.html", form=form, pagination=pagination,
                           filters=form.link_args(), now=now, overdue_count=overdue_count,
                           is_overdue=ops.is_overdue)


def _load(grievance_id: int) -> Grievance:
    return access.get_grievance_or_404(
        current_user, grievance_id, joinedload(Grievance.trainee),
        selectinload(Grievance.events).joinedload(GrievanceEvent.by))


def _render(grievance: Grievance, form: TransitionForm | None = None, status: int = 200):
    can_handle = access.can_handle_grievance(current_user, grievance)
    states = GRIEVANCE_TRANSITIONS.get(grievance.state, ())
    if can_handle and states and form is None:
        form = TransitionForm(formdata=None, states=states, seen_state=grievance.state)
    return render_template("grievances/view.html", grievance=grievance,
                           events=grievance.events, form=form if can_handle else None,
                           overdue=ops.is_overdue(grievance)), status


@bp.route("/<bigid:grievance_id>")
@access.roles_required(*access.GRIEVANCE_READERS)
def view(grievance_id: int):
    return _render(_load(grievance_id))


@bp.route("/<bigid:grievance_id>/transition", methods=["POST"])
@access.roles_required(*access.GRIEVANCE_HANDLERS)
def transition(grievance_id: int):
    grievance = _load(grievance_id)
    if not access.can_handle_grievance(current_user, grievance):
        abort(403)
    form = TransitionForm(states=GRIEVANCE_TRANSITIONS.get(grievance.state, ()))
    if form.validate_on_submit():
        try:
            ops.transition(current_user, grievance, form.to_state.data, form.note.data,
                           seen_state=form.seen_state.data or None)
        except ops.GrievanceError as err:
            if err.code == "stale":
                flash(str(err.message), "error")
                return redirect(url_for(".view", grievance_id=grievance.id))
            show_refusal(form, err)
        else:
            flash(_("Recorded. The worker sees the new state and your note."), "success")
            return redirect(url_for(".view", grievance_id=grievance.id))
    return _render(grievance, form, status=200)


@bp.route("/<bigid:grievance_id>/attachment")
@access.roles_required(*access.GRIEVANCE_READERS)
def attachment(grievance_id: int):
    grievance = access.get_grievance_or_404(current_user, grievance_id)
    log.info("attachment of grievance %s downloaded by %s", grievance.id, current_user.email)
    return stored_file(grievance, f"grievance-{grievance.id}")


@bp.route("/new/<int:trainee_id>", methods=["GET", "POST"])
@access.roles_required(*access.GRIEVANCE_HANDLERS)
def file_for(trainee_id: int):
    """The department files a grievance on the worker's behalf (a phone call, a visit)."""
    trainee = access.get_trainee_or_404(current_user, trainee_id)
    if not access.can_file_grievance_for(current_user, trainee):
        abort(403)
    form = GrievanceForm()
    if form.validate_on_submit():
        try:
            grievance = ops.file_grievance(
                current_user, trainee, category=form.category.data,
                description=form.description.data, agency_may_see=form.agency_may_see.data,
                upload=form.file.data)
        except OperationError as err:  # also the attachment's checks (type, size)
            show_refusal(form, err)
        else:
            flash(_("The grievance has been recorded for %(name)s.", name=trainee.full_name),
                  "success")
            return redirect(url_for(".view", grievance_id=grievance.id))
    return render_template("grievances/new.html", form=form, trainee=trainee)
