"""Finding the header row of the files people really keep, and naming its columns.

A province's roster is rarely the public format's clean first line: a title row, a line
citing the dispatch letter, then headers in Vietnamese ("STT", "Họ và tên", "Ngày sinh"…).
``HeaderFinder`` looks at the first ``SEARCH_ROWS`` rows of a sheet and takes the one that
names the most of a format's columns (in en, vi or ja, diacritics and case folded, the
names in ``data/columns.csv``), preferring a row that names every required one. Its
``Layout`` tells the preview which rows were skipped and which column became which field.

A file in the public format (its first row, every name the format's own) keeps today's
strict rule: an unknown column is an error, since a typo must not drop data. A file with
headers of its own (a department's roster) may have columns the platform does not keep
(an address, a note): those are left out and named in the preview as warnings, except a
name close to a known one, which is still reported as a probable typo.
"""

import csv
import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from matching.i18n import _l
from matching.operations.imports.reading import HEADER_SEARCH_ROWS, ImportFileError
from matching.vocab.folding import fold_key

SEARCH_ROWS = HEADER_SEARCH_ROWS  # the header row is looked for in the first 15 lines
#: A column the importer drops on purpose: the row number a spreadsheet user adds ("STT").
ORDINAL = "#ordinal"
LANGUAGES = ("en", "vi", "ja")


def _key(name: str) -> str:
    """A header name as compared: folded, letters and digits only ("Tỉnh/TP" → "tinhtp").

    A name written like a public column (``trainee_id``) is compared as written: the public
    format's names are exact, and a near miss is a typo to report, as it always was.
    """
    if "_" in name:
        return "_:" + name.strip().lower()
    return fold_key(name) or name.strip()


@functools.cache
def _names() -> dict[str, list[tuple[str, str, str]]]:
    """``format → [(column, lang, name)]`` from ``data/columns.csv`` (``*``: every format)."""
    path = Path(__file__).parent / "data" / "columns.csv"
    out: dict[str, list[tuple[str, str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["format"], []).append((row["column"], row["lang"], row["name"]))
    return out


@functools.cache
def column_lookup(format_name: str, known: tuple[str, ...]) -> dict[str, str]:
    """Every accepted name of ``format_name``'s columns, folded → column (or ``ORDINAL``)."""
    lookup = {_key(name): ORDINAL for _c, _lang, name in _names().get("*", [])}
    for column, _lang, name in _names().get(format_name, []):
        lookup[_key(name)] = column
    for column in known:  # the public names themselves, whatever the data file says
        lookup[_key(column)] = column
    return lookup


def column_label(format_name: str, column: str, locale: str) -> str:
    """The name a template in ``locale`` gives ``column``: its first name in that language
    in ``data/columns.csv``; English keeps the public format's own names."""
    if locale != "en":
        for name_column, lang, name in _names().get(format_name, []):
            if name_column == column and lang == locale:
                return name
    return column


@dataclass
class Layout:
    """Where a sheet's header row is and what its columns became (for the preview)."""

    #: The header row's line number in the file.
    line: int
    #: ``(line, text)`` of the non-blank rows above the header (a title, a letter's number).
    skipped: list[tuple[int, str]] = dc_field(default_factory=list)
    #: ``(name in the file, column)``; ``column`` is ``ORDINAL`` or ``None`` (left out).
    mapping: list[tuple[str, str | None]] = dc_field(default_factory=list)
    #: The header uses names of its own (not the public format's, or not on its first row).
    own_names: bool = False
    #: ``(line, text)`` of the rows after the data that only close the sheet (a total, a
    #: signature line): left out, and named in the preview.
    footer: list[tuple[int, str]] = dc_field(default_factory=list)
    #: The format whose names were looked for (``data/columns.csv``).
    format_name: str = ""

    def columns_read(self, locale: str) -> list[tuple[str, str | None, str | None]]:
        """``(name in the file, column, its name in locale)`` for the preview; ``column`` is
        ``ORDINAL`` for a row number, ``None`` for a column left out."""
        return [(name, column, column_label(self.format_name, column, locale)
                 if column and column != ORDINAL else None) for name, column in self.mapping]

    @property
    def renamed(self) -> list[tuple[str, str]]:
        """The columns whose name in the file is not the format's own."""
        return [(name, column) for name, column in self.mapping
                if column and column != ORDINAL and name.strip().lower() != column]

    @property
    def ordinal(self) -> list[str]:
        return [name for name, column in self.mapping if column == ORDINAL]

    @property
    def left_out(self) -> list[str]:
        return [name for name, column in self.mapping if column is None and name]


class HeaderFinder:
    """Locates the header row of one format's file (``reading.read_table``'s ``locate``)."""

    def __init__(self, format_name: str, known: Sequence[str], required: Sequence[str],
                 implied: Sequence[str] = ()):
        self.format_name = format_name
        self.known = tuple(known)
        #: Required columns the file must name (those ``implied`` come from the user).
        self.required = tuple(c for c in required if c not in implied)
        self.lookup = column_lookup(format_name, self.known)
        self.layout: Layout | None = None

    def _score(self, texts: list[str]) -> tuple[int, int]:
        columns = {self.lookup.get(_key(t)) for t in texts if t}
        columns.discard(None)
        columns.discard(ORDINAL)
        return sum(c in columns for c in self.required), len(columns)

    def locate(self, candidates: list[tuple[int, list[str]]]) -> tuple[int, list[str | None]]:
        """The index of the header among ``candidates`` (the first non-blank rows, as text)
        and the column each of its cells feeds (``None``: left out of the rows)."""
        best, best_score = 0, (-1, -1)
        for index, (_line, texts) in enumerate(candidates):
            score = self._score(texts)
            if score > best_score:
                best, best_score = index, score
        if best_score[1] <= 0:
            best = 0  # nothing recognised anywhere: the first row, reported as today
        line, texts = candidates[best]
        names = [t.strip().lower() for t in texts]
        # Names of its own: a header below the first row, or one named by a synonym. An
        # unknown name alone does not make one (in the public format it is a typo to report).
        own = best > 0 or any(
            n and self.lookup.get(_key(t)) not in (None, n) for t, n in zip(texts, names,
                                                                         strict=True))
        columns: list[str | None] = []
        mapping: list[tuple[str, str | None]] = []
        seen: dict[str, str] = {}
        for text, name in zip(texts, names, strict=True):
            column = self.lookup.get(_key(text)) if text else None
            if column is None and text and (not own or self._close(text)):
                column = name  # kept under its own name: check_columns reports it
            if column and column != ORDINAL:
                if column in seen and _key(seen[column]) == _key(text):
                    raise ImportFileError(_l("The column “%(column)s” appears twice in the "
                                             "header.", column=name))
                if column in seen:
                    raise ImportFileError(_l(
                        "The columns “%(first)s” and “%(second)s” both mean “%(column)s”; "
                        "keep one of them.", first=seen[column], second=text, column=column))
                seen[column] = text
            mapping.append((text, column))
            columns.append(None if column == ORDINAL else column)
        skipped = [(ln, _row_text(t)) for ln, t in candidates[:best]]
        self.layout = Layout(line, skipped, [m for m in mapping if m[0]], own,
                             format_name=self.format_name)
        return best, columns

    def _close(self, text: str) -> bool:
        """A name close to an accepted one: probably a typo, not a column of its own."""
        return bool(difflib.get_close_matches(_key(text), self.lookup, n=1, cutoff=0.8))

    def trim_footer(self, rows: list) -> list:
        """``rows`` without the trailing rows that fill fewer than half the required columns
        (a total, the signature block under an official list); only in a file with headers
        of its own: in the public format such a row is an error to report."""
        layout = self.layout
        if layout is None or not layout.own_names or not self.required:
            return rows
        end = len(rows)
        while end and sum(bool(rows[end - 1][1].get(c)) for c in self.required) * 2 \
                < len(self.required):
            end -= 1
        layout.footer = [(line, _row_text(list(row.values()))) for line, row in rows[end:]]
        return rows[:end]


def _row_text(texts: list[str]) -> str:
    text = " · ".join(t for t in texts if t)
    return text if len(text) <= 80 else text[:77] + "…"
