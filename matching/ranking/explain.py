"""Why a trainee ranks where they do: per-feature contributions plus the plain facts.

Built for the top k only, so the skill comparison may use Python sets. The result is plain
JSON (no numpy types); ``bias + Σ contribution == score``. Each contribution is split into
the part of the global weights, the part of the job's field deviation and the part of its
employer's own deviation (``global + field + employer == contribution``; both deviation
parts are 0 for a global-only model or an employer without decisions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.ranking.features import Job, Pool
from matching.ranking.model import LinearModel, Ranked


def explain(model: LinearModel, x, job: Job, info):
    """Explanation of one feature row (``info`` = ``Pool.row_info``), or a list for 2-D rows.

    Keys: kind, score, bias, hierarchical, contributions (``{feature, value, weight,
    contribution, global, field, employer}``: weight is the job's effective weight, the last
    three split the contribution; largest absolute contribution first), skills
    (matched_required, missing_required, matched_preferred, in the job's order) and language
    (trainee_rank, required_rank, gap, below).
    """
    x = np.asarray(x)
    if x.ndim == 2:
        if len(info) != len(x):
            raise ValueError("one info dict per row")
        return [explain(model, row, job, item) for row, item in zip(x, info, strict=True)]
    values = x.astype(np.float64)
    weights = model.for_job(job).weights
    parts = values * weights
    base, by_field, by_employer = model.parts(job)
    zero = np.zeros_like(values)
    split = (values * base, zero if by_field is None else values * by_field,
             zero if by_employer is None else values * by_employer)
    items = [{"feature": name, "value": float(v), "weight": float(w), "contribution": float(c),
              "global": float(g), "field": float(f), "employer": float(e)}
             for name, v, w, c, g, f, e in zip(model.features, values, weights, parts, *split,
                                               strict=True)]
    items.sort(key=lambda item: -abs(item["contribution"]))  # stable: feature order on ties
    has = set(info.get("skills") or ())
    required, preferred = job.required(), job.preferred()
    rank = int(info.get("language_rank") or 0)
    minimum = int(job.min_language_rank or 0)
    return {
        "trainee_id": info.get("id"),
        "kind": model.kind,
        "alpha": float(model.alpha),
        "hierarchical": by_field is not None or by_employer is not None,
        "score": float(parts.sum() + model.bias),
        "bias": float(model.bias),
        "contributions": items,
        "skills": {
            "matched_required": [s for s in required if s in has],
            "missing_required": [s for s in required if s not in has],
            "matched_preferred": [s for s in preferred if s in has],
        },
        "language": {"trainee_rank": rank, "required_rank": minimum, "gap": rank - minimum,
                     "below": rank < minimum},
    }


def explain_ranked(model: LinearModel, pool: Pool, job: Job, ranked: Ranked) -> list[dict]:
    """Explanations of every row of a ``rank_pool`` result, best first."""
    infos: Sequence[dict] = [pool.row_info(int(r)) for r in ranked.rows]
    return explain(model, ranked.X, job, infos) if len(infos) else []
