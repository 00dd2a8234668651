"""Each employer's own preferences, shrunk towards everyone's (issue 14, DESIGN §5)."""

import json

import numpy as np
import pytest

from benchmarks.bench_cli import insert_world
from benchmarks.synthetic import HETEROGENEOUS, make_world
from matching.extensions import db
from matching.models import Organisation
from matching.ranking.explain import explain, explain_ranked
from matching.ranking.features import FEATURES, FIELD_CODES, Job
from matching.ranking.hierarchy import fit_hierarchical, largest_deviations, score_rows
from matching.ranking.metrics import group_ndcg
from matching.ranking.model import PRIOR, LinearModel, blend, rank_pool
from matching.ranking.pool import clear_memory_cache
from matching.ranking.service import current_model, model_store
from matching.ranking.store import ModelStore
from matching.ranking.training import fit_pairwise, train
from tests.test_candidates import html, review  # noqa: F401 (a fixture)

N_EMPLOYERS = 6
LANGUAGE = FEATURES.index("language_above")
EXPERIENCE = FEATURES.index("experience_log")


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture(scope="module")
def two_groups():
    """Six employers taking turns posting 48 job orders: odd ids want Japanese above all,
    even ids experience; rounds 0 and 4 of the turns are held out (two job orders each)."""
    world = make_world(600, 48, seed=3,
                       employers=[HETEROGENEOUS[i % 2] for i in range(N_EMPLOYERS)])
    pool = world.pool()
    X, grades, groups = world.training_data(pool)
    employers, fields = world.entities(groups)
    held = (groups // N_EMPLOYERS) % 4 == 0
    hier = fit_hierarchical(X[~held], grades[~held], groups[~held],
                            employers=employers[~held], fields=fields[~held])
    flat = fit_pairwise(X[~held], grades[~held], groups[~held])
    return world, pool, (X, grades, groups, employers, fields, held), hier, flat


def test_each_group_is_ranked_better_on_held_out_job_orders(two_groups):
    world, _, (X, grades, groups, employers, fields, held), hier, flat = two_groups
    own = group_ndcg(score_rows(hier, X[held], employers[held], fields[held]), grades[held],
                     groups[held], 10)
    everyone = group_ndcg(flat.score(X[held]), grades[held], groups[held], 10)
    jobs = np.unique(groups[held])
    assert len(jobs) == 12
    for parity in (0, 1):
        mine = np.array([world.jobs[j].employer % 2 == parity for j in jobs])
        assert own[mine].mean() > everyone[mine].mean() + 0.03, (parity, own, everyone)
    # The deviations point the planted way: Japanese for odd ids, experience for even ones.
    for employer, deviation in hier.employer_deviations.items():
        japanese_first = employer % 2 == 1
        assert (deviation[LANGUAGE] > deviation[EXPERIENCE]) == japanese_first, employer


def test_train_keeps_the_hierarchical_model_when_it_ranks_better(two_groups):
    _, _, (X, grades, groups, employers, fields, _held), _, _ = two_groups
    result = train(X, grades, groups, employers=employers, fields=fields)
    held = result.metrics["held_out"]
    assert held["hierarchical"]["ndcg@10"] > held["learned"]["ndcg@10"]
    assert result.metrics["hierarchical"] is True
    assert result.learned.hierarchical and result.model.hierarchical
    assert result.metrics["by_employer"]  # employers with two held-out job orders
    for row in result.metrics["by_employer"].values():
        assert row["n_job_orders"] >= 2 and row["hierarchical"] is not None
    # Without employers (the call every older caller makes) nothing changes.
    flat = train(X, grades, groups)
    assert "hierarchical" not in flat.metrics["held_out"] and not flat.model.hierarchical


def test_one_group_of_employers_keeps_the_global_model():
    world = make_world(400, 24, "experience_first", seed=4)
    X, grades, groups = world.training_data()
    _, fields = world.entities(groups)
    employers = np.where(groups % 2 == 0, 1, 2).astype(object)  # same taste, two names
    result = train(X, grades, groups, employers=employers, fields=fields)
    held = result.metrics["held_out"]
    if held["hierarchical"]["ndcg@10"] <= held["learned"]["ndcg@10"]:
        assert not result.metrics["hierarchical"] and not result.model.hierarchical


def test_an_employer_without_decisions_gets_exactly_the_global_ranking(two_groups):
    world, pool, _, hier, _ = two_groups
    job = world.jobs[0]
    flat = LinearModel(hier.weights, kind=hier.kind)
    unseen = next(f for f in FIELD_CODES if f not in hier.field_deviations)
    newcomer = Job(field=unseen, required_skills=job.required_skills,
                   min_language_rank=job.min_language_rank, employer=999)
    assert hier.for_job(newcomer) is hier
    mine, everyone = rank_pool(hier, pool, newcomer, k=30), rank_pool(flat, pool, newcomer, k=30)
    np.testing.assert_array_equal(mine.ids, everyone.ids)
    np.testing.assert_array_equal(mine.scores, everyone.scores)
    # In a field with a deviation, a newcomer is ranked as that field's average employer.
    known = Job(field=job.field, required_skills=job.required_skills,
                min_language_rank=job.min_language_rank, employer=999)
    field_only = LinearModel(hier.weights + hier.field_deviations[job.field])
    np.testing.assert_array_equal(rank_pool(hier, pool, known, k=30).scores,
                                  rank_pool(field_only, pool, known, k=30).scores)
    # An employer with decisions is ranked by its own weights.
    own = Job(**{**known.__dict__, "employer": 1})
    assert not np.array_equal(rank_pool(hier, pool, own, k=30).scores,
                              rank_pool(field_only, pool, own, k=30).scores)


def test_explanations_add_up_to_the_score(two_groups):
    world, pool, _, hier, _ = two_groups
    job = world.jobs[1]
    assert job.employer in hier.employer_deviations and job.field in hier.field_deviations
    for model in (hier, blend(PRIOR, hier, 40)):
        ranked = rank_pool(model, pool, job, k=10)
        for score, explanation in zip(ranked.scores, explain_ranked(model, pool, job, ranked),
                                      strict=True):
            assert explanation["hierarchical"] is True
            parts = explanation["contributions"]
            assert explanation["score"] == pytest.approx(float(score), abs=1e-4)
            assert explanation["bias"] + sum(c["contribution"] for c in parts) \
                == pytest.approx(explanation["score"])
            for c in parts:
                assert c["global"] + c["field"] + c["employer"] == pytest.approx(c["contribution"])
            i = FEATURES.index("experience_log")
            item = next(c for c in parts if c["feature"] == "experience_log")
            assert item["employer"] == pytest.approx(
                item["value"] * model.employer_deviations[job.employer][i])
    # A global-only model: every deviation part is 0.
    plain = explain(PRIOR, rank_pool(PRIOR, pool, job, k=1).X[0], job, pool.row_info(0))
    assert not plain["hierarchical"]
    assert all(c["field"] == 0 == c["employer"] for c in plain["contributions"])


def test_store_round_trip_and_rollback_to_a_global_only_version(tmp_path, two_groups):
    world, pool, _, hier, _ = two_groups
    store = ModelStore(tmp_path)
    flat = LinearModel(PRIOR.weights * 0.5, kind="learned", alpha=1.0)
    v1 = store.save(flat)
    # A version written before deviations existed has no deviation keys at all.
    legacy = json.loads(store.path(v1).read_text())
    for key in ("field_deviations", "employer_deviations"):
        del legacy["model"][key]
    store.path(v1).write_text(json.dumps(legacy))
    v2 = store.save(hier)
    loaded = store.load(v2)
    assert loaded.employer_deviations.keys() == hier.employer_deviations.keys()
    assert all(isinstance(k, int) for k in loaded.employer_deviations)
    for job in world.jobs[:6]:
        np.testing.assert_array_equal(loaded.for_job(job).weights, hier.for_job(job).weights)
        np.testing.assert_array_equal(rank_pool(loaded, pool, job, k=5).ids,
                                      rank_pool(hier, pool, job, k=5).ids)
    v3 = store.rollback(v1)
    back = store.load(v3)
    assert not back.hierarchical and back.for_job(world.jobs[0]) is back
    np.testing.assert_array_equal(back.weights, flat.weights)


def test_largest_deviations_come_first(two_groups):
    *_, hier, _ = two_groups
    largest = largest_deviations(hier, 3)
    sizes = [size for _, size, _ in largest]
    assert sizes == sorted(sizes, reverse=True) and len(largest) == 3
    assert sizes[0] == pytest.approx(max(np.linalg.norm(v)
                                         for v in hier.employer_deviations.values()))


# -- through the database and the CLI ---------------------------------------------------------


def test_model_train_and_show_through_the_cli(app, runner):
    world = make_world(400, 32, seed=5, employers=list(HETEROGENEOUS) * 2)
    insert_world(world.arrays, world.jobs, world.decisions)
    result = runner.invoke(args=["model", "train"])
    out = result.output
    assert result.exit_code == 0, out
    for label in ("learned global", "hierarchical", "expert prior", "skill overlap"):
        assert label in out
    assert "held-out NDCG@10 per employer (global → hierarchical):" in out
    assert "Synthetic KK " in out
    assert "ranks the held-out job orders better than the global model: keeping it" in out
    assert "with deviations for 4 employer(s)" in out.splitlines()[-1]
    stored = model_store().load(1)
    assert stored.hierarchical and stored.metrics["hierarchical"]
    names = dict(db.session.execute(db.select(Organisation.id, Organisation.name)).all())
    assert {names[e] for e in stored.employer_deviations} == {
        f"Synthetic KK {i}" for i in range(1, 5)}

    shown = runner.invoke(args=["model", "show"]).output
    assert "deviations from the global weights: 4 employer(s)" in shown
    top = largest_deviations(stored, 1)[0]
    line = next(line for line in shown.splitlines() if names[top[0]] in line)
    assert f"|Δ| {top[1]:.3f}" in line

    # rank --format json carries each contribution's employer part.
    job = world.jobs[2]
    out = runner.invoke(args=["rank", job.external_id, "--top", "3", "--format", "json"]).output
    explanation = json.loads(out)[job.external_id][0]["explanation"]
    assert explanation["hierarchical"] is True
    assert any(abs(c["employer"]) > 0 for c in explanation["contributions"])

    # Rolling back to a global-only version ranks with the global weights again.
    flat = LinearModel(PRIOR.weights * 0.5, kind="learned", alpha=1.0)
    v2 = model_store().save(flat)
    model_store().rollback(1)
    assert current_model().model.hierarchical
    rolled = runner.invoke(args=["model", "rollback", str(v2)])
    assert rolled.exit_code == 0, rolled.output
    assert not current_model().model.hierarchical
    assert "deviations from the global weights" not in runner.invoke(
        args=["model", "show"]).output


# -- on the candidate card --------------------------------------------------------------------


def test_the_card_says_what_the_employers_own_decisions_add(client, login, review,  # noqa: F811
                                                            make_user, switch_login):
    employer, job, _ = review
    deviation = np.zeros(len(FEATURES))
    deviation[LANGUAGE] = 0.4
    model_store().save(LinearModel(PRIOR.weights, kind="learned", alpha=1.0, n_decisions=90,
                                   n_job_orders=9,
                                   employer_deviations={employer.organisation_id: deviation}))
    login(employer)
    text = html(client.get(f"/jobs/{job.id}/candidates"))
    # The best candidate has N3 for an N4 minimum: one level above, +0.40 from the employer.
    assert ("Japanese above the minimum level: +0.40 to this score from your own past "
            "decisions, compared with most employers.") in text
    colleague = make_user(role="employer", locale="ja",
                          org=db.session.get(Organisation, employer.organisation_id))
    switch_login(colleague)
    text = html(client.get(f"/jobs/{job.id}/candidates"))
    assert "your own past decisions" not in text
    assert "+0.40" in text and "これまでの選考" in text
