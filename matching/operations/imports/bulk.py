"""Many uniform rows written through the driver itself (DESIGN §4): the imports' bulk path.

SQLAlchemy turns each row of an ``executemany`` into bound parameters one by one; at
100,000 rows that, and psycopg's pipelined statement per row, cost more than the
validation. Here:

- PostgreSQL: ``COPY … FROM STDIN`` (psycopg 3) into the table for new rows; changed rows
  are copied into a temporary table (dropped at the end of the transaction) that one
  ``UPDATE … FROM`` joins; existing keys are found by one query over two arrays.
- SQLite: the driver's ``executemany`` over plain tuples, each value passed through the
  column type's own bind processor, so what is stored is exactly what SQLAlchemy stores.

Everything runs on the session's connection, inside its transaction: the importer's
``all_or_nothing`` rolls all of it back, and the request or command commits it once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from matching.extensions import db

#: Rows per ``executemany`` call on SQLite (memory stays flat on big files).
SQLITE_BATCH = 10_000


def _connection():
    """The session's SQLAlchemy connection and its dialect name."""
    connection = db.session.connection()
    return connection, connection.dialect.name


def _driver(connection):
    return connection.connection.driver_connection


def _translated(function):
    """The driver's errors raised as SQLAlchemy's (``IntegrityError``…), as callers expect."""

    @functools.wraps(function)
    def run(*args, **kw):
        dialect = db.session.get_bind().dialect
        try:
            return function(*args, **kw)
        except dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(f"bulk {function.__name__}", None, exc,
                                             dialect.loaded_dbapi.Error,
                                             dialect=dialect) from exc

    return run


def _quoted(connection, names: Iterable[str]) -> list[str]:
    quote = connection.dialect.identifier_preparer.quote
    return [quote(name) for name in names]


def _processors(connection, table: sa.Table, columns: Sequence[str]):
    dialect = connection.dialect
    out = []
    for name in columns:
        kind = table.c[name].type
        out.append(kind.dialect_impl(dialect).bind_processor(dialect))
    return out


def _sqlite_tuples(connection, table, columns, rows: Iterable[Sequence]):
    """``rows`` with every value converted as SQLAlchemy converts it for SQLite (dates and
    times to text…), each distinct value once: a file repeats the same few dates."""
    converters = []
    for i, process in enumerate(_processors(connection, table, columns)):
        if process is not None:
            converters.append((i, process, {}))
    if not converters:
        yield from (tuple(row) for row in rows)
        return
    for row in rows:
        row = list(row)
        for i, process, seen in converters:
            value = row[i]
            try:
                row[i] = seen[value]
            except KeyError:
                row[i] = seen[value] = process(value)
        yield row


def _batches(rows: Iterable, size: int = SQLITE_BATCH):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _defaults(table: sa.Table, columns: Sequence[str]) -> dict[str, object]:
    """The Python-side defaults SQLAlchemy would fill in for the columns left out (the
    driver knows only the server's), each computed once for the whole statement."""
    out = {}
    for column in table.c:
        default = column.default
        if column.name in columns or default is None or column.primary_key:
            continue
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            out[column.name] = default.arg(None)
    return out


@_translated
def insert_rows(table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table``; the columns left out
    get their default as with SQLAlchemy."""
    defaults = _defaults(table, columns)
    if defaults:
        extra = tuple(defaults.values())
        columns = [*columns, *defaults]
        rows = ((*row, *extra) for row in rows)
    connection, dialect = _connection()
    names = ", ".join(_quoted(connection, columns))
    target = connection.dialect.identifier_preparer.format_table(table)
    if dialect == "postgresql":
        with _driver(connection).cursor() as cursor, \
                cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    cursor = _driver(connection).cursor()
    try:
        for batch in _batches(_sqlite_tuples(connection, table, columns, rows)):
            cursor.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})", batch)
    finally:
        cursor.close()


@_translated
def update_rows(table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence], *,
                key: str = "id", keep_when_null: Iterable[str] = ()) -> None:
    """UPDATE ``table`` from ``rows``: tuples of ``key``'s value then ``columns``' values.

    A column of ``keep_when_null`` keeps what the row holds where the new value is NULL.
    """
    connection, dialect = _connection()
    keep = set(keep_when_null)
    quote = connection.dialect.identifier_preparer.quote
    target = connection.dialect.identifier_preparer.format_table(table)
    if dialect == "postgresql":
        staging = "_bulk_" + table.name
        every = _quoted(connection, [key, *columns])
        sets = ", ".join(
            f"{quote(c)} = COALESCE(s.{quote(c)}, t.{quote(c)})" if c in keep
            else f"{quote(c)} = s.{quote(c)}" for c in columns)
        with _driver(connection).cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{staging}")
            # Same column types as the table, no constraints: COPY checks nothing twice.
            cursor.execute(f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
                           f"SELECT {', '.join(every)} FROM {target} WITH NO DATA")
            with cursor.copy(f"COPY {staging} ({', '.join(every)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"UPDATE {target} AS t SET {sets} FROM {staging} AS s "
                           f"WHERE t.{quote(key)} = s.{quote(key)}")
            cursor.execute(f"DROP TABLE {staging}")
        return
    sets = ", ".join(f"{quote(c)} = COALESCE(?, {quote(c)})" if c in keep else f"{quote(c)} = ?"
                     for c in columns)
    statement = f"UPDATE {target} SET {sets} WHERE {quote(key)} = ?"
    cursor = _driver(connection).cursor()
    try:
        tuples = _sqlite_tuples(connection, table, [key, *columns], rows)
        for batch in _batches(tuples):
            cursor.executemany(statement, [(*row[1:], row[0]) for row in batch])
    finally:
        cursor.close()


@_translated
def delete_where_in(table: sa.Table, column: str, values: Sequence) -> None:
    """DELETE the rows of ``table`` whose ``column`` is one of ``values``."""
    connection, dialect = _connection()
    target = connection.dialect.identifier_preparer.format_table(table)
    name = connection.dialect.identifier_preparer.quote(column)
    if dialect == "postgresql":
        with _driver(connection).cursor() as cursor:
            cursor.execute(f"DELETE FROM {target} WHERE {name} = ANY(%s)", (list(values),))
        return
    cursor = _driver(connection).cursor()
    try:
        for batch in _batches((value,) for value in values):
            cursor.executemany(f"DELETE FROM {target} WHERE {name} = ?", batch)
    finally:
        cursor.close()


@_translated
def ids_by_key(table: sa.Table, keys: Sequence[tuple[str, str]], key_columns: Sequence[str],
               ) -> dict[tuple[str, str], int] | None:
    """``{key: id}`` of the rows of ``table`` whose two ``key_columns`` are one of ``keys``,
    in one query over two arrays on PostgreSQL; None elsewhere (the caller looks them up in
    IN-list chunks, which SQLite answers as fast)."""
    connection, dialect = _connection()
    if dialect != "postgresql":
        return None
    if not keys:
        return {}
    first, second = _quoted(connection, key_columns)
    target = connection.dialect.identifier_preparer.format_table(table)
    with _driver(connection).cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.{first}, t.{second} FROM {target} AS t "
            f"JOIN unnest(%s::text[], %s::text[]) AS k(a, b) "
            f"ON t.{first} = k.a AND t.{second} = k.b",
            ([k[0] for k in keys], [k[1] for k in keys]))
        return {(a, b): i for i, a, b in cursor.fetchall()}
