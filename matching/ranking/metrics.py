"""NDCG@k for rankings grouped by job order.

Gains are ``2**grade - 1`` (selected 3 → 7, interviewed 2 → 3, shortlisted 1 → 1, rejected
0 → 0), discounts ``1 / log2(position + 1)``, the ideal DCG comes from the grades sorted.
Rows with a negative or NaN grade (never shown to the employer) are ignored; groups with no
positive grade have no defined NDCG and are left out of the mean.

Tied scores are not broken by row order (which would reward whatever order the data came
in): each row of a run of equal scores gets the mean discount of the positions the run
occupies, i.e. the expected DCG over every order of the ties (McSherry & Najork, 2008).
"""

from __future__ import annotations

import numpy as np


def _dcg(scores: np.ndarray, gains: np.ndarray, group: np.ndarray, n_groups: int,
         k: int) -> np.ndarray:
    order = np.lexsort((-scores, group))
    g, s, gain = group[order], scores[order], gains[order]
    n = len(g)
    positions = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, positions, 0))
    rank = positions - group_start  # 0-based position within its group
    discount = np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)
    new_run = new_group.copy()
    new_run[1:] |= s[1:] != s[:-1]
    run = np.cumsum(new_run) - 1
    discount = (np.bincount(run, discount) / np.bincount(run))[run]
    return np.bincount(g, gain * discount, minlength=n_groups)


def group_ndcg(scores, grades, groups, k: int) -> np.ndarray:
    """NDCG@k of every group (sorted by group key); NaN where a group has no positive grade."""
    scores = np.asarray(scores, dtype=np.float64)
    grades = np.asarray(grades, dtype=np.float64)
    groups = np.asarray(groups)
    valid = np.isfinite(grades) & (grades >= 0) & np.isfinite(scores)
    scores, grades, groups = scores[valid], grades[valid], groups[valid]
    if len(grades) == 0:
        return np.empty(0)
    _, group = np.unique(groups, return_inverse=True)
    n_groups = int(group.max()) + 1
    gains = np.exp2(grades) - 1.0
    dcg = _dcg(scores, gains, group, n_groups, k)
    ideal = _dcg(grades, gains, group, n_groups, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), np.nan)


def ndcg_at_k(scores, grades, k: int) -> float:
    """NDCG@k of one ranked list; NaN when no grade is positive."""
    values = group_ndcg(scores, grades, np.zeros(len(np.asarray(grades)), dtype=int), k)
    return float(values[0]) if len(values) else float("nan")


def mean_ndcg(scores, grades, groups, k: int) -> float:
    """Mean NDCG@k over the groups that have a positive grade; NaN when none has."""
    values = group_ndcg(scores, grades, groups, k)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")
