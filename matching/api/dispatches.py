"""``/api/v1/dispatches``: the dispatch pipeline. Its agencies (and admin) move dispatches;
the departments and employers who follow them on the site read them here.

List with the board's filters, get with the timeline and the documents' metadata, a move
with ``If-Match`` (``operations.dispatch.move_dispatch``: the state machine, its documents
and dates; a stale version answers 412 with the current stage), and bulk moves in the
status import's format (``operations.imports.statuses``), all or nothing.
"""

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from matching import access
from matching.api.bulk import bulk_schema, row_error, run_bulk
from matching.api.core import api_blueprint, roles
from matching.api.etags import IF_MATCH, check_if_match, etag
from matching.api.job_orders import OrganisationRefSchema
from matching.api.pagination import ListArgs, cursor_page, page_schema
from matching.api.problems import Problem, from_refusal
from matching.api.schemas import ProblemSchema, Text, UtcDateTime, WindowDate
from matching.extensions import db
from matching.models import EXITS, STAGES, Dispatch, Document, StatusEvent
from matching.operations import dispatch as ops
from matching.operations.imports.statuses import KNOWN_COLUMNS, import_statuses
from matching.operations.locks import lock_rows
from matching.validation import PAST_EVENT
from matching.web.dispatch.queries import BoardFilters, board_statement, with_people
from matching.web.params import MAX_ID

bp = api_blueprint("api_dispatches", __name__, "/api/v1/dispatches",
                   description="Dispatches: agencies (their own) and admin move them; the "
                               "departments and employers who follow them read them.")

ALL_STAGES = (*STAGES, *EXITS)


def _by(user) -> str | None:
    """Who recorded something, as the dispatch page names them (None: the system)."""
    return (user.name or user.email) if user is not None else None


class JobOrderRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    external_id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    employer = ma.fields.Nested(OrganisationRefSchema, required=True)


class WorkerSchema(ma.Schema):
    """The dispatched worker, as the dispatch page names them (the status import's keys)."""

    external_id = ma.fields.String(required=True)
    full_name = ma.fields.String(required=True)
    province = ma.fields.String(required=True)


class DispatchSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    stage = ma.fields.String(required=True, validate=ma.validate.OneOf(ALL_STAGES))
    is_open = ma.fields.Boolean(required=True)
    job_order = ma.fields.Nested(JobOrderRefSchema, required=True)
    worker = ma.fields.Nested(WorkerSchema, attribute="trainee", required=True)
    agency = ma.fields.Nested(OrganisationRefSchema, allow_none=True, required=True)
    planned_departure = ma.fields.Date(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
    closed_at = UtcDateTime(allow_none=True, required=True)
    etag = ma.fields.Function(lambda d: etag(d.version), required=True, metadata={
        "type": "string", "description": "Send as If-Match to move this dispatch."})


class EventSchema(ma.Schema):
    from_stage = ma.fields.String(allow_none=True, required=True)
    to_stage = ma.fields.String(required=True)
    happened_on = ma.fields.Date(required=True)
    recorded_at = UtcDateTime(attribute="at", required=True)
    recorded_by = ma.fields.Function(lambda e: _by(e.by), required=True, metadata={
        "type": ["string", "null"], "description": "Null: the system."})
    note = ma.fields.String(allow_none=True, required=True)


class DocumentSchema(ma.Schema):
    """A document's metadata; its file (when one was attached) at ``file_url``."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    owner = ma.fields.Function(lambda d: "dispatch" if d.dispatch_id else "worker",
                               required=True, metadata={
                                   "type": "string", "enum": ["dispatch", "worker"],
                                   "description": "A dispatch's paper (COE, visa...) or "
                                                  "the worker's own (passport...)."})
    number = ma.fields.String(allow_none=True, required=True)
    issued_on = ma.fields.Date(allow_none=True, required=True)
    expires_on = ma.fields.Date(allow_none=True, required=True)
    status = ma.fields.String(required=True, metadata={
        "description": "current; superseded or withdrawn ones are kept as history."})
    file_name = ma.fields.String(allow_none=True, required=True)
    content_type = ma.fields.String(allow_none=True, required=True)
    size = ma.fields.Integer(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    recorded_by = ma.fields.Function(lambda d: _by(d.created_by), required=True,
                                     metadata={"type": ["string", "null"]})
    file_url = ma.fields.Function(lambda d: file_url(d), required=True,
                                  metadata={"type": ["string", "null"]})


def file_url(document: Document) -> str | None:
    """Where a document's file is downloaded: through the dispatch it is shown on (a
    worker's paper has none of its own: ``shown_on``)."""
    if not document.file_path:
        return None
    dispatch_id = getattr(document, "shown_on", None) or document.dispatch_id
    return url_for("api_documents.file", dispatch_id=dispatch_id, document_id=document.id)


class MoveOptionSchema(ma.Schema):
    to_stage = ma.fields.String(required=True)
    missing_documents = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "Document kinds this forward move still lacks (or that expire too "
                       "early)."})


class DispatchDetailSchema(DispatchSchema):
    events = ma.fields.List(ma.fields.Nested(EventSchema), required=True, metadata={
        "description": "The timeline, in order."})
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema), attribute="shown_documents",
                               required=True, metadata={
                                   "description": "Its papers and the worker's, as its page "
                                                  "shows them to the token's user."})
    moves = ma.fields.List(ma.fields.Nested(MoveOptionSchema), required=True, metadata={
        "description": "The moves the token's user may make now (empty for readers)."})


class DispatchListArgs(ListArgs):
    """The board's filters."""

    stage = ma.fields.String(validate=ma.validate.OneOf(ALL_STAGES))
    open = ma.fields.Boolean(metadata={"description": "true: open dispatches only; false: "
                                                      "ended ones only."})
    job_order_id = ma.fields.Integer(validate=ma.validate.Range(1, MAX_ID))
    employer_id = ma.fields.Integer(validate=ma.validate.Range(1, MAX_ID))


class MoveSchema(ma.Schema):
    to_stage = ma.fields.String(required=True, validate=ma.validate.OneOf(ALL_STAGES),
                                metadata={"description": "The next stage, or an exit."})
    happened_on = WindowDate(PAST_EVENT, metadata={"description": "Today when left out."})
    note = Text(ops.NOTE_LIMIT, multiline=True, allow_none=True)


class MoveProblemSchema(ProblemSchema):
    """412 of a move: the dispatch changed since its ETag was read."""

    current_stage = ma.fields.String(metadata={"description": "The stage it is at now."})


MoveBulkSchema = bulk_schema("MoveBulk", KNOWN_COLUMNS)


class MoveBulkResultSchema(ma.Schema):
    rows = ma.fields.Integer(required=True)
    moves = ma.fields.Integer(required=True, attribute="created")
    dispatches = ma.fields.Integer(required=True, attribute="updated", metadata={
        "description": "Dispatches moved."})
    unchanged = ma.fields.Integer(required=True, metadata={
        "description": "Rows naming a stage already reached (on record)."})
    dry_run = ma.fields.Boolean(required=True)
    warnings = ma.fields.Function(lambda r: [row_error(w) for w in r.warnings],
                                  required=True, metadata={
                                      "type": "array", "items": {"type": "object"}})


def _detailed(dispatch_id: int) -> Dispatch:
    return access.get_dispatch_or_404(
        current_user, dispatch_id, joinedload(Dispatch.trainee), joinedload(Dispatch.job_order),
        joinedload(Dispatch.agency), selectinload(Dispatch.events).joinedload(StatusEvent.by))


def _detail(dispatch: Dispatch, status: int = 200):
    documents = db.session.scalars(
        access.dispatch_documents_select(current_user, dispatch).options(
            selectinload(Document.created_by))).all()
    for document in documents:
        document.shown_on = dispatch.id  # a worker's paper is downloaded from this dispatch
    moves = []
    if access.can_move_dispatch(current_user, dispatch):
        moves = [{"to_stage": to, "missing_documents": ops.missing_documents(dispatch, to)
                  if to in STAGES else []} for to in ops.allowed_moves(dispatch, current_user)]
    dispatch.shown_documents, dispatch.moves = documents, moves  # for the schema
    return dispatch, status, {"ETag": etag(dispatch.version)}


@bp.route("")
@roles(*access.DISPATCH_READERS)
@bp.arguments(DispatchListArgs, location="query")
@bp.response(200, page_schema(DispatchSchema))
def index(args):
    """The dispatches the token's organisation follows, by id, with the board's filters."""
    stmt = board_statement(current_user, BoardFilters(job=args.get("job_order_id"),
                                                      employer=args.get("employer_id")))
    if args.get("stage"):
        stmt = stmt.where(Dispatch.stage == args["stage"])
    if args.get("open") is not None:
        open_stages = Dispatch.stage.in_(ops.OPEN_STAGES)
        stmt = stmt.where(open_stages if args["open"] else sa.not_(open_stages))
    return cursor_page(with_people(stmt), Dispatch.id, args)


#: The version a move must name (``If-Match``).
_ETAG = {"ETag": {"schema": {"type": "string"}, "description": "Send as If-Match to move it."}}


@bp.route("/<bigid:dispatch_id>")
@roles(*access.DISPATCH_READERS)
@bp.response(200, DispatchDetailSchema, headers=_ETAG)
@bp.alt_response(404, response="NOT_FOUND")
def item(dispatch_id):
    """One dispatch: its timeline, its documents' metadata and, for its agency, the moves
    allowed now; its ETag is the version to send as If-Match."""
    return _detail(_detailed(dispatch_id))


@bp.route("/<bigid:dispatch_id>/moves", methods=["POST"])
@roles(*access.DISPATCH_MOVERS)
@bp.arguments(MoveSchema)
@bp.response(201, DispatchDetailSchema, headers=_ETAG)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(412, schema=MoveProblemSchema)
@bp.alt_response(428, response="PRECONDITION_REQUIRED")
@bp.doc(parameters=[IF_MATCH])
def move(data, dispatch_id):
    """Move the dispatch to its next stage or out of the pipeline, with the site's rules
    (no skipped or backward stage, the documents each step needs, its date). If-Match (the
    ETag last read) is required; another version answers 412 with the current stage."""
    dispatch = _detailed(dispatch_id)
    if not access.can_move_dispatch(current_user, dispatch):
        raise Problem(404)
    lock_rows(dispatch)
    try:
        check_if_match(etag(dispatch.version))
        ops.move_dispatch(dispatch, data["to_stage"], current_user,
                          expected_version=dispatch.version,
                          happened_on=data.get("happened_on"), note=data.get("note"))
    except Problem as problem:
        raise _with_stage(problem, dispatch) from None
    except ops.StaleDispatch as err:  # lost a race to a concurrent move
        raise _with_stage(from_refusal(err), dispatch) from None
    except ops.DispatchError as err:
        raise from_refusal(err, 409 if err.code == "document_date" else None) from None
    return _detail(_detailed(dispatch_id), 201)


def _with_stage(problem: Problem, dispatch: Dispatch) -> Problem:
    if problem.status == 412:
        problem.extra.update(current_stage=dispatch.stage,
                             current_etag=etag(dispatch.version))
    return problem


@bp.route("/moves", methods=["POST"])
@roles(*access.DISPATCH_MOVERS)
@bp.arguments(MoveBulkSchema)
@bp.response(200, MoveBulkResultSchema)
def bulk_moves(data):
    """Move many dispatches from rows in the status import's format
    (``trainee_external_id``, ``job_order_external_id``, ``stage``, optional ``date``,
    ``note``, ``trainee_province``), all or nothing: any refused row and nothing is
    written; the problem lists each ``{row, field, message}`` (``row`` from 0). A row
    naming a stage already reached counts as unchanged."""
    return run_bulk(data, import_statuses, current_user)
