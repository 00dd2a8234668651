"""``flask rank`` and ``flask model train|show|rollback`` on a synthetic world in the database."""

import json
from datetime import datetime

import numpy as np
import pytest
import sqlalchemy as sa

from benchmarks.bench_cli import insert_world
from benchmarks.synthetic import make_world
from matching.extensions import db
from matching.models import Decision, JobOrder
from matching.ranking.features import FEATURES
from matching.ranking.pool import clear_memory_cache
from matching.ranking.service import describe_model, model_store
from matching.ranking.training import train

ENTRY_KEYS = {"external_id", "province", "score", "rank", "explanation"}


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture
def world(app):
    """300 trainees, 12 job orders, 30 decisions each by employers who value experience."""
    made = make_world(300, 12, "experience_first", seed=0)
    insert_world(made.arrays, made.jobs, made.decisions)
    return made


def invoke_ok(runner, *args):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def rank_json(runner, *args):
    return json.loads(invoke_ok(runner, "rank", *args, "--format", "json"))


def test_rank_json_shape_and_order(runner, world):
    first, second = world.jobs[0].external_id, world.jobs[1].external_id
    out = rank_json(runner, second, first, "--top", "7")
    assert list(out) == [second, first]
    for items in out.values():
        assert len(items) == 7
        assert [item["rank"] for item in items] == list(range(1, 8))
        scores = [item["score"] for item in items]
        assert scores == sorted(scores, reverse=True)
        for item in items:
            assert set(item) == ENTRY_KEYS
            assert item["score"] == round(item["score"], 4)
            explanation = item["explanation"]
            total = explanation["bias"] + sum(c["contribution"]
                                              for c in explanation["contributions"])
            assert total == pytest.approx(item["score"], abs=1e-3)
            assert {c["feature"] for c in explanation["contributions"]} == set(FEATURES)
            assert explanation["kind"] == "prior" and explanation["model_version"] is None
    assert len(rank_json(runner, first)[first]) == 50  # the default --top


def test_rank_table(runner, world):
    job = world.jobs[0]
    out = invoke_ok(runner, "rank", job.external_id, "--top", "3")
    lines = out.splitlines()
    assert lines[0] == "ranked by: expert prior (no model trained yet)"
    assert lines[2] == f"{job.external_id}: Synthetic job {job.external_id} ({job.field}): " \
                       "3 of 300 candidates"
    assert "missing required skills" in lines[3] and "top contributions" in lines[3]
    best = rank_json(runner, job.external_id, "--top", "3")[job.external_id]
    for line, item in zip(lines[4:], best, strict=True):
        assert line.split()[:4] == [str(item["rank"]), item["external_id"], item["province"],
                                    f"{item['score']:.3f}"]
        missing = item["explanation"]["skills"]["missing_required"]
        assert line.endswith("  " + (", ".join(missing) or "-"))


def test_rank_refuses_unknown_job_orders(runner, world):
    result = runner.invoke(args=["rank", "NO-SUCH-JOB", "--format", "json"])
    assert result.exit_code == 1
    assert "unknown job order: NO-SUCH-JOB" in result.output
    result = runner.invoke(args=["rank", world.jobs[0].external_id, "NOPE"])
    assert result.exit_code == 1 and "unknown job order: NOPE" in result.output


def test_model_train_refuses_too_few_decisions_and_keeps_the_prior(runner, app):
    made = make_world(60, 3, "experience_first", seed=1, decisions_per_job=20)
    insert_world(made.arrays, made.jobs, made.decisions)
    out = invoke_ok(runner, "model", "train")
    assert out.strip() == ("too few decisions: 3 labelled job orders, need at least 5 "
                           "— keeping the prior")
    assert model_store().versions() == []
    assert "model in use: expert prior (no model trained yet)" in invoke_ok(
        runner, "model", "show")


def test_train_show_retrain_rank_and_rollback(runner, world):
    out = invoke_ok(runner, "model", "train")
    assert "decisions used: 360 on 12 labelled job orders" in out
    assert "held-out NDCG on 3 job orders" in out
    for label in ("learned global (stored)", "hierarchical", "blend", "expert prior",
                  "skill overlap"):
        assert label in out
    # One employer: its deviation does not beat the global model on held-out job orders.
    assert "keeping the global model" in out
    # These employers value experience, which the expert prior does not weigh first: the
    # held-out job orders show the learned model alone ranks better, so it is stored.
    assert "storing the learned model" in out
    assert out.rstrip().endswith("stored version 1: learned model (12 labelled job orders)")
    store = model_store()
    v1 = store.load(1)
    assert (v1.kind, v1.n_decisions, v1.n_job_orders) == ("learned", 360, 12)

    # Later decisions on job order 1 overturn the earlier ones: only the latest count.
    job = db.session.scalar(sa.select(JobOrder).where(
        JobOrder.external_id == world.jobs[0].external_id))
    later = [Decision(job_order_id=job.id, trainee_id=d.trainee_id, decision=new,
                      decided_at=datetime(2030, 1, 1))
             for d, new in zip(db.session.scalars(sa.select(Decision).where(
                 Decision.job_order_id == job.id).order_by(Decision.id)),
                 ["rejected", "selected"] * 15, strict=True)]
    db.session.add_all(later)
    db.session.commit()
    out = invoke_ok(runner, "model", "train")
    assert "decisions used: 360 on 12 labelled job orders" in out
    assert "stored version 2: " in out
    v2 = store.load(2)
    assert not np.allclose(v1.weights, v2.weights)

    top = rank_json(runner, world.jobs[3].external_id, "--top", "5")[world.jobs[3].external_id]
    explanation = top[0]["explanation"]
    assert (explanation["kind"], explanation["model_version"]) == (v2.kind, 2)
    assert [c["weight"] for c in sorted(explanation["contributions"],
                                        key=lambda c: FEATURES.index(c["feature"]))] \
        == pytest.approx(list(v2.weights))

    shown = invoke_ok(runner, "model", "show")
    assert f"model in use: version 2, {describe_model(v2)}" in shown
    assert f"trained at: {v2.trained_at}" in shown
    assert "decisions: 360 on 12 labelled job orders" in shown
    weight_lines = {line.split()[0]: line.split()[1:] for line in shown.splitlines()
                    if line.startswith("  ") and line.split()[0] in FEATURES}
    assert set(weight_lines) == set(FEATURES)
    assert float(weight_lines["experience_log"][0]) == pytest.approx(
        v2.weights[FEATURES.index("experience_log")], abs=1e-3)
    assert "stored versions: 1, 2" in shown

    out = invoke_ok(runner, "model", "rollback", "1")
    assert "version 3 (a copy of version 1) is now in use" in out
    top = rank_json(runner, world.jobs[3].external_id, "--top", "1")[world.jobs[3].external_id]
    assert top[0]["explanation"]["model_version"] == 3
    assert top[0]["explanation"]["contributions"][0]["weight"] == pytest.approx(
        v1.weights[FEATURES.index(top[0]["explanation"]["contributions"][0]["feature"])])
    result = runner.invoke(args=["model", "rollback", "99"])
    assert result.exit_code == 1 and "no model version 99" in result.output


def test_planted_preference_is_learned_through_the_database(runner, world):
    invoke_ok(runner, "model", "train")
    held = model_store().load(1).metrics["held_out"]
    assert held["learned"]["ndcg@10"] >= held["baseline"]["ndcg@10"] + 0.2
    assert held["learned"]["ndcg@10"] > held["prior"]["ndcg@10"]
    # The database path rebuilds exactly the data the in-memory world holds (one employer,
    # whose id only names its deviation block).
    X, grades, groups = world.training_data()
    _, fields = world.entities(groups)
    employers = np.full(len(groups), 1, dtype=object)
    assert held == train(X, grades, groups, employers=employers,
                         fields=fields).metrics["held_out"]
    stored = model_store().load(1)
    experience = FEATURES.index("experience_log")
    assert stored.weights[experience] > 0
