"""Bulk status update: `import statuses FILE [--dry-run]` and ``import_statuses``."""

import io
from datetime import date, timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from matching.extensions import db
from matching.models import Dispatch, StatusEvent
from matching.operations.imports.parsing import import_file
from matching.operations.imports.statuses import import_statuses
from tests.conftest import add_doc, open_dispatch

#: From a file, as the import pages and the CLI come in.
import_statuses_file = partial(import_file, import_rows=import_statuses)

TODAY = date.today()
HEADER = "trainee_external_id,job_order_external_id,stage,date,note\n"


@pytest.fixture
def two(make_org, make_trainee, agency):
    """Two dispatches of the same agency, at selected, opened 30 days ago."""
    first = open_dispatch(make_org, make_trainee, agency=agency,
                          trainee=make_trainee(external_id="VN-001"))
    second = open_dispatch(make_org, make_trainee, agency=agency,
                           trainee=make_trainee(external_id="VN-002"))
    return first, second


def history(dispatch) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(
        sa.select(StatusEvent.from_stage, StatusEvent.to_stage, StatusEvent.happened_on,
                  StatusEvent.note).where(StatusEvent.dispatch_id == dispatch.id)
        .order_by(StatusEvent.id))][1:]


def job(dispatch) -> str:
    return dispatch.job_order.external_id


def csv_file(tmp_path, text: str, name="statuses.csv"):
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    return str(path)


def test_a_good_file_moves_each_dispatch_in_file_order(runner, tmp_path, two):
    first, second = two
    d1, d2 = (TODAY - timedelta(days=20)).isoformat(), (TODAY - timedelta(days=10))
    path = csv_file(tmp_path,
                    f"VN-001,{job(first)},contracted,{d1},signed in Vinh\n"
                    f"VN-002,{job(second)},Contracted,,\n"
                    f"VN-001,{job(first)},training,{d2.strftime('%d/%m/%Y')},\n")
    result = runner.invoke(args=["import", "statuses", path])
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 moves written on 2 dispatches, 0 unchanged" in result.output
    db.session.expire_all()
    assert first.stage == "training" and second.stage == "contracted"
    assert history(first) == [("selected", "contracted", date.fromisoformat(d1), "signed in Vinh"),
                              ("contracted", "training", d2, None)]
    assert history(second) == [("selected", "contracted", TODAY, None)]
    assert db.session.scalar(sa.select(StatusEvent.by_id).where(
        StatusEvent.dispatch_id == second.id, StatusEvent.to_stage == "contracted")) is None
    # The same file again: every row is on record, nothing is written twice.
    result = runner.invoke(args=["import", "statuses", path])
    assert result.exit_code == 0, result.output
    assert "3 rows: 0 moves written on 0 dispatches, 3 unchanged" in result.output
    assert len(history(first)) == 2


def test_dry_run_writes_nothing(runner, tmp_path, two):
    first, _ = two
    path = csv_file(tmp_path, f"VN-001,{job(first)},contracted,,\n"
                              f"VN-001,{job(first)},training,,\n")
    result = runner.invoke(args=["import", "statuses", path, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 moves to write on 1 dispatches, 0 unchanged" in result.output
    assert "dry run: nothing written" in result.output
    db.session.expire_all()
    assert first.stage == "selected" and history(first) == []


def test_bad_rows_write_nothing_and_every_bad_line_is_named(runner, tmp_path, two):
    first, second = two
    add_doc(first, "tb_certificate", number="TB-1")  # for line 7 (coe_applied)
    future = (TODAY + timedelta(days=10)).isoformat()
    path = csv_file(tmp_path,
                    f"VN-001,{job(first)},contracted,,\n"                 # 2: fine
                    f"VN-404,{job(first)},contracted,,\n"                 # 3: unknown trainee
                    f"VN-002,{job(second)},on_hold,,\n"                   # 4: unknown stage
                    f"VN-002,{job(second)},training,,\n"                  # 5: skips contracted
                    f"VN-001,{job(first)},training,{future},\n"           # 6: future date
                    f"VN-001,{job(first)},coe_applied,,\n"                # 7: fine after 6
                    f"VN-001,{job(first)},coe_issued,,\n"                 # 8: no COE
                    f"VN-002,{job(second)},contracted,31/02/2026,\n")     # 9: not a date
    result = runner.invoke(args=["import", "statuses", path])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [e.split(":")[0] for e in errors] == [
        "line 3, trainee_external_id", "line 4, stage", "line 5, stage", "line 6, date",
        "line 8, stage", "line 9, date"]
    assert "There is no dispatch of trainee “VN-404”" in errors[0]
    assert "Stages cannot be skipped" in errors[2]
    assert "is in the future" in errors[3]
    assert "The COE, with its number and issue date, must be recorded" in errors[4]
    assert "6 error(s): nothing written." in result.stderr
    db.session.expire_all()
    assert first.stage == "selected" and second.stage == "selected"
    assert history(first) == history(second) == []


def test_documents_make_the_move_possible(tmp_path, two):
    first, _ = two
    rows = [{"trainee_external_id": "VN-001", "job_order_external_id": job(first),
             "stage": stage} for stage in ("contracted", "training", "coe_applied",
                                           "coe_issued")]
    assert not import_statuses(rows, dry_run=True).ok
    add_doc(first, "tb_certificate", number="TB-1")
    add_doc(first, "coe", number="COE-1", issued_on=TODAY)  # not before the application
    result = import_statuses(rows)
    assert result.ok and result.created == 4 and result.updated == 1
    assert [p["action"] for p in result.preview] == ["move"] * 4
    assert db.session.get(Dispatch, first.id).stage == "coe_issued"


def test_an_agency_moves_only_its_own_dispatches(two, make_user, make_org, make_trainee,
                                                 agency):
    first, _ = two
    theirs = open_dispatch(make_org, make_trainee, trainee=make_trainee(external_id="VN-009"))
    agent = make_user(role="agency", org=agency)
    rows = [{"trainee_external_id": "VN-001", "job_order_external_id": job(first),
             "stage": "contracted"},
            {"trainee_external_id": "VN-009", "job_order_external_id": job(theirs),
             "stage": "contracted"}]
    result = import_statuses(rows, user=agent)
    assert [(e.line, e.column) for e in result.errors] == [(3, "trainee_external_id")]
    assert "There is no dispatch" in str(result.errors[0].message)
    result = import_statuses(rows[:1], user=agent)
    assert result.ok and result.created == 1
    assert db.session.scalar(sa.select(StatusEvent.by_id).where(
        StatusEvent.dispatch_id == first.id, StatusEvent.to_stage == "contracted")) == agent.id
    for role in ("employer", "department"):
        result = import_statuses(rows[:1], user=make_user(role=role))
        assert not result.ok and "Only administrators and dispatch agencies" in str(
            result.errors[0].message)


def test_trainee_province_tells_apart_trainees_with_the_same_id(make_org, make_trainee, agency):
    a = open_dispatch(make_org, make_trainee, agency=agency,
                      trainee=make_trainee(external_id="HS-1", province="nghe-an"))
    b = Dispatch(job_order_id=a.job_order_id, agency_id=agency.id, stage="selected",
                 trainee_id=make_trainee(external_id="HS-1", province="ha-noi").id)
    db.session.add(b)
    db.session.commit()
    row = {"trainee_external_id": "HS-1", "job_order_external_id": job(a), "stage": "withdrawn"}
    result = import_statuses([row])
    assert str(result.errors[0].message).startswith(
        f"The trainee ID “HS-1” has dispatches on job order “{job(a)}” in several provinces.")
    result = import_statuses([dict(row, trainee_province="Nghệ An")])
    assert result.ok and result.created == 1
    db.session.expire_all()
    assert (a.stage, b.stage) == ("withdrawn", "selected")
    assert a.trainee.status == "available"


def test_header_problems(two):
    result = import_statuses([{"trainee_external_id": "VN-001", "job": "x", "stage": "x"}])
    messages = [str(e.message) for e in result.errors]
    assert any("Unknown column “job”" in m for m in messages)
    assert any("“job_order_external_id” is missing" in m for m in messages)


def test_an_xlsx_file(two):
    first, _ = two
    book = Workbook()
    sheet = book.active
    sheet.append(["trainee_external_id", "job_order_external_id", "stage", "date"])
    sheet.append(["VN-001", job(first), "contracted", TODAY - timedelta(days=3)])
    buffer = io.BytesIO()
    book.save(buffer)
    book.close()
    buffer.seek(0)
    result = import_statuses_file(buffer, "statuses.xlsx")
    assert result.ok and result.created == 1
    assert history(first) == [("selected", "contracted", TODAY - timedelta(days=3), None)]


def test_an_unreadable_file(runner, tmp_path):
    path = tmp_path / "statuses.txt"
    path.write_text("hello", encoding="utf-8")
    result = runner.invoke(args=["import", "statuses", str(path)])
    assert result.exit_code == 1 and "Only .csv and .xlsx" in result.output
