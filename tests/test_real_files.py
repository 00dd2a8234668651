"""The files departments and employers really keep (issue 10 §10): a title row above the
header, headers in Vietnamese or Japanese, a row-number column, Excel date cells, phone
numbers Excel stripped of their leading 0, a signature block under the list; and the Excel
templates in the user's language."""

import io
from datetime import date, datetime
from functools import partial

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from matching.extensions import db
from matching.import_templates import template_workbook
from matching.models import Decision, JobOrder, Trainee
from matching.operations.imports.decisions import import_decisions
from matching.operations.imports.headers import ORDINAL
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import import_file, read_file
from matching.operations.imports.statuses import import_statuses
from matching.operations.imports.trainees import import_trainees
from tests.conftest import add_job_order, english, messages, xlsx

import_trainees_file = partial(import_file, import_rows=import_trainees)

TITLE = "DANH SÁCH HỌC VIÊN ĐĂNG KÝ THAM GIA CHƯƠNG TRÌNH THỰC TẬP KỸ NĂNG TẠI NHẬT BẢN"
LETTER = "(Kèm theo Công văn số 125/SNV-VL ngày 10/3/2026 của Sở Nội vụ tỉnh Nghệ An)"
HEADER = ["STT", "Mã học viên", "Họ và tên", "Ngày sinh", "Giới tính", "Tỉnh/Thành phố",
          "Trường", "Ngành nghề", "Trình độ tiếng Nhật", "Số điện thoại", "Ghi chú"]


def roster_rows(dob=datetime(2001, 3, 14), phone=912345678.0, province="Nghệ An"):
    """A roster as a department keeps it: title, letter, blank line, header (line 4)."""
    return [
        [TITLE], [LETTER], [],
        HEADER,
        [1, "NA-001", "Nguyễn Văn An", dob, "Nam", province, "Cao đẳng Kỹ thuật Việt Đức",
         "Xây dựng", "N4", phone, "Đã khám sức khỏe"],
        [2, "NA-002", "Trần Thị Bình", datetime(2002, 11, 2), "Nữ", "Nghệ An", "",
         "Xây dựng", "N5", "0987654321", ""],
        [],
        ["", "", "Người lập biểu", "", "", "", "", "", "GIÁM ĐỐC"],
    ]


def trainee(external_id: str) -> Trainee:
    return db.session.scalars(sa.select(Trainee).where(Trainee.external_id == external_id)
                              ).one()


def csv_bytes(rows: list[list]) -> io.BytesIO:
    def text(value):
        if isinstance(value, datetime):
            return value.strftime("%d/%m/%Y")
        if isinstance(value, float):
            return str(int(value))
        return "" if value is None else str(value)
    lines = [",".join(f'"{text(v)}"' if "," in text(v) else text(v) for v in r) for r in rows]
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_provincial_roster_imports_as_it_is_kept(app, kind):
    stream = xlsx(roster_rows()) if kind == "xlsx" else csv_bytes(roster_rows())
    result = import_trainees_file(stream, f"danh-sach.{kind}")
    assert result.ok, messages(result)
    assert (result.rows, result.created) == (2, 2)
    an = trainee("NA-001")
    assert (an.full_name, an.date_of_birth, an.gender, an.province, an.field,
            an.japanese_level) == ("Nguyễn Văn An", date(2001, 3, 14), "M", "nghe-an",
                                   "construction", "N4")
    assert an.phone == "0912345678"  # the 0 Excel dropped is back
    assert trainee("NA-002").phone == "0987654321"
    layout = result.layout
    assert layout.line == 4 and layout.own_names
    assert [line for line, _ in layout.skipped] == [1, 2]
    assert layout.skipped[0][1].startswith("DANH SÁCH HỌC VIÊN")
    assert [line for line, _ in layout.footer] == [8]  # the signature block
    mapping = dict(layout.mapping)
    assert mapping["STT"] == ORDINAL and mapping["Ghi chú"] is None
    assert mapping["Họ và tên"] == "full_name" and mapping["Ngày sinh"] == "date_of_birth"
    warnings = [(w.line, w.column, w.kind) for w in result.warnings]
    assert (4, "Ghi chú", "column") in warnings
    assert (5, "phone", "phone") in warnings
    assert "0912345678" in english(next(w.message for w in result.warnings if w.kind == "phone"))


def test_errors_keep_the_line_numbers_of_the_file(app):
    rows = roster_rows(province="Tỉnh Không Có")
    for stream, name in ((xlsx(rows), "r.xlsx"), (csv_bytes(rows), "r.csv")):
        result = import_trainees_file(stream, name)
        assert messages(result) == [(5, "province", "Unknown province “Tỉnh Không Có”.")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Trainee)) == 0


def test_header_variants_in_three_languages(app):
    header = ["No.", "管理番号", "氏名", "生年月日", "性別", "省・市", "分野", "日本語レベル",
              "電話番号"]
    result = import_trainees_file(xlsx([header, [1, "J-1", "Lê Văn Cường",
                                                 datetime(2000, 1, 5), "男性", "Hà Nội",
                                                 "建設", "N3", 987654321]]), "ja.xlsx")
    assert result.ok, messages(result)
    assert trainee("J-1").phone == "0987654321" and trainee("J-1").province == "ha-noi"
    # "Họ tên" as well as "Họ và tên", without diacritics and in capitals
    header = ["TT", "MA HOC VIEN", "Họ tên", "NGAY SINH", "tinh", "nganh nghe",
              "Tiếng Nhật"]
    result = import_trainees_file(xlsx([header, [1, "V-1", "Phạm Thu", "14/05/2002",
                                                 "Nghệ An", "construction", "N4"]]), "v.xlsx")
    assert result.ok, messages(result)
    assert result.layout.line == 1 and result.layout.own_names


def test_a_public_format_file_keeps_the_strict_rules(app):
    header = ("external_id,full_name,date_of_birth,province,field,japanese_level,address")
    result = import_trainees_file(io.BytesIO(
        f"{header}\nE-1,Lê An,2000-01-01,Nghệ An,construction,N4,x\n".encode()), "e.csv")
    assert not result.ok and "Unknown column “address”" in english(result.errors[0].message)
    assert not result.layout.own_names


def test_a_title_without_a_header_still_names_what_is_missing(app):
    result = import_trainees_file(xlsx([[TITLE], ["Họ và tên", "Ghi chú"], ["An", "x"]]),
                                  "t.xlsx")
    assert not result.ok
    assert (2, None, "The required column “external_id” is missing.") in messages(result)


def test_two_columns_meaning_the_same_field_are_refused(app):
    result = import_trainees_file(xlsx([["Mã HV", "Họ tên", "Họ và tên"], ["1", "a", "b"]]),
                                  "d.xlsx")
    assert "both mean “full_name”" in english(result.errors[0].message)


def test_japanese_job_orders_as_an_employer_writes_them(app, make_user):
    employer = make_user(role="employer")
    header = ["番号", "求人票番号", "職種", "分野", "必要なスキル", "日本語レベル", "募集人数",
              "勤務地", "月給", "就労開始日", "在留資格"]
    rows = [["求人票一覧（2026年度）"], [], header,
            [1, "KYU-01", "食品製造ライン作業員", "飲食料品製造業", "食品衛生", "N4", 3, "愛知県",
             215000, datetime(2026, 12, 1), "特定技能1号"]]
    result = import_file(xlsx(rows), "求人票.xlsx", import_job_orders, user=employer)
    assert result.ok, messages(result)
    job = db.session.scalars(sa.select(JobOrder)).one()
    assert (job.external_id, job.title, job.field, job.prefecture, job.headcount,
            job.visa_track, job.start_date, job.employer_id) == (
        "KYU-01", "食品製造ライン作業員", "food_manufacturing", "aichi", 3, "SSW1",
        date(2026, 12, 1), employer.organisation_id)
    assert result.layout.line == 3 and [ln for ln, _ in result.layout.skipped] == [1]


def test_decisions_in_vietnamese(app, make_user, make_trainee):
    employer = make_user(role="employer")
    add_job_order(external_id="JO-9", employer_id=employer.organisation_id, title="Hàn",
                  field="construction", headcount=1, visa_track="TITP")
    make_trainee(external_id="HV-9")
    rows = [["KẾT QUẢ TUYỂN CHỌN"], ["STT", "Mã đơn hàng", "Mã học viên", "Kết quả",
                                    "Ngày quyết định"],
            [1, "JO-9", "HV-9", "Trúng tuyển", datetime(2026, 1, 20)]]
    result = import_file(xlsx(rows), "ket-qua.xlsx", import_decisions, user=employer)
    assert result.ok, messages(result)
    decision = db.session.scalars(sa.select(Decision)).one()
    assert decision.decision == "selected"


def test_status_headers_in_japanese(app):
    rows = [["進捗報告"], ["番号", "訓練生番号", "求人票番号", "段階", "日付", "備考"],
            [1, "HV-1", "JO-1", "contracted", datetime(2026, 3, 2), ""]]
    result = import_file(xlsx(rows), "進捗.xlsx", import_statuses)
    # The header is read: what is left is the row's own problem, on its own line.
    assert [e.line for e in result.errors] == [3]
    assert result.errors[0].column in ("trainee_external_id", "job_order_external_id")


# -- the Excel templates -------------------------------------------------------------------


@pytest.mark.parametrize("format_name", ["trainees", "job_orders", "statuses", "decisions"])
@pytest.mark.parametrize("locale", ["vi", "ja", "en"])
def test_every_template_reads_back_as_its_format(app, format_name, locale):
    body = template_workbook(format_name, locale)
    book = load_workbook(io.BytesIO(body))
    sheet = book.worksheets[0]
    assert book["lists"].sheet_state == "hidden"
    assert sheet.data_validations.dataValidation  # drop-down lists
    importer = {"trainees": import_trainees, "job_orders": import_job_orders,
                "statuses": import_statuses, "decisions": import_decisions}[format_name]
    header, rows, layout = read_file(io.BytesIO(body), "t.xlsx", importer)
    assert set(header) == set(importer.table_format.known)
    assert layout.left_out == [] and len(rows) == 1
    dates = [c for c in sheet[2] if isinstance(c.value, datetime)]
    assert dates and all("yy" in c.number_format for c in dates)


def test_the_vietnamese_trainee_template_imports_as_it_is(app):
    body = template_workbook("trainees", "vi")
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["Mã học viên", "Họ và tên", "Ngày sinh",
                                               "Giới tính"]
    lists = {str(dv.sqref)[0] for dv in
             sheet.data_validations.dataValidation}
    assert {"D", "E", "G", "I"} <= lists  # gender, province, field, Japanese level
    result = import_file(io.BytesIO(body), "mau.xlsx", import_trainees, dry_run=True)
    assert result.ok, messages(result)


def test_the_japanese_job_order_template_imports_as_it_is(app):
    body = template_workbook("job_orders", "ja")
    assert load_workbook(io.BytesIO(body)).worksheets[0]["A1"].value == "求人票番号"
    result = import_file(io.BytesIO(body), "t.xlsx", import_job_orders, dry_run=True)
    assert result.ok, messages(result)


def test_template_text_cells_cannot_be_formulas(app):
    body = template_workbook("trainees", "en", {"full_name": "=HYPERLINK(\"x\")"})
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert sheet["B2"].value == "'=HYPERLINK(\"x\")" and sheet["B2"].data_type == "s"


# -- the web and the CLI -------------------------------------------------------------------


def test_the_web_template_and_preview_in_vietnamese(app, client, make_user, login):
    login(make_user(role="department", province="nghe-an", locale="vi"))
    page = client.get("/trainees/import").get_data(as_text=True)
    assert "/trainees/import/template.xlsx" in page
    response = client.get("/trainees/import/template.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    assert load_workbook(io.BytesIO(response.data)).worksheets[0]["C1"].value == "Ngày sinh"
    stream = xlsx(roster_rows())
    page = client.post("/trainees/import", data={"file": (stream, "danh-sach.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert 'id="import-columns"' in page and "Họ và tên" in page and "DANH SÁCH" in page
    assert 'id="confirm-import"' in page and "0912345678" in page


def test_the_cli_dry_run_says_how_it_read_the_file(app, runner, tmp_path):
    path = tmp_path / "danh-sach.xlsx"
    path.write_bytes(xlsx(roster_rows()).getvalue())
    out = runner.invoke(args=["import", "trainees", str(path), "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "header row: line 4" in out.output and "skipped line 1: DANH SÁCH" in out.output
    assert "column “Họ và tên” → full_name" in out.output
    assert "column “STT” → row number, not imported" in out.output
    template = tmp_path / "mau.xlsx"
    out = runner.invoke(args=["import", "template", "trainees", str(template), "--locale",
                              "ja"])
    assert out.exit_code == 0 and load_workbook(template).worksheets[0]["B1"].value == "氏名"
