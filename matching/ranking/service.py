"""Ranking against the database: what the CLI (and later the web) call (DESIGN §5).

- ``current_model()``: the newest stored model version, or the expert prior when none was
  trained yet or the newest was trained on other features (it says which, and why).
- ``rank_job(job_order)``: the candidates of one job order, best first, with explanations.
  Candidates are the trainees with status ``available`` and consent (``pool.eligible``),
  minus those the job order's requirements exclude (``features.requirements_mask``: a hard
  minimum Japanese level, a start window); ``requirements=False`` ranks them too, each
  item saying whether it meets them.
- ``candidate_counts(job_order, pool, hidden)``: how many are shown, hidden as rejected
  and excluded by the requirements, for a page's total and its notes.
- ``train_model()``: learn from the latest decision per (job order, trainee) and from the
  candidates shown and passed over, store the result as a new version, or refuse with
  ``NotEnoughDecisions`` and store nothing.

What is stored is the *blend* of the prior and the learned model, α = n / (n + 5) for n
labelled job orders (``model.blend``): with few job orders the learned weights are noisy,
so the prior keeps a say; unless the held-out job orders show the learned model alone ranks
better, in which case it is stored alone (``training.train``).

Position bias (``passed_over`` and ``training_data``). An employer decides on a few of the
cards shown; the others were either looked at and not wanted, or never looked at. So:

- A candidate never shown for a job order (no Impression) is missing data: no row.
- A candidate shown (an Impression) with no decision on that job order is *passed over*, an
  implicit weak negative graded 0 like a rejection, but only when the employer recorded a
  decision on that job order after the card was shown: evidence the list was looked at
  since. Without one, the impression is ignored (the employer may not have started).
- Its weight is ``PASSED_OVER_WEIGHT`` × the propensity the card was examined, from its best
  (lowest) rank among those impressions: p(rank) = (1 / rank)^η with η = 1, the examination
  model fitted on ranked lists by Joachims, Swaminathan & Schnabel (2017, η ≈ 1). It falls
  faster than NDCG's 1 / log2(1 + rank), so a card at rank 50 (p = 0.02) says almost nothing,
  which is the point: it was probably never looked at. A card the employer opened was
  examined: p = 1.
- ``PASSED_OVER_WEIGHT`` = 0.5: even surely examined, not choosing someone (yet) is half as
  strong as an explicit rejection; the employer may have filled the headcount or may still
  come back to the card.
- Explicit decisions weigh 1. In ``training.fit_pairwise`` a pair weighs its grade difference
  × the smaller row weight, i.e. the passed-over row's. Held-out metrics use decisions only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import sqlalchemy as sa

from matching.extensions import db
from matching.models import DECISION_GRADES, Decision, Impression, JobOrder, Trainee
from matching.models.jobs import latest_decisions_subquery
from matching.ranking.explain import explain, explain_ranked
from matching.ranking.features import (
    FEATURES,
    Job,
    Pool,
    job_features,
    place_of,
    requirements_mask,
)
from matching.ranking.model import PRIOR, LinearModel, Ranked, TooFewDecisions, rank_pool
from matching.ranking.pool import build_pool, load_pool, load_training_pool
from matching.ranking.store import DatabaseModelStore, ModelStore
from matching.ranking.training import decision_matrix, labelled_groups, train

#: Fewer labelled job orders (with two different grades) than this and nothing is learned.
MIN_JOB_ORDERS = 5
#: Weight of a passed-over candidate that surely was examined (an explicit decision: 1).
PASSED_OVER_WEIGHT = 0.5
#: η of the examination propensity (1 / rank)^η.
POSITION_ETA = 1.0


class ModelReason(StrEnum):
    """Why ``current_model`` chose what it chose (the value is the CLI's and logs' phrase)."""

    NO_MODEL = "no model trained yet"
    OTHER_FEATURES = "the stored version was trained on other features; train again"
    NEWEST = "newest stored version"


@dataclass
class ModelChoice:
    """The model ranking uses now: ``version`` None means the expert prior."""

    model: LinearModel
    version: int | None
    reason: ModelReason
    stored: int | None = None  # the newest stored version, when it could not be used

    def why(self) -> str:
        """The reason as a phrase for the CLI and logs."""
        if self.reason is ModelReason.OTHER_FEATURES:
            return (f"stored version {self.stored} was trained on other features; "
                    "train again")
        return self.reason.value

    def describe(self) -> str:
        """"version 2, blend of prior and learned model, α = 0.67 (40 labelled job orders)"
        or "expert prior (no model trained yet)"."""
        if self.version is None:
            return f"{describe_model(self.model)} ({self.why()})"
        return f"version {self.version}, {describe_model(self.model)}"


def describe_model(model: LinearModel) -> str:
    """What a model is, in words: expert prior, learned model or blend with its α, and
    its per-employer deviations when it has some."""
    if model.kind == "prior":
        return "expert prior"
    own = ""
    if model.hierarchical:
        own = (f", with deviations for {len(model.employer_deviations)} employer(s) and "
               f"{len(model.field_deviations)} field(s)")
    if model.kind == "blend":
        return (f"blend of prior and learned model{own}, α = {model.alpha:.2f} "
                f"({model.n_job_orders} labelled job orders)")
    return f"learned model{own} ({model.n_job_orders} labelled job orders)"


def model_store() -> DatabaseModelStore:
    """The versioned models, in the database: every host ranks with the same version."""
    return DatabaseModelStore()


def current_model(store: DatabaseModelStore | ModelStore | None = None) -> ModelChoice:
    """The newest stored model if it scores today's ``FEATURES``, else the expert prior."""
    store = store or model_store()
    version = store.latest_version()
    if version is None:
        return ModelChoice(PRIOR, None, ModelReason.NO_MODEL)
    model = store.load(version)
    if not model.compatible(FEATURES):
        return ModelChoice(PRIOR, None, ModelReason.OTHER_FEATURES, stored=version)
    return ModelChoice(model, version, ModelReason.NEWEST)


# -- ranking ----------------------------------------------------------------------------------


def job_for(job_order: JobOrder) -> Job:
    """What ranking needs of a job order."""
    return Job(field=job_order.field, required_skills=job_order.required_skill_list,
               preferred_skills=job_order.preferred_skill_list,
               min_language_rank=job_order.min_language_rank or 0,
               prefecture=job_order.prefecture, start_date=job_order.start_date,
               external_id=job_order.external_id, employer=job_order.employer_id,
               language_is_hard=bool(job_order.language_is_hard),
               start_window_days=job_order.start_window_days)


@dataclass
class CandidateCounts:
    """A job order's pool split for the candidate page (``candidate_counts``)."""

    shown: int  # ranked and listed (the page's total)
    rejected_hidden: int  # in the pool, hidden as rejected (and meeting the requirements)
    excluded: int  # in the pool, not meeting the requirements (rejected ones not counted)


def candidate_counts(job_order: JobOrder, pool: Pool, hidden: Collection[int] = (), *,
                     requirements: bool = True) -> CandidateCounts:
    """How many of ``pool`` a candidate list of ``job_order`` shows, when the trainees in
    ``hidden`` (rejected ones) are dropped and, with ``requirements``, those the job
    order's requirements exclude too. Vectorised: one mask, one lookup of ``hidden``."""
    meets = requirements_mask(pool, job_for(job_order))
    rows = pool.rows_for(sorted(hidden)) if hidden else np.empty(0, dtype=np.intp)
    rows = rows[rows >= 0]
    excluded = int((~meets).sum()) - int((~meets[rows]).sum())
    if not requirements:
        return CandidateCounts(len(pool) - len(rows), len(rows), excluded)
    rejected = int(meets[rows].sum())
    return CandidateCounts(int(meets.sum()) - rejected, rejected, excluded)


def rank_job(job_order: JobOrder, top: int = 50, pool: Pool | None = None,
             model: ModelChoice | None = None, *, offset: int = 0,
             skip: Collection[int] = (), requirements: bool = True) -> list[dict]:
    """The ``top`` candidates for ``job_order``, best first (ties by trainee id).

    Each item: trainee_id, external_id, province, score (4 decimals), rank (its place in
    the whole ranking, from 1) and explanation (``explain.explain`` plus
    ``model_version``, None for the prior). Pass ``pool`` and ``model`` to rank several
    job orders against the same ones. A page of a long list: the ``top`` are ranked, the
    trainees in ``skip`` dropped and the first ``offset`` of the rest left out, and only
    what remains is explained and looked up, so a late page costs one vectorised sort of
    the pool, not an explanation per candidate before it.

    The trainees the job order's requirements exclude are not ranked (a boolean mask over
    the pool before the top k, ``features.requirements_mask``), so ``rank`` counts those
    meeting them. ``requirements=False`` ranks everybody; each item's
    ``meets_requirements`` then says who would have been excluded.
    """
    pool = load_pool() if pool is None else pool
    choice = current_model() if model is None else model
    job = job_for(job_order)
    meets = requirements_mask(pool, job) if job.has_requirements else None
    ranked = rank_pool(choice.model, pool, job, k=top,
                       mask=meets if requirements else None)
    places = np.arange(len(ranked.ids))
    if skip:
        places = places[~np.isin(ranked.ids, np.fromiter(skip, dtype=ranked.ids.dtype))]
    places = places[offset:]
    ranked = Ranked(ranked.rows[places], ranked.ids[places], ranked.scores[places],
                    ranked.X[places])
    explanations = explain_ranked(choice.model, pool, job, ranked)
    ids = [int(i) for i in ranked.ids]
    who = {row.id: row for row in db.session.execute(
        sa.select(Trainee.id, Trainee.external_id, Trainee.province)
        .where(Trainee.id.in_(ids)))} if ids else {}
    out = []
    for place, row, trainee_id, score, explanation in zip(
            places, ranked.rows, ids, ranked.scores, explanations, strict=True):
        person = who.get(trainee_id)
        if person is None:  # deleted since the pool was cached: the next call rebuilds
            continue
        explanation["model_version"] = choice.version
        out.append({"trainee_id": trainee_id, "external_id": person.external_id,
                    "province": person.province, "score": round(float(score), 4),
                    "rank": int(place) + 1, "explanation": explanation,
                    "meets_requirements": True if meets is None else bool(meets[row])})
    return out


@dataclass(frozen=True)
class TopGuard:
    """What decides whether a ranking's top ``k`` still stands after some trainees change:
    the top's trainee ids (sorted) and the ``k``-th (score, id), None when fewer than
    ``k`` were ranked (then anyone new meeting the requirements joins the top)."""

    ids: np.ndarray
    cut: tuple[float, int] | None


#: Scores within this of the cut count as reaching it: a score computed on a few rows may
#: differ from the same row's in the whole pool in the last bit.
CUT_MARGIN = 1e-4


def top_guard(job_order: JobOrder, k: int, pool: Pool, model: ModelChoice, *,
              requirements: bool = True) -> TopGuard:
    """The guard of ``job_order``'s top ``k`` over ``pool`` (as ``rank_job`` ranks it)."""
    spec = job_for(job_order)
    meets = requirements_mask(pool, spec) if requirements and spec.has_requirements else None
    ranked = rank_pool(model.model, pool, spec, k=k, mask=meets)
    cut = (float(ranked.scores[-1]), int(ranked.ids[-1])) if len(ranked.ids) >= k else None
    return TopGuard(np.sort(ranked.ids), cut)


def top_stands(guard: TopGuard, job_order: JobOrder, pool: Pool, model: ModelChoice,
               changed_ids: np.ndarray, *, requirements: bool = True) -> bool:
    """Whether the top ``guard`` was taken of, over an older pool, is still ``pool``'s top
    when only the trainees ``changed_ids`` changed since (same job order and model): none
    of them was in it, and none of them, as they are now, would enter it. Scores only the
    changed trainees (a few rows), never the pool."""
    if not len(changed_ids):
        return True
    if np.isin(changed_ids, guard.ids).any():
        return False
    rows = pool.rows_for(changed_ids)
    rows = rows[rows >= 0]
    if not len(rows):
        return True  # they left the pool, and were not in the top
    spec = job_for(job_order)
    part = pool.subset(rows)
    meets = (requirements_mask(part, spec) if requirements and spec.has_requirements
             else np.ones(len(part), dtype=bool))
    if guard.cut is None:
        return not meets.any()
    scores = model.model.for_job(spec).score(job_features(part, spec)).astype(np.float64)
    # At the cut or near it (a tie goes by id): counted as entering, to be safe.
    reach = scores >= guard.cut[0] - CUT_MARGIN
    return not (meets & reach).any()


def rank_one(job_order: JobOrder, trainee_id: int, pool: Pool | None = None,
             model: ModelChoice | None = None) -> dict | None:
    """One candidate's ranking item (``rank_job`` shape) without ranking the top k.

    In the pool: scored with everybody, so ``rank`` is their place among the candidates
    meeting the job order's requirements (ties by id, as ``rank_job``). Not meeting them, or
    out of the pool (selected, withdrawn...): ``rank`` None. ``meets_requirements`` says
    whether the trainee meets the requirements (judged on the same columns either way).
    """
    pool = load_pool() if pool is None else pool
    choice = current_model() if model is None else model
    spec = job_for(job_order)
    row = int(pool.rows_for([trainee_id])[0]) if len(pool) else -1
    rank = None
    if row >= 0:
        X = job_features(pool, spec, out=pool.buffer())
        meets = requirements_mask(pool, spec)
        ok = bool(meets[row])
        if ok:
            kept = np.flatnonzero(meets)
            scores = choice.model.for_job(spec).score(X)
            rank = place_of(scores[kept], pool.ids[kept], int(np.searchsorted(kept, row)))
        x, info = X[row].copy(), pool.row_info(row)
    else:
        alone = build_pool(Trainee.id == trainee_id)
        if not len(alone):
            return None
        x, info = job_features(alone, spec)[0], alone.row_info(0)
        ok = bool(requirements_mask(alone, spec)[0])
    explanation = explain(choice.model, x, spec, info)
    explanation["model_version"] = choice.version
    return {"trainee_id": trainee_id, "rank": rank, "score": round(explanation["score"], 4),
            "explanation": explanation, "meets_requirements": ok}


# -- training ---------------------------------------------------------------------------------


class NotEnoughDecisions(TooFewDecisions):
    """Training refused: nothing stored, the current model stays in use."""

    def __init__(self, detail: str, *, n_decisions: int, n_job_orders: int, keeping: str):
        super().__init__(detail)
        self.detail = detail
        self.n_decisions = n_decisions
        self.n_job_orders = n_job_orders
        self.keeping = keeping

    def __str__(self) -> str:
        if self.n_job_orders < MIN_JOB_ORDERS:
            return (f"too few decisions: {self.n_job_orders} labelled job orders, need at "
                    f"least {MIN_JOB_ORDERS} — keeping {self.keeping}")
        return f"too few decisions: {self.detail} — keeping {self.keeping}"


@dataclass
class TrainingReport:
    """A stored training run: its version, the stored and the pure learned model, figures."""

    version: int
    model: LinearModel
    learned: LinearModel
    metrics: dict
    n_decisions: int  # latest decisions read (every job order)
    n_job_orders: int  # job orders with at least one decision


def latest_decisions() -> list[tuple[int, int, str]]:
    """``(job_order_id, trainee_id, decision)``: the latest decision of every pair.

    Latest by ``decided_at``, then by id (see ``latest_decisions_subquery``).
    """
    latest = latest_decisions_subquery()
    stmt = (sa.select(latest.c.job_order_id, latest.c.trainee_id, latest.c.decision)
            .order_by(latest.c.job_order_id, latest.c.trainee_id))
    return [tuple(row) for row in db.session.execute(stmt)]


def propensity(rank, opened=False) -> np.ndarray:
    """Probability the card shown at ``rank`` (1 = top) was examined: (1 / rank)^η, η = 1;
    1 where ``opened`` (the employer opened the card). Arrays broadcast."""
    rank = np.maximum(np.asarray(rank, dtype=np.float64), 1.0)
    return np.where(np.asarray(opened, dtype=bool), 1.0, rank ** -POSITION_ETA)


def passed_over_select() -> sa.Select:
    """Columns job_order_id, trainee_id, best_rank, opened: one row per passed-over pair.

    The impressions of pairs with no decision at all, each followed by some decision on its
    job order (``decided_at`` after ``shown_at``); per pair the best (lowest) rank among
    them and whether any of them was opened (1 or 0). One aggregate statement.
    """
    later = sa.exists().where(Decision.job_order_id == Impression.job_order_id,
                              Decision.decided_at > Impression.shown_at)
    decided = sa.exists().where(Decision.job_order_id == Impression.job_order_id,
                                Decision.trainee_id == Impression.trainee_id)
    opened = sa.func.max(sa.case((Impression.opened_at.is_not(None), 1), else_=0))
    return (sa.select(Impression.job_order_id, Impression.trainee_id,
                      sa.func.min(Impression.rank).label("best_rank"), opened.label("opened"))
            .where(later, ~decided)
            .group_by(Impression.job_order_id, Impression.trainee_id))


def passed_over() -> list[tuple[int, int, int, bool]]:
    """``(job_order_id, trainee_id, best_rank, opened)`` of every passed-over candidate, by
    job order then trainee (``passed_over_select``)."""
    stmt = passed_over_select().order_by(Impression.job_order_id, Impression.trainee_id)
    return [(j, t, int(rank), bool(seen)) for j, t, rank, seen in db.session.execute(stmt)]


@dataclass
class TrainingData:
    """Rows for ``training.train``: decisions first, then the passed-over candidates."""

    X: np.ndarray
    grades: np.ndarray
    groups: np.ndarray  # job index
    weights: np.ndarray  # 1 for decisions, PASSED_OVER_WEIGHT × propensity for the others
    implicit: np.ndarray  # True for passed-over rows: training signal, never evaluated
    n_decisions: int  # latest decisions read (every job order)
    n_job_orders: int  # job orders with at least one decision
    employers: np.ndarray | None = None  # per row: its job order's employer (organisation id)
    fields: np.ndarray | None = None  # per row: its job order's field code


def training_data() -> TrainingData:
    """The decided and the passed-over rows from the database (see the module docstring).

    Trainees without consent are left out of both (their pools are built the same way).
    """
    decided = latest_decisions()
    orders = db.session.scalars(
        sa.select(JobOrder).where(JobOrder.id.in_(sa.select(Decision.job_order_id)))
        .order_by(JobOrder.id)).all()
    index = {order.id: i for i, order in enumerate(orders)}
    jobs = [job_for(order) for order in orders]
    triples = [(index[j], t, DECISION_GRADES[d]) for j, t, d in decided
               if j in index and d in DECISION_GRADES]
    parts = [decision_matrix(load_training_pool(), jobs, triples, weights=[1.0] * len(triples))]
    passed = [row for row in passed_over() if row[0] in index]
    if passed:
        # A subquery, not a list of ids: the list could outgrow SQLite's bound parameters.
        shown = passed_over_select().subquery()
        pool = build_pool(sa.and_(Trainee.id.in_(sa.select(shown.c.trainee_id)),
                                  Trainee.consent.is_(True)))
        rejected = DECISION_GRADES["rejected"]
        parts.append(decision_matrix(
            pool, jobs, [(index[j], t, rejected) for j, t, _, _ in passed],
            weights=PASSED_OVER_WEIGHT * propensity([r[2] for r in passed],
                                                    [r[3] for r in passed])))
    X, grades, groups, weights = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    implicit = np.arange(len(grades)) >= len(parts[0][1])
    index_rows = np.asarray(groups, dtype=np.int64)
    employers = np.array([job.employer for job in jobs] or [None], dtype=object)[index_rows]
    fields = np.array([job.field for job in jobs] or [None], dtype=object)[index_rows]
    return TrainingData(X, grades, groups, weights, implicit, len(decided), len(orders),
                        employers, fields)


def train_model(*, store: DatabaseModelStore | ModelStore | None = None) -> TrainingReport:
    """Fit on every latest decision and the passed-over candidates, store the result as a
    new version, report the figures (``metrics["n_implicit"]``: passed-over rows used).

    Raises ``NotEnoughDecisions`` (nothing stored) below ``MIN_JOB_ORDERS`` labelled job
    orders or too few usable pairs.
    """
    store = store or model_store()
    data = training_data()
    try:
        result = train(data.X, data.grades, data.groups, weights=data.weights,
                       implicit=data.implicit, employers=data.employers, fields=data.fields,
                       min_job_orders=MIN_JOB_ORDERS)
    except TooFewDecisions as exc:
        current = current_model(store)
        keeping = "the prior" if current.version is None else f"version {current.version}"
        explicit = ~data.implicit
        raise NotEnoughDecisions(str(exc), n_decisions=data.n_decisions,
                                 n_job_orders=len(labelled_groups(data.grades[explicit],
                                                                  data.groups[explicit])),
                                 keeping=keeping) from exc
    version = store.save(result.model, note=describe_model(result.model))
    return TrainingReport(version=version, model=result.model, learned=result.learned,
                          metrics=result.metrics, n_decisions=data.n_decisions,
                          n_job_orders=data.n_job_orders)
