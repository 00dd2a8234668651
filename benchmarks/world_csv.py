"""A synthetic world written as the three public CSV files, plus the truth about it.

    python -m benchmarks.world_csv --out DIR --trainees N --jobs M --preference NAME --seed S
                                   [--held-out H] [--decisions-per-job D]

Writes into DIR, in the public formats of DESIGN §4 (UTF-8, ``;``-joined lists):

- ``trainees.csv``: every trainee of ``benchmarks.synthetic``'s world, external id
  ``S`` + 7 digits (unique platform-wide, so decisions need no ``trainee_province``), a
  Vietnamese name, a province, a date of birth (18 to 35 years old in 2026), a school;
- ``job_orders.csv``: the M labelled job orders, then H held-out ones (``JO-H…``);
- ``decisions.csv``: the employers' decisions on the M labelled job orders, as words
  (selected, interviewed, shortlisted, rejected) with a past ``decided_at``;
- ``truth.json``: for each held-out job order, which has NO decision, the hidden-preference
  utility of every trainee (without the decision noise), so that a test can measure how
  well ``flask rank`` orders the whole pool for job orders it never saw decisions on.

The world is ``make_world(N, M + H, preference, seed, D)`` with the decisions of the last H
job orders dropped: the held-out job orders come from the same employers, only unlabelled.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from benchmarks.bench_cli import GRADE_NAMES, LEVEL_OF_RANK
from benchmarks.synthetic import LATENT, PREFERENCES, SKILLS, World, latent, make_world
from matching.formats import TRAINEE_COLUMNS
from matching.operations.demo import WOMEN_SHARE, vietnamese_name
from matching.operations.imports.job_orders import JOB_ORDER_COLUMNS
from matching.ranking.features import FIELD_CODES, PREFECTURE_CODES, Job
from matching.vocab import FIELDS, PROVINCES

DECISION_COLUMNS = ("job_order_external_id", "trainee_external_id", "decision", "decided_at")
TRAINEES_CSV, JOB_ORDERS_CSV, DECISIONS_CSV, TRUTH_JSON = (
    "trainees.csv", "job_orders.csv", "decisions.csv", "truth.json")
#: Employers of the synthetic job orders (an unknown employer is created by the import).
EMPLOYERS = ("株式会社サクラ精工 (Sakura Seiko Co., Ltd.)", "東海フーズ株式会社 (Tokai Foods)",
             "株式会社北斗建設 (Hokuto Kensetsu)", "社会福祉法人やすらぎ会 (Yasuragi-kai)",
             "みなと農園株式会社 (Minato Farm)")
SCHOOLS = ("Trường Cao đẳng Kỹ thuật Công nghiệp", "Trường Cao đẳng Nghề Việt – Nhật",
           "Trường Trung cấp Nghề Kỹ thuật", "Trường Cao đẳng Y tế", "")
VISA_TRACKS = ("SSW1", "SSW1", "SSW1", "TITP", "ESD")
#: The day the decisions start: well in the past, so the importer never sees the future.
DECIDED_FROM = date(2025, 3, 3)


def trainee_id(array_id: int) -> str:
    """The public external id of synthetic trainee ``array_id``."""
    return f"S{int(array_id):07d}"


@dataclass
class WorldFiles:
    """The written files and what a test needs to know about them."""

    folder: Path
    labelled: list[str]  # external ids of the job orders with decisions
    held_out: list[str]  # external ids of the job orders without any
    n_trainees: int
    n_decisions: int

    def path(self, name: str) -> Path:
        """The path of one of the written files (``TRAINEES_CSV``, …)."""
        return self.folder / name


def trainee_rows(arrays: dict, seed: int = 0) -> list[dict[str, str]]:
    """One public-format row per synthetic trainee (text cells, ``;``-joined lists)."""
    skills, prefs = arrays["skills"], arrays["prefectures"]
    provinces = sorted(PROVINCES)
    rows = []
    for i, array_id in enumerate(arrays["ids"].tolist()):
        # Identity columns the ranking never reads: their own generator, seeded per trainee.
        rng = random.Random(f"{seed}-{array_id}")
        field = FIELD_CODES[int(arrays["field"][i])]
        gender = "F" if rng.random() < WOMEN_SHARE.get(field, 0.5) else "M"
        day = int(arrays["available_day"][i])
        born = date(1991, 1, 1) + timedelta(days=rng.randrange(17 * 365))
        rows.append({
            "external_id": trainee_id(array_id),
            "full_name": " ".join(vietnamese_name(rng, gender)),
            "date_of_birth": born.isoformat(),
            "gender": gender,
            "province": rng.choice(provinces),
            "school": rng.choice(SCHOOLS),
            "field": field,
            "skills": ";".join(SKILLS[c] for c in skills.indices[
                skills.indptr[i]:skills.indptr[i + 1]]),
            "japanese_level": LEVEL_OF_RANK[int(arrays["language_rank"][i])],
            "training_hours": str(int(arrays["training_hours"][i])),
            "experience_years": f"{float(arrays['experience_years'][i]):g}",
            "preferred_prefectures": ";".join(PREFECTURE_CODES[c] for c in prefs.indices[
                prefs.indptr[i]:prefs.indptr[i + 1]]),
            "available_from": ("" if day == 0
                               else (date(1970, 1, 1) + timedelta(days=day)).isoformat()),
        })
    return rows


def job_order_rows(jobs: list[Job], seed: int = 0) -> list[dict[str, str]]:
    """One public-format row per job order; the title names the field in Japanese."""
    rows = []
    for i, job in enumerate(jobs):
        rng = random.Random(f"{seed}-job-{job.external_id}")
        visa = VISA_TRACKS[i % len(VISA_TRACKS)]
        label = {"SSW1": "特定技能1号", "TITP": "技能実習", "ESD": "育成就労"}[visa]
        rows.append({
            "external_id": job.external_id,
            "employer": EMPLOYERS[i % len(EMPLOYERS)],
            "title": f"{FIELDS[job.field].ja}スタッフ（{label}）",
            "field": job.field,
            "required_skills": ";".join(job.required_skills),
            "preferred_skills": ";".join(job.preferred_skills),
            "min_japanese_level": LEVEL_OF_RANK[int(job.min_language_rank or 0)],
            "headcount": str(rng.randint(1, 6)),
            "prefecture": job.prefecture or "",
            "monthly_salary_jpy": str(rng.randrange(180_000, 262_000, 2_000)),
            "start_date": job.start_date.isoformat() if job.start_date else "",
            "visa_track": visa,
        })
    return rows


def decision_rows(world: World, labelled: int) -> list[dict[str, str]]:
    """The decisions on the first ``labelled`` job orders, as words, one day per job order."""
    rows = []
    for job_index, array_id, grade in world.decisions:
        if job_index >= labelled:
            continue
        rows.append({
            "job_order_external_id": world.jobs[job_index].external_id,
            "trainee_external_id": trainee_id(array_id),
            "decision": GRADE_NAMES[int(grade)],
            "decided_at": (DECIDED_FROM + timedelta(days=job_index % 300)).isoformat(),
        })
    return rows


def true_utilities(world: World, job: Job) -> np.ndarray:
    """The hidden-preference utility of every trainee for ``job``, without noise."""
    rows = np.arange(len(world.arrays["ids"]))
    attrs = latent(world.arrays, rows, job)
    return sum(world.preference.get(a, 0.0) * attrs[a] for a in LATENT)


def write_world(out: Path | str, n_trainees: int, n_jobs: int, preference: str = "skills_first",
                seed: int = 0, held_out: int = 5, decisions_per_job: int = 30) -> WorldFiles:
    """Write the four files of a world with ``n_jobs`` labelled and ``held_out`` other jobs."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    world = make_world(n_trainees, n_jobs + held_out, preference, seed, decisions_per_job)
    for job in world.jobs[n_jobs:]:
        job.external_id = job.external_id.replace("JO-", "JO-H", 1)
    decisions = decision_rows(world, n_jobs)
    _write_csv(folder / TRAINEES_CSV, TRAINEE_COLUMNS, trainee_rows(world.arrays, seed))
    _write_csv(folder / JOB_ORDERS_CSV, JOB_ORDER_COLUMNS, job_order_rows(world.jobs, seed))
    _write_csv(folder / DECISIONS_CSV, DECISION_COLUMNS, decisions)
    ids = [trainee_id(a) for a in world.arrays["ids"].tolist()]
    truth = {
        "preference": preference if isinstance(preference, str) else "custom",
        "weights": world.preference,
        "seed": seed,
        "utilities": {job.external_id: dict(zip(ids, np.round(true_utilities(world, job), 6)
                                                .tolist(), strict=True))
                      for job in world.jobs[n_jobs:]},
    }
    (folder / TRUTH_JSON).write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    return WorldFiles(folder, [j.external_id for j in world.jobs[:n_jobs]],
                      [j.external_id for j in world.jobs[n_jobs:]], n_trainees, len(decisions))


def _write_csv(path: Path, columns, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="Folder to write into.")
    parser.add_argument("--trainees", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=30, help="Job orders with decisions.")
    parser.add_argument("--held-out", type=int, default=5, help="Job orders without any.")
    parser.add_argument("--preference", choices=sorted(PREFERENCES), default="skills_first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decisions-per-job", type=int, default=30)
    args = parser.parse_args(argv)
    files = write_world(args.out, args.trainees, args.jobs, args.preference, args.seed,
                        args.held_out, args.decisions_per_job)
    print(f"{files.n_trainees} trainees, {len(files.labelled)} labelled and "
          f"{len(files.held_out)} held-out job orders, {files.n_decisions} decisions "
          f"in {files.folder}")


if __name__ == "__main__":
    main()
