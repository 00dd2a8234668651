"""Bulk status update: move many dispatches from one CSV / XLSX file.

Columns: ``trainee_external_id,job_order_external_id,stage`` (required) and ``date``,
``note`` (optional; a blank date is today), plus ``trainee_province`` to tell apart trainees
of several provinces sharing an external_id (as in the decisions import).

Every row goes through the dispatch state machine (``dispatch.move_refusal``): the same
rules, documents and permissions as a move on the web. Rows of one dispatch apply in file
order (contracted, then training): they are checked one after another on a simulated stage.
All-or-nothing: any refused row and nothing is written, and every bad line is reported;
otherwise every move is written in one transaction. A row naming a stage the dispatch has
already reached is on record (stages are reached once): it counts as unchanged, so importing
the same file twice changes nothing.

The CLI acts as the system (``user`` None, as an admin); on the web an agency moves only its
own dispatches (another's answer as unknown), an admin any; other roles may not import.
``created`` counts the moves (status events), ``updated`` the dispatches moved.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from matching import access
from matching.extensions import db
from matching.fees.store import refresh_dispatches
from matching.i18n import _l
from matching.labels import STAGE_LABELS
from matching.models import EXITS, STAGES, Dispatch, Document, JobOrder, StatusEvent, Trainee
from matching.operations.dispatch import NOTE_LIMIT, move_refusal, write_move
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
from matching.vocab.folding import fold_key

__all__ = ["STATUS_COLUMNS", "import_statuses", "resolve_dispatches"]

log = logging.getLogger(__name__)

STATUS_COLUMNS = ("trainee_external_id", "job_order_external_id", "stage")
STATUS_OPTIONAL_COLUMNS = ("date", "note", "trainee_province")
KNOWN_COLUMNS = STATUS_COLUMNS + STATUS_OPTIONAL_COLUMNS
PREVIEW_ROWS = 20
#: A row refused for these reasons still moves the simulated stage, so that the next rows
#: of the same dispatch are judged on their own (one mistake, one message).
_CONTINUE_AFTER = ("bad_date", "missing_document", "expired_document", "document_date")
FORMAT = TableFormat(KNOWN_COLUMNS, STATUS_COLUMNS, name="statuses",
                     no_rows=_l("The file has a header row but no status updates."))


# -- the importer ---------------------------------------------------------------------------


@FORMAT.importer
def import_statuses(rows, *, user=None, dry_run: bool = False,
                    progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check every row against the state machine, then write all moves in one transaction.

    ``rows``: ``read_table``'s ``[(line, {column: text})]`` or plain dicts (lines numbered
    from 2). Nothing is written on any error or when ``dry_run`` is set.
    """
    refusal = None if access.can_import_statuses(user) else _l(
        "Only administrators and dispatch agencies may import status updates.")
    result, numbered, columns = FORMAT.start(rows, dry_run=dry_run, refusal=refusal)
    if not numbered:
        return result
    parsed = list(parsed_rows(numbered, columns, _parsers(), set(STATUS_COLUMNS), {},
                              result.errors, progress))
    resolve_dispatches(parsed, user, result.errors)
    moves, preview = _simulate(parsed, user, result.errors)
    result.errors.sort(key=lambda e: e.line)
    if result.errors:
        return result
    result.created = len(moves)
    result.updated = len({dispatch.id for _line, dispatch, *_rest in moves})
    result.unchanged = len(parsed) - len(moves)
    result.preview = preview[:PREVIEW_ROWS]
    if not dry_run and moves:
        if not _write(moves, user):
            result.errors.append(RowError(0, None, _l(
                "Some dispatches were changed by someone else during the import: nothing was "
                "written. Import the file again.")))
            result.created = result.updated = result.unchanged = 0
            return result
        log.info("status import by %s: %d rows, %d moves on %d dispatches",
                 getattr(user, "email", "CLI"), result.rows, result.created, result.updated)
    return result


# -- rows and cells -------------------------------------------------------------------------


def stage_names() -> dict[str, str]:
    """Folded name -> stage code: each code, and its label in every language of the site
    ("Đã xuất cảnh", "出国済み", "Departed"), diacritics, case, spaces and punctuation
    folded away. A name two stages share in some language is left out (ambiguous)."""
    names: dict[str, set[str]] = defaultdict(set)
    for code in STAGES + EXITS:
        names[fold_key(code)].add(code)
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            for code, label in STAGE_LABELS.items():
                names[fold_key(str(label))].add(code)
    return {name: codes.pop() for name, codes in names.items() if len(codes) == 1 and name}


def _stage_parser() -> Callable[[str], str]:
    names = stage_names()

    def parse(text: str) -> str:
        stage = names.get(fold_key(text))
        if stage is None:
            raise CellError(_l("Unknown stage “%(value)s”; use one of %(stages)s, or the "
                               "stage's name as the site shows it.",
                               value=short(text), stages=", ".join(STAGES + EXITS)))
        return stage
    return parse


def _parsers() -> dict[str, Callable[[str], object]]:
    """Fresh (memoised) parsers for one import, keyed by column."""
    return {"trainee_external_id": text_parser(64), "job_order_external_id": text_parser(64),
            "stage": memo(_stage_parser()), "date": memo(parse_date),
            "note": text_parser(NOTE_LIMIT),
            "trainee_province": memo(parse_province)}


# -- lookups (in chunks, never a query per row) ---------------------------------------------


def resolve_dispatches(parsed, user, errors: list[RowError]) -> None:
    """Set ``dispatch_id`` on each row; dispatches outside ``user``'s scope are unknown
    (rows naming one are dropped, with an error). Shared by the fee import."""
    found: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    wanted = sorted({values["job_order_external_id"] for _, values in parsed})
    for chunk in chunks(wanted):
        stmt = (sa.select(Dispatch.id, JobOrder.external_id, Trainee.external_id,
                          Trainee.province)
                .select_from(Dispatch)
                .join(JobOrder, JobOrder.id == Dispatch.job_order_id)
                .join(Trainee, Trainee.id == Dispatch.trainee_id)
                .where(JobOrder.external_id.in_(chunk)))
        if user is not None:
            stmt = stmt.where(Dispatch.id.in_(
                access.dispatches_select(user).with_only_columns(Dispatch.id)))
        for dispatch_id, job, trainee, province in db.session.execute(stmt):
            found[(job, trainee)][province] = dispatch_id
    kept = []
    for line, values in parsed:
        job, trainee = values["job_order_external_id"], values["trainee_external_id"]
        provinces = found.get((job, trainee), {})
        province = values.get("trainee_province")
        if province is not None and province in provinces:
            values["dispatch_id"] = provinces[province]
        elif province is None and len(provinces) == 1:
            values["dispatch_id"] = next(iter(provinces.values()))
        elif len(provinces) > 1 and province is None:
            errors.append(RowError(line, "trainee_external_id", _l(
                "The trainee ID “%(trainee)s” has dispatches on job order “%(job)s” in "
                "several provinces. Add a trainee_province column to say which.",
                trainee=trainee, job=job)))
            continue
        else:
            errors.append(RowError(line, "trainee_external_id", _l(
                "There is no dispatch of trainee “%(trainee)s” on job order “%(job)s”.",
                trainee=trainee, job=job) if province is None else _l(
                "There is no dispatch of trainee “%(trainee)s” of %(province)s on job order "
                "“%(job)s”.", trainee=trainee, job=job, province=province_names([province]))))
            continue
        kept.append((line, values))
    parsed[:] = kept


def _load(ids: list[int]) -> tuple[dict[int, Dispatch], dict[int, list[Document]],
                                   dict[int, list[tuple[str, date]]]]:
    """The dispatches, their documents (and their trainees') and their events' history."""
    dispatches: dict[int, Dispatch] = {}
    for chunk in chunks(ids):
        dispatches.update((d.id, d) for d in db.session.scalars(
            sa.select(Dispatch).where(Dispatch.id.in_(chunk))
            .options(selectinload(Dispatch.trainee))))
    documents: dict[int, list[Document]] = defaultdict(list)
    by_trainee: dict[int, list[int]] = defaultdict(list)
    for d in dispatches.values():
        by_trainee[d.trainee_id].append(d.id)
    for chunk in chunks(ids, CHUNK // 2):  # two parameters per dispatch
        trainee_ids = sorted({dispatches[i].trainee_id for i in chunk})
        stmt = sa.select(Document).where(sa.or_(Document.dispatch_id.in_(chunk),
                                                Document.trainee_id.in_(trainee_ids)))
        for doc in db.session.scalars(stmt):
            owners = {doc.dispatch_id} if doc.dispatch_id in dispatches else set()
            owners.update(by_trainee.get(doc.trainee_id, ()))
            for owner in owners:
                documents[owner].append(doc)
    history: dict[int, list[tuple[str, date]]] = defaultdict(list)
    for chunk in chunks(ids):
        stmt = sa.select(StatusEvent.dispatch_id, StatusEvent.to_stage,
                         StatusEvent.happened_on).where(StatusEvent.dispatch_id.in_(chunk))
        for dispatch_id, stage, happened_on in db.session.execute(stmt):
            history[dispatch_id].append((stage, happened_on))
    return dispatches, documents, history


# -- the simulation and the write -----------------------------------------------------------


def _simulate(parsed, user, errors: list[RowError]) -> tuple[list[tuple], list[dict]]:
    """Check each row on the stage the rows before it left its dispatch in; return the moves
    to write (line, dispatch, stage, date, note) and the preview."""
    dispatches, documents, history = _load(sorted({v["dispatch_id"] for _, v in parsed}))
    state = {}  # dispatch id -> [stage, date of the latest step, stages reached]
    reached_on: dict[int, dict[str, date]] = {}  # dispatch id -> stage -> day reached
    for dispatch_id, dispatch in dispatches.items():
        events = history.get(dispatch_id, [])
        state[dispatch_id] = [dispatch.stage, max((on for _, on in events), default=None),
                              {stage for stage, _ in events} | {dispatch.stage}]
        reached_on[dispatch_id] = dict(events)
    today = date.today()
    moves, preview = [], []
    for line, values in parsed:
        dispatch = dispatches[values["dispatch_id"]]
        stage, last_on, reached = state[dispatch.id]
        target, on = values["stage"], values.get("date") or today
        row = {"line": line, "trainee_external_id": values["trainee_external_id"],
               "job_order_external_id": values["job_order_external_id"],
               "from_stage": stage, "stage": target, "date": on, "note": values.get("note")}
        if target in reached:
            preview.append(dict(row, action="unchanged", date=None))
            continue
        refusal = move_refusal(dispatch, stage, target, user, on=on, last_on=last_on,
                               planned_departure=dispatch.planned_departure,
                               documents=documents.get(dispatch.id, []),
                               stage_dates=reached_on[dispatch.id])
        if refusal is not None:
            errors.append(RowError(line, "date" if refusal.code == "bad_date" else "stage",
                                   refusal.message))
            if refusal.code not in _CONTINUE_AFTER:
                continue
        if refusal is None or refusal.code != "bad_date":
            last_on = max(on, last_on) if last_on else on
        state[dispatch.id] = [target, last_on, reached | {target}]
        reached_on[dispatch.id].setdefault(target, on)
        if refusal is None:
            moves.append((line, dispatch, target, on, values.get("note")))
            preview.append(dict(row, action="move"))
    return moves, preview


def _write(moves: list[tuple], user) -> bool:
    """Write every move and commit; False (nothing written) if a dispatch changed since it
    was read: its UPDATE carries the version read (optimistic locking)."""
    try:
        with all_or_nothing():
            for _line, dispatch, stage, on, note in moves:
                write_move(dispatch, stage, user, happened_on=on, note=note)
            db.session.flush()
            # The fee flags of every moved dispatch (and its trainee's others), at once.
            refresh_dispatches(dispatch.id for _line, dispatch, _s, _on, _n in moves)
    except StaleDataError:
        return False  # rolled back
    return True
