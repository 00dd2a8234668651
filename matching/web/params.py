"""Numbers read from URLs: ids that fit the database, page numbers that land on a page.

Python's integers have no bound but the database's ids do (32 or 64 bits), so an id or an offset
beyond that range used to reach the driver and fail there (an ``OverflowError``, a 500).
The rules live here once: every ``<int:…>`` in a route is an ``IdConverter`` (and
``<bigid:…>`` for 64-bit keys), every id in a query string goes through ``db_id``, every
list page through ``page_number`` and ``paginate``.
"""

import sqlalchemy as sa
from flask import request
from flask_sqlalchemy.pagination import Pagination
from werkzeug.routing import IntegerConverter

from matching.extensions import db

#: The largest id of an INTEGER primary key (PostgreSQL's is 32-bit; SQLite's holds more).
MAX_ID = 2**31 - 1
#: The largest id of a ``BigId`` primary key (dispatches and documents: random 63-bit ids).
MAX_BIG_ID = 2**63 - 1
#: Far beyond any real list, small enough that ``(page - 1) * per_page`` fits an OFFSET.
MAX_PAGE = 10**9


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route (registered as ``int``): a number beyond the id column's
    range matches no route, so it is a 404 like any other unknown id."""

    regex = r"\d{1,10}"  # 2**31 - 1 has 10 digits; longer numbers never reach int()
    largest = MAX_ID

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, min, self.largest if max is None else max, signed)


class BigIdConverter(IdConverter):
    """``<bigid:…>``: the id of a ``BigId`` row (a dispatch, a document)."""

    regex = r"\d{1,19}"
    largest = MAX_BIG_ID


def db_id(text: str) -> int:
    """An id from a query string (``request.args.get("job", type=db_id)``): ``ValueError``,
    so the argument counts as absent, unless it is a positive id an INTEGER key can hold."""
    value = int(text)
    if not 0 < value <= MAX_ID:
        raise ValueError(text)
    return value


def optional_id(text) -> int | None:
    """``db_id`` for a select's ``coerce``: ``None`` (no filter) instead of an error."""
    try:
        return db_id(text)
    except (TypeError, ValueError):
        return None


def page_number(args=None) -> int:
    """The ``page`` argument as a page number: missing, junk, zero or negative → 1, and
    capped at ``MAX_PAGE`` (``paginate`` then lands on the real last page)."""
    page = (request.args if args is None else args).get("page", 1, type=int)
    return min(max(page, 1), MAX_PAGE)


def last_page(total: int, per_page: int) -> int:
    """The number of the last page of ``total`` items (1 for an empty list)."""
    return max(1, -(-total // per_page))


def paginate(stmt: sa.Select, per_page: int, page: int | None = None) -> Pagination:
    """``db.paginate(stmt)`` at the requested page, or at the last page when the request
    asks for one beyond it (a link kept from a longer list, a number typed in the URL)."""
    page = page_number() if page is None else page
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    last = max(pagination.pages, 1)  # pages is 0 for an empty list
    if pagination.page > last:
        pagination = db.paginate(stmt, page=last, per_page=per_page, error_out=False)
    return pagination
