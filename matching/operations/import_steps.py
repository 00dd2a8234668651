"""The steps every importer takes with a table (DESIGN §4), around its own rules.

An importer has three entry points: ``*_file(stream, filename)`` reads a .csv / .xlsx file,
``*_table(header, rows)`` checks the header of what was read, and ``import_*(rows)``
validates every row, then writes them all or nothing. A ``TableFormat`` does the first two
and starts the third (rows numbered, header checked, the columns in use); ``parsed_rows``
parses each row's cells; ``all_or_nothing`` commits an importer's writes, or none of them.
"""

import difflib
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from matching.extensions import db
from matching.i18n import _l
from matching.operations.tables import (
    CellError,
    ImportFileError,
    ImportResult,
    Row,
    RowError,
    cell_text,
    parse_date,
    read_table,
)
from matching.validation import DateWindow, InvalidValue, check_date, check_text

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

    def import_file(self, stream, filename: str, import_table: Callable[..., ImportResult],
                    **kw) -> ImportResult:
        """Read a .csv / .xlsx file, then ``import_table(header, rows, **kw)``; a file that
        cannot be read comes back as a result with that error (line 0)."""
        try:
            header, rows = read_table(stream, filename)
        except ImportFileError as exc:
            return self.result(errors=[RowError(0, None, exc.message)],
                               dry_run=kw.get("dry_run", False))
        return import_table(header, rows, **kw)

    def import_table(self, header: list[str], rows: list,
                     import_rows: Callable[..., ImportResult], **kw) -> ImportResult:
        """Check ``header`` and that there are rows, then ``import_rows(rows, **kw)``."""
        errors = self.check_header(header)
        if not errors and not rows:
            errors = [RowError(1, None, self.no_rows)]
        if errors:
            return self.result(errors=errors, dry_run=kw.get("dry_run", False))
        return import_rows(rows, **kw)

    def check_header(self, header: Iterable[str]) -> list[RowError]:
        """File-level errors (line 1) for unknown columns and missing required ones."""
        return check_columns(header, self.known, self.required)

    def start(self, rows, result: ImportResult, refusal: str | None = None
              ) -> tuple[list[Row], list[str]]:
        """The numbered rows (``numbered_rows``) and the known columns they use.

        ``([], [])`` when the import stops here, ``result`` saying why: there are no rows,
        the user may not import (``refusal``) or the header is wrong.
        """
        numbered = numbered_rows(rows)
        if not numbered:
            return [], []
        if refusal is not None:
            result.errors.append(RowError(0, None, refusal))
            return [], []
        header = set().union(*(row.keys() for _, row in numbered))
        result.errors = self.check_header(header)
        if result.errors:
            return [], []
        result.rows = len(numbered)
        return numbered, [c for c in self.known if c in header]


def check_columns(header: Iterable[str], known: Sequence[str], required: Sequence[str]
                  ) -> list[RowError]:
    """File-level errors (line 1): unknown columns (a typo must not drop data) and missing
    required ones."""
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
            errors.append(RowError(1, None, message))
    for name in required:
        if name not in names:
            errors.append(RowError(1, None, _l("The required column “%(column)s” is missing.",
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
    """Commit what the block writes, or none of it: an exception rolls back, then goes on."""
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
