"""Who may see and do what: the ONE place that scopes queries (DESIGN §7).

Views load objects only through these helpers. Anything outside a user's scope answers 404
(not 403), so an ID reveals nothing; a page a role may never use answers 403.
"""

from collections.abc import Callable, Mapping
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from matching.extensions import db
from matching.models import (
    DOCUMENT_KINDS,
    Charge,
    Decision,
    Dispatch,
    Document,
    Grievance,
    JobOrder,
    Organisation,
    Trainee,
    User,
)
from matching.models.dispatch import RECEIPT_KIND
from matching.models.jobs import latest_decisions_subquery
from matching.models.trainees import eligible  # the one definition of who is shown
from matching.references import trainee_id_from_ref
from matching.vocab import PROVINCES

# -- roles ---------------------------------------------------------------------------------

#: Who may reach a family of pages at all (anyone else: 403). Scope is decided per object
#: below (outside it: 404).
ADMINS = ("admin",)
REGISTRARS = ("admin", "department")  # the trainee registry and its imports
JOB_MANAGERS = ("admin", "employer")  # post and edit job orders, import job data
JOB_READERS = ("admin", "employer", "agency")  # read job orders (an agency those it serves)
#: Candidate review; an agency may read the job order, so its candidate URLs answer 404.
CANDIDATE_REVIEWERS = ("admin", "employer", "agency")
DISPATCH_MOVERS = ("admin", "agency")  # move stages, record documents, import statuses
DISPATCH_READERS = ("admin", "agency", "department", "employer")
PIPELINE_VIEWERS = ("admin", "department")  # a province's workers in the pipeline
#: The regional picture (issue 13 §5): the admin every province, a department its own.
REGION_VIEWERS = ("admin", "department")
SELECTION_VIEWERS = ("admin", "employer")  # an employer's selected workers
#: The fee ledger's charges and flags (an employer sees only what the worker paid in all).
FEE_READERS = ("admin", "agency", "department")


def roles_required(*roles: str) -> Callable:
    """Log-in required, and the user's role must be one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.role == "admin")


# -- trainees ------------------------------------------------------------------------------


def trainees_select(user) -> sa.Select:
    """A ``Select`` of the trainees ``user`` may see; callers add filters and paginate."""
    stmt = sa.select(Trainee)
    if user.role == "admin":
        return stmt
    if user.role == "department" and user.province:
        return stmt.where(Trainee.province == user.province)
    # Employers see anonymised candidates through the ranking views, agencies their
    # dispatched workers through the dispatch views; the registry shows them nothing.
    return stmt.where(sa.false())


def one_or_404(stmt: sa.Select, *options):
    """The single row a scoped ``stmt`` finds (with loader ``options``), else 404."""
    found = db.session.scalar(stmt.options(*options) if options else stmt)
    if found is None:
        abort(404)
    return found


def get_trainee_or_404(user, trainee_id: int, *options) -> Trainee:
    return one_or_404(trainees_select(user).where(Trainee.id == trainee_id), *options)


def can_register_trainees(user) -> bool:
    return user.role == "admin" or (user.role == "department" and bool(user.province))


def can_edit_trainee(user, trainee: Trainee) -> bool:
    if user.role == "admin":
        return True
    return user.role == "department" and user.province == trainee.province


def import_province_scope(user) -> str | None:
    """The one province a user's imports may touch, or ``None`` for any (admin, CLI)."""
    return user.province if user.role == "department" else None


# -- job orders and decisions ----------------------------------------------------------------


def can_import_job_data(user) -> bool:
    """Who may import job orders and decisions (the CLI, with no user, always may)."""
    return user.role in ("admin", "employer")


def import_employer_scope(user) -> int | None:
    """The one employer whose job orders a user's imports may touch, or ``None`` for any."""
    return user.organisation_id if user.role == "employer" else None


# -- job orders ----------------------------------------------------------------------------


def job_orders_select(user) -> sa.Select:
    """Job orders ``user`` may see: an employer its own, an agency those assigned to it."""
    stmt = sa.select(JobOrder)
    if user.role == "admin":
        return stmt
    if user.role == "employer":
        return stmt.where(JobOrder.employer_id == user.organisation_id)
    if user.role == "agency":
        return stmt.where(JobOrder.agency_id == user.organisation_id)
    return stmt.where(sa.false())


def get_job_order_or_404(user, job_id: int) -> JobOrder:
    return one_or_404(job_orders_select(user).where(JobOrder.id == job_id))


#: Decisions after which an employer sees a candidate's full profile (blind review before).
REVEALING_DECISIONS = ("shortlisted", "interviewed", "selected")


def revealed_trainee_ids(user, trainee_id: int | None = None,
                         job: JobOrder | None = None) -> sa.Select:
    """Ids of trainees whose full profile ``user`` (an employer) may see.

    Those whose latest decision on the employer's job order ``job`` (or, without ``job``,
    on any of its job orders) is shortlisted, interviewed or selected: a candidate rejected
    after shortlisting is hidden again. Review is blind per job order: a trainee
    shortlisted for one job order still appears anonymised on the candidates of another,
    so what the employer knows from one review does not tilt the next.
    """
    own_jobs = job_orders_select(user).with_only_columns(JobOrder.id)
    if job is not None:
        own_jobs = own_jobs.where(JobOrder.id == job.id)
    latest = latest_decisions_subquery(Decision.job_order_id.in_(own_jobs))
    stmt = sa.select(latest.c.trainee_id).where(latest.c.decision.in_(REVEALING_DECISIONS))
    if trainee_id is not None:
        stmt = stmt.where(latest.c.trainee_id == trainee_id)
    return stmt


def can_see_profile(user, trainee: Trainee, job: JobOrder | None = None) -> bool:
    """Full profile (name, birth date, gender, contact, province, rirekisho) of ``trainee``,
    for an employer as a candidate of ``job`` (see ``revealed_trainee_ids``)."""
    if user.role in ("admin", "department"):
        return can_edit_trainee(user, trainee)
    if user.role == "employer":
        stmt = revealed_trainee_ids(user, trainee.id, job)
        return db.session.scalar(stmt.limit(1)) is not None
    return False


def decision_history_select(user, job: JobOrder) -> sa.Select:
    """Who decided on whom for ``job``, named: the administrator's view (everyone else sees
    the counts, and employers their candidates by reference)."""
    stmt = sa.select(Decision).where(Decision.job_order_id == job.id)
    return stmt if is_admin(user) else stmt.where(sa.false())


def can_manage_job_order(user, job: JobOrder | None = None) -> bool:
    """Create (``job`` None) or edit, open, close a job order: its employer, or admin."""
    if user.role == "admin":
        return True
    return user.role == "employer" and (job is None or job.employer_id == user.organisation_id)


def is_job_candidate(job: JobOrder) -> sa.ColumnElement[bool]:
    """Trainees an employer may judge on ``job``: the ranked pool (available, consenting)
    plus anyone already decided on for it (a selected worker has left the pool)."""
    decided = sa.select(Decision.trainee_id).where(Decision.job_order_id == job.id)
    return sa.or_(eligible(), Trainee.id.in_(decided))


def get_candidate_or_404(user, job: JobOrder, trainee_id: int, *options) -> Trainee:
    """A candidate of ``job`` for a user who manages ``job`` (its employer, admin), else 404.

    The trainee object may hold personal data: templates show it only when
    ``can_see_profile`` says so (blind review).
    """
    if not can_manage_job_order(user, job):
        abort(404)
    return one_or_404(sa.select(Trainee).where(Trainee.id == trainee_id, is_job_candidate(job)),
                      *options)


def get_candidate_by_ref_or_404(user, job: JobOrder, ref: str, *options) -> Trainee:
    """The candidate of ``job`` behind the opaque reference ``ref`` (``matching.references``),
    for a user who manages ``job``, else 404. Never a trainee id from a URL."""
    trainee_id = trainee_id_from_ref(job.id, ref)
    if trainee_id is None:
        abort(404)
    return get_candidate_or_404(user, job, trainee_id, *options)


def revealed_among(user, trainee_ids, job: JobOrder | None = None,
                   latest: Mapping[int, str] | None = None) -> set[int]:
    """Which of ``trainee_ids`` ``user`` may see by name among ``job``'s candidates (one
    query; none when the caller passes ``job``'s ``latest`` decisions, trainee id →
    decision, as ``operations.decisions.latest_decisions_for`` reads them)."""
    ids = list(trainee_ids)
    if user.role == "admin":
        return set(ids)
    if user.role != "employer" or not ids:
        return set()
    if job is not None and latest is not None:
        # revealed_trainee_ids on the employer's own job order, from decisions in hand.
        if not can_manage_job_order(user, job):
            return set()
        return {t for t in ids if latest.get(t) in REVEALING_DECISIONS}
    revealed = revealed_trainee_ids(user, job=job).subquery()
    return set(db.session.scalars(
        sa.select(revealed.c.trainee_id).where(revealed.c.trainee_id.in_(ids))))


# -- dispatches ----------------------------------------------------------------------------


def dispatches_select(user) -> sa.Select:
    """Dispatches ``user`` may follow: the agency its own, a department its province's
    trainees', an employer those of its job orders; admin all."""
    stmt = sa.select(Dispatch)
    if user.role == "admin":
        return stmt
    if user.role == "agency":
        return stmt.where(Dispatch.agency_id == user.organisation_id)
    if user.role == "department" and user.province:
        return stmt.where(Dispatch.trainee_id.in_(
            sa.select(Trainee.id).where(Trainee.province == user.province)))
    if user.role == "employer":
        return stmt.where(Dispatch.job_order_id.in_(
            sa.select(JobOrder.id).where(JobOrder.employer_id == user.organisation_id)))
    return stmt.where(sa.false())


def get_dispatch_or_404(user, dispatch_id: int, *options) -> Dispatch:
    return one_or_404(dispatches_select(user).where(Dispatch.id == dispatch_id), *options)


def can_move_dispatch(user, dispatch: Dispatch) -> bool:
    """Only the dispatch's agency (or admin) moves stages and records documents."""
    if user.role == "admin":
        return True
    return user.role == "agency" and dispatch.agency_id == user.organisation_id


def can_import_statuses(user) -> bool:
    """Who may import a status file (each row still only for a dispatch they may move);
    ``user`` None is the command line."""
    return user is None or user.role in DISPATCH_MOVERS


def can_record_document(user, dispatch: Dispatch | None, trainee: Trainee | None) -> bool:
    """Who may record a document: of a dispatch, those who move it; of a trainee, their
    department, an agency dispatching them, or admin. ``user`` None is the system."""
    if user is None:
        return True
    if dispatch is not None:
        return can_move_dispatch(user, dispatch)
    if trainee is None:
        return False
    if can_edit_trainee(user, trainee):
        return True
    return user.role == "agency" and db.session.scalar(sa.select(Dispatch.id).where(
        Dispatch.trainee_id == trainee.id,
        Dispatch.agency_id == user.organisation_id).limit(1)) is not None


def province_funnel_scope(user) -> tuple[sa.Select, sa.Select]:
    """The trainees and dispatches a province-by-province funnel may count for ``user``:
    everyone's for admin (the national dashboard), nothing for the others."""
    return trainees_select(user), dispatches_select(user)


def region_codes(user) -> tuple[str, ...]:
    """The provinces whose regional picture ``user`` may see: all 34 for admin, a
    department its own, nobody else any."""
    if user.role == "admin":
        return tuple(PROVINCES)
    if user.role == "department" and user.province:
        return (user.province,)
    return ()


def get_region_or_404(user, code: str) -> str:
    """A province code ``user`` may see the regional picture of (else 404, unknown too)."""
    if code not in region_codes(user):
        abort(404)
    return code


def dispatch_documents_select(user, dispatch: Dispatch) -> sa.Select:
    """The documents ``user`` may see on ``dispatch``'s page (and download from it).

    Admin, and the department of the worker's province, see the dispatch's documents and
    the worker's own papers. The employer and the agency of the dispatch see the worker's
    papers only while the dispatch is open; once it has ended, only what was recorded for
    this dispatch before it ended: a later dispatch of the same worker (another employer,
    another agency) is none of their business, and neither is a passport uploaded for it.
    """
    # A fee receipt is shown with its charge, to those who see the ledger (``charges_select``).
    own = sa.and_(Document.dispatch_id == dispatch.id, Document.kind != RECEIPT_KIND)
    papers = sa.and_(Document.dispatch_id.is_(None), Document.trainee_id == dispatch.trainee_id)
    stmt = sa.select(Document).order_by(Document.kind, Document.created_at, Document.id)
    if dispatch.is_open or user.role == "admin" or (
            user.role == "department" and user.province == dispatch.trainee.province):
        return stmt.where(sa.or_(own, papers))
    if dispatch.closed_at is None:  # ended before end times were kept: nothing later shown
        return stmt.where(own)
    return stmt.where(own, Document.created_at <= dispatch.closed_at)


def get_dispatch_document_or_404(user, dispatch_id: int, document_id: int
                                 ) -> tuple[Dispatch, Document]:
    """A document shown on a dispatch ``user`` may follow (``dispatch_documents_select``)."""
    dispatch = get_dispatch_or_404(user, dispatch_id)
    document = one_or_404(dispatch_documents_select(user, dispatch)
                          .where(Document.id == document_id))
    return dispatch, document


# -- the fee ledger (issue 13) ------------------------------------------------------------


def can_record_charge(user, dispatch: Dispatch) -> bool:
    """Payments are recorded by the dispatch's agency (or admin), as its moves are."""
    return can_move_dispatch(user, dispatch)


def can_read_ledger(user, dispatch: Dispatch) -> bool:
    """Who sees a dispatch's charges and flags (on a dispatch they may follow): admin, its
    agency, the department of the worker's province. Its employer sees only the totals of
    what the worker paid."""
    if user.role == "admin":
        return True
    if user.role == "agency":
        return dispatch.agency_id == user.organisation_id
    return user.role == "department" and user.province == dispatch.trainee.province


def charges_select(user) -> sa.Select:
    """The charges ``user`` may read: those of the dispatches they follow, for the roles
    that read ledgers (``FEE_READERS``); nothing for anyone else."""
    stmt = sa.select(Charge)
    if user.role not in FEE_READERS:
        return stmt.where(sa.false())
    if user.role == "admin":
        return stmt
    return stmt.where(Charge.dispatch_id.in_(
        dispatches_select(user).with_only_columns(Dispatch.id)))


def get_charge_or_404(user, dispatch: Dispatch, charge_id: int) -> Charge:
    return one_or_404(charges_select(user).where(Charge.id == charge_id,
                                                 Charge.dispatch_id == dispatch.id))


def can_import_fees(user) -> bool:
    """Who may import a fee file (each row only for a dispatch they may record on); ``user``
    None is the command line."""
    return user is None or user.role in DISPATCH_MOVERS


def can_maintain_rates(user) -> bool:
    return is_admin(user)


# -- organisations and users (admin only) ---------------------------------------------------


def organisations_select(user) -> sa.Select:
    stmt = sa.select(Organisation)
    return stmt if is_admin(user) else stmt.where(sa.false())


def users_select(user) -> sa.Select:
    stmt = sa.select(User)
    return stmt if is_admin(user) else stmt.where(sa.false())


def get_organisation_or_404(user, org_id: int) -> Organisation:
    return one_or_404(organisations_select(user).where(Organisation.id == org_id))


def get_user_or_404(user, user_id: int) -> User:
    return one_or_404(users_select(user).where(User.id == user_id))


# -- workers and grievances (issue 13 §3–4) ---------------------------------------------------

#: A worker sees only themself: their own pages, nothing else (403 everywhere else).
WORKERS = ("worker",)
#: Who files a grievance on a worker's behalf, and acknowledges, resolves or closes one.
GRIEVANCE_HANDLERS = ("admin", "department")
#: Who reads grievances: the handlers, and an agency those the worker let it see.
GRIEVANCE_READERS = ("admin", "department", "agency")


def is_worker(user) -> bool:
    return bool(user and user.is_authenticated and user.role == "worker" and user.trainee_id)


def own_trainee_or_404(user, *options) -> Trainee:
    """A worker's own trainee record (never anyone else's), else 404."""
    if not is_worker(user):
        abort(404)
    return one_or_404(sa.select(Trainee).where(Trainee.id == user.trainee_id), *options)


def own_dispatches_select(user) -> sa.Select:
    """A worker's own dispatches, newest first; nothing for anyone else."""
    stmt = sa.select(Dispatch).order_by(Dispatch.created_at.desc(), Dispatch.id.desc())
    if not is_worker(user):
        return stmt.where(sa.false())
    return stmt.where(Dispatch.trainee_id == user.trainee_id)


def own_documents_select(user) -> sa.Select:
    """A worker's own current documents: their papers and those of their dispatches (never
    a fee receipt's file, which the ledger shows)."""
    if not is_worker(user):
        return sa.select(Document).where(sa.false())
    own_dispatches = sa.select(Dispatch.id).where(Dispatch.trainee_id == user.trainee_id)
    return sa.select(Document).where(
        sa.or_(sa.and_(Document.dispatch_id.is_(None), Document.trainee_id == user.trainee_id),
               Document.dispatch_id.in_(own_dispatches)),
        Document.status == "current", Document.kind.in_(DOCUMENT_KINDS),
    ).order_by(Document.kind, Document.created_at, Document.id)


def own_charges_select(user) -> sa.Select:
    """The fee ledger of a worker's own dispatches, in the order paid."""
    return sa.select(Charge).where(Charge.dispatch_id.in_(
        own_dispatches_select(user).with_only_columns(Dispatch.id).order_by(None))
    ).order_by(Charge.paid_on, Charge.created_at, Charge.id)


def get_own_document_or_404(user, document_id: int) -> Document:
    return one_or_404(own_documents_select(user).where(Document.id == document_id))


def get_own_charge_or_404(user, charge_id: int) -> Charge:
    """One payment of a worker's own ledger (its receipt is theirs to download)."""
    return one_or_404(own_charges_select(user).where(Charge.id == charge_id))


def can_manage_worker_account(user, trainee: Trainee) -> bool:
    """Invite a trainee to their worker account, revoke it: the department of the
    trainee's province (its registrar), or admin."""
    return can_edit_trainee(user, trainee)


def grievances_select(user) -> sa.Select:
    """Grievances ``user`` may read: the worker their own; the department those of its
    province's workers; an agency those of its dispatches' workers who let it see them;
    admin all; an employer never."""
    stmt = sa.select(Grievance)
    if user.role == "admin":
        return stmt
    if user.role == "department" and user.province:
        return stmt.where(Grievance.trainee_id.in_(
            sa.select(Trainee.id).where(Trainee.province == user.province)))
    if user.role == "agency":
        return stmt.where(Grievance.agency_may_see.is_(True), Grievance.dispatch_id.in_(
            sa.select(Dispatch.id).where(Dispatch.agency_id == user.organisation_id)))
    if is_worker(user):
        return stmt.where(Grievance.trainee_id == user.trainee_id)
    return stmt.where(sa.false())


def get_grievance_or_404(user, grievance_id: int, *options) -> Grievance:
    return one_or_404(grievances_select(user).where(Grievance.id == grievance_id), *options)


def can_handle_grievance(user, grievance: Grievance) -> bool:
    """Acknowledge, resolve or close: the department of the worker's province, or admin."""
    return can_edit_trainee(user, grievance.trainee)


def can_file_grievance_for(user, trainee: Trainee) -> bool:
    """The worker themself, or the department of their province (a phone call), or admin."""
    if is_worker(user):
        return user.trainee_id == trainee.id
    return can_edit_trainee(user, trainee)


# -- background tasks ----------------------------------------------------------------------


def tasks_select(user) -> sa.Select:
    """The background tasks ``user`` may follow: their own; an administrator's, all (the
    scheduler's tasks, started by nobody, included)."""
    from matching.models.background import BackgroundTask

    stmt = sa.select(BackgroundTask)
    if user.role == "admin":
        return stmt
    return stmt.where(BackgroundTask.user_id == user.id)


def get_task_or_404(user, task_id: str):
    from matching.models.background import BackgroundTask

    return one_or_404(tasks_select(user).where(BackgroundTask.id == task_id))
