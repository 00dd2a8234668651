"""Refuse an .xlsx file that would exhaust the server, before openpyxl reads any of it.

An .xlsx file is a ZIP of XML parts. A few hundred kilobytes can unpack to gigabytes, and
openpyxl builds a whole row (every cell of it) and every shared string in memory, so a
single row of millions of cells or a single cell of hundreds of megabytes is enough. Even in
read-only mode, opening a workbook reads every shared string and may read every sheet to
its end looking for its dimension. Hence two checks, in this order:

1. the ZIP directory: the declared unpacked sizes and how well each part compresses (Python's
   ``zipfile`` never unpacks more than the declared size, so the declaration is binding);
2. one streaming pass of expat over every worksheet and the shared strings, with constant
   memory: the number of rows with a value, the columns with a value, the length of each
   cell, and Excel's own limits on row and column numbers.

A refusal is an ``ImportFileError`` whose message names the limit.
"""

import functools
import posixpath
import re
import zipfile
from xml.etree import ElementTree
from xml.parsers import expat

from matching.i18n import _l
from matching.operations.imports.reading import ImportFileError, limit

#: Parts smaller than this are never refused for their compression ratio.
RATIO_FLOOR = 1024 * 1024
#: Excel's own bounds: a file beyond them was not written by a spreadsheet program.
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
#: Parts other than worksheets and shared strings (workbook, styles, relationships) are small.
SMALL_PART = 20 * 1024 * 1024

_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_LETTERS = re.compile(r"[A-Za-z]{1,3}")


def check_xlsx(stream) -> None:
    """Raise ``ImportFileError`` if the workbook in ``stream`` is too big to read safely.

    ``stream`` is seekable; it is left at its start.
    """
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
            _check_directory(infos)
            names = {info.filename for info in infos}
            sheets, strings = _parts(archive, names)
            for name in strings:
                _scan(archive, name, _StringsScan())
            for name in sheets:
                _scan(archive, name, _SheetScan())
            for info in infos:
                if info.filename not in sheets and info.filename not in strings \
                        and info.file_size > SMALL_PART:
                    raise _unpacked_error()
    except ImportFileError:
        raise
    except Exception:  # zipfile, zlib and XML raise many kinds for a damaged file
        raise unreadable() from None
    finally:
        stream.seek(0)


def _check_directory(infos) -> None:
    mb = limit("IMPORT_MAX_XLSX_UNPACKED_MB")
    if sum(info.file_size for info in infos) > mb * 1_000_000:
        raise _unpacked_error()
    ratio = limit("IMPORT_MAX_XLSX_RATIO")
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > ratio * max(info.compress_size, 1):
            raise ImportFileError(_l(
                "This Excel file unpacks to more than %(limit)d times its size, which real "
                "spreadsheets never do; it was not read. Save it again from Excel, or as CSV.",
                limit=ratio))


def _unpacked_error() -> ImportFileError:
    return ImportFileError(_l(
        "This Excel file is larger than %(limit)d MB once unpacked; please split it or save "
        "it as CSV.", limit=limit("IMPORT_MAX_XLSX_UNPACKED_MB")))


def unreadable() -> ImportFileError:
    """The message for a file that is not a workbook Excel could have written."""
    return ImportFileError(_l("The file could not be read as an Excel (.xlsx) workbook."))


def _parts(archive: zipfile.ZipFile, names: set[str]) -> tuple[set[str], set[str]]:
    """The worksheet and shared-string parts: by content type, and by their usual paths."""
    sheets = {n for n in names if n.lower().startswith("xl/worksheets/") and n.endswith(".xml")}
    strings = {n for n in names if posixpath.basename(n).lower() == "sharedstrings.xml"}
    if "[Content_Types].xml" in names:
        if archive.getinfo("[Content_Types].xml").file_size > SMALL_PART:
            raise _unpacked_error()
        root = ElementTree.fromstring(archive.read("[Content_Types].xml"))
        for override in root.iter(f"{_CT_NS}Override"):
            part = override.get("PartName", "").lstrip("/")
            if part in names and override.get("ContentType") == _SHEET_TYPE:
                sheets.add(part)
            elif part in names and override.get("ContentType") == _STRINGS_TYPE:
                strings.add(part)
    return sheets, strings


def _scan(archive: zipfile.ZipFile, name: str, scan: "_Scan") -> None:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = 64 * 1024  # a long text arrives in pieces: it is counted, not kept
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.text
    parser.StartDoctypeDeclHandler = _no_doctype  # no entities, no billion laughs
    try:
        with archive.open(name) as part:
            while chunk := part.read(1024 * 1024):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError:
        raise unreadable() from None


def _no_doctype(*_args) -> None:
    raise unreadable()


class _Scan:
    """Counts the text of each cell (or shared string) as expat reads it."""

    def __init__(self, element: str):
        self.element = element  # the local name of one cell: its text is counted as one
        self.inside = False
        self.chars = 0
        self.max_chars = limit("IMPORT_MAX_CELL_CHARS")

    def start(self, name: str, attrs) -> None:
        local = name.rpartition("}")[2]
        if local == self.element:
            self.inside, self.chars = True, 0
            self.started(attrs)
        elif self.inside:
            self.child(local)
        else:
            self.chars = 0
            self.other(local, attrs)

    def end(self, name: str) -> None:
        if name.rpartition("}")[2] == self.element:
            self.inside, self.chars = False, 0

    def text(self, data: str) -> None:
        self.chars += len(data)
        if self.chars > self.max_chars:
            raise self.too_long()

    def started(self, attrs) -> None:
        pass

    def child(self, local: str) -> None:
        pass

    def other(self, local: str, attrs) -> None:
        pass

    def too_long(self) -> ImportFileError:
        return ImportFileError(_l("A cell is longer than %(limit)d characters.",
                                  limit=self.max_chars))


class _StringsScan(_Scan):
    def __init__(self):
        super().__init__("si")


class _SheetScan(_Scan):
    """Rows and columns as openpyxl numbers them: ``r`` when given, else one more."""

    def __init__(self):
        super().__init__("c")
        self.row = 0
        self.column = 0
        self.cells = 0
        self.valued_row = 0  # the last row seen with a value
        self.valued_rows = 0
        self.max_rows = limit("IMPORT_MAX_ROWS") + 1  # and the header
        self.max_columns = limit("IMPORT_MAX_COLUMNS")

    def other(self, local: str, attrs) -> None:
        if local != "row":
            return
        r = attrs.get("r")
        try:
            self.row = int(float(r)) if r else self.row + 1
        except ValueError:
            raise unreadable() from None
        if self.row <= 0:
            raise unreadable()
        if self.row > EXCEL_ROWS:  # no spreadsheet has this row: refused before any gap
            raise self.too_many_rows()
        self.column = self.cells = 0

    def started(self, attrs) -> None:
        self.cells += 1
        r = attrs.get("r")
        self.column = _column(r) if r else self.column + 1
        if self.column <= 0:
            raise unreadable()
        if self.cells > EXCEL_COLUMNS or self.column > EXCEL_COLUMNS:
            # Empty (formatted) cells too: openpyxl builds every cell of a row at once.
            raise self.too_many_columns()

    def child(self, local: str) -> None:
        if local not in ("v", "is"):
            return  # a formula without a value, or formatting: read as an empty cell
        if self.column > self.max_columns:
            raise self.too_many_columns()
        if self.valued_row != self.row:
            self.valued_row = self.row
            self.valued_rows += 1
            if self.valued_rows > self.max_rows:
                raise self.too_many_rows()

    def too_many_rows(self) -> ImportFileError:
        return ImportFileError(_l("The file has more than %(limit)d rows; please split it.",
                                  limit=self.max_rows - 1))

    def too_many_columns(self) -> ImportFileError:
        return ImportFileError(_l("Line %(line)d has more than %(limit)d columns.",
                                  line=self.row, limit=self.max_columns))

    def too_long(self) -> ImportFileError:
        return ImportFileError(_l("A cell on line %(line)d is longer than %(limit)d "
                                  "characters.", line=self.row, limit=self.max_chars))


@functools.lru_cache(maxsize=1024)
def _column_of_letters(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _column(reference: str) -> int:
    """The column number of a cell reference such as ``AB12`` (0 if it has no letters)."""
    match = _LETTERS.match(reference)
    return _column_of_letters(match.group()) if match else 0
