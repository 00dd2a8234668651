"""Linear ranking models: the expert prior, blending, ranking a pool (DESIGN §5).

A model is a weight per feature (plus a bias), so every score is a sum of per-feature
contributions the UI can show. A hierarchical model (GLMix-style, ``hierarchy``) also holds
per-field and per-employer *deviations* from those global weights: a job order is scored
with global + its field's deviation + its employer's deviation, added into one weight
vector before the single matrix–vector product (``for_job``), so it is still a sum of
per-feature contributions, each split into a global, a field and an employer part.
Ranking needs nothing but the stored weights, so this module never imports scikit-learn;
learning the weights from decisions is ``training``'s and ``hierarchy``'s job (they import
from here, never the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from matching.ranking.features import FEATURES, Job, Pool, job_features, top_k

GRADES = {"selected": 3, "interviewed": 2, "shortlisted": 1, "rejected": 0}


class TooFewDecisions(ValueError):
    """Not enough decisions to learn from; the caller keeps the current model (the prior)."""


@dataclass
class LinearModel:
    """``score = X @ weights + bias`` over ``features`` (raw feature units)."""

    weights: np.ndarray
    bias: float = 0.0
    features: tuple[str, ...] = FEATURES
    kind: str = "prior"  # prior | learned | blend
    metrics: dict = field(default_factory=dict)
    trained_at: str | None = None
    n_decisions: int = 0
    n_job_orders: int = 0
    alpha: float = 0.0  # weight of the learned part in a blend (1.0 learned, 0.0 prior)
    #: Deviations from ``weights`` by field code and by employer (organisation id), in raw
    #: feature units; empty for a global-only model. A job order's effective weights are
    #: weights + field deviation + employer deviation (``for_job``).
    field_deviations: dict[str, np.ndarray] = field(default_factory=dict)
    employer_deviations: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.features = tuple(self.features)
        if self.weights.shape != (len(self.features),):
            raise ValueError("one weight per feature")
        self.field_deviations = {k: np.asarray(v, dtype=np.float64)
                                 for k, v in self.field_deviations.items()}
        self.employer_deviations = {k: np.asarray(v, dtype=np.float64)
                                    for k, v in self.employer_deviations.items()}
        for deviations in (self.field_deviations, self.employer_deviations):
            if any(v.shape != self.weights.shape for v in deviations.values()):
                raise ValueError("one deviation per feature")

    @property
    def hierarchical(self) -> bool:
        """Whether the model holds any per-field or per-employer deviation."""
        return bool(self.field_deviations or self.employer_deviations)

    def parts(self, job) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(global weights, field deviation, employer deviation)`` for ``job`` (a
        ``features.Job``); a deviation is None when the model has none for it."""
        return (self.weights, self.field_deviations.get(getattr(job, "field", None)),
                self.employer_deviations.get(getattr(job, "employer", None)))

    def for_job(self, job) -> LinearModel:
        """The global-only model that scores ``job``: its weights are the global weights plus
        the job's field and employer deviations. Without either, ``self`` itself, so a new
        employer (no decisions, no deviation) is ranked exactly as by the global model."""
        weights, by_field, by_employer = self.parts(job)
        if by_field is None and by_employer is None:
            return self
        for deviation in (by_field, by_employer):
            if deviation is not None:
                weights = weights + deviation
        return replace(self, weights=weights, field_deviations={}, employer_deviations={})

    def compatible(self, features: tuple[str, ...] = FEATURES) -> bool:
        """Whether the model scores exactly these features (a stored model may predate them)."""
        return self.features == tuple(features)

    def score(self, X: np.ndarray) -> np.ndarray:
        """Scores of the rows of ``X`` (float32 when X is, without upcasting X)."""
        X = np.asarray(X)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        s = X @ self.weights.astype(dtype)
        return s + dtype.type(self.bias) if self.bias else s

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions ``X * weights``; each row sums to score − bias."""
        return np.asarray(X, dtype=np.float64) * self.weights

    def to_dict(self) -> dict:
        """JSON-safe representation."""
        return {
            "kind": self.kind,
            "features": list(self.features),
            "weights": [float(w) for w in self.weights],
            "bias": float(self.bias),
            "alpha": float(self.alpha),
            "trained_at": self.trained_at,
            "n_decisions": int(self.n_decisions),
            "n_job_orders": int(self.n_job_orders),
            "metrics": self.metrics,
            "field_deviations": {key: [float(v) for v in value]
                                 for key, value in sorted(self.field_deviations.items())},
            "employer_deviations": {str(key): [float(v) for v in value]
                                    for key, value in sorted(self.employer_deviations.items())},
        }

    @classmethod
    def from_dict(cls, data: dict) -> LinearModel:
        """The model written by ``to_dict`` (versions older than the deviations load as
        global-only models)."""
        return cls(weights=np.array(data["weights"], dtype=np.float64),
                   bias=float(data.get("bias", 0.0)), features=tuple(data["features"]),
                   kind=data.get("kind", "learned"), metrics=dict(data.get("metrics") or {}),
                   trained_at=data.get("trained_at"),
                   n_decisions=int(data.get("n_decisions", 0)),
                   n_job_orders=int(data.get("n_job_orders", 0)),
                   alpha=float(data.get("alpha", 0.0)),
                   field_deviations={str(k): np.array(v, dtype=np.float64)
                                     for k, v in (data.get("field_deviations") or {}).items()},
                   employer_deviations={
                       int(k): np.array(v, dtype=np.float64)
                       for k, v in (data.get("employer_deviations") or {}).items()})


_PRIOR_WEIGHTS = {
    "required_coverage": 3.0,
    "preferred_coverage": 1.0,
    "required_all": 1.0,
    "field_match": 1.0,
    "field_x_required": 0.5,
    "language_above": 0.4,
    "language_below": -1.0,
    "below_minimum": -2.0,
    "experience_log": 0.6,
    "training": 0.3,
    "prefecture_match": 0.3,
    "available_by_start": 0.8,
}
PRIOR = LinearModel(np.array([_PRIOR_WEIGHTS[f] for f in FEATURES]), kind="prior")
"""The expert prior, used until enough decisions exist (and said so in the UI).

======================  ======  ==========================================================
feature                 weight  why
======================  ======  ==========================================================
required_coverage        +3.0   what the employer asked for first; the biggest single term
preferred_coverage       +1.0   nice-to-have skills: a third of a required one
required_all             +1.0   a candidate with *every* required skill needs no retraining
field_match              +1.0   same SSW field: the visa track and the training fit
field_x_required         +0.5   skills learnt in the same field transfer better
language_above           +0.4   each level above the minimum helps (capped at 3 levels)
language_below           -1.0   each level below the minimum is a real gap…
below_minimum            -2.0   …and any shortfall fails the employer's stated requirement
experience_log           +0.6   experience, with diminishing returns (log1p years)
training                 +0.3   pre-departure training, diminishing returns (log1p h/100)
prefecture_match         +0.3   wants to live there: lower early-return risk (0.5 if open)
available_by_start       +0.8   cannot start on time is costly but can be negotiated
======================  ======  ==========================================================

One level below the minimum costs 3.0 (the flag and one level), as much as the whole
required-coverage term; missing every required skill in the right field costs 4.5.
"""


def blend(prior: LinearModel, learned: LinearModel, n_labelled_job_orders: int,
          k: float = 5) -> LinearModel:
    """Shrink the learned model towards the prior: α = n / (n + k) on the learned part.

    Both weight vectors (and biases) are divided by their weight vector's L2 norm first, so
    neither dominates through scale alone. With k = 5, 5 labelled job orders give α = 0.5,
    20 give α = 0.8 and 95 give α = 0.95; the stored ``alpha`` says how much was learned.
    The learned model's deviations (if any) are scaled like its global weights, α / norm, so
    every job order's effective weights are the blend of the prior and its learned weights.
    """
    n = max(int(n_labelled_job_orders), 0)
    alpha = n / (n + k) if n + k > 0 else 1.0
    pn = np.linalg.norm(prior.weights) or 1.0
    ln = np.linalg.norm(learned.weights) or 1.0
    weights = (1 - alpha) * prior.weights / pn + alpha * learned.weights / ln
    bias = (1 - alpha) * prior.bias / pn + alpha * learned.bias / ln
    def scaled(deviations: dict) -> dict:
        return {key: alpha * value / ln for key, value in deviations.items()}

    return LinearModel(weights, float(bias), learned.features, kind="blend",
                       metrics=dict(learned.metrics), trained_at=learned.trained_at,
                       n_decisions=learned.n_decisions, n_job_orders=learned.n_job_orders,
                       alpha=float(alpha), field_deviations=scaled(learned.field_deviations),
                       employer_deviations=scaled(learned.employer_deviations))


@dataclass
class Ranked:
    """The top of one job order's ranking: pool rows, trainee ids, scores, feature rows."""

    rows: np.ndarray
    ids: np.ndarray
    scores: np.ndarray
    X: np.ndarray


def rank_pool(model: LinearModel, pool: Pool, job: Job, k: int = 50,
              out: np.ndarray | None = None, mask: np.ndarray | None = None) -> Ranked:
    """Score the whole pool for ``job`` and keep the ``k`` best (ties by trainee id).

    Uses the pool's per-thread buffer unless ``out`` is given; the returned feature rows
    are copies, safe to keep. A hierarchical model adds the job's field and employer
    deviations to its global weights first (12 additions), then scores in one product.
    ``mask`` (boolean, one per pool row; ``features.requirements_mask``) keeps only the rows
    where it is True: the others are not ranked at all, so places count the kept rows only.
    """
    X = job_features(pool, job, out=pool.buffer() if out is None else out)
    scores = model.for_job(job).score(X)
    if mask is None or mask.all():
        rows = top_k(scores, pool.ids, k)
    else:
        kept = np.flatnonzero(mask)
        rows = kept[top_k(scores[kept], pool.ids[kept], k)]
    return Ranked(rows, pool.ids[rows], scores[rows], X[rows])
