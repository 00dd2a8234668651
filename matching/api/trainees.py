"""``/api/v1/trainees``: the registry (departments in their province, admin).

List with the registry page's filters, get, create, update with ``If-Match``, and a bulk
upsert in the import format (``operations.imports``), all-or-nothing.
"""

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy.orm import selectinload

from matching import access
from matching.api.bulk import bulk_schema, row_error, run_bulk
from matching.api.core import api_blueprint, roles
from matching.api.etags import IF_MATCH, check_if_match, etag
from matching.api.pagination import ListArgs, cursor_page, page_schema
from matching.api.problems import Problem
from matching.api.schemas import ProblemSchema, Text, UtcDateTime, WindowDate
from matching.i18n import _l
from matching.models import GENDERS, TRAINEE_STATUSES, Trainee
from matching.operations import registry
from matching.operations.imports.trainees import KNOWN_COLUMNS, import_trainees
from matching.operations.locks import lock_rows
from matching.validation import PLANNED, InvalidValue, check_birth_date
from matching.web.trainees.queries import filtered_trainees

bp = api_blueprint("api_trainees", __name__, "/api/v1/trainees",
                   description="The trainee registry: departments (their province) and admin.")


class TraineeSchema(ma.Schema):
    id = ma.fields.Integer()
    external_id = ma.fields.String()
    full_name = ma.fields.String()
    name_kana = ma.fields.String(allow_none=True)
    date_of_birth = ma.fields.Date()
    gender = ma.fields.String(allow_none=True)
    province = ma.fields.String()
    school = ma.fields.String(allow_none=True)
    field = ma.fields.String()
    skills = ma.fields.List(ma.fields.String(), attribute="skill_slugs")
    japanese_level = ma.fields.String()
    training_hours = ma.fields.Integer()
    experience_years = ma.fields.Float()
    preferred_prefectures = ma.fields.List(ma.fields.String(), attribute="prefecture_codes")
    available_from = ma.fields.Date(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    consent = ma.fields.Boolean()
    status = ma.fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    etag = ma.fields.Function(lambda t: etag(t.registry_version), metadata={
        "description": "Send as If-Match to change this trainee."})


def _birth_date(day):
    try:
        check_birth_date(day)
    except InvalidValue as exc:
        raise ma.ValidationError(str(exc.message)) from None


class TraineeInSchema(ma.Schema):
    """A trainee to create; for a change (PATCH) every field is optional."""

    external_id = Text(64, required=True)
    full_name = Text(200, required=True)
    name_kana = Text(200, allow_none=True)
    date_of_birth = ma.fields.Date(required=True, validate=_birth_date)
    gender = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(GENDERS))
    province = Text(32, metadata={"description": "A department's own province by default."})
    school = Text(200, allow_none=True)
    field = Text(32, required=True)
    skills = ma.fields.List(Text(80), validate=ma.validate.Length(max=100))
    japanese_level = Text(8, required=True)
    training_hours = ma.fields.Integer(validate=ma.validate.Range(0, 100_000))
    experience_years = ma.fields.Float(validate=ma.validate.Range(0, 50))
    preferred_prefectures = ma.fields.List(Text(32), validate=ma.validate.Length(max=47))
    available_from = WindowDate(PLANNED, allow_none=True)
    email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=254))
    phone = Text(40, allow_none=True)
    consent = ma.fields.Boolean()


class TraineePatchSchema(TraineeInSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(TRAINEE_STATUSES))

    def __init__(self, **kw):
        super().__init__(partial=True, **kw)


class TraineeListArgs(ListArgs):
    """The registry page's filters."""

    q = Text(200, metadata={"description": "Words of the name, or the start of the ID."})
    field = ma.fields.String()
    level = ma.fields.String(metadata={"description": "Minimum Japanese level."})
    status = ma.fields.String(validate=ma.validate.OneOf(TRAINEE_STATUSES))
    school = Text(200)
    province = ma.fields.String()


BulkSchema = bulk_schema("TraineeBulk", KNOWN_COLUMNS)


class BulkResultSchema(ma.Schema):
    rows = ma.fields.Integer()
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    dry_run = ma.fields.Boolean()
    warnings = ma.fields.List(ma.fields.Dict())


def _scoped():
    return access.trainees_select(current_user)


def _with_etag(trainee: Trainee, status: int = 200):
    headers = {"ETag": etag(trainee.registry_version)}
    if status == 201:
        headers["Location"] = url_for("api_trainees.item", trainee_id=trainee.id)
    return trainee, status, headers


@bp.route("")
@roles(*access.REGISTRARS)
@bp.arguments(TraineeListArgs, location="query")
@bp.response(200, page_schema(TraineeSchema))
def index(args):
    """Trainees in the token's scope, with the registry page's filters, by id."""
    filters = {k: v for k, v in args.items() if k not in ("cursor", "limit")}
    return cursor_page(filtered_trainees(current_user, filters), Trainee.id, args,
                       selectinload(Trainee.skills))


@bp.route("", methods=["POST"])
@roles(*access.REGISTRARS)
@bp.arguments(TraineeInSchema)
@bp.response(201, TraineeSchema)
@bp.alt_response(422, schema=ProblemSchema)
def create(data):
    """Register a trainee (a department: in its own province)."""
    if not access.can_register_trainees(current_user):
        raise Problem(403, _l("Your account cannot register trainees."))
    trainee = registry.create_trainee(data, current_user)
    return _with_etag(trainee, 201)


@bp.route("/<int:trainee_id>", endpoint="item")
class TraineeItem(MethodView):
    """One trainee. GET and PATCH share one route, so an id beyond the database's range is
    a 404 whatever the method (two rules on one path answer 405 for one of them)."""

    @roles(*access.REGISTRARS)
    @bp.response(200, TraineeSchema)
    def get(self, trainee_id):
        """One trainee; its ETag is the version to send as If-Match."""
        return _with_etag(access.get_trainee_or_404(current_user, trainee_id))

    @roles(*access.REGISTRARS)
    @bp.arguments(TraineePatchSchema)
    @bp.response(200, TraineeSchema)
    @bp.alt_response(412, schema=ProblemSchema)
    @bp.alt_response(428, schema=ProblemSchema)
    @bp.doc(parameters=[IF_MATCH])
    def patch(self, data, trainee_id):
        """Change the fields sent; If-Match (the ETag last read) is required."""
        trainee = access.get_trainee_or_404(current_user, trainee_id)
        lock_rows(trainee)
        check_if_match(etag(trainee.registry_version))
        trainee = registry.update_trainee(trainee, data, current_user)
        return _with_etag(trainee)


@bp.route("/bulk", methods=["POST"])
@roles(*access.REGISTRARS)
@bp.arguments(BulkSchema)
@bp.response(200, BulkResultSchema)
@bp.alt_response(422, schema=ProblemSchema)
def bulk(data):
    """Create or update trainees from rows in the import format, all or nothing: any
    invalid row and nothing is written; the problem lists each ``{row, field, message}``
    (``row``: the index in ``rows``, from 0; none for a problem of the whole request)."""
    result = run_bulk(data, import_trainees, current_user)
    return {"rows": result.rows, "created": result.created, "updated": result.updated,
            "dry_run": result.dry_run,
            "warnings": [row_error(w) for w in result.warnings]}
