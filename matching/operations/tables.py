"""What every importer shares: reading CSV / XLSX into text rows, parsing cells, results.

It knows files and cells, not trainees; the steps of an import are in ``import_steps``. A
row is ``(line, {column: text})`` where ``line`` is the row number a spreadsheet user sees
(the header is line 1).
"""

import csv
import functools
import io
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, time

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from flask_babel import LazyString, get_locale

from matching.formulas import restore
from matching.i18n import _l
from matching.operations.errors import OperationError
from matching.vocab import fields, languages, province_name, resolve_prefecture, resolve_province

EXTENSIONS = (".csv", ".xlsx")

Row = tuple[int, dict[str, str]]


class CellError(OperationError):
    """One cell's problem (the importer adds the line and the column)."""


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


def read_table(stream, filename: str) -> tuple[list[str], list[Row]]:
    """The header (trimmed, lower-case) and the non-empty data rows of a .csv or .xlsx file.

    Raises ImportFileError for an unsupported extension, an unreadable or empty file, text
    that is not UTF-8 or duplicate column names.
    """
    ext = os.path.splitext(filename or "")[1].lower()
    if ext not in EXTENSIONS:
        raise ImportFileError(_l("Only .csv and .xlsx files can be imported."))
    records = _csv_records(stream) if ext == ".csv" else _xlsx_records(stream)
    try:
        return _table(records)
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


def _table(records) -> tuple[list[str], list[Row]]:
    header: list[str] | None = None
    rows: list[Row] = []
    max_rows = limit("IMPORT_MAX_ROWS")
    max_columns, max_chars = limit("IMPORT_MAX_COLUMNS"), limit("IMPORT_MAX_CELL_CHARS")
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
            header = [t.lower() for t in texts]
            _check_duplicates(header)
            continue
        if len(rows) >= max_rows:
            raise ImportFileError(_l("The file has more than %(limit)d rows; please split it.",
                                     limit=max_rows))
        row = dict.fromkeys(header, "")
        for name, text in zip(header, texts, strict=False):
            if text:
                row[name] = text
        if len(texts) > len(header) and any(texts[len(header):]):
            # Values beyond the last header cell: reported as a column without a header.
            row[""] = next(t for t in texts[len(header):] if t)
        rows.append((line, row))
    if header is None:
        raise ImportFileError(_l("The file is empty: it has no header row."))
    return header, rows


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

    from matching.operations.xlsx_guard import check_xlsx

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


# -- cells: shared by every importer ---------------------------------------------------------

_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_PHONE = re.compile(r"[0-9+()./\- ]{3,40}")


def short(text: str) -> str:
    """A cell value short enough to quote in an error message."""
    return text if len(text) <= 60 else text[:57] + "…"


def clean_text(text: str) -> str:
    """As typed, but NFC-normalised with whitespace collapsed (the same name, one spelling)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_parser(limit: int) -> Callable[[str], str]:
    """A parser for free text of at most ``limit`` characters (the column's size)."""

    def parse(text: str) -> str:
        text = clean_text(text)
        if len(text) > limit:
            raise CellError(_l("This text is longer than %(limit)d characters.", limit=limit))
        return text

    return parse


def parse_date(text: str) -> date:
    """ISO ``YYYY-MM-DD`` (a time part is ignored) or ``DD/MM/YYYY`` (also ``.`` or ``-``)."""
    try:
        match = _DMY.match(text)
        if match:  # day first, as Vietnamese offices type dates
            day, month, year = map(int, match.groups())
            return date(year, month, day)
        if len(text) > 10:
            return datetime.fromisoformat(text).date()
        return date.fromisoformat(text)
    except ValueError:
        raise CellError(_l("“%(value)s” is not a date; write YYYY-MM-DD or DD/MM/YYYY.",
                           value=short(text))) from None


def parse_email(text: str) -> str:
    """The normalised address (domain lower-cased); ``email_validator`` decides validity."""
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local):
        # Fast path, same answer: a plain ASCII local part needs no more than this regex,
        # and the domain (a file repeats a few) goes through email_validator once.
        normal_domain = _email_domain(domain)
        if normal_domain and len(local) + 1 + len(normal_domain) <= 254:
            return f"{local}@{normal_domain}"
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise CellError(_l("“%(value)s” is not a valid e-mail address.",
                           value=short(text))) from None


_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@functools.lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str | None:
    try:
        return validate_email("x@" + domain, check_deliverability=False).domain
    except EmailNotValidError:
        return None


def parse_phone(text: str) -> str:
    if not _PHONE.fullmatch(text) or not any(c.isdigit() for c in text):
        raise CellError(_l("“%(value)s” is not a phone number.", value=short(text)))
    return text


def parse_field(text: str) -> str:
    """A field (sector) by its code or its name in any language."""
    code = fields.resolve_field(text)
    if code is None:
        raise CellError(_l("Unknown field “%(value)s”.", value=short(text)))
    return code


def parse_japanese_level(text: str) -> str:
    """A Japanese level: none, JLPT N5 to N1, JFT-A2 or CEFR A1 to C2."""
    code = languages.parse_japanese_level(text)
    if code is None:
        raise CellError(_l("Unknown Japanese level “%(value)s”; use none, N5 to N1, JFT-A2 or A1 "
                           "to C2.", value=short(text)))
    return code


def parse_province(text: str) -> str:
    """A province by its code, current name or a former name."""
    code = resolve_province(text)
    if code is None:
        raise CellError(_l("Unknown province “%(value)s”.", value=short(text)))
    return code


def parse_prefecture(text: str) -> str:
    """A Japanese prefecture by its code, romaji or Japanese name."""
    code = resolve_prefecture(text)
    if code is None:
        raise CellError(_l("Unknown prefecture “%(value)s”.", value=short(text)))
    return code


def province_names(codes: Iterable[str]) -> LazyString:
    """Provinces named in a message, in the locale of whoever finally reads it."""
    codes = sorted(codes)
    return LazyString(lambda: ", ".join(
        province_name(code, getattr(get_locale(), "language", "en")) for code in codes))


def memo(parse: Callable[[str], object]) -> Callable[[str], object]:
    """Cache a parser's answers (and refusals): a file repeats the same few values."""
    cache: dict[str, tuple[bool, object]] = {}

    def cached(text: str):
        hit = cache.get(text)
        if hit is None:
            try:
                hit = (True, parse(text))
            except CellError as exc:
                hit = (False, exc.message)
            cache[text] = hit
        if hit[0]:
            return hit[1]
        raise CellError(hit[1])

    return cached


# -- results: shared by every importer -------------------------------------------------------

CHUNK = 900  # IN-list size that stays under every database's bound-parameter limit


@dataclass
class RowError:
    line: int
    column: str | None
    message: str  # usually a lazy string: rendered in the reader's locale


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = dc_field(default_factory=list)
    dry_run: bool = False
    preview: list[dict] = dc_field(default_factory=list)
    #: Rows already on record as they are (decisions: history is never written twice).
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def chunks(items: list, size: int = CHUNK):
    """Slices of ``items`` small enough for an IN list."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
