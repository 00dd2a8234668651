"""Employers' decisions on candidates (DESIGN §2, §5, §6).

Every click is a ``Decision`` row (the history is kept, the latest per pair counts, and
``model train`` learns from them). ``record_decision`` is the one write path from the web:

- only a candidate of the job order may be judged: someone in its ranked pool, or already
  decided on for it (``access.is_job_candidate``);
- a repeated click (the same decision as the latest) writes nothing and returns the latest;
- selecting beyond the headcount needs an explicit confirmation (``HeadcountReached``);
- selecting opens the dispatch (``dispatch.create_dispatch``: the trainee becomes
  in_process and leaves every pool) and, when the selections reach the headcount, marks an
  open job order *filled* (the job order page can reopen it);
- once a dispatch runs, the decision can no longer move away from "selected": the
  dispatch agency must withdraw it first;
- nobody is selected twice: not a worker already selected by another job order (no longer
  available), nor one whose dispatch for this job order was withdrawn or denied (one
  dispatch per pair).
"""

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from matching import access
from matching.extensions import db
from matching.i18n import _l
from matching.models import DECISIONS, Decision, JobOrder, Trainee
from matching.models.jobs import latest_decisions_subquery
from matching.operations.dispatch import ENDED_BEFORE_DEPARTURE, create_dispatch, dispatch_for
from matching.operations.errors import OperationError
from matching.operations.locks import lock_rows

log = logging.getLogger(__name__)

NOTE_LIMIT = 1000  # the size of decisions.note
#: Job order statuses in which decisions may be recorded.
DECIDING_STATUSES = ("open", "filled")
NO_LONGER_AVAILABLE = _l("This candidate is no longer available: they have been selected for "
                         "another job order or left the registry.")


class DecisionError(OperationError):
    """A refused decision."""


class NotACandidate(DecisionError):
    """The trainee is not a candidate of the job order (the web answers 404)."""


class HeadcountReached(DecisionError):
    """Selecting one more than the headcount: ask the employer to confirm."""

    def __init__(self, selected: int, headcount: int):
        super().__init__(_l("This job order already has %(selected)d selected for a headcount "
                            "of %(headcount)d. Select anyway?", selected=selected,
                            headcount=headcount))
        self.selected = selected
        self.headcount = headcount


def latest_decision(job: JobOrder, trainee_id: int) -> Decision | None:
    """The decision that counts for (``job``, trainee): the latest by date, then by id."""
    return db.session.scalar(
        sa.select(Decision).where(Decision.job_order_id == job.id,
                                  Decision.trainee_id == trainee_id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc()).limit(1))


def latest_decisions_for(job: JobOrder) -> dict[int, str]:
    """trainee id → latest decision, for every trainee decided on for ``job`` (one query)."""
    latest = latest_decisions_subquery(Decision.job_order_id == job.id)
    return dict(db.session.execute(sa.select(latest.c.trainee_id, latest.c.decision)).all())


def selected_count(job: JobOrder) -> int:
    """How many trainees' latest decision on ``job`` is "selected"."""
    latest = latest_decisions_subquery(Decision.job_order_id == job.id)
    return db.session.scalar(sa.select(sa.func.count())
                             .where(latest.c.decision == "selected")) or 0


def record_decision(job: JobOrder, trainee: Trainee, decision: str, user, note: str | None = None,
                    confirm_over_headcount: bool = False) -> Decision:
    """Record ``user``'s ``decision`` on ``trainee`` for ``job`` and return the one that counts.

    Raises ``NotACandidate``, ``HeadcountReached`` (retry with ``confirm_over_headcount``)
    or ``DecisionError``; nothing is written then.
    """
    if not access.can_manage_job_order(user, job):
        raise DecisionError(_l("Your account cannot record decisions on this job order."))
    if decision not in DECISIONS:
        raise DecisionError(_l("Choose a decision from the list."))
    if job.status not in DECIDING_STATUSES:
        raise DecisionError(_l("Decisions can be recorded only while the job order is open. "
                               "Publish or reopen it first."))
    note = " ".join((note or "").split()) or None
    if note and len(note) > NOTE_LIMIT:
        raise DecisionError(_l("The note can have at most %(max)d characters.", max=NOTE_LIMIT))
    # From here to the request's commit, nobody else decides on this job order (and, for a
    # selection, on this worker): the repeat, headcount and availability checks below see every
    # decision committed before, and theirs cannot slip in between check and write.
    lock_rows(*((job, trainee) if decision == "selected" else (job,)))
    if job.status not in DECIDING_STATUSES:
        raise DecisionError(_l("Decisions can be recorded only while the job order is open. "
                               "Publish or reopen it first."))
    if db.session.scalar(sa.select(Trainee.id).where(
            Trainee.id == trainee.id, access.is_job_candidate(job))) is None:
        if trainee.status == "in_process":  # most likely taken by another job order just now
            raise NotACandidate(NO_LONGER_AVAILABLE)
        raise NotACandidate(_l("This trainee is not a candidate for this job order."))

    latest = latest_decision(job, trainee.id)
    if latest is not None and latest.decision == decision:
        # A double click or a reload of the form: nothing new to record.
        if decision == "selected" and trainee.status == "available":
            _open_dispatch(job, trainee, user)  # e.g. a "selected" loaded by an import
        return latest
    if latest is not None and latest.decision == "selected":
        running = dispatch_for(job, trainee)
        if running is not None and running.stage not in ENDED_BEFORE_DEPARTURE:
            raise DecisionError(_l("This worker's dispatch has started. The dispatch agency "
                                   "must withdraw it before the decision can change."))
    if decision == "selected":
        _check_selectable(job, trainee)
    if decision == "selected" and not confirm_over_headcount:
        already = selected_count(job)
        if already >= job.headcount:
            raise HeadcountReached(already, job.headcount)

    row = Decision(job_order_id=job.id, trainee_id=trainee.id, decision=decision,
                   decided_by_id=user.id, note=note)
    db.session.add(row)
    if decision == "selected":
        _open_dispatch(job, trainee, user)
    else:
        _flush()
    log.info("decision %s on trainee %s for job order %s by %s", decision, trainee.id,
             job.external_id, user.email)
    return row


def _check_selectable(job: JobOrder, trainee: Trainee) -> None:
    ended = dispatch_for(job, trainee)
    if ended is not None and ended.stage in ENDED_BEFORE_DEPARTURE:
        # One dispatch per (job order, trainee): a withdrawn or denied one cannot be opened
        # again.
        raise DecisionError(_l("This worker's dispatch for this job order ended before "
                               "departure (withdrawn, or the COE or visa was denied); they "
                               "cannot be selected for it again."))
    if ended is None and trainee.status != "available":
        # Shortlisted here, then selected by another job order (or deployed, withdrawn...).
        raise DecisionError(NO_LONGER_AVAILABLE)


def _open_dispatch(job: JobOrder, trainee: Trainee, user) -> None:
    """Open the dispatch, mark the job order filled at its headcount, and flush."""
    create_dispatch(job, trainee, user)
    if job.status == "open" and selected_count(job) >= job.headcount:
        job.status = "filled"
        log.info("job order %s filled (headcount %d)", job.external_id, job.headcount)
    _flush()


def _flush() -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two clicks racing to open the same dispatch: the unique constraint decides (at the
        # flush); nothing of this decision is kept.
        db.session.rollback()
        raise DecisionError(_l("Someone changed this candidate at the same moment. Reload "
                               "the page and try again.")) from exc
