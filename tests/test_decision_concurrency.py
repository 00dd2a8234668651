"""Check-then-write decided by the database (issue 8, item 2), with real threads.

Each worker thread has its own app context, so its own session and database connection, as
two requests on two servers would. Every thread reads first, waits at a barrier until all
have read, then decides: on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from matching.extensions import db
from matching.models import Decision, Dispatch, JobOrder, Trainee, User
from matching.operations.decisions import DecisionError, HeadcountReached, record_decision
from matching.ranking.pool import clear_memory_cache
from tests.conftest import add_job_order, english


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture
def app_config():
    # Twenty sessions at once, each with its own connection: more than the default pool.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 25, "pool_pre_ping": True}}


@pytest.fixture
def make_job(make_org):
    def make(employer, n, **kw):
        values = dict(external_id=f"JO-RACE-{n}", employer_id=employer.organisation_id,
                      agency_id=make_org(kind="agency").id, title="Care worker",
                      field="nursing_care", headcount=1, status="open", visa_track="SSW1")
        values.update(kw)
        return add_job_order(**values)

    return make


def race(app, calls: list[tuple[int, int, int, str]]) -> list:
    """Each (user id, job id, trainee id, decision) in its own thread and session."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list = [None] * len(calls)

    def worker(index, user_id, job_id, trainee_id, decision):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                job = db.session.get(JobOrder, job_id)
                trainee = db.session.get(Trainee, trainee_id)
                barrier.wait()
                record_decision(job, trainee, decision, user)
                db.session.commit()  # as the request would, at its end
                results[index] = ("ok",)
            except HeadcountReached as exc:
                results[index] = ("headcount", english(exc.message))
            except DecisionError as exc:
                results[index] = ("refused", english(exc.message))
            except Exception as exc:  # reported to the test, which fails on it
                results[index] = ("error", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


def _ready():
    db.session.commit()
    db.session.close()  # the test's own session holds nothing while the threads run


def open_dispatches(trainee_id: int) -> list[Dispatch]:
    return db.session.scalars(sa.select(Dispatch).where(
        Dispatch.trainee_id == trainee_id,
        Dispatch.stage.not_in(("withdrawn", "denied", "early_return", "completed")))).all()


@pytest.mark.parametrize("attempt", range(2))
def test_two_employers_select_the_same_worker_at_once(app, make_user, make_job, make_trainee,
                                                      attempt):
    employers = [make_user(role="employer"), make_user(role="employer")]
    jobs = [make_job(e, n=f"{attempt}-{i}") for i, e in enumerate(employers)]
    worker = make_trainee(field="nursing_care")
    worker_id = worker.id
    calls = [(e.id, j.id, worker_id, "selected") for e, j in zip(employers, jobs, strict=True)]
    _ready()
    results = race(app, calls)
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
    loser = next(r for r in results if r[0] == "refused")
    assert "no longer available" in loser[1]
    assert len(open_dispatches(worker_id)) == 1
    assert db.session.get(Trainee, worker_id).status == "in_process"


def test_ten_selections_at_once_on_a_headcount_of_one(app, make_user, make_job, make_trainee):
    employer = make_user(role="employer")
    job = make_job(employer, n="hc")
    workers = [make_trainee(field="nursing_care") for _ in range(10)]
    job_id, employer_id = job.id, employer.id
    calls = [(employer_id, job_id, w.id, "selected") for w in workers]
    _ready()
    results = race(app, calls)
    assert sorted(r[0] for r in results) == ["headcount"] * 9 + ["ok"], results
    assert all("already has 1 selected for a headcount of 1" in r[1]
               for r in results if r[0] == "headcount")
    selected = db.session.scalars(sa.select(Decision).where(
        Decision.job_order_id == job_id, Decision.decision == "selected")).all()
    assert len(selected) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dispatch).where(
        Dispatch.job_order_id == job_id)) == 1
    assert db.session.get(JobOrder, job_id).status == "filled"


def test_twenty_identical_decisions_at_once_write_one_row(app, make_user, make_job,
                                                          make_trainee):
    employer = make_user(role="employer")
    job = make_job(employer, n="rep", headcount=3)
    worker = make_trainee(field="nursing_care")
    job_id, worker_id, employer_id = job.id, worker.id, employer.id
    _ready()
    results = race(app, [(employer_id, job_id, worker_id, "shortlisted")] * 20)
    assert [r[0] for r in results] == ["ok"] * 20, results
    rows = db.session.scalars(sa.select(Decision).where(Decision.job_order_id == job_id)).all()
    assert [(r.trainee_id, r.decision) for r in rows] == [(worker_id, "shortlisted")]


def test_the_database_refuses_a_second_open_dispatch(app, make_user, make_job, make_trainee):
    """The partial unique index is the last word, even for a write that skipped the checks."""
    employer = make_user(role="employer")
    first, second = make_job(employer, n="db1"), make_job(employer, n="db2")
    worker = make_trainee(field="nursing_care")
    db.session.add(Dispatch(job_order_id=first.id, trainee_id=worker.id, stage="training"))
    db.session.commit()
    db.session.add(Dispatch(job_order_id=second.id, trainee_id=worker.id, stage="selected"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # An ended dispatch does not count: the worker can be dispatched again.
    db.session.execute(sa.update(Dispatch).where(Dispatch.trainee_id == worker.id)
                       .values(stage="withdrawn"))
    db.session.add(Dispatch(job_order_id=second.id, trainee_id=worker.id, stage="selected"))
    db.session.commit()
    assert len(open_dispatches(worker.id)) == 1
