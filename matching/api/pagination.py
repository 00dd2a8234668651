"""Cursor pagination for every list endpoint: ``?cursor=…&limit=…``.

A page is ordered by one unique, never-reused key (the primary key), and the cursor is the
key of the page's last item, encoded (opaque to clients; a client only passes back the
``next_cursor`` it was given). The next page is ``key > cursor``: rows inserted meanwhile
land before the cursor (never seen, nothing shifts) or after it (seen in order), so a
walk through a list that grows never repeats nor skips a row it started with, unlike a
page number or an offset.

Use::

    @bp.arguments(ListArgs, location="query")   # or a subclass adding filters
    @bp.response(200, page_schema(ItemSchema))
    def index(args):
        return cursor_page(scoped_select, Model.id, args)
"""

import base64
import binascii
import json

import marshmallow as ma
import sqlalchemy as sa

from matching.api.problems import Problem
from matching.extensions import db
from matching.i18n import _l

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_MAX_KEY = 2**63 - 1


class ListArgs(ma.Schema):
    """The query arguments of every list; subclass it to add filters."""

    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200),
                              metadata={"description": "The next_cursor of the previous "
                                                       "page; leave out for the first page."})
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT,
                              validate=ma.validate.Range(min=1, max=MAX_LIMIT),
                              metadata={"description": f"Items per page (1–{MAX_LIMIT})."})


_PAGE_SCHEMAS: dict[type, type] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of a page of ``item_schema`` items: ``{items, next_cursor}``."""
    if item_schema not in _PAGE_SCHEMAS:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _PAGE_SCHEMAS[item_schema] = type(name, (ma.Schema,), {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True, metadata={
                "description": "Pass as ?cursor= for the next page; null on the last page."}),
        })
    return _PAGE_SCHEMAS[item_schema]


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The key a cursor holds; 422 naming ``cursor`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        (key,) = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        key = None
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= _MAX_KEY:
        raise Problem(422, errors=[{"field": "cursor", "message": _l(
            "This cursor is not one the API gave; start again without it.")}])
    return key


def cursor_page(stmt: sa.Select, key, args: dict, *options) -> dict:
    """One page of ``stmt`` (a scoped select) ordered by the unique column ``key``:
    ``{"items": [...], "next_cursor": str | None}``. ``options``: loader options."""
    limit = args.get("limit") or DEFAULT_LIMIT
    stmt = stmt.order_by(None).order_by(key.asc())
    if args.get("cursor"):
        stmt = stmt.where(key > decode_cursor(args["cursor"]))
    if options:
        stmt = stmt.options(*options)
    rows = list(db.session.scalars(stmt.limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    last = getattr(rows[-1], key.key) if rows and more else None
    return {"items": rows, "next_cursor": encode_cursor(last) if last is not None else None}
