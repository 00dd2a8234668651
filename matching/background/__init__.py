"""Background tasks (issue 11 §4): long work on a queue, its state in the database.

``enqueue(kind, user=…, **params)`` records a ``BackgroundTask`` row and hands its id to RQ
on Redis when ``REDIS_URL`` is set (a worker runs it: ``flask --app matching jobs worker``);
without Redis, or when Redis does not answer, the task runs at once, inline, and its row
says so (``notice``). Either way ``run_task`` does the work:

- it claims the row (queued → running) so that a task never runs twice at once;
- the kind's work (``matching.background.kinds``) runs in ONE transaction, committed with the
  row's "finished" state: a failure, or a worker killed half-way, writes nothing;
- progress and a heartbeat go to the row through their own short transactions, so the
  page shows them while the work is still uncommitted;
- a failure is recorded as a message code (``ERRORS``, translated on the page), never a
  traceback (that goes to the log).

A task failed, or abandoned (running, its heartbeat older than ``JOBS_STALE_SECONDS``: its
worker died), can be retried by its owner or an administrator (``retry``).
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from matching.extensions import db
from matching.i18n import _l
from matching.models._common import utcnow
from matching.models.background import BackgroundTask

log = logging.getLogger(__name__)

#: Why a task failed, by the code stored in ``BackgroundTask.error``: the message in the
#: reader's language, given the task's ``error_params``.
ERRORS: dict[str, Callable[..., str]] = {
    "crashed": lambda: _l(
        "The task stopped because of an unexpected error, and nothing of it was saved. You "
        "can try again; if it fails again, please tell an administrator."),
    "abandoned": lambda: _l(
        "The task stopped before it finished (the server running it stopped), and nothing "
        "of it was saved. You can try again."),
    "import_rows": lambda num=0: _l(
        "The file was checked again before importing and %(num)s problems were found (the "
        "records may have changed since the preview), so nothing was imported.", num=num),
    "import_conflict": lambda: _l(
        "Someone else imported the same records at the same moment, so nothing was "
        "imported. Please upload the file again to check it against them."),
    "no_user": lambda: _l(
        "The account that started this task no longer exists, so nothing was done."),
}
#: What a task's page must say besides its state, by the code in ``BackgroundTask.notice``.
NOTICES = {
    "queue_unavailable": _l("The task queue could not be reached, so this task ran on the "
                            "web server while you waited instead of in the background."),
}

#: The kinds and states in words, for the pages.
KIND_LABELS = {
    "import": _l("Import"),
    "train_model": _l("Training the ranking model"),
    "fairness": _l("Fairness report"),
    "expiry_scan": _l("Daily check of expiring documents"),
}
STATUS_LABELS = {
    "queued": _l("Waiting to start"),
    "running": _l("Running"),
    "finished": _l("Finished"),
    "failed": _l("Failed"),
    "abandoned": _l("Stopped without finishing"),
}

KINDS: dict[str, Callable[["TaskRun"], dict]] = {}


def kind(name: str):
    """Declare the function doing the work of the tasks of kind ``name``."""

    def register(function):
        KINDS[name] = function
        return function

    return register


class TaskFailed(Exception):
    """An expected failure: ``code`` in ``ERRORS``, the values its message needs, and what
    the page may show of it (``result``, e.g. an import's first problems)."""

    def __init__(self, code: str, result: dict | None = None, **params):
        super().__init__(code)
        self.code, self.params, self.result = code, params, result


@dataclass
class TaskRun:
    """What a kind's function gets: the task's options, input and user, and ``progress``."""

    task_id: str
    attempt: int
    params: dict
    user: object
    payload: bytes | None
    engine: sa.Engine = field(repr=False)
    _last: float = 0.0

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        """Show ``done`` of ``total`` on the task's page (at most twice a second)."""
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        values = {"done": done, "heartbeat_at": utcnow()}
        if total is not None:
            values["total"] = total
        _write_aside(self.engine, self.task_id, self.attempt, values)


# -- starting a task ---------------------------------------------------------------------


def enqueue(kind_name: str, *, user=None, payload: bytes | None = None,
            unique_key: str | None = None, total: int | None = None, inline: bool = False,
            **params) -> BackgroundTask:
    """Record a task of ``kind_name`` for ``user`` and start it: on the queue when there is
    one (and not ``inline``), else now. Commits: a worker must find the row. Returns the
    row, as it is after an inline run. A ``unique_key`` already used raises
    ``IntegrityError`` (rolled back)."""
    if kind_name not in KINDS:
        raise ValueError(f"unknown task kind {kind_name!r}")
    task = BackgroundTask(kind=kind_name, user_id=getattr(user, "id", None), params=params,
                          payload=payload, unique_key=unique_key, total=total, done=0,
                          status="queued", attempts=0)
    db.session.add(task)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise
    _start(task, inline=inline)
    return task


def retry(task: BackgroundTask) -> bool:
    """Queue a failed or abandoned task again (its input is kept until it finishes).
    False when it is not retryable any more (another click retried it first)."""
    stale = utcnow() - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    retryable = [BackgroundTask.status == "failed",
                 sa.and_(BackgroundTask.status == "running",
                         BackgroundTask.heartbeat_at < stale)]
    if task.status == "queued" and is_abandoned(task):
        # Lost from the queue: the row still says so, so this click alone claims it.
        retryable.append(sa.and_(BackgroundTask.status == "queued",
                                 BackgroundTask.attempts == task.attempts,
                                 sa.func.coalesce(BackgroundTask.heartbeat_at,
                                                  BackgroundTask.created_at) < stale))
    claimed = db.session.execute(
        sa.update(BackgroundTask)
        .where(BackgroundTask.id == task.id, sa.or_(*retryable))
        .values(status="queued", error=None, error_params=None, result=None, done=0,
                notice=None, finished_at=None, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return False
    db.session.refresh(task)
    _start(task)
    return True


def is_abandoned(task: BackgroundTask, now=None) -> bool:
    """Nobody will finish it: running, but not heard of for ``JOBS_STALE_SECONDS`` (its
    worker died); or queued that long and gone from the queue (Redis restarted empty, or
    the process died before an inline run)."""
    if task.status not in ("running", "queued"):
        return False
    limit = timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    beat = task.heartbeat_at or task.started_at or task.created_at
    if (now or utcnow()) - beat <= limit:
        return False
    return task.status == "running" or not _on_queue(task)


def _on_queue(task: BackgroundTask) -> bool:
    """Whether the queue still holds the task's job (True when Redis cannot tell)."""
    queue = task_queue()
    if queue is None:
        return False
    import redis
    from rq.job import Job

    try:
        return bool(queue.connection.exists(Job.key_for(_job_id(task))))
    except redis.RedisError:
        return True  # unknown: never offer to run a task twice


def can_retry(task: BackgroundTask) -> bool:
    return task.status == "failed" or is_abandoned(task)


def shown_status(task: BackgroundTask) -> str:
    """The task's state as its page tells it: "abandoned" for a running task whose worker
    died, else its status."""
    return "abandoned" if is_abandoned(task) else task.status


def error_message(task: BackgroundTask) -> str | None:
    """Why the task failed, in the reader's language (or why it stopped, if abandoned)."""
    code = "abandoned" if is_abandoned(task) else task.error
    if code is None:
        return None
    message = ERRORS.get(code, ERRORS["crashed"])
    try:
        return str(message(**(task.error_params or {})))
    except TypeError:  # params of another version of the message
        return str(ERRORS["crashed"]())


def _start(task: BackgroundTask, inline: bool = False) -> None:
    queue = None if inline else task_queue()
    if queue is not None:
        import redis

        try:
            queue.enqueue("matching.background.run_task", task.id,
                          job_id=_job_id(task),
                          job_timeout=current_app.config["JOBS_TIMEOUT_SECONDS"],
                          result_ttl=3600, failure_ttl=7 * 24 * 3600,
                          description=f"{task.kind} {task.id}")
            return
        except redis.RedisError as exc:
            # The site keeps serving: the task runs here, and its page says why.
            log.warning("task queue unreachable (%s); running task %s inline",
                        type(exc).__name__, task.id)
            task.notice = "queue_unavailable"
            db.session.commit()
    run_task(task.id)
    db.session.expire(task)


def _job_id(task: BackgroundTask) -> str:
    """The RQ job of the task's current attempt."""
    return f"{task.id}-{task.attempts}"


def task_queue():
    """The RQ queue of this app, or None without ``REDIS_URL`` (tasks run inline)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    from rq import Queue

    clients = current_app.extensions.setdefault("matching_task_redis", {})
    if url not in clients:
        # Short timeouts: an unreachable Redis must not hold a web request for long.
        clients[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    return Queue(current_app.config["JOBS_QUEUE"], connection=clients[url])


# -- running a task ----------------------------------------------------------------------

_worker_app = None


def run_task(task_id: str) -> None:
    """Run the task ``task_id`` if it is still queued (what RQ calls, by name)."""
    if has_app_context():
        _run(task_id)
        return
    global _worker_app
    if _worker_app is None:
        from matching import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        _run(task_id)


def _run(task_id: str) -> None:
    now = utcnow()
    claimed = db.session.execute(
        sa.update(BackgroundTask)
        .where(BackgroundTask.id == task_id, BackgroundTask.status == "queued")
        .values(status="running", started_at=now, heartbeat_at=now, done=0,
                attempts=BackgroundTask.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return  # run already (a duplicate delivery), or no such task
    task = db.session.get(BackgroundTask, task_id, populate_existing=True)
    run = TaskRun(task_id=task.id, attempt=task.attempts, params=dict(task.params or {}),
                  user=task.user, payload=task.payload, engine=db.engine)
    kind_name = task.kind
    beat = _Heartbeat(run, current_app.config["JOBS_STALE_SECONDS"])
    beat.start()
    try:
        if run.user is None and kind_name in NEEDS_USER:
            raise TaskFailed("no_user")
        result = KINDS[kind_name](run)
        _end(run, status="finished", result=result, payload=None)
        db.session.commit()  # the work and its "finished", together
    except TaskFailed as failed:
        db.session.rollback()
        _fail(run, failed.code, failed.params, failed.result)
    except Exception:
        log.exception("background task %s (%s) failed", task_id, kind_name)
        db.session.rollback()
        _fail(run, "crashed", {}, None)
    finally:
        beat.stop()


#: Kinds whose work is done in the name of the user who started them.
NEEDS_USER = {"import"}


def _end(run: TaskRun, **values) -> None:
    """Set the final state in the work's transaction, if this attempt still owns the row
    (a retry of a task wrongly taken for abandoned must not be overwritten)."""
    done = sa.func.coalesce(BackgroundTask.total, BackgroundTask.done)
    if values.get("status") == "failed":
        done = BackgroundTask.done
    updated = db.session.execute(
        sa.update(BackgroundTask)
        .where(BackgroundTask.id == run.task_id, BackgroundTask.attempts == run.attempt,
               BackgroundTask.status == "running")
        .values(finished_at=utcnow(), heartbeat_at=utcnow(), done=done, **values)
        .execution_options(synchronize_session=False)).rowcount
    if not updated:
        db.session.rollback()
        raise RuntimeError(f"task {run.task_id} was taken over by another attempt")


def _fail(run: TaskRun, code: str, params: dict, result: dict | None) -> None:
    try:
        _end(run, status="failed", error=code, error_params=params or None, result=result)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record the failure of task %s", run.task_id)


def _write_aside(engine: sa.Engine, task_id: str, attempt: int, values: dict) -> None:
    """Write progress or a heartbeat in a transaction of its own (the work's is still
    open); best effort: a busy database only delays the next one."""
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.update(BackgroundTask)
                .where(BackgroundTask.id == task_id, BackgroundTask.attempts == attempt,
                       BackgroundTask.status == "running")
                .values(**values))
    except sa.exc.SQLAlchemyError as exc:
        log.info("task %s: progress not recorded (%s)", task_id, type(exc).__name__)


class _Heartbeat:
    """A thread writing the task's heartbeat while it runs (a stuck write phase included)."""

    def __init__(self, run: TaskRun, stale_seconds: int):
        self.run = run
        self.interval = max(1.0, stale_seconds / 5)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True,
                                       name=f"heartbeat-{run.task_id}")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                _write_aside(self.run.engine, self.run.task_id, self.run.attempt,
                             {"heartbeat_at": utcnow()})
            except Exception:  # noqa: BLE001 - a heartbeat never breaks the task
                log.exception("heartbeat of task %s", self.run.task_id)


from matching.background import kinds  # noqa: E402,F401 - registers the kinds
