"""Cold ``flask rank`` on 1,000 versus 100,000 trainees: the pool cache at work.

    .venv/bin/python -m benchmarks.bench_cli [--sizes 1000 100000] [--runs 5] [--top 50]

For each size: a temporary SQLite database built by the migrations and a temporary instance
folder, filled with synthetic trainees (``benchmarks.synthetic``, ~10 % not available, ~3 %
without consent) and one job order. Then, each in a fresh process
(``DATABASE_URL`` and ``MATCHING_INSTANCE_PATH`` point it at the temporary folder):

- first: ``flask --app matching rank JOB --top 50 --format json`` with no cache yet (it
  queries every trainee and writes ``instance/cache/pool-<hash>.npz``);
- cold: the median of ``runs`` more such processes, now reading the .npz file;
- after a write: ``flask --app matching import trainees`` of one existing trainee with a
  new value (not timed), then the rank again in a new process: it reads the disk file of
  the older registry version and applies the delta of the one changed row;
- floor: ``flask --app matching --help``, the cost of starting the app at all.

Targets: cold(100,000) / cold(1,000) ≤ 1.5, and the same for the rank after a write.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from benchmarks.synthetic import pool_arrays
from matching.config import PROJECT_ROOT
from matching.extensions import db
from matching.models import Decision, JobOrder, Organisation, Trainee, trainee_skills
from matching.models._common import utcnow
from matching.operations.skills import ensure_skill_ids
from matching.ranking.features import FIELD_CODES, PREFECTURE_CODES, Job
from matching.vocab import PROVINCES

#: A Japanese level code for each CEFR rank (the synthetic pool only has ranks).
LEVEL_OF_RANK = {0: "none", 1: "N5", 2: "N4", 3: "N3", 4: "N2", 5: "N1", 6: "C2"}
GRADE_NAMES = {3: "selected", 2: "interviewed", 1: "shortlisted", 0: "rejected"}
_CHUNK = 20_000


def insert_world(arrays: dict, jobs: Sequence[Job],
                 decisions: Iterable[tuple[int, int, int]] = (), *,
                 statuses: Sequence[str] | None = None, consent: Sequence[bool] | None = None,
                 prefix: str = "W", employer_code: str = "synthetic-employer") -> dict[int, int]:
    """Write a synthetic pool (``pool_arrays``), job orders and decisions to the database.

    Trainee ``i`` gets external id ``{prefix}{ids[i]:07d}``; decisions are
    ``(job_index, array_id, grade)`` as ``make_world`` makes them. Job orders of a
    heterogeneous world (``Job.employer`` set) go to one employer organisation each,
    ``{employer_code}-{employer}`` named "Synthetic KK {employer}". Bulk statements only,
    one commit. Returns ``{array id: database id}``.
    """
    ids = arrays["ids"]
    n = len(ids)
    provinces = sorted(PROVINCES)
    skills, prefs = arrays["skills"], arrays["prefectures"]
    names = sorted(arrays["skill_index"], key=arrays["skill_index"].__getitem__)
    now = utcnow()
    rows = []
    for i in range(n):
        day = int(arrays["available_day"][i])
        rank = int(arrays["language_rank"][i])
        rows.append({
            "external_id": f"{prefix}{int(ids[i]):07d}",
            "full_name": f"Nguyễn Văn {prefix} {int(ids[i])}",
            "name_folded": f"nguyen van {prefix.lower()} {int(ids[i])}",
            "date_of_birth": date(1995, 1, 1) + timedelta(days=i % 3000),
            "province": provinces[i % len(provinces)],
            "field": FIELD_CODES[int(arrays["field"][i])],
            "japanese_level": LEVEL_OF_RANK[rank],
            "language_rank": rank,
            "training_hours": int(arrays["training_hours"][i]),
            "experience_years": float(arrays["experience_years"][i]),
            "preferred_prefectures": ";".join(
                PREFECTURE_CODES[c] for c in prefs.indices[prefs.indptr[i]:prefs.indptr[i + 1]]),
            "available_from": None if day == 0 else date(1970, 1, 1) + timedelta(days=day),
            "consent": True if consent is None else bool(consent[i]),
            "status": "available" if statuses is None else statuses[i],
            "created_at": now,
            "updated_at": now,
        })
    for start in range(0, n, _CHUNK):
        db.session.execute(sa.insert(Trainee.__table__), rows[start:start + _CHUNK])
    external = {f"{prefix}{int(a):07d}": int(a) for a in ids}
    db_id = {}
    for trainee_id, external_id in db.session.execute(
            sa.select(Trainee.id, Trainee.external_id).where(Trainee.external_id.like(
                f"{prefix}%"))):
        if external_id in external:
            db_id[external[external_id]] = trainee_id
    skill_ids = ensure_skill_ids(names)
    holder = np.repeat(np.arange(n), np.diff(skills.indptr))
    links = [{"trainee_id": db_id[int(ids[r])], "skill_id": skill_ids[names[c]]}
             for r, c in zip(holder.tolist(), skills.indices.tolist(), strict=True)]
    for start in range(0, len(links), _CHUNK):
        db.session.execute(sa.insert(trainee_skills), links[start:start + _CHUNK])
    employer_ids: dict = {}
    for key in dict.fromkeys(job.employer for job in jobs):
        code = employer_code if key is None else f"{employer_code}-{key}"
        employer = db.session.scalar(sa.select(Organisation).where(Organisation.code == code))
        if employer is None:
            name = "Synthetic KK" if key is None else f"Synthetic KK {key}"
            employer = Organisation(kind="employer", code=code, name=name, country="JP")
            db.session.add(employer)
            db.session.flush()
        employer_ids[key] = employer.id
    job_rows = [job_order_row(job, employer_ids[job.employer]) for job in jobs]
    db.session.execute(sa.insert(JobOrder.__table__), job_rows)
    job_id = dict(db.session.execute(sa.select(JobOrder.external_id, JobOrder.id).where(
        JobOrder.external_id.in_([r["external_id"] for r in job_rows]))).all())
    decision_rows = [{"job_order_id": job_id[jobs[j].external_id], "trainee_id": db_id[t],
                      "decision": GRADE_NAMES[int(g)], "decided_at": now}
                     for j, t, g in decisions]
    if decision_rows:
        db.session.execute(sa.insert(Decision.__table__), decision_rows)
    db.session.commit()
    return db_id


def job_order_row(job: Job, employer_id: int) -> dict:
    """A ``job_orders`` row for a synthetic ``Job``."""
    rank = int(job.min_language_rank or 0)
    return {
        "external_id": job.external_id, "employer_id": employer_id,
        "title": f"Synthetic job {job.external_id}", "field": job.field,
        "required_skills": ";".join(job.required_skills),
        "preferred_skills": ";".join(job.preferred_skills),
        "min_language_level": LEVEL_OF_RANK[rank], "min_language_rank": rank,
        "headcount": 3, "prefecture": job.prefecture, "start_date": job.start_date,
        "visa_track": "SSW1", "status": "open", "created_at": utcnow(), "updated_at": utcnow(),
    }


def build_database(folder: Path, n: int, seed: int = 0) -> tuple[str, str]:
    """A migrated SQLite database in ``folder`` with ``n`` trainees; (url, job external id)."""
    from flask_migrate import upgrade

    from benchmarks.synthetic import make_jobs
    from matching import create_app

    url = "sqlite:///" + str(folder / "bench.sqlite")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    rng = np.random.default_rng(seed)
    arrays = pool_arrays(n, rng)
    jobs = make_jobs(1, rng)
    statuses = rng.choice(["available", "in_process", "deployed", "withdrawn"], size=n,
                          p=[0.9, 0.04, 0.04, 0.02])
    consent = rng.random(n) >= 0.03
    with app.app_context():
        upgrade()
        insert_world(arrays, jobs, statuses=statuses.tolist(), consent=consent.tolist())
        db.engine.dispose()
    return url, jobs[0].external_id


def _run(args: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "matching", *args],
                          env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def bench(sizes: Sequence[int], runs: int, top: int) -> list[dict]:
    """Seconds per size: first run (builds the cache), median cold run, start-up floor.

    The cold runs of the sizes alternate (1k, 100k, 1k, 100k, …) so that a busy neighbour
    on a shared machine slows both alike instead of skewing the ratio.
    """
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        setups = []
        for n in sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            started = time.perf_counter()
            url, job = build_database(folder, n)
            env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench",
                       MATCHING_INSTANCE_PATH=str(folder / "instance"))
            setups.append({"n": n, "folder": folder, "env": env, "cold": [], "floor": [],
                           "rank": ["rank", job, "--top", str(top), "--format", "json"],
                           "seeded_s": time.perf_counter() - started})
        for s in setups:
            s["first_s"], out = _run(s["rank"], s["env"])
            ranked = json.loads(out)[s["rank"][1]]
            assert 0 < len(ranked) <= top, "the CLI ranked nobody"
        for run in range(runs):
            for s in setups:
                s["cold"].append(_run(s["rank"], s["env"])[0])
                s["floor"].append(_run(["--help"], s["env"])[0])
                _run(["import", "trainees", str(one_trainee_file(s, run))], s["env"])
                s.setdefault("after_write", []).append(_run(s["rank"], s["env"])[0])
        return [{"n": s["n"], "seeded_s": s["seeded_s"], "first_s": s["first_s"],
                 "cold_s": statistics.median(s["cold"]),
                 "after_write_s": statistics.median(s["after_write"]),
                 "floor_s": statistics.median(s["floor"]),
                 "cache_files": sorted(p.name for p in
                                       (s["folder"] / "instance" / "cache").iterdir())}
                for s in setups]


def one_trainee_file(setup: dict, run: int) -> Path:
    """A one-row trainee import that changes an available trainee's experience."""
    engine = sa.create_engine(setup["env"]["DATABASE_URL"])
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT external_id, full_name, date_of_birth, province, field, japanese_level "
            "FROM trainees WHERE status = 'available' ORDER BY id LIMIT 1 OFFSET :k"),
            {"k": run}).one()
    engine.dispose()
    path = setup["folder"] / f"write-{run}.csv"
    path.write_text("external_id,full_name,date_of_birth,province,field,japanese_level,"
                    "experience_years\n" + ",".join(str(v) for v in row) + f",{run + 1}\n",
                    encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=50)
    args = parser.parse_args(argv)
    results = bench(args.sizes, args.runs, args.top)
    print(f"{'trainees':>9}  {'seeded':>7}  {'first run':>9}  {'cold run':>8}  "
          f"{'after a write':>13}  {'start-up':>8}  cache files")
    for row in results:
        print(f"{row['n']:>9,}  {row['seeded_s']:6.1f}s  {row['first_s']:8.2f}s  "
              f"{row['cold_s']:7.2f}s  {row['after_write_s']:12.2f}s  {row['floor_s']:7.2f}s  "
              f"{', '.join(row['cache_files'])}")
    print(f"(first run: no cache yet, builds it; cold run: a new process reading the disk "
          f"cache, median of {args.runs}; start-up: `flask --help`, median of {args.runs})")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = large["cold_s"] / small["cold_s"]
        verdict = "ok" if ratio <= 1.5 else "MISSED"
        print(f"cold rank, {large['n']:,} / {small['n']:,} trainees: {ratio:.2f} "
              f"(target ≤ 1.5: {verdict})")
        ratio = large["after_write_s"] / small["after_write_s"]
        verdict = "ok" if ratio <= 1.5 else "MISSED"
        print(f"rank after a one-trainee write, {large['n']:,} / {small['n']:,} trainees: "
              f"{ratio:.2f} (target ≤ 1.5: {verdict})")


if __name__ == "__main__":
    main()
