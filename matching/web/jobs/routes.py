"""Job order pages: list, post, view, edit, publish / close / reopen (DESIGN §2, §7).

Employers manage their own job orders, administrators all of them; an agency reads the
ones assigned to it. Each view loads through ``access`` (scope → 404, role → 403), calls
``operations.jobs`` for writes and renders.
"""

from collections.abc import Iterable

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from matching import access
from matching.extensions import db
from matching.models import DECISIONS, Decision, JobOrder
from matching.operations import jobs as job_ops
from matching.operations.jobs import JobOrderError
from matching.web.forms import show_refusal
from matching.web.jobs import bp
from matching.web.jobs.forms import JobOrderForm, JobSearchForm, StatusForm, job_form_data
from matching.web.params import paginate

HISTORY_SHOWN = 200  # the latest decisions listed on a job order's page


@bp.context_processor
def job_helpers() -> dict:
    return {"DECISIONS": DECISIONS,
            "can_manage_job": lambda job=None: access.can_manage_job_order(current_user, job)}


def job_order_counts() -> dict[str, int]:
    """The current user's job orders per status (for the home page, a template global of
    ``matching.web.templates``), one query."""
    scoped = access.job_orders_select(current_user).subquery()
    rows = db.session.execute(sa.select(scoped.c.status, sa.func.count())
                              .group_by(scoped.c.status))
    return {status: n for status, n in rows}


def decision_counts(job_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """job id -> {decision: number of trainees}, counting only the latest decision per
    (job order, trainee): one grouped query for any number of job orders."""
    ids = list(job_ids)
    if not ids:
        return {}
    latest = sa.func.row_number().over(
        partition_by=(Decision.job_order_id, Decision.trainee_id),
        order_by=(Decision.decided_at.desc(), Decision.id.desc()))
    ranked = (sa.select(Decision.job_order_id, Decision.decision, latest.label("n"))
              .where(Decision.job_order_id.in_(ids)).subquery())
    stmt = (sa.select(ranked.c.job_order_id, ranked.c.decision, sa.func.count())
            .where(ranked.c.n == 1)
            .group_by(ranked.c.job_order_id, ranked.c.decision))
    counts: dict[int, dict[str, int]] = {}
    for job_id, decision, n in db.session.execute(stmt):
        counts.setdefault(job_id, {})[decision] = n
    return counts


# -- list ----------------------------------------------------------------------------------


@bp.route("/")
@access.roles_required(*access.JOB_READERS)
def index():
    form = JobSearchForm(formdata=request.args)
    stmt = access.job_orders_select(current_user)
    status, field = form.chosen("status"), form.chosen("field")
    if status:
        stmt = stmt.where(JobOrder.status == status)
    if field:
        stmt = stmt.where(JobOrder.field == field)
    stmt = stmt.order_by(JobOrder.created_at.desc(), JobOrder.id.desc())
    pagination = paginate(stmt, per_page=current_app.config.get("JOBS_PER_PAGE", 25))
    return render_template("jobs/index.html", form=form, pagination=pagination,
                           counts=decision_counts(j.id for j in pagination.items),
                           filters=form.link_args())


# -- post and edit -------------------------------------------------------------------------


def _render_form(form: JobOrderForm, job: JobOrder | None):
    # The skill vocabulary comes with the template (_skill_picker.html, skill_choices).
    return render_template("jobs/form.html", form=form, job=job)


@bp.route("/new", methods=["GET", "POST"])
@access.roles_required(*access.JOB_MANAGERS)
def create():
    if not access.can_manage_job_order(current_user):
        abort(403)
    form = JobOrderForm(user=current_user)
    if form.validate_on_submit():
        try:
            job = job_ops.create_job_order(form.job_data(), current_user)
        except JobOrderError as err:
            show_refusal(form, err)
        else:
            if job.status == "draft":
                flash(_("The job order %(id)s has been saved as a draft.", id=job.external_id),
                      "success")
            else:
                flash(_("The job order %(id)s has been published.", id=job.external_id),
                      "success")
            return redirect(url_for(".view", job_id=job.id))
    return _render_form(form, None)


@bp.route("/<int:job_id>/edit", methods=["GET", "POST"])
@access.roles_required(*access.JOB_MANAGERS)
def edit(job_id: int):
    job = access.get_job_order_or_404(current_user, job_id)
    if not access.can_manage_job_order(current_user, job):
        abort(403)
    form = JobOrderForm(data=job_form_data(job), user=current_user, job=job)
    if form.validate_on_submit():
        try:
            job_ops.update_job_order(job, form.job_data(), current_user)
        except JobOrderError as err:
            show_refusal(form, err)
        else:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for(".view", job_id=job.id))
    return _render_form(form, job)


# -- view and status -----------------------------------------------------------------------


@bp.route("/<int:job_id>")
@access.roles_required(*access.JOB_READERS)
def view(job_id: int):
    job = access.get_job_order_or_404(current_user, job_id)
    # The buttons publish, close and reopen; "filled" follows from the selections made (or
    # the edit form), so it gets no button of its own.
    # Who decided on whom is the administrator's view; the others see the counts.
    history = db.session.scalars(
        access.decision_history_select(current_user, job)
        .options(joinedload(Decision.trainee), joinedload(Decision.decided_by))
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(HISTORY_SHOWN)).all()
    created_by = job.created_by  # whoever may read the job order may read who posted it
    return render_template("jobs/view.html", job=job, history=history, created_by=created_by,
                           counts=decision_counts([job.id]).get(job.id, {}),
                           moves=[m for m in job_ops.TRANSITIONS.get(job.status, ())
                                  if m != "filled"])


@bp.route("/<int:job_id>/status", methods=["POST"])
@access.roles_required(*access.JOB_MANAGERS)
def set_status(job_id: int):
    """Publish a draft, close, reopen or mark as filled (the buttons on the view page)."""
    job = access.get_job_order_or_404(current_user, job_id)
    if not access.can_manage_job_order(current_user, job):
        abort(403)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("Choose what to do with the job order."), "error")
        return redirect(url_for(".view", job_id=job.id))
    before = job.status
    try:
        job_ops.set_job_status(job, form.status.data, current_user)
    except JobOrderError as err:
        flash(str(err.message), "error")
    else:
        flash(_status_message(before, job.status), "success")
    return redirect(url_for(".view", job_id=job.id))


def _status_message(before: str, after: str) -> str:
    if after == before:
        return _("The job order's status is unchanged.")
    if after == "open":
        return (_("The job order has been published.") if before == "draft"
                else _("The job order has been reopened."))
    if after == "filled":
        return _("The job order has been marked as filled.")
    return _("The job order has been closed.")
