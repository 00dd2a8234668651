"""A synthetic world: trainees, job orders and employer decisions driven by a hidden preference.

Employers grade the candidates the platform showed them (a noisy ordering by field and
skills, so most trainees are never shown: missing data, not rejections) by a hidden utility

    u = Σ preference[a] · a(trainee, job) + preference["noise"] · N(0, 1)

over latent attributes ``a`` that resemble, but are deliberately not identical to, the
ranking features (experience and training saturate linearly rather than logarithmically,
language is a clipped signed gap). The best ~7 % of the shown are selected (3), the next
~13 % interviewed (2), the next ~20 % shortlisted (1) and the rest rejected (0).

Heterogeneous employers (``make_world(..., employers=[...])``): each job order belongs to
one of several employers (round robin, employer ids 1, 2, …) and is decided by that
employer's own preference, e.g. ``HETEROGENEOUS``: care homes that want Japanese above all
and construction firms that want experience, the reverse. A single global model learns their
average; a model with per-employer deviations (``matching.ranking.hierarchy``) can learn each.

Everything is vectorised over trainees, so ``make_pool(1_000_000)`` takes a few seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import scipy.sparse as sp

from matching.ranking.features import (
    FIELD_CODES,
    PREFECTURE_CODES,
    Job,
    Pool,
    day_number,
)
from matching.ranking.training import decision_matrix
from matching.vocab import SKILL_CATALOGUE

LATENT = ("skills", "field", "language", "below_minimum", "experience", "training",
          "prefecture", "availability")

#: Named hidden preferences (weights per latent attribute, plus the noise scale).
PREFERENCES: dict[str, dict[str, float]] = {
    "skills_first": {"skills": 3.0, "field": 1.0, "language": 0.3, "below_minimum": -0.5,
                     "experience": 0.3, "training": 0.2, "prefecture": 0.2,
                     "availability": 0.3, "noise": 0.3},
    "language_first": {"skills": 0.3, "field": 0.3, "language": 1.5, "below_minimum": -2.0,
                       "experience": 0.2, "training": 0.2, "prefecture": 0.1,
                       "availability": 0.2, "noise": 0.3},
    "experience_first": {"skills": 0.3, "field": 0.3, "language": 0.2, "below_minimum": -0.3,
                         "experience": 2.0, "training": 0.1, "prefecture": 0.1,
                         "availability": 0.2, "noise": 0.3},
    "training_first": {"skills": 0.3, "field": 0.2, "language": 0.2, "below_minimum": -0.3,
                       "experience": 0.2, "training": 2.5, "prefecture": 0.1,
                       "availability": 0.2, "noise": 0.3},
}

#: Two groups of employers with opposite tastes on Japanese versus experience (same skills).
PREFERENCES["japanese_over_experience"] = {
    "skills": 1.0, "field": 0.5, "language": 1.5, "below_minimum": -1.0, "experience": 0.1,
    "training": 0.2, "prefecture": 0.1, "availability": 0.2, "noise": 0.3}
PREFERENCES["experience_over_japanese"] = {
    "skills": 1.0, "field": 0.5, "language": 0.1, "below_minimum": -0.1, "experience": 1.5,
    "training": 0.2, "prefecture": 0.1, "availability": 0.2, "noise": 0.3}
HETEROGENEOUS = ("japanese_over_experience", "experience_over_japanese")

BASE_DATE = date(2026, 1, 1)
FREE_SKILLS = ("first-aid", "driving-licence", "excel", "english", "japanese-cooking",
               "5s-kaizen", "safety-training", "computer-basics")
# Rough shares of SSW/TITP workers by field (manufacturing, care, construction dominate).
_FIELD_WEIGHT = {"nursing_care": 12, "building_cleaning": 3, "manufacturing": 25,
                 "construction": 14, "shipbuilding": 3, "auto_repair": 3, "aviation": 1,
                 "accommodation": 3, "agriculture": 9, "fishery": 3, "food_manufacturing": 14,
                 "food_service": 6, "auto_transport": 1, "railway": 1, "forestry": 1,
                 "wood_industry": 1}
FIELD_P = np.array([_FIELD_WEIGHT[c] for c in FIELD_CODES], dtype=float)
FIELD_P /= FIELD_P.sum()
_BIG_PREFS = {"aichi": 10, "tokyo": 8, "osaka": 8, "kanagawa": 6, "saitama": 5, "chiba": 5,
              "hyogo": 4, "fukuoka": 4, "shizuoka": 4, "ibaraki": 3, "gifu": 3, "hiroshima": 3}
PREF_P = np.array([_BIG_PREFS.get(c, 1) for c in PREFECTURE_CODES], dtype=float)
PREF_P /= PREF_P.sum()
RANK_P = np.array([0.12, 0.28, 0.30, 0.18, 0.08, 0.03, 0.01])

SKILLS: tuple[str, ...] = tuple(sorted({s for lst in SKILL_CATALOGUE.values() for s in lst}
                                       | set(FREE_SKILLS)))
SKILL_INDEX = {s: i for i, s in enumerate(SKILLS)}
_CAT_LEN = np.array([len(SKILL_CATALOGUE[c]) for c in FIELD_CODES])
_CAT = np.zeros((len(FIELD_CODES), _CAT_LEN.max()), dtype=np.int32)
for _i, _c in enumerate(FIELD_CODES):
    _CAT[_i, :_CAT_LEN[_i]] = [SKILL_INDEX[s] for s in SKILL_CATALOGUE[_c]]
_FREE = np.array([SKILL_INDEX[s] for s in FREE_SKILLS])


def _binary(rows: np.ndarray, cols: np.ndarray, shape) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1  # duplicate picks collapse to one skill
    return m


def pool_arrays(n: int, rng: np.random.Generator) -> dict:
    """Trainee attributes as arrays (the keyword arguments of ``Pool.from_arrays``)."""
    fld = rng.choice(len(FIELD_CODES), size=n, p=FIELD_P).astype(np.int16)
    # 0–4 catalogue skills of the trainee's field, a free skill for 30 %, a skill of another
    # field for 10 %.
    n_cat = rng.choice(5, size=n, p=[0.08, 0.2, 0.32, 0.25, 0.15])
    slot = np.arange(4)
    keep = slot[None, :] < n_cat[:, None]
    pick = (rng.random((n, 4)) * _CAT_LEN[fld][:, None]).astype(np.int64)
    cat_cols = _CAT[fld[:, None], pick][keep]
    cat_rows = np.broadcast_to(np.arange(n)[:, None], (n, 4))[keep]
    free_rows = np.flatnonzero(rng.random(n) < 0.3)
    free_cols = rng.choice(_FREE, size=len(free_rows))
    other_rows = np.flatnonzero(rng.random(n) < 0.1)
    other_cols = rng.integers(0, len(SKILLS), size=len(other_rows))
    skills = _binary(np.concatenate([cat_rows, free_rows, other_rows]),
                     np.concatenate([cat_cols, free_cols, other_cols]), (n, len(SKILLS)))

    n_pref = rng.choice(4, size=n, p=[0.3, 0.35, 0.25, 0.1])
    keep = np.arange(3)[None, :] < n_pref[:, None]
    pref_cols = rng.choice(len(PREFECTURE_CODES), size=(n, 3), p=PREF_P)[keep]
    pref_rows = np.broadcast_to(np.arange(n)[:, None], (n, 3))[keep]
    prefectures = _binary(pref_rows, pref_cols, (n, len(PREFECTURE_CODES)))

    no_training = rng.random(n) < 0.2
    hours = np.clip(rng.normal(520, 220, n), 40, 1600).astype(np.int32)
    unknown_day = rng.random(n) < 0.2
    day = day_number(BASE_DATE) + rng.integers(-60, 365, n)
    return {
        "ids": np.arange(1, n + 1, dtype=np.int64),
        "skills": skills,
        "skill_index": SKILL_INDEX,
        "field": fld,
        "language_rank": rng.choice(7, size=n, p=RANK_P).astype(np.float32),
        "experience_years": (np.rint(np.clip(rng.gamma(1.6, 1.3, n), 0, 25) * 2) / 2
                             ).astype(np.float32),
        "training_hours": np.where(no_training, 0, hours).astype(np.float32),
        "available_day": np.where(unknown_day, 0, day).astype(np.int32),
        "prefectures": prefectures,
    }


def make_pool(n: int, seed: int = 0) -> Pool:
    """A synthetic pool of ``n`` trainees built straight from arrays (no dicts)."""
    return Pool.from_arrays(**pool_arrays(n, np.random.default_rng(seed)))


def make_jobs(n: int, rng: np.random.Generator) -> list[Job]:
    """``n`` job orders: 1–3 required and 0–2 preferred skills, minimum level mostly N4."""
    jobs = []
    fields = rng.choice(len(FIELD_CODES), size=n, p=FIELD_P)
    for i, f in enumerate(fields):
        catalogue = SKILL_CATALOGUE[FIELD_CODES[f]]
        chosen = rng.permutation(catalogue)
        n_req = int(rng.integers(1, min(3, len(catalogue) - 1) + 1))
        extra = list(chosen[n_req:]) + list(rng.choice(FREE_SKILLS, 2, replace=False))
        n_pref = int(rng.integers(0, 3))
        start = None if rng.random() < 0.1 else BASE_DATE + timedelta(int(rng.integers(30, 300)))
        jobs.append(Job(
            field=FIELD_CODES[f],
            required_skills=[str(s) for s in chosen[:n_req]],
            preferred_skills=[str(s) for s in rng.permutation(extra)[:n_pref]],
            min_language_rank=int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2])),
            prefecture=PREFECTURE_CODES[rng.choice(len(PREFECTURE_CODES), p=PREF_P)],
            start_date=start,
            external_id=f"JO-{i + 1:05d}",
        ))
    return jobs


def latent(arrays: dict, rows: np.ndarray, job: Job) -> dict[str, np.ndarray]:
    """The hidden attributes of trainees ``rows`` for ``job`` (independent of features.py)."""
    skills = arrays["skills"][rows]

    def share(names):
        cols = [SKILL_INDEX[s] for s in names if s in SKILL_INDEX]
        if not names:
            return np.zeros(len(rows))
        return np.asarray(skills[:, cols].sum(axis=1)).ravel() / len(names)

    gap = arrays["language_rank"][rows] - job.min_language_rank
    start = day_number(job.start_date) if job.start_date else None
    pref = PREFECTURE_CODES.index(job.prefecture)
    return {
        "skills": share(job.required()) + 0.5 * share(job.preferred()),
        "field": (arrays["field"][rows] == FIELD_CODES.index(job.field)).astype(float),
        "language": np.clip(gap, -3, 3),
        "below_minimum": (gap < 0).astype(float),
        "experience": np.minimum(arrays["experience_years"][rows], 8) / 4,
        "training": np.minimum(arrays["training_hours"][rows], 1200) / 600,
        "prefecture": np.asarray(arrays["prefectures"][rows, pref].todense()).ravel(),
        "availability": (np.ones(len(rows)) if start is None
                         else (arrays["available_day"][rows] <= start).astype(float)),
    }


@dataclass
class World:
    """Trainee records, job orders and decisions ``(job_index, trainee_id, grade)``."""

    records: list[dict]
    jobs: list[Job]
    decisions: list[tuple[int, int, int]]
    preference: dict[str, float]
    arrays: dict = field(repr=False)
    #: Preference of each employer id (heterogeneous worlds; empty otherwise).
    employer_preferences: dict[int, dict[str, float]] = field(default_factory=dict)

    def pool(self) -> Pool:
        """The pool built the way the registry builds it: from records."""
        return Pool.from_records(self.records)

    def training_data(self, pool: Pool | None = None):
        """``(X, grades, groups)`` of the decided (trainee, job) pairs."""
        return decision_matrix(pool or self.pool(), self.jobs, self.decisions)

    def entities(self, groups) -> tuple[np.ndarray, np.ndarray]:
        """``(employers, fields)`` of training rows grouped by job index (``training_data``)."""
        groups = np.asarray(groups, dtype=np.int64)
        employers = np.array([job.employer for job in self.jobs], dtype=object)
        fields = np.array([job.field for job in self.jobs], dtype=object)
        return employers[groups], fields[groups]


def _preference(preference: dict[str, float] | str) -> dict[str, float]:
    if isinstance(preference, str):
        preference = PREFERENCES[preference]
    unknown = set(preference) - set(LATENT) - {"noise"}
    if unknown:
        raise ValueError(f"unknown latent attributes: {sorted(unknown)}")
    return preference


def make_world(n_trainees: int, n_jobs: int, preference: dict[str, float] | str | None = None,
               seed: int = 0, decisions_per_job: int = 30,
               employers: Sequence[dict[str, float] | str] | None = None) -> World:
    """A world whose employers decide by ``preference`` (a dict or a PREFERENCES name).

    With ``employers`` (one preference each), job order j belongs to employer
    ``j % len(employers) + 1`` and is decided by that employer's preference instead; the
    random draws are the same as without, so only the grades differ.
    """
    preference = _preference("skills_first" if preference is None else preference)
    by_employer = {i + 1: _preference(p) for i, p in enumerate(employers or ())}
    rng = np.random.default_rng(seed)
    arrays = pool_arrays(n_trainees, rng)
    jobs = make_jobs(n_jobs, rng)
    if by_employer:
        for j, job in enumerate(jobs):
            job.employer = j % len(by_employer) + 1
    fld, ids = arrays["field"], arrays["ids"]
    decisions: list[tuple[int, int, int]] = []
    for j, job in enumerate(jobs):
        # What the platform showed: field and skill fit blurred by noise (a rough ordering).
        req = [SKILL_INDEX[s] for s in job.required()]
        fit = (2.0 * (fld == FIELD_CODES.index(job.field))
               + np.asarray(arrays["skills"][:, req].sum(axis=1)).ravel() / len(req))
        shown = np.argsort(-(fit + rng.gumbel(0, 1.0, n_trainees)))[:decisions_per_job]
        attrs = latent(arrays, shown, job)
        taste = by_employer.get(job.employer, preference)
        utility = sum(taste.get(a, 0.0) * attrs[a] for a in LATENT)
        utility = utility + taste.get("noise", 0.0) * rng.standard_normal(len(shown))
        order = shown[np.argsort(-utility)]
        m = len(order)
        cuts = np.ceil(np.array([0.07, 0.20, 0.40]) * m).astype(int)
        grade = np.zeros(m, dtype=int)
        grade[:cuts[2]] = 1
        grade[:cuts[1]] = 2
        grade[:cuts[0]] = 3
        # Listed by trainee id, not by utility: row order must not leak the grades.
        by_id = np.argsort(ids[order])
        decisions.extend((j, int(ids[order[i]]), int(grade[i])) for i in by_id)
    records = [_record(arrays, i) for i in range(n_trainees)]
    return World(records, jobs, decisions, dict(preference), arrays,
                 {e: dict(p) for e, p in by_employer.items()})


def _record(arrays: dict, i: int) -> dict:
    sk, pr = arrays["skills"], arrays["prefectures"]
    day = int(arrays["available_day"][i])
    return {
        "id": int(arrays["ids"][i]),
        "field": FIELD_CODES[int(arrays["field"][i])],
        "skills": {SKILLS[c] for c in sk.indices[sk.indptr[i]:sk.indptr[i + 1]]},
        "language_rank": int(arrays["language_rank"][i]),
        "experience_years": float(arrays["experience_years"][i]),
        "training_hours": int(arrays["training_hours"][i]),
        "preferred_prefectures": {PREFECTURE_CODES[c]
                                  for c in pr.indices[pr.indptr[i]:pr.indptr[i + 1]]},
        "available_from": None if day == 0 else date(1970, 1, 1) + timedelta(day),
    }
