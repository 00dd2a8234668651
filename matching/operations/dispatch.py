"""The dispatch pipeline of selected workers: a state machine with an audit trail (DESIGN §6).

A dispatch is one selected trainee on one job order, handled by the job order's agency. It
moves through ``STAGES`` one step at a time, or leaves by one of ``EXITS``::

    selected → contracted → training → coe_applied → coe_issued → visa_applied
             → visa_issued → departed → deployed → completed
    withdrawn      from any open stage (not from completed, nor from another exit)
    denied         from coe_applied or visa_applied
    early_return   from deployed

No stage is skipped and none goes back, not even by an administrator: each step is a fact
with its own date and papers, and the history must say what really happened.

A forward move needs documents (``documents.REQUIRED_DOCUMENTS``: a COE for coe_issued, the
passport for visa_applied, the visa for visa_issued; flight, passport and visa for
departed), complete and valid until the planned departure.

The trainee's status follows the dispatch:

| move to                       | trainee status                                         |
|-------------------------------|--------------------------------------------------------|
| selected (``create_dispatch``)| in_process (out of every candidate pool)               |
| contracted … departed         | unchanged (in_process)                                 |
| deployed                      | deployed                                               |
| completed, early_return       | returned                                               |
| withdrawn, denied             | available again, unless another dispatch of theirs is  |
|                               | open or the department marked them withdrawn; returned |
|                               | when withdrawn after departure                         |

Only the dispatch's agency or an admin moves it (``user`` None is the system: the CLI).
Each move writes exactly one ``StatusEvent``; mapper and session events below refuse any
UPDATE or DELETE of one, so no code path can rewrite the audit trail. No lost update: a
move names the version its form was built on (``expected_version``), and the UPDATE itself
carries it (``Dispatch.version`` is SQLAlchemy's ``version_id_col``), so of two concurrent
moves exactly one wins and the other gets ``StaleDispatch``.
"""

import logging
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from matching import access
from matching.extensions import db
from matching.fees.store import refresh_dispatches
from matching.i18n import _l
from matching.labels import STAGE_LABELS
from matching.models import EXITS, STAGES, Dispatch, Document, JobOrder, StatusEvent, Trainee
from matching.models._common import utcnow
from matching.models.dispatch import AuditTrailError  # noqa: F401 (re-exported)
from matching.operations.documents import (
    REQUIRED_DOCUMENTS,
    add_document,
    dispatch_documents,
    document_key,
    document_problems,
    lazy_date,
    missing_documents,
    replace_document,
    stage_dates,
    withdraw_document,
)
from matching.operations.errors import DispatchError
from matching.operations.expiry import ExpiringDocument, expiring_documents
from matching.operations.fees import prefill_contract

log = logging.getLogger(__name__)

#: Where every dispatch starts: the employer's selection.
FIRST_STAGE = STAGES[0]
#: Exits after which the worker never left Vietnam; an employer may then change the decision.
ENDED_BEFORE_DEPARTURE = ("withdrawn", "denied")

__all__ = ["ENDED_BEFORE_DEPARTURE", "EXITS", "EXIT_FROM", "FIRST_STAGE", "FORWARD",
           "OPEN_STAGES", "REQUIRED_DOCUMENTS", "STAGES", "AuditTrailError", "DispatchError",
           "ExpiringDocument", "StaleDispatch", "add_document", "allowed_moves", "check_move",
           "clean_note", "create_dispatch", "dispatch_documents", "dispatch_for",
           "document_key", "expiring_documents", "missing_documents", "move_dispatch",
           "move_refusal", "replace_document", "stage_dates", "targets", "update_dispatch",
           "withdraw_document", "write_move"]

#: stage -> the next one (selected → contracted … deployed → completed).
FORWARD: dict[str, str] = dict(zip(STAGES, STAGES[1:], strict=False))
OPEN_STAGES = STAGES[:-1]
EXIT_FROM: dict[str, tuple[str, ...]] = {
    "withdrawn": OPEN_STAGES,
    "denied": ("coe_applied", "visa_applied"),
    "early_return": ("deployed",),
}
NOTE_LIMIT = 1000  # the size of status_events.note
#: Clocks and time zones differ (Vietnam, Japan, the server): tomorrow is not a typo yet.
FUTURE_TOLERANCE = timedelta(days=1)
_BEFORE_DEPARTURE = STAGES[:STAGES.index("departed")]


class StaleDispatch(DispatchError):
    """The form was built on an older version: someone moved or edited the dispatch since."""

    def __init__(self, dispatch: Dispatch):
        self.current_stage = dispatch.stage
        self.current_version = dispatch.version
        super().__init__(_l("This dispatch was changed by someone else meanwhile: it is now at "
                            "stage %(stage)s. Reload and try again.",
                            stage=STAGE_LABELS.get(dispatch.stage, dispatch.stage)),
                         code="stale")


# -- opening a dispatch ------------------------------------------------------------------------


def dispatch_for(job_order: JobOrder, trainee: Trainee) -> Dispatch | None:
    """The dispatch of ``trainee`` on ``job_order``, if one was opened (at most one)."""
    return db.session.scalar(sa.select(Dispatch).where(
        Dispatch.job_order_id == job_order.id, Dispatch.trainee_id == trainee.id))


def create_dispatch(job_order: JobOrder, trainee: Trainee, user, *,
                    today: date | None = None) -> Dispatch:
    """Open the dispatch of a selected ``trainee`` for ``job_order``'s agency.

    Stage ``selected``, a first ``StatusEvent`` (none → selected, by ``user``, happened
    today), and the trainee becomes ``in_process``, which takes them out of every job
    order's candidate pool. Idempotent: an existing dispatch for the pair is returned as it
    is. Flushes; the request or command commits.
    """
    existing = dispatch_for(job_order, trainee)
    if existing is not None:
        return existing
    dispatch = Dispatch(job_order_id=job_order.id, trainee_id=trainee.id,
                        agency_id=job_order.agency_id, stage=FIRST_STAGE)
    db.session.add(dispatch)
    db.session.flush()  # the event needs the dispatch's id
    db.session.add(StatusEvent(dispatch_id=dispatch.id, from_stage=None, to_stage=FIRST_STAGE,
                               happened_on=today or date.today(),
                               by_id=user.id if user is not None else None))
    # updated_at moves with it (onupdate), so the cached ranking pool is rebuilt without them.
    trainee.status = "in_process"
    log.info("dispatch opened: trainee %s on job order %s (agency %s)", trainee.id,
             job_order.external_id, job_order.agency_id)
    db.session.flush()
    refresh_dispatches([dispatch.id])  # waiting_too_long counts from the selection
    return dispatch


# -- the rules ---------------------------------------------------------------------------------


def targets(stage: str) -> list[str]:
    """The stages a dispatch at ``stage`` may move to: the next one, then the exits."""
    out = [FORWARD[stage]] if stage in FORWARD else []
    return out + [exit_ for exit_, sources in EXIT_FROM.items() if stage in sources]


def allowed_moves(dispatch: Dispatch, user) -> list[str]:
    """The target stages ``user`` may choose now ([] for anyone but its agency or admin).

    Documents are checked when the move is submitted (``check_move``); ``missing_documents``
    tells beforehand what a forward move still lacks.
    """
    if user is not None and not access.can_move_dispatch(user, dispatch):
        return []
    return targets(dispatch.stage)


def check_move(dispatch: Dispatch, to_stage: str, user, *, on: date | None = None,
               planned_departure: date | None = None) -> None:
    """Raise ``DispatchError`` (translated reason) unless ``user`` may move ``dispatch`` to
    ``to_stage`` on day ``on`` (default today); ``planned_departure`` replaces the
    dispatch's for the documents' check."""
    refusal = move_refusal(dispatch, dispatch.stage, to_stage, user, on=on or date.today(),
                           last_on=_last_on(dispatch),
                           planned_departure=planned_departure or dispatch.planned_departure,
                           stage_dates=stage_dates(dispatch))
    if refusal is not None:
        raise refusal


def move_refusal(dispatch: Dispatch, from_stage: str, to_stage: str, user, *, on: date,
                 last_on: date | None, planned_departure: date | None,
                 documents: list[Document] | None = None,
                 stage_dates: dict[str, date] | None = None) -> DispatchError | None:
    """Why a move of ``dispatch`` from ``from_stage`` is refused, or None.

    Explicit state, so that the status importer can check a file's rows one after another
    on a simulated stage; ``documents`` default to the dispatch's and its trainee's;
    ``stage_dates`` (stage -> day reached) tell when the COE was applied for.
    """
    if user is not None and not access.can_move_dispatch(user, dispatch):
        return DispatchError(_l("Only the dispatch agency or an administrator can move this "
                                "dispatch."), code="forbidden")
    refusal = _structure_refusal(from_stage, to_stage)
    if refusal is not None:
        return refusal
    if on > date.today() + FUTURE_TOLERANCE:
        return DispatchError(_l("The date %(date)s is in the future.", date=lazy_date(on)),
                             code="bad_date", field="happened_on")
    if last_on is not None and on < last_on:
        return DispatchError(_l("The date %(date)s is before the previous step of this "
                                "dispatch, on %(previous)s.", date=lazy_date(on),
                                previous=lazy_date(last_on)), code="bad_date", field="happened_on")
    problems = document_problems(dispatch, to_stage, on=on,
                                  planned_departure=planned_departure, documents=documents,
                                  stage_dates=stage_dates)
    if problems:
        errors = [error for _kind, error in problems]
        code = next((c for c in ("missing_document", "expired_document")
                     if any(e.code == c for e in errors)), errors[0].code)
        return DispatchError(_Joined([e.message for e in errors]), code=code)
    return None


def _structure_refusal(from_stage: str, to_stage: str) -> DispatchError | None:
    if to_stage not in STAGES and to_stage not in EXITS:
        return DispatchError(_l("Unknown stage “%(value)s”.", value=to_stage))
    if from_stage not in OPEN_STAGES:
        return DispatchError(_l("This dispatch is closed (%(stage)s): it cannot move any more.",
                                stage=_stage(from_stage)), code="closed")
    if to_stage in targets(from_stage):
        return None
    if to_stage == from_stage:
        return DispatchError(_l("The dispatch is already at stage “%(stage)s”.",
                                stage=_stage(to_stage)))
    if to_stage == "denied":
        return DispatchError(_l("Only a dispatch waiting for its COE or its visa can be "
                                "denied."))
    if to_stage == "early_return":
        return DispatchError(_l("Only a worker at work in Japan can return early."))
    if STAGES.index(to_stage) < STAGES.index(from_stage):
        return DispatchError(_l("A dispatch does not go back: it is at stage “%(current)s”, "
                                "after “%(target)s”.", current=_stage(from_stage),
                                target=_stage(to_stage)))
    return DispatchError(_l("Stages cannot be skipped: after “%(current)s” comes “%(next)s”.",
                            current=_stage(from_stage), next=_stage(FORWARD[from_stage])))


def _stage(code: str):
    return STAGE_LABELS.get(code, code)


class _Joined:
    """Several lazy messages read as one, each in the reader's locale."""

    def __init__(self, parts):
        self.parts = list(parts)

    def __str__(self) -> str:
        return " ".join(str(p) for p in self.parts)


def _last_on(dispatch: Dispatch) -> date | None:
    return db.session.scalar(sa.select(sa.func.max(StatusEvent.happened_on)).where(
        StatusEvent.dispatch_id == dispatch.id))


# -- writes ------------------------------------------------------------------------------------


def clean_note(note: str | None) -> str | None:
    """A note as typed, whitespace collapsed; DispatchError beyond ``NOTE_LIMIT``."""
    note = " ".join((note or "").split()) or None
    if note and len(note) > NOTE_LIMIT:
        raise DispatchError(_l("The note can have at most %(max)d characters.", max=NOTE_LIMIT),
                            code="invalid", field="note")
    return note


def move_dispatch(dispatch: Dispatch, to_stage: str, user, *, expected_version: int,
                  happened_on: date | None = None, note: str | None = None,
                  planned_departure: date | None = None) -> StatusEvent:
    """Move ``dispatch`` to ``to_stage`` after every check; write one event; flush.

    ``expected_version`` is the version the user's form was built on: any other raises
    ``StaleDispatch``, as does losing a race to a concurrent move (the UPDATE carries the
    version). ``planned_departure``, when given, is set on the dispatch with the move.
    """
    if user is not None and not access.can_move_dispatch(user, dispatch):
        raise DispatchError(_l("Only the dispatch agency or an administrator can move this "
                               "dispatch."), code="forbidden")
    if dispatch.version != expected_version:
        raise StaleDispatch(dispatch)
    happened_on = happened_on or date.today()
    note = clean_note(note)
    check_move(dispatch, to_stage, user, on=happened_on, planned_departure=planned_departure)
    from_stage = dispatch.stage
    try:
        event = write_move(dispatch, to_stage, user, happened_on=happened_on, note=note,
                           planned_departure=planned_departure)
        db.session.flush()  # the UPDATE carries the version: a lost race fails here
    except StaleDataError:
        _lost_race(dispatch)
    refresh_dispatches([dispatch.id])  # with the trainee's others (their TITP history)
    log.info("dispatch %s moved %s -> %s by %s", dispatch.id, from_stage, to_stage,
             getattr(user, "email", "system"))
    return event


def write_move(dispatch: Dispatch, to_stage: str, user, *, happened_on: date,
               note: str | None = None, planned_departure: date | None = None) -> StatusEvent:
    """Write one checked move: the event, the stage, the trainee's status. No checks, no
    commit: callers check first (``move_dispatch``, the status importer); the request or
    command commits. Callers recompute the stored fee flags of what they moved
    (``fees.refresh_dispatches``), once for a whole import."""
    event = StatusEvent(dispatch_id=dispatch.id, from_stage=dispatch.stage, to_stage=to_stage,
                        happened_on=happened_on, by_id=getattr(user, "id", None), note=note)
    db.session.add(event)
    from_stage = dispatch.stage
    dispatch.stage = to_stage
    if not dispatch.is_open:
        # From now on its employer and agency see its history, nothing recorded later.
        dispatch.closed_at = event.at = utcnow()
    if planned_departure is not None:
        dispatch.planned_departure = planned_departure
    if to_stage == "contracted":
        # The job order's terms, until the agency records the contract as signed (issue 13).
        prefill_contract(dispatch)
    _follow_trainee(dispatch, from_stage, to_stage)
    return event


def _follow_trainee(dispatch: Dispatch, from_stage: str, to_stage: str) -> None:
    """The trainee's status after a move (module docstring)."""
    trainee = dispatch.trainee
    if to_stage == "deployed":
        trainee.status = "deployed"
    elif to_stage in ("completed", "early_return"):
        trainee.status = "returned"
    elif to_stage in ENDED_BEFORE_DEPARTURE:
        if from_stage not in _BEFORE_DEPARTURE:
            trainee.status = "returned"
        elif trainee.status == "in_process":
            # Back in the candidate pools: this was the worker's one open dispatch (the
            # database allows no other, ``uq_dispatches_open_trainee``).
            trainee.status = "available"


def update_dispatch(dispatch: Dispatch, user, *, expected_version: int,
                    planned_departure: date | None) -> Dispatch:
    """Set (or clear) the planned departure of an open dispatch; flush and return it."""
    if user is not None and not access.can_move_dispatch(user, dispatch):
        raise DispatchError(_l("Only the dispatch agency or an administrator can change this "
                               "dispatch."), code="forbidden")
    if dispatch.version != expected_version:
        raise StaleDispatch(dispatch)
    if not dispatch.is_open:
        raise DispatchError(_l("This dispatch is closed (%(stage)s): it cannot move any more.",
                               stage=_stage(dispatch.stage)), code="closed")
    if planned_departure == dispatch.planned_departure:
        return dispatch  # nothing changed: the version stays, other open forms stay valid
    dispatch.planned_departure = planned_departure
    try:
        db.session.flush()
    except StaleDataError:
        _lost_race(dispatch)
    log.info("dispatch %s planned departure %s by %s", dispatch.id, planned_departure,
             getattr(user, "email", "system"))
    return dispatch


def _lost_race(dispatch: Dispatch):
    """Another session committed first: undo ours (the whole transaction), show theirs."""
    db.session.rollback()
    db.session.refresh(dispatch)
    raise StaleDispatch(dispatch) from None
