"""Employer review of a job order's candidates (DESIGN §5, §7): blind until shortlisted.

- ``jobs.candidates``: the ranked pool as anonymised cards, 20 a page, each page shown to an
  employer recorded as impressions; the trainees the job order's requirements exclude are
  neither ranked nor shown (nor recorded) unless the employer shows them for this visit
  (``?requirements=off``), then marked as not meeting them;
- ``jobs.profile``: one candidate in full once revealed (shortlisted, interviewed,
  selected), else the anonymised detail; opening it marks the impression opened;
- ``jobs.decide``: the decision buttons (``operations.decisions.record_decision``);
- ``jobs.rirekisho``: the Japanese résumé, for revealed candidates only;
- ``jobs.decisions``: the job order's decision history (its agency may read it too).

Only the job order's employer and administrators review candidates: an agency that may
read the job order gets 404 here, a department 403 (it never uses these pages).
"""

import logging
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from matching import access
from matching.documents import build_rirekisho
from matching.extensions import db
from matching.models import Decision, JobOrder, Trainee
from matching.operations import decisions as decision_ops
from matching.operations import impressions as impression_ops
from matching.operations.decisions import DecisionError, HeadcountReached
from matching.ranking.pool import changed_between, held_version, load_pool
from matching.ranking.service import (
    TopGuard,
    candidate_counts,
    current_model,
    rank_job,
    rank_one,
    top_guard,
    top_stands,
)
from matching.references import candidate_ref
from matching.validation import age_on
from matching.web.downloads import pdf_response, rirekisho_filename
from matching.web.jobs import bp, card_cache
from matching.web.jobs.candidate_forms import DecisionForm
from matching.web.jobs.cards import (
    Card,
    ListPage,
    build_cards,
    candidate_code,
    make_card,
    model_note,
)
from matching.web.navigation import safe_next

log = logging.getLogger(__name__)

PER_PAGE = 20
HISTORY_PER_PAGE = 50


@bp.context_processor
def review_helpers() -> dict:
    return {"age_on": age_on}


def job_under_review(job_id: int) -> JobOrder:
    """The job order, if the current user reviews its candidates (else 404, even for the
    agency that may read the job order itself). The API's candidates use it too."""
    job = access.get_job_order_or_404(current_user, job_id)
    if not access.can_manage_job_order(current_user, job):
        abort(404)
    return job


# -- the ranked cards --------------------------------------------------------------------------


class CandidateReview:
    """One look at a job order's ranked candidates, as the candidate page (and the API's
    list, ``matching.api.candidates``) shows them: the pool and model in use, the latest
    decisions, the rejected candidates hidden unless ``show_rejected``, the job order's
    requirements applied unless ``requirements`` is False, and the counts of the list."""

    def __init__(self, job: JobOrder, user, *, show_rejected: bool = False,
                 requirements: bool = True):
        self.job, self.user, self.requirements = job, user, requirements
        self.pool, self.choice = load_pool(), current_model()
        self.decided = decision_ops.latest_decisions_for(job)
        # Rejected candidates stay in the pool (they are available); hidden by default,
        # they are ranked and dropped, so each page still holds its cards and ranks stay
        # the real ones.
        self.hidden = set() if show_rejected else {
            t for t, d in self.decided.items() if d == "rejected"}
        self.pool_version = held_version(self.pool)
        self.counts = card_cache.ranked(
            "counts", job, self.pool_version, self.choice.version,
            (frozenset(self.hidden), requirements),
            lambda: candidate_counts(job, self.pool, self.hidden, requirements=requirements))

    def cards(self, offset: int, limit: int) -> list:
        """The cards from place ``offset`` (from 0) of the list, at most ``limit``; shown to
        an employer, they are recorded as impressions."""
        items, revealed = self._ranked(offset, limit)
        cards = build_cards(self.job, items, self.decided, revealed)
        impression_ops.record_impressions(self.job, self.user, items)
        return cards

    def rendered_cards(self, offset: int, limit: int, next_url: str) -> list:
        """``cards`` as the page shows them: each card's HTML (``card_cache``)."""
        items, revealed = self._ranked(offset, limit)
        cards = card_cache.rendered_cards(self.job, items, self.decided, revealed,
                                          next_url=next_url,
                                          model_version=self.choice.version,
                                          pool_version=self.pool_version)
        impression_ops.record_impressions(self.job, self.user, items)
        return cards

    def _ranked(self, offset: int, limit: int) -> tuple[list[dict], set[int]]:
        # Ranking the top offset + limit is cheap: the pool's feature block is cached
        # (DESIGN §5). Kept with the guard of that top, a page survives registrations
        # that cannot move it (``card_cache.ranked``'s ``carry``).
        top = offset + limit + self.counts.rejected_hidden

        def compute() -> KeptPage:
            return KeptPage(
                rank_job(self.job, top=top, pool=self.pool, model=self.choice,
                         offset=offset, skip=self.hidden,
                         requirements=self.requirements)[:limit],
                top_guard(self.job, top, self.pool, self.choice,
                          requirements=self.requirements))

        items = card_cache.ranked(
            "items", self.job, self.pool_version, self.choice.version,
            (frozenset(self.hidden), self.requirements, offset, limit), compute,
            carry=self._still_on_top)
        revealed = access.revealed_among(self.user, [item["trainee_id"] for item in items],
                                         self.job, latest=self.decided)
        return items, revealed


    def _still_on_top(self, kept: "KeptPage", since: int) -> bool:
        """Whether a page kept for the pool of version ``since`` is this pool's page too."""
        changed = changed_between(since, self.pool_version)
        return changed is not None and top_stands(
            kept.guard, self.job, self.pool, self.choice, changed,
            requirements=self.requirements)


class KeptPage(list):
    """A page's ranked items as ``card_cache`` keeps them, with the guard of the top they
    were cut from (``ranking.service.top_guard``)."""

    def __init__(self, items: list[dict], guard: TopGuard):
        super().__init__(items)
        self.guard = guard


@bp.route("/<int:job_id>/candidates")
@access.roles_required(*access.CANDIDATE_REVIEWERS)
def candidates(job_id: int):
    job = job_under_review(job_id)
    show_rejected = request.args.get("rejected") == "show"
    # The requirements are the employer's filters; switching them off lasts for this visit
    # only (a link, not a setting), so the next visit filters again.
    requirements = request.args.get("requirements") != "off"
    review = CandidateReview(job, current_user, show_rejected=show_rejected,
                             requirements=requirements)
    total = review.counts.shown
    page = min(max(request.args.get("page", 1, type=int), 1),
               max(1, -(-total // PER_PAGE)))
    pagination = ListPage(page, PER_PAGE, total)
    next_url = request.full_path if request.query_string else request.path
    cards = review.rendered_cards((page - 1) * PER_PAGE, PER_PAGE, next_url)
    return render_template(
        "jobs/candidates.html", job=job, cards=cards, pagination=pagination,
        pool_size=len(review.pool), model_note=model_note(review.choice),
        show_rejected=show_rejected, selected=_selected_workers(job, review.decided),
        n_rejected=len(review.hidden), requirements=requirements,
        n_excluded=review.counts.excluded,
        filters=_filter_args(show_rejected, requirements), next_url=next_url)


def _filter_args(show_rejected: bool, requirements: bool) -> dict[str, str]:
    """The list's query arguments other than the page, for the pager and the toggles."""
    args = {}
    if show_rejected:
        args["rejected"] = "show"
    if not requirements:
        args["requirements"] = "off"
    return args


def _selected_workers(job: JobOrder, decided: dict[int, str]) -> list[tuple[str, str, str]]:
    """(reference, code, name) of the job order's selected workers, by name.

    Selected is a revealing decision on the employer's own job order, so names are shown.
    """
    ids = [t for t, d in decided.items() if d == "selected"]
    if not ids:
        return []
    rows = db.session.execute(sa.select(Trainee.id, Trainee.full_name)
                              .where(Trainee.id.in_(ids)).order_by(Trainee.name_folded))
    return [(candidate_ref(job.id, tid), candidate_code(job.id, tid), name)
            for tid, name in rows]


# -- one candidate -------------------------------------------------------------------------------


def candidate_under_review(job_id: int, ref: str) -> tuple[JobOrder, Trainee]:
    """The job order under review and its candidate behind ``ref``, with skills and
    certificates loaded (else 404)."""
    job = job_under_review(job_id)
    return job, access.get_candidate_by_ref_or_404(current_user, job, ref,
                                                   selectinload(Trainee.skills),
                                                   selectinload(Trainee.certificates))


def open_candidate(job: JobOrder, trainee: Trainee, user) -> tuple[Card, list[Decision], bool]:
    """One candidate as their profile shows them: the card, the decisions on them for
    ``job`` (latest first) and whether their personal data may be shown (blind review);
    an employer's opening is recorded on the impression."""
    revealed = access.can_see_profile(user, trainee, job)
    item = rank_one(job, trainee.id)
    history = db.session.scalars(
        sa.select(Decision).where(Decision.job_order_id == job.id,
                                  Decision.trainee_id == trainee.id)
        .options(joinedload(Decision.decided_by))
        .order_by(Decision.decided_at.desc(), Decision.id.desc())).all()
    card = make_card(job, trainee, item, decision=history[0].decision if history else None,
                     revealed=revealed)
    impression_ops.mark_opened(job, trainee.id, user)
    return card, list(history), revealed


@bp.route("/<int:job_id>/candidates/<ref>")
@access.roles_required(*access.CANDIDATE_REVIEWERS)
def profile(job_id: int, ref: str):
    job, trainee = candidate_under_review(job_id, ref)
    card, history, revealed = open_candidate(job, trainee, current_user)
    # The Trainee object reaches the template only when its personal data may be shown.
    return render_template("jobs/profile.html", job=job, card=card, history=history,
                           person=trainee if revealed else None,
                           certificates=trainee.certificates, next_url=request.path,
                           today=date.today())


@bp.route("/<int:job_id>/candidates/<ref>/decision", methods=["POST"])
@access.roles_required(*access.CANDIDATE_REVIEWERS)
def decide(job_id: int, ref: str):
    job = job_under_review(job_id)
    trainee = access.get_candidate_by_ref_or_404(current_user, job, ref)
    form = DecisionForm()
    back = safe_next(form.next.data, url_for(".candidates", job_id=job.id))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(back)
    code = candidate_code(job.id, trainee.id)
    before = job.status
    try:
        decision = decision_ops.record_decision(
            job, trainee, form.decision.data, current_user, note=form.note.data,
            confirm_over_headcount=form.confirmed)
    except HeadcountReached as exc:
        return render_template("jobs/confirm_decision.html", job=job, code=code, form=form,
                               message=exc.message, ref=ref, back=back)
    except DecisionError as exc:
        # NotACandidate too: the trainee was a candidate when this request loaded them, so
        # another employer's selection (or a withdrawn consent) came in between.
        flash(str(exc.message), "error")
        return redirect(back)
    flash(_decision_message(decision.decision, code), "success")
    if before != "filled" and job.status == "filled":
        flash(_("The headcount is reached: the job order is now marked as filled. Reopen it "
                "from its page to select more workers."), "info")
    return redirect(back)


def _decision_message(decision: str, code: str) -> str:
    if decision == "shortlisted":
        return _("Candidate %(code)s is shortlisted: their full profile and résumé are now "
                 "open to you.", code=code)
    if decision == "interviewed":
        return _("Candidate %(code)s is marked as interviewed.", code=code)
    if decision == "selected":
        return _("Candidate %(code)s is selected. Their dispatch has been opened and they no "
                 "longer appear to other employers.", code=code)
    return _("Candidate %(code)s is rejected.", code=code)


@bp.route("/<int:job_id>/candidates/<ref>/rirekisho.pdf")
@access.roles_required(*access.CANDIDATE_REVIEWERS)
def rirekisho(job_id: int, ref: str):
    job, trainee = candidate_under_review(job_id, ref)
    if not access.can_see_profile(current_user, trainee, job):
        abort(404)  # blind review: the résumé opens with the profile, not before
    log.info("rirekisho of trainee %s downloaded by %s for job order %s", trainee.id,
             current_user.email, job.external_id)
    return pdf_response(build_rirekisho(trainee), rirekisho_filename(trainee))


# -- history ---------------------------------------------------------------------------------------


@bp.route("/<int:job_id>/decisions")
@access.roles_required(*access.JOB_READERS)
def decisions(job_id: int):
    """Every decision on the job order, latest first: revealed candidates by name, the
    others by their candidate code (an agency sees codes only)."""
    job = access.get_job_order_or_404(current_user, job_id)
    stmt = (sa.select(Decision).where(Decision.job_order_id == job.id)
            .options(joinedload(Decision.decided_by))
            .order_by(Decision.decided_at.desc(), Decision.id.desc()))
    pagination = db.paginate(stmt, page=request.args.get("page", 1, type=int),
                             per_page=HISTORY_PER_PAGE, error_out=False)
    revealed = access.revealed_among(current_user, {d.trainee_id for d in pagination.items},
                                     job)
    names = dict(db.session.execute(sa.select(Trainee.id, Trainee.full_name)
                                    .where(Trainee.id.in_(revealed))).all()) if revealed else {}
    rows = [(d, candidate_code(job.id, d.trainee_id), names.get(d.trainee_id),
             candidate_ref(job.id, d.trainee_id)) for d in pagination.items]
    return render_template("jobs/decisions.html", job=job, rows=rows, pagination=pagination,
                           reviewing=access.can_manage_job_order(current_user, job))
