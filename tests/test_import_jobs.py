"""Bulk job-order import: values, employers created once, idempotency, errors, XLSX, CLI."""

import io
from datetime import date
from functools import partial

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import JobOrder, Organisation
from matching.operations.imports import job_orders as job_imports
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import import_file
from tests.conftest import english, messages, xlsx

#: From a file, as the import pages and the CLI come in.
import_job_orders_file = partial(import_file, import_rows=import_job_orders)

HEADER = ("external_id,employer,title,field,required_skills,preferred_skills,"
          "min_japanese_level,headcount,prefecture,monthly_salary_jpy,start_date,visa_track")


def row(external_id="JO-1", employer="Sakura Foods", title="Food line worker",
        field="food_manufacturing", required="HACCP; Food hygiene", preferred="",
        level="N4", headcount="3", prefecture="Aichi", salary='"215,000"',
        start="2026-10-01", visa="SSW1", *extra: str) -> str:
    return ",".join((external_id, employer, title, field, required, preferred, level,
                     headcount, prefecture, salary, start, visa, *extra))


def csv_file(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join((header, *rows)) + "\n").encode("utf-8"))


def job(external_id: str) -> JobOrder:
    return db.session.scalars(sa.select(JobOrder).where(JobOrder.external_id == external_id)
                              ).one()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def employers() -> list[tuple[str, str]]:
    stmt = sa.select(Organisation.code, Organisation.name).where(
        Organisation.kind == "employer").order_by(Organisation.code)
    return [tuple(r) for r in db.session.execute(stmt)]


GOOD = (
    row(),
    row("JO-2", "sakura foods", "Bento packer", "Chế biến thực phẩm và đồ uống",
        "packaging;Packaging", "bakery", "", "1", "", "", "", "tItP"),
    row("JO-3", "Toyota Parts Co.", "CNC operator", "manufacturing", "CNC machining",
        "welding;forklift", "JLPT N3", "12", "愛知県", "¥240000", "01/04/2027", "SSW-2"),
)


# -- a good file ----------------------------------------------------------------------------


def test_good_file_stores_every_value_and_creates_each_employer_once(app):
    result = import_job_orders_file(csv_file(*GOOD), "jobs.csv")

    assert result.ok, messages(result)
    assert (result.rows, result.created, result.updated) == (3, 3, 0)
    assert result.employers_created == 2
    # "Sakura Foods" is named twice (in two spellings) but created once.
    assert employers() == [("sakura-foods", "Sakura Foods"),
                           ("toyota-parts-co", "Toyota Parts Co.")]
    sakura = db.session.scalar(sa.select(Organisation).where(Organisation.code == "sakura-foods"))
    assert sakura.country == "JP" and sakura.province is None

    first = job("JO-1")
    assert first.employer_id == sakura.id
    assert (first.title, first.field, first.headcount) == ("Food line worker",
                                                           "food_manufacturing", 3)
    assert first.required_skills == "haccp;food-hygiene"
    assert (first.min_language_level, first.min_language_rank) == ("N4", 2)
    assert (first.prefecture, first.monthly_salary_jpy) == ("aichi", 215_000)
    assert (first.start_date, first.visa_track, first.status) == (date(2026, 10, 1), "SSW1",
                                                                  "open")
    assert first.agency_id is None

    second = job("JO-2")
    assert second.employer_id == sakura.id
    assert second.field == "food_manufacturing"  # the Vietnamese name of the field
    assert (second.required_skills, second.preferred_skills) == ("packaging", "bakery")
    assert (second.min_language_level, second.min_language_rank) == ("none", 0)
    assert (second.prefecture, second.monthly_salary_jpy, second.start_date) == (None, None,
                                                                                 None)
    assert second.visa_track == "TITP"

    third = job("JO-3")
    assert third.employer.code == "toyota-parts-co"
    assert (third.required_skills, third.preferred_skills) == ("cnc-machining",
                                                               "welding;forklift")
    assert (third.min_language_level, third.min_language_rank) == ("N3", 3)
    assert (third.prefecture, third.monthly_salary_jpy) == ("aichi", 240_000)
    assert (third.start_date, third.visa_track) == (date(2027, 4, 1), "SSW2")


def test_existing_employers_are_found_by_code_or_name(app, make_org):
    acme = make_org(kind="employer", code="acme-jp", name="ACME Kōgyō K.K.")
    result = import_job_orders_file(csv_file(
        row("JO-1", "acme-jp"), row("JO-2", "Acme Kogyo KK"), row("JO-3", "ＡＣＭＥ Kōgyō K.K.")),
        "jobs.csv")
    assert result.ok, messages(result)
    assert result.employers_created == 0
    assert {job(f"JO-{i}").employer_id for i in (1, 2, 3)} == {acme.id}
    assert employers() == [("acme-jp", "ACME Kōgyō K.K.")]


def test_a_new_employer_code_never_clashes(app, make_org):
    make_org(kind="agency", code="sakura-foods", name="Another name")
    make_org(kind="employer", code="sakura-foods-2", name="Yet another")
    result = import_job_orders_file(csv_file(row()), "jobs.csv")
    assert result.ok, messages(result)
    assert job("JO-1").employer.code == "sakura-foods-3"


def test_optional_agency_and_status_columns(app, make_org):
    agency = make_org(kind="agency", code="vn-dispatch", name="Việt Nam Dispatch JSC")
    header = HEADER + ",agency,status"
    result = import_job_orders_file(csv_file(
        row("JO-1") + ",vn-dispatch,Draft",
        row("JO-2") + ",viet nam dispatch jsc,",
        header=header), "jobs.csv")
    assert result.ok, messages(result)
    assert (job("JO-1").agency_id, job("JO-1").status) == (agency.id, "draft")
    assert (job("JO-2").agency_id, job("JO-2").status) == (agency.id, "open")


# -- re-import: idempotent updates ----------------------------------------------------------


def test_reimport_is_idempotent(app):
    assert import_job_orders_file(csv_file(*GOOD), "jobs.csv").ok
    before = [(j.external_id, j.employer_id, j.title, j.required_skills, j.headcount,
               j.monthly_salary_jpy) for j in db.session.scalars(sa.select(JobOrder)
                                                                 .order_by(JobOrder.id))]
    db.session.expire_all()

    again = import_job_orders_file(csv_file(*GOOD), "jobs.csv")

    assert again.ok, messages(again)
    assert (again.created, again.updated, again.employers_created) == (0, 3, 0)
    assert count(JobOrder) == 3 and len(employers()) == 2
    after = [(j.external_id, j.employer_id, j.title, j.required_skills, j.headcount,
              j.monthly_salary_jpy) for j in db.session.scalars(sa.select(JobOrder)
                                                                .order_by(JobOrder.id))]
    assert after == before


def test_reimport_updates_changed_values_and_keeps_what_the_file_does_not_say(app, make_org):
    agency = make_org(kind="agency", code="vn-dispatch")
    header = HEADER + ",agency,status"
    assert import_job_orders_file(csv_file(row() + ",vn-dispatch,filled", header=header),
                                  "jobs.csv").ok
    db.session.expire_all()

    # A blank status keeps the current one; a file without the agency column leaves it.
    result = import_job_orders_file(csv_file(
        row(title="Senior line worker", headcount="5", level="N3", salary="230000",
            required="haccp;forklift", visa="ssw2") + ",vn-dispatch,",
        header=header), "jobs.csv")
    assert result.ok and (result.created, result.updated) == (0, 1)
    db.session.expire_all()
    updated = job("JO-1")
    assert (updated.title, updated.headcount, updated.monthly_salary_jpy) == (
        "Senior line worker", 5, 230_000)
    assert (updated.min_language_level, updated.min_language_rank) == ("N3", 3)
    assert (updated.required_skills, updated.visa_track) == ("haccp;forklift", "SSW2")
    assert (updated.status, updated.agency_id) == ("filled", agency.id)

    assert import_job_orders_file(csv_file(row(title="Without agency column")), "j.csv").ok
    db.session.expire_all()
    assert (job("JO-1").agency_id, job("JO-1").status) == (agency.id, "filled")
    assert job("JO-1").title == "Without agency column"


def test_a_job_order_never_moves_to_another_employer(app, make_org):
    make_org(kind="employer", code="other-co", name="Other Co")
    assert import_job_orders_file(csv_file(row()), "jobs.csv").ok
    employer_id = job("JO-1").employer_id

    result = import_job_orders_file(csv_file(row("JO-2"), row("JO-1", "Other Co"),
                                             row("JO-3", "Brand New KK")), "jobs.csv")
    assert messages(result) == [(3, "employer", "The job order “JO-1” belongs to another "
                                                "employer; a job order never changes employer.")]
    db.session.expire_all()
    assert job("JO-1").employer_id == employer_id
    assert count(JobOrder) == 1 and len(employers()) == 2  # Brand New KK was not created

    # Naming an existing job order under a new employer name is the same mistake.
    result = import_job_orders_file(csv_file(row("JO-1", "Brand New KK")), "jobs.csv")
    assert [(e.line, e.column) for e in result.errors] == [(2, "employer")]
    assert len(employers()) == 2


# -- bad rows: nothing written, every bad line named ----------------------------------------


def test_bad_rows_write_nothing_and_every_bad_line_is_named(app):
    result = import_job_orders_file(csv_file(
        row("JO-1"),
        row("JO-2", employer="New Employer KK", field="rocket science"),
        row("JO-3", level="N9"),
        row("JO-4", headcount="0"),
        row("JO-5", visa="H-1B"),
        row("JO-6", salary="lots"),
        row("JO-7", prefecture="Atlantis"),
        row("JO-1", title="Duplicate"),
        row("", employer="", title=""),
        row("JO-10", start="31/02/2026", salary="-5"),
    ), "bad.csv")

    assert not result.ok and result.created == result.updated == 0
    assert count(JobOrder) == 0 and employers() == []
    found = messages(result)
    assert (3, "field", "Unknown field “rocket science”.") in found
    assert (4, "min_japanese_level", "Unknown Japanese level “N9”; use none, N5 to N1, JFT-A2 "
                                     "or A1 to C2.") in found
    assert (5, "headcount", "The headcount must be a whole number from 1 to 10000, not "
                            "“0”.") in found
    assert (6, "visa_track", "Unknown visa track “H-1B”; use one of TITP, SSW1, SSW2, "
                             "ESD.") in found
    assert (7, "monthly_salary_jpy", "The monthly salary must be a whole number of yen from 0 "
                                     "to 10000000, not “lots”.") in found
    assert (8, "prefecture", "Unknown prefecture “Atlantis”.") in found
    assert (9, "external_id", "The job order ID “JO-1” appears twice in the file: first on "
                              "line 2.") in found
    for column in ("external_id", "employer", "title"):
        assert (10, column, "A value is required in this column.") in found
    assert any(e[:2] == (11, "start_date") and "31/02/2026" in e[2] for e in found)
    assert any(e[:2] == (11, "monthly_salary_jpy") and "“-5”" in e[2] for e in found)
    assert {e.line for e in result.errors} == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert [e.line for e in result.errors] == sorted(e.line for e in result.errors)


@pytest.mark.parametrize(("changes", "column", "fragment"), [
    ({"headcount": "2.5"}, "headcount", "whole number"),
    ({"headcount": "10001"}, "headcount", "“10001”"),
    ({"salary": '"215.000,5"'}, "monthly_salary_jpy", "“215.000,5”"),
    ({"salary": "99999999"}, "monthly_salary_jpy", "0 to 10000000"),
    ({"title": "X" * 201}, "title", "longer than 200"),
    ({"external_id": "J" * 65}, "external_id", "longer than 64"),
    ({"required": "-;" * 10 + "a" * 1001}, "required_skills", "longer than 1000"),
    ({"visa": "Specified Skilled Worker (iii)"}, "visa_track", "Unknown visa track"),
])
def test_each_kind_of_bad_cell_is_reported(app, changes, column, fragment):
    result = import_job_orders_file(csv_file(row(**changes)), "jobs.csv")
    assert [(e.line, e.column) for e in result.errors] == [(2, column)]
    assert fragment in english(result.errors[0].message)
    assert count(JobOrder) == 0


@pytest.mark.parametrize(("typed", "stored"), [
    ('"215,000"', 215_000), ("215000", 215_000), ('"¥215,000"', 215_000),
    ("215000円", 215_000), ('"215 000"', 215_000), ("０", 0),
])
def test_salary_spellings(app, typed, stored):
    assert import_job_orders_file(csv_file(row(salary=typed)), "jobs.csv").ok
    assert job("JO-1").monthly_salary_jpy == stored


@pytest.mark.parametrize(("typed", "stored"), [
    ("titp", "TITP"), ("SSW 1", "SSW1"), ("ssw-2", "SSW2"), ("esd", "ESD"),
    ("Specified Skilled Worker (i)", "SSW1"), ("Specified skilled worker (ii)", "SSW2"),
    ("特定技能1号", "SSW1"), ("技能実習", "TITP"),
])
def test_visa_track_spellings(app, typed, stored):
    assert import_job_orders_file(csv_file(row(visa=typed)), "jobs.csv").ok
    assert job("JO-1").visa_track == stored


def test_unknown_and_ambiguous_organisations_are_row_errors(app, make_org):
    make_org(kind="department", code="nghe-an-dolab", name="Sở LĐTBXH Nghệ An")
    make_org(kind="employer", code="twin-a", name="Twin KK")
    make_org(kind="employer", code="twin-b", name="Twin K.K.")
    make_org(kind="employer", code="not-an-agency", name="Employer Only")
    header = HEADER + ",agency"
    result = import_job_orders_file(csv_file(
        row("JO-1", "nghe-an-dolab") + ",",
        row("JO-2", "Twin KK") + ",",
        row("JO-3") + ",Nowhere Agency",
        row("JO-4") + ",not-an-agency",
        header=header), "jobs.csv")
    assert messages(result) == [
        (2, "employer", "“nghe-an-dolab” is not an organisation of the kind “Employer” but of "
                        "the kind “Labour department”."),
        (3, "employer", "Several organisations are named “Twin KK”; write the organisation's "
                        "code instead."),
        (4, "agency", "Unknown agency “Nowhere Agency”."),
        (5, "agency", "“not-an-agency” is not an organisation of the kind “Dispatch agency” but "
                      "of the kind “Employer”."),
    ]
    assert count(JobOrder) == 0 and len(employers()) == 3


def test_file_level_problems(app):
    result = import_job_orders_file(csv_file(row(), header=HEADER.replace("headcount",
                                                                          "head_count")), "j.csv")
    assert (1, None, "Unknown column “head_count”. Did you mean “headcount”?") in messages(result)
    assert (1, None, "The required column “headcount” is missing.") in messages(result)
    assert messages(import_job_orders_file(csv_file(), "j.csv")) == [
        (1, None, "The file has a header row but no job orders.")]
    result = import_job_orders_file(io.BytesIO(b"x"), "jobs.ods")
    assert "Only .csv and .xlsx" in english(result.errors[0].message)


def test_utf8_bom_and_semicolon_separated_csv(app):
    text = "\n".join((HEADER.replace(",", ";"),
                      row(salary="215000").replace(",", ";").replace("HACCP; Food", "HACCP, "
                                                                                   "Food")))
    result = import_job_orders_file(io.BytesIO(b"\xef\xbb\xbf" + text.encode()), "jobs.csv")
    assert result.ok, messages(result)
    assert job("JO-1").required_skills == "haccp;food-hygiene"


def test_a_database_error_rolls_back_the_new_employers_too(app, monkeypatch):
    assert import_job_orders_file(csv_file(row("JO-1")), "jobs.csv").ok
    db.session.commit()  # the first import's command ends
    # As if JO-1 were new: its INSERT breaks the unique external_id after the employer went in.
    monkeypatch.setattr(job_imports, "_existing", lambda external_ids: {})
    with pytest.raises(sa.exc.IntegrityError):
        import_job_orders_file(csv_file(row("JO-2", "Brand New KK"), row("JO-1")), "jobs.csv")
    assert count(JobOrder) == 1 and employers() == [("sakura-foods", "Sakura Foods")]


# -- users, dry run, XLSX, bulk ---------------------------------------------------------------


def test_an_employer_user_imports_only_its_own_job_orders(app, make_org, make_user):
    own = make_org(kind="employer", code="own-kk", name="Own KK")
    make_org(kind="employer", code="rival-kk", name="Rival KK")
    user = make_user(role="employer", org=own)
    result = import_job_orders_file(csv_file(
        row("JO-1", "Own KK"), row("JO-2", "rival-kk"), row("JO-3", "Unknown KK")),
        "jobs.csv", user=user)
    assert [(e.line, e.column) for e in result.errors] == [(3, "employer"), (4, "employer")]
    assert "your own organisation" in english(result.errors[0].message)
    assert count(JobOrder) == 0 and len(employers()) == 2

    result = import_job_orders_file(csv_file(row("JO-1", "own-kk")), "jobs.csv", user=user)
    assert result.ok and job("JO-1").created_by_id == user.id


def test_other_roles_may_not_import_job_orders(app, make_user):
    result = import_job_orders_file(csv_file(row()), "jobs.csv", user=make_user(role="agency"))
    assert not result.ok and count(JobOrder) == 0 and employers() == []


def test_dry_run_counts_but_writes_nothing(app):
    assert import_job_orders_file(csv_file(GOOD[0]), "jobs.csv").ok
    result = import_job_orders_file(csv_file(*GOOD), "jobs.csv", dry_run=True)
    assert result.ok and result.dry_run
    assert (result.rows, result.created, result.updated) == (3, 2, 1)
    assert (result.employers_created, result.new_employers) == (1, ["Toyota Parts Co."])
    assert [p["action"] for p in result.preview] == ["update", "create", "create"]
    assert count(JobOrder) == 1 and len(employers()) == 1


def test_xlsx_with_numbers_and_date_cells(app):
    stream = xlsx([
        HEADER.split(","),
        [1001, "Sakura Foods", "Line worker", "food_manufacturing", "haccp", None, "N4", 3.0,
         "Tokyo", 215000, date(2026, 10, 1), "SSW1"],
        [None] * 12,
        [1002, "Sakura Foods", "Packer", "food_manufacturing", None, None, None, 0,
         None, None, None, "SSW1"],
    ])
    result = import_job_orders_file(stream, "jobs.XLSX")
    assert [(e.line, e.column) for e in result.errors] == [(4, "headcount")]

    stream = xlsx([HEADER.split(","),
                   [1001, "Sakura Foods", "Line worker", "food_manufacturing", "haccp", None,
                    "N4", 3.0, "Tokyo", 215000.0, date(2026, 10, 1), "SSW1"]])
    result = import_job_orders_file(stream, "jobs.xlsx")
    assert result.ok, messages(result)
    first = job("1001")
    assert (first.headcount, first.monthly_salary_jpy, first.start_date) == (
        3, 215_000, date(2026, 10, 1))
    assert first.prefecture == "tokyo"


def test_plain_dicts_and_a_constant_number_of_queries(app, count_queries):
    def rows(n, prefix):
        return [{"external_id": f"{prefix}{i}", "employer": f"Employer {prefix}{i % 3}",
                 "title": "Worker", "field": "construction", "min_japanese_level": "N4",
                 "headcount": 2, "visa_track": "SSW1", "required_skills": "formwork"}
                for i in range(n)]

    with count_queries() as small:
        assert import_job_orders(rows(10, "S")).created == 10
    with count_queries() as large:
        assert import_job_orders(rows(1000, "L")).created == 1000
    assert large[0] <= small[0] + 2  # one more chunk of the existing-ID lookup
    with count_queries() as again:
        assert import_job_orders(rows(1000, "L")).updated == 1000
    assert again[0] <= large[0]


# -- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_bytes(csv_file(*GOOD).getvalue())
    return path


def test_cli_imports_job_orders(app, runner, good_file):
    result = runner.invoke(args=["import", "job-orders", str(good_file)])
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 created, 0 updated" in result.stdout
    assert "employers created: 2 (Sakura Foods, Toyota Parts Co.)" in result.stdout
    assert count(JobOrder) == 3

    result = runner.invoke(args=["import", "job-orders", str(good_file)])
    assert result.exit_code == 0, result.output
    assert "3 rows: 0 created, 3 updated" in result.stdout
    assert "employers" not in result.stdout


def test_cli_bad_file_exits_1_and_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_file(row(), row("JO-2", headcount="0"), row("JO-3", visa="?")
                              ).getvalue())
    result = runner.invoke(args=["import", "job-orders", str(path)])
    assert result.exit_code == 1
    assert "line 3, headcount: The headcount must be a whole number" in result.stderr
    assert "line 4, visa_track: Unknown visa track “?”" in result.stderr
    assert "2 error(s): nothing written." in result.stderr
    assert count(JobOrder) == 0 and employers() == []


def test_cli_dry_run_writes_nothing(app, runner, good_file):
    result = runner.invoke(args=["import", "job-orders", "--dry-run", str(good_file)])
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 to create, 0 to update" in result.stdout
    assert "employers to create: 2" in result.stdout
    assert "dry run: nothing written" in result.stdout
    assert count(JobOrder) == 0 and employers() == []
