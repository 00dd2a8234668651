"""Fairness check of recent rankings: exposure against the qualified pool, per group.

For every job order with impressions in the window, the top ``top`` candidates shown count
(a candidate shown several times for one job order counts once, at its best rank). A shown
candidate's *exposure* is ``1 / log2(1 + rank)``, the position discount of DCG: the first
card gets far more attention than the twentieth. Per grouping attribute (province, gender):

- exposure share: the group's exposure summed over the job orders, over the total;
- pool share: the group's share of the trainees qualified for those job orders (the job's
  field, at least its minimum language level, available and consenting), summed over the
  job orders the same way;
- ratio = exposure share / pool share, flagged below ``threshold`` (0.8 by default).

The pool is *today's* pool: the registry keeps no history of who was available when a card
was shown, so it is an approximation, and reports say so. Groups with no qualified trainee
are left out (no ratio exists); groups with fewer than ``min_pool`` qualified trainees
(summed over the job orders) are shown but marked too few to judge, never flagged.

Everything is aggregated in SQL: exposure is grouped by (group, best rank), whose handful of
rows get their weights here; the pool is one join of the job orders with the trainees,
grouped by group. No query or loop per trainee.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from matching.extensions import db
from matching.models import Impression, JobOrder, Trainee
from matching.models._common import utcnow
from matching.models.trainees import eligible
from matching.vocab import PROVINCES, province_name

ATTRIBUTES = ("province", "gender")
#: The group of trainees whose gender is blank (NULL or "").
NOT_STATED = ""
DEFAULT_DAYS = 90
DEFAULT_TOP = 20
DEFAULT_THRESHOLD = 0.8
#: Fewer qualified trainees than this (summed over job orders) and a group is not judged.
MIN_POOL = 5


@dataclass(frozen=True)
class FairnessRow:
    """One group of one attribute: a province code, or a gender code ("" = not stated)."""

    group: str
    exposure_share: float
    pool_share: float
    ratio: float
    flagged: bool
    too_few: bool
    qualified: int  # qualified trainees, summed over the job orders
    shown: int  # (job order, trainee) pairs shown in the top, best rank ≤ top


@dataclass
class FairnessReport:
    days: int
    top: int
    threshold: float
    min_pool: int
    since: datetime
    until: datetime
    n_job_orders: int = 0
    n_impressions: int = 0  # impression rows in the window with rank ≤ top
    n_shown: int = 0  # distinct (job order, trainee) pairs among them
    #: attribute → rows sorted by ratio, lowest first.
    rows: dict[str, list[FairnessRow]] = field(default_factory=dict)
    #: attribute → groups that were shown but have no qualified trainee today.
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def flagged(self) -> list[tuple[str, FairnessRow]]:
        """(attribute, row) of every flagged group, lowest ratio first."""
        found = [(attr, row) for attr in ATTRIBUTES for row in self.rows.get(attr, [])
                 if row.flagged]
        return sorted(found, key=lambda item: (item[1].ratio, item[0], item[1].group))

    def to_dict(self) -> dict:
        """The report as JSON values (a background task's result)."""
        out = asdict(self)
        out["since"], out["until"] = self.since.isoformat(), self.until.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FairnessReport:
        """The report ``to_dict`` wrote."""
        values = dict(data)
        values["since"] = datetime.fromisoformat(data["since"])
        values["until"] = datetime.fromisoformat(data["until"])
        values["rows"] = {attribute: [FairnessRow(**row) for row in rows]
                          for attribute, rows in data.get("rows", {}).items()}
        values["skipped"] = {k: list(v) for k, v in data.get("skipped", {}).items()}
        return cls(**values)


def exposure_weight(rank: int) -> float:
    """Attention given to the card at ``rank`` (1 = first): 1 / log2(1 + rank)."""
    return 1.0 / math.log2(1 + rank)


def _group_column(attribute: str) -> sa.ColumnElement:
    if attribute == "province":
        return Trainee.province
    if attribute == "gender":
        # NULL and "" are both "not stated": one group, not two.
        return sa.func.coalesce(Trainee.gender, NOT_STATED)
    raise ValueError(f"unknown attribute {attribute!r}")


def exposure_report(days: int = DEFAULT_DAYS, top: int = DEFAULT_TOP,
                    threshold: float = DEFAULT_THRESHOLD, now: datetime | None = None,
                    min_pool: int = MIN_POOL) -> FairnessReport:
    """Exposure share against qualified-pool share per province and per gender.

    ``now`` (naive UTC, like the stored timestamps) ends the window of ``days`` days;
    impressions shown after it are ignored, so a report for a past date is reproducible.
    """
    until = now or utcnow()
    since = until - timedelta(days=days)
    report = FairnessReport(days=days, top=top, threshold=threshold, min_pool=min_pool,
                            since=since, until=until)
    # Ranks start at 1; a rank 0 row would have an infinite weight, so it is not a card.
    in_window = sa.and_(Impression.shown_at >= since, Impression.shown_at <= until,
                        Impression.rank >= 1, Impression.rank <= top)
    best = (sa.select(Impression.job_order_id, Impression.trainee_id,
                      sa.func.min(Impression.rank).label("best_rank"))
            .where(in_window)
            .group_by(Impression.job_order_id, Impression.trainee_id)
            .subquery("best"))
    report.n_impressions, report.n_job_orders = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(Impression.job_order_id)))
        .where(in_window)).one()
    if not report.n_impressions:
        report.rows = {attr: [] for attr in ATTRIBUTES}
        report.skipped = {attr: [] for attr in ATTRIBUTES}
        return report
    jobs = sa.select(Impression.job_order_id).where(in_window).distinct()
    for attribute in ATTRIBUTES:
        group = _group_column(attribute)
        exposure: dict[str, float] = {}
        shown: dict[str, int] = {}
        # One row per (group, rank): at most groups × top rows, whatever the pool's size.
        for key, rank, count in db.session.execute(
                sa.select(group, best.c.best_rank, sa.func.count())
                .join(Trainee, Trainee.id == best.c.trainee_id)
                .group_by(group, best.c.best_rank)):
            exposure[key] = exposure.get(key, 0.0) + count * exposure_weight(rank)
            shown[key] = shown.get(key, 0) + count
        qualified = dict(db.session.execute(
            sa.select(group, sa.func.count())
            .select_from(JobOrder)
            .join(Trainee, sa.and_(Trainee.field == JobOrder.field,
                                   Trainee.language_rank >= JobOrder.min_language_rank))
            .where(JobOrder.id.in_(jobs), eligible())
            .group_by(group)).all())
        report.rows[attribute] = _rows(exposure, shown, qualified, threshold, min_pool)
        report.skipped[attribute] = sorted(g for g in exposure if not qualified.get(g))
        report.n_shown = sum(shown.values())  # the same pairs whatever the attribute
    return report


def _rows(exposure: dict[str, float], shown: dict[str, int], qualified: dict[str, int],
          threshold: float, min_pool: int) -> list[FairnessRow]:
    """Shares and ratios of every group with a qualified pool, lowest ratio first."""
    total_exposure = sum(exposure.values())
    total_pool = sum(qualified.values())
    rows = []
    for group, pool in qualified.items():
        if not pool:
            continue
        exposure_share = exposure.get(group, 0.0) / total_exposure if total_exposure else 0.0
        pool_share = pool / total_pool
        ratio = exposure_share / pool_share
        too_few = pool < min_pool
        rows.append(FairnessRow(
            group=group, exposure_share=exposure_share, pool_share=pool_share, ratio=ratio,
            flagged=not too_few and ratio < threshold, too_few=too_few, qualified=pool,
            shown=shown.get(group, 0)))
    return sorted(rows, key=lambda row: (row.ratio, row.group))


# -- text report (the CLI speaks English) ------------------------------------------------------

_GENDER_NAMES = {"F": "F (female)", "M": "M (male)", "X": "X (other)", NOT_STATED: "not stated"}


def _group_text(attribute: str, group: str) -> str:
    if attribute == "province":
        return f"{group} ({province_name(group, 'en')})" if group in PROVINCES else group
    return _GENDER_NAMES.get(group, group)


def format_report(report: FairnessReport) -> list[str]:
    """The report as lines of English text: both tables, FLAGGED markers, a summary line."""
    lines = [
        f"fairness of rankings over the last {report.days} days "
        f"({report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC), "
        f"top {report.top} per job order",
        f"job orders: {report.n_job_orders}, impressions: {report.n_impressions}, "
        f"candidates shown: {report.n_shown}",
    ]
    if not report.n_impressions:
        lines.append("no candidate was shown in this window: nothing to judge")
        return lines
    lines += [
        "exposure of the card at rank r: 1 / log2(1 + r), best rank per job order and trainee",
        "pool: trainees qualified today (field, minimum language level, available, "
        "consenting), an approximation of the pool when the cards were shown",
        f"ratio = exposure share / pool share; flagged below {report.threshold:g}; fewer "
        f"than {report.min_pool} qualified trainees: too few to judge",
    ]
    for attribute in ATTRIBUTES:
        lines += ["", f"by {attribute}",
                  f"  {'group':30} {'exposure':>8} {'pool':>7} {'ratio':>6} "
                  f"{'qualified':>9} {'shown':>6}"]
        for row in report.rows[attribute]:
            mark = "FLAGGED" if row.flagged else ("too few to judge" if row.too_few else "")
            lines.append(
                f"  {_group_text(attribute, row.group):30} {row.exposure_share:8.1%} "
                f"{row.pool_share:7.1%} {row.ratio:6.2f} {row.qualified:9d} {row.shown:6d}"
                f"  {mark}".rstrip())
        if not report.rows[attribute]:
            lines.append("  no qualified trainee today for these job orders")
        if report.skipped[attribute]:
            names = ", ".join(_group_text(attribute, g) for g in report.skipped[attribute])
            lines.append(f"  shown, but no qualified trainee today (no ratio): {names}")
    flagged = report.flagged()
    lines.append("")
    if flagged:
        noun = "group" if len(flagged) == 1 else "groups"
        listed = ", ".join(f"{attr} {row.group or 'not stated'} ({row.ratio:.2f})"
                           for attr, row in flagged)
        lines.append(f"{len(flagged)} {noun} below {report.threshold:g}: {listed}")
    else:
        lines.append(f"no group below {report.threshold:g}")
    return lines
