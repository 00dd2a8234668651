"""``/api/v1/job-orders/{job_id}/candidates``: a job order's ranked candidates, blind, for
its employer (and admin), and the decisions on them.

The list is the candidate page's (``web.jobs.candidates.CandidateReview``): the same pool,
model, requirements and hidden rejections, each candidate an anonymised card named by an
opaque reference (``matching.references``), never a database id; shown to an employer, the
cards are recorded as impressions, as on the page. A candidate's personal data (``profile``)
is given only once the employer has shortlisted, interviewed or selected them for this job
order (``access.can_see_profile``, the rule of the profile page and the résumé). An agency
that may read the job order gets 404 here, a department 403, as on the site.

Decisions go through ``operations.decisions.record_decision``: headcount (409, unless
``confirm_over_headcount``), one open dispatch per worker, a repeated decision writing
nothing (200 instead of 201), row locks.
"""

import marshmallow as ma
from flask import url_for
from flask_login import current_user

from matching import access
from matching.api.core import api_blueprint, roles
from matching.api.pagination import ListArgs, decode_cursor, encode_cursor, page_schema
from matching.api.problems import from_refusal
from matching.api.schemas import ProblemSchema, Text, UtcDateTime
from matching.models import DECISIONS
from matching.operations import decisions as decision_ops
from matching.operations.decisions import NOTE_LIMIT, DecisionError, HeadcountReached
from matching.operations.dispatch import dispatch_for
from matching.web.jobs.candidates import (
    CandidateReview,
    candidate_under_review,
    job_under_review,
    open_candidate,
)
from matching.web.jobs.cards import candidate_code, model_note

bp = api_blueprint("api_candidates", __name__, "/api/v1/job-orders",
                   description="A job order's ranked candidates, anonymised until shortlisted, "
                               "and the decisions on them: its employer and admin.")


class SkillMarkSchema(ma.Schema):
    skill = ma.fields.String(required=True)
    mark = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ("matched", "missing", "preferred", "other")), metadata={
        "description": "matched or missing: a required skill; preferred: a preferred skill "
                       "the candidate has; other: another skill of theirs."})

    @ma.pre_dump
    def _pair(self, pair, **_kw):
        return {"skill": pair[0], "mark": pair[1]}


class ContributionSchema(ma.Schema):
    feature = ma.fields.String(required=True, metadata={"description": "The feature's code."})
    label = ma.fields.String(required=True, metadata={"description": "As the card words it."})
    contribution = ma.fields.Float(required=True, metadata={
        "description": "Its part of the score (negative: it lowers the score)."})
    value = ma.fields.Float(required=True)


class OwnPartSchema(ma.Schema):
    scope = ma.fields.String(required=True, validate=ma.validate.OneOf(("employer", "field")))
    label = ma.fields.String(required=True)
    delta = ma.fields.Float(required=True, metadata={
        "description": "How far this employer's (or field's) own decisions move the score."})


class CandidateSchema(ma.Schema):
    """A candidate card, as the candidate page shows it: nothing that names the person
    unless ``revealed``."""

    ref = ma.fields.String(required=True, metadata={
        "description": "Opaque reference of this candidate on this job order (another job "
                       "order gives the same person another one)."})
    code = ma.fields.String(required=True, metadata={"description": "The card's label."})
    rank = ma.fields.Integer(allow_none=True, required=True)
    score = ma.fields.Float(allow_none=True, required=True)
    field = ma.fields.String(required=True)
    skills = ma.fields.List(ma.fields.Nested(SkillMarkSchema), required=True)
    language = ma.fields.String(required=True, metadata={
        "description": "The Japanese level compared with the job order's minimum."})
    language_ok = ma.fields.Boolean(required=True)
    language_source = ma.fields.String(required=True)
    training_hours = ma.fields.Integer(required=True)
    experience_years = ma.fields.Float(required=True)
    availability = ma.fields.String(required=True)
    available_ok = ma.fields.Boolean(required=True)
    preferred_prefectures = ma.fields.List(ma.fields.String(), attribute="prefectures",
                                           required=True)
    explanation = ma.fields.List(ma.fields.Nested(ContributionSchema), attribute="bars",
                                 required=True, metadata={
                                     "description": "The score explained, largest part first."})
    own_parts = ma.fields.List(ma.fields.Nested(OwnPartSchema), required=True)
    meets_requirements = ma.fields.Boolean(required=True)
    decision = ma.fields.String(allow_none=True, required=True, validate=ma.validate.OneOf(
        DECISIONS), metadata={"description": "The latest decision on them for this job order."})
    revealed = ma.fields.Boolean(required=True, metadata={
        "description": "Whether their personal data may be shown (after shortlisting)."})
    name = ma.fields.String(allow_none=True, required=True)
    name_kana = ma.fields.String(allow_none=True, required=True)


class CandidateListSchema(page_schema(CandidateSchema)):
    total = ma.fields.Integer(required=True, metadata={"description": "Candidates listed."})
    excluded = ma.fields.Integer(required=True, metadata={
        "description": "Candidates the job order's requirements exclude (not listed unless "
                       "requirements=false)."})
    rejected_hidden = ma.fields.Integer(required=True, metadata={
        "description": "Rejected candidates left out (listed with rejected=true)."})
    model = ma.fields.String(required=True, metadata={"description": "Which model ranked."})


class CandidateListArgs(ListArgs):
    rejected = ma.fields.Boolean(load_default=False, metadata={
        "description": "List the rejected candidates too (hidden by default, as on the page)."})
    requirements = ma.fields.Boolean(load_default=True, metadata={
        "description": "Apply the job order's requirements; false lists everyone, each "
                       "saying whether they meet them."})


class ProfileSchema(ma.Schema):
    """A revealed candidate's personal data, as their profile page shows it."""

    full_name = ma.fields.String(required=True)
    name_kana = ma.fields.String(allow_none=True, required=True)
    date_of_birth = ma.fields.Date(required=True)
    gender = ma.fields.String(allow_none=True, required=True)
    province = ma.fields.String(required=True)
    school = ma.fields.String(allow_none=True, required=True)
    email = ma.fields.String(allow_none=True, required=True)
    phone = ma.fields.String(allow_none=True, required=True)


class DecisionSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(DECISIONS))
    decided_at = UtcDateTime(required=True)
    note = ma.fields.String(allow_none=True, required=True)


class CandidateDetailSchema(CandidateSchema):
    profile = ma.fields.Nested(ProfileSchema, allow_none=True, required=True, metadata={
        "description": "Null until the candidate is shortlisted, interviewed or selected "
                       "for this job order."})
    decisions = ma.fields.List(ma.fields.Nested(DecisionSchema), required=True, metadata={
        "description": "The decisions on them for this job order, latest first."})


class DecisionInSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(DECISIONS))
    note = Text(NOTE_LIMIT, multiline=True, allow_none=True)
    confirm_over_headcount = ma.fields.Boolean(load_default=False, metadata={
        "description": "Select even though the headcount is reached (else 409)."})


class DecisionOutSchema(DecisionSchema):
    ref = ma.fields.String(required=True)
    code = ma.fields.String(required=True)
    job_order_status = ma.fields.String(required=True, metadata={
        "description": "filled once the selections reach the headcount."})
    dispatch_id = ma.fields.Integer(allow_none=True, required=True, metadata={
        "description": "The dispatch a selection opened (/api/v1/dispatches/{id})."})


class HeadcountProblemSchema(ProblemSchema):
    """409 of a selection beyond the headcount: send it again with confirm_over_headcount."""

    selected = ma.fields.Integer(metadata={"description": "Already selected."})
    headcount = ma.fields.Integer()


@bp.route("/<int:job_id>/candidates")
@roles(*access.CANDIDATE_REVIEWERS)
@bp.arguments(CandidateListArgs, location="query")
@bp.response(200, CandidateListSchema)
@bp.alt_response(404, response="NOT_FOUND")
def index(args, job_id):
    """The job order's candidates, best first, as the candidate page ranks them. The
    cursor is a place in the ranking, which moves when the pool, the decisions or the
    model change."""
    job = job_under_review(job_id)
    review = CandidateReview(job, current_user, show_rejected=args["rejected"],
                             requirements=args["requirements"])
    offset = decode_cursor(args["cursor"]) if args.get("cursor") else 0
    total, limit = review.counts.shown, args["limit"]
    cards = review.cards(offset, limit) if offset < total else []
    return {"items": cards, "total": total, "excluded": review.counts.excluded,
            "rejected_hidden": len(review.hidden), "model": model_note(review.choice),
            "next_cursor": encode_cursor(offset + limit) if offset + limit < total else None}


def _detail(job, trainee) -> dict:
    card, history, revealed = open_candidate(job, trainee, current_user)
    return vars(card) | {"profile": trainee if revealed else None, "decisions": history}


@bp.route("/<int:job_id>/candidates/<ref>")
@roles(*access.CANDIDATE_REVIEWERS)
@bp.response(200, CandidateDetailSchema)
@bp.alt_response(404, response="NOT_FOUND")
def item(job_id, ref):
    """One candidate: their card, the decisions on them, and their profile once
    shortlisted (opening it is recorded, as on the site)."""
    job, trainee = candidate_under_review(job_id, ref)
    return _detail(job, trainee)


@bp.route("/<int:job_id>/candidates/<ref>/decisions", methods=["POST"])
@roles(*access.CANDIDATE_REVIEWERS)
@bp.arguments(DecisionInSchema)
@bp.response(201, DecisionOutSchema)
@bp.alt_response(200, schema=DecisionOutSchema, description="The same decision was the "
                 "latest already: nothing new was recorded.")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, schema=HeadcountProblemSchema,
                 description="The job order is not open, the headcount is reached, the "
                             "worker's dispatch has started or they are no longer available.")
def decide(data, job_id, ref):
    """Shortlist, interview, select or reject the candidate, with the candidate page's
    rules; selecting opens the worker's dispatch."""
    job, trainee = candidate_under_review(job_id, ref)
    before = decision_ops.latest_decision(job, trainee.id)
    try:
        decision = decision_ops.record_decision(
            job, trainee, data["decision"], current_user, note=data.get("note"),
            confirm_over_headcount=data["confirm_over_headcount"])
    except HeadcountReached as exc:
        problem = from_refusal(exc, 409)
        problem.extra.update(selected=exc.selected, headcount=exc.headcount)
        raise problem from None
    except DecisionError as exc:
        raise from_refusal(exc, 409) from None
    dispatch = dispatch_for(job, trainee) if decision.decision == "selected" else None
    body = {"ref": ref, "code": candidate_code(job.id, trainee.id),
            "decision": decision.decision, "decided_at": decision.decided_at,
            "note": decision.note, "job_order_status": job.status,
            "dispatch_id": dispatch.id if dispatch is not None else None}
    location = url_for("api_candidates.item", job_id=job.id, ref=ref)
    return body, 200 if decision is before else 201, {"Location": location}
