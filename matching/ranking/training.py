"""Learning a ranking model from employers' decisions (DESIGN §5).

Pairwise transform (RankSVM style, ``pairs`` and ``fit_pairwise``): within one job order,
each pair of decided candidates with different grades becomes a difference vector labelled
by which one the employer graded higher, and a linear classifier without intercept
separates them. Its weights, folded back to raw feature units, rank (``model.LinearModel``).

Blend choice (``train``): held-out job orders measure the learned model, its blend with the
expert prior (``model.blend``, α = n / (n + k) on the learned part for n labelled job
orders), the prior and a skill-overlap baseline. With few job orders the learned weights
are noisy, so the prior keeps a say: the blend is stored unless the held-out job orders
show the learned model alone ranks better, in which case the learned model is kept: the
decisions, not the prior, say what employers want.

Hierarchical choice (``train`` with ``employers`` and ``fields``): the same split also
measures a model with per-field and per-employer deviations from the global weights
(``hierarchy.fit_hierarchical``), overall and per employer with enough held-out job orders.
It is kept only when it ranks the held-out job orders better than the global model alone
(strictly: a tie keeps the simpler model); the prior blend is then decided for whichever
was kept.

Position-bias weights. Rows may carry a weight (``weights``, default 1): how much their
grade is to be believed. Explicit decisions weigh 1. Implicit rows (a card shown to the
employer and passed over, graded 0 like a rejection; ``service.training_data`` builds them)
weigh less, in proportion to the chance the employer examined the card. A pair's sample
weight is its grade difference × the smaller of its two row weights: the pair is only as
credible as its weakest row, which for a decided candidate against a passed-over one is the
passed-over row's weight (two passed-over rows share grade 0 and never pair). Implicit rows
are training signal only: ``train`` never counts them as decisions and never evaluates on
them.

scikit-learn is imported inside ``fit_pairwise`` and ``train``, never at module level:
``service`` imports this module, and ranking at run time (every cold ``flask rank``, every
web worker) must not pay the second scikit-learn takes to import.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from matching.ranking.features import FEATURES, Job, Pool, job_features
from matching.ranking.metrics import mean_ndcg
from matching.ranking.model import PRIOR, LinearModel, TooFewDecisions, blend


def valid_grades(grades) -> np.ndarray:
    """Mask of rows with a usable grade (NaN or negative = never shown = missing data)."""
    g = np.asarray(grades, dtype=np.float64)
    return np.isfinite(g) & (g >= 0)


def usable_rows(grades, weights=None) -> np.ndarray:
    """Mask of rows that can take part in a pair: a usable grade and a weight above 0."""
    usable = valid_grades(grades)
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        usable &= np.isfinite(w) & (w > 0)
    return usable


def labelled_groups(grades, groups) -> np.ndarray:
    """Group keys that have at least two different usable grades (so at least one pair)."""
    valid = valid_grades(grades)
    g = np.asarray(groups)[valid]
    v = np.asarray(grades, dtype=np.float64)[valid]
    if len(g) == 0:
        return np.empty(0, dtype=np.asarray(groups).dtype)
    keys, inverse = np.unique(g, return_inverse=True)
    low = np.full(len(keys), np.inf)
    high = np.full(len(keys), -np.inf)
    np.minimum.at(low, inverse, v)
    np.maximum.at(high, inverse, v)
    return keys[high > low]


def pairs(grades, groups, *, weights=None, max_pairs_per_group: int = 5000,
          random_state: int = 0):
    """Row pairs ``(winner, loser)`` with different grades within each group.

    Rows whose weight (``weights``, default ones) is not above 0 take part in no pair.
    Groups with more than ``max_pairs_per_group`` such pairs are subsampled (seeded).
    """
    rng = np.random.default_rng(random_state)
    grades = np.asarray(grades, dtype=np.float64)
    groups = np.asarray(groups)
    rows = np.flatnonzero(usable_rows(grades, weights))
    rows = rows[np.argsort(groups[rows], kind="stable")]
    cuts = np.flatnonzero(groups[rows][1:] != groups[rows][:-1]) + 1
    winners, losers = [], []
    for block in np.split(rows, cuts):
        if len(block) < 2:
            continue
        i, j = np.triu_indices(len(block), 1)
        gi, gj = grades[block[i]], grades[block[j]]
        keep = gi != gj
        i, j, first = i[keep], j[keep], (gi > gj)[keep]
        if len(i) > max_pairs_per_group:
            pick = np.sort(rng.choice(len(i), max_pairs_per_group, replace=False))
            i, j, first = i[pick], j[pick], first[pick]
        winners.append(block[np.where(first, i, j)])
        losers.append(block[np.where(first, j, i)])
    if not winners:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    return np.concatenate(winners), np.concatenate(losers)


def decision_matrix(pool: Pool, jobs: Sequence[Job],
                    decisions: Iterable[tuple[int, int, float]], weights=None):
    """Training rows from decisions ``(job_index, trainee_id, grade)``.

    Returns ``(X, grades, groups)``: the feature rows of the decided trainees only (the pool
    is subset per job, so cost follows the number of decisions, not the pool size), grades
    as float, groups = job index. Decisions on trainees absent from the pool are skipped.
    With ``weights`` (one per decision, same order) a fourth array holds the kept rows'
    weights: ``(X, grades, groups, weights)``.
    """
    decisions = list(decisions)
    given = weights is not None
    weights = [1.0] * len(decisions) if weights is None else [float(w) for w in weights]
    if len(weights) != len(decisions):
        raise ValueError("one weight per decision")
    by_job: dict[int, list[tuple[int, float, float]]] = {}
    for (job_index, trainee_id, grade), weight in zip(decisions, weights, strict=True):
        by_job.setdefault(int(job_index), []).append((int(trainee_id), float(grade), weight))
    blocks, grades, groups, kept = [], [], [], []
    for job_index in sorted(by_job):
        tids, g, w = zip(*by_job[job_index], strict=True)
        rows = pool.rows_for(tids)
        keep = rows >= 0
        if not keep.any():
            continue
        sub = pool.subset(rows[keep])
        blocks.append(np.ascontiguousarray(job_features(sub, jobs[job_index])))
        grades.append(np.asarray(g, dtype=np.float64)[keep])
        groups.append(np.full(int(keep.sum()), job_index, dtype=np.int64))
        kept.append(np.asarray(w, dtype=np.float64)[keep])
    if not blocks:
        out = (np.empty((0, len(FEATURES)), dtype=np.float32), np.empty(0), np.empty(0, int))
        return out + (np.empty(0),) if given else out
    out = np.vstack(blocks), np.concatenate(grades), np.concatenate(groups)
    return out + (np.concatenate(kept),) if given else out


def _spread(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-feature standard deviation of the rows of ``X`` weighted by ``w``."""
    if np.all(w == w[0]):  # the unweighted fit, to the last bit
        return X.std(axis=0)
    mean = np.average(X, axis=0, weights=w)
    return np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))


def fit_pairwise(X, grades, groups, *, weights=None, C: float = 1.0, random_state: int = 0,
                 max_pairs_per_group: int = 5000) -> LinearModel:
    """A learned ``LinearModel`` from graded rows grouped by job order.

    Features are standardised (so C regularises them evenly) and the scale is folded back,
    so the stored weights apply to raw features. Pairs are oriented winner − loser and every
    other one is flipped, which balances the two classes exactly; each pair is weighted by
    its grade difference (selected over rejected says more than shortlisted over rejected)
    times the smaller of its two row ``weights`` (default ones; see the module docstring).
    The standardisation weighs rows the same way, so a barely credible row barely counts.
    """
    # scikit-learn is imported here, not at module level: it takes about a second to import
    # and ranking (every cold `flask rank`, every web worker) only needs the stored weights.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    p = pairwise_differences(X, grades, groups, weights, max_pairs_per_group, random_state)
    clf = LogisticRegression(C=C, fit_intercept=False, max_iter=2000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(p.diff, p.label, sample_weight=p.sample_weight)
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    return LinearModel(clf.coef_.ravel() / p.scale, 0.0, FEATURES, kind="learned", alpha=1.0,
                       metrics={"n_pairs": int(len(p.win)), "converged": converged},
                       n_decisions=int(p.used.sum()), n_job_orders=p.n_job_orders)


@dataclass
class PairwiseData:
    """The pairwise transform of graded rows (``pairwise_differences``)."""

    diff: np.ndarray  # standardised X[win] - X[lose], every other pair's sign flipped
    label: np.ndarray  # +1 / -1, following the flips
    sample_weight: np.ndarray  # grade gap × the smaller row weight of the pair
    scale: np.ndarray  # the per-feature spread the differences were divided by
    win: np.ndarray
    lose: np.ndarray
    used: np.ndarray  # the rows that can take part (usable_rows)
    n_job_orders: int


def pairwise_differences(X, grades, groups, weights=None, max_pairs_per_group: int = 5000,
                         random_state: int = 0) -> PairwiseData:
    """The pairs of candidates with different grades in one job order, as standardised
    difference vectors with balanced labels (the RankSVM transform, module docstring)."""
    X = np.asarray(X, dtype=np.float64)
    grades = np.asarray(grades, dtype=np.float64)
    w = (np.ones(len(grades)) if weights is None
         else np.nan_to_num(np.asarray(weights, dtype=np.float64)))
    win, lose = pairs(grades, groups, weights=w, max_pairs_per_group=max_pairs_per_group,
                      random_state=random_state)
    if len(win) == 0:
        raise TooFewDecisions("no pair of candidates with different grades in one job order")
    used = usable_rows(grades, w)
    scale = _spread(X[used], w[used])
    scale[scale < 1e-9] = 1.0
    diff = (X[win] - X[lose]) / scale
    label = np.ones(len(win))
    label[1::2] = -1
    diff[1::2] *= -1
    return PairwiseData(diff, label, (grades[win] - grades[lose]) * np.minimum(w[win], w[lose]),
                        scale, win, lose, used,
                        int(labelled_groups(grades[used], np.asarray(groups)[used]).size))


def baseline_scores(X: np.ndarray) -> np.ndarray:
    """Skill overlap: required coverage plus half the preferred coverage."""
    X = np.asarray(X)
    return X[:, FEATURES.index("required_coverage")] + 0.5 * X[
        :, FEATURES.index("preferred_coverage")]


@dataclass
class TrainResult:
    """What ``train`` hands back: the model to store, the pure learned one (hierarchical
    when that was kept) and metrics."""

    model: LinearModel
    learned: LinearModel
    metrics: dict


def _ndcgs(scores, grades, groups) -> dict:
    values = {k: mean_ndcg(scores, grades, groups, k) for k in (10, 5)}
    # None, not NaN, when no held-out job order has a positive grade: stays valid JSON.
    return {f"ndcg@{k}": round(v, 4) if np.isfinite(v) else None for k, v in values.items()}


def _at_least(a: dict, b: dict, tolerance: float = 0.005) -> bool:
    """Held-out NDCG@10 of ``a`` is no worse than ``b``'s (missing values count as a tie)."""
    x, y = a.get("ndcg@10"), b.get("ndcg@10")
    return x is None or y is None or x >= y - tolerance


def train(X, grades, groups, *, weights=None, implicit=None, employers=None, fields=None,
          test_size: float = 0.25, random_state: int = 0, min_job_orders: int = 5,
          min_pairs: int = 50, C: float = 1.0, blend_k: float = 5) -> TrainResult:
    """Split by job order, fit, report held-out NDCG, refit on everything.

    Held-out NDCG@10/@5 are reported for the learned model, the blend, the prior and the
    skill-overlap baseline. The returned ``model`` is refit on every labelled job order and
    is the blend with the prior (α = n / (n + blend_k)) unless the held-out job orders show
    the learned model alone ranks better, in which case the learned model is kept: the
    decisions, not the prior, say what employers want (``blend_k=0`` never blends).
    Raises ``TooFewDecisions`` below ``min_job_orders`` labelled job orders or
    ``min_pairs`` usable pairs.

    ``weights`` are per-row weights (``fit_pairwise``); ``implicit`` marks rows that are
    training signal only (passed-over candidates). Everything that counts or measures uses
    the explicit rows alone: a job order is labelled by its decisions, the thresholds count
    decisions and their pairs, the split draws the held-out job orders among the labelled
    ones (exactly as without implicit rows) and held-out NDCG is computed on decisions only.
    Implicit rows of the training job orders join the fit; a job order with decisions of one
    grade plus passed-over candidates is never held out (nothing to measure there) but
    trains.

    ``employers`` and ``fields`` (per row: its job order's employer id and field code) also
    measure the hierarchical model (module docstring); ``metrics["held_out"]["hierarchical"]``
    and ``metrics["by_employer"]`` hold its figures, ``metrics["hierarchical"]`` whether it
    was kept.
    """
    X = np.asarray(X, dtype=np.float64)
    grades = np.asarray(grades, dtype=np.float64)
    groups = np.asarray(groups)
    w = (np.ones(len(grades)) if weights is None
         else np.nan_to_num(np.asarray(weights, dtype=np.float64)))
    usable = usable_rows(grades, w)
    implicit = (np.zeros(len(grades), dtype=bool) if implicit is None
                else np.asarray(implicit, dtype=bool))
    explicit = usable & ~implicit
    keys = labelled_groups(grades[explicit], groups[explicit])
    if len(keys) < min_job_orders:
        raise TooFewDecisions(
            f"only {len(keys)} job order(s) have decisions with two different grades; "
            f"at least {min_job_orders} are needed")
    rows = np.flatnonzero(explicit & np.isin(groups, keys))
    n_pairs = len(pairs(grades[rows], groups[rows])[0])
    if n_pairs < min_pairs:
        raise TooFewDecisions(
            f"only {n_pairs} pair(s) of differently graded candidates; at least {min_pairs} "
            "are needed")
    fit_rows = np.flatnonzero(usable & np.isin(
        groups, labelled_groups(grades[usable], groups[usable])))

    from sklearn.model_selection import GroupShuffleSplit  # lazy: see fit_pairwise

    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    tr, te = next(split.split(rows, groups=groups[rows]))
    n_train = len(np.unique(groups[rows[tr]]))
    train_rows = fit_rows[~np.isin(groups[fit_rows], groups[rows[te]])]
    held_out_model = fit_pairwise(X[train_rows], grades[train_rows], groups[train_rows],
                                  weights=w[train_rows], C=C, random_state=random_state)
    Xt, gt, grt = X[rows[te]], grades[rows[te]], groups[rows[te]]
    held_out = {"learned": _ndcgs(held_out_model.score(Xt), gt, grt)}
    by_employer: dict = {}
    use_hierarchy = False
    if employers is not None and fields is not None:
        from matching.ranking import hierarchy  # it imports this module

        employers = np.asarray(employers, dtype=object)
        fields = np.asarray(fields, dtype=object)
        held_hier = hierarchy.fit_hierarchical(
            X[train_rows], grades[train_rows], groups[train_rows],
            employers=employers[train_rows], fields=fields[train_rows], weights=w[train_rows],
            C=C, random_state=random_state)
        et, ft = employers[rows[te]], fields[rows[te]]
        hier_scores = hierarchy.score_rows(held_hier, Xt, et, ft)
        held_out["hierarchical"] = _ndcgs(hier_scores, gt, grt)
        by_employer = hierarchy.ndcg_by_employer(
            {"learned": held_out_model.score(Xt), "hierarchical": hier_scores}, gt, grt, et)
        x, y = held_out["hierarchical"]["ndcg@10"], held_out["learned"]["ndcg@10"]
        use_hierarchy = x is not None and y is not None and x > y
    held_pure = held_hier if use_hierarchy else held_out_model
    held_blend = blend(PRIOR, held_pure, n_train, blend_k) if blend_k else held_pure
    held_out["blend"] = _ndcgs(hierarchy.score_rows(held_blend, Xt, et, ft) if use_hierarchy
                               else held_blend.score(Xt), gt, grt)
    held_out["prior"] = _ndcgs(PRIOR.score(Xt), gt, grt)
    held_out["baseline"] = _ndcgs(baseline_scores(Xt), gt, grt)

    if use_hierarchy:
        learned = hierarchy.fit_hierarchical(
            X[fit_rows], grades[fit_rows], groups[fit_rows], employers=employers[fit_rows],
            fields=fields[fit_rows], weights=w[fit_rows], C=C, random_state=random_state)
    else:
        learned = fit_pairwise(X[fit_rows], grades[fit_rows], groups[fit_rows],
                               weights=w[fit_rows], C=C, random_state=random_state)
    learned.n_decisions, learned.n_job_orders = int(len(rows)), int(len(keys))
    learned.trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    pure = "hierarchical" if use_hierarchy else "learned"
    use_blend = bool(blend_k) and _at_least(held_out["blend"], held_out[pure])
    model = blend(PRIOR, learned, len(keys), blend_k) if use_blend else learned
    metrics = {
        "held_out": held_out,
        "n_pairs": n_pairs,
        "n_decisions": int(len(rows)),
        "n_implicit": int(implicit[fit_rows].sum()),
        "n_job_orders": int(len(keys)),
        "n_train_job_orders": n_train,
        "n_test_job_orders": int(len(np.unique(grt))),
        "alpha": float(model.alpha) if use_blend else 1.0,
        "chosen": "blend" if use_blend else pure,
        "hierarchical": use_hierarchy,
        "by_employer": by_employer,
    }
    learned.metrics = dict(metrics, converged=learned.metrics.get("converged", True))
    model.metrics = learned.metrics
    return TrainResult(model=model, learned=learned, metrics=metrics)
