"""Learning to rank: planted employer preferences are learned, explained, and measured."""

import json
import math
from datetime import date

import numpy as np
import pytest

from benchmarks.synthetic import make_world
from matching.ranking.explain import explain, explain_ranked
from matching.ranking.features import FEATURES, Job, Pool, job_features
from matching.ranking.metrics import mean_ndcg, ndcg_at_k
from matching.ranking.model import PRIOR, LinearModel, TooFewDecisions, blend, rank_pool
from matching.ranking.training import baseline_scores, fit_pairwise, train

# What each named preference is about, in feature terms.
PLANTED = {
    "language_first": {"language_above", "language_below", "below_minimum"},
    "experience_first": {"experience_log"},
    "training_first": {"training"},
}


def world_data(preference, seed=1):
    world = make_world(800, 40, preference, seed=seed)
    return world, world.training_data()


def importance(model, X):
    """Weight × feature spread: how much each feature moves the score."""
    return dict(zip(FEATURES, np.abs(model.weights) * X.std(axis=0), strict=True))


@pytest.mark.parametrize("preference", sorted(PLANTED))
def test_planted_preference_is_learned(preference):
    _, (X, grades, groups) = world_data(preference)
    result = train(X, grades, groups)
    held = result.metrics["held_out"]
    learned = held["learned"]["ndcg@10"]
    assert learned >= 0.85
    assert learned >= held["baseline"]["ndcg@10"] + 0.15
    assert learned >= held["prior"]["ndcg@10"] + 0.15
    imp = importance(result.learned, X)
    top = max(imp, key=imp.get)
    assert top in PLANTED[preference], imp


def test_same_candidates_different_taste_different_ranking():
    # Same seed: same trainees, jobs and shown candidates; only the employers' taste differs.
    _, (X, g_lang, groups) = world_data("language_first")
    _, (X2, g_exp, groups2) = world_data("experience_first")
    np.testing.assert_array_equal(X, X2)
    lang = fit_pairwise(X, g_lang, groups)
    exp = fit_pairwise(X, g_exp, groups)
    assert mean_ndcg(lang.score(X), g_lang, groups, 10) > 0.85
    assert mean_ndcg(exp.score(X), g_exp, groups, 10) > 0.85
    assert mean_ndcg(lang.score(X), g_exp, groups, 10) < 0.7
    assert mean_ndcg(exp.score(X), g_lang, groups, 10) < 0.7


def test_never_shown_rows_are_missing_data_not_rejections():
    _, (X, grades, groups) = world_data("training_first")
    base = fit_pairwise(X, grades, groups)
    rng = np.random.default_rng(0)
    noise_X = rng.random((300, len(FEATURES))) * 3
    noise_groups = rng.choice(np.unique(groups), 300)
    noise_grades = np.where(rng.random(300) < 0.5, -1.0, np.nan)
    padded = fit_pairwise(np.vstack([X, noise_X]), np.concatenate([grades, noise_grades]),
                          np.concatenate([groups, noise_groups]))
    # Rows graded -1 or NaN take part in no pair and no scaling: the fit is unchanged.
    np.testing.assert_allclose(padded.weights, base.weights)
    assert padded.n_decisions == base.n_decisions == len(grades)


def test_too_few_decisions():
    _, (X, grades, groups) = world_data("language_first")
    few = np.isin(groups, np.unique(groups)[:3])
    with pytest.raises(TooFewDecisions, match="only 3 job order"):
        train(X[few], grades[few], groups[few])
    same = np.zeros_like(grades)  # every candidate rejected: nothing to compare
    with pytest.raises(TooFewDecisions, match="only 0 job order"):
        train(X, same, groups)
    with pytest.raises(TooFewDecisions, match="pair"):
        train(X, grades, groups, min_pairs=10**7)


def test_train_keeps_the_blend_or_the_better_learned_model():
    _, (X, grades, groups) = world_data("experience_first")
    # The prior weighs skills first: on an experience-first world the learned model alone
    # ranks held-out job orders better than any blend, so the decisions win.
    result = train(X, grades, groups)
    held = result.metrics["held_out"]
    assert held["learned"]["ndcg@10"] > held["blend"]["ndcg@10"]
    assert (result.model.kind, result.metrics["chosen"], result.model.alpha) == (
        "learned", "learned", 1.0)
    # Were the blend as good (a large prior weight can't be, here), it would be kept.
    forced = train(X, grades, groups, blend_k=1e-9)
    assert forced.model.kind == "blend" and forced.metrics["chosen"] == "blend"


def test_train_metrics_are_json_and_model_is_a_blend():
    _, (X, grades, groups) = world_data("skills_first")
    result = train(X, grades, groups)
    model = result.model
    assert model.kind == "blend" and result.learned.kind == "learned"
    assert model.alpha == pytest.approx(40 / 45)  # 40 labelled job orders, k = 5
    assert model.n_job_orders == 40 and model.n_decisions == 40 * 30
    assert model.trained_at and result.metrics["n_test_job_orders"] == 10
    assert set(result.metrics["held_out"]) == {"learned", "blend", "prior", "baseline"}
    again = LinearModel.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_allclose(again.weights, model.weights)
    assert (again.kind, again.alpha, again.features) == ("blend", model.alpha, FEATURES)
    assert again.metrics == model.metrics
    assert train(X, grades, groups, blend_k=0).model.kind == "learned"
    assert result.metrics["chosen"] == "blend"


def test_blend_alpha():
    learned = LinearModel(np.arange(len(FEATURES), dtype=float) - 5, kind="learned")
    half = blend(PRIOR, learned, 20, k=20)
    assert half.kind == "blend" and half.alpha == 0.5
    unit = lambda m: m.weights / np.linalg.norm(m.weights)  # noqa: E731
    np.testing.assert_allclose(half.weights, 0.5 * unit(PRIOR) + 0.5 * unit(learned))
    assert blend(PRIOR, learned, 180, k=20).alpha == pytest.approx(0.9)
    np.testing.assert_allclose(blend(PRIOR, learned, 0).weights, unit(PRIOR))


def test_prior_prefers_what_an_employer_asked_for():
    pool = Pool.from_records([
        {"id": 1, "field": "construction", "skills": {"rebar", "formwork"}, "language_rank": 2},
        {"id": 2, "field": "construction", "skills": set(), "language_rank": 2},
        {"id": 3, "field": "construction", "skills": {"rebar", "formwork"}, "language_rank": 1},
        {"id": 4, "field": "agriculture", "skills": {"rebar", "formwork"}, "language_rank": 2},
    ])
    job = Job(field="construction", required_skills=["rebar", "formwork"], min_language_rank=2)
    ranked = rank_pool(PRIOR, pool, job, k=4)
    # Out of field costs less than one level short of the minimum, which costs less than
    # having none of the required skills.
    assert ranked.ids.tolist() == [1, 4, 3, 2]
    assert ranked.X.shape == (4, len(FEATURES))
    np.testing.assert_allclose(ranked.scores, PRIOR.score(job_features(pool, job))[ranked.rows])


def test_contributions_and_explanation_sum_to_score():
    world, _ = world_data("language_first")
    pool = world.pool()
    _, (X, grades, groups) = world_data("language_first")
    model = train(X, grades, groups).model
    job = world.jobs[0]
    ranked = rank_pool(model, pool, job, k=10)
    full = model.score(job_features(pool, job))
    np.testing.assert_allclose(model.contributions(ranked.X).sum(axis=1) + model.bias,
                               full[ranked.rows], atol=1e-5)
    explanations = explain_ranked(model, pool, job, ranked)
    assert [e["trainee_id"] for e in explanations] == ranked.ids.tolist()
    for e, s in zip(explanations, ranked.scores, strict=True):
        total = e["bias"] + sum(c["contribution"] for c in e["contributions"])
        assert total == pytest.approx(e["score"], abs=1e-9)
        assert e["score"] == pytest.approx(float(s), abs=1e-5)
        sizes = [abs(c["contribution"]) for c in e["contributions"]]
        assert sizes == sorted(sizes, reverse=True) and e["kind"] == "blend"
    json.dumps(explanations)  # plain JSON types only


def test_explanation_facts():
    pool = Pool.from_records([{"id": 7, "field": "construction", "language_rank": 1,
                               "skills": {"rebar", "tiling", "welding"}}])
    job = Job(field="construction", required_skills=["rebar", "formwork"],
              preferred_skills=["tiling", "plastering"], min_language_rank=3,
              start_date=date(2026, 1, 1))
    X = job_features(pool, job)
    e = explain(PRIOR, X[0], job, pool.row_info(0))
    assert e["skills"] == {"matched_required": ["rebar"], "missing_required": ["formwork"],
                           "matched_preferred": ["tiling"]}
    assert e["language"] == {"trainee_rank": 1, "required_rank": 3, "gap": -2, "below": True}
    assert e["kind"] == "prior" and e["trainee_id"] == 7
    # Two levels short: -1.0 × 2 and the -2.0 flag are the largest terms.
    assert {c["feature"] for c in e["contributions"][:2]} == {"language_below", "below_minimum"}
    assert e["contributions"][0]["contribution"] == pytest.approx(-2.0)
    assert len(explain(PRIOR, X, job, [pool.row_info(0)])) == 1


def test_ndcg_by_hand():
    grades = np.array([3, 0, 1, 2])
    assert ndcg_at_k(np.array([4, 1, 2, 3]), grades, 10) == pytest.approx(1.0)
    dcg = 0 / 1 + 7 / math.log2(3) + 3 / 2 + 1 / math.log2(5)  # grades in order 0, 3, 2, 1
    ideal = 7 + 3 / math.log2(3) + 1 / 2
    assert ndcg_at_k(np.array([4, 5, 1, 2]), grades, 10) == pytest.approx(dcg / ideal)
    # @2: only the two first positions count.
    assert ndcg_at_k(np.array([4, 5, 1, 2]), grades, 2) == pytest.approx(
        (7 / math.log2(3)) / (7 + 3 / math.log2(3)))


def test_ndcg_ties_groups_and_missing_grades():
    # All tied: the expected DCG over every order, not whichever order the rows came in.
    tied = ndcg_at_k(np.zeros(2), np.array([1, 0]), 10)
    assert tied == pytest.approx((0.5 * 1 + 0.5 / math.log2(3)) / 1)
    assert ndcg_at_k(np.zeros(2), np.array([0, 1]), 10) == pytest.approx(tied)
    assert math.isnan(ndcg_at_k(np.array([1.0, 2.0]), np.array([0, 0]), 10))
    scores = np.array([1, 2, 3, 1, 2, 9.0, 5.0])
    grades = np.array([0, 0, 1, 1, 0, np.nan, -1])  # group 0 perfect, group 1 worst, 2 none
    groups = np.array([0, 0, 0, 1, 1, 1, 2])
    worst = (1 / math.log2(3)) / 1
    assert mean_ndcg(scores, grades, groups, 10) == pytest.approx((1 + worst) / 2)


def test_baseline_is_skill_overlap():
    X = np.zeros((2, len(FEATURES)))
    X[0, FEATURES.index("required_coverage")] = 1
    X[1, FEATURES.index("preferred_coverage")] = 1
    assert baseline_scores(X).tolist() == [1.0, 0.5]
