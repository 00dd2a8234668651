"""Ranking against the database: what the CLI (and later the web) call (DESIGN §5).

- ``current_model()``: the newest stored model version, or the expert prior when none was
  trained yet or the newest was trained on other features (it says which, and why).
- ``rank_job(job_order)``: the candidates of one job order, best first, with explanations.
  Candidates are the trainees with status ``available`` and consent (``pool.eligible``);
  nobody else is excluded: employers set no hard filters yet.
- ``train_model()``: learn from the latest decision per (job order, trainee), store the
  result as a new version, or refuse with ``NotEnoughDecisions`` and store nothing.

What is stored is the *blend* of the prior and the learned model, α = n / (n + 20) for n
labelled job orders (``model.blend``): with few job orders the learned weights are noisy,
so the prior keeps most of the say until about 20 job orders have been labelled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from flask import current_app

from matching.extensions import db
from matching.models import DECISION_GRADES, Decision, JobOrder, Trainee
from matching.models.jobs import latest_decisions_subquery
from matching.ranking.explain import explain_ranked
from matching.ranking.features import FEATURES, Job, Pool
from matching.ranking.model import (
    PRIOR,
    LinearModel,
    TooFewDecisions,
    decision_matrix,
    labelled_groups,
    rank_pool,
    train,
)
from matching.ranking.pool import load_pool, load_training_pool
from matching.ranking.store import ModelStore

#: Fewer labelled job orders (with two different grades) than this and nothing is learned.
MIN_JOB_ORDERS = 5


@dataclass
class ModelChoice:
    """The model ranking uses now: ``version`` None means the expert prior."""

    model: LinearModel
    version: int | None
    reason: str  # why this one, in a short English phrase for the CLI and logs

    def describe(self) -> str:
        """"version 2, blend of prior and learned model, α = 0.67 (40 labelled job orders)"
        or "expert prior (no model trained yet)"."""
        if self.version is None:
            return f"{describe_model(self.model)} ({self.reason})"
        return f"version {self.version}, {describe_model(self.model)}"


def describe_model(model: LinearModel) -> str:
    """What a model is, in words: expert prior, learned model or blend with its α."""
    if model.kind == "prior":
        return "expert prior"
    if model.kind == "blend":
        return (f"blend of prior and learned model, α = {model.alpha:.2f} "
                f"({model.n_job_orders} labelled job orders)")
    return f"learned model ({model.n_job_orders} labelled job orders)"


def model_store() -> ModelStore:
    """The versioned models of this instance (``instance/models``)."""
    return ModelStore(os.path.join(current_app.instance_path, "models"))


def current_model(store: ModelStore | None = None) -> ModelChoice:
    """The newest stored model if it scores today's ``FEATURES``, else the expert prior."""
    store = store or model_store()
    version = store.latest_version()
    if version is None:
        return ModelChoice(PRIOR, None, "no model trained yet")
    model = store.load(version)
    if not model.compatible(FEATURES):
        return ModelChoice(PRIOR, None, f"stored version {version} was trained on other "
                                        "features; train again")
    return ModelChoice(model, version, "newest stored version")


# -- ranking ----------------------------------------------------------------------------------


def job_for(job_order: JobOrder) -> Job:
    """What ranking needs of a job order."""
    return Job(field=job_order.field, required_skills=job_order.required_skill_list,
               preferred_skills=job_order.preferred_skill_list,
               min_language_rank=job_order.min_language_rank or 0,
               prefecture=job_order.prefecture, start_date=job_order.start_date,
               external_id=job_order.external_id)


def rank_job(job_order: JobOrder, top: int = 50, pool: Pool | None = None,
             model: ModelChoice | None = None) -> list[dict]:
    """The ``top`` candidates for ``job_order``, best first (ties by trainee id).

    Each item: trainee_id, external_id, province, score (4 decimals), rank (1..n) and
    explanation (``explain.explain`` plus ``model_version``, None for the prior). Pass
    ``pool`` and ``model`` to rank several job orders against the same ones.
    """
    pool = load_pool() if pool is None else pool
    choice = current_model() if model is None else model
    job = job_for(job_order)
    ranked = rank_pool(choice.model, pool, job, k=top)
    explanations = explain_ranked(choice.model, pool, job, ranked)
    ids = [int(i) for i in ranked.ids]
    who = {row.id: row for row in db.session.execute(
        sa.select(Trainee.id, Trainee.external_id, Trainee.province)
        .where(Trainee.id.in_(ids)))} if ids else {}
    out = []
    for trainee_id, score, explanation in zip(ids, ranked.scores, explanations, strict=True):
        person = who.get(trainee_id)
        if person is None:  # deleted since the pool was cached: the next call rebuilds
            continue
        explanation["model_version"] = choice.version
        out.append({"trainee_id": trainee_id, "external_id": person.external_id,
                    "province": person.province, "score": round(float(score), 4),
                    "rank": len(out) + 1, "explanation": explanation})
    return out


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


def training_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """``(X, grades, groups, n_decisions, n_job_orders)`` from the database."""
    decided = latest_decisions()
    orders = db.session.scalars(
        sa.select(JobOrder).where(JobOrder.id.in_(sa.select(Decision.job_order_id)))
        .order_by(JobOrder.id)).all()
    index = {order.id: i for i, order in enumerate(orders)}
    jobs = [job_for(order) for order in orders]
    triples = [(index[j], t, DECISION_GRADES[d]) for j, t, d in decided
               if j in index and d in DECISION_GRADES]
    X, grades, groups = decision_matrix(load_training_pool(), jobs, triples)
    return X, grades, groups, len(decided), len(orders)


def train_model(*, store: ModelStore | None = None) -> TrainingReport:
    """Fit on every latest decision, store the blend as a new version, report the figures.

    Raises ``NotEnoughDecisions`` (nothing stored) below ``MIN_JOB_ORDERS`` labelled job
    orders or too few usable pairs.
    """
    store = store or model_store()
    X, grades, groups, n_decisions, n_job_orders = training_data()
    try:
        result = train(X, grades, groups, min_job_orders=MIN_JOB_ORDERS)
    except TooFewDecisions as exc:
        current = current_model(store)
        keeping = "the prior" if current.version is None else f"version {current.version}"
        raise NotEnoughDecisions(str(exc), n_decisions=n_decisions,
                                 n_job_orders=len(labelled_groups(grades, groups)),
                                 keeping=keeping) from exc
    version = store.save(result.model, note=describe_model(result.model))
    return TrainingReport(version=version, model=result.model, learned=result.learned,
                          metrics=result.metrics, n_decisions=n_decisions,
                          n_job_orders=n_job_orders)
