"""Ranking features: hand-checked values, and the vectorised block equals a per-row reference."""

import math
from datetime import date

import numpy as np
import pytest

from benchmarks.synthetic import make_world, pool_arrays
from matching.ranking.features import (
    FEATURES,
    Job,
    Pool,
    job_features,
    top_k,
)
from matching.ranking.training import decision_matrix

START = date(2026, 4, 1)
JOB = Job(field="construction", required_skills=["welding", "rebar", "formwork"],
          preferred_skills=["scaffolding", "rebar"], min_language_rank=2, prefecture="aichi",
          start_date=START)


def trainee(id, **kw):
    base = {"id": id, "field": "construction", "skills": set(), "language_rank": 2,
            "experience_years": 0.0, "training_hours": 0, "preferred_prefectures": set(),
            "available_from": None}
    base.update(kw)
    return base


@pytest.fixture
def small_pool():
    return Pool.from_records([
        trainee(10, skills={"welding", "rebar", "cooking"}, language_rank=4,
                experience_years=3.0, training_hours=500, preferred_prefectures={"aichi"},
                available_from=date(2026, 3, 1)),
        trainee(11, field="manufacturing", skills={"welding", "rebar", "formwork",
                                                   "scaffolding"},
                language_rank=1, preferred_prefectures=set()),
        trainee(12, field="no-such-field", language_rank=6, preferred_prefectures={"tokyo"},
                available_from=date(2026, 5, 1)),
        trainee(13, language_rank=0, available_from=START, preferred_prefectures={"osaka",
                                                                                  "aichi"}),
    ])


def features_of(pool, job):
    X = job_features(pool, job)
    return [dict(zip(FEATURES, map(float, row), strict=True)) for row in X]


def test_hand_made_values(small_pool):
    a, b, c, d = features_of(small_pool, JOB)
    # 2 of 3 required skills; "rebar" is required, so only "scaffolding" is preferred.
    assert a["required_coverage"] == pytest.approx(2 / 3)
    assert a["required_all"] == 0 and a["preferred_coverage"] == 0
    assert a["field_match"] == 1 and a["field_x_required"] == pytest.approx(2 / 3)
    assert (a["language_above"], a["language_below"], a["below_minimum"]) == (2, 0, 0)
    assert a["experience_log"] == pytest.approx(math.log1p(3))
    assert a["training"] == pytest.approx(math.log1p(5))
    assert a["prefecture_match"] == 1 and a["available_by_start"] == 1

    assert b["required_coverage"] == 1 and b["required_all"] == 1
    assert b["preferred_coverage"] == 1
    assert b["field_match"] == 0 and b["field_x_required"] == 0
    assert (b["language_above"], b["language_below"], b["below_minimum"]) == (0, 1, 1)
    assert b["experience_log"] == 0 and b["training"] == 0
    assert b["prefecture_match"] == 0.5  # no stated preference: open to anywhere
    assert b["available_by_start"] == 1  # unknown availability counts as available now

    assert c["required_coverage"] == 0 and c["field_match"] == 0  # unknown field matches none
    assert c["language_above"] == 3  # 4 levels above, capped at 3
    assert c["prefecture_match"] == 0  # listed only other prefectures
    assert c["available_by_start"] == 0  # available a month after the start

    assert (d["language_below"], d["below_minimum"]) == (2, 1)
    assert d["available_by_start"] == 1  # available exactly on the start date
    assert d["prefecture_match"] == 1


def test_jobs_without_requirements(small_pool):
    job = Job(field="construction", required_skills=[], preferred_skills=[])
    rows = features_of(small_pool, job)
    assert all(r["required_coverage"] == 1 and r["required_all"] == 1 for r in rows)
    assert all(r["preferred_coverage"] == 0 for r in rows)
    assert all(r["available_by_start"] == 1 for r in rows)  # no start date
    assert all(r["prefecture_match"] == 0 for r in rows)  # no prefecture
    assert all(r["below_minimum"] == 0 for r in rows)  # minimum 0


def test_unknown_skill_counts_but_matches_nobody(small_pool):
    job = Job(field="construction", required_skills=["welding", "underwater-welding"])
    rows = features_of(small_pool, job)
    assert [r["required_coverage"] for r in rows] == [0.5, 0.5, 0, 0]
    assert all(r["required_all"] == 0 for r in rows)


def reference_row(rec, job):
    """Straightforward per-trainee features, written independently of features.py."""
    skills = set(rec["skills"])
    req = list(dict.fromkeys(job.required_skills))
    pref = [s for s in dict.fromkeys(job.preferred_skills) if s not in req]
    cov = sum(s in skills for s in req) / len(req) if req else 1.0
    gap = rec["language_rank"] - job.min_language_rank
    field = float(rec["field"] == job.field)
    prefs = rec["preferred_prefectures"]
    avail = rec["available_from"]
    return {
        "required_coverage": cov,
        "preferred_coverage": sum(s in skills for s in pref) / len(pref) if pref else 0.0,
        "required_all": float(all(s in skills for s in req)),
        "field_match": field,
        "field_x_required": field * cov,
        "language_above": min(max(gap, 0), 3),
        "language_below": max(-gap, 0),
        "below_minimum": float(gap < 0),
        "experience_log": math.log1p(rec["experience_years"]),
        "training": math.log1p(rec["training_hours"] / 100),
        "prefecture_match": (0.0 if not job.prefecture else 1.0 if job.prefecture in prefs
                             else 0.5 if not prefs else 0.0),
        "available_by_start": float(job.start_date is None or avail is None
                                    or avail <= job.start_date),
    }


def test_vectorised_equals_per_row_reference():
    world = make_world(600, 12, seed=3)
    pool = world.pool()
    jobs = world.jobs + [
        Job(field=None, required_skills=["welding", "nope"], preferred_skills=["welding"],
            min_language_rank=5, prefecture=None, start_date=date(2026, 1, 10)),
    ]
    for job in jobs:
        X = job_features(pool, job)
        assert X.dtype == np.float32 and X.shape == (600, len(FEATURES))
        expected = np.array([[reference_row(r, job)[f] for f in FEATURES]
                             for r in world.records])
        np.testing.assert_allclose(X, expected, rtol=1e-6, atol=1e-6)


def test_from_arrays_matches_from_records_and_buffer_reuse():
    world = make_world(300, 6, seed=5)
    from_records = world.pool()
    from_arrays = Pool.from_arrays(**world.arrays)
    buf = from_arrays.buffer()
    for job in world.jobs:
        expected = job_features(from_records, job)
        # Pool.from_records orders skill columns differently; the features must not care.
        np.testing.assert_array_equal(job_features(from_arrays, job, out=buf), expected)
    assert from_arrays.buffer() is buf


def test_rows_for_and_decision_matrix(small_pool):
    assert small_pool.rows_for([13, 10, 99]).tolist() == [3, 0, -1]
    X, grades, groups = decision_matrix(small_pool, [JOB, JOB],
                                        [(1, 11, 3), (0, 10, 0), (1, 99, 2), (1, 13, 1)])
    assert groups.tolist() == [0, 1, 1]  # trainee 99 is not in the pool: skipped
    assert grades.tolist() == [0, 3, 1]
    np.testing.assert_array_equal(X, job_features(small_pool, JOB)[[0, 1, 3]])


def test_top_k_breaks_ties_by_id():
    ids = np.array([50, 7, 30, 8, 9], dtype=np.int64)
    scores = np.array([1.0, 2.0, 2.0, 0.5, 2.0], dtype=np.float32)
    assert top_k(scores, ids, 2).tolist() == [1, 4]  # ids 7 and 9 among three 2.0s
    assert top_k(scores, ids, 10).tolist() == [1, 4, 2, 0, 3]
    assert top_k(scores, ids, 0).tolist() == []


@pytest.mark.parametrize("distinct", [True, False])
def test_top_k_on_large_pool_equals_full_sort(distinct):
    rng = np.random.default_rng(0)
    n = 200_000
    ids = rng.permutation(n).astype(np.int64) + 1
    scores = (rng.random(n) if distinct else rng.integers(0, 40, n)).astype(np.float32)
    expected = np.lexsort((ids, -scores.astype(np.float64)))[:50]
    np.testing.assert_array_equal(top_k(scores, ids, 50), expected)


def test_pool_from_synthetic_arrays_has_no_per_job_loop_over_trainees():
    # A 200k pool ranks a job in well under a second on any machine (it is ~1 ms here);
    # a per-trainee Python loop would take seconds.
    import time

    pool = Pool.from_arrays(**pool_arrays(200_000, np.random.default_rng(1)))
    out = pool.buffer()
    job_features(pool, JOB, out=out)
    t = time.perf_counter()
    job_features(pool, JOB, out=out)
    assert time.perf_counter() - t < 0.5


def test_empty_pool_ranks_nobody():
    pool = Pool.from_records([])
    assert job_features(pool, JOB).shape == (0, len(FEATURES))
    assert pool.rows_for([1]).tolist() == [-1]
    assert top_k(np.empty(0, dtype=np.float32), pool.ids, 5).tolist() == []
