"""No lost update: two sessions moving the same dispatch from the same version.

Real concurrency: two threads, each with its own app context (so its own session and
database connection), both read version 1, then both move. Exactly one commits; the other
gets ``StaleDispatch`` and writes nothing. Run on SQLite and, with TEST_DATABASE_URL, on
PostgreSQL.
"""

import threading

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Dispatch, StatusEvent, User
from matching.operations.dispatch import StaleDispatch, move_dispatch
from tests.conftest import add_all_documents, open_dispatch


@pytest.fixture
def setup(make_org, make_trainee, make_user):
    def make(stage):
        agency = make_org(kind="agency")
        dispatch = open_dispatch(make_org, make_trainee, stage=stage, agency=agency)
        add_all_documents(dispatch)
        users = [make_user(role="agency", org=agency), make_user(role="admin")]
        ids = dispatch.id, [u.id for u in users]
        db.session.commit()
        db.session.close()  # the test's own session holds nothing while the threads run
        return ids

    return make


def race(app, dispatch_id: int, moves: list[tuple[int, str]]) -> list:
    """Each (user id, target stage) in its own thread and session, from the same version."""
    barrier = threading.Barrier(len(moves), timeout=30)
    results: list = [None] * len(moves)

    def worker(index: int, user_id: int, target: str) -> None:
        with app.app_context():
            try:
                dispatch = db.session.get(Dispatch, dispatch_id)
                user = db.session.get(User, user_id)
                version = dispatch.version
                barrier.wait()  # both have read the same version before either writes
                move_dispatch(dispatch, target, user, expected_version=version)
                db.session.commit()  # as the request would, at its end
                results[index] = ("moved", target, version)
            except StaleDispatch as exc:
                results[index] = ("stale", exc.current_stage, exc.current_version,
                                  str(exc.message))
            except Exception as exc:  # reported to the test thread, which fails on it
                results[index] = ("error", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, user_id, target))
               for i, (user_id, target) in enumerate(moves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_moves_one_wins(app, setup, attempt):
    dispatch_id, (agent_id, admin_id) = setup("selected")
    results = race(app, dispatch_id, [(agent_id, "contracted"), (admin_id, "contracted")])
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["moved", "stale"], results
    stale = next(r for r in results if r[0] == "stale")
    assert stale[1:3] == ("contracted", 2)
    assert "it is now at stage Contract signed" in stale[3]
    events = db.session.scalars(sa.select(StatusEvent).where(
        StatusEvent.dispatch_id == dispatch_id).order_by(StatusEvent.id)).all()
    assert [e.to_stage for e in events] == ["selected", "contracted"]
    dispatch = db.session.get(Dispatch, dispatch_id)
    assert (dispatch.stage, dispatch.version) == ("contracted", 2)


def test_two_different_moves_that_change_the_trainee(app, setup):
    """One completes, the other marks an early return: the trainee row is written by both
    attempts before the dispatch row; the loser's whole transaction is rolled back."""
    dispatch_id, (agent_id, admin_id) = setup("deployed")
    results = race(app, dispatch_id, [(agent_id, "completed"), (admin_id, "early_return")])
    assert sorted(r[0] for r in results) == ["moved", "stale"], results
    winner = next(r for r in results if r[0] == "moved")[1]
    stages = db.session.scalars(sa.select(StatusEvent.to_stage).where(
        StatusEvent.dispatch_id == dispatch_id).order_by(StatusEvent.id)).all()
    assert stages == ["selected", winner]
    dispatch = db.session.get(Dispatch, dispatch_id)
    assert dispatch.stage == winner and dispatch.trainee.status == "returned"


def test_a_move_that_lost_the_race_in_the_database_is_refused(app, setup):
    """The form's version was current when checked, but another session committed before
    our UPDATE: the version in the UPDATE matches no row, nothing of ours is written."""
    dispatch_id, (agent_id, admin_id) = setup("selected")
    dispatch = db.session.get(Dispatch, dispatch_id)
    agent = db.session.get(User, agent_id)
    assert dispatch.version == 1
    with app.app_context():  # another user's request, in its own session
        other = db.session.get(Dispatch, dispatch_id)
        move_dispatch(other, "withdrawn", db.session.get(User, admin_id), expected_version=1)
        db.session.commit()  # as that request would, at its end
        db.session.remove()
    with pytest.raises(StaleDispatch) as stale:
        move_dispatch(dispatch, "contracted", agent, expected_version=1)
    assert (stale.value.current_stage, stale.value.current_version) == ("withdrawn", 2)
    assert "it is now at stage Withdrawn" in str(stale.value.message)
    assert dispatch.stage == "withdrawn"  # reloaded: the page shows what really happened
    stages = db.session.scalars(sa.select(StatusEvent.to_stage).where(
        StatusEvent.dispatch_id == dispatch_id).order_by(StatusEvent.id)).all()
    assert stages == ["selected", "withdrawn"]
