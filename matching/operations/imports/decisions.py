"""Bulk decision import (DESIGN §4): employers' decisions on candidates, as history.

All-or-nothing like the other importers. Decisions are never updated: each row inserts one
``Decision``, unless the same decision is already on record, so importing a file twice
changes nothing:

- a row with ``decided_at`` is on record when the same job order, trainee, decision and
  time are;
- a row without one says what the decision is now: it is on record when the latest
  decision for that pair (by time, then by insertion) is already this one.

Decisions do not create dispatches nor change a trainee's status here.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from matching import access
from matching.extensions import db
from matching.i18n import _l
from matching.models import DECISIONS, Decision, JobOrder, Trainee
from matching.models._common import utcnow
from matching.operations.imports.parsing import (
    CHUNK,
    CellError,
    ImportResult,
    RowError,
    TableFormat,
    all_or_nothing,
    chunks,
    memo,
    parse_date,
    parse_province,
    parsed_rows,
    province_names,
    short,
    text_parser,
)
from matching.validation import PAST_EVENT, InvalidValue, check_date
from matching.vocab import fold

__all__ = ["DECISION_COLUMNS", "import_decisions"]

log = logging.getLogger(__name__)

#: The public decision header (DESIGN §4), in order.
DECISION_COLUMNS = ("job_order_external_id", "trainee_external_id", "decision")
#: ``decided_at`` is public; ``trainee_province`` tells apart trainees of several provinces
#: that share an external_id (unique only per province).
DECISION_OPTIONAL_COLUMNS = ("decided_at", "trainee_province")
KNOWN_COLUMNS = DECISION_COLUMNS + DECISION_OPTIONAL_COLUMNS
PREVIEW_ROWS = 20
#: Clocks differ; a decision dated later than this is a typo.
FUTURE_TOLERANCE = timedelta(days=1)
FORMAT = TableFormat(KNOWN_COLUMNS, DECISION_COLUMNS, name="decisions",
                     no_rows=_l("The file has a header row but no decisions."))


# -- the importer ---------------------------------------------------------------------------


@FORMAT.importer
def import_decisions(rows, *, user=None, dry_run: bool = False,
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Validate every row, then insert the decisions not yet on record, in one transaction.

    ``rows``: ``read_table``'s ``[(line, {column: text})]`` or plain dicts (lines numbered
    from 2). ``created`` counts inserted decisions, ``unchanged`` those already on record;
    ``updated`` stays 0 (history is never rewritten). A ``user`` of role employer may only
    name its own job orders. Nothing is written on any error or when ``dry_run`` is set.
    """
    refusal = None if user is None or access.can_import_job_data(user) else _l(
        "Only administrators and employers may import decisions.")
    result, numbered, columns = FORMAT.start(rows, dry_run=dry_run, refusal=refusal)
    if not numbered:
        return result
    scope = access.import_employer_scope(user) if user is not None else None
    parsed = list(parsed_rows(numbered, columns, _parsers(), set(DECISION_COLUMNS), {},
                              result.errors, progress))
    _resolve_job_orders(parsed, scope, result.errors)
    _resolve_trainees(parsed, result.errors)
    inserts = _new_decisions(parsed, result.errors)
    result.errors.sort(key=lambda e: e.line)
    if result.errors:
        return result
    result.created = len(inserts)
    result.unchanged = len(parsed) - len(inserts)
    new_lines = {line for line, _ in inserts}
    result.preview = [dict(values, line=line,
                           action="create" if line in new_lines else "unchanged")
                      for line, values in parsed[:PREVIEW_ROWS]]
    if not dry_run and inserts:
        _write([values for _, values in inserts], getattr(user, "id", None))
        log.info("decision import by %s: %d rows, %d created, %d unchanged",
                 getattr(user, "email", "CLI"), result.rows, result.created, result.unchanged)
    return result


# -- rows and cells -------------------------------------------------------------------------


#: Decisions as a Vietnamese or a Japanese file writes them (folded).
_DECISION_NAMES = {
    "danh sach ngan": "shortlisted", "vao danh sach ngan": "shortlisted", "候補": "shortlisted",
    "書類選考通過": "shortlisted",
    "da phong van": "interviewed", "phong van": "interviewed", "面接済み": "interviewed",
    "面接": "interviewed",
    "trung tuyen": "selected", "da chon": "selected", "dat": "selected", "採用": "selected",
    "内定": "selected", "合格": "selected",
    "khong trung tuyen": "rejected", "khong dat": "rejected", "truot": "rejected",
    "loai": "rejected", "不採用": "rejected", "不合格": "rejected",
}


def _decision(text: str) -> str:
    decision = fold(text)
    decision = _DECISION_NAMES.get(decision, decision)
    if decision not in DECISIONS:
        raise CellError(_l("Unknown decision “%(value)s”; use one of %(decisions)s.",
                           value=short(text), decisions=", ".join(DECISIONS)))
    return decision


def _decided_at(text: str) -> datetime:
    """A date (midnight) or an ISO date and time; with a time zone, converted to UTC."""
    try:
        if len(text) <= 10:
            value = datetime.combine(parse_date(text), time())
        else:
            value = datetime.fromisoformat(text)
    except (CellError, ValueError):
        raise CellError(_l("“%(value)s” is not a date or a date and time; write YYYY-MM-DD or "
                           "YYYY-MM-DD HH:MM.", value=short(text))) from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)  # stored as naive UTC
    if value > utcnow() + FUTURE_TOLERANCE:
        raise CellError(_l("The decision time %(value)s is in the future.", value=short(text)))
    try:
        check_date(value.date(), "decided_at", PAST_EVENT)
    except InvalidValue as exc:
        raise CellError(exc.message) from None
    return value


def _parsers() -> dict[str, Callable[[str], object]]:
    """Fresh (memoised) parsers for one import, keyed by column."""
    return {"job_order_external_id": text_parser(64), "trainee_external_id": text_parser(64),
            "decision": memo(_decision), "decided_at": memo(_decided_at),
            "trainee_province": memo(parse_province)}


# -- lookups (in chunks, never a query per row) ---------------------------------------------


def _resolve_job_orders(parsed, scope: int | None, errors: list[RowError]) -> None:
    """Set ``job_order_id`` on each row; unknown (or, for an employer, foreign) ones fail."""
    wanted = sorted({values["job_order_external_id"] for _, values in parsed})
    found: dict[str, tuple[int, int]] = {}
    for chunk in chunks(wanted):
        stmt = sa.select(JobOrder.external_id, JobOrder.id, JobOrder.employer_id).where(
            JobOrder.external_id.in_(chunk))
        found.update((ext, (jid, eid)) for ext, jid, eid in db.session.execute(stmt))
    kept = []
    for line, values in parsed:
        job = found.get(values["job_order_external_id"])
        if job is None or (scope is not None and job[1] != scope):
            # Another employer's job order answers as unknown: an ID reveals nothing.
            errors.append(RowError(line, "job_order_external_id", _l(
                "Unknown job order “%(value)s”.", value=values["job_order_external_id"])))
            continue
        values["job_order_id"] = job[0]
        kept.append((line, values))
    parsed[:] = kept


def _resolve_trainees(parsed, errors: list[RowError]) -> None:
    """Set ``trainee_id`` on each row: the external_id is unique only within a province."""
    wanted = sorted({values["trainee_external_id"] for _, values in parsed})
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for chunk in chunks(wanted):
        stmt = sa.select(Trainee.external_id, Trainee.province, Trainee.id).where(
            Trainee.external_id.in_(chunk))
        for external_id, province, trainee_id in db.session.execute(stmt):
            found[external_id][province] = trainee_id
    kept = []
    for line, values in parsed:
        external_id = values["trainee_external_id"]
        provinces = found.get(external_id, {})
        province = values.get("trainee_province")
        if not provinces:
            message = _l("Unknown trainee “%(value)s”.", value=external_id)
        elif province is not None and province not in provinces:
            message = _l("There is no trainee “%(value)s” in %(province)s.", value=external_id,
                         province=province_names([province]))
        elif province is None and len(provinces) > 1:
            message = _l("The trainee ID “%(value)s” exists in several provinces: "
                         "%(provinces)s. Add a trainee_province column to say which.",
                         value=external_id, provinces=province_names(provinces))
        else:
            values["trainee_id"] = provinces[province or next(iter(provinces))]
            kept.append((line, values))
            continue
        errors.append(RowError(line, "trainee_external_id", message))
    parsed[:] = kept


def _on_record(pairs) -> dict[tuple[int, int], list[tuple[datetime, int, str]]]:
    """(job order, trainee) -> its decisions on record as (decided_at, id, decision)."""
    history: dict[tuple[int, int], list] = defaultdict(list)
    # Two bound parameters per pair: half a chunk keeps under every database's limit.
    for chunk in chunks(sorted(pairs), CHUNK // 2):
        stmt = sa.select(Decision.job_order_id, Decision.trainee_id, Decision.decided_at,
                         Decision.id, Decision.decision).where(
            sa.tuple_(Decision.job_order_id, Decision.trainee_id).in_(chunk))
        for job_id, trainee_id, decided_at, decision_id, decision in db.session.execute(stmt):
            history[(job_id, trainee_id)].append((decided_at, decision_id, decision))
    return history


def _new_decisions(parsed, errors: list[RowError]) -> list[tuple[int, dict]]:
    """The rows to insert, in file order: those whose decision is not yet on record."""
    history = _on_record({(v["job_order_id"], v["trainee_id"]) for _, v in parsed})
    now = utcnow()
    seen_dated: dict[tuple, int] = {}
    seen_undated: dict[tuple[int, int], int] = {}
    dated, undated = [], []
    for line, values in parsed:
        pair = (values["job_order_id"], values["trainee_id"])
        if values.get("decided_at") is None:
            if pair in seen_undated:
                errors.append(RowError(line, "trainee_external_id", _l(
                    "This trainee and job order already have a decision without a date on "
                    "line %(line)d; give each decision its decided_at to record a history.",
                    line=seen_undated[pair])))
                continue
            seen_undated[pair] = line
            undated.append((line, values))
            continue
        key = (*pair, values["decision"], values["decided_at"])
        if key in seen_dated:
            errors.append(RowError(line, "decision", _l(
                "The same decision at the same time appears twice in the file: first on line "
                "%(line)d.", line=seen_dated[key])))
            continue
        seen_dated[key] = line
        if not any((at, d) == (key[3], key[2]) for at, _id, d in history.get(pair, ())):
            dated.append((line, values))
    # An undated row states the decision now: compare it with the latest on record, the
    # dated rows of this file included (inserted later, so they win a tie on the time).
    timeline = {pair: [(at, (0, decision_id), d) for at, decision_id, d in rows]
                for pair, rows in history.items()}
    for line, values in dated:
        timeline.setdefault((values["job_order_id"], values["trainee_id"]), []).append(
            (values["decided_at"], (1, line), values["decision"]))
    for line, values in undated:
        entries = timeline.get((values["job_order_id"], values["trainee_id"]))
        if not entries or max(entries)[2] != values["decision"]:
            dated.append((line, dict(values, decided_at=now)))
    dated.sort(key=lambda item: item[0])
    return dated


def _write(records: list[dict], user_id: int | None) -> None:
    """One bulk INSERT of the new decisions, in file order, then commit."""
    rows = [{"job_order_id": v["job_order_id"], "trainee_id": v["trainee_id"],
             "decision": v["decision"], "decided_at": v["decided_at"],
             "decided_by_id": user_id, "note": None} for v in records]
    with all_or_nothing():
        db.session.execute(sa.insert(Decision.__table__), rows)
