"""The demo's dispatch pipeline: the selected workers on their way to Japan (``demo seed``).

After the demo decisions are imported, every (job order, trainee) pair whose latest
decision is "selected" gets its dispatch (``dispatch.create_dispatch``, by the employer who
selected, on the day of the selection), a job order whose selections reach its headcount
becomes *filled* (the employer review's rule), and the demo agencies move most dispatches
along the pipeline with ``dispatch.move_dispatch`` and ``add_document``: the same checks,
events and trainee statuses as on the agency board, nothing written by hand.

How far each dispatch went depends on its rank in the order of selection (``PLANS``: the
first selected went furthest, one left, two carry a document that expires within the
month); the days between steps come from a ``random.Random`` seeded per pair. Every step
happened in the past (selections are dated from February 2026); the two expiring documents
are dated from today, so that the expiry warnings show whenever the demo is seeded.

Idempotent: an existing dispatch is kept as it is, and one that has moved (a stage other
than "selected", or more than its first event) is never moved again, so a second run, or a
run after someone moved dispatches on the site, writes nothing. Selections made on the site
(decisions with an author) are left to their agency.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from matching.extensions import db
from matching.models import STAGES, Decision, Dispatch, JobOrder, StatusEvent, Trainee, User
from matching.models.jobs import latest_decisions_subquery
from matching.operations.decisions import selected_count
from matching.operations.dispatch import (
    DispatchError,
    add_document,
    create_dispatch,
    move_dispatch,
)
from matching.operations.jobs import JobOrderError, set_job_status

log = logging.getLogger(__name__)

__all__ = ["PLANS", "Plan", "PipelineReport", "seed_pipeline"]


@dataclass(frozen=True)
class Plan:
    """Where a demo dispatch got to."""

    #: The last stage reached; "withdrawn": the worker left during pre-departure training.
    stage: str
    #: A document of this kind ("passport" or "coe") expires within the month.
    expiring: str | None = None


#: By order of selection (the earliest selected went furthest); later dispatches cycle
#: through ``LATER``.
PLANS = (Plan("deployed"), Plan("departed"), Plan("visa_issued"), Plan("visa_applied"),
         Plan("withdrawn"), Plan("visa_issued"), Plan("visa_applied"),
         Plan("coe_issued", expiring="coe"), Plan("coe_issued"), Plan("coe_applied"),
         Plan("coe_applied"), Plan("training", expiring="passport"), Plan("coe_applied"),
         Plan("training"), Plan("contracted"))
LATER = (Plan("coe_applied"), Plan("training"), Plan("contracted"), Plan("selected"))
#: Days from the previous step to each stage (plus up to four days, per pair).
STEP_DAYS = {"contracted": 14, "training": 7, "coe_applied": 45, "coe_issued": 50,
             "visa_applied": 10, "visa_issued": 14, "departed": 21, "deployed": 3}
WITHDRAWN_AFTER_DAYS = 20
#: The expiring documents: how many days they have left on the day of the seed.
EXPIRING_IN = {"coe": 11, "passport": 18}
COE_VALID_DAYS = 91  # a COE is valid three months: the visa must be applied for before
PASSPORT_VALID_DAYS = 3652  # ten years for an adult's Vietnamese passport
VISA_VALID_DAYS = 365
FLIGHTS = ("VN310", "VN300", "VJ932", "NH858", "JL752", "VN346")
NOTES = {
    "withdrawn": "Người lao động rút hồ sơ vì lý do gia đình.",
    "departed": "Xuất cảnh tại sân bay Nội Bài.",
    "deployed": "Đã nhận việc tại công ty tiếp nhận.",
}


class DemoPipelineError(RuntimeError):
    """A demo dispatch could not be moved (a bug in the demo plans)."""


@dataclass
class PipelineReport:
    moves: int = 0
    documents: int = 0
    job_orders_filled: int = 0
    #: Ids of the dispatches this run opened.
    opened: set[int] = field(default_factory=set)

    @property
    def dispatches_created(self) -> int:
        return len(self.opened)


def seed_pipeline(job_external_ids: list[str], actor_emails: dict[str, int], seed: int, *,
                  today: date | None = None) -> PipelineReport:
    """Open, fill and move the dispatches of the selected workers of these job orders.

    ``actor_emails`` maps the e-mail of each demo account to its organisation: the
    employer's account selects (and fills its job orders), the agency's moves its
    dispatches and records their documents. ``seed`` seeds the per-pair randomness.
    Raises ``DemoPipelineError`` if a planned move is refused.
    """
    today = today or date.today()
    report = PipelineReport()
    actors = {actor_emails[user.email]: user for user in db.session.scalars(
        sa.select(User).where(User.email.in_(list(actor_emails))))}
    job_orders = list(db.session.scalars(sa.select(JobOrder).where(
        JobOrder.external_id.in_(job_external_ids)).order_by(JobOrder.external_id)))
    dispatches = _open_dispatches(job_orders, actors, report)
    opened = {d.job_order_id for d, _ in dispatches if d.id in report.opened}
    for job in job_orders:
        employer = actors.get(job.employer_id)
        # As when the employer selects on the site; a job order reopened since is left open.
        if job.id in opened and job.status == "open" and employer is not None \
                and selected_count(job) >= job.headcount:
            try:
                set_job_status(job, "filled", employer)
            except JobOrderError as exc:
                raise DemoPipelineError(f"{job.external_id}: {exc}") from exc
            report.job_orders_filled += 1
    events = dict(db.session.execute(
        sa.select(StatusEvent.dispatch_id, sa.func.count())
        .where(StatusEvent.dispatch_id.in_([d.id for d, _ in dispatches]))
        .group_by(StatusEvent.dispatch_id)).all()) if dispatches else {}
    for position, (dispatch, selected_on) in enumerate(dispatches):
        if dispatch.stage != STAGES[0] or events.get(dispatch.id, 0) > 1:
            continue  # moved already, by an earlier seed or on the site
        plan = PLANS[position] if position < len(PLANS) else \
            LATER[(position - len(PLANS)) % len(LATER)]
        rng = random.Random(f"{seed}-dispatch-{dispatch.job_order.external_id}-"
                            f"{dispatch.trainee.province}-{dispatch.trainee.external_id}")
        try:
            _follow(dispatch, plan, selected_on, actors.get(dispatch.agency_id), rng, today,
                    report)
        except DispatchError as exc:
            raise DemoPipelineError(f"dispatch of {dispatch.trainee.external_id} on "
                                    f"{dispatch.job_order.external_id}: {exc}") from exc
    log.info("demo pipeline: %s", report)
    return report


def _open_dispatches(job_orders: list[JobOrder], actors: dict[int, User],
                     report: PipelineReport) -> list[tuple[Dispatch, date]]:
    """(dispatch, selection day) of every pair selected by the demo import, in order of
    selection."""
    if not job_orders:
        return []
    latest = latest_decisions_subquery(Decision.job_order_id.in_([j.id for j in job_orders]))
    # A selection made on the site (it has an author; imported ones have none) opened its
    # dispatch there: it is its agency's, and the demo's plans never shift because of it.
    on_site = sa.select(Decision.id).where(
        Decision.job_order_id == latest.c.job_order_id,
        Decision.trainee_id == latest.c.trainee_id, Decision.decision == "selected",
        Decision.decided_by_id.is_not(None)).exists()
    rows = db.session.execute(
        sa.select(JobOrder, Trainee, latest.c.decided_at)
        .join(latest, latest.c.job_order_id == JobOrder.id)
        .join(Trainee, Trainee.id == latest.c.trainee_id)
        .where(latest.c.decision == "selected", ~on_site)
        .order_by(latest.c.decided_at, JobOrder.external_id, Trainee.province,
                  Trainee.external_id)).all()
    existing = {(d.job_order_id, d.trainee_id): d for d in db.session.scalars(
        sa.select(Dispatch).where(Dispatch.trainee_id.in_([t.id for _, t, _ in rows])))}
    out = []
    for job, trainee, decided_at in rows:
        dispatch = existing.get((job.id, trainee.id))
        if dispatch is None:
            if trainee.status != "available":
                # Already on its way with another job order: a worker goes to one employer.
                log.info("demo: %s is %s, no dispatch for %s", trainee.external_id,
                         trainee.status, job.external_id)
                continue
            dispatch = create_dispatch(job, trainee, actors.get(job.employer_id),
                                       today=decided_at.date())
            report.opened.add(dispatch.id)  # create_dispatch flushed: the id is known
        out.append((dispatch, decided_at.date()))
    return out


def _schedule(plan: Plan, selected_on: date, rng: random.Random, today: date
              ) -> list[tuple[str, date]]:
    """The (stage, day) moves of ``plan``, none later than yesterday."""
    last = "training" if plan.stage == "withdrawn" else plan.stage
    moves, on = [], selected_on
    for stage in STAGES[1:STAGES.index(last) + 1]:
        on += timedelta(days=STEP_DAYS[stage] + rng.randrange(5))
        if stage == "coe_issued" and plan.expiring == "coe":
            # Issued three months before it expires, soon: the visa application is urgent.
            on = max(on, today + timedelta(days=EXPIRING_IN["coe"] - COE_VALID_DAYS))
        moves.append((stage, on))
    if plan.stage == "withdrawn":
        moves.append(("withdrawn", on + timedelta(days=WITHDRAWN_AFTER_DAYS)))
    yesterday = today - timedelta(days=1)
    # A step cannot be in the future: on a clock earlier than the demo's, stop before it.
    return [(stage, day) for stage, day in moves if day <= yesterday]


def _follow(dispatch: Dispatch, plan: Plan, selected_on: date, agency_user, rng, today,
            report: PipelineReport) -> None:
    """Record the documents and move ``dispatch`` step by step as ``plan`` says."""
    moves = _schedule(plan, selected_on, rng, today)
    departed_on = dict(moves).get("departed")
    job_start = dispatch.job_order.start_date or date(today.year + 1, 4, 1)
    for stage, on in moves:
        planned = None
        if stage == "coe_issued" and plan.expiring != "coe":
            # With the COE the departure is planned, about a month before the job starts
            # (without one, the expiring COE is reported as expiring, not as too short).
            planned = departed_on or job_start - timedelta(days=20 + rng.randrange(20))
        for kind, fields in _documents(stage, on, plan, rng, today):
            add_document(agency_user, dispatch=dispatch, kind=kind, **fields)
            report.documents += 1
        move_dispatch(dispatch, stage, agency_user, expected_version=dispatch.version,
                      happened_on=on, note=NOTES.get(stage), planned_departure=planned)
        report.moves += 1


def _documents(stage: str, on: date, plan: Plan, rng: random.Random, today: date):
    """(kind, fields) of the documents the agency records on the day of the move to
    ``stage``: what the step needs, and the usual papers that come with it."""
    if stage == "contracted":
        yield "contract", _fields(f"HĐLĐ-{on.year}-{rng.randrange(10**4):04d}", on)
    elif stage == "training":
        yield "health_check", _fields(None, on - timedelta(days=3 + rng.randrange(10)))
        if plan.expiring == "passport":
            # An old passport, to be renewed before the visa application.
            expires = today + timedelta(days=EXPIRING_IN["passport"])
            yield "passport", _passport(rng, expires - timedelta(days=PASSPORT_VALID_DAYS))
    elif stage == "coe_applied":
        # Japan's pre-entry TB screening: the clearance certificate goes with the application.
        yield "tb_certificate", _fields(f"TB-{rng.randrange(10**6):06d}",
                                        on - timedelta(days=7 + rng.randrange(30)))
        if plan.expiring != "passport":
            # The COE application needs a copy of the passport.
            yield "passport", _passport(rng, on - timedelta(days=100 + rng.randrange(1400)))
    elif stage == "coe_issued":
        expires = on + timedelta(days=COE_VALID_DAYS) if plan.expiring == "coe" else None
        yield "coe", _fields(f"EN{on.year}{rng.randrange(10**7):07d}", on, expires)
    elif stage == "visa_issued":
        yield "visa", _fields(f"JV{rng.randrange(10**8):08d}", on,
                              on + timedelta(days=VISA_VALID_DAYS))
    elif stage == "departed":
        yield "flight", _fields(rng.choice(FLIGHTS), on)


def _passport(rng: random.Random, issued_on: date) -> dict:
    return _fields(f"C{rng.randrange(10**7):07d}", issued_on,
                   issued_on + timedelta(days=PASSPORT_VALID_DAYS))


def _fields(number: str | None, issued_on: date | None, expires_on: date | None = None
            ) -> dict:
    return {"number": number, "issued_on": issued_on, "expires_on": expires_on}
