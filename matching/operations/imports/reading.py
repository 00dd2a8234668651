"""Reading a .csv / .xlsx file into text rows (DESIGN §4), within the configured limits.

It knows files, not trainees: ``read_table`` returns the header and the rows that the
importers parse (``parsing``). A row is ``(line, {column: text})`` where ``line`` is the row
number a spreadsheet user sees (the header is line 1). An .xlsx file passes ``xlsx_guard``
before openpyxl reads any of it.
"""

import csv
import io
import os
import warnings
from collections.abc import Callable
from datetime import date, datetime, time

from flask import current_app, has_app_context

from matching.formulas import restore
from matching.i18n import _l
from matching.operations.errors import OperationError

EXTENSIONS = (".csv", ".xlsx")

Row = tuple[int, dict[str, str]]
#: ``locate(candidates) -> (index of the header, column of each header cell or None)``.
Locate = Callable[[list[tuple[int, list[str]]]], tuple[int, list[str | None]]]
#: The header row of a file is looked for in this many first lines.
HEADER_SEARCH_ROWS = 15


class ImportFileError(OperationError):
    """The file cannot be read at all."""


def cell_text(value) -> str:
    """A cell as text: XLSX numbers lose a spurious ``.0``, dates become ISO ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # Excel stores every number as a float: ID 1001 must stay "1001", not "1001.0".
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_table(stream, filename: str, locate: Locate | None = None
               ) -> tuple[list[str], list[Row]]:
    """The header (trimmed, lower-case) and the non-empty data rows of a .csv or .xlsx file.

    Without ``locate`` the first non-blank row is the header. With it, the non-blank rows
    among the first ``HEADER_SEARCH_ROWS`` lines are handed to ``locate``, which answers
    the index of the header among them and the column each header cell feeds (``None``:
    left out); the rows above it are skipped, and every line keeps its number in the file.

    Raises ImportFileError for an unsupported extension, an unreadable or empty file, text
    that is not UTF-8 or duplicate column names.
    """
    ext = os.path.splitext(filename or "")[1].lower()
    if ext not in EXTENSIONS:
        raise ImportFileError(_l("Only .csv and .xlsx files can be imported."))
    records = _csv_records(stream) if ext == ".csv" else _xlsx_records(stream)
    try:
        return _table(records, locate)
    finally:
        records.close()  # closes the workbook even when reading stops early


#: What a file may hold, whatever its format (each can be set in the configuration).
LIMITS = {
    "IMPORT_MAX_ROWS": 200_000,  # data rows
    "IMPORT_MAX_COLUMNS": 100,  # columns with a value; the formats have fewer than 20
    "IMPORT_MAX_CELL_CHARS": 5_000,  # the longest column (skills) holds 1,000 characters
    "IMPORT_MAX_XLSX_UNPACKED_MB": 300,  # 200,000 rows of 17 columns unpack to about 210 MB
    "IMPORT_MAX_XLSX_RATIO": 100,  # real sheets compress 5 to 20 times
}


def limit(name: str) -> int:
    """The configured limit ``name`` (its ``LIMITS`` default outside an application)."""
    default = LIMITS[name]
    return current_app.config.get(name, default) if has_app_context() else default


def _table(records, locate: Locate | None = None) -> tuple[list[str], list[Row]]:
    header: list[str | None] | None = None
    rows: list[Row] = []
    candidates: list[tuple[int, list[str]]] = []  # rows that may be the header (``locate``)
    max_rows = limit("IMPORT_MAX_ROWS")
    max_columns, max_chars = limit("IMPORT_MAX_COLUMNS"), limit("IMPORT_MAX_CELL_CHARS")

    def choose() -> list[str | None]:
        index, columns = locate(candidates)
        for line, texts in candidates[index + 1:]:
            _add_row(rows, columns, line, texts, max_rows)
        return columns

    for line, cells in records:
        if len(cells) > max_columns:
            if any(c not in (None, "") for c in cells[max_columns:]):
                raise ImportFileError(_l("Line %(line)d has more than %(limit)d columns.",
                                         line=line, limit=max_columns))
            cells = cells[:max_columns]
        if any(isinstance(c, str) and len(c) > max_chars for c in cells):
            raise ImportFileError(_l("A cell on line %(line)d is longer than %(limit)d "
                                     "characters.", line=line, limit=max_chars))
        # A cell the export protected from spreadsheet formulas comes back as it was.
        texts = [cell_text(restore(c) if isinstance(c, str) else c) for c in cells]
        if not any(texts):
            continue  # blank rows (and blank lines before the header) are skipped silently
        if header is None:
            if locate is None:
                header = [t.lower() for t in texts]
                _check_duplicates(header)
                continue
            if line <= HEADER_SEARCH_ROWS or not candidates:
                candidates.append((line, texts))
                if line <= HEADER_SEARCH_ROWS:
                    continue
                header = choose()  # a first row below the search: the header all the same
                continue
            header = choose()
        _add_row(rows, header, line, texts, max_rows)
    if header is None and candidates:
        header = choose()
    if header is None:
        raise ImportFileError(_l("The file is empty: it has no header row."))
    return [h for h in header if h is not None], rows


def _add_row(rows: list[Row], header: list[str | None], line: int, texts: list[str],
             max_rows: int) -> None:
    if len(rows) >= max_rows:
        raise ImportFileError(_l("The file has more than %(limit)d rows; please split it.",
                                 limit=max_rows))
    row = {name: "" for name in header if name is not None}
    for name, text in zip(header, texts, strict=False):
        if text and name is not None:
            row[name] = text
    if len(texts) > len(header) and any(texts[len(header):]):
        # Values beyond the last header cell: reported as a column without a header.
        row[""] = next(t for t in texts[len(header):] if t)
    rows.append((line, row))


def _check_duplicates(header: list[str]) -> None:
    seen = set()
    for name in header:
        if name and name in seen:
            raise ImportFileError(_l("The column “%(column)s” appears twice in the header.",
                                     column=name))
        seen.add(name)


def _csv_records(stream):
    data = stream.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(_l(
            "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (comma delimited)”."
        )) from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    # Excel in a locale with a decimal comma (Vietnamese among them) saves CSV with ";".
    # Header names never contain either character, so the header line tells which it is.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # A spreadsheet row is one record, even when a quoted cell spans several lines.
        yield from enumerate(reader, start=1)
    except csv.Error:
        raise ImportFileError(_l("The file could not be read as CSV.")) from None


def _xlsx_records(stream):
    from openpyxl import load_workbook

    from matching.operations.imports.xlsx_guard import check_xlsx

    check_xlsx(stream)  # before openpyxl reads anything: it would build what a bomb declares
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter here.
            warnings.simplefilter("ignore")
            workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) for a bad file
        raise ImportFileError(_l("The file could not be read as an Excel (.xlsx) workbook."
                                 )) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ImportFileError(_l("The file is empty: it has no header row."))
        # The first worksheet is the data; read-only mode streams it row by row. The declared
        # dimension may lie (a small file claiming a million rows of 16,384 columns): each
        # row is read as wide as its last cell instead, and check_xlsx bounded those.
        sheet.reset_dimensions()
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()
