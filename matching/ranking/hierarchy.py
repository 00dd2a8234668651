"""Each employer's own preferences, shrunk towards everyone's (GLMix-style, DESIGN §5).

One global model learns the average employer; a care home and a construction firm may want
the opposite. ``fit_hierarchical`` learns, in one fit, global weights plus a deviation per
field and per employer, from the same pairwise difference vectors as ``training.
fit_pairwise`` (feature augmentation, Daumé III 2007; LinkedIn's GLMix fits global,
per-recruiter and per-job effects the same way):

    design row of a pair = [ d | s_f · d in its field's block | s_e · d in its employer's block ]

with d the standardised difference vector (winner − loser) and zeros in every other block,
so a sparse CSR matrix with 3 × 12 non-zeros per pair. The logistic regression's one L2
penalty then costs a deviation δ (= s · coefficient) δ² / s²: scaling a block's columns by
s < 1 is the same as a penalty 1 / s² times stronger on that block, which is how a single
scikit-learn ``LogisticRegression`` (one C for every column) shrinks deviations more than
the global weights.

How much more is stated in job orders, not in a bare constant, so it does not depend on
how many candidates each job order decided: the penalty on an entity's deviation is set to
the data curvature of ``k`` typical labelled job orders (``EMPLOYER_SHRINK_JOB_ORDERS`` and
``FIELD_SHRINK_JOB_ORDERS``). An employer with m labelled job orders then keeps at most
about m / (m + k) of the deviation its own decisions alone would give (less when the
logistic curvature is below its bound 1/4): one job order is mostly the global model, a
dozen are mostly its own. An employer without decisions has no block at all, so it is
ranked exactly by the global weights (plus its field's deviation).

Training rows carry ``employers`` (organisation id, None when unknown) and ``fields`` (code
or None); every row of a job order carries the same pair, so a pair's entity is its rows'.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from matching.ranking.features import FEATURES
from matching.ranking.metrics import group_ndcg
from matching.ranking.model import LinearModel
from matching.ranking.training import labelled_groups, pairwise_differences

#: An employer's deviation is shrunk as if this many job orders vouched for the global weights
#: (see the module docstring): one decided job order keeps at most half of its own. On the
#: synthetic world of two opposite groups (``benchmarks.synthetic.HETEROGENEOUS``, 10
#: employers, 120 job orders) held-out NDCG@10 was 0.93 / 0.92 / 0.90 / 0.87 for k = 0.5 /
#: 1 / 3 / 10 against 0.83 for the global model; 1 keeps most of the gain while one job
#: order's noise still cannot set an employer's weights alone.
EMPLOYER_SHRINK_JOB_ORDERS = 1.0
#: The same for a field: a field's deviation is what its employers share, and fields differ
#: less than employers, so it is shrunk harder.
FIELD_SHRINK_JOB_ORDERS = 2.0
#: Held-out job orders an employer needs before ``train`` reports its own NDCG.
MIN_HELD_OUT_PER_EMPLOYER = 2
#: Deviations smaller than this (in every feature) are not stored: they change no ranking.
_NEGLIGIBLE = 1e-6


def _codes(keys) -> tuple[list, np.ndarray]:
    """Distinct non-None keys (sorted) and each row's index among them (-1 for None)."""
    keys = list(keys)
    distinct = sorted({k for k in keys if k is not None}, key=str)
    position = {k: i for i, k in enumerate(distinct)}
    return distinct, np.array([position.get(k, -1) if k is not None else -1 for k in keys],
                              dtype=np.int64)


def _block(diff: np.ndarray, index: np.ndarray, n_blocks: int, scale: float) -> sp.csr_matrix:
    """``diff`` rows copied (× scale) into the columns of block ``index[i]`` of row i."""
    n, d = diff.shape
    has = np.flatnonzero(index >= 0)
    rows = np.repeat(has, d)
    cols = (index[has][:, None] * d + np.arange(d)).ravel()
    data = (scale * diff[has]).ravel()
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n_blocks * d))


def fit_hierarchical(X, grades, groups, *, employers, fields, weights=None, C: float = 1.0,
                     employer_k: float = EMPLOYER_SHRINK_JOB_ORDERS,
                     field_k: float = FIELD_SHRINK_JOB_ORDERS, random_state: int = 0,
                     max_pairs_per_group: int = 5000) -> LinearModel:
    """A learned ``LinearModel`` with per-field and per-employer deviations.

    Same pairs, orientation, standardisation and pair weights as ``training.fit_pairwise``;
    the design matrix gains a deviation block per field and per employer (module
    docstring). ``employers`` and ``fields`` give each row's job order's employer and field.
    """
    from sklearn.exceptions import ConvergenceWarning  # lazy: see training.fit_pairwise
    from sklearn.linear_model import LogisticRegression

    p = pairwise_differences(X, grades, groups, weights, max_pairs_per_group, random_state)
    diff, label, sample_weight, scale = p.diff, p.label, p.sample_weight, p.scale
    win, used = p.win, p.used
    grades = np.asarray(grades, dtype=np.float64)

    n_jobs = labelled_groups(grades[used], np.asarray(groups)[used]).size or 1
    # Data curvature of one typical job order, per column: the logistic loss bends at most
    # 1/4 per unit of pair weight × squared difference.
    per_job = 0.25 * float((sample_weight[:, None] * diff**2).sum() / diff.shape[1]) / n_jobs
    field_keys, field_index = _codes(np.asarray(fields, dtype=object)[win])
    employer_keys, employer_index = _codes(np.asarray(employers, dtype=object)[win])
    # Penalty 1 / (C s²) on a deviation = k job orders of curvature → s = 1 / √(C k per_job).
    s_field = 1.0 / np.sqrt(C * field_k * per_job) if field_k > 0 else 0.0
    s_employer = 1.0 / np.sqrt(C * employer_k * per_job) if employer_k > 0 else 0.0
    design = sp.hstack([sp.csr_matrix(diff),
                        _block(diff, field_index, len(field_keys), s_field),
                        _block(diff, employer_index, len(employer_keys), s_employer)],
                       format="csr")
    clf = LogisticRegression(C=C, fit_intercept=False, max_iter=5000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(design, label, sample_weight=sample_weight)
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    d = len(FEATURES)
    coef = clf.coef_.ravel()
    by_field = coef[d:d + d * len(field_keys)].reshape(-1, d) * s_field / scale
    by_employer = coef[d + d * len(field_keys):].reshape(-1, d) * s_employer / scale
    return LinearModel(
        coef[:d] / scale, 0.0, FEATURES, kind="learned", alpha=1.0,
        metrics={"n_pairs": int(len(win)), "converged": converged},
        n_decisions=int(used.sum()), n_job_orders=labelled_groups(
            grades[used], np.asarray(groups)[used]).size,
        field_deviations={str(k): v for k, v in zip(field_keys, by_field, strict=True)
                          if np.abs(v).max() > _NEGLIGIBLE},
        employer_deviations={int(k): v for k, v in zip(employer_keys, by_employer, strict=True)
                             if np.abs(v).max() > _NEGLIGIBLE})


def score_rows(model: LinearModel, X, employers=None, fields=None) -> np.ndarray:
    """Scores of training rows whose job orders have these employers and fields: each
    distinct (field, employer) is scored with its effective weights (``for_job``)."""
    X = np.asarray(X, dtype=np.float64)
    if not model.hierarchical or employers is None or fields is None:
        return model.score(X)
    employers = np.asarray(employers, dtype=object)
    fields = np.asarray(fields, dtype=object)
    scores = np.empty(len(X))
    combos = {(f, e) for f, e in zip(fields.tolist(), employers.tolist(), strict=True)}
    for f, e in combos:
        rows = np.flatnonzero((fields == f) & (employers == e))
        scores[rows] = model.for_job(_Key(f, e)).score(X[rows])
    return scores


class _Key:
    """The two attributes of a ``Job`` that ``LinearModel.parts`` reads."""

    def __init__(self, field, employer):
        self.field, self.employer = field, employer


def ndcg_by_employer(scores: dict[str, np.ndarray], grades, groups, employers, k: int = 10,
                     min_job_orders: int = MIN_HELD_OUT_PER_EMPLOYER) -> dict[str, dict]:
    """Mean NDCG@k per employer (``str(id)``) of each named score array, for the employers
    with at least ``min_job_orders`` job orders having a positive grade."""
    grades = np.asarray(grades, dtype=np.float64)
    groups = np.asarray(groups)
    employers = np.asarray(employers, dtype=object)
    keys = np.unique(groups[np.isfinite(grades) & (grades >= 0)])
    owner = {g: employers[np.flatnonzero(groups == g)[0]] for g in keys.tolist()}
    per_model = {name: dict(zip(keys.tolist(), group_ndcg(s, grades, groups, k), strict=True))
                 for name, s in scores.items()}
    out: dict[str, dict] = {}
    for employer in sorted({e for e in owner.values() if e is not None}, key=str):
        mine = [g for g, e in owner.items() if e == employer]
        row: dict = {}
        for name, values in per_model.items():
            v = np.array([values[g] for g in mine])
            v = v[np.isfinite(v)]
            row["n_job_orders"] = int(len(v))
            row[name] = round(float(v.mean()), 4) if len(v) else None
        if row["n_job_orders"] >= min_job_orders:
            out[str(employer)] = row
    return out


def largest_deviations(model: LinearModel, top: int = 5) -> list[tuple[int, float, np.ndarray]]:
    """``(employer id, size, deviation)`` of the ``top`` employers whose own weights differ
    most from the global ones (size: the deviation's L2 norm in raw feature units)."""
    sized = [(key, float(np.linalg.norm(v)), v) for key, v in model.employer_deviations.items()]
    sized.sort(key=lambda item: (-item[1], item[0]))
    return sized[:top]
