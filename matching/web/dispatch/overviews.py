"""Read-only pipeline views: a department's province, an employer's workers, and the
platform dashboard of registrations turning into deployments (admin)."""

from flask import render_template, request
from flask_babel import format_percent
from flask_login import current_user

from matching import access
from matching.extensions import db
from matching.models import Dispatch, JobOrder
from matching.web.dispatch import bp, queries
from matching.web.dispatch.forms import ProvinceForm
from matching.web.params import db_id, paginate

PER_PAGE = 50


def _stage_filter(stmt):
    stage = request.args.get("stage")
    if stage in queries.ALL_STAGES:
        return stmt.where(Dispatch.stage == stage), stage
    return stmt, None


def _ordered(stmt):
    return queries.with_people(stmt).order_by(
        queries.stage_order(), Dispatch.planned_departure.is_(None), Dispatch.planned_departure,
        Dispatch.id)


def _percent(value) -> str:
    return "—" if value is None else format_percent(value, "#,##0.0%")


@bp.route("/province")
@access.roles_required(*access.PIPELINE_VIEWERS)
def province():
    """A department's trainees in the pipeline: counts per stage, a chart and the list.

    The administrator chooses a province (or sees all of them).
    """
    stmt = access.dispatches_select(current_user)
    chosen, form = current_user.province, None
    if current_user.role == "admin":
        form = ProvinceForm(formdata=request.args)
        chosen = form.chosen("province")
        if chosen:
            stmt = queries.in_province(stmt, chosen)
    counts = queries.stage_counts(stmt)
    listed, stage = _stage_filter(stmt)
    pagination = paginate(_ordered(listed), per_page=PER_PAGE)
    base_args = {"province": chosen} if form and chosen else {}
    totals = {"open": sum(counts.get(s, 0) for s in queries.OPEN_STAGES),
              "exits": sum(counts.get(s, 0) for s in queries.EXITS)}
    return render_template("dispatch/province.html", form=form, province=chosen,
                           counts=counts, totals=totals, stages=queries.ALL_STAGES, stage=stage,
                           pagination=pagination, base_args=base_args,
                           args=base_args | ({"stage": stage} if stage else {}))


@bp.route("/workers")
@access.roles_required(*access.SELECTION_VIEWERS)
def employer():
    """The workers an employer selected: where each of them is in the pipeline."""
    stmt = access.dispatches_select(current_user)
    jobs = db.session.scalars(access.job_orders_select(current_user).where(
        JobOrder.id.in_(stmt.with_only_columns(Dispatch.job_order_id)))
        .order_by(JobOrder.external_id)).unique().all()
    job = request.args.get("job", type=db_id)
    if job:
        stmt = stmt.where(Dispatch.job_order_id == job)
    counts = queries.stage_counts(stmt)
    listed, stage = _stage_filter(stmt)
    pagination = paginate(_ordered(listed), per_page=PER_PAGE)
    base_args = {"job": job} if job else {}
    return render_template("dispatch/workers.html", jobs=jobs, job=job, counts=counts,
                           stages=queries.ALL_STAGES, stage=stage, pagination=pagination,
                           base_args=base_args,
                           args=base_args | ({"stage": stage} if stage else {}))


@bp.route("/dashboard")
@access.roles_required(*access.ADMINS)
def dashboard():
    """Per province: registrations → shortlists → selections → departures → deployments."""
    rows = queries.funnel_by_province(current_user)
    total = queries.FunnelRow("", **{
        step: sum(getattr(r, step) for r in rows)
        for step in ("registrations", "shortlists", "selections", "departures",
                     "deployments")})
    return render_template("dispatch/dashboard.html", rows=rows, total=total,
                           lowest=queries.lowest_conversion(rows), percent=_percent,
                           widest=max((r.registrations for r in rows), default=0))
