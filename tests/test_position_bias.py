"""Position bias: candidates shown and passed over train as weak negatives, weighted by the
chance the employer examined their card; never-shown candidates stay missing data."""

from datetime import datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from benchmarks.bench_cli import insert_world
from benchmarks.synthetic import make_world
from matching.extensions import db
from matching.models import Decision, Impression, JobOrder
from matching.ranking.features import FEATURES
from matching.ranking.model import PRIOR
from matching.ranking.pool import clear_memory_cache
from matching.ranking.service import (
    PASSED_OVER_WEIGHT,
    model_store,
    passed_over,
    propensity,
    training_data,
)
from matching.ranking.training import decision_matrix, fit_pairwise, train

T0 = datetime(2026, 3, 1, 9, 0)
TRAINING = FEATURES.index("training")
EXPERIENCE = FEATURES.index("experience_log")


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


# -- propensity and weights in the model --------------------------------------------------------


def test_propensity_is_one_over_rank_and_one_when_opened():
    np.testing.assert_allclose(propensity([1, 2, 4, 10, 50]), [1, 0.5, 0.25, 0.1, 0.02])
    np.testing.assert_allclose(propensity([1, 50, 50], [False, True, False]), [1, 1, 0.02])
    assert propensity(0) == 1.0  # a nonsense rank never weighs more than the top card
    assert PASSED_OVER_WEIGHT * propensity(1) < 1  # weaker than an explicit rejection


def small_world(seed=0):
    """8 job orders, 6 decided candidates each: employers shortlist by experience first and
    like a little training too; the other 4 of each job order are rejected."""
    rng = np.random.default_rng(seed)
    X = np.zeros((48, len(FEATURES)))
    X[:, EXPERIENCE], X[:, TRAINING] = rng.random(48), rng.random(48)
    groups = np.repeat(np.arange(8), 6)
    utility = 2 * X[:, EXPERIENCE] + 0.5 * X[:, TRAINING] + 0.3 * rng.standard_normal(48)
    grades = np.zeros(48)
    for g in range(8):
        rows = np.flatnonzero(groups == g)
        grades[rows[np.argsort(-utility[rows])[:2]]] = 1
    return X, grades, groups


def with_passed_over(X, grades, groups, rank):
    """Four cards per job order as experienced as the shortlisted ones and with more
    training, shown at ``rank`` and passed over: the employer did not want the training."""
    rng = np.random.default_rng(1)
    P = np.zeros((32, len(FEATURES)))
    P[:, TRAINING], P[:, EXPERIENCE] = 0.9 + 0.1 * rng.random(32), 0.8
    weights = np.concatenate([np.ones(len(grades)),
                              np.full(32, PASSED_OVER_WEIGHT * propensity(rank))])
    return (np.vstack([X, P]), np.concatenate([grades, np.zeros(32)]),
            np.concatenate([groups, np.repeat(np.arange(8), 4)]), weights)


def test_passed_over_weight_reaches_the_classifier():
    X, grades, groups = small_world()
    base = fit_pairwise(X, grades, groups)
    assert base.weights[TRAINING] > 0.3
    # Without weights (or with ones) the fit is exactly what it always was.
    np.testing.assert_array_equal(
        fit_pairwise(X, grades, groups, weights=np.ones(len(grades))).weights, base.weights)

    # Passed over at the top of the list: examined, not wanted. Training is not liked.
    high = with_passed_over(X, grades, groups, rank=1)
    top = fit_pairwise(*high[:3], weights=high[3])
    assert top.weights[TRAINING] < -0.5
    # The same cards at rank 50 were probably never looked at: the weight barely moves.
    deep = with_passed_over(X, grades, groups, rank=50)
    far = fit_pairwise(*deep[:3], weights=deep[3])
    shift = abs(top.weights[TRAINING] - base.weights[TRAINING])
    assert abs(far.weights[TRAINING] - base.weights[TRAINING]) < 0.1 * shift
    assert far.weights[TRAINING] > 0.5 * base.weights[TRAINING]
    # The same rows unweighted would count as plain rejections and flip it too.
    assert fit_pairwise(*deep[:3]).weights[TRAINING] < 0


def test_a_zero_weight_row_takes_part_in_nothing():
    X, grades, groups = small_world()
    big, g, grp, w = with_passed_over(X, grades, groups, rank=1)
    w[len(grades):] = 0
    np.testing.assert_array_equal(fit_pairwise(big, g, grp, weights=w).weights,
                                  fit_pairwise(X, grades, groups).weights)


def test_decision_matrix_carries_weights_of_kept_rows(app):
    world = make_world(40, 2, seed=3, decisions_per_job=5)
    pool = world.pool()
    decisions = world.decisions + [(0, 10**6, 0)]  # a trainee not in the pool: skipped
    weights = np.arange(len(decisions), dtype=float) + 1
    X, grades, groups, kept = decision_matrix(pool, world.jobs, decisions, weights=weights)
    X0, grades0, groups0 = decision_matrix(pool, world.jobs, world.decisions)
    np.testing.assert_array_equal(X, X0)
    assert grades.tolist() == grades0.tolist() and groups.tolist() == groups0.tolist()
    assert kept.tolist() == weights[:-1].tolist()  # make_world lists job 0 first
    with pytest.raises(ValueError, match="one weight per decision"):
        decision_matrix(pool, world.jobs, decisions, weights=[1.0])


# -- train: implicit rows train, decisions measure ----------------------------------------------


def test_held_out_metrics_ignore_implicit_rows():
    world = make_world(300, 12, "experience_first", seed=0)
    X, grades, groups = world.training_data()
    # Copies of every job order's selected candidates, passed over at rank 1: were they
    # evaluated as grade 0 they would tie with the selected rows and pull every NDCG down.
    best = np.flatnonzero(grades == 3)
    Xi = np.vstack([X, X[best]])
    gi = np.concatenate([grades, np.zeros(len(best))])
    groups_i = np.concatenate([groups, groups[best]])
    # One more job order whose decisions are all "shortlisted": only passed-over rows give
    # it pairs. It trains but is neither labelled nor ever held out.
    extra = np.flatnonzero(groups == 0)[:6]
    Xi = np.vstack([Xi, X[extra]])
    gi = np.concatenate([gi, [1, 1, 1, 0, 0, 0]])
    groups_i = np.concatenate([groups_i, np.full(6, 99)])
    implicit = np.zeros(len(gi), dtype=bool)
    implicit[len(grades):] = True
    implicit[-6:-3] = False  # the three shortlisted decisions are explicit
    weights = np.where(implicit, PASSED_OVER_WEIGHT, 1.0)

    plain = train(X, grades, groups)
    mixed = train(Xi, gi, groups_i, weights=weights, implicit=implicit)
    for key in ("prior", "baseline"):
        assert mixed.metrics["held_out"][key] == plain.metrics["held_out"][key]
    for key in ("n_decisions", "n_job_orders", "n_pairs", "n_train_job_orders",
                "n_test_job_orders"):
        assert mixed.metrics[key] == plain.metrics[key], key
    assert (mixed.learned.n_decisions, mixed.learned.n_job_orders) == (360, 12)
    assert mixed.metrics["n_implicit"] == len(best) + 3 and plain.metrics["n_implicit"] == 0
    assert not np.allclose(mixed.learned.weights, plain.learned.weights)
    # Evaluated as rejections, the copies would have cost the prior some NDCG.
    as_explicit = train(Xi, gi, groups_i)
    assert as_explicit.metrics["held_out"]["prior"] != plain.metrics["held_out"]["prior"]


# -- the database: which impressions become rows ----------------------------------------------


@pytest.fixture
def employer(make_user):
    return make_user(role="employer")


@pytest.fixture
def make_job(employer):
    def make(n):
        job = JobOrder(external_id=f"JO-PB-{n}", employer_id=employer.organisation_id,
                       title="Carpenter", field="construction", required_skills="carpentry",
                       min_language_level="N5", min_language_rank=1)
        db.session.add(job)
        db.session.commit()
        return job

    return make


def shown(job, trainee, rank, at, user, opened=False):
    db.session.add(Impression(job_order_id=job.id, trainee_id=trainee.id, user_id=user.id,
                              rank=rank, score=1.0, shown_at=at,
                              opened_at=at + timedelta(minutes=1) if opened else None))


def decided(job, trainee, decision, at):
    db.session.add(Decision(job_order_id=job.id, trainee_id=trainee.id, decision=decision,
                            decided_at=at))


def test_passed_over_needs_a_later_decision_on_the_job_order(employer, make_job, make_trainee):
    looked, waiting, untouched = make_job(1), make_job(2), make_job(3)
    a, b, c, d, e, f, never = (make_trainee(experience_years=y) for y in range(7))
    hour = timedelta(hours=1)
    # Job order 1: the employer saw a..e, shortlisted a, then came back later.
    for rank, trainee in enumerate((a, b, c, d), start=1):
        shown(looked, trainee, rank, T0, employer)
    shown(looked, e, 9, T0, employer)
    shown(looked, e, 5, T0 + 3 * hour, employer)  # after every decision: proves nothing
    shown(looked, d, 8, T0 + 2 * hour, employer, opened=True)  # opened, then decided on a
    decided(looked, a, "shortlisted", T0 + hour)
    decided(looked, a, "rejected", T0 + 2.5 * hour)
    decided(looked, c, "rejected", T0 + 2.5 * hour)  # c was shown and decided: explicit
    # Job order 2: shown, and the only decision came before the cards were shown.
    decided(waiting, f, "selected", T0 - hour)
    shown(waiting, b, 1, T0, employer)
    # Job order 3: shown, no decision at all.
    shown(untouched, b, 1, T0, employer)
    db.session.commit()

    assert passed_over() == [(looked.id, b.id, 2, False), (looked.id, d.id, 4, True),
                             (looked.id, e.id, 9, False)]

    data = training_data()
    assert (data.n_decisions, data.n_job_orders) == (3, 2)  # latest per pair: a, c, f
    assert data.implicit.tolist() == [False] * 3 + [True] * 3
    assert data.grades.tolist() == [0, 0, 3, 0, 0, 0]
    # b at rank 2, d opened (examined, whatever its rank), e at rank 9; never-shown trainees
    # (f on job order 1, `never` anywhere) are no rows at all.
    np.testing.assert_allclose(data.weights, [1, 1, 1, PASSED_OVER_WEIGHT / 2,
                                              PASSED_OVER_WEIGHT, PASSED_OVER_WEIGHT / 9])
    experience = np.expm1(data.X[:, EXPERIENCE])
    np.testing.assert_allclose(experience[3:], [b.experience_years, d.experience_years,
                                                e.experience_years], atol=1e-5)
    assert never.experience_years not in np.round(experience, 3).tolist()


def test_trainees_without_consent_are_not_rows(employer, make_job, make_trainee):
    job = make_job(1)
    yes, no, chosen = make_trainee(), make_trainee(consent=False), make_trainee()
    shown(job, yes, 2, T0, employer)
    shown(job, no, 3, T0, employer)
    decided(job, chosen, "selected", T0 + timedelta(hours=1))
    db.session.commit()
    assert [row[1] for row in passed_over()] == [yes.id, no.id]
    data = training_data()
    assert data.implicit.tolist() == [False, True]
    np.testing.assert_allclose(data.weights, [1, PASSED_OVER_WEIGHT / 2])


# -- the CLI ------------------------------------------------------------------------------------


def test_model_train_uses_passed_over_candidates(runner, app):
    world = make_world(300, 12, "experience_first", seed=0)
    db_id = insert_world(world.arrays, world.jobs, world.decisions)
    decided_at = db.session.scalar(sa.select(sa.func.min(Decision.decided_at)))
    job_ids = dict(db.session.execute(sa.select(JobOrder.external_id, JobOrder.id)).all())
    decided_pairs = {(j, t) for j, t, _ in world.decisions}
    rows = []
    for j, job in enumerate(world.jobs):
        undecided = [t for t in sorted(db_id) if (j, t) not in decided_pairs][:15]
        for rank, t in enumerate(undecided, start=1):
            # The first ten were shown before the decisions; the last five after them.
            at = decided_at - timedelta(days=1) if rank <= 10 else decided_at + timedelta(1)
            rows.append({"job_order_id": job_ids[job.external_id], "trainee_id": db_id[t],
                         "rank": rank, "score": 0.0, "shown_at": at})
    db.session.execute(sa.insert(Impression), rows)
    db.session.commit()

    result = runner.invoke(args=["model", "train"])
    assert result.exit_code == 0, result.output
    assert "decisions used: 360 on 12 labelled job orders" in result.output
    assert "and 120 shown-but-passed-over candidates (weighted by position)" in result.output
    assert "stored version 1: " in result.output
    stored = model_store().load(1)
    assert (stored.n_decisions, stored.n_job_orders) == (360, 12)
    assert stored.metrics["n_implicit"] == 120
    # Decisions alone measure: the prior's held-out figures are those without impressions.
    plain = train(*world.training_data()).metrics["held_out"]
    assert stored.metrics["held_out"]["prior"] == plain["prior"]
    assert stored.metrics["held_out"]["baseline"] == plain["baseline"]
    assert stored.compatible() and not np.allclose(stored.weights, PRIOR.weights)
