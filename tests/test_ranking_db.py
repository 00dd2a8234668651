"""The ranking pool from the database: who is in it, its caches, and training data."""

from datetime import date, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Decision, JobOrder, Skill, Trainee
from matching.operations.imports.trainees import import_trainees
from matching.operations.registry import update_trainee
from matching.operations.skills import ensure_skill_ids
from matching.ranking import pool as pool_module
from matching.ranking.features import Pool, job_features
from matching.ranking.model import PRIOR, LinearModel
from matching.ranking.pool import (
    cache_dir,
    cache_key,
    clear_memory_cache,
    load_pool,
    load_training_pool,
    read_pool,
)
from matching.ranking.service import (
    NotEnoughDecisions,
    current_model,
    job_for,
    latest_decisions,
    model_store,
    rank_job,
    train_model,
)


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    clear_memory_cache()  # tests share one database URL: never reuse another test's pool
    yield
    clear_memory_cache()


@pytest.fixture
def skills(app):
    def get(*slugs):
        ids = ensure_skill_ids(slugs)
        db.session.commit()
        return [db.session.get(Skill, ids[s]) for s in slugs]

    return get


@pytest.fixture
def job_order(app, make_org):
    def make(**kw):
        values = dict(external_id=f"JO-{len(kw)}-{datetime.now().timestamp()}",
                      employer=make_org(kind="employer"), title="Welders for Aichi",
                      field="manufacturing", required_skills="welding;forklift",
                      preferred_skills="first-aid", min_language_level="N4",
                      min_language_rank=2, prefecture="aichi", start_date=date(2026, 6, 1))
        values.update(kw)
        order = JobOrder(**values)
        db.session.add(order)
        db.session.commit()
        return order

    return make


def pool_ids(pool: Pool) -> set[int]:
    return {int(i) for i in pool.ids}


def cache_files():
    return sorted(p.name for p in cache_dir().glob("pool-*.npz"))


def assert_same_pool(a: Pool, b: Pool) -> None:
    assert list(a.ids) == list(b.ids)
    for row in range(len(a)):
        assert a.row_info(row) == b.row_info(row)
    for name in ("field", "language_rank", "experience_years", "training_hours",
                 "available_day"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_pool_holds_available_consenting_trainees_with_their_data(make_trainee, skills):
    shown = make_trainee(field="manufacturing", skills=skills("welding", "forklift"),
                         language_rank=3, experience_years=2.5, training_hours=400,
                         preferred_prefectures="aichi;osaka", available_from=date(2026, 3, 1))
    plain = make_trainee()
    hidden = [make_trainee(status=s, skills=skills("welding"))
              for s in ("in_process", "deployed", "withdrawn", "returned")]
    hidden.append(make_trainee(consent=False, skills=skills("welding")))
    pool = load_pool()
    assert pool_ids(pool) == {shown.id, plain.id}
    assert not pool_ids(pool) & {t.id for t in hidden}
    # The set-based loader agrees with the one-record-at-a-time reference builder.
    reference = Pool.from_records([
        {"id": t.id, "field": t.field, "skills": t.skill_slugs, "language_rank": t.language_rank,
         "experience_years": t.experience_years, "training_hours": t.training_hours,
         "preferred_prefectures": t.prefecture_codes, "available_from": t.available_from}
        for t in (shown, plain)])
    assert_same_pool(pool, reference)
    info = pool.row_info(int(pool.rows_for([shown.id])[0]))
    assert info["skills"] == {"welding", "forklift"}
    assert info["preferred_prefectures"] == {"aichi", "osaka"}


def test_ranking_leaves_out_unavailable_and_non_consenting(make_trainee, skills, job_order):
    good = make_trainee(field="manufacturing", skills=skills("welding", "forklift"))
    weaker = make_trainee(field="construction")
    for status in ("in_process", "deployed", "withdrawn"):
        make_trainee(field="manufacturing", skills=skills("welding", "forklift"), status=status)
    make_trainee(field="manufacturing", skills=skills("welding", "forklift"), consent=False)
    ranked = rank_job(job_order(), top=10)
    assert [r["trainee_id"] for r in ranked] == [good.id, weaker.id]
    assert [r["rank"] for r in ranked] == [1, 2]
    assert ranked[0]["external_id"] == good.external_id
    assert ranked[0]["province"] == good.province
    assert ranked[0]["explanation"]["kind"] == "prior"
    assert ranked[0]["explanation"]["model_version"] is None
    assert ranked[1]["explanation"]["skills"]["missing_required"] == ["welding", "forklift"]


def test_cache_is_reused_from_memory_then_from_disk(make_trainee, skills, count_queries):
    make_trainee(skills=skills("welding"))
    make_trainee(skills=skills("forklift", "welding"))
    built = load_pool()
    assert cache_files() == [f"pool-{cache_key()}.npz"]
    with count_queries() as queries:
        assert load_pool() is built
    assert queries[0] == 1  # the registry version only
    clear_memory_cache()  # as a new process would start
    with count_queries() as queries:
        from_disk = load_pool()
    assert queries[0] == 1  # the version, then the .npz: no trainee row read
    assert from_disk is not built
    assert_same_pool(from_disk, built)


def test_disk_cache_round_trips_exactly(make_trainee, skills):
    for i in range(6):
        make_trainee(skills=skills(*["welding", "forklift", "first-aid"][: i % 4]),
                     field=["manufacturing", "construction"][i % 2], language_rank=i % 5,
                     experience_years=i * 0.5, training_hours=100 * i,
                     preferred_prefectures=["", "aichi", "tokyo;osaka"][i % 3],
                     available_from=None if i % 2 else date(2026, 1, i + 1))
    built = load_pool(use_cache=False)
    load_pool()
    loaded = read_pool(cache_dir() / f"pool-{cache_key()}.npz")
    assert_same_pool(loaded, built)
    assert loaded.skill_index == built.skill_index
    assert (loaded.skills != built.skills).nnz == 0
    assert (loaded.prefectures != built.prefectures).nnz == 0


def test_an_unreadable_cache_file_is_rebuilt(make_trainee):
    trainee = make_trainee()
    path = cache_dir() / f"pool-{cache_key()}.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a zip file")
    assert pool_ids(load_pool()) == {trainee.id}
    assert read_pool(path) is not None  # rewritten


def _edit_skills(trainee, user):
    update_trainee(trainee, {"skills": "welding;scaffolding"}, user)  # same count, new skill
    db.session.commit()


def _set_status(trainee, _user):
    trainee.status = "in_process"
    db.session.commit()


def _withdraw_consent(trainee, _user):
    trainee.consent = False
    db.session.commit()


def _change_experience(trainee, _user):
    trainee.experience_years = 7
    db.session.commit()


def _reimport(trainee, _user):
    result = import_trainees([{
        "external_id": trainee.external_id, "full_name": trainee.full_name,
        "date_of_birth": "2000-01-01", "province": trainee.province, "field": "construction",
        "japanese_level": "N3", "skills": "welding;forklift"}])
    db.session.commit()
    assert result.ok and result.updated == 1


def _delete(trainee, _user):
    db.session.delete(trainee)
    db.session.commit()


@pytest.fixture
def rows_read(monkeypatch):
    """Trainee rows each ``build_pool`` call read, in order (the pool's only row reads)."""
    calls: list[int] = []
    real = pool_module.build_pool

    def counting(where):
        pool = real(where)
        calls.append(len(pool))
        return pool

    monkeypatch.setattr(pool_module, "build_pool", counting)
    return calls


@pytest.mark.parametrize("change", [_edit_skills, _set_status, _withdraw_consent,
                                    _change_experience, _reimport, _delete])
def test_any_change_to_a_trainee_reaches_the_pool(change, make_trainee, make_user, skills,
                                                  rows_read):
    admin = make_user(role="admin")
    trainee = make_trainee(skills=skills("welding", "forklift"))
    update_trainee(trainee, {"skills": "welding;forklift"}, admin)  # now last edited by admin
    db.session.commit()
    others = {make_trainee(skills=skills("welding")).id for _ in range(5)}
    before = load_pool()
    assert rows_read == [6]  # a cold start reads the pool once
    change(trainee, admin)
    after = load_pool()
    assert after is not before
    if change is _delete:
        assert rows_read[1:] == [5]  # a deletion cannot be a delta: rebuilt whole
    else:
        # Only the changed trainee's row is read, whether it stays in the pool or leaves.
        assert rows_read[1:] == [0 if change in (_set_status, _withdraw_consent) else 1]
    row = after.rows_for([trainee.id])[0]
    if change in (_set_status, _withdraw_consent, _delete):
        assert pool_ids(after) == others
    elif change is _edit_skills:
        assert after.row_info(int(row))["skills"] == {"welding", "scaffolding"}
    elif change is _change_experience:
        assert after.experience_years[row] == 7
    else:
        assert after.row_info(int(row))["language_rank"] == 3
    assert_same_pool(after, load_pool(use_cache=False))


def test_a_new_trainee_joins_the_pool_by_itself(make_trainee, rows_read):
    for _ in range(4):
        make_trainee()
    before = load_pool()
    newcomer = make_trainee()
    after = load_pool()
    assert newcomer.id in pool_ids(after) and newcomer.id not in pool_ids(before)
    assert rows_read == [4, 1]


def test_threads_asking_at_once_after_a_change_refresh_the_pool_once(
        app, make_trainee, rows_read, monkeypatch):
    """Every thread of a web worker asks for the pool on its next page after a
    registration: one reads the changed row and merges it, the others wait and share it."""
    import threading
    import time

    for _ in range(4):
        make_trainee()
    load_pool()
    newcomer = make_trainee()
    real_merge = pool_module.merge_pools

    def slow_merge(*args):
        time.sleep(0.2)  # long enough for every thread to arrive while it merges
        return real_merge(*args)

    monkeypatch.setattr(pool_module, "merge_pools", slow_merge)
    start, pools, errors = threading.Barrier(4), [], []

    def page():
        try:
            with app.app_context():
                start.wait()
                pools.append(load_pool())
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=page) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert rows_read == [4, 1]  # the newcomer's row, read once for all four threads
    assert len(pools) == 4 and all(pool is pools[0] for pool in pools)
    assert newcomer.id in pool_ids(pools[0])


def test_checking_the_cache_is_one_query_whatever_the_registry(make_trainee, count_queries):
    for _ in range(30):
        make_trainee()
    load_pool()
    with count_queries() as queries:
        for _ in range(5):
            load_pool()
    assert queries[0] == 5  # one primary-key read each: no aggregate over the registry


def test_random_edits_give_the_same_pool_as_a_fresh_build(make_trainee, make_user, skills,
                                                          job_order):
    """Deltas applied one after another equal a pool built from scratch."""
    rng = np.random.default_rng(7)
    admin = make_user(role="admin")
    vocabulary = ["welding", "forklift", "first-aid", "scaffolding", "haccp", "packaging"]
    skills(*vocabulary)
    people = [make_trainee(skills=skills(*rng.choice(vocabulary, 2, replace=False)),
                           field=str(rng.choice(["manufacturing", "construction"])))
              for _ in range(12)]
    load_pool()
    for step in range(25):
        trainee = people[int(rng.integers(len(people)))]
        action = step % 5
        if action == 0:
            update_trainee(trainee, {"skills": ";".join(rng.choice(vocabulary, 3,
                                                                   replace=False))}, admin)
        elif action == 1:
            trainee.status = str(rng.choice(["available", "in_process", "withdrawn"]))
        elif action == 2:
            trainee.consent = bool(rng.integers(2))
        elif action == 3:
            trainee.language_rank = int(rng.integers(6))
            trainee.preferred_prefectures = str(rng.choice(["", "aichi", "tokyo;osaka"]))
        else:
            people.append(make_trainee(skills=skills(str(rng.choice(vocabulary))),
                                       experience_years=float(rng.integers(5))))
        db.session.commit()
        if step % 3 == 0:
            cached = load_pool()
            fresh = load_pool(use_cache=False)
            assert_same_pool(cached, fresh)  # row by row, skills included
            spec = job_for(job_order(required_skills="welding;haccp"))
            np.testing.assert_array_equal(PRIOR.score(job_features(cached, spec)),
                                          PRIOR.score(job_features(fresh, spec)))
    clear_memory_cache()  # a new process: the disk file of an older version, then the delta
    assert_same_pool(load_pool(), load_pool(use_cache=False))


def test_a_read_only_cache_folder_still_ranks(make_trainee, monkeypatch):
    trainee = make_trainee()

    def refuse(*_args):
        raise PermissionError("read-only")

    monkeypatch.setattr(pool_module, "write_pool", refuse)
    assert pool_ids(load_pool()) == {trainee.id}


# -- training data -------------------------------------------------------------------------


def test_latest_decision_per_pair_counts(make_trainee, job_order):
    order = job_order()
    a, b = make_trainee(), make_trainee()
    db.session.add_all([
        Decision(job_order=order, trainee=a, decision="shortlisted",
                 decided_at=datetime(2026, 1, 1)),
        Decision(job_order=order, trainee=a, decision="selected",
                 decided_at=datetime(2026, 2, 1)),
        # Imported late but decided earlier: not the latest.
        Decision(job_order=order, trainee=a, decision="rejected",
                 decided_at=datetime(2025, 12, 1)),
        Decision(job_order=order, trainee=b, decision="interviewed",
                 decided_at=datetime(2026, 1, 5)),
    ])
    db.session.commit()
    assert sorted(latest_decisions()) == sorted([(order.id, a.id, "selected"),
                                                 (order.id, b.id, "interviewed")])


def test_training_pool_keeps_decided_trainees_whatever_their_status(make_trainee, job_order):
    order = job_order()
    deployed = make_trainee(status="deployed")
    available = make_trainee()
    no_consent = make_trainee(consent=False)
    make_trainee()  # never decided on: not needed for training
    for trainee in (deployed, available, no_consent):
        db.session.add(Decision(job_order=order, trainee=trainee, decision="rejected"))
    db.session.commit()
    assert pool_ids(load_training_pool()) == {deployed.id, available.id}


def test_too_few_decisions_store_nothing(make_trainee, job_order):
    order = job_order()
    db.session.add_all([Decision(job_order=order, trainee=make_trainee(), decision=d)
                        for d in ("selected", "rejected", "rejected")])
    db.session.commit()
    with pytest.raises(NotEnoughDecisions) as refused:
        train_model()
    assert str(refused.value) == ("too few decisions: 1 labelled job orders, need at least 5 "
                                  "— keeping the prior")
    assert model_store().latest_version() is None
    assert current_model().version is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Trainee)) == 3


def test_an_empty_registry_ranks_nobody(job_order):
    order = job_order()
    assert rank_job(order) == []
    clear_memory_cache()
    assert len(load_pool()) == 0  # and the empty pool round-trips through the disk cache


def test_a_stored_model_for_other_features_falls_back_to_the_prior(app):
    store = model_store()
    store.save(LinearModel(np.ones(2), features=("a", "b"), kind="learned"))
    choice = current_model()
    assert choice.model is PRIOR and choice.version is None
    assert choice.describe() == ("expert prior (stored version 1 was trained on other "
                                 "features; train again)")
