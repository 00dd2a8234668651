"""Grievances (issue 13 §4): filed by a worker or, on their behalf, by their department;
acknowledged, resolved or closed by the department, each step with a note and an event.

A grievance is attached to the worker's open dispatch (else their last one): that
dispatch's agency reads it when the worker allowed it (``agency_may_see``). Transitions are
decided under the grievance's row lock (``locks.lock_rows``), so two people acknowledging at
once give one acknowledgement and one clear refusal, never two events.
"""

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from matching import access
from matching.extensions import db
from matching.i18n import _l
from matching.labels import grievance_state_label
from matching.models import Dispatch, Grievance, GrievanceEvent, Trainee, User
from matching.models._common import utcnow
from matching.models.grievances import (
    GRIEVANCE_CATEGORIES,
    GRIEVANCE_TRANSITIONS,
    OVERDUE_DAYS,
)
from matching.operations.documents import store_upload
from matching.operations.errors import OperationError
from matching.operations.locks import lock_rows

log = logging.getLogger(__name__)

DESCRIPTION_LIMIT = 5000
NOTE_LIMIT = 2000


class GrievanceError(OperationError):
    """A refused filing or transition (``code``: "forbidden", "invalid", "stale")."""


def overdue_since(now: datetime | None = None) -> datetime:
    """Grievances still open that were filed before this moment are overdue."""
    return (now or utcnow()) - timedelta(days=OVERDUE_DAYS)


def is_overdue(grievance: Grievance, now: datetime | None = None) -> bool:
    """Open (never acknowledged) for more than ``OVERDUE_DAYS`` days."""
    return grievance.state == "open" and grievance.created_at < overdue_since(now)


def overdue_clause(now: datetime | None = None) -> sa.ColumnElement[bool]:
    """``is_overdue`` as a filter of a grievances query."""
    return sa.and_(Grievance.state == "open", Grievance.created_at < overdue_since(now))


def worker_dispatch(trainee: Trainee) -> Dispatch | None:
    """The worker's open dispatch, else their latest one, else None."""
    return db.session.scalar(
        sa.select(Dispatch).where(Dispatch.trainee_id == trainee.id)
        .order_by(Dispatch.closed_at.is_(None).desc(), Dispatch.created_at.desc(),
                  Dispatch.id.desc()).limit(1))


def _clean(text: str | None, limit: int, field: str, required: bool):
    text = (text or "").strip()
    if required and not text:
        raise GrievanceError(_l("Please write what happened."), field=field, code="invalid")
    if len(text) > limit:
        raise GrievanceError(_l("Please keep it under %(max)d characters.", max=limit),
                             field=field, code="invalid")
    return text or None


def file_grievance(user: User, trainee: Trainee, *, category: str, description: str,
                   agency_may_see: bool, upload: FileStorage | None = None) -> Grievance:
    """Record a grievance of ``trainee`` (by the worker, or their department on their
    behalf) with its first event. Flushes; the request commits. Raises ``GrievanceError``."""
    if not access.can_file_grievance_for(user, trainee):
        raise GrievanceError(_l("Only the worker or the labour department of their province "
                                "can file this."), code="forbidden")
    if category not in GRIEVANCE_CATEGORIES:
        raise GrievanceError(_l("Choose a value from the list."), field="category",
                             code="invalid")
    description = _clean(description, DESCRIPTION_LIMIT, "description", required=True)
    dispatch = worker_dispatch(trainee)
    grievance = Grievance(trainee_id=trainee.id, dispatch_id=dispatch.id if dispatch else None,
                          category=category, description=description,
                          agency_may_see=bool(agency_may_see), state="open",
                          by_worker=access.is_worker(user), created_by_id=user.id)
    if upload is not None and upload.filename:
        store_upload(upload, grievance)  # the document checks: type, size; rolls back too
    db.session.add(grievance)
    db.session.flush()
    db.session.add(GrievanceEvent(grievance_id=grievance.id, from_state=None, to_state="open",
                                  by_id=user.id, at=grievance.created_at))
    db.session.flush()
    log.info("grievance %s (%s) of trainee %s filed by %s", grievance.id, category, trainee.id,
             user.email)
    return grievance


def transition(user: User, grievance: Grievance, to_state: str, note: str | None,
               *, seen_state: str | None = None) -> GrievanceEvent:
    """Move ``grievance`` to ``to_state`` with ``note`` (required). ``seen_state``: the state
    the form showed; if it changed meanwhile the move is refused ("stale")."""
    if not access.can_handle_grievance(user, grievance):
        raise GrievanceError(_l("Only the labour department of the worker's province can "
                                "handle this grievance."), code="forbidden")
    note = _clean(note, NOTE_LIMIT, "note", required=False)
    if not note:
        raise GrievanceError(_l("Write a note: the worker reads it."), field="note",
                             code="invalid")
    lock_rows(grievance)  # reloads: the state another request committed is the one checked
    if seen_state is not None and grievance.state != seen_state:
        raise GrievanceError(_l("Someone changed this grievance meanwhile: it is now "
                                "“%(state)s”. Nothing was recorded; read it again.",
                                state=grievance_state_label(grievance.state)), code="stale")
    if to_state not in GRIEVANCE_TRANSITIONS.get(grievance.state, ()):
        raise GrievanceError(_l("A grievance that is “%(state)s” cannot become “%(to)s”.",
                                state=grievance_state_label(grievance.state),
                                to=grievance_state_label(to_state)),
                             field="to_state", code="stale")
    event = GrievanceEvent(grievance_id=grievance.id, from_state=grievance.state,
                           to_state=to_state, note=note, by_id=user.id)
    grievance.state = to_state
    db.session.add(event)
    db.session.flush()
    log.info("grievance %s: %s -> %s by %s", grievance.id, event.from_state, to_state,
             user.email)
    return event
