"""Job orders from the web: create, edit, open and close them (DESIGN §2).

Every function checks the user's right (``access.can_manage_job_order``), validates what the
form layer cannot know (uniqueness, organisations, status moves), writes, commits and
returns the job order. A refused change raises ``JobOrderError`` whose message is
translated (lazy) and safe to show; ``field`` names the form field it belongs to, if any.
Bulk imports live in ``imports.job_orders``.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import date

import sqlalchemy as sa
from flask_babel.speaklater import LazyString
from sqlalchemy.exc import IntegrityError

from matching import access
from matching.extensions import db
from matching.fees.store import job_order_dispatches, refresh_dispatches
from matching.i18n import _l, fmt_date
from matching.models import JOB_STATUSES, VISA_TRACKS, JobOrder, Organisation
from matching.operations.errors import OperationError
from matching.operations.skills import resolve_skills
from matching.vocab import FIELDS, PREFECTURES, japanese_rank, parse_japanese_level

log = logging.getLogger(__name__)

MAX_HEADCOUNT = 10_000
MAX_SALARY = 10_000_000  # JPY a month, as in the importer
#: Below this a monthly salary is under every prefecture's minimum wage for full-time work
#: (the lowest, about ¥950 an hour, is some ¥160,000 a month): most likely a typing slip
#: (a day's or an hour's pay, a missing zero). The form asks to confirm, imports warn.
LOW_MONTHLY_SALARY = 100_000
SKILLS_LIMIT = 1000  # the size of the required_skills / preferred_skills columns
EXTERNAL_ID_LIMIT = 64
TITLE_LIMIT = 200  # the size of job_orders.title
MAX_START_WINDOW = 3650  # days: ten years is already no limit
#: A contract length above ten years is a typo (TITP runs 3 to 5 years, SSW 1 renewable).
MAX_CONTRACT_MONTHS = 120

#: Where a job order may go from each status. "filled" is normally set when the headcount
#: is reached; reopening a filled or closed order is allowed (a worker withdrew, a new
#: season), going back to draft once published is not (candidates may have been judged).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("open", "closed"),
    "open": ("filled", "closed"),
    "filled": ("open", "closed"),
    "closed": ("open",),
}


class JobOrderError(OperationError):
    """A refused job-order change."""


def create_job_order(data: Mapping, user) -> JobOrder:
    """Post a job order from cleaned form ``data``.

    An employer posts for its own organisation; an administrator names ``employer_id``.
    A blank ``external_id`` gets one generated (``JO-<employer code>-<YYYYMMDD>-<n>``).
    ``status`` may be draft or open (the default).
    """
    if not access.can_manage_job_order(user):
        raise JobOrderError(_l("Your account cannot post job orders."))
    employer = _employer(data, user)
    status = data.get("status") or "open"
    if status not in ("draft", "open"):
        raise JobOrderError(_l("A new job order is either a draft or open."), "status")
    external_id = _clean_external_id(data.get("external_id")) or next_external_id(employer)
    _check_unique(external_id, exclude_id=None)
    job = JobOrder(external_id=external_id, employer_id=employer.id, status=status,
                   created_by_id=user.id)
    _apply(job, data)
    db.session.add(job)
    _flush(external_id)
    log.info("job order %s posted by %s", external_id, user.email)
    return job


def update_job_order(job: JobOrder, data: Mapping, user) -> JobOrder:
    """Apply cleaned form ``data`` to ``job``; its employer never changes."""
    if not access.can_manage_job_order(user, job):
        raise JobOrderError(_l("Your account cannot change this job order."))
    external_id = _clean_external_id(data.get("external_id", job.external_id))
    if not external_id:
        raise JobOrderError(_l("Enter the job order's ID."), "external_id")
    # Checked before any attribute changes: an autoflush must never hit the constraint.
    _check_unique(external_id, exclude_id=job.id)
    status = data.get("status") or job.status
    _check_move(job.status, status)
    try:
        with db.session.no_autoflush:
            _apply(job, data)
    except JobOrderError:
        db.session.rollback()  # half-applied changes must not be written by a later flush
        raise
    job.external_id, job.status = external_id, status
    _flush(external_id)
    # contract_substitution compares its dispatches' contracts with the terms advertised.
    refresh_dispatches(job_order_dispatches([job.id]))
    log.info("job order %s updated by %s", external_id, user.email)
    return job


def set_job_status(job: JobOrder, status: str, user) -> JobOrder:
    """Move ``job`` to ``status`` (publish, close, reopen) if that move is allowed."""
    if not access.can_manage_job_order(user, job):
        raise JobOrderError(_l("Your account cannot change this job order."))
    _check_move(job.status, status)
    if status != job.status:
        log.info("job order %s: %s → %s by %s", job.external_id, job.status, status,
                 user.email)
        job.status = status
        db.session.flush()
    return job


def allowed_statuses(current: str) -> tuple[str, ...]:
    """The statuses a job order in ``current`` may be set to, itself first."""
    return (current, *TRANSITIONS.get(current, ()))


def next_external_id(employer: Organisation, today: date | None = None) -> str:
    """The first free ``JO-<employer code>-<YYYYMMDD>-<n>`` (n counts from 1 each day)."""
    day = (today or date.today()).strftime("%Y%m%d")
    # Room for "JO-", "-YYYYMMDD-" and a number of up to five digits within 64 characters.
    prefix = f"JO-{employer.code[:EXTERNAL_ID_LIMIT - 18]}-{day}-"
    taken = set(db.session.scalars(sa.select(JobOrder.external_id).where(
        JobOrder.external_id.startswith(prefix, autoescape=True))))
    n = len(taken) + 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


# -- validation ------------------------------------------------------------------------------


def _employer(data: Mapping, user) -> Organisation:
    """The employer of a new job order: the user's own, or the one an admin chose."""
    if user.role == "employer":
        return user.organisation
    employer = db.session.get(Organisation, data.get("employer_id") or 0)
    if employer is None or employer.kind != "employer" or not employer.active:
        raise JobOrderError(_l("Choose an employer from the list."), "employer_id")
    return employer


def _clean_external_id(value) -> str:
    external_id = " ".join((value or "").split())
    if len(external_id) > EXTERNAL_ID_LIMIT:
        raise JobOrderError(_l("The ID can have at most %(max)d characters.",
                               max=EXTERNAL_ID_LIMIT), "external_id")
    return external_id


def _check_unique(external_id: str, exclude_id: int | None) -> None:
    stmt = sa.select(JobOrder.id).where(JobOrder.external_id == external_id)
    if exclude_id is not None:
        stmt = stmt.where(JobOrder.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise _duplicate_error()


def _duplicate_error() -> JobOrderError:
    return JobOrderError(_l("Another job order already has this ID; IDs are unique on the "
                            "whole platform."), "external_id")


def _check_move(current: str, status: str) -> None:
    if status not in JOB_STATUSES:
        raise JobOrderError(_l("Choose a valid status."), "status")
    if status not in allowed_statuses(current):
        raise JobOrderError(_l("A job order cannot go from this status to the one chosen."),
                            "status")


def _flush(external_id: str) -> None:
    """Write now, so that the database's unique key decides (the request commits)."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two people saving the same ID at the same moment: the constraint decides.
        db.session.rollback()
        log.info("duplicate job order %s refused by the database", external_id)
        raise _duplicate_error() from exc


def _apply(job: JobOrder, data: Mapping) -> None:
    """Copy and check the descriptive fields (everything but ID, employer and status)."""
    title = " ".join((data.get("title") or "").split())
    if not title:
        raise JobOrderError(_l("Enter a title."), "title")
    if len(title) > TITLE_LIMIT:
        raise JobOrderError(_l("The title can have at most %(max)d characters.",
                               max=TITLE_LIMIT), "title")
    if data.get("field") not in FIELDS:
        raise JobOrderError(_l("Choose a field from the list."), "field")
    level = parse_japanese_level(data.get("min_language_level") or "none")
    if level is None:
        raise JobOrderError(_l("Choose a Japanese level from the list."), "min_language_level")
    headcount = data.get("headcount")
    if not isinstance(headcount, int) or not 1 <= headcount <= MAX_HEADCOUNT:
        raise JobOrderError(_l("Enter a headcount from 1 to %(max)d.", max=MAX_HEADCOUNT),
                            "headcount")
    prefecture = data.get("prefecture") or None
    if prefecture is not None and prefecture not in PREFECTURES:
        raise JobOrderError(_l("Choose a prefecture from the list."), "prefecture")
    salary = data.get("monthly_salary_jpy")
    if salary is not None and not 0 <= salary <= MAX_SALARY:
        raise JobOrderError(_l("Enter a monthly salary from 0 to %(max)d yen.",
                               max=MAX_SALARY), "monthly_salary_jpy")
    if data.get("visa_track") not in VISA_TRACKS:
        raise JobOrderError(_l("Choose a visa track from the list."), "visa_track")
    window = data.get("start_window_days")
    if window is not None and (not isinstance(window, int) or not
                               0 <= window <= MAX_START_WINDOW):
        raise JobOrderError(_l("Enter a number of days from 0 to %(max)d, or leave it blank "
                               "for no limit.", max=MAX_START_WINDOW), "start_window_days")
    months = data.get("contract_months")
    if months is not None and (not isinstance(months, int) or not
                               1 <= months <= MAX_CONTRACT_MONTHS):
        raise JobOrderError(_l("Enter a contract length from 1 to %(max)d months, or leave it "
                               "blank for the visa track's usual length.",
                               max=MAX_CONTRACT_MONTHS), "contract_months")
    if window is not None and data.get("start_date") is None:
        raise JobOrderError(_l("Enter a start date: the start window counts from it."),
                            "start_window_days")
    start = data.get("start_date")
    # A new or changed start date cannot be in the past, draft or not; an old job order
    # whose start has passed can still be edited (closed, filled) without changing it.
    if start is not None and start != job.start_date and start < date.today():
        raise JobOrderError(_l("The start date %(date)s is in the past; enter the day work "
                               "will start.", date=LazyString(fmt_date, start)), "start_date")
    job.title, job.field, job.headcount = title, data["field"], headcount
    job.min_language_level, job.min_language_rank = level, japanese_rank(level)
    job.prefecture, job.monthly_salary_jpy = prefecture, salary
    job.start_date, job.visa_track = data.get("start_date"), data["visa_track"]
    # Requirements (filters of the candidate list); a form without them keeps them as they are.
    if "language_is_hard" in data:
        job.language_is_hard = bool(data["language_is_hard"])
    if "start_window_days" in data:
        job.start_window_days = window
    if "contract_months" in data:
        job.contract_months = months
    job.required_skills = _skills(data.get("required_skills"), "required_skills")
    job.preferred_skills = _skills(data.get("preferred_skills"), "preferred_skills")
    job.agency_id = _agency_id(data.get("agency_id"), current=job.agency_id)


def _skills(value: str | Iterable[str] | None, field: str) -> str:
    slugs = resolve_skills(value if isinstance(value, str) or value is None
                           else ";".join(value))
    joined = ";".join(slugs)
    if len(joined) > SKILLS_LIMIT:
        raise JobOrderError(_l("This list of skills is longer than %(limit)d characters.",
                               limit=SKILLS_LIMIT), field)
    return joined


def _agency_id(value, current: int | None) -> int | None:
    if not value:
        return None
    if int(value) == current:
        return current  # kept as it is, even if the agency has been deactivated since
    agency = db.session.get(Organisation, int(value))
    if agency is None or agency.kind != "agency" or not agency.active:
        raise JobOrderError(_l("Choose a partner agency from the list."), "agency_id")
    return agency.id
