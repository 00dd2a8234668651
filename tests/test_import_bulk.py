"""The trainee import's bulk path (``imports.bulk``: COPY on PostgreSQL, the driver's
executemany on SQLite) stores exactly what SQLAlchemy's executemany stores, stamps the
registry version the same way, and writes nothing when it fails. Run on both databases
(``TEST_DATABASE_URL``)."""

from datetime import date

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Skill, Trainee, trainee_skills
from matching.models.registry import current_version
from matching.operations.imports import trainees
from matching.operations.imports.trainees import import_trainees

#: Every optional column, blanks among them; names with a tab and a quote; a custom skill.
FIRST = [
    {"external_id": f"B-{i}", "full_name": f"Nguyễn Thị\t'Hoa' {i}",
     "date_of_birth": "2000-02-29" if i % 2 else "03/04/1999", "gender": "F" if i % 3 else "",
     "province": "Nghệ An" if i % 2 else "Hà Nội", "school": "" if i % 4 else "Trường số 1",
     "field": "construction", "skills": "welding;Máy tiện CNC" if i % 2 else "",
     "japanese_level": "N4", "training_hours": str(10 * i), "experience_years": "1,5",
     "preferred_prefectures": "aichi;osaka" if i % 3 else "",
     "available_from": "" if i % 2 else "2026-09-01",
     "email": f"b{i}@example.org" if i % 5 else "", "phone": "912345678" if i % 2 else "",
     "consent": "" if i % 3 == 0 else ("no" if i % 3 == 1 else "yes"),
     "name_kana": "グエン ホア" if i % 2 else ""}
    for i in range(40)
]
#: Half of them again, changed (a blank consent keeps the one on record), and new ones.
SECOND = [dict(row, full_name=row["full_name"] + " Mới", skills="scaffolding",
               consent="" if i % 2 else "yes", training_hours="5")
          for i, row in enumerate(FIRST[::2])] + [
    dict(FIRST[0], external_id=f"N-{i}", province="Huế") for i in range(5)]

#: Compared as they are; the times are this import's clock, the version its own.
COLUMNS = [c.name for c in Trainee.__table__.c
           if c.name not in ("id", "created_at", "updated_at", "registry_version")]


def snapshot() -> dict:
    t = Trainee.__table__
    version = current_version()[0]
    rows = {}
    for row in db.session.execute(sa.select(t)).mappings():
        key = (row["province"], row["external_id"])
        rows[key] = {c: row[c] for c in COLUMNS}
        assert row["created_at"] is not None and row["updated_at"] >= row["created_at"]
        rows[key]["versions back"] = version - row["registry_version"]
    links = db.session.execute(
        sa.select(Trainee.province, Trainee.external_id, Skill.slug)
        .join(trainee_skills, trainee_skills.c.trainee_id == Trainee.id)
        .join(Skill, Skill.id == trainee_skills.c.skill_id)).all()
    return {"trainees": rows, "skills": sorted(tuple(link) for link in links)}


def run_both_imports() -> dict:
    for rows, created in ((FIRST, 40), (SECOND, 5)):
        result = import_trainees(rows)
        assert result.ok, result.errors[:3]
        assert result.created == created
        db.session.commit()  # as the command or request does
    return snapshot()


def empty() -> None:
    for table in (trainee_skills, Trainee.__table__, Skill.__table__):
        db.session.execute(table.delete())
    db.session.commit()


def test_bulk_and_portable_paths_store_the_same(app, monkeypatch):
    bulk = run_both_imports()
    empty()
    monkeypatch.setattr(trainees, "BULK_WRITES", False)
    portable = run_both_imports()
    assert bulk == portable
    # What the rows hold, not only that both agree.
    rows = bulk["trainees"]
    assert rows[("nghe-an", "B-1")]["consent"] is False  # "no", kept by a blank cell
    assert rows[("ha-noi", "B-0")]["consent"] is True  # blank when created: True
    assert rows[("ha-noi", "B-2")]["full_name"] == "Nguyễn Thị 'Hoa' 2 Mới"
    assert rows[("ha-noi", "B-2")]["date_of_birth"] == date(1999, 4, 3)
    assert rows[("nghe-an", "B-3")]["experience_years"] == 1.5
    assert rows[("nghe-an", "B-3")]["versions back"] == 1  # not in the second file
    assert rows[("ha-noi", "B-2")]["versions back"] == 0  # stamped by the second import
    assert ("hue", "N-4") in rows and len(rows) == 45
    assert ("ha-noi", "B-2", "scaffolding") in bulk["skills"]
    assert ("ha-noi", "B-2", "welding") not in bulk["skills"]  # replaced


def test_each_import_takes_one_registry_version(app):
    before = current_version()[0]
    assert import_trainees(FIRST).ok
    db.session.commit()
    assert current_version()[0] == before + 1
    stamped = db.session.scalars(sa.select(Trainee.registry_version).distinct()).all()
    assert stamped == [before + 1]


@pytest.mark.parametrize("bulk_writes", [True, False])
def test_a_failing_update_writes_nothing(app, monkeypatch, bulk_writes):
    monkeypatch.setattr(trainees, "BULK_WRITES", bulk_writes)
    assert import_trainees(FIRST).ok
    db.session.commit()
    before, version = snapshot(), current_version()
    # A skill id that does not exist: the link insert fails after the updates went in.
    monkeypatch.setattr(trainees, "ensure_skill_ids", lambda slugs: dict.fromkeys(slugs, 999_999))
    with pytest.raises(sa.exc.IntegrityError):
        import_trainees(SECOND)
    db.session.rollback()
    assert snapshot() == before and current_version() == version


def test_a_failing_insert_writes_nothing(app, monkeypatch):
    calls = []
    real = trainees.bulk.insert_rows

    def second_fails(table, columns, rows):
        calls.append(table.name)
        real(table, columns, rows)
        if len(calls) == 2:  # the trainees went in, then the skill links fail
            raise sa.exc.OperationalError("COPY", None, RuntimeError("connection lost"))

    monkeypatch.setattr(trainees.bulk, "insert_rows", second_fails)
    with pytest.raises(sa.exc.OperationalError):
        import_trainees(FIRST)
    db.session.rollback()
    assert calls == ["trainees", "trainee_skills"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Trainee)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(trainee_skills)) == 0
