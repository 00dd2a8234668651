"""Bulk trainee import throughput on SQLite and PostgreSQL: a fresh import, then a re-import
of the same rows (updates).

    .venv/bin/python -m benchmarks.bench_import [--rows 100000] [--seed 1]
        [--databases sqlite postgresql] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432]
        [--portable]

Generates realistic rows (Vietnamese names, current and former province names, both date
styles, skills from the catalogue), writes them to a CSV, and imports them into a temporary
SQLite database and a temporary PostgreSQL database (created on the given server, dropped
afterwards), both built by the migrations. Prints rows/s for reading the CSV, the fresh
import, the re-import and a dry run, each committed as the CLI commits it. ``--portable``
writes through SQLAlchemy's executemany instead of the bulk path (``imports.bulk``), to
compare. Target: at least 10,000 rows/s for a fresh import on a 2-core machine, on each.
"""

import argparse
import csv
import io
import logging
import os
import random
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Minh", "Đức", "Thu", "Ngọc", "Quang", "Thanh", "Hữu", "Kim"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Long", "Mai",
         "Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Tuyết", "Yến"]
PROVINCE_SPELLINGS = ["Nghệ An", "nghe-an", "Phú Yên", "Phu Yen", "Đắk Lắk", "Hà Giang",
                      "Thanh Hóa", "Thanh Hoa", "Hà Tĩnh", "Quảng Bình", "Bắc Giang", "Hải Dương",
                      "Thái Bình", "Nam Định", "TP. Hồ Chí Minh", "Hà Nội", "Cần Thơ",
                      "An Giang", "Kiên Giang"]
LEVELS = ["none", "N5", "N4", "N4", "N3", "N3", "N2", "JFT-A2", "JLPT N4"]
PREFECTURES = ["aichi", "osaka", "tokyo", "saitama", "chiba", "kanagawa", "hyogo", "fukuoka",
               "gifu", "shizuoka", "ibaraki", "hiroshima"]
COLUMNS = ["external_id", "full_name", "date_of_birth", "gender", "province", "school",
           "field", "skills", "japanese_level", "training_hours", "experience_years",
           "preferred_prefectures", "available_from", "email", "phone"]


def generate(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` rows as a department would type them: mixed spellings, both date styles."""
    from matching.vocab import SKILL_CATALOGUE

    rnd = random.Random(seed)
    fields = list(SKILL_CATALOGUE)
    rows = []
    for i in range(n):
        born = date(1985, 1, 1) + timedelta(days=rnd.randrange(0, 22 * 365))
        field = rnd.choice(fields)
        skills = rnd.sample(SKILL_CATALOGUE[field], k=min(len(SKILL_CATALOGUE[field]),
                                                          rnd.randint(1, 4)))
        rows.append({
            "external_id": f"VN{i:07d}",
            "full_name": f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}",
            "date_of_birth": born.isoformat() if i % 3 else born.strftime("%d/%m/%Y"),
            "gender": rnd.choice(["F", "M", "nữ", "nam", ""]),
            "province": rnd.choice(PROVINCE_SPELLINGS),
            "school": f"Trường Cao đẳng Nghề số {rnd.randint(1, 40)}",
            "field": field,
            "skills": ";".join(skills),
            "japanese_level": rnd.choice(LEVELS),
            "training_hours": str(rnd.randrange(0, 1500, 20)),
            "experience_years": str(rnd.choice([0, 0.5, 1, 1.5, 2, 3, 5])),
            "preferred_prefectures": ";".join(rnd.sample(PREFECTURES, k=rnd.randint(0, 3))),
            "available_from": (date(2026, 1, 1) + timedelta(days=rnd.randrange(365))).isoformat()
            if i % 2 else "",
            "email": f"trainee{i}@example.org" if i % 4 == 0 else "",
            "phone": f"09{rnd.randrange(10**8):08d}" if i % 2 == 0 else "",
        })
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def timed(label: str, n: int, fn):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<28} {n:>8} rows in {seconds:6.2f} s  = {n / seconds:>9,.0f} rows/s",
          flush=True)
    return value, n / seconds


@contextmanager
def database(kind: str, folder: str, server: str):
    """A URL of an empty database of ``kind``, gone afterwards."""
    if kind == "sqlite":
        yield "sqlite:///" + str(Path(folder) / "bench.sqlite")
        return
    with temporary_postgres(server, f"bench_import_{os.getpid()}") as url:
        yield url


@contextmanager
def temporary_postgres(server: str, name: str):
    """The URL of a new empty PostgreSQL database ``name`` on ``server``, dropped after."""
    import sqlalchemy as sa

    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def bench(kind: str, url: str, folder: str, table: list, bulk: bool) -> dict:
    """Fresh import, re-import and dry run of ``table`` into the empty database ``url``."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from matching import create_app
    from matching.extensions import db
    from matching.models import Trainee, trainee_skills
    from matching.operations.imports import trainees
    from matching.operations.imports.trainees import import_trainees

    trainees.BULK_WRITES = bulk
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "IMPORT_MAX_ROWS": max(len(table), 200_000)})
    app.instance_path = folder
    logging.getLogger("alembic").setLevel(logging.WARNING)
    figures = {}
    with app.app_context():
        upgrade()
        print(f"{kind}:", flush=True)

        def committed(**kw):
            result = import_trainees(table, **kw)
            db.session.commit()  # as the CLI command does
            return result

        fresh, figures["fresh"] = timed("import (fresh, inserts)", len(table), committed)
        assert fresh.ok and fresh.created == len(table), fresh.errors[:5]
        again, figures["update"] = timed("re-import (updates)", len(table), committed)
        assert again.ok and again.updated == len(table), again.errors[:5]
        dry, figures["dry"] = timed("dry run (validate only)", len(table),
                                    lambda: committed(dry_run=True))
        assert dry.ok
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Trainee))
        links = db.session.scalar(sa.select(sa.func.count()).select_from(trainee_skills))
        print(f"  stored: {stored} trainees, {links} skill links")
        db.session.remove()
        db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"),
                        default=["sqlite", "postgresql"])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432",
                        help="server on which a temporary database is created, then dropped")
    parser.add_argument("--portable", action="store_true",
                        help="write through SQLAlchemy's executemany, not the bulk path")
    args = parser.parse_args()

    from matching.operations.imports.reading import read_table

    rows = generate(args.rows, args.seed)
    data = to_csv(rows)
    _header, table = read_table(io.BytesIO(data), "bench.csv")
    timed("read CSV", len(rows), lambda: read_table(io.BytesIO(data), "bench.csv"))
    results = {}
    for kind in args.databases:
        with tempfile.TemporaryDirectory() as folder, \
                database(kind, folder, args.postgres) as url:
            results[kind] = bench(kind, url, folder, table, not args.portable)
    path = "portable path (SQLAlchemy executemany)" if args.portable else "bulk path"
    print(f"\n{args.rows:,} trainees, {path}, rows/s (target ≥ 10,000 for a fresh import):")
    print(f"  {'database':<12} {'fresh':>9} {'re-import':>10} {'dry run':>9}")
    for kind, figures in results.items():
        verdict = "ok" if figures["fresh"] >= 10_000 else "MISSED"
        print(f"  {kind:<12} {figures['fresh']:>9,.0f} {figures['update']:>10,.0f} "
              f"{figures['dry']:>9,.0f}  {verdict}")


if __name__ == "__main__":
    main()
