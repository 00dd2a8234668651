"""What every importer shares (DESIGN §4): the entry points, cells, rows and results.

An importer is one function ``import_*(rows, *, user=None, dry_run=False, progress=None)``
that validates every row, then writes them all or nothing. Its ``TableFormat`` (the columns
it knows and requires) starts it: rows numbered, header checked, the columns in use. Every
caller comes in through ``import_file`` (a .csv / .xlsx file, read by ``reading``) or
``import_table`` (a header and rows already read). ``parsed_rows`` parses each row's cells
with the importer's parsers; ``all_or_nothing`` commits an importer's writes, or none of
them.
"""

import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import LazyString, get_locale

from matching.extensions import db
from matching.i18n import _l
from matching.operations.errors import OperationError
from matching.operations.imports.headers import HeaderFinder, Layout
from matching.operations.imports.reading import ImportFileError, Row, cell_text, read_table
from matching.validation import DateWindow, InvalidValue, check_date, check_text
from matching.vocab import fields, languages, province_name, resolve_prefecture, resolve_province
from matching.vocab.skills import custom_skills


class CellError(OperationError):
    """One cell's problem (the importer adds the line and the column)."""


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


#: A Vietnamese mobile number without its leading 0, as Excel keeps a number typed in a
#: cell: 9 digits starting with 3, 5, 7, 8 or 9 (the 03x…09x mobile ranges since 2018),
#: perhaps with the ``.0`` of a number cell saved as text.
_STRIPPED_MOBILE = re.compile(r"([35789]\d{8})(?:\.0+)?")


def restored_phone(text: str) -> str:
    """``text``, or the mobile number Excel stripped of its leading 0 with the 0 back."""
    match = _STRIPPED_MOBILE.fullmatch(text.strip())
    return "0" + match.group(1) if match else text


def parse_phone(text: str) -> str:
    """A phone number as written; a 9-digit mobile number gets its leading 0 back."""
    text = restored_phone(text)
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
    #: What a warning is about ("custom_skill", "phone", "column"), for a summary of them.
    kind: str = ""


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
    #: What does not stop the import but its author should know (custom skills).
    warnings: list[RowError] = dc_field(default_factory=list)
    #: Where the file's header row was and what its columns became (``headers.Layout``);
    #: ``None`` for rows that did not come from a file.
    layout: Layout | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def warn_custom_skills(warnings: list[RowError], line: int, column: str, slugs) -> None:
    """A warning for each skill of a cell that the vocabulary does not know: it is kept as
    a custom skill, matched exactly, until an administrator maps it onto the vocabulary."""
    for slug in custom_skills(slugs):
        warnings.append(RowError(line, column, _l(
            "“%(value)s” is not in the skill vocabulary: it is kept as a custom skill and "
            "matched exactly. An administrator can map it onto a vocabulary skill.",
            value=short(slug)), kind="custom_skill"))


def warn_restored_phones(warnings: list[RowError], numbered: list[Row], column: str) -> None:
    """A warning for each ``column`` cell of ``numbered`` whose leading 0 was restored."""
    for line, row in numbered:
        text = row.get(column, "")
        if text and restored_phone(text) != text:
            warnings.append(RowError(line, column, _l(
                "The phone number “%(value)s” had lost its leading 0 (Excel drops it from "
                "numbers): it is read as %(phone)s.", value=short(text),
                phone=restored_phone(text)), kind="phone"))


def chunks(items: list, size: int = CHUNK):
    """Slices of ``items`` small enough for an IN list."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


#: How many rows are checked between two calls of an import's ``progress``.
PROGRESS_EVERY = 500


@dataclass(frozen=True)
class TableFormat:
    """One importer's file: the columns it knows, those it requires, the result it returns."""

    known: Sequence[str]
    required: Sequence[str]
    #: The error for a file with a header row and nothing below it (it names the rows).
    no_rows: str
    result: type[ImportResult] = ImportResult
    #: The format's name in ``headers``' column names (``data/columns.csv``).
    name: str = ""
    #: ``implied(options) -> {column: value}``: columns a file may leave out because the
    #: importer's options (its user) say them, e.g. an employer's own name.
    implied: Callable[[dict], dict[str, str]] | None = None

    def importer(self, import_rows: Callable[..., ImportResult]):
        """Declare ``import_rows`` the importer of this format, so that ``import_file`` and
        ``import_table`` can check a header before they call it."""
        import_rows.table_format = self
        return import_rows

    def check_header(self, header: Iterable[str], line: int = 1) -> list[RowError]:
        """File-level errors (on the header's ``line``) for unknown columns and missing
        required ones."""
        return check_columns(header, self.known, self.required, line)

    def finder(self, options: dict) -> HeaderFinder:
        """A ``HeaderFinder`` for a file of this format, read with the importer's options."""
        implied = self.implied(options) if self.implied else {}
        return HeaderFinder(self.name, self.known, self.required, implied=tuple(implied))

    def start(self, rows, *, dry_run: bool = False, refusal: str | None = None
              ) -> tuple[ImportResult, list[Row], list[str]]:
        """A new result, the numbered rows (``numbered_rows``) and the known columns they use.

        No rows when the import stops here, the result saying why: there are no rows, the
        user may not import (``refusal``) or the header is wrong.
        """
        result = self.result(dry_run=dry_run)
        numbered = numbered_rows(rows)
        if not numbered:
            return result, [], []
        if refusal is not None:
            result.errors.append(RowError(0, None, refusal))
            return result, [], []
        header = set().union(*(row.keys() for _, row in numbered))
        result.errors = self.check_header(header)
        if result.errors:
            return result, [], []
        result.rows = len(numbered)
        return result, numbered, [c for c in self.known if c in header]


def import_file(stream, filename: str, import_rows: Callable[..., ImportResult], **kw
                ) -> ImportResult:
    """Read a .csv / .xlsx file, then ``import_table``: the one way in from a file.

    ``import_rows`` is a format's importer (``TableFormat.importer``), ``kw`` its options. A
    file that cannot be read comes back as a result with that error (line 0).
    """
    try:
        header, rows, layout = read_file(stream, filename, import_rows, **kw)
    except ImportFileError as exc:
        return import_rows.table_format.result(errors=[RowError(0, None, exc.message)],
                                               dry_run=kw.get("dry_run", False))
    return import_table(header, rows, import_rows, layout=layout, **kw)


def read_file(stream, filename: str, import_rows: Callable[..., ImportResult], **kw
              ) -> tuple[list[str], list[Row], Layout]:
    """``read_table`` for ``import_rows``' format: the header row found among the first
    lines and named in any language (``headers``), the rows closing the sheet left out.
    Raises ``ImportFileError``."""
    finder = import_rows.table_format.finder(kw)
    header, rows = read_table(stream, filename, locate=finder.locate)
    return header, finder.trim_footer(rows), finder.layout


def import_table(header: list[str], rows: list, import_rows: Callable[..., ImportResult],
                 layout: Layout | None = None, **kw) -> ImportResult:
    """Check the ``header`` that ``read_table`` returned and that there are rows, then
    ``import_rows(rows, **kw)``. ``layout`` (``read_file``'s) goes to the result, and the
    columns it left out become warnings."""
    table_format = import_rows.table_format
    line = layout.line if layout else 1
    implied = table_format.implied(kw) if table_format.implied else {}
    implied = {c: v for c, v in implied.items() if c not in header}
    errors = table_format.check_header([*header, *implied], line)
    if not errors and not rows:
        errors = [RowError(line, None, table_format.no_rows)]
    if errors:
        result = table_format.result(errors=errors, dry_run=kw.get("dry_run", False))
    else:
        for _line, row in rows:
            row.update(implied)
        result = import_rows(rows, **kw)
    result.layout = layout
    if layout is not None:
        result.warnings[:0] = [RowError(line, name, _l(
            "The platform does not keep this column: it is not imported."), kind="column")
            for name in layout.left_out]
    return result


def check_columns(header: Iterable[str], known: Sequence[str], required: Sequence[str],
                  line: int = 1) -> list[RowError]:
    """File-level errors (on the header's ``line``): unknown columns (a typo must not drop
    data) and missing required ones."""
    names = [h.strip().lower() for h in header]
    errors = []
    for name in names:
        if name and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            if close:
                message = _l("Unknown column “%(column)s”. Did you mean “%(suggestion)s”?",
                             column=name, suggestion=close[0])
            else:
                message = _l("Unknown column “%(column)s”. The accepted columns are: "
                             "%(columns)s.", column=name, columns=", ".join(known))
            errors.append(RowError(line, None, message))
    for name in required:
        if name not in names:
            errors.append(RowError(line, None, _l("The required column “%(column)s” is missing.",
                                               column=name)))
    return errors


def parse_cells(line: int, row: dict[str, str], columns: Iterable[str],
                parsers: dict[str, Callable[[str], object]], required: Container[str],
                blanks: dict[str, object], errors: list[RowError]) -> dict | None:
    """One row's cells parsed column by column, or ``None`` once its errors are in ``errors``.

    A blank cell is an error in a ``required`` column and ``blanks.get(column)`` elsewhere;
    a value in a column without a header is an error too (it would be silently lost).
    """
    values: dict[str, object] = {}
    bad = False
    for column in columns:
        text = row.get(column, "")
        if not text:
            if column in required:
                errors.append(RowError(line, column, _l("A value is required in this column.")))
                bad = True
            else:
                values[column] = blanks.get(column)
            continue
        try:
            # Line breaks and tabs may stay: every text parser folds them into a space.
            check_text(text, column, multiline=True)
            values[column] = parsers[column](text)
        except (CellError, InvalidValue) as exc:
            errors.append(RowError(line, column, exc.message))
            bad = True
    if row.get(""):
        errors.append(RowError(line, None, _l("This row has a value in a column without a "
                                              "header.")))
        bad = True
    return None if bad else values


def date_parser(window: DateWindow, column: str) -> Callable[[str], date]:
    """``parse_date``, then the dates ``window`` allows (``matching.validation``)."""

    def parse(text: str) -> date:
        try:
            return check_date(parse_date(text), column, window)
        except InvalidValue as exc:
            raise CellError(exc.message) from None

    return parse


def numbered_rows(rows) -> list[tuple[int, dict[str, str]]]:
    """``read_table`` rows as they are; plain dicts as text, numbered from line 2, blank
    rows dropped."""
    rows = list(rows)
    if rows and isinstance(rows[0], tuple):
        return rows  # from read_table: already text, numbered, blank rows gone
    out = []
    for index, row in enumerate(rows):
        texts = {str(k).strip().lower(): cell_text(v) for k, v in row.items()}
        if any(texts.values()):
            out.append((index + 2, texts))
    return out


def parsed_rows(numbered: list[Row], columns: Iterable[str],
                parsers: dict[str, Callable[[str], object]], required: Container[str],
                blanks: dict[str, object], errors: list[RowError],
                progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, dict]]:
    """``(line, values)`` of each row whose cells all parse (``parse_cells``); the others'
    problems go to ``errors``. ``progress(n)`` hears now and then how many rows were checked,
    and once all of them were."""
    for count, (line, row) in enumerate(numbered, 1):
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
        values = parse_cells(line, row, columns, parsers, required, blanks, errors)
        if values is not None:
            yield line, values
    if progress is not None:
        progress(len(numbered))


@contextmanager
def all_or_nothing():
    """Write what the block writes (the request or command commits it), or none of it: an
    exception rolls the whole transaction back, then goes on."""
    try:
        yield
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
