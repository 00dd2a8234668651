"""Acceptance: a fresh database fed ONLY through the public CSV formats and the CLI learns.

For a synthetic world whose employers decide by a hidden preference
(``benchmarks.world_csv``), the test imports trainees, job orders and decisions with
``flask import``, ranks job orders that have no decision with the expert prior, trains with
``flask model train`` and ranks them again. Each ranking of a held-out job order is scored
by NDCG@10 against the hidden utilities in ``truth.json``.

Relevance of a trainee for a held-out job order: the trainees are ordered by true utility
over the whole pool (every imported trainee is available and consenting, hence a
candidate); the best 2 % get grade 3, the next 3 % grade 2, the next 5 % grade 1, the rest
0 (gains ``2**grade - 1``, as for decisions). Grading by quantile rather than using the
utilities as gains keeps the metric about the top of the list: with min-max scaled
utilities as gains, the middle of the pool already earns half the gain and every ranking
scores high. NDCG@10 is ``matching.ranking.metrics.ndcg_at_k`` over the whole pool, the
trainees ``rank`` did not return sharing the lowest score (below position 20, so their
order never matters for @10).

Three rankings per preference: the skill-overlap baseline computed here from the CSV files
alone (required coverage + half the preferred coverage, what an employer filtering by
skills would see), the expert prior (``rank`` before ``model train``) and the learned model
(``rank`` after it).
"""

import csv
import json

import numpy as np
import pytest

from benchmarks.world_csv import (
    DECISIONS_CSV,
    JOB_ORDERS_CSV,
    TRAINEES_CSV,
    TRUTH_JSON,
    write_world,
)
from matching.ranking.features import FEATURES
from matching.ranking.metrics import ndcg_at_k
from matching.ranking.pool import clear_memory_cache

N_TRAINEES, N_LABELLED, N_HELD_OUT, PER_JOB, TOP = 600, 30, 5, 30, 20
ENTRY_KEYS = {"external_id", "province", "score", "rank", "explanation"}
#: Shares of the pool graded 3, 2 and 1 (cumulative), the rest 0.
GRADE_CUTS = (0.02, 0.05, 0.10)


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


def invoke_ok(runner, *args) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def read_csv(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def grades_by_quantile(utilities: dict[str, float]) -> dict[str, int]:
    """Grade 3 / 2 / 1 for the best 2 / 5 / 10 % of the pool by true utility, else 0."""
    ids = sorted(utilities, key=lambda t: (-utilities[t], t))
    cuts = [round(share * len(ids)) for share in GRADE_CUTS]
    return {t: 3 if i < cuts[0] else 2 if i < cuts[1] else 1 if i < cuts[2] else 0
            for i, t in enumerate(ids)}


def ndcg10(scores: dict[str, float], grades: dict[str, int]) -> float:
    """NDCG@10 of ordering the pool by ``scores`` (trainees missing from it come last)."""
    ids = list(grades)
    s = np.array([scores.get(t, -1e9) for t in ids])
    return ndcg_at_k(s, np.array([grades[t] for t in ids], dtype=float), 10)


def skill_overlap(trainees: list[dict], job: dict) -> dict[str, float]:
    """The baseline from the CSV cells alone: required coverage + ½ preferred coverage."""
    required = [s for s in job["required_skills"].split(";") if s]
    preferred = [s for s in job["preferred_skills"].split(";") if s and s not in required]
    scores = {}
    for t in trainees:
        has = set(t["skills"].split(";"))
        cover = sum(s in has for s in required) / len(required) if required else 1.0
        bonus = sum(s in has for s in preferred) / len(preferred) if preferred else 0.0
        scores[t["external_id"]] = cover + 0.5 * bonus
    return scores


def ranked(runner, jobs: list[str]) -> dict[str, list[dict]]:
    """``flask rank JOBS --top 20 --format json``, its shape checked exactly."""
    out = json.loads(invoke_ok(runner, "rank", *jobs, "--top", str(TOP), "--format", "json"))
    assert isinstance(out, dict) and list(out) == jobs
    for items in out.values():
        assert [item["rank"] for item in items] == list(range(1, TOP + 1))
        scores = [item["score"] for item in items]
        assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))
        assert len({item["external_id"] for item in items}) == TOP
        for item in items:
            assert set(item) == ENTRY_KEYS
            assert isinstance(item["score"], float)
            explanation = item["explanation"]
            assert {c["feature"] for c in explanation["contributions"]} == set(FEATURES)
            total = explanation["bias"] + sum(c["contribution"]
                                              for c in explanation["contributions"])
            assert total == pytest.approx(item["score"], abs=1e-3)
    return out


def as_scores(items: list[dict]) -> dict[str, float]:
    """Rank order as scores (the rank, not the score, is what the user sees)."""
    return {item["external_id"]: -float(item["rank"]) for item in items}


#: Employers whose hidden preference the expert prior does not encode (it weighs skills
#: first): the learned model must beat both the prior and the skill-overlap baseline by far.
LEARNS = ["experience_first", "training_first", "language_first"]


@pytest.mark.parametrize("preference", ["skills_first", *LEARNS])
def test_public_formats_cli_pipeline_learns(runner, tmp_path, preference):
    files = write_world(tmp_path / "world", N_TRAINEES, N_LABELLED, preference, seed=7,
                        held_out=N_HELD_OUT, decisions_per_job=PER_JOB)
    held = files.held_out

    out = invoke_ok(runner, "import", "trainees", str(files.path(TRAINEES_CSV)))
    assert f"{N_TRAINEES} rows: {N_TRAINEES} created, 0 updated" in out
    out = invoke_ok(runner, "import", "job-orders", str(files.path(JOB_ORDERS_CSV)))
    assert f"{N_LABELLED + N_HELD_OUT} rows: {N_LABELLED + N_HELD_OUT} created" in out
    out = invoke_ok(runner, "import", "decisions", str(files.path(DECISIONS_CSV)))
    n_decisions = N_LABELLED * PER_JOB
    assert f"{n_decisions} rows: {n_decisions} created, 0 updated, 0 unchanged" in out

    trainees = read_csv(files.path(TRAINEES_CSV))
    province = {t["external_id"]: t["province"] for t in trainees}
    jobs = {j["external_id"]: j for j in read_csv(files.path(JOB_ORDERS_CSV))}
    truth = json.loads(files.path(TRUTH_JSON).read_text(encoding="utf-8"))["utilities"]
    assert sorted(truth) == sorted(held)
    grades = {j: grades_by_quantile(truth[j]) for j in held}

    # Decisions are imported, no model trained: the expert prior ranks, and says so.
    assert invoke_ok(runner, "rank", held[0], "--top", "1").startswith(
        "ranked by: expert prior (no model trained yet)")
    before = ranked(runner, held)
    for items in before.values():
        assert {item["explanation"]["kind"] for item in items} == {"prior"}
        assert {item["explanation"]["model_version"] for item in items} == {None}
        assert all(item["province"] == province[item["external_id"]] for item in items)

    out = invoke_ok(runner, "model", "train")
    assert "stored version 1" in out
    assert f"{N_LABELLED} labelled job orders" in out
    after = ranked(runner, held)
    for items in after.values():
        assert {item["explanation"]["kind"] for item in items} <= {"blend", "learned"}
        assert {item["explanation"]["model_version"] for item in items} == {1}

    baseline = np.mean([ndcg10(skill_overlap(trainees, jobs[j]), grades[j]) for j in held])
    prior = np.mean([ndcg10(as_scores(before[j]), grades[j]) for j in held])
    learned = np.mean([ndcg10(as_scores(after[j]), grades[j]) for j in held])
    figures = f"{preference}: baseline {baseline:.3f}, prior {prior:.3f}, learned {learned:.3f}"
    print(f"\nNDCG@10 {figures}")
    if preference in LEARNS:
        # Seeds 0-3 and 7 give learned 0.87-0.98, prior 0.08-0.33, baseline 0.04-0.12.
        assert learned >= 0.7, figures
        assert learned >= prior + 0.3, figures
        assert learned >= baseline + 0.3, figures
    else:
        # Employers who want what the prior assumes: learning must not make it worse.
        assert learned >= prior - 0.05, figures
        assert learned >= baseline + 0.05, figures


def test_world_files_keep_the_held_out_job_orders_unlabelled(tmp_path):
    files = write_world(tmp_path / "a", 120, 6, "training_first", seed=3, held_out=2,
                        decisions_per_job=10)
    trainees = read_csv(files.path(TRAINEES_CSV))
    ids = [t["external_id"] for t in trainees]
    assert len(ids) == len(set(ids)) == 120 and all(i[0] == "S" and len(i) == 8 for i in ids)
    assert all(len(t["full_name"].split()) == 3 and t["province"] for t in trainees)
    jobs = [j["external_id"] for j in read_csv(files.path(JOB_ORDERS_CSV))]
    assert jobs == files.labelled + files.held_out and len(files.held_out) == 2
    decisions = read_csv(files.path(DECISIONS_CSV))
    assert len(decisions) == 6 * 10
    assert {d["job_order_external_id"] for d in decisions} == set(files.labelled)
    assert {d["decision"] for d in decisions} <= {"selected", "interviewed", "shortlisted",
                                                  "rejected"}
    truth = json.loads(files.path(TRUTH_JSON).read_text(encoding="utf-8"))
    assert truth["preference"] == "training_first"
    assert set(truth["utilities"]) == set(files.held_out)
    assert all(set(u) == set(ids) for u in truth["utilities"].values())
    # The same arguments write the same files.
    again = write_world(tmp_path / "b", 120, 6, "training_first", seed=3, held_out=2,
                        decisions_per_job=10)
    for name in (TRAINEES_CSV, JOB_ORDERS_CSV, DECISIONS_CSV, TRUTH_JSON):
        assert again.path(name).read_bytes() == files.path(name).read_bytes()
