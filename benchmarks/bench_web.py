"""The candidate page under load: gunicorn on loopback, PostgreSQL, employers clicking.

    .venv/bin/python -m benchmarks.bench_web [--trainees 100000] [--clients 20]
        [--seconds 30] [--jobs 40] [--workers 3] [--threads 2]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432]

Creates a temporary PostgreSQL database on the given server (dropped at the end), builds it
with the migrations and fills it: ``--trainees`` synthetic trainees (``benchmarks.synthetic``,
through the trainee import, as a department would), ``--jobs`` job orders of one employer,
one employer user per client and an administrator. Starts gunicorn (``--workers`` ×
``--threads``, gthread) on a free loopback port, as in production. Every client is a thread
with its own keep-alive connection that logs in first (the form's CSRF token, the session
cookie), then fetches pages as fast as the server answers. Three phases of ``--seconds``:

1. floor: each client fetches the log-in form without a session (a page that renders a
   template and touches no table: checked in-process before the run);
2. read-only: each client fetches the candidate page of a random job order;
3. while the registry changes: the same, while another thread edits a random trainee
   twice a second through ``operations.registry.update_trainee`` and commits, as the
   trainee form does, so each edit moves the registry version and every worker brings its
   pool up to date on its next candidate page.

Before phase 1 each client warms up (a few pages: each worker loads its pool). Prints
p50, p95, throughput and errors per phase (an error: an answer other than 200, or no
answer). Target: the candidate page's p95 within 4× the floor's p95, no error.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from benchmarks.bench_import import temporary_postgres
from matching.config import PROJECT_ROOT

PASSWORD = "bench-password-1"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# -- the database ---------------------------------------------------------------------------


def temporary_database(server: str):
    """The URL of a new empty PostgreSQL database on ``server``, dropped afterwards."""
    return temporary_postgres(server, f"bench_web_{os.getpid()}")


def fill(app, n_trainees: int, n_jobs: int, n_clients: int, seed: int = 0) -> dict:
    """Migrate and fill the database; the job order ids, employer e-mails and admin's id."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from benchmarks.bench_cli import job_order_row
    from benchmarks.synthetic import make_jobs, pool_arrays
    from benchmarks.world_csv import trainee_rows
    from matching.extensions import db
    from matching.models import JobOrder, Organisation
    from matching.operations.accounts import create_user
    from matching.operations.imports.trainees import import_trainees

    with app.app_context():
        upgrade()
        rng = np.random.default_rng(seed)
        result = import_trainees(trainee_rows(pool_arrays(n_trainees, rng), seed))
        assert result.ok and result.created == n_trainees, result.errors[:3]
        employer = Organisation(kind="employer", code="bench-employer", name="Bench KK",
                                country="JP")
        platform = Organisation(kind="platform", code="bench-platform", name="Bench Platform",
                                country="VN")
        db.session.add_all([employer, platform])
        db.session.flush()
        jobs = make_jobs(n_jobs, rng)
        db.session.execute(sa.insert(JobOrder.__table__),
                           [job_order_row(job, employer.id) for job in jobs])
        emails = [f"employer{i}@bench.example" for i in range(n_clients)]
        for email in emails:
            create_user(email, PASSWORD, "employer", employer)
        admin = create_user("admin@bench.example", PASSWORD, "admin", platform)
        db.session.commit()
        job_ids = db.session.scalars(sa.select(JobOrder.id).order_by(JobOrder.id)).all()
        out = {"jobs": job_ids, "emails": emails, "admin": admin.id}
        db.session.remove()
        db.engine.dispose()
    return out


def check_floor_touches_no_table(app, path: str) -> int:
    """How many SQL statements one anonymous GET of ``path`` runs (0 for a true floor)."""
    import sqlalchemy as sa

    from matching.extensions import db

    count = [0]

    def before(*_args):
        count[0] += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            response = app.test_client().get(path)
            assert response.status_code == 200, response.status_code
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)
        db.engine.dispose()
    return count[0]


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict, workers: int, threads: int):
    """gunicorn serving ``create_app()`` on a free loopback port; yields the port."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
               str(threads), "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}",
               # Clients keep their connection between phases, as browsers between clicks.
               "--keep-alive", "300", "--timeout", "120", "--log-level", "warning",
               "matching:create_app()"]
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the clients ----------------------------------------------------------------------------


class Client:
    """One browser: a keep-alive connection and its cookies."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: dict | None = None,
                keep_cookies: bool = True) -> tuple[int, str]:
        headers = {"Accept-Language": "en"}
        if self.cookies and keep_cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.connection.close()  # a new connection for the next request
            raise
        if keep_cookies:
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, text

    def log_in(self, email: str) -> None:
        status, page = self.request("GET", "/auth/login")
        token = _CSRF.search(page)
        assert status == 200 and token, f"no log-in form ({status})"
        status, _page = self.request("POST", "/auth/login", {
            "csrf_token": token.group(1), "email": email, "password": PASSWORD})
        assert status == 302, f"log-in of {email} refused ({status})"

    def close(self) -> None:
        self.connection.close()


@dataclass
class Samples:
    """Latencies (seconds) of the answered requests, and the errors."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def add_error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def hammer(clients: list[Client], paths, seconds: float, *, anonymous: bool = False
           ) -> tuple[Samples, float]:
    """Every client requests ``paths(rng)`` in a loop for ``seconds``; samples and the
    elapsed time."""
    samples = Samples()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(client: Client, seed: int) -> None:
        rng = random.Random(seed)
        mine, errors = [], []
        while time.monotonic() < stop:
            path = paths(rng)
            started = time.perf_counter()
            try:
                status, _page = client.request("GET", path, keep_cookies=not anonymous)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(type(exc).__name__)
                continue
            if status == 200:
                mine.append(time.perf_counter() - started)
            else:
                errors.append(f"HTTP {status}")
        with lock:
            samples.seconds.extend(mine)
            for kind in errors:
                samples.add_error(kind)

    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(c, i)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


class RegistryWriter(threading.Thread):
    """Edits a random trainee ``per_second`` times a second, as the trainee form does."""

    def __init__(self, app, admin_id: int, per_second: float = 2.0):
        super().__init__(daemon=True)
        self.app, self.admin_id, self.period = app, admin_id, 1.0 / per_second
        self.stopping = threading.Event()
        self.edits = 0
        self.failures = 0

    def run(self) -> None:
        import sqlalchemy as sa

        from matching.extensions import db
        from matching.models import Trainee, User
        from matching.operations import registry

        rng = random.Random(7)
        with self.app.app_context():
            admin = db.session.get(User, self.admin_id)
            top = db.session.scalar(sa.select(sa.func.max(Trainee.id)))
            next_at = time.monotonic()
            while not self.stopping.is_set():
                try:
                    trainee = db.session.get(Trainee, rng.randint(1, top))
                    if trainee is not None:
                        registry.update_trainee(
                            trainee, {"experience_years": round(rng.uniform(0, 8), 1)}, admin)
                        db.session.commit()
                        self.edits += 1
                except Exception:  # noqa: BLE001 - counted and reported, the run goes on
                    db.session.rollback()
                    self.failures += 1
                next_at += self.period
                self.stopping.wait(max(0.0, next_at - time.monotonic()))
            db.session.remove()

    def stop(self) -> None:
        self.stopping.set()
        self.join()


# -- the run --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def row(label: str, samples: Samples, elapsed: float) -> dict:
    return {"label": label, "n": len(samples.seconds), "errors": samples.errors,
            "error_kinds": samples.error_kinds,
            "p50": percentile(samples.seconds, 50) * 1000,
            "p95": percentile(samples.seconds, 95) * 1000,
            "rps": len(samples.seconds) / elapsed}


def run(args) -> list[dict]:
    from matching import create_app

    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder, \
            temporary_database(args.postgres) as url:
        instance = Path(folder) / "instance"
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-web-secret",
                   MATCHING_INSTANCE_PATH=str(instance), SESSION_COOKIE_SECURE="false",
                   REMEMBER_COOKIE_SECURE="false")
        env.pop("REDIS_URL", None)
        os.environ["MATCHING_INSTANCE_PATH"] = str(instance)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-web-secret",
                          "IMPORT_MAX_ROWS": max(args.trainees, 200_000)})
        started = time.perf_counter()
        world = fill(app, args.trainees, args.jobs, args.clients)
        print(f"filled in {time.perf_counter() - started:.1f} s: {args.trainees:,} trainees, "
              f"{args.jobs} job orders, {args.clients} employers", flush=True)
        floor_path = "/auth/login"
        statements = check_floor_touches_no_table(app, floor_path)
        print(f"floor page {floor_path}: {statements} SQL statements", flush=True)
        with gunicorn(env, args.workers, args.threads) as port:
            clients = [Client(port) for _ in range(args.clients)]
            for client, email in zip(clients, world["emails"], strict=True):
                client.log_in(email)
            jobs = world["jobs"]

            def candidates(rng: random.Random) -> str:
                return f"/jobs/{rng.choice(jobs)}/candidates"

            started = time.perf_counter()
            hammer(clients, candidates, args.warmup)
            print(f"warmed up in {time.perf_counter() - started:.1f} s", flush=True)
            anonymous = [Client(port) for _ in range(args.clients)]
            results = []
            samples, elapsed = hammer(anonymous, lambda _rng: floor_path, args.seconds,
                                      anonymous=True)
            results.append(row("floor: log-in form", samples, elapsed))
            samples, elapsed = hammer(clients, candidates, args.seconds)
            results.append(row("candidates, read-only", samples, elapsed))
            writer = RegistryWriter(app, world["admin"])
            writer.start()
            try:
                samples, elapsed = hammer(clients, candidates, args.seconds)
            finally:
                writer.stop()
            results.append(row(f"candidates, {writer.edits} edits", samples, elapsed))
            if writer.failures:
                results[-1]["errors"] += writer.failures
                results[-1]["error_kinds"]["registry edit failed"] = writer.failures
            for client in clients + anonymous:
                client.close()
        with app.app_context():
            from matching.extensions import db

            db.engine.dispose()
    return results


def print_table(results: list[dict], args) -> None:
    print(f"\n{args.trainees:,} trainees, {args.clients} clients, gunicorn {args.workers} "
          f"workers × {args.threads} threads, {args.seconds:g} s a phase")
    print(f"{'page':<28} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} "
          f"{'errors':>6}  p95 / floor p95")
    floor = results[0]["p95"]
    for item in results:
        ratio = item["p95"] / floor
        print(f"{item['label']:<28} {item['n']:>8} {item['p50']:>8.1f} {item['p95']:>8.1f} "
              f"{item['rps']:>8.1f} {item['errors']:>6}  {ratio:.2f}"
              + (f"  {item['error_kinds']}" if item["errors"] else ""))
    verdict = all(r["p95"] <= 4 * floor and not r["errors"] for r in results[1:])
    print(f"target: candidate p95 ≤ 4 × floor p95 and no error in both phases: "
          f"{'ok' if verdict else 'MISSED'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432",
                        help="server on which a temporary database is created, then dropped")
    args = parser.parse_args(argv)
    print_table(run(args), args)


if __name__ == "__main__":
    main()
