"""Bulk trainee import: parsing, validation, all-or-nothing writes, idempotency, the CLI."""

import io
from datetime import date, datetime
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Skill, Trainee, trainee_skills
from matching.operations.imports import trainees
from matching.operations.imports.parsing import import_file
from matching.operations.imports.reading import ImportFileError, read_table
from matching.operations.imports.trainees import import_trainees
from tests.conftest import english, messages, xlsx

#: From a file, as the import pages and the CLI come in.
import_trainees_file = partial(import_file, import_rows=import_trainees)

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "trainees_sample.csv"
HEADER = ("external_id,full_name,date_of_birth,gender,province,school,field,skills,"
          "japanese_level,training_hours,experience_years,preferred_prefectures,available_from")


def csv_file(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join((header, *rows)) + "\n").encode("utf-8"))


def row(external_id="NA-1", full_name="Phạm Văn Long", dob="2000-02-29", gender="M",
        province="Nghệ An", school="", field="construction", skills="welding",
        level="N4", hours="100", years="1", prefectures="", available="") -> str:
    return ",".join((external_id, full_name, dob, gender, province, school, field, skills,
                     level, hours, years, prefectures, available))


def trainee(external_id: str, province: str | None = None) -> Trainee:
    stmt = sa.select(Trainee).where(Trainee.external_id == external_id)
    if province:
        stmt = stmt.where(Trainee.province == province)
    return db.session.scalars(stmt).one()


def count(model_or_table) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model_or_table))


def import_sample(**kw):
    with SAMPLE.open("rb") as stream:
        return import_trainees_file(stream, SAMPLE.name, **kw)


# -- a good file ----------------------------------------------------------------------------


def test_good_csv_imports_every_row_with_the_right_values(app):
    result = import_sample()

    assert result.ok, messages(result)
    assert (result.rows, result.created, result.updated) == (4, 4, 0)
    assert count(Trainee) == 4

    tuyet = trainee("DL-001")
    assert tuyet.province == "dak-lak"  # "Phú Yên" merged into Đắk Lắk in 2025
    assert tuyet.full_name == "Nguyễn Thị Ánh Tuyết"
    assert tuyet.name_folded == "nguyen thi anh tuyet"
    assert tuyet.name_kana == "グエン・ティ・アイン・トゥエット"
    assert tuyet.school == "Trường Cao đẳng Nghề Đắk Lắk"
    assert tuyet.gender == "F"
    assert tuyet.date_of_birth == date(2001, 3, 15)
    assert tuyet.field == "nursing_care"
    assert tuyet.skill_slugs == ["dementia-care", "meal-assistance", "vital-signs"]
    assert (tuyet.japanese_level, tuyet.language_rank) == ("N4", 2)
    assert (tuyet.training_hours, tuyet.experience_years) == (720, 1.5)
    assert tuyet.prefecture_codes == ["tokyo", "osaka"]
    assert tuyet.available_from == date(2026, 4, 1)
    assert (tuyet.email, tuyet.phone) == ("tuyet.nguyen@example.org", "0901 234 567")
    assert tuyet.consent is True and tuyet.status == "available"

    binh = trainee("DL-002")
    assert binh.province == "dak-lak"  # "Phu Yen" without diacritics
    assert binh.full_name == "Trần Văn Bình"  # runs of spaces collapsed
    assert binh.date_of_birth == date(1999, 8, 15)  # typed 15/08/1999
    assert binh.field == "construction"  # Vietnamese field name
    assert (binh.japanese_level, binh.language_rank) == ("N3", 3)
    assert binh.experience_years == 2.5  # decimal comma
    assert binh.name_kana is None and binh.email is None

    chau = trainee("DL-003")
    assert chau.field == "construction"  # Japanese field name 建設
    assert (chau.japanese_level, chau.language_rank) == ("none", 0)
    assert chau.skills == [] and chau.school is None and chau.preferred_prefectures == ""

    duc = trainee("TQ-001")
    assert duc.province == "tuyen-quang"  # "Hà Giang"
    assert duc.gender is None
    assert duc.consent is False  # "không"
    assert duc.available_from == date(2026, 9, 1)
    assert (duc.japanese_level, duc.language_rank) == ("JFT-A2", 2)


@pytest.mark.parametrize(("typed", "code"), [
    ("Phú Yên", "dak-lak"), ("Phu Yen", "dak-lak"), ("PHÚ YÊN", "dak-lak"),
    ("Hà Giang", "tuyen-quang"), ("ha giang", "tuyen-quang"), ("Tỉnh Nghệ An", "nghe-an"),
    ("nghe-an", "nghe-an"), ("TP. Hồ Chí Minh", "ho-chi-minh"),
])
def test_current_and_former_province_names_store_the_current_code(app, typed, code):
    result = import_trainees_file(csv_file(row(province=f'"{typed}"')), "t.csv")
    assert result.ok, messages(result)
    assert trainee("NA-1").province == code


@pytest.mark.parametrize(("typed", "stored"), [
    ("F", "F"), ("nữ", "F"), ("Nu", "F"), ("女", "F"), ("female", "F"),
    ("m", "M"), ("Nam", "M"), ("男", "M"), ("x", "X"), ("", None),
])
def test_gender_spellings(app, typed, stored):
    result = import_trainees_file(csv_file(row(gender=typed)), "t.csv")
    assert result.ok, messages(result)
    assert trainee("NA-1").gender == stored


def test_semicolon_separated_csv_from_a_vietnamese_excel_is_read(app):
    header = HEADER.replace(",", ";")
    line = row(years="1,5", skills="welding").replace(",", ";").replace("1;5", '"1,5"')
    result = import_trainees_file(csv_file(line, header=header), "t.csv")
    assert result.ok, messages(result)
    assert trainee("NA-1").experience_years == 1.5


def test_plain_dicts_are_numbered_from_line_2_and_blank_rows_skipped(app):
    good = {"external_id": 7, "full_name": "Võ Thị Hoa", "date_of_birth": date(2001, 1, 2),
            "province": "ha-noi", "field": "agriculture", "japanese_level": "N5"}
    rows = [good, {"external_id": "", "full_name": None}, dict(good, external_id="8",
                                                                 province="Xyz")]
    result = import_trainees(rows)
    assert messages(result) == [(4, "province", "Unknown province “Xyz”.")]
    assert result.rows == 2
    assert import_trainees(rows[:1]).ok
    assert import_trainees([]).ok and import_trainees([{}]).rows == 0
    assert trainee("7").date_of_birth == date(2001, 1, 2)


# -- re-import -------------------------------------------------------------------------------


def test_reimport_is_idempotent_and_updates_changed_values(app):
    first = import_sample()
    assert (first.created, first.updated) == (4, 0)
    ids = set(db.session.scalars(sa.select(Trainee.id)))
    links = count(trainee_skills)

    second = import_sample()
    assert second.ok and (second.rows, second.created, second.updated) == (4, 0, 4)
    assert set(db.session.scalars(sa.select(Trainee.id))) == ids
    assert count(trainee_skills) == links == 6 and count(Skill) == 6

    text = SAMPLE.read_text(encoding="utf-8").replace(
        "dementia-care; Meal assistance;vital-signs,N4,720", "bathing-assistance,N2,900")
    third = import_trainees_file(io.BytesIO(text.encode()), "changed.csv")
    assert third.ok and (third.created, third.updated) == (0, 4)
    db.session.expire_all()
    tuyet = trainee("DL-001")
    assert tuyet.skill_slugs == ["bathing-assistance"]
    assert (tuyet.japanese_level, tuyet.language_rank, tuyet.training_hours) == ("N2", 4, 900)
    assert count(Trainee) == 4


def test_reimport_without_consent_column_keeps_status_and_consent(app, make_trainee):
    existing = make_trainee(external_id="NA-1", province="nghe-an", status="in_process",
                            consent=False, full_name="Old Name")
    result = import_trainees_file(csv_file(row(full_name="Phạm Văn Long")), "t.csv")
    assert result.ok and (result.created, result.updated) == (0, 1)
    db.session.expire_all()
    again = db.session.get(Trainee, existing.id)
    assert again.full_name == "Phạm Văn Long" and again.name_folded == "pham van long"
    assert again.status == "in_process" and again.consent is False


def test_consent_column_updates_consent_but_a_blank_cell_keeps_it(app, make_trainee):
    kept = make_trainee(external_id="NA-1", province="nghe-an", consent=False)
    changed = make_trainee(external_id="NA-2", province="nghe-an", consent=True)
    header = HEADER + ",consent"
    result = import_trainees_file(
        csv_file(row() + ",", row(external_id="NA-2") + ",không", row(external_id="NA-3") + ",",
                 header=header), "t.csv")
    assert result.ok and (result.created, result.updated) == (1, 2)
    db.session.expire_all()
    assert db.session.get(Trainee, kept.id).consent is False
    assert db.session.get(Trainee, changed.id).consent is False
    assert trainee("NA-3").consent is True  # new trainees consent unless the file says no


def test_a_file_without_optional_columns_leaves_them_alone(app, make_trainee):
    existing = make_trainee(external_id="NA-1", province="nghe-an", school="Trường A",
                            email="a@example.org")
    header = "external_id,full_name,date_of_birth,province,field,japanese_level"
    result = import_trainees_file(
        csv_file("NA-1,Phạm Văn Long,2000-01-01,nghe-an,construction,N3", header=header),
        "t.csv")
    assert result.ok
    db.session.expire_all()
    again = db.session.get(Trainee, existing.id)
    assert (again.school, again.email, again.japanese_level) == ("Trường A", "a@example.org",
                                                                 "N3")


# -- bad files: nothing written, every problem named ----------------------------------------


def test_bad_rows_write_nothing_and_every_bad_line_is_named(app):
    before = (count(Trainee), count(Skill))
    result = import_trainees_file(csv_file(
        row(external_id="A1"),
        row(external_id="A2", province="Xyz"),
        row(external_id="A3", dob="31/02/2000", level="N9"),
        row(external_id="A4", field="rocket science", years="60"),
        row(external_id="", full_name=""),
        row(external_id="A6", skills="brand-new-skill"),
    ), "bad.csv")

    assert not result.ok and result.created == result.updated == 0
    assert (count(Trainee), count(Skill)) == before
    found = messages(result)
    assert (3, "province", "Unknown province “Xyz”.") in found
    assert (4, "date_of_birth",
            "“31/02/2000” is not a date; write YYYY-MM-DD or DD/MM/YYYY.") in found
    assert any(e[:2] == (4, "japanese_level") and "N9" in e[2] for e in found)
    assert (5, "field", "Unknown field “rocket science”.") in found
    assert any(e[:2] == (5, "experience_years") and "60" in e[2] for e in found)
    assert (6, "external_id", "A value is required in this column.") in found
    assert (6, "full_name", "A value is required in this column.") in found
    assert {e.line for e in result.errors} == {3, 4, 5, 6}


@pytest.mark.parametrize(("changes", "column", "fragment"), [
    ({"dob": "2099-01-01"}, "date_of_birth", "in the future"),
    ({"dob": (date.today().replace(day=1).isoformat())}, "date_of_birth", "age of 0"),
    ({"dob": "1940-01-01"}, "date_of_birth", "15 to 65"),
    ({"gender": "maybe"}, "gender", "Unknown gender “maybe”"),
    ({"hours": "-5"}, "training_hours", "“-5”"),
    ({"hours": "12.5"}, "training_hours", "whole number"),
    ({"years": "abc"}, "experience_years", "“abc”"),
    ({"prefectures": "tokyo;Atlantis"}, "preferred_prefectures", "Unknown prefecture “Atlantis”"),
    ({"available": "soon"}, "available_from", "“soon” is not a date"),
    ({"external_id": "X" * 65}, "external_id", "longer than 64"),
])
def test_each_kind_of_bad_cell_is_reported(app, changes, column, fragment):
    result = import_trainees_file(csv_file(row(**changes)), "t.csv")
    assert [(e.line, e.column) for e in result.errors] == [(2, column)]
    assert fragment in english(result.errors[0].message)
    assert count(Trainee) == 0


def test_optional_columns_are_validated(app):
    header = HEADER + ",email,phone,consent,name_kana"
    result = import_trainees_file(csv_file(
        row() + ",not-an-email,abc,maybe,Nguyen",
        row(external_id="NA-2") + ",ok@example.org,+84 912 345 678,yes,ぐえん",
        header=header), "t.csv")
    assert [(e.line, e.column) for e in result.errors] == [
        (2, "email"), (2, "phone"), (2, "consent"), (2, "name_kana")]
    fixed = import_trainees_file(csv_file(
        row(external_id="NA-2") + ",ok@example.org,+84 912 345 678,yes,ぐえん", header=header),
        "t.csv")
    assert fixed.ok
    assert trainee("NA-2").name_kana == "グエン"  # hiragana stored as katakana


def test_same_key_twice_in_a_file_names_the_earlier_line(app):
    result = import_trainees_file(csv_file(
        row(external_id="NA-1"), row(external_id="NA-2"),
        row(external_id="NA-1", province="nghe-an"),
        row(external_id="NA-1", province="Hà Nội"),  # another province: a different key
    ), "t.csv")
    assert messages(result) == [(4, "external_id", "The ID “NA-1” appears twice for the same "
                                                  "province: first on line 2.")]
    assert count(Trainee) == 0


def test_unknown_column_is_a_file_level_error_with_a_suggestion(app):
    result = import_trainees_file(csv_file(row(), header=HEADER.replace("province",
                                                                        "provnce")), "t.csv")
    found = messages(result)
    assert (1, None, "Unknown column “provnce”. Did you mean “province”?") in found
    assert (1, None, "The required column “province” is missing.") in found
    assert count(Trainee) == 0


def test_missing_required_column_is_named(app):
    header = HEADER.replace(",japanese_level", "")
    line = row().replace(",N4,", ",")
    assert messages(import_trainees_file(csv_file(line, header=header), "t.csv")) == [
        (1, None, "The required column “japanese_level” is missing.")]


def test_header_names_are_trimmed_and_case_insensitive(app):
    header = ",".join(f" {name.upper()} " for name in HEADER.split(","))
    assert import_trainees_file(csv_file(row(), header=header), "t.csv").ok


@pytest.mark.parametrize(("content", "filename", "fragment"), [
    (b"", "t.csv", "no header row"),
    (b"\n\n", "t.csv", "no header row"),
    (HEADER.encode(), "t.csv", "no trainees"),
    (row().encode("cp1258", errors="replace"), "t.csv", "UTF-8"),
    ("external_id;Nguyễn".encode("utf-16"), "t.csv", "UTF-8"),
    (b"anything", "t.xls", "Only .csv and .xlsx"),
    (b"not a zip", "t.xlsx", "Excel"),
    ((HEADER + ",province\n").encode(), "t.csv", "appears twice"),
])
def test_unreadable_files_are_refused_with_a_clear_message(app, content, filename, fragment):
    result = import_trainees_file(io.BytesIO(content), filename)
    assert not result.ok and len(result.errors) == 1
    assert fragment in english(result.errors[0].message)
    assert result.errors[0].line in (0, 1) and result.errors[0].column is None


def test_read_table_raises_import_file_error(app):
    with pytest.raises(ImportFileError):
        read_table(io.BytesIO(b"a,b"), "t.ods")


def test_utf8_bom_is_tolerated(app):
    stream = io.BytesIO(b"\xef\xbb\xbf" + csv_file(row(full_name="Đặng Thu Hà")).getvalue())
    header, rows = read_table(stream, "bom.csv")
    assert header[0] == "external_id"
    stream.seek(0)
    result = import_trainees_file(stream, "bom.csv")
    assert result.ok, messages(result)
    assert trainee("NA-1").full_name == "Đặng Thu Hà"


# -- XLSX ------------------------------------------------------------------------------------


def test_xlsx_with_date_cells_and_numeric_ids(app):
    header = HEADER.split(",")
    stream = xlsx([
        header,
        [1001, "Nguyễn Thị Ánh Tuyết", datetime(2001, 3, 15), "F", "Phú Yên",
         "Trường Cao đẳng Nghề Đắk Lắk", "Điều dưỡng – chăm sóc", "dementia-care;vital-signs",
         "N3", 720, 1.5, "Tokyo", date(2026, 4, 1)],
        [None] * len(header),  # a blank row in the middle is skipped
        [1002.0, "Lê Văn Tám", "15/08/1999", "M", "Phu Yen", None, "agriculture", None,
         "none", 0, 0, None, None],
        [1003, "Trần Văn Lỗi", "not a date", "M", "Xyz", None, "agriculture", None,
         "none", 0, 0, None, None],
    ])
    result = import_trainees_file(stream, "trainees.XLSX")
    # Line numbers are the spreadsheet's row numbers, blank row included.
    assert [(e.line, e.column) for e in result.errors] == [(5, "date_of_birth"), (5, "province")]

    stream = xlsx([header, *[r for r in [
        [1001, "Nguyễn Thị Ánh Tuyết", datetime(2001, 3, 15), "F", "Phú Yên",
         "Trường Cao đẳng Nghề Đắk Lắk", "Điều dưỡng – chăm sóc", "dementia-care;vital-signs",
         "N3", 720, 1.5, "Tokyo", date(2026, 4, 1)],
        [1002.0, "Lê Văn Tám", "15/08/1999", "M", "Phu Yen", None, "agriculture", None,
         "none", 0, 0, None, None]]]])
    result = import_trainees_file(stream, "trainees.xlsx")
    assert result.ok, messages(result)
    assert sorted(db.session.scalars(sa.select(Trainee.external_id))) == ["1001", "1002"]
    tuyet = trainee("1001")
    assert tuyet.date_of_birth == date(2001, 3, 15)
    assert tuyet.available_from == date(2026, 4, 1)
    assert tuyet.field == "nursing_care" and tuyet.province == "dak-lak"
    assert (tuyet.training_hours, tuyet.experience_years) == (720, 1.5)
    assert trainee("1002").date_of_birth == date(1999, 8, 15)


# -- dry run, scope, transactions, bulk ------------------------------------------------------


def test_dry_run_counts_but_writes_nothing(app, make_trainee):
    make_trainee(external_id="DL-001", province="dak-lak")
    result = import_sample(dry_run=True)
    assert result.ok and result.dry_run
    assert (result.rows, result.created, result.updated) == (4, 3, 1)
    assert [p["action"] for p in result.preview] == ["update", "create", "create", "create"]
    assert count(Trainee) == 1 and count(Skill) == 0


def test_department_import_is_limited_to_its_province(app, make_user):
    user = make_user(role="department", province="dak-lak")
    result = import_sample(user=user)
    assert messages(result) == [
        (5, "province", "This trainee belongs to Tuyen Quang, outside your province.")]
    assert count(Trainee) == 0

    text = "\n".join(SAMPLE.read_text(encoding="utf-8").splitlines()[:4])
    result = import_trainees_file(io.BytesIO(text.encode()), "own.csv", user=user)
    assert result.ok and result.created == 3
    tuyet = trainee("DL-001")
    assert tuyet.created_by_id == tuyet.updated_by_id == user.id


def test_admin_may_import_any_province(app, make_user):
    admin = make_user(role="admin")
    assert import_sample(user=admin).created == 4


def test_a_database_error_rolls_everything_back(app, monkeypatch):
    # A skill id that does not exist: the link insert fails after the trainees went in.
    monkeypatch.setattr(trainees, "ensure_skill_ids", lambda slugs: dict.fromkeys(slugs, 999_999))
    with pytest.raises(sa.exc.IntegrityError):
        import_sample()
    assert count(Trainee) == 0 and count(trainee_skills) == 0


def test_the_number_of_queries_does_not_grow_with_the_rows(app, count_queries):
    def rows(n, prefix):
        return [{"external_id": f"{prefix}{i}", "full_name": f"Nguyễn Văn {i}",
                 "date_of_birth": "2000-01-01", "province": "nghe-an", "field": "construction",
                 "japanese_level": "N4", "skills": f"{prefix}-a;{prefix}-{i % 7}"}
                for i in range(n)]

    # Each import is its own transaction, as its command or request commits it.
    with count_queries() as small:
        assert import_trainees(rows(20, "S")).created == 20
    db.session.commit()
    with count_queries() as large:
        assert import_trainees(rows(600, "L")).created == 600
    db.session.commit()
    assert large[0] == small[0]
    with count_queries() as again:
        assert import_trainees(rows(600, "L")).updated == 600
    assert again[0] <= small[0] + 3  # plus the UPDATE and the DELETE of old skill links


def test_progress_is_reported(app):
    seen = []
    rows = [{"external_id": str(i), "full_name": "A B", "date_of_birth": "2000-01-01",
             "province": "hue", "field": "aviation", "japanese_level": "N5"} for i in range(1200)]
    import_trainees(rows, dry_run=True, progress=seen.append)
    assert seen[-1] == 1200 and seen == sorted(seen) and len(seen) > 1


# -- CLI -------------------------------------------------------------------------------------


def test_cli_imports_a_good_file(app, runner):
    result = runner.invoke(args=["import", "trainees", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "4 rows: 4 created, 0 updated" in result.stdout
    assert count(Trainee) == 4
    result = runner.invoke(args=["import", "trainees", str(SAMPLE)])
    assert "4 rows: 0 created, 4 updated" in result.stdout


def test_cli_bad_file_exits_1_with_every_error_on_stderr(app, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_file(row(), row(external_id="NA-2", province="Xyz"),
                              row(external_id="NA-3", gender="?")).getvalue())
    result = runner.invoke(args=["import", "trainees", str(path)])
    assert result.exit_code == 1
    assert "line 3, province: Unknown province “Xyz”." in result.stderr
    assert "line 4, gender: Unknown gender “?”" in result.stderr
    assert "created" not in result.stdout
    assert count(Trainee) == 0


def test_cli_dry_run_writes_nothing(app, runner):
    result = runner.invoke(args=["import", "trainees", "--dry-run", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "4 rows: 4 to create, 0 to update" in result.stdout
    assert "dry run: nothing written" in result.stdout
    assert count(Trainee) == 0


def test_cli_unreadable_file(app, runner, tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"garbage")
    result = runner.invoke(args=["import", "trainees", str(path)])
    assert result.exit_code == 1
    assert "Excel" in result.stderr


def test_cli_shows_a_progress_bar_for_big_files(app, runner, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(csv_file(*(row(external_id=f"B{i}") for i in range(2100))).getvalue())
    result = runner.invoke(args=["import", "trainees", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "Checking rows" in result.stderr
    assert "2100 rows: 2100 to create" in result.stdout
