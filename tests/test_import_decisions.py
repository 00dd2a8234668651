"""Bulk decision import: history rows, trainee resolution across provinces, idempotency, CLI."""

import io
from datetime import datetime
from functools import partial

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Decision, JobOrder
from matching.models._common import utcnow
from matching.operations.imports.decisions import import_decisions
from matching.operations.imports.parsing import import_file
from tests.conftest import add_job_order, messages

#: From a file, as the import pages and the CLI come in.
import_decisions_file = partial(import_file, import_rows=import_decisions)

HEADER = "job_order_external_id,trainee_external_id,decision"


def csv_file(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join((header, *rows)) + "\n").encode("utf-8"))


def decisions() -> list[tuple[str, str, str]]:
    """Every decision on record as (job order, trainee, decision), in insertion order."""
    stmt = (sa.select(JobOrder.external_id, Decision.trainee_id, Decision.decision)
            .join(JobOrder, Decision.job_order_id == JobOrder.id).order_by(Decision.id))
    return [tuple(r) for r in db.session.execute(stmt)]


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Decision))


@pytest.fixture
def make_job(app, make_org):
    employer = make_org(kind="employer", code="sakura-foods", name="Sakura Foods")

    def make(external_id="JO-1", employer=employer):
        return add_job_order(external_id=external_id, employer_id=employer.id,
                             title="Line worker", field="food_manufacturing", headcount=2,
                             visa_track="SSW1")

    return make


@pytest.fixture
def world(make_job, make_trainee):
    """Two job orders, three trainees; "T-2" is the ID of a trainee in two provinces."""
    jobs = [make_job("JO-1"), make_job("JO-2")]
    trainees = {
        "T-1": make_trainee(external_id="T-1", province="nghe-an"),
        "T-2@nghe-an": make_trainee(external_id="T-2", province="nghe-an"),
        "T-2@dak-lak": make_trainee(external_id="T-2", province="dak-lak"),
    }
    return jobs, trainees


# -- a good file ----------------------------------------------------------------------------


def test_good_file_inserts_every_decision(app, world):
    _jobs, trainees = world
    before = utcnow()
    result = import_decisions_file(csv_file(
        "JO-1,T-1,Shortlisted,2026-03-01,",
        "JO-1,T-1,INTERVIEWED,2026-03-10 14:30,",
        "JO-2,T-1,selected,,",
        "JO-2,T-2,rejected,2026-03-02T09:00:00+09:00,Phú Yên",  # a former province name
        header=HEADER + ",decided_at,trainee_province"), "d.csv")

    assert result.ok, messages(result)
    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 4, 0, 0)
    t1, t2 = trainees["T-1"].id, trainees["T-2@dak-lak"].id
    assert decisions() == [("JO-1", t1, "shortlisted"), ("JO-1", t1, "interviewed"),
                           ("JO-2", t1, "selected"), ("JO-2", t2, "rejected")]
    times = db.session.scalars(sa.select(Decision.decided_at).order_by(Decision.id)).all()
    assert times[0] == datetime(2026, 3, 1)
    assert times[1] == datetime(2026, 3, 10, 14, 30)
    assert before <= times[2] <= utcnow()  # no decided_at: now
    assert times[3] == datetime(2026, 3, 2, 0, 0)  # 09:00 in Japan is midnight UTC
    assert db.session.scalars(sa.select(Decision.decided_by_id)).all() == [None] * 4


def test_decisions_change_neither_trainee_status_nor_anything_else(app, world):
    _jobs, trainees = world
    assert import_decisions_file(csv_file("JO-1,T-1,selected"), "d.csv").ok
    db.session.expire_all()
    assert trainees["T-1"].status == "available"


def test_plain_dicts_and_a_user(app, world, make_user):
    jobs, trainees = world
    admin = make_user(role="admin")
    result = import_decisions([{"job_order_external_id": "JO-1", "trainee_external_id": "T-1",
                                "decision": "shortlisted"}], user=admin)
    assert result.ok and result.created == 1
    decision = db.session.scalars(sa.select(Decision)).one()
    assert (decision.job_order_id, decision.trainee_id) == (jobs[0].id, trainees["T-1"].id)
    assert decision.decided_by_id == admin.id


# -- bad rows -------------------------------------------------------------------------------


def test_bad_rows_write_nothing_and_every_bad_line_is_named(app, world):
    result = import_decisions_file(csv_file(
        "JO-1,T-1,shortlisted,",
        "JO-9,T-1,shortlisted,",
        "JO-1,T-9,shortlisted,",
        "JO-1,T-1,hired,",
        "JO-2,T-1,selected,not a date",
        "JO-2,T-1,selected,2999-01-01",
        ",,,2026-01-01",
        header=HEADER + ",decided_at"), "d.csv")
    assert count() == 0 and result.created == 0
    found = messages(result)
    assert (3, "job_order_external_id", "Unknown job order “JO-9”.") in found
    assert (4, "trainee_external_id", "Unknown trainee “T-9”.") in found
    assert (5, "decision", "Unknown decision “hired”; use one of shortlisted, interviewed, "
                           "selected, rejected.") in found
    assert (6, "decided_at", "“not a date” is not a date or a date and time; write YYYY-MM-DD "
                             "or YYYY-MM-DD HH:MM.") in found
    assert (7, "decided_at", "The decision time 2999-01-01 is in the future.") in found
    assert {(e.line, e.column) for e in result.errors if e.line == 8} == {
        (8, "job_order_external_id"), (8, "trainee_external_id"), (8, "decision")}
    assert {e.line for e in result.errors} == {3, 4, 5, 6, 7, 8}


def test_an_ambiguous_trainee_needs_the_province_column(app, world):
    _jobs, trainees = world
    result = import_decisions_file(csv_file("JO-1,T-1,shortlisted", "JO-1,T-2,shortlisted"),
                                   "d.csv")
    assert messages(result) == [
        (3, "trainee_external_id", "The trainee ID “T-2” exists in several provinces: Dak Lak, "
                                   "Nghe An. Add a trainee_province column to say which.")]
    assert count() == 0

    header = HEADER + ",trainee_province"
    result = import_decisions_file(csv_file(
        "JO-1,T-2,shortlisted,Nghệ An", "JO-2,T-2,shortlisted,Atlantis",
        "JO-2,T-2,shortlisted,Hà Nội", "JO-2,T-2,shortlisted,", header=header), "d.csv")
    assert messages(result) == [
        (3, "trainee_province", "Unknown province “Atlantis”."),
        (4, "trainee_external_id", "There is no trainee “T-2” in Hanoi."),
        (5, "trainee_external_id", "The trainee ID “T-2” exists in several provinces: Dak "
                                   "Lak, Nghe An. Add a trainee_province column to say which."),
    ]

    result = import_decisions_file(csv_file(
        "JO-1,T-2,shortlisted,nghe-an", "JO-2,T-2,selected,Phu Yen",  # a former province name
        "JO-2,T-1,selected,", header=header), "d.csv")
    assert result.ok, messages(result)
    assert decisions() == [("JO-1", trainees["T-2@nghe-an"].id, "shortlisted"),
                           ("JO-2", trainees["T-2@dak-lak"].id, "selected"),
                           ("JO-2", trainees["T-1"].id, "selected")]


def test_duplicates_in_one_file_name_the_earlier_line(app, world):
    header = HEADER + ",decided_at"
    result = import_decisions_file(csv_file(
        "JO-1,T-1,shortlisted,", "JO-1,T-1,interviewed,",
        "JO-2,T-1,shortlisted,2026-01-05", "JO-2,T-1,shortlisted,05/01/2026",
        header=header), "d.csv")
    assert messages(result) == [
        (3, "trainee_external_id", "This trainee and job order already have a decision without "
                                   "a date on line 2; give each decision its decided_at to "
                                   "record a history."),
        (5, "decision", "The same decision at the same time appears twice in the file: first "
                        "on line 4."),
    ]
    assert count() == 0


def test_file_level_problems_and_roles(app, world, make_user):
    result = import_decisions_file(csv_file("JO-1,T-1,x", header="job_order_external_id,"
                                            "trainee_id,decision"), "d.csv")
    assert (1, None, "The required column “trainee_external_id” is missing.") in \
        messages(result)
    assert messages(import_decisions_file(csv_file(), "d.csv")) == [
        (1, None, "The file has a header row but no decisions.")]
    result = import_decisions_file(csv_file("JO-1,T-1,selected"), "d.csv",
                                   user=make_user(role="department"))
    assert not result.ok and count() == 0


def test_an_employer_only_records_decisions_on_its_own_job_orders(app, world, make_job,
                                                                  make_org, make_user):
    rival = make_org(kind="employer", code="rival", name="Rival KK")
    make_job("JO-R", employer=rival)
    own_user = make_user(role="employer", org=world[0][0].employer)
    result = import_decisions_file(csv_file("JO-1,T-1,selected", "JO-R,T-1,selected"), "d.csv",
                                   user=own_user)
    assert messages(result) == [(3, "job_order_external_id", "Unknown job order “JO-R”.")]
    assert count() == 0
    result = import_decisions_file(csv_file("JO-1,T-1,selected"), "d.csv", user=own_user)
    assert result.ok
    assert db.session.scalars(sa.select(Decision.decided_by_id)).one() == own_user.id


# -- history and idempotency ----------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(app, world):
    header = HEADER + ",decided_at,trainee_province"
    rows = ("JO-1,T-1,shortlisted,2026-03-01,", "JO-1,T-1,interviewed,2026-03-10 14:30,",
            "JO-2,T-1,selected,,", "JO-2,T-2,rejected,2026-03-02,dak-lak")
    first = import_decisions_file(csv_file(*rows, header=header), "d.csv")
    assert first.ok and first.created == 4
    on_record = decisions()

    again = import_decisions_file(csv_file(*rows, header=header), "d.csv")
    assert again.ok, messages(again)
    assert (again.rows, again.created, again.updated, again.unchanged) == (4, 0, 0, 4)
    assert [p["action"] for p in again.preview] == ["unchanged"] * 4
    assert decisions() == on_record


def test_an_undated_row_is_skipped_only_when_it_is_already_the_latest_decision(app, world):
    _jobs, trainees = world
    t1 = trainees["T-1"].id
    header = HEADER + ",decided_at"
    assert import_decisions_file(csv_file(
        "JO-1,T-1,shortlisted,2026-01-01", "JO-1,T-1,selected,2026-02-01",
        "JO-1,T-1,rejected,2026-03-01", "JO-2,T-1,interviewed,2026-03-01", header=header),
        "d.csv").created == 4

    # JO-1: "selected" is on record but the latest is "rejected", so it is a new decision.
    # JO-2: "interviewed" is the latest already.
    result = import_decisions_file(csv_file("JO-1,T-1,selected", "JO-2,T-1,interviewed"),
                                   "d.csv")
    assert (result.created, result.unchanged) == (1, 1)
    assert decisions()[-1] == ("JO-1", t1, "selected")
    # Now "selected" is the latest for JO-1: importing the file again changes nothing.
    result = import_decisions_file(csv_file("JO-1,T-1,selected", "JO-2,T-1,interviewed"),
                                   "d.csv")
    assert (result.created, result.unchanged) == (0, 2)

    # A dated row of the same file counts: after a later "rejected", "selected" is news.
    rows = (f"JO-1,T-1,rejected,{utcnow().isoformat(' ')}", "JO-1,T-1,selected,")
    result = import_decisions_file(csv_file(*rows, header=header), "d.csv")
    assert (result.created, result.unchanged) == (2, 0)
    result = import_decisions_file(csv_file(*rows, header=header), "d.csv")
    assert (result.created, result.unchanged) == (0, 2)


def test_dry_run_counts_but_writes_nothing(app, world):
    assert import_decisions_file(csv_file("JO-1,T-1,shortlisted"), "d.csv").ok
    result = import_decisions_file(csv_file("JO-1,T-1,shortlisted", "JO-2,T-1,selected"),
                                   "d.csv", dry_run=True)
    assert result.ok and result.dry_run
    assert (result.created, result.unchanged) == (1, 1)
    assert count() == 1


def test_a_constant_number_of_queries(app, make_job, make_trainee, count_queries):
    make_job("JO-1")
    for i in range(30):
        make_trainee(external_id=f"Q-{i}")

    def rows(n, decision):
        return [{"job_order_external_id": "JO-1", "trainee_external_id": f"Q-{i % 30}",
                 "decision": decision, "decided_at": f"2026-01-01 00:{i // 30:02d}"}
                for i in range(n)]

    with count_queries() as small:
        assert import_decisions(rows(5, "shortlisted")).created == 5
    with count_queries() as large:
        assert import_decisions(rows(900, "interviewed")).created == 900
    assert large[0] == small[0]


# -- CLI -------------------------------------------------------------------------------------


def test_cli_imports_decisions_and_reimport_changes_nothing(app, runner, world, tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_bytes(csv_file("JO-1,T-1,shortlisted", "JO-2,T-1,selected").getvalue())
    result = runner.invoke(args=["import", "decisions", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 created, 0 updated, 0 unchanged" in result.stdout
    result = runner.invoke(args=["import", "decisions", str(path)])
    assert "2 rows: 0 created, 0 updated, 2 unchanged" in result.stdout
    assert count() == 2


def test_cli_bad_file_exits_1_and_writes_nothing(app, runner, world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_file("JO-1,T-1,shortlisted", "JO-1,T-2,selected", "JO-X,T-1,yes"
                              ).getvalue())
    result = runner.invoke(args=["import", "decisions", str(path)])
    assert result.exit_code == 1
    assert "line 3, trainee_external_id: The trainee ID “T-2” exists in several provinces: " \
           "Dak Lak, Nghe An." in result.stderr
    assert "line 4, decision: Unknown decision “yes”" in result.stderr
    assert count() == 0


def test_cli_dry_run_writes_nothing(app, runner, world, tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_bytes(csv_file("JO-1,T-1,shortlisted").getvalue())
    result = runner.invoke(args=["import", "decisions", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 rows: 1 to create, 0 to update, 0 unchanged" in result.stdout
    assert "dry run: nothing written" in result.stdout
    assert count() == 0
