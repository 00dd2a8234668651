"""Excel bombs are refused before openpyxl builds what they declare (issue 8, item 4).

Each bomb is small on disk and is built here: a sheet whose rows are numbered into the
millions, a row of many cells, a cell of megabytes, a ZIP entry that declares gigabytes.
Each must come back as a clear error naming the limit, with little memory used (measured
with tracemalloc: before the guard these took hundreds of megabytes to gigabytes).
"""

import io
import struct
import tracemalloc
import zipfile
from functools import partial

import pytest
from openpyxl import Workbook

from matching.operations.imports.parsing import import_file
from matching.operations.imports.reading import ImportFileError, read_table
from matching.operations.imports.trainees import import_trainees

#: From a file, as the import pages and the CLI come in.
import_trainees_file = partial(import_file, import_rows=import_trainees)

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ("external_id", "full_name", "date_of_birth", "province", "field", "japanese_level")


def _base_workbook() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["T1", "An", "2000-01-01", "nghe-an", "construction", "N4"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx(sheet_data: str | bytes, *, shared_strings: bytes | None = None,
         dimension: str = "A1") -> io.BytesIO:
    """A workbook whose first sheet holds ``sheet_data`` (the XML inside ``<sheetData>``)."""
    if isinstance(sheet_data, str):
        sheet_data = sheet_data.encode()
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}">'
             f'<dimension ref="{dimension}"/><sheetData>').encode() + sheet_data + \
        b"</sheetData></worksheet>"
    source = zipfile.ZipFile(io.BytesIO(_base_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet
            target.writestr(info.filename, data)
        if shared_strings is not None:
            target.writestr("xl/sharedStrings.xml", shared_strings)
    out.seek(0)
    return out


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row() -> str:
    cells = "".join(inline(f"{chr(65 + i)}1", name) for i, name in enumerate(HEADER))
    return f'<row r="1">{cells}</row>'


def refusal(stream, filename="bomb.xlsx", peak_mb=30) -> str:
    """The message ``read_table`` refuses ``stream`` with, checking the memory it took."""
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError) as info:
            read_table(stream, filename)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < peak_mb * 2**20, f"refusing took {peak / 2**20:.0f} MB"
    return str(info.value.message)


def test_a_well_formed_workbook_still_reads(app):
    header, rows = read_table(xlsx(header_row() + '<row r="2">' + inline("A2", "T9")
                                   + inline("B2", "Bình") + "</row>"), "ok.xlsx")
    assert header[:2] == ["external_id", "full_name"]
    assert rows == [(2, dict(dict.fromkeys(HEADER, ""), external_id="T9", full_name="Bình"))]


def test_rows_numbered_into_the_millions_are_refused(app):
    # 30 million empty rows in a few hundred bytes: openpyxl would yield every one of them.
    bomb = xlsx(header_row() + '<row r="30000000"><c r="A30000000"><v>1</v></c></row>',
                dimension="A1:F30000000")
    assert "more than 200000 rows" in refusal(bomb)


def test_a_lying_dimension_does_not_widen_every_row(app):
    # The declared dimension says a million rows of 16,384 columns; the sheet has two rows.
    stream = xlsx(header_row() + '<row r="2">' + inline("A2", "T9") + "</row>",
                  dimension="A1:XFD1048576")
    tracemalloc.start()
    try:
        _header, rows = read_table(stream, "ok.xlsx")
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [line for line, _ in rows] == [2]
    assert peak < 30 * 2**20


def test_more_rows_with_values_than_the_limit_are_refused(app):
    app.config["IMPORT_MAX_ROWS"] = 3
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(2, 10))
    assert "more than 3 rows" in refusal(xlsx(header_row() + rows))


def test_a_row_of_many_cells_is_refused(app):
    # Varied values, so that the compression ratio alone does not refuse it.
    cells = "".join(f"<c><v>{(n * 7919) % 100003}</v></c>" for n in range(200_000))
    message = refusal(xlsx(header_row() + f'<row r="2">{cells}</row>'))
    assert message == "Line 2 has more than 100 columns."


def test_a_row_of_many_empty_cells_is_refused(app):
    # Formatting only, no value: openpyxl would still build each of them.
    cells = "".join(f'<c s="{(n * 7919) % 100003}"/>' for n in range(100_000))
    assert refusal(xlsx(header_row() + f'<row r="2">{cells}</row>')) \
        == "Line 2 has more than 100 columns."


def test_a_value_far_to_the_right_is_refused(app):
    assert refusal(xlsx(header_row() + '<row r="2"><c r="XFD2"><v>1</v></c></row>')) \
        == "Line 2 has more than 100 columns."


def test_a_long_inline_cell_is_refused(app):
    # Random-looking text: compression ratio would not catch it, the length does.
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(6000))
    message = refusal(xlsx(header_row() + '<row r="2">' + inline("A2", text) + "</row>"))
    assert message == "A cell on line 2 is longer than 5000 characters."


def test_a_long_shared_string_is_refused(app):
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(6000))
    strings = (f'<?xml version="1.0"?><sst xmlns="{NS}" count="1" uniqueCount="1">'
               f"<si><t>{text}</t></si></sst>").encode()
    message = refusal(xlsx(header_row() + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>',
                           shared_strings=strings))
    assert message == "A cell is longer than 5000 characters."


def test_a_highly_compressible_cell_is_refused_from_the_zip_directory(app):
    # 50 MB of one letter packs into about 50 KB: refused before a byte is unpacked.
    bomb = xlsx(header_row().encode() + b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
                + b"a" * 50_000_000 + b"</t></is></c></row>")
    assert "more than 100 times its size" in refusal(bomb, peak_mb=5)


def test_an_enormous_declared_size_is_refused(app):
    data = bytearray(xlsx(header_row()).getvalue())
    # Rewrite the central directory: the sheet now declares 4 GB unpacked.
    name = b"xl/worksheets/sheet1.xml"
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_length] == name:
            struct.pack_into("<I", data, at + 24, 0xFFFF0000)
        at = data.find(b"PK\x01\x02", at + 4)
    message = refusal(io.BytesIO(bytes(data)), peak_mb=5)
    assert message == ("This Excel file is larger than 300 MB once unpacked; please split it "
                       "or save it as CSV.")


def test_a_doctype_is_refused(app):
    bomb = io.BytesIO()
    with zipfile.ZipFile(xlsx(header_row())) as source, \
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaa">]>'
                                    b"<worksheet", 1)
            target.writestr(info.filename, data)
    bomb.seek(0)
    assert "could not be read" in refusal(bomb)


def test_csv_rows_are_held_to_the_same_column_and_cell_limits(app):
    wide = ",".join(HEADER) + "\n" + ",".join(["x"] * 150) + "\n"
    assert refusal(io.BytesIO(wide.encode()), "wide.csv") == "Line 2 has more than 100 columns."
    long = ",".join(HEADER) + "\nT1," + "a" * 6000 + "\n"
    assert refusal(io.BytesIO(long.encode()), "long.csv") \
        == "A cell on line 2 is longer than 5000 characters."


def test_an_import_reports_the_refusal_as_a_file_error(app):
    result = import_trainees_file(
        xlsx(header_row() + '<row r="2"><c r="XFD2"><v>1</v></c></row>'), "bomb.xlsx",
        dry_run=True)
    assert [(e.line, str(e.message)) for e in result.errors] == [
        (0, "Line 2 has more than 100 columns.")]


def test_the_web_upload_shows_the_refusal(client, make_user, login):
    login(make_user(role="department", locale="en"))
    bomb = xlsx(header_row() + '<row r="30000000"><c r="A30000000"><v>1</v></c></row>')
    response = client.post("/trainees/import", data={"file": (bomb, "bomb.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert "more than 200000 rows" in response.get_data(as_text=True)
