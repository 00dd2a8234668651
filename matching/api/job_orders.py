"""``/api/v1/job-orders``: employers their own, agencies those they serve (read only),
admin all. List, get, create, update (``If-Match``) and status changes, through
``operations.jobs`` as on the site."""

import marshmallow as ma
from flask import request, url_for
from flask.views import MethodView
from flask_login import current_user

from matching import access
from matching.api.core import api_blueprint, roles
from matching.api.etags import IF_MATCH, check_if_match, etag
from matching.api.pagination import ListArgs, cursor_page, page_schema
from matching.api.problems import Problem, from_refusal
from matching.api.schemas import ProblemSchema, Text, UtcDateTime, WindowDate
from matching.i18n import _l
from matching.models import JOB_STATUSES, VISA_TRACKS, JobOrder
from matching.operations import jobs
from matching.operations.locks import lock_rows
from matching.validation import PLANNED

bp = api_blueprint("api_job_orders", __name__, "/api/v1/job-orders",
                   description="Job orders: employers (their own), agencies (those they "
                               "serve, read only) and admin.")


class OrganisationRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class JobOrderSchema(ma.Schema):
    id = ma.fields.Integer()
    external_id = ma.fields.String()
    employer = ma.fields.Nested(OrganisationRefSchema)
    agency = ma.fields.Nested(OrganisationRefSchema, allow_none=True)
    title = ma.fields.String()
    field = ma.fields.String()
    required_skills = ma.fields.List(ma.fields.String(), attribute="required_skill_list")
    preferred_skills = ma.fields.List(ma.fields.String(), attribute="preferred_skill_list")
    min_language_level = ma.fields.String()
    language_is_hard = ma.fields.Boolean()
    start_window_days = ma.fields.Integer(allow_none=True)
    headcount = ma.fields.Integer()
    prefecture = ma.fields.String(allow_none=True)
    monthly_salary_jpy = ma.fields.Integer(allow_none=True)
    start_date = ma.fields.Date(allow_none=True)
    visa_track = ma.fields.String()
    status = ma.fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    etag = ma.fields.Function(lambda j: etag(j.updated_at), metadata={
        "description": "Send as If-Match to change this job order."})


class JobOrderInSchema(ma.Schema):
    """A job order to post; for a change (PATCH) every field is optional."""

    external_id = Text(64, metadata={"description": "Generated when left out."})
    employer_id = ma.fields.Integer(metadata={"description": "Admin only: the employer."})
    agency_id = ma.fields.Integer(allow_none=True)
    title = Text(200, required=True)
    field = Text(32, required=True)
    required_skills = ma.fields.List(Text(80), validate=ma.validate.Length(max=100))
    preferred_skills = ma.fields.List(Text(80), validate=ma.validate.Length(max=100))
    min_language_level = Text(8)
    language_is_hard = ma.fields.Boolean()
    start_window_days = ma.fields.Integer(allow_none=True)
    headcount = ma.fields.Integer(required=True, validate=ma.validate.Range(1, jobs.MAX_HEADCOUNT))
    prefecture = Text(32, allow_none=True)
    monthly_salary_jpy = ma.fields.Integer(allow_none=True,
                                           validate=ma.validate.Range(0, jobs.MAX_SALARY))
    start_date = WindowDate(PLANNED, allow_none=True)
    visa_track = ma.fields.String(required=True, validate=ma.validate.OneOf(VISA_TRACKS))
    status = ma.fields.String(validate=ma.validate.OneOf(("draft", "open")),
                              metadata={"description": "draft or open (the default)."})


class JobOrderPatchSchema(JobOrderInSchema):
    class Meta:
        exclude = ("employer_id", "status")

    def __init__(self, **kw):
        super().__init__(partial=True, **kw)


class StatusSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(JOB_STATUSES))


class JobListArgs(ListArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(JOB_STATUSES))
    field = ma.fields.String()


def _answer(job: JobOrder, status: int = 200):
    headers = {"ETag": etag(job.updated_at)}
    if status == 201:
        headers["Location"] = url_for("api_job_orders.item", job_id=job.id)
    return job, status, headers


def _stored(job: JobOrder) -> dict:
    """A stored job order in the shape ``operations.jobs`` takes: what a change keeps."""
    return {"external_id": job.external_id, "title": job.title, "field": job.field,
            "required_skills": job.required_skill_list,
            "preferred_skills": job.preferred_skill_list,
            "min_language_level": job.min_language_level, "headcount": job.headcount,
            "prefecture": job.prefecture, "monthly_salary_jpy": job.monthly_salary_jpy,
            "start_date": job.start_date, "visa_track": job.visa_track,
            "language_is_hard": job.language_is_hard,
            "start_window_days": job.start_window_days, "agency_id": job.agency_id}


@bp.route("")
@roles(*access.JOB_READERS)
@bp.arguments(JobListArgs, location="query")
@bp.response(200, page_schema(JobOrderSchema))
def index(args):
    """The job orders the token's organisation may read, by id."""
    stmt = access.job_orders_select(current_user)
    if args.get("status"):
        stmt = stmt.where(JobOrder.status == args["status"])
    if args.get("field"):
        stmt = stmt.where(JobOrder.field == args["field"])
    return cursor_page(stmt, JobOrder.id, args)


@bp.route("", methods=["POST"])
@roles(*access.JOB_MANAGERS)
@bp.arguments(JobOrderInSchema)
@bp.response(201, JobOrderSchema)
@bp.alt_response(422, schema=ProblemSchema)
def create(data):
    """Post a job order (an employer for itself; admin names ``employer_id``)."""
    if current_user.role != "admin":
        data.pop("employer_id", None)
    elif not data.get("employer_id"):
        raise Problem(422, errors=[{"field": "employer_id",
                                    "message": _l("Choose the employer.")}])
    return _answer(jobs.create_job_order(data, current_user), 201)


def _managed(job_id: int) -> JobOrder:
    """A job order the user may change, locked, after its If-Match."""
    job = access.get_job_order_or_404(current_user, job_id)
    if not access.can_manage_job_order(current_user, job):
        raise Problem(404)
    lock_rows(job)
    return job


@bp.route("/<int:job_id>", endpoint="item")
class JobOrderItem(MethodView):
    """One job order (GET and PATCH on one route: an oversized id is a 404 for both)."""

    @roles(*access.JOB_READERS)
    @bp.response(200, JobOrderSchema)
    def get(self, job_id):
        """One job order; its ETag is the version to send as If-Match."""
        return _answer(access.get_job_order_or_404(current_user, job_id))

    @roles(*access.JOB_MANAGERS)
    @bp.arguments(JobOrderPatchSchema)
    @bp.response(200, JobOrderSchema)
    @bp.alt_response(412, schema=ProblemSchema)
    @bp.alt_response(428, schema=ProblemSchema)
    @bp.doc(parameters=[IF_MATCH])
    def patch(self, data, job_id):
        """Change the fields sent; If-Match (the ETag last read) is required."""
        job = _managed(job_id)
        check_if_match(etag(job.updated_at))
        return _answer(jobs.update_job_order(job, _stored(job) | data, current_user))


@bp.route("/<int:job_id>/status", methods=["POST"])
@roles(*access.JOB_MANAGERS)
@bp.arguments(StatusSchema)
@bp.response(200, JobOrderSchema)
@bp.alt_response(409, schema=ProblemSchema)
def set_status(data, job_id):
    """Publish, close or reopen: 409 when the job order cannot go from its status to this
    one. If-Match is optional here (a status move is checked against the current status)."""
    job = _managed(job_id)
    if "If-Match" in request.headers:
        check_if_match(etag(job.updated_at))
    try:
        job = jobs.set_job_status(job, data["status"], current_user)
    except jobs.JobOrderError as err:
        raise from_refusal(err, 409) from None
    return _answer(job)
