"""Background tasks (issue 11 §4 and the task parts of §8): large imports, model training,
the fairness report and the daily expiry scan run as tasks whose row is the truth for
their page; a failure writes nothing and says why, and a failed or abandoned task can be
retried.

Without ``REDIS_URL`` tasks run inline (``make run``); the tests marked ``redis`` run them
on the machine's Redis (database 7, a queue of their own, their keys removed afterwards)
with a real RQ worker, in this process or as the ``jobs worker`` command.
"""

import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matching import background
from matching.extensions import db
from matching.models import JobOrder, Trainee
from matching.models._common import utcnow
from matching.models.background import BackgroundTask
from matching.operations.imports import trainees as trainee_import
from tests.conftest import add_doc, open_dispatch

REDIS_URL = "redis://127.0.0.1:6379/7"
#: A port nothing listens on: Redis "down".
REFUSING_URL = "redis://127.0.0.1:9/7"


def trainees_csv(n: int, prefix: str = "BG") -> bytes:
    lines = ["external_id,full_name,date_of_birth,province,field,japanese_level"]
    lines += [f"{prefix}{i:06d},Nguyễn Văn {i},2000-01-01,nghe-an,construction,N4"
              for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def count_trainees() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Trainee))


def task_row(task_id: str) -> BackgroundTask:
    db.session.expire_all()
    return db.session.get(BackgroundTask, task_id)


def preview(client, body: bytes):
    response = client.post("/trainees/import", data={"file": (io.BytesIO(body), "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and 'id="confirm-import"' in response.get_data(True)


def confirm_to_task(client) -> str:
    """Confirm the checked import; it becomes a task: the task's id."""
    response = client.post("/trainees/import/confirm")
    assert response.status_code == 302, response.get_data(True)[:300]
    location = response.headers["Location"]
    assert "/tasks/" in location, location
    return location.rsplit("/", 1)[1]


@pytest.fixture
def small_threshold(app):
    app.config["JOBS_IMPORT_THRESHOLD"] = 3


@pytest.fixture
def department(make_user, login, small_threshold):
    user = make_user(role="department", province="nghe-an", locale="en")
    login(user)
    return user


# -- inline: no Redis ---------------------------------------------------------------------


def test_a_large_import_runs_as_a_task_and_its_page_survives_reloads(client, department):
    preview(client, trainees_csv(5))
    task_id = confirm_to_task(client)
    assert len(task_id) >= 20  # random, not a counter
    for _ in range(2):  # a reload shows the same: the row is the truth
        html = client.get(f"/tasks/{task_id}").get_data(True)
        assert 'data-status="finished"' in html
        assert "Imported 5 rows: 5 created, 0 updated." in html
        assert 'http-equiv="refresh"' not in html
    assert count_trainees() == 5
    task = task_row(task_id)
    assert (task.kind, task.user_id, task.done, task.total) == ("import", department.id, 5, 5)
    assert task.notice is None and task.payload is None  # the file is dropped once done
    assert "big.csv" in client.get("/tasks/").get_data(True)


def test_simultaneous_confirms_of_a_large_import_start_one_task(app, client, department):
    preview(client, trainees_csv(5))
    cookie = client.get_cookie("session")
    others = []
    for _ in range(4):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value)
        others.append(other)
    barrier = threading.Barrier(len(others))
    answers, failures = [], []

    def confirm(other):
        try:
            barrier.wait()
            answers.append(other.post("/trainees/import/confirm").headers.get("Location"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=confirm, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum("/tasks/" in location for location in answers) == 1
    assert sum(location.endswith("/trainees/import") for location in answers) == 3
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BackgroundTask)) == 1
    assert count_trainees() == 5


def test_a_small_import_is_still_done_in_the_request(client, department):
    preview(client, trainees_csv(3))
    response = client.post("/trainees/import/confirm")
    assert response.headers["Location"].rstrip("/").endswith("/trainees")
    assert count_trainees() == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BackgroundTask)) == 0


def test_a_failing_task_writes_nothing_says_why_and_can_be_retried(
        client, department, monkeypatch):
    preview(client, trainees_csv(5))
    real = trainee_import._write

    def write_then_break(*args, **kwargs):
        real(*args, **kwargs)
        db.session.flush()  # the rows are in the transaction...
        raise RuntimeError("disk on fire")  # ...when the work breaks

    monkeypatch.setattr(trainee_import, "_write", write_then_break)
    task_id = confirm_to_task(client)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="failed"' in html
    assert "stopped because of an unexpected error" in html
    assert "disk on fire" not in html and "Traceback" not in html
    assert 'id="task-retry"' in html
    assert count_trainees() == 0

    monkeypatch.setattr(trainee_import, "_write", real)
    response = client.post(f"/tasks/{task_id}/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith(task_id)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="finished"' in html and "Imported 5 rows" in html
    assert count_trainees() == 5 and task_row(task_id).attempts == 2
    # Finished: no second run.
    client.post(f"/tasks/{task_id}/retry")
    assert "cannot be started again" in client.get(f"/tasks/{task_id}").get_data(True)
    assert count_trainees() == 5


def test_rows_refused_at_the_import_are_listed_and_nothing_is_written(
        client, department, monkeypatch):
    preview(client, trainees_csv(5))
    # Between the preview and the task, the department was moved to another province.
    monkeypatch.setattr(trainee_import, "_validate", _refuse_every_row)
    task_id = confirm_to_task(client)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="failed"' in html
    assert "5 problems were found" in html and "nothing was imported" in html
    assert html.count("Not your province") == 5 and 'id="task-problems"' in html
    assert count_trainees() == 0


def _refuse_every_row(numbered, columns, scope, errors, progress):
    from matching.operations.imports.parsing import RowError

    errors.extend(RowError(line, "province", "Not your province") for line, _ in numbered)
    return []


def test_only_its_owner_and_admins_see_a_task(client, department, make_user, login,
                                              switch_login):
    preview(client, trainees_csv(5))
    task_id = confirm_to_task(client)
    other = make_user(role="department", province="nghe-an")
    switch_login(other)
    assert client.get(f"/tasks/{task_id}").status_code == 404
    assert client.post(f"/tasks/{task_id}/retry").status_code == 404
    assert task_id not in client.get("/tasks/").get_data(True)
    switch_login(make_user(role="admin"))
    assert client.get(f"/tasks/{task_id}").status_code == 200
    assert task_id in client.get("/tasks/").get_data(True)
    for bad in ("nope", "x" * 40, "a%2Fb", "' OR 1=1 --"):
        assert client.get(f"/tasks/{bad}").status_code == 404


def test_an_abandoned_task_is_shown_as_stopped_and_can_be_retried(app, client, department):
    task = BackgroundTask(kind="import", user_id=department.id, status="running", attempts=1,
                          params={"importer": "trainees", "filename": "big.csv", "rows": 5,
                                  "locale": "en"},
                          payload=trainees_csv(5), total=5, done=2,
                          started_at=utcnow() - timedelta(hours=1),
                          heartbeat_at=utcnow() - timedelta(hours=1))
    db.session.add(task)
    db.session.commit()
    html = client.get(f"/tasks/{task.id}").get_data(True)
    assert 'data-status="abandoned"' in html and "Stopped without finishing" in html
    assert "the server running it stopped" in html and 'id="task-retry"' in html
    # A running task with a fresh heartbeat may not be started twice.
    task.heartbeat_at = utcnow()
    db.session.commit()
    html = client.get(f"/tasks/{task.id}").get_data(True)
    assert 'data-status="running"' in html and 'id="task-retry"' not in html
    assert 'http-equiv="refresh"' in html
    assert '<progress id="task-progress" value="2" max="5">' in html
    client.post(f"/tasks/{task.id}/retry")
    assert task_row(task.id).status == "running" and count_trainees() == 0
    # Its worker died long ago: retry runs it again.
    task.heartbeat_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    client.post(f"/tasks/{task.id}/retry")
    assert task_row(task.id).status == "finished" and count_trainees() == 5


def test_training_from_the_admin_page(client, login, make_user):
    from benchmarks.bench_cli import insert_world
    from benchmarks.synthetic import make_world

    login(make_user(role="admin", locale="en"))
    html = client.get("/admin/model").get_data(True)
    assert "the expert prior" in html and 'id="train-model"' in html
    response = client.post("/admin/model/train")
    html = client.get(response.headers["Location"]).get_data(True)
    assert "Nothing was stored: there are too few decisions" in html

    made = make_world(300, 12, "experience_first", seed=0)
    insert_world(made.arrays, made.jobs, made.decisions)
    response = client.post("/admin/model/train")
    html = client.get(response.headers["Location"]).get_data(True)
    assert 'data-status="finished"' in html
    assert "Version 1 was stored and is now in use" in html
    html = client.get("/admin/model").get_data(True)
    assert "In use: version 1" in html and "Version 1 stored" in html


def test_training_is_for_admins_only(client, login, make_user):
    login(make_user(role="employer"))
    assert client.post("/admin/model/train").status_code == 403


def test_the_daily_expiry_scan_is_queued_once_a_day(app, runner, make_org, make_trainee):
    dispatch = open_dispatch(make_org, make_trainee)
    add_doc(dispatch, "passport", expires_on=date.today() + timedelta(days=10))
    first = runner.invoke(args=["jobs", "scheduler", "--once"])
    assert first.exit_code == 0 and "queued the expiry scan" in first.output
    again = runner.invoke(args=["jobs", "scheduler", "--once"])
    assert again.exit_code == 0 and again.output == ""
    assert runner.invoke(args=["jobs", "run-expiry-scan"]).output.startswith(
        "the expiry scan of today has already been queued")
    tasks = db.session.scalars(sa.select(BackgroundTask)).all()
    assert len(tasks) == 1 and tasks[0].status == "finished" and tasks[0].user_id is None
    assert tasks[0].result["documents"] == 1 and tasks[0].result["by_kind"] == {"passport": 1}


def test_the_scan_page_is_for_admins(client, login, switch_login, make_user, runner):
    runner.invoke(args=["jobs", "scheduler", "--once"])
    task = db.session.scalars(sa.select(BackgroundTask)).one()
    login(make_user(role="agency"))
    assert client.get(f"/tasks/{task.id}").status_code == 404
    switch_login(make_user(role="admin", locale="en"))
    html = client.get(f"/tasks/{task.id}").get_data(True)
    assert "Daily check of expiring documents" in html and "0 documents" in html


def test_the_scheduler_says_when_the_database_is_away():
    from matching import create_app

    away = create_app({"TESTING": True, "SECRET_KEY": "t",
                       "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/x"})
    result = away.test_cli_runner().invoke(args=["jobs", "scheduler", "--once"])
    assert result.exit_code == 1
    assert "database unavailable: OperationalError" in result.output
    with away.app_context():
        db.engine.dispose()


def test_the_worker_needs_redis(runner):
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


def test_redis_down_runs_the_task_inline_and_says_so(client, department, caplog):
    client.application.config["REDIS_URL"] = REFUSING_URL
    preview(client, trainees_csv(5))
    task_id = confirm_to_task(client)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="finished"' in html and count_trainees() == 5
    assert "The task queue could not be reached" in html
    assert task_row(task_id).notice == "queue_unavailable"


def test_task_pages_in_vietnamese_and_japanese(client, department, login, make_user):
    preview(client, trainees_csv(5))
    task_id = confirm_to_task(client)
    for locale in ("vi", "ja"):
        department.locale = locale
        db.session.commit()
        html = client.get(f"/tasks/{task_id}").get_data(True)
        assert "Finished" not in html and "Imported 5 rows" not in html


# -- on Redis, with a real RQ worker --------------------------------------------------------


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


@pytest.fixture
def on_redis(app):
    """The app on Redis db 7 with a queue of its own; its keys are removed afterwards."""
    connection = _redis_or_skip()
    queue = f"test-tasks-{uuid.uuid4().hex[:12]}"
    app.config.update(REDIS_URL=REDIS_URL, JOBS_QUEUE=queue)
    yield queue
    task_ids = db.session.scalars(sa.select(BackgroundTask.id)).all()
    for pattern in (f"*{queue}*", *(f"rq:*{task_id}*" for task_id in task_ids)):
        for key in connection.scan_iter(pattern):
            connection.delete(key)
    for key in ("rq:queues", "rq:workers"):
        for member in connection.smembers(key):
            if queue.encode() in member:
                connection.srem(key, member)
    connection.close()


def work(queue_name: str) -> None:
    """A real RQ worker in this process, until the queue is empty."""
    from rq import SimpleWorker

    queue = background.task_queue()
    assert queue.name == queue_name
    SimpleWorker([queue], connection=queue.connection,
                 name=f"{queue_name}-{uuid.uuid4().hex[:6]}").work(burst=True)


def test_an_import_task_waits_on_the_queue_then_a_worker_runs_it(client, department,
                                                                  on_redis):
    preview(client, trainees_csv(5))
    task_id = confirm_to_task(client)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="queued"' in html and "Waiting to start" in html
    assert 'http-equiv="refresh"' in html and "<progress" in html
    assert count_trainees() == 0
    assert background.task_queue().count == 1
    work(on_redis)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="finished"' in html and "Imported 5 rows" in html
    assert count_trainees() == 5 and task_row(task_id).done == 5


def test_on_redis_a_failure_writes_nothing_and_a_retry_goes_back_on_the_queue(
        client, department, on_redis, monkeypatch):
    preview(client, trainees_csv(5))
    task_id = confirm_to_task(client)
    real = trainee_import._write

    def write_then_break(*args, **kwargs):
        real(*args, **kwargs)
        db.session.flush()
        raise RuntimeError("worker lost its disk")

    monkeypatch.setattr(trainee_import, "_write", write_then_break)
    work(on_redis)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="failed"' in html and "unexpected error" in html
    assert "worker lost its disk" not in html and count_trainees() == 0
    monkeypatch.setattr(trainee_import, "_write", real)
    client.post(f"/tasks/{task_id}/retry")
    assert task_row(task_id).status == "queued"
    work(on_redis)
    assert task_row(task_id).status == "finished" and count_trainees() == 5


def test_training_fairness_and_expiry_tasks_on_the_worker(client, login, make_user, runner,
                                                          on_redis):
    login(make_user(role="admin", locale="en"))
    training = client.post("/admin/model/train").headers["Location"]
    fairness = client.post("/admin/fairness", data={"days": "30"}).headers["Location"]
    assert runner.invoke(args=["jobs", "scheduler", "--once"]).exit_code == 0
    assert background.task_queue().count == 3
    assert all(t.status == "queued" for t in db.session.scalars(sa.select(BackgroundTask)))
    work(on_redis)
    assert "too few decisions" in client.get(training).get_data(True)
    html = client.get(fairness).get_data(True)
    assert 'data-status="finished"' in html and "No candidate was shown" in html
    assert "(last 30 days)" in html
    assert "Computed on" in client.get("/admin/fairness?days=30").get_data(True)
    scan = db.session.scalars(sa.select(BackgroundTask)
                              .where(BackgroundTask.kind == "expiry_scan")).one()
    assert scan.status == "finished" and scan.result["documents"] == 0


def test_a_worker_killed_mid_import_leaves_nothing_and_the_task_can_be_retried(
        app, client, department, on_redis, database_url, tmp_path):
    rows = 10_000
    # As the confirm step hands it over (a file this size through the test client would
    # be spooled to a temporary file the client never closes).
    task_id = background.enqueue("import", user=department, payload=trainees_csv(rows),
                                 total=rows, importer="trainees", filename="big.csv",
                                 rows=rows, locale="en").id
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "matching", "jobs", "worker", "--burst",
         "--name", f"{on_redis}-sub"],
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
             "JOBS_QUEUE": on_redis, "SECRET_KEY": "t",
             "MATCHING_INSTANCE_PATH": str(tmp_path / "worker")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            task = task_row(task_id)
            if task.status == "running":
                # Mid-job: 10,000 rows take the worker over a second to check and write,
                # and progress reaches the row at most twice a second, so waiting for a
                # count would race a fast machine to the end of the job.
                time.sleep(0.1)
                break
            assert worker.poll() is None, "the worker ended before the test could kill it"
            time.sleep(0.02)
        else:
            pytest.fail("the worker never got going")
    finally:
        kill_tree(worker.pid)
        worker.wait()
    progress = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="running"' in progress and f'max="{rows}"' in progress
    assert count_trainees() == 0
    assert task_row(task_id).status == "running"  # nobody told the row: it was killed
    app.config["JOBS_STALE_SECONDS"] = 1
    time.sleep(1.2)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="abandoned"' in html and 'id="task-retry"' in html
    client.post(f"/tasks/{task_id}/retry")
    work(on_redis)
    assert task_row(task_id).status == "finished" and count_trainees() == rows


def kill_tree(pid: int) -> None:
    """SIGKILL a worker and its work horse (RQ puts the horse in a session of its own, so
    killing the worker's process group alone would leave the horse running)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    for child in [*children, pid]:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass  # ended by itself: the assertions say how


def test_a_task_lost_from_the_queue_can_be_queued_again(app, client, department, on_redis):
    """Redis restarted empty: the row still says "waiting", but nobody will run it."""
    preview(client, trainees_csv(5))
    task_id = confirm_to_task(client)
    queue = background.task_queue()
    assert 'data-status="queued"' in client.get(f"/tasks/{task_id}").get_data(True)
    queue.empty()  # the job is gone
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="queued"' in html and 'id="task-retry"' not in html  # just queued
    app.config["JOBS_STALE_SECONDS"] = 1
    time.sleep(1.2)
    html = client.get(f"/tasks/{task_id}").get_data(True)
    assert 'data-status="abandoned"' in html and 'id="task-retry"' in html
    client.post(f"/tasks/{task_id}/retry")
    assert queue.count == 1 and task_row(task_id).status == "queued"
    # Still on the queue: waiting, not abandoned, however long it waits.
    time.sleep(1.2)
    assert 'id="task-retry"' not in client.get(f"/tasks/{task_id}").get_data(True)
    work(on_redis)
    assert task_row(task_id).status == "finished" and count_trainees() == 5


def test_a_task_of_an_unknown_kind_is_refused(app):
    with pytest.raises(ValueError):
        background.enqueue("format_disk")


def test_a_job_order_import_task_is_scoped_to_its_employer(client, login, make_user,
                                                           small_threshold):
    employer = make_user(role="employer", locale="en")
    login(employer)
    lines = ["external_id,employer,title,field,headcount,min_japanese_level,visa_track,"
             "monthly_salary_jpy,start_date,prefecture"]
    lines += [f"JO-BG-{i},{employer.organisation.code},Line worker,food_manufacturing,1,N4,"
              "SSW1,210000,2027-10-01,aichi" for i in range(4)]
    client.post("/jobs/import", data={"file": (io.BytesIO("\n".join(lines).encode()),
                                               "jobs.csv")},
                content_type="multipart/form-data")
    response = client.post("/jobs/import/confirm")
    html = client.get(response.headers["Location"]).get_data(True)
    assert 'data-status="finished"' in html and "Imported 4 rows" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobOrder)) == 4
