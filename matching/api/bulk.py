"""Bulk requests in an importer's format: rows as JSON objects, all or nothing.

A bulk endpoint takes ``{"rows": [{column: value}], "dry_run": false}``, the columns of a
file import (``operations.imports``), and runs that importer on them exactly as on an
uploaded file: the same checks, the same all-or-nothing write. Any invalid row and nothing
is written; the answer is a 422 problem listing each ``{row, field, message}`` (``row``: the
index in ``rows``, from 0; none for a problem of the whole request).

Use::

    BulkSchema = bulk_schema("TraineeBulk", KNOWN_COLUMNS)

    @bp.arguments(BulkSchema)
    def bulk(data):
        result = run_bulk(data, import_trainees)
"""

from collections.abc import Callable, Sequence

import marshmallow as ma

from matching.api.problems import Problem, from_refusal
from matching.i18n import _l
from matching.operations.errors import OperationError
from matching.operations.imports.parsing import ImportResult, import_table

MAX_BULK_ROWS = 5000


def bulk_schema(name: str, columns: Sequence[str], max_rows: int = MAX_BULK_ROWS
                ) -> type[ma.Schema]:
    """The request body of a bulk endpoint whose rows have the import's ``columns``."""
    return type(name + "Schema", (ma.Schema,), {
        "rows": ma.fields.List(ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(
            allow_none=True)), required=True, validate=ma.validate.Length(min=1, max=max_rows),
            metadata={"description": "Rows in the import format: the CSV columns "
                                     f"({', '.join(columns)}) as keys; lists as JSON "
                                     "arrays or ;-separated text."}),
        "dry_run": ma.fields.Boolean(load_default=False, metadata={
            "description": "Check every row and say what would change; write nothing."}),
    })


def _cell(value):
    """A JSON value as the import's cell text: lists joined with ";"."""
    if isinstance(value, list):
        return ";".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return str(value)
    return value


def run_bulk(data: dict, importer: Callable[..., ImportResult], user) -> ImportResult:
    """Run ``importer`` on the request's rows for ``user`` (a dry run when asked); a refusal
    or any invalid row raises the 422 problem (nothing written)."""
    rows = [{str(k).strip().lower(): _cell(v) for k, v in row.items()} for row in data["rows"]]
    header = list(dict.fromkeys(k for row in rows for k in row))
    # Rows numbered as in a file (the header on line 1), so the importer's messages hold.
    numbered = [(index + 2, {k: "" if v is None else str(v).strip() for k, v in row.items()})
                for index, row in enumerate(rows)]
    numbered = [(line, row) for line, row in numbered if any(row.values())]
    try:
        result = import_table(header, numbered, importer, user=user,
                              dry_run=data.get("dry_run", False))
    except OperationError as err:
        raise from_refusal(err) from None
    if result.errors:
        raise Problem(422, _l("Nothing was written: correct these rows and send them again."),
                      errors=[row_error(e) for e in result.errors])
    return result


def row_error(error) -> dict:
    """An importer's ``RowError`` as ``{row, field, message}`` (``row`` from 0)."""
    out = {"field": error.column, "message": str(error.message)}
    if error.line >= 2:
        out = {"row": error.line - 2} | out
    return out
