"""Cells a spreadsheet would run as a formula, made harmless in the files the site writes.

Excel, LibreOffice and Google Sheets take a cell starting with ``= + - @`` (or a tab or a
carriage return before one) for a formula, so a trainee named ``=HYPERLINK(...)`` in an
export could run when the file is opened (OWASP "CSV injection"). Every CSV or XLSX the
site writes passes its cells through ``neutralise``, which puts a single quote in front;
every importer passes them through ``restore``, which takes it off again, so an export
imports back unchanged (a phone number ``+84 912…`` or a negative number included).

The pair is exact for every text: a value that itself starts with quotes before one of
those characters gets one more quote, and ``restore`` removes exactly one.
"""

from collections.abc import Iterable

#: The first characters that make a spreadsheet read a cell as a formula.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _starts_formula(text: str) -> bool:
    """``text`` starts with a trigger, perhaps after quotes (``''=1`` becomes ``'=1``)."""
    return text.lstrip("'").startswith(TRIGGERS)


def neutralise(value: str) -> str:
    """``value`` as a cell to write: ``'`` in front when it would start a formula."""
    return "'" + value if _starts_formula(value) else value


def restore(value: str) -> str:
    """The value ``neutralise`` was given: the one quote it added is taken off."""
    if value.startswith("'") and _starts_formula(value[1:]):
        return value[1:]
    return value


def neutralised(values: Iterable[str]) -> list[str]:
    """A row of cells to write, each through ``neutralise``."""
    return [neutralise(value) for value in values]
