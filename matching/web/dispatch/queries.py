"""Read-only queries of the dispatch pages: always set-based, never one query per card.

Scoping comes from ``access.dispatches_select``; these functions only add filters, eager
loads and groupings to it.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from matching import access
from matching.extensions import db
from matching.models import (
    EXITS,
    STAGES,
    Dispatch,
    Document,
    JobOrder,
    Organisation,
    StatusEvent,
    Trainee,
)
from matching.models.jobs import latest_decisions_subquery
from matching.operations import dispatch as ops

#: Stages where a dispatch is still moving; the board shows these unless asked otherwise.
OPEN_STAGES = tuple(s for s in STAGES if s != "completed")
ALL_STAGES = (*STAGES, *EXITS)
#: Funnel steps of the platform dashboard (DESIGN §6 order).
DEPARTED_STAGES = ("departed", "deployed", "completed", "early_return")
DEPLOYED_STAGES = ("deployed", "completed", "early_return")
SHORTLIST_DECISIONS = ("shortlisted", "interviewed", "selected")
EXPIRY_WINDOW_DAYS = 30
BOARD_LIMIT = 500  # cards on one board page; filters narrow a larger pipeline


def stage_order():
    """A SQL expression sorting dispatches in pipeline order (exits last)."""
    return sa.case({code: n for n, code in enumerate(ALL_STAGES)}, value=Dispatch.stage,
                   else_=len(ALL_STAGES))


def stage_counts(stmt: sa.Select) -> dict[str, int]:
    """Dispatches per stage of a scoped ``Select`` of dispatches, in one grouped query."""
    scoped = stmt.subquery()
    rows = db.session.execute(sa.select(scoped.c.stage, sa.func.count())
                              .group_by(scoped.c.stage))
    return {stage: n for stage, n in rows}


def in_province(stmt: sa.Select, province: str) -> sa.Select:
    """Narrow a scoped ``Select`` of dispatches to the trainees of one province."""
    return stmt.where(Dispatch.trainee_id.in_(
        sa.select(Trainee.id).where(Trainee.province == province)))


def with_people(stmt: sa.Select) -> sa.Select:
    """What a dispatch card or row shows: its trainee, job order (and employer), agency."""
    return stmt.options(joinedload(Dispatch.trainee), joinedload(Dispatch.job_order),
                        joinedload(Dispatch.agency))


# -- the agency board --------------------------------------------------------------------------


@dataclass
class BoardFilters:
    job: int | None = None
    employer: int | None = None
    stage: str | None = None
    missing: bool = False
    expiring: bool = False

    @classmethod
    def from_form(cls, form) -> "BoardFilters":
        """The board's filter form (``forms.BoardFilterForm``), unknown values left out."""
        return cls(job=form.job.data, employer=form.employer.data,
                   stage=form.chosen("stage"), missing=form.missing.data,
                   expiring=form.expiring.data)

    def as_args(self) -> dict:
        out = {"job": self.job, "employer": self.employer, "stage": self.stage,
               "missing": "y" if self.missing else None,
               "expiring": "y" if self.expiring else None}
        return {k: v for k, v in out.items() if v}


@dataclass
class Card:
    dispatch: Dispatch
    since: date
    missing: list[str] = field(default_factory=list)
    expiring: list[Document] = field(default_factory=list)

    @property
    def days_in_stage(self) -> int:
        return max((date.today() - self.since).days, 0)


def filter_choices(user) -> tuple[list[JobOrder], list[Organisation]]:
    """The job orders and employers the user's dispatches belong to (for the filter menus)."""
    scoped = access.dispatches_select(user).with_only_columns(Dispatch.job_order_id)
    jobs = db.session.scalars(sa.select(JobOrder).where(JobOrder.id.in_(scoped))
                              .order_by(JobOrder.external_id)).unique().all()
    employer_ids = {job.employer_id for job in jobs}
    employers = db.session.scalars(sa.select(Organisation).where(
        Organisation.id.in_(employer_ids)).order_by(Organisation.name)).all()
    return jobs, employers


def board_statement(user, filters: BoardFilters) -> sa.Select:
    """The user's dispatches narrowed by job order, employer and stage (SQL filters)."""
    stmt = access.dispatches_select(user)
    if filters.job:
        stmt = stmt.where(Dispatch.job_order_id == filters.job)
    if filters.employer:
        stmt = stmt.where(Dispatch.job_order_id.in_(
            sa.select(JobOrder.id).where(JobOrder.employer_id == filters.employer)))
    return stmt


def board_cards(user, filters: BoardFilters, *, today: date | None = None
                ) -> tuple[list[Card], bool]:
    """The cards of the board, and whether more dispatches matched than are shown.

    Four queries whatever the number of cards: dispatches (with trainee, job order,
    employer, agency), their documents, the dates they entered their stage, and the
    documents expiring soon.
    """
    today = today or date.today()
    stmt = board_statement(user, filters)
    stmt = stmt.where(Dispatch.stage == filters.stage) if filters.stage else stmt.where(
        Dispatch.stage.in_(OPEN_STAGES))
    dispatches = db.session.scalars(
        with_people(stmt).order_by(stage_order(), Dispatch.planned_departure.is_(None),
                                   Dispatch.planned_departure, Dispatch.id)
        .limit(BOARD_LIMIT + 1)).unique().all()
    more = len(dispatches) > BOARD_LIMIT
    dispatches = dispatches[:BOARD_LIMIT]
    documents = documents_of(dispatches)
    since = stage_since([d.id for d in dispatches])
    expiring = expiring_by_dispatch(dispatches, today=today)
    cards = []
    for dispatch in dispatches:
        card = Card(dispatch, since.get(dispatch.id) or dispatch.created_at.date(),
                    missing=missing_for_next_step(dispatch, documents[dispatch.id], today),
                    expiring=expiring.get(dispatch.id, []))
        if filters.missing and not card.missing:
            continue
        if filters.expiring and not card.expiring:
            continue
        cards.append(card)
    return cards, more


def documents_of(dispatches) -> dict[int, list[Document]]:
    """dispatch id -> its documents and its trainee's, in one query for all dispatches."""
    out: dict[int, list[Document]] = defaultdict(list)
    if not dispatches:
        return out
    by_trainee: dict[int, list[int]] = defaultdict(list)
    for d in dispatches:
        by_trainee[d.trainee_id].append(d.id)
    ids = {d.id for d in dispatches}
    rows = db.session.scalars(sa.select(Document).where(sa.or_(
        Document.dispatch_id.in_(ids), Document.trainee_id.in_(list(by_trainee)))))
    for doc in rows:
        if doc.dispatch_id in ids:
            out[doc.dispatch_id].append(doc)
        elif doc.dispatch_id is None:
            for dispatch_id in by_trainee.get(doc.trainee_id, ()):
                out[dispatch_id].append(doc)
    return out


def missing_for_next_step(dispatch: Dispatch, documents: list[Document], today: date
                          ) -> list[str]:
    """Document kinds the next forward step needs and the dispatch lacks (or that expire
    too early), by the operations' own rule, on preloaded documents."""
    target = ops.FORWARD.get(dispatch.stage)
    if target is None:
        return []
    return [kind for kind, _error in ops.document_problems(
        dispatch, target, on=today, planned_departure=dispatch.planned_departure,
        documents=documents)]


def stage_since(dispatch_ids: list[int]) -> dict[int, date]:
    """dispatch id -> the day it entered its current stage (its latest event), one query."""
    if not dispatch_ids:
        return {}
    rows = db.session.execute(
        sa.select(StatusEvent.dispatch_id, sa.func.max(StatusEvent.happened_on))
        .where(StatusEvent.dispatch_id.in_(dispatch_ids)).group_by(StatusEvent.dispatch_id))
    return {dispatch_id: day for dispatch_id, day in rows}


def expiring_by_dispatch(dispatches, *, today: date | None = None
                         ) -> dict[int, list[ops.ExpiringDocument]]:
    """dispatch id -> its (or its trainee's) documents expiring within 30 days or before the
    planned departure; one query for all ``dispatches``."""
    if not dispatches:
        return {}
    out: dict[int, list[ops.ExpiringDocument]] = defaultdict(list)
    for item in ops.expiring_documents(
            days=EXPIRY_WINDOW_DAYS, today=today,
            dispatches_stmt=sa.select(Dispatch).where(Dispatch.id.in_([d.id for d in dispatches]))):
        out[item.dispatch.id].append(item)
    return out


def expiring_soon(user, *, limit: int = 10, today: date | None = None
                  ) -> list[ops.ExpiringDocument]:
    """The user's documents expiring soon (each with its open dispatch), soonest first."""
    return ops.expiring_documents(days=EXPIRY_WINDOW_DAYS, today=today,
                                  dispatches_stmt=access.dispatches_select(user))[:limit]


def expiry_class(doc: Document, dispatch: Dispatch, today: date) -> str:
    """CSS class of a document's expiry cell: expired, expiring (soon or before departure)."""
    if doc.expires_on is None:
        return ""
    if doc.expires_on < today:
        return "expired"
    soon = today + timedelta(days=EXPIRY_WINDOW_DAYS)
    if doc.expires_on <= soon or (dispatch.planned_departure
                                  and doc.expires_on < dispatch.planned_departure):
        return "expiring"
    return ""


# -- the platform dashboard ------------------------------------------------------------------


@dataclass
class FunnelRow:
    province: str
    registrations: int = 0
    available: int = 0  # registered trainees whose status is "available" now (not a step)
    shortlists: int = 0
    selections: int = 0
    departures: int = 0
    deployments: int = 0

    @property
    def conversion(self) -> float | None:
        """Deployed people per registered trainee; ``None`` without registrations."""
        return self.deployments / self.registrations if self.registrations else None


def funnel_by_province(user, province: str | None = None) -> list[FunnelRow]:
    """Per province: registered trainees → shortlisted → selected → departed → deployed
    (and how many registered trainees are available now); ``province`` narrows to one.

    Every step counts people (distinct trainees), so a trainee with two dispatches counts
    once and each step is at most the one before. Three grouped queries, whatever the
    number of provinces or trainees.
    """
    rows: dict[str, FunnelRow] = {}
    trainees, dispatches = access.province_funnel_scope(user)
    if province is not None:
        trainees = trainees.where(Trainee.province == province)
        dispatches = in_province(dispatches, province)
    people = trainees.with_only_columns(Trainee.id, Trainee.province,
                                        Trainee.status).subquery()
    cases = dispatches.with_only_columns(Dispatch.trainee_id, Dispatch.stage).subquery()

    def row(province: str) -> FunnelRow:
        return rows.setdefault(province, FunnelRow(province))

    for code, n, available in db.session.execute(
            sa.select(people.c.province, sa.func.count(),
                      sa.func.count(sa.case((people.c.status == "available", people.c.id))))
            .group_by(people.c.province)):
        row(code).registrations, row(code).available = n, available

    latest = latest_decisions_subquery()
    for code, n in db.session.execute(
            sa.select(people.c.province, sa.func.count(sa.distinct(latest.c.trainee_id)))
            .join(latest, latest.c.trainee_id == people.c.id)
            .where(latest.c.decision.in_(SHORTLIST_DECISIONS))
            .group_by(people.c.province)):
        row(code).shortlists = n

    def people_at(stages):
        return sa.func.count(sa.distinct(sa.case((cases.c.stage.in_(stages),
                                                  cases.c.trainee_id))))

    for code, selected, departed, deployed in db.session.execute(
            sa.select(people.c.province, sa.func.count(sa.distinct(cases.c.trainee_id)),
                      people_at(DEPARTED_STAGES), people_at(DEPLOYED_STAGES))
            .join(people, people.c.id == cases.c.trainee_id)
            .group_by(people.c.province)):
        r = row(code)
        r.selections, r.departures, r.deployments = selected, departed, deployed

    return sorted(rows.values(), key=lambda r: (-r.registrations, r.province))


def lowest_conversion(rows: list[FunnelRow]) -> set[str]:
    """Provinces whose registrations turn least into deployments (ties all count; the
    dashboard names them all). Empty when every province converts alike: none is lower."""
    rates = [r.conversion for r in rows if r.conversion is not None]
    low = min(rates, default=None)
    if len(rates) < 2 or all(rate == low for rate in rates):
        return set()  # one province alone, or all level, is not "lowest" of anything
    return {r.province for r in rows if r.conversion == low}
