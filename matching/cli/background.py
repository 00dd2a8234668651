"""``jobs``: the background-task worker and the daily scheduler (issue 11 §4).

    flask --app matching jobs worker      # runs queued tasks (RQ on REDIS_URL)
    flask --app matching jobs scheduler   # queues the daily expiry scan, once a day

Both need ``REDIS_URL``; without it every task runs inline in the web process and no
worker is needed (``make run``). ``jobs scheduler --once`` queues today's scan and exits
(for cron); ``jobs run-expiry-scan`` runs it here and now.
"""

import os
import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from matching import background
from matching.extensions import db

jobs_cli = AppGroup("jobs", help="Background tasks: the worker and the daily scheduler.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--name", default=None, help="The worker's name (default: RQ's).")
def worker(burst, name):
    """Run the tasks queued on REDIS_URL's queue, with this app's configuration."""
    from rq import Worker

    queue = background.task_queue()
    if queue is None:
        raise click.ClickException("REDIS_URL is not set: tasks run inline in the web "
                                   "process and no worker is needed")
    # RQ forks a work horse per task: the child must not share the parent's database
    # connections (SQLAlchemy's advice for forks: a new pool, the parent's left alone).
    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    click.echo(f"worker on queue {queue.name!r} of {_safe(current_app.config['REDIS_URL'])}")
    Worker([queue], connection=queue.connection, name=name).work(burst=burst)


@jobs_cli.command("scheduler")
@click.option("--once", is_flag=True, help="Queue today's scan if not done yet, then exit.")
@click.option("--interval", type=click.IntRange(min=1), default=300, show_default=True,
              help="Seconds between two looks at the calendar.")
def scheduler(once, interval):
    """Queue the daily expiry scan once per day (however many schedulers run)."""
    while True:
        try:
            task = enqueue_daily_scan()
        except SQLAlchemyError as exc:
            # The database is away: say so and look again later (a restart is not needed).
            db.session.rollback()
            if once:
                raise click.ClickException(
                    f"database unavailable: {type(exc).__name__}") from None
            click.echo(f"database unavailable ({type(exc).__name__}); trying again later",
                       err=True)
            task = None
        if task is not None:
            click.echo(f"queued the expiry scan of {task.params['day']}: task {task.id}")
        if once:
            return
        time.sleep(interval)


@jobs_cli.command("run-expiry-scan")
def run_expiry_scan():
    """Run today's expiry scan now, in this process (if not done today)."""
    task = enqueue_daily_scan(inline=True)
    if task is None:
        click.echo("the expiry scan of today has already been queued")
        return
    db.session.refresh(task)
    click.echo(f"task {task.id}: {task.status} {task.result or ''}")


def enqueue_daily_scan(inline: bool = False):
    """Queue today's expiry scan; None when a task for today exists already (the day's
    unique key: one scan a day even with several schedulers)."""
    day = today().isoformat()
    try:
        return background.enqueue("expiry_scan", unique_key=f"expiry_scan:{day}", day=day,
                                  days=30, inline=inline)
    except IntegrityError:
        return None


def today():
    """The day in the platform's zone (``BABEL_DEFAULT_TIMEZONE``), not the server's."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def _safe(url: str) -> str:
    """A Redis URL without its password, for a log line."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path}"
