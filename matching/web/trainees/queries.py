"""Read-side helpers of the registry pages: the filtered, sorted list shared by the list
page and the CSV export, and small look-ups for the forms.

Every query starts from ``access.trainees_select(user)``, so a filter can only narrow the
user's scope, never widen it.
"""

import csv
import io
from collections.abc import Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from matching import access
from matching.extensions import db
from matching.formats import LIST_SEPARATOR, TRAINEE_COLUMNS, TRAINEE_OPTIONAL_COLUMNS
from matching.formulas import neutralised
from matching.models import Trainee, User
from matching.vocab import fold, japanese_rank

#: Sort key -> (columns, natural direction). Trainee.id breaks ties so pages never overlap.
SORTS = {
    "name": ((Trainee.name_folded,), "asc"),
    "external_id": ((Trainee.external_id,), "asc"),
    "newest": ((Trainee.created_at,), "desc"),
    "level": ((Trainee.language_rank,), "desc"),
    "available_from": ((Trainee.available_from,), "asc"),
}
DEFAULT_SORT = "name"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered_trainees(user, filters: Mapping) -> sa.Select:
    """The trainees ``user`` may see, narrowed and ordered by ``filters`` (the list form's
    ``SearchForm.filters()``: known values or ``None``). The result is a ``Select`` so
    callers paginate or stream it.
    """
    stmt = access.trainees_select(user)
    if filters.get("q"):
        stmt = stmt.where(_search_clause(filters["q"]))
    if filters.get("field"):
        stmt = stmt.where(Trainee.field == filters["field"])
    if filters.get("level"):
        stmt = stmt.where(Trainee.language_rank >= japanese_rank(filters["level"]))
    if filters.get("status"):
        stmt = stmt.where(Trainee.status == filters["status"])
    if filters.get("school"):
        stmt = stmt.where(Trainee.school == filters["school"])
    if filters.get("province"):
        stmt = stmt.where(Trainee.province == filters["province"])
    return stmt.order_by(*_ordering(filters.get("sort"), filters.get("dir")))


def _search_clause(q: str):
    """Every word of the folded query appears in the folded name, or the ID starts with q."""
    words = fold(q).split()
    name_match = sa.and_(*(Trainee.name_folded.like(f"%{_like_escape(w)}%", escape="\\")
                           for w in words)) if words else sa.false()
    id_match = sa.func.lower(Trainee.external_id).like(_like_escape(q.lower()) + "%",
                                                        escape="\\")
    return sa.or_(name_match, id_match)


def _ordering(sort: str | None, direction: str | None) -> list:
    columns, natural = SORTS.get(sort or "", SORTS[DEFAULT_SORT])
    descending = (direction or natural) == "desc"
    order = []
    for column in columns:
        clause = column.desc() if descending else column.asc()
        # Undated trainees go last whichever way the list is sorted.
        order.append(sa.nulls_last(clause))
    order.append(Trainee.id.desc() if descending else Trainee.id.asc())
    return order


def schools_in_scope(user) -> list[str]:
    """The distinct schools among the trainees ``user`` may see, for the filter and hints."""
    stmt = (access.trainees_select(user)
            .with_only_columns(Trainee.school)
            .where(Trainee.school.is_not(None), Trainee.school != "")
            .distinct()
            .order_by(Trainee.school))
    return list(db.session.scalars(stmt))


def user_names(*user_ids: int | None) -> dict[int, str]:
    """Display names of the users who created or changed a record (for the audit line)."""
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {uid: name or email for uid, name, email in rows}


# -- CSV export ----------------------------------------------------------------------------

#: The import format with every optional column (README: consent and the katakana reading
#: too), so an exported file re-imports as it is.
EXPORT_COLUMNS = TRAINEE_COLUMNS + TRAINEE_OPTIONAL_COLUMNS + ("consent", "name_kana")
_EXPORT_BATCH = 500


def export_row(trainee: Trainee) -> list[str]:
    """One trainee in the public import format, so an export re-imports unchanged."""
    values = {
        "external_id": trainee.external_id,
        "full_name": trainee.full_name,
        "date_of_birth": trainee.date_of_birth.isoformat(),
        "gender": trainee.gender or "",
        "province": trainee.province,
        "school": trainee.school or "",
        "field": trainee.field,
        "skills": LIST_SEPARATOR.join(trainee.skill_slugs),
        "japanese_level": trainee.japanese_level,
        "training_hours": str(trainee.training_hours or 0),
        "experience_years": f"{trainee.experience_years or 0:g}",
        "preferred_prefectures": LIST_SEPARATOR.join(trainee.prefecture_codes),
        "available_from": trainee.available_from.isoformat() if trainee.available_from else "",
        "email": trainee.email or "",
        "phone": trainee.phone or "",
        "consent": "yes" if trainee.consent else "no",
        "name_kana": trainee.name_kana or "",
    }
    return [values[column] for column in EXPORT_COLUMNS]


def export_csv(stmt: sa.Select) -> Iterator[str]:
    """Stream ``stmt``'s trainees as CSV text chunks: a BOM (for Excel), the header, rows.

    Rows are fetched in batches (``yield_per``, skills loaded per batch), so memory stays
    flat however many trainees the filter matches.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    stmt = stmt.options(selectinload(Trainee.skills)).execution_options(yield_per=_EXPORT_BATCH)
    for partition in db.session.scalars(stmt).partitions():
        buffer.seek(0)
        buffer.truncate()
        # Names and schools are typed by people: none may run as a formula in Excel.
        writer.writerows(neutralised(export_row(t)) for t in partition)
        yield buffer.getvalue()
