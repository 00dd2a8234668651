"""The regional picture's figures (issue 13 §5), set-based: a fixed number of queries
whatever the number of trainees, dispatches or provinces.

- the funnel: ``dispatch.queries.funnel_by_province`` (three grouped queries, the platform
  dashboard's own);
- days from registration to the first departure: one query of (province, registered,
  departed) per departed trainee, the medians taken here;
- what workers paid and the flags: the rows the fee checks store with each write
  (``fees.store``), summed, counted and their medians taken in SQL (five queries);
- grievances open and overdue: one grouped query;
- the exposure ratio: the newest stored fairness report (one query), never computed here.

Every query is scoped by ``matching.access``.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

import sqlalchemy as sa

from matching import access, fees
from matching.extensions import db
from matching.fees import store
from matching.models import Dispatch, Grievance, StatusEvent, Trainee
from matching.operations.grievances import overdue_clause
from matching.web.dispatch.queries import (
    DEPARTED_STAGES,
    FunnelRow,
    funnel_by_province,
    in_province,
)

#: The funnel's columns, in order; ``available`` is a state (who is in the pool now), the
#: others are steps, each a subset of the one before.
STEPS = ("registrations", "available", "shortlists", "selections", "departures",
         "deployments")
#: Each column's conversion: its count over the count of this earlier column.
RATE_OF = {"available": "registrations", "shortlists": "registrations",
           "selections": "shortlists", "departures": "selections",
           "deployments": "departures"}
#: Grievance states that still wait for the department (not resolved, not closed).
OPEN_GRIEVANCES = ("open", "acknowledged")


@dataclass
class Exposure:
    """A province's row of the newest stored fairness report."""

    ratio: float
    flagged: bool
    too_few: bool


@dataclass
class FairnessSource:
    """Which stored fairness report the exposure ratios come from (None: none yet)."""

    finished_at: datetime
    days: int
    threshold: float


@dataclass
class Region:
    """One province's figures (``province`` "" is the total of several)."""

    province: str
    funnel: FunnelRow
    #: Days from registration to the first departure, one per departed trainee.
    days_to_departure: list[int] = field(default_factory=list)
    #: What the trainees with a recorded payment paid in all, in yen: how many, the sum,
    #: the median per trainee.
    paid: store.PaidByWorkers = field(default_factory=store.PaidByWorkers)
    totals: fees.Totals = field(default_factory=fees.Totals)
    flags: Counter = field(default_factory=Counter)
    grievances_open: int = 0
    grievances_overdue: int = 0
    exposure: Exposure | None = None

    def count(self, step: str) -> int:
        return getattr(self.funnel, step)

    def rate(self, step: str) -> float | None:
        """``step``'s count over its base's (``RATE_OF``); the overall conversion for
        ``conversion``; None without a base."""
        if step == "conversion":
            return self.funnel.conversion
        base = self.count(RATE_OF[step])
        return self.count(step) / base if base else None

    @property
    def median_days(self) -> float | None:
        return median(self.days_to_departure) if self.days_to_departure else None

    @property
    def median_paid(self) -> float | None:
        return self.paid.median_jpy

    @property
    def paid_total(self) -> int:
        return self.paid.total_jpy

    @property
    def paid_workers(self) -> int:
        return self.paid.workers

    @property
    def flag_count(self) -> int:
        return sum(self.flags.values())


@dataclass
class Picture:
    regions: list[Region]
    total: Region
    survey: object  # fees.rules.SurveyAverage
    fairness: FairnessSource | None


def regional_picture(user, province: str | None = None) -> Picture:
    """The figures of every province ``user`` may see (``access.region_codes``), or of one
    (``province``, already checked by ``access.get_region_or_404``). Every province in scope
    has a row, those without a trainee too (all zero)."""
    codes = (province,) if province else access.region_codes(user)
    funnels = {row.province: row for row in funnel_by_province(user, province)}
    regions = {code: Region(code, funnels.get(code) or FunnelRow(code)) for code in codes}
    # A trainee's province outside today's 34 (never, through the forms and the imports)
    # would still be counted, after them.
    for code, row in funnels.items():
        regions.setdefault(code, Region(code, row))

    for code, days in _days_to_departure(user, province):
        regions[code].days_to_departure.append(days)

    dispatches = access.dispatches_select(user)
    if province:
        dispatches = in_province(dispatches, province)
    paid, paid_overall = store.paid_per_trainee(dispatches)
    for code, figures in paid.items():
        _region(regions, code).paid = figures
    for code, totals in store.stored_totals(dispatches, by="province").items():
        _region(regions, code).totals = totals
    for code, counts in store.flag_counts_by_province(dispatches).items():
        _region(regions, code).flags.update(counts)

    for code, open_, overdue in _grievances(user, province):
        region = _region(regions, code)
        region.grievances_open, region.grievances_overdue = open_, overdue

    source, exposures = latest_exposure()
    for code, exposure in exposures.items():
        if code in regions:
            regions[code].exposure = exposure

    rows = list(regions.values())
    total = _total(rows)
    total.paid = paid_overall  # the median over every trainee, not a median of medians
    return Picture(rows, total, fees.survey_average(), source)


def _region(regions: dict[str, Region], code: str) -> Region:
    return regions.setdefault(code, Region(code, FunnelRow(code)))


def _days_to_departure(user, province: str | None) -> list[tuple[str, int]]:
    """(province, days) for each trainee in scope who has departed: from the day they were
    registered to the first day one of their dispatches reached departed (or a later step,
    for a dispatch recorded past it). A departure recorded before the registration (a
    trainee registered after leaving) measures nothing and is left out. One query."""
    trainees, dispatches = access.province_funnel_scope(user)
    if province is not None:
        trainees = trainees.where(Trainee.province == province)
        dispatches = in_province(dispatches, province)
    people = trainees.with_only_columns(Trainee.id, Trainee.province,
                                        Trainee.created_at).subquery()
    departed = (sa.select(Dispatch.trainee_id,
                          sa.func.min(StatusEvent.happened_on).label("departed_on"))
                .join(StatusEvent, StatusEvent.dispatch_id == Dispatch.id)
                .where(Dispatch.id.in_(dispatches.with_only_columns(Dispatch.id).order_by(None)),
                       StatusEvent.to_stage.in_(DEPARTED_STAGES))
                .group_by(Dispatch.trainee_id).subquery())
    out = []
    for code, registered, departed_on in db.session.execute(
            sa.select(people.c.province, people.c.created_at, departed.c.departed_on)
            .join(departed, departed.c.trainee_id == people.c.id)):
        days = (departed_on - registered.date()).days
        if days >= 0:
            out.append((code, days))
    return out


def _grievances(user, province: str | None) -> list[tuple[str, int, int]]:
    """(province, open, overdue) of the grievances in scope, one grouped query."""
    scoped = access.grievances_select(user)
    if province is not None:
        scoped = scoped.where(Grievance.trainee_id.in_(
            sa.select(Trainee.id).where(Trainee.province == province)))
    ids = scoped.with_only_columns(Grievance.id).order_by(None)
    return [tuple(row) for row in db.session.execute(
        sa.select(Trainee.province,
                  sa.func.count(sa.case((Grievance.state.in_(OPEN_GRIEVANCES), Grievance.id))),
                  sa.func.count(sa.case((overdue_clause(), Grievance.id))))
        .join(Trainee, Trainee.id == Grievance.trainee_id)
        .where(Grievance.id.in_(ids))
        .group_by(Trainee.province))]


def latest_exposure() -> tuple[FairnessSource | None, dict[str, Exposure]]:
    """The newest fairness report a background task stored (``matching.background``, kind
    "fairness"), whoever started it: its window, and each province's exposure ratio. The
    report holds no personal data (shares per province); callers show only the provinces
    in the user's scope. Nothing stored yet: (None, {})."""
    from matching.models.background import BackgroundTask

    task = db.session.execute(
        sa.select(BackgroundTask.result, BackgroundTask.finished_at)
        .where(BackgroundTask.kind == "fairness", BackgroundTask.status == "finished",
               BackgroundTask.finished_at.is_not(None), BackgroundTask.result.is_not(None))
        .order_by(BackgroundTask.finished_at.desc(), BackgroundTask.id).limit(1)).first()
    if task is None or not isinstance(task.result, dict):  # no result, or JSON null
        return None, {}
    result = task.result
    try:
        source = FairnessSource(task.finished_at, int(result.get("days") or 0),
                                float(result.get("threshold") or 0))
    except (TypeError, ValueError):
        return None, {}  # a report of another shape: shown as not computed
    rows = result.get("rows")
    rows = rows.get("province") if isinstance(rows, dict) else None
    exposures = {}
    for row in rows if isinstance(rows, list) else ():
        try:
            exposures[row["group"]] = Exposure(float(row["ratio"]), bool(row["flagged"]),
                                               bool(row["too_few"]))
        except (KeyError, TypeError, ValueError):
            continue  # that province is shown as not computed
    return source, exposures


def _total(rows: list[Region]) -> Region:
    """Every row added up; the medians are over every trainee, not medians of medians."""
    funnel = FunnelRow("", **{step: sum(r.count(step) for r in rows) for step in STEPS})
    total = Region("", funnel)
    totals = defaultdict(int)
    for r in rows:
        total.days_to_departure.extend(r.days_to_departure)
        total.flags.update(r.flags)
        total.grievances_open += r.grievances_open
        total.grievances_overdue += r.grievances_overdue
        for name in ("workers", "paid_jpy", "costs_jpy", "fees_jpy", "returned_jpy"):
            totals[name] += getattr(r.totals, name)
    total.totals = fees.Totals(**totals)
    return total

