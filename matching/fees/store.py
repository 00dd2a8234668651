"""The fee checks' results kept per dispatch (``models.FeeFlag``, ``models.FeeTotals``), so
that a page reads its scope's flags and totals with a few grouped queries instead of
checking every ledger on each view.

Writes: ``refresh_dispatches(ids)`` recomputes the rows of those dispatches with the checks
themselves (``checks.load_ledgers`` + ``checks.run_checks(pending=True)``: one code path for
the rules), in the transaction of the write that changed their facts. Each write path of
``matching.operations`` calls it with what it changed (a charge, a contract, a move, a wage
report, a job order's terms, an exchange rate); the trainee's other dispatches go with a
dispatch, because ``service_fee_not_allowed`` reads the worker's TITP history.
``rebuild()`` recomputes every dispatch, in batches (``flask --app matching fees rebuild``,
after an upgrade or a change of the rule table).

Reads take a ``Select`` of ``Dispatch`` already scoped by ``matching.access``, used as a
subquery; a flag that waits (``active_from``) counts from that day on, so nothing is
recomputed daily.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from matching.extensions import db
from matching.fees.checks import (
    Totals,
    dispatch_ids,
    ledger_totals,
    live_details,
    load_ledgers,
    run_checks,
)
from matching.fees.rates import RateUsed
from matching.fees.rules import Rule, rule_ids, rules
from matching.models import (
    Charge,
    Dispatch,
    ExchangeRate,
    FeeFlag,
    FeeTotals,
    JobOrder,
    Organisation,
    Trainee,
)

#: Dispatches recomputed together (an ``IN`` list, and the ledgers held in memory).
BATCH = 500

# -- writes ---------------------------------------------------------------------------------------


def refresh_dispatches(ids: Iterable[int], *, with_trainees: bool = True) -> int:
    """Recompute the stored flags and totals of the dispatches ``ids`` (and, with
    ``with_trainees``, of their trainees' other dispatches). Flushes first: the checks see
    the transaction's own writes. Returns how many dispatches were recomputed."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return 0
    db.session.flush()
    done = 0
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start:start + BATCH]
        if with_trainees:
            trainees = sa.select(Dispatch.trainee_id).where(Dispatch.id.in_(chunk))
            chunk = sorted(set(chunk) | set(db.session.scalars(
                sa.select(Dispatch.id).where(Dispatch.trainee_id.in_(trainees)))))
        done += _store(chunk)
    return done


def _store(ids: list[int]) -> int:
    if db.session.get_bind().dialect.name == "postgresql":
        # Two writes on one worker's dispatches at once: the second waits here for the
        # first to commit, then reads what it wrote (each statement sees the latest commit),
        # so neither stores a ledger without the other's change. SQLite: the write already
        # holds the database's single write lock.
        db.session.execute(sa.select(Trainee.id).where(Trainee.id.in_(
            sa.select(Dispatch.trainee_id).where(Dispatch.id.in_(ids))))
            .order_by(Trainee.id).with_for_update())
    ledgers = load_ledgers(sa.select(Dispatch).where(Dispatch.id.in_(ids)))
    flags = run_checks(ledgers, pending=True)
    db.session.execute(sa.delete(FeeFlag).where(FeeFlag.dispatch_id.in_(ids)))
    db.session.execute(sa.delete(FeeTotals).where(FeeTotals.dispatch_id.in_(ids)))
    positions: Counter = Counter()
    rows = []
    for flag in flags:
        dispatch_id = flag.facts.dispatch_id
        rows.append({"dispatch_id": dispatch_id, "position": positions[dispatch_id],
                     "rule_id": flag.rule.id, "amount_jpy": flag.amount_jpy,
                     "limit_jpy": flag.limit_jpy, "active_from": flag.active_from,
                     "details": _to_json(flag.details),
                     "rates": [rate.as_json() for rate in flag.rates],
                     "charge_ids": [c.id for c in flag.charges]})
        positions[dispatch_id] += 1
    if rows:
        db.session.execute(sa.insert(FeeFlag.__table__), rows)
    totals = []
    for facts in ledgers:
        if facts.charges:
            payments, paid, costs, fees_, returned = ledger_totals(facts)
            totals.append({"dispatch_id": facts.dispatch_id, "worker_payments": payments,
                           "paid_jpy": paid, "costs_jpy": costs, "fees_jpy": fees_,
                           "returned_jpy": returned})
    if totals:
        db.session.execute(sa.insert(FeeTotals.__table__), totals)
    return len(ledgers)


def rebuild(batch: int = BATCH, progress=None) -> int:
    """Recompute every dispatch's stored rows, ``batch`` dispatches at a time (each batch
    flushed; the caller commits). ``progress(done)`` after each batch."""
    done, last = 0, None
    while True:
        stmt = sa.select(Dispatch.id).order_by(Dispatch.id).limit(batch)
        if last is not None:
            stmt = stmt.where(Dispatch.id > last)
        ids = list(db.session.scalars(stmt))
        if not ids:
            return done
        done += _store(ids)
        db.session.flush()
        last = ids[-1]
        if progress is not None:
            progress(done)


def job_order_dispatches(job_order_ids: Iterable[int]) -> list[int]:
    """The dispatches of those job orders (their terms changed)."""
    ids = list(job_order_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        sa.select(Dispatch.id).where(Dispatch.job_order_id.in_(ids))))


def rate_dispatches(currency: str, valid_on: date) -> list[int]:
    """The dispatches with a payment in ``currency`` converted with the rate of
    ``valid_on``: paid on or after it, before the currency's next rate."""
    following = db.session.scalar(sa.select(sa.func.min(ExchangeRate.valid_on)).where(
        ExchangeRate.currency == currency, ExchangeRate.valid_on > valid_on))
    stmt = sa.select(Charge.dispatch_id).distinct().where(
        Charge.currency == currency, Charge.paid_on >= valid_on)
    if following is not None:
        stmt = stmt.where(Charge.paid_on < following)
    return list(db.session.scalars(stmt))


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _to_json(details: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in details.items()}


def _from_json(details: dict) -> dict:
    return {k: (date.fromisoformat(v) if isinstance(v, str) and _DAY.fullmatch(v) else v)
            for k, v in (details or {}).items()}


# -- reads ------------------------------------------------------------------------------------


@dataclass
class FlagFacts:
    """What a stored flag's display needs of its dispatch (``checks.LedgerFacts``'s names)."""

    dispatch_id: int
    trainee_id: int
    trainee_external_id: str
    job_order_external_id: str
    province: str
    agency: str | None
    agency_name: str | None


@dataclass
class StoredFlag:
    """A flag read back: what ``checks.Flag`` offers the pages and ``texts``."""

    rule: Rule
    facts: FlagFacts
    amount_jpy: int | None
    limit_jpy: int | None
    details: dict = field(default_factory=dict)
    rates: list[RateUsed] = field(default_factory=list)
    charge_ids: list[int] = field(default_factory=list)
    active_from: date | None = None

    @property
    def rule_id(self) -> str:
        return self.rule.id


def _held(today: date):
    """The stored flags that hold on ``today`` (of rules still in the table)."""
    return sa.and_(sa.or_(FeeFlag.active_from.is_(None), FeeFlag.active_from <= today),
                   FeeFlag.rule_id.in_(rule_ids()))


def _rate(data: dict) -> RateUsed:
    return RateUsed(data["currency"], _day(data.get("valid_on")),
                    Decimal(data["rate_to_jpy"]))


def _day(text):
    return date.fromisoformat(text) if text else None


def stored_flags(stmt: sa.Select, *, today: date | None = None, rule: str | None = None,
                 limit: int | None = None) -> list[StoredFlag]:
    """The flags of ``stmt``'s dispatches that hold on ``today`` (of ``rule``), in the
    checks' order (province, agency, trainee, dispatch, the rule table's); ``limit`` the
    first ones. One query."""
    today = today or date.today()
    agency = aliased(Organisation)
    query = (sa.select(FeeFlag.dispatch_id, FeeFlag.rule_id, FeeFlag.amount_jpy,
                       FeeFlag.limit_jpy, FeeFlag.details, FeeFlag.rates, FeeFlag.charge_ids,
                       FeeFlag.active_from, Dispatch.trainee_id, Trainee.external_id,
                       JobOrder.external_id, Trainee.province, agency.code, agency.name)
             .join(Dispatch, Dispatch.id == FeeFlag.dispatch_id)
             .join(Trainee, Trainee.id == Dispatch.trainee_id)
             .join(JobOrder, JobOrder.id == Dispatch.job_order_id)
             .outerjoin(agency, agency.id == Dispatch.agency_id)
             .where(FeeFlag.dispatch_id.in_(dispatch_ids(stmt)), _held(today))
             .order_by(Trainee.province, agency.code, Trainee.external_id, Dispatch.id,
                       FeeFlag.position))
    if rule is not None:
        query = query.where(FeeFlag.rule_id == rule)
    if limit is not None:
        query = query.limit(limit)
    table = {r.id: r for r in rules()}
    out = []
    for (dispatch_id, rule_id, amount, limit_jpy, details, rates, charge_ids, active_from,
         trainee_id, trainee_ext, job_ext, province, agency_code, agency_name
         ) in db.session.execute(query):
        the_rule = table[rule_id]
        out.append(StoredFlag(
            the_rule, FlagFacts(dispatch_id, trainee_id, trainee_ext, job_ext, province,
                                agency_code, agency_name),
            amount, limit_jpy,
            live_details(the_rule.check, _from_json(details), active_from, today),
            [_rate(r) for r in rates or ()], list(charge_ids or ()), active_from))
    return out


def flag_counts(stmt: sa.Select, *, today: date | None = None) -> dict[str, int]:
    """How many flags of each rule hold on ``today`` on ``stmt``'s dispatches (one
    grouped query)."""
    today = today or date.today()
    return dict(db.session.execute(
        sa.select(FeeFlag.rule_id, sa.func.count())
        .where(FeeFlag.dispatch_id.in_(dispatch_ids(stmt)), _held(today))
        .group_by(FeeFlag.rule_id)).all())


def flag_counts_by_province(stmt: sa.Select, *, today: date | None = None
                            ) -> dict[str, Counter]:
    """``flag_counts`` per province of the trainee (one grouped query)."""
    today = today or date.today()
    out: dict[str, Counter] = defaultdict(Counter)
    for province, rule_id, count in db.session.execute(
            sa.select(Trainee.province, FeeFlag.rule_id, sa.func.count())
            .join(Dispatch, Dispatch.id == FeeFlag.dispatch_id)
            .join(Trainee, Trainee.id == Dispatch.trainee_id)
            .where(FeeFlag.dispatch_id.in_(dispatch_ids(stmt)), _held(today))
            .group_by(Trainee.province, FeeFlag.rule_id)):
        out[province][rule_id] = count
    return dict(out)


def _sums():
    return (sa.func.count(sa.case((FeeTotals.worker_payments > 0, 1))),
            sa.func.coalesce(sa.func.sum(FeeTotals.paid_jpy), 0),
            sa.func.coalesce(sa.func.sum(FeeTotals.costs_jpy), 0),
            sa.func.coalesce(sa.func.sum(FeeTotals.fees_jpy), 0),
            sa.func.coalesce(sa.func.sum(FeeTotals.returned_jpy), 0))


def _totals(row) -> Totals:
    return Totals(*(int(v or 0) for v in row))


def stored_totals(stmt: sa.Select, by: str | None = None) -> "Totals | dict[object, Totals]":
    """What the workers of ``stmt``'s dispatches paid (``fees.worker_paid_totals``'s
    figures): one ``Totals``, or one per ``by`` ("dispatch", "trainee", "agency" code,
    "province") for those with a recorded payment. One query."""
    where = FeeTotals.dispatch_id.in_(dispatch_ids(stmt))
    if by is None:
        return _totals(db.session.execute(sa.select(*_sums()).where(where)).one())
    key = {"dispatch": FeeTotals.dispatch_id, "trainee": Dispatch.trainee_id,
           "agency": Organisation.code, "province": Trainee.province}[by]
    query = sa.select(key, *_sums()).join(Dispatch, Dispatch.id == FeeTotals.dispatch_id)
    if by == "agency":
        query = query.outerjoin(Organisation, Organisation.id == Dispatch.agency_id)
    elif by == "province":
        query = query.join(Trainee, Trainee.id == Dispatch.trainee_id)
    return {row[0]: _totals(row[1:])
            for row in db.session.execute(query.where(where).group_by(key))}


def agency_names(stmt: sa.Select) -> dict[str, str]:
    """Code -> name of the agencies of ``stmt``'s dispatches (one query)."""
    agencies = sa.select(Dispatch.agency_id).where(Dispatch.id.in_(dispatch_ids(stmt)))
    return dict(db.session.execute(sa.select(Organisation.code, Organisation.name)
                                   .where(Organisation.id.in_(agencies))).all())


@dataclass
class PaidByWorkers:
    """Of the trainees who paid anything: how many, in all, and the median per trainee."""

    workers: int = 0
    total_jpy: int = 0
    median_jpy: float | None = None


def paid_per_trainee(stmt: sa.Select) -> tuple[dict[str, PaidByWorkers], PaidByWorkers]:
    """Per province, and over all: what each trainee of ``stmt``'s dispatches paid in all
    (their dispatches added up), counted, summed and its median, in SQL (window functions,
    SQLite and PostgreSQL alike). Three queries."""
    per = (sa.select(Trainee.province.label("province"),
                     sa.func.sum(FeeTotals.paid_jpy).label("paid"))
           .join(Dispatch, Dispatch.id == FeeTotals.dispatch_id)
           .join(Trainee, Trainee.id == Dispatch.trainee_id)
           .where(FeeTotals.dispatch_id.in_(dispatch_ids(stmt)))
           .group_by(Trainee.province, Dispatch.trainee_id)
           .having(sa.func.sum(FeeTotals.worker_payments) > 0)).subquery()
    out = {province: PaidByWorkers(int(n), int(total or 0)) for province, n, total in
           db.session.execute(sa.select(per.c.province, sa.func.count(),
                                        sa.func.sum(per.c.paid)).group_by(per.c.province))}
    for province, median in _medians(per, per.c.province):
        out[province].median_jpy = median
    overall = PaidByWorkers(sum(p.workers for p in out.values()),
                            sum(p.total_jpy for p in out.values()))
    for _key, median in _medians(per, None):
        overall.median_jpy = median
    return out, overall


def _medians(per, partition) -> list[tuple[object, float]]:
    """The median of ``per.c.paid`` per ``partition`` (or over all): the middle value, or
    the mean of the two middle ones."""
    key = partition if partition is not None else sa.literal(None)
    over = {"partition_by": partition} if partition is not None else {}
    ranked = sa.select(key.label("key"), per.c.paid,
                       sa.func.row_number().over(order_by=per.c.paid, **over).label("rn"),
                       sa.func.count().over(**over).label("n")).subquery()
    rows = db.session.execute(
        sa.select(ranked.c.key, sa.func.avg(ranked.c.paid))
        .where(sa.or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
        .group_by(ranked.c.key)).all()
    return [(k, _number(v)) for k, v in rows]


def _number(value) -> float | int | None:
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


__all__ = ["FlagFacts", "PaidByWorkers", "StoredFlag", "agency_names", "flag_counts",
           "flag_counts_by_province", "job_order_dispatches", "paid_per_trainee",
           "rate_dispatches", "rebuild", "refresh_dispatches", "stored_flags",
           "stored_totals"]
