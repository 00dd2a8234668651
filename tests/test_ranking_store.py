"""Model versions: stored as JSON, newest used, rollback appends instead of rewriting."""

import json

import numpy as np
import pytest

from matching.ranking.features import FEATURES
from matching.ranking.model import PRIOR, LinearModel, blend
from matching.ranking.store import ModelStore


def learned(seed, **kw):
    weights = np.random.default_rng(seed).normal(size=len(FEATURES))
    metrics = {"held_out": {"learned": {"ndcg@10": 0.9, "ndcg@5": 0.88},
                            "prior": {"ndcg@10": 0.5, "ndcg@5": 0.45}}}
    return LinearModel(weights, kind="learned", metrics=metrics,
                       trained_at="2026-01-02T03:04:05+00:00", n_decisions=300,
                       n_job_orders=12, **kw)


def test_empty_store(tmp_path):
    store = ModelStore(tmp_path / "models")
    assert store.latest() is None and store.versions() == []
    with pytest.raises(LookupError, match="no model version 1"):
        store.load(1)


def test_versions_are_files_and_newest_is_used(tmp_path):
    store = ModelStore(tmp_path)
    first, second = learned(1), blend(PRIOR, learned(2), 12)
    assert store.save(first) == 1
    assert store.save(second) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-0001.json", "model-0002.json"]
    data = json.loads((tmp_path / "model-0001.json").read_text(encoding="utf-8"))
    assert data["version"] == 1 and data["model"]["features"] == list(FEATURES)
    assert data["model"]["n_decisions"] == 300 and data["model"]["n_job_orders"] == 12

    latest = store.latest()
    np.testing.assert_allclose(latest.weights, second.weights)
    assert latest.kind == "blend" and latest.alpha == pytest.approx(12 / 17)  # k = 5
    np.testing.assert_allclose(store.load(1).weights, first.weights)
    assert store.load(1).metrics == first.metrics and store.load(1).compatible()

    listing = store.versions()
    assert [v["version"] for v in listing] == [1, 2]
    assert listing[0]["kind"] == "learned"
    assert listing[0]["trained_at"] == "2026-01-02T03:04:05+00:00"
    assert listing[0]["ndcg@10"] == {"learned": 0.9, "prior": 0.5}


def test_rollback_keeps_history(tmp_path):
    store = ModelStore(tmp_path)
    store.save(learned(1))
    store.save(learned(2))
    assert store.rollback(1) == 3
    np.testing.assert_allclose(store.latest().weights, learned(1).weights)
    np.testing.assert_allclose(store.load(2).weights, learned(2).weights)  # still there
    assert [v["rolled_back_from"] for v in store.versions()] == [None, None, 1]
    with pytest.raises(LookupError):
        store.rollback(9)
    assert store.latest_version() == 3


def test_writes_leave_no_temporary_files_and_ignore_strangers(tmp_path):
    store = ModelStore(tmp_path)
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    (tmp_path / ".model-abc.tmp").write_text("{", encoding="utf-8")  # a crashed writer
    for seed in range(3):
        store.save(learned(seed))
    assert store.latest_version() == 3
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"notes.txt", ".model-abc.tmp", "model-0001.json", "model-0002.json",
                     "model-0003.json"}


def test_a_model_for_other_features_is_flagged(tmp_path):
    store = ModelStore(tmp_path)
    old = LinearModel(np.ones(2), features=("required_coverage", "retired_feature"))
    store.save(old)
    assert not store.latest().compatible()
