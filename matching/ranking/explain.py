"""Why a trainee ranks where they do: per-feature contributions plus the plain facts.

Built for the top k only, so the skill comparison may use Python sets. The result is plain
JSON (no numpy types); ``bias + Σ contribution == score``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.ranking.features import Job, Pool
from matching.ranking.model import LinearModel, Ranked


def explain(model: LinearModel, x, job: Job, info):
    """Explanation of one feature row (``info`` = ``Pool.row_info``), or a list for 2-D rows.

    Keys: kind, score, bias, contributions (``{feature, value, weight, contribution}``,
    largest absolute contribution first), skills (matched_required, missing_required,
    matched_preferred, in the job's order) and language (trainee_rank, required_rank, gap,
    below).
    """
    x = np.asarray(x)
    if x.ndim == 2:
        if len(info) != len(x):
            raise ValueError("one info dict per row")
        return [explain(model, row, job, item) for row, item in zip(x, info, strict=True)]
    values = x.astype(np.float64)
    parts = values * model.weights
    items = [{"feature": name, "value": float(v), "weight": float(w), "contribution": float(c)}
             for name, v, w, c in zip(model.features, values, model.weights, parts, strict=True)]
    items.sort(key=lambda item: -abs(item["contribution"]))  # stable: feature order on ties
    has = set(info.get("skills") or ())
    required, preferred = job.required(), job.preferred()
    rank = int(info.get("language_rank") or 0)
    minimum = int(job.min_language_rank or 0)
    return {
        "trainee_id": info.get("id"),
        "kind": model.kind,
        "alpha": float(model.alpha),
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
