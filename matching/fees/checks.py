"""The checks of the fee ledger against the rule table (issue 13 §2), set-based.

``load_ledgers(stmt)`` reads everything the checks need about the dispatches a ``Select``
names (a scope of ``matching.access``) in a fixed number of queries, whatever their number:
the dispatches with their job order, trainee and agency; their stage dates; their charges;
the worker's completed TITP dispatches; the exchange rates. ``run_checks`` then applies each
rule of ``rules.rules()`` in memory. No query per dispatch or per charge.

What a charge means to the checks:

- paid by the worker: ``kind`` in ``CHARGE_KINDS`` with ``payer`` worker;
- back to the worker: ``service_fee_refund`` and ``compensation``, paid by the agency or the
  employer (a refund within 30 days of an early return; compensation for a long wait);
- lawful recruitment costs (training, language course, accommodation, medical, visa, flight,
  documents, other) are never flagged, only totalled (``totals``), because the Employer
  Pays Principle counts them.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from matching.extensions import db
from matching.fees import texts
from matching.fees.rates import RateTable, RateUsed, yen
from matching.fees.rules import Rule, rules, survey_average
from matching.models import Charge, Dispatch, JobOrder, Organisation, StatusEvent, Trainee
from matching.models.jobs import DEFAULT_CONTRACT_MONTHS

#: Worker-paid kinds that are recruitment costs: totalled, never flagged.
COST_KINDS = ("training", "language_course", "accommodation", "medical", "visa", "flight",
              "documents", "other")
#: Worker-paid kinds that are fees (each has a rule).
FEE_KINDS = ("service_fee", "brokerage", "deposit")
#: A month, in days, for the months worked before an early return.
DAYS_PER_MONTH = Decimal("30.4375")


@dataclass
class ChargeFact:
    id: int
    kind: str
    amount: int
    currency: str
    paid_on: date
    payer: str
    amount_jpy: int | None  # None: no rate (cannot happen through the form or the import)
    rate: RateUsed | None

    @property
    def by_worker(self) -> bool:
        return self.payer == "worker" and self.kind not in ("service_fee_refund", "compensation")

    @property
    def to_worker(self) -> bool:
        return self.payer != "worker" and self.kind in ("service_fee_refund", "compensation")


@dataclass
class LedgerFacts:
    """One dispatch as the checks see it."""

    dispatch_id: int
    stage: str
    trainee_id: int
    trainee_external_id: str
    province: str
    job_order_external_id: str
    visa_track: str
    agency: str | None  # its code
    agency_name: str | None
    agency_id: int | None
    job_wage_jpy: int | None
    job_field: str
    job_prefecture: str | None
    job_employer_id: int
    job_contract_months: int
    contract_wage_jpy: int | None
    contract_months: int | None
    contract_field: str | None
    contract_prefecture: str | None
    contract_employer_id: int | None
    track_stage: str | None
    return_worker_fault: bool | None
    stage_dates: dict[str, date] = field(default_factory=dict)
    charges: list[ChargeFact] = field(default_factory=list)
    #: Employers of the worker's completed TITP dispatches (other than this one).
    titp_employers: set[int] = field(default_factory=set)
    #: (month, wage in yen) the worker reported below the contract (``WAGE_SOURCES``).
    low_wages: list[tuple[date, int]] = field(default_factory=list)

    @property
    def contract_recorded(self) -> bool:
        return "contracted" in self.stage_dates

    @property
    def wage(self) -> int | None:
        """The contract's monthly wage, else the job order's advertised one."""
        return self.contract_wage_jpy or self.job_wage_jpy

    @property
    def months(self) -> int:
        return self.contract_months or self.job_contract_months

    @property
    def employer_id(self) -> int:
        return self.contract_employer_id or self.job_employer_id

    def worker_paid(self, kinds: Iterable[str], rule: Rule | None = None) -> list[ChargeFact]:
        """The worker's payments of ``kinds`` (on the days ``rule`` covers)."""
        by_kind = self.__dict__.get("_by_kind")
        if by_kind is None:  # indexed once: every rule asks
            by_kind = self.__dict__["_by_kind"] = defaultdict(list)
            for charge in self.charges:
                if charge.by_worker:
                    by_kind[charge.kind].append(charge)
        return [c for kind in kinds for c in by_kind.get(kind, ())
                if rule is None or rule.applies_on(c.paid_on)]


@dataclass
class Flag:
    """One rule broken by one dispatch's ledger or contract."""

    rule: Rule
    facts: LedgerFacts
    amount_jpy: int | None
    limit_jpy: int | None
    charges: list[ChargeFact] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    #: The day from which the flag holds, for a rule that waits (``waiting_too_long``,
    #: ``refund_due``); None: it holds as soon as the facts are recorded.
    active_from: date | None = None

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def rates(self) -> list[RateUsed]:
        """The distinct rates the flag's figures used (not the yen's own)."""
        seen = []
        for charge in self.charges:
            if charge.rate is not None and charge.rate.valid_on is not None \
                    and charge.rate not in seen:
                seen.append(charge.rate)
        return seen

    def as_json(self, locale: str = "en") -> dict:
        facts = self.facts
        return {
            "rule": self.rule.id, "title": str(texts.title(self)),
            "trainee_external_id": facts.trainee_external_id,
            "job_order_external_id": facts.job_order_external_id,
            "agency": facts.agency, "province": facts.province,
            "amount_jpy": self.amount_jpy, "limit_jpy": self.limit_jpy,
            "source": self.rule.source(locale),
            "rates": [rate.as_json() for rate in self.rates],
            "charges": [c.id for c in self.charges],
            "details": {k: (v.isoformat() if isinstance(v, date) else v)
                        for k, v in self.details.items()},
            "explanation": str(texts.explanation(self)),
        }


@dataclass
class Totals:
    """What workers paid, in yen: everything (``paid_jpy``), of which recruitment costs
    (training, visa, flight, medical...) and fees (service fee, brokerage, deposit); and
    what went back to them (refunds, compensation). ``workers``: dispatches with at least
    one payment by the worker."""

    workers: int = 0
    paid_jpy: int = 0
    costs_jpy: int = 0
    fees_jpy: int = 0
    returned_jpy: int = 0

    @property
    def average_jpy(self) -> int | None:
        return round(self.paid_jpy / self.workers) if self.workers else None

    @property
    def survey_jpy(self) -> int:
        return survey_average().amount_jpy

    def add(self, facts: LedgerFacts) -> None:
        payments, paid, costs, fees, returned = ledger_totals(facts)
        if payments:
            self.workers += 1
        self.paid_jpy += paid
        self.costs_jpy += costs
        self.fees_jpy += fees
        self.returned_jpy += returned

    def as_json(self) -> dict:
        return {"workers": self.workers, "paid_jpy": self.paid_jpy,
                "costs_jpy": self.costs_jpy, "fees_jpy": self.fees_jpy,
                "returned_jpy": self.returned_jpy, "average_jpy": self.average_jpy,
                "survey_average_jpy": self.survey_jpy}


def ledger_totals(facts: LedgerFacts) -> tuple[int, int, int, int, int]:
    """What the worker of one ledger paid, in yen: (payments by the worker, everything, of
    which recruitment costs, of which fees, what went back to them)."""
    paid = [c for c in facts.charges if c.by_worker]
    return (len(paid), _total(paid), _total(c for c in paid if c.kind in COST_KINDS),
            _total(c for c in paid if c.kind in FEE_KINDS),
            _total(c for c in facts.charges if c.to_worker))


# -- loading ----------------------------------------------------------------------------------

#: Where a reported monthly wage comes from (the worker's page, built later): functions
#: ``(dispatch ids select) -> [(dispatch_id, month, wage_jpy)]``, one query each.
WAGE_SOURCES: list[Callable[[sa.Select], Iterable[tuple[int, date, int]]]] = []


def register_wage_source(source: Callable[[sa.Select], Iterable[tuple[int, date, int]]]
                         ) -> None:
    """Let ``contract_substitution`` see the wages workers report (a hook for the worker's
    page): a monthly wage below the contract's is a substitution."""
    if source not in WAGE_SOURCES:
        WAGE_SOURCES.append(source)


def dispatch_ids(stmt: sa.Select) -> sa.Select:
    """The ids of the dispatches ``stmt`` (a ``Select`` of ``Dispatch``) names."""
    return stmt.with_only_columns(Dispatch.id).order_by(None)


def load_ledgers(stmt: sa.Select, rates: RateTable | None = None) -> list[LedgerFacts]:
    """What the checks need about the dispatches of ``stmt``, in six queries at most."""
    ids = dispatch_ids(stmt)
    agency = aliased(Organisation)
    rows = db.session.execute(
        sa.select(Dispatch.id, Dispatch.stage, Dispatch.trainee_id, Trainee.external_id,
                  Trainee.province, JobOrder.external_id, JobOrder.visa_track, agency.code,
                  agency.name, Dispatch.agency_id, JobOrder.monthly_salary_jpy, JobOrder.field,
                  JobOrder.prefecture, JobOrder.employer_id, JobOrder.contract_months,
                  Dispatch.contract_wage_jpy, Dispatch.contract_months, Dispatch.contract_field,
                  Dispatch.contract_prefecture, Dispatch.contract_employer_id,
                  Dispatch.track_stage, Dispatch.return_worker_fault)
        .select_from(Dispatch)
        .join(JobOrder, JobOrder.id == Dispatch.job_order_id)
        .join(Trainee, Trainee.id == Dispatch.trainee_id)
        .outerjoin(agency, agency.id == Dispatch.agency_id)
        .where(Dispatch.id.in_(ids))
        .order_by(Trainee.province, agency.code, Trainee.external_id, Dispatch.id)).all()
    ledgers: dict[int, LedgerFacts] = {}
    for row in rows:
        (dispatch_id, stage, trainee_id, trainee_ext, province, job_ext, track, agency_code,
         agency_name, agency_id, wage, job_field, prefecture, employer_id, months, *contract,
         track_stage, fault) = row
        ledgers[dispatch_id] = LedgerFacts(
            dispatch_id, stage, trainee_id, trainee_ext, province, job_ext, track, agency_code,
            agency_name, agency_id, wage, job_field, prefecture, employer_id,
            months or DEFAULT_CONTRACT_MONTHS.get(track, 12), *contract, track_stage, fault)
    if not ledgers:
        return []
    for dispatch_id, stage, on in db.session.execute(
            sa.select(StatusEvent.dispatch_id, StatusEvent.to_stage, StatusEvent.happened_on)
            .where(StatusEvent.dispatch_id.in_(ids))):
        ledgers[dispatch_id].stage_dates.setdefault(stage, on)
    rates = rates or RateTable.load()
    # Columns, not entities: a province's ledgers are tens of thousands of rows.
    for charge_id, dispatch_id, kind, amount, currency, paid_on, payer in db.session.execute(
            sa.select(Charge.id, Charge.dispatch_id, Charge.kind, Charge.amount, Charge.currency,
                      Charge.paid_on, Charge.payer).where(Charge.dispatch_id.in_(ids))
            .order_by(Charge.paid_on, Charge.created_at, Charge.id)):
        used = rates.lookup(currency, paid_on)
        amount_jpy = None if used is None else yen(amount, used.rate)
        ledgers[dispatch_id].charges.append(ChargeFact(
            charge_id, kind, amount, currency, paid_on, payer, amount_jpy, used))
    _load_titp_history(ledgers, ids)
    for source in WAGE_SOURCES:
        for dispatch_id, month, wage in source(ids):
            facts = ledgers.get(dispatch_id)
            if facts is not None and facts.contract_wage_jpy and wage < facts.contract_wage_jpy:
                facts.low_wages.append((month, wage))
    return list(ledgers.values())


def _load_titp_history(ledgers: dict[int, LedgerFacts], ids: sa.Select) -> None:
    """The employers of each worker's completed TITP contracts (one query)."""
    earlier, job = aliased(Dispatch), aliased(JobOrder)
    trainees = sa.select(Dispatch.trainee_id).where(Dispatch.id.in_(ids))
    by_trainee: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for trainee_id, dispatch_id, employer_id in db.session.execute(
            sa.select(earlier.trainee_id, earlier.id,
                      sa.func.coalesce(earlier.contract_employer_id, job.employer_id))
            .join(job, job.id == earlier.job_order_id)
            .where(earlier.trainee_id.in_(trainees), earlier.stage == "completed",
                   job.visa_track == "TITP")):
        by_trainee[trainee_id].append((dispatch_id, employer_id))
    for facts in ledgers.values():
        facts.titp_employers = {employer for other, employer in by_trainee[facts.trainee_id]
                                if other != facts.dispatch_id}


# -- the checks -------------------------------------------------------------------------------


def _total(charges: Iterable[ChargeFact]) -> int:
    return sum(c.amount_jpy or 0 for c in charges)


def service_fee_cap(wage: int, months: int, parameters) -> int:
    """The most a worker may pay in service fees: ``wage_months_per_12_months`` months' wage
    per 12 months of contract, pro rata; ``max_wage_months`` for contracts of
    ``max_from_contract_months`` months or more."""
    per_12 = Decimal(str(parameters.get("wage_months_per_12_months", 1)))
    cap = Decimal(wage) * per_12 * Decimal(months) / 12
    if months >= parameters.get("max_from_contract_months", 36):
        cap = min(cap, Decimal(wage) * Decimal(str(parameters.get("max_wage_months", 3))))
    return int(cap)  # down to the yen: a fee equal to the cap is lawful


def _brokerage_charged(rule: Rule, facts: LedgerFacts, today: date) -> Iterable[Flag]:
    charges = facts.worker_paid(("brokerage",), rule)
    limit = rule.parameters.get("limit_jpy", 0)
    if charges and _total(charges) > limit:
        yield Flag(rule, facts, _total(charges), limit, charges)


def _deposit_charged(rule: Rule, facts: LedgerFacts, today: date) -> Iterable[Flag]:
    charges = facts.worker_paid(("deposit",), rule)
    limit = rule.parameters.get("limit_jpy", 0)
    if charges and _total(charges) > limit:
        yield Flag(rule, facts, _total(charges), limit, charges)


def _net_service_fees(facts: LedgerFacts, rule: Rule) -> tuple[int, list[ChargeFact]]:
    fees = facts.worker_paid(("service_fee",), rule)
    refunds = [c for c in facts.charges if c.to_worker and c.kind == "service_fee_refund"]
    return _total(fees) - _total(refunds), fees + refunds


def _service_fee_over_cap(rule: Rule, facts: LedgerFacts, today: date) -> Iterable[Flag]:
    if not facts.worker_paid(("service_fee",), rule) or not facts.wage or not facts.months:
        return
    if zero_fee_case(facts) is not None:
        return  # ``service_fee_not_allowed`` says it, with its cap of 0
    paid, charges = _net_service_fees(facts, rule)
    cap = service_fee_cap(facts.wage, facts.months, rule.parameters)
    if paid > cap:
        yield Flag(rule, facts, paid, cap, charges,
                   {"wage_jpy": facts.wage, "contract_months": facts.months,
                    "wage_from": "contract" if facts.contract_wage_jpy else "job_order"})


def _service_fee_before_contract(rule: Rule, facts: LedgerFacts, today: date
                                 ) -> Iterable[Flag]:
    contracted = facts.stage_dates.get("contracted")
    early = [c for c in facts.worker_paid(("service_fee",), rule)
             if contracted is None or c.paid_on < contracted]
    if early:
        yield Flag(rule, facts, _total(early), None, early,
                   {"contracted_on": contracted, "paid_on": early[0].paid_on})


def zero_fee_case(facts: LedgerFacts) -> str | None:
    """Why no service fee may be charged on this contract, or None: a third TITP stage with
    the enterprise of the first two, or SSW after completing TITP. From the dispatch's
    ``track_stage`` (what the agency said) or from the platform's own history."""
    if facts.track_stage in ("titp_3_same_employer", "ssw_after_titp"):
        return facts.track_stage
    if facts.visa_track == "TITP" and facts.employer_id in facts.titp_employers:
        return "titp_3_same_employer"
    if facts.visa_track in ("SSW1", "SSW2") and facts.titp_employers:
        return "ssw_after_titp"
    return None


def _service_fee_not_allowed(rule: Rule, facts: LedgerFacts, today: date) -> Iterable[Flag]:
    case = zero_fee_case(facts)
    charges = facts.worker_paid(("service_fee",), rule)
    limit = rule.parameters.get("limit_jpy", 0)
    if case is not None and charges and _total(charges) > limit:
        yield Flag(rule, facts, _total(charges), limit, charges, {"case": case})


def _waiting_too_long(rule: Rule, facts: LedgerFacts, today: date) -> Iterable[Flag]:
    selected = facts.stage_dates.get("selected")
    if selected is None or "departed" in facts.stage_dates or not rule.applies_on(selected):
        return
    if [c for c in facts.charges if c.to_worker and c.kind == "compensation"]:
        return
    max_days = rule.parameters.get("max_days", 180)
    ended = [on for stage, on in facts.stage_dates.items()
             if stage in ("withdrawn", "denied", "completed", "early_return")]
    if ended:
        days = (min(ended) - selected).days
        if days > max_days:
            yield Flag(rule, facts, None, None, [], {"days": days, "selected_on": selected})
        return
    # Still waiting: the flag holds from the day after the last allowed one, its days
    # counted up to ``today`` (``live_details`` counts them again when a stored flag is read).
    yield Flag(rule, facts, None, None, [],
               {"days": (today - selected).days, "selected_on": selected},
               active_from=selected + timedelta(days=max_days + 1))


def _refund_due(rule: Rule, facts: LedgerFacts, today: date) -> Iterable[Flag]:
    returned = facts.stage_dates.get("early_return")
    if returned is None or facts.return_worker_fault or not rule.applies_on(returned):
        return
    deadline = returned + timedelta(days=rule.parameters.get("within_days", 30))
    fees = facts.worker_paid(("service_fee",), None)
    if not fees:
        return
    started = facts.stage_dates.get("deployed") or facts.stage_dates.get("departed") or returned
    months = Decimal(facts.months)
    worked = min(months, Decimal((returned - started).days) / DAYS_PER_MONTH)
    due = int(Decimal(_total(fees)) * (months - worked) / months)
    refunds = [c for c in facts.charges if c.to_worker and c.kind == "service_fee_refund"
               and c.paid_on <= deadline]
    if _total(refunds) < due:
        yield Flag(rule, facts, _total(refunds), due, fees + refunds,
                   {"returned_on": returned, "deadline": deadline,
                    "months_worked": float(round(worked, 1)), "contract_months": facts.months},
                   active_from=deadline + timedelta(days=1))  # not late before


def _contract_substitution(rule: Rule, facts: LedgerFacts, today: date) -> Iterable[Flag]:
    if not facts.contract_recorded or not rule.applies_on(facts.stage_dates["contracted"]):
        return
    changes = {}
    if (facts.contract_wage_jpy is not None and facts.job_wage_jpy
            and facts.contract_wage_jpy < facts.job_wage_jpy):
        changes["wage"] = [facts.job_wage_jpy, facts.contract_wage_jpy]
    if facts.contract_field and facts.contract_field != facts.job_field:
        changes["field"] = [facts.job_field, facts.contract_field]
    if (facts.contract_prefecture and facts.job_prefecture
            and facts.contract_prefecture != facts.job_prefecture):
        changes["prefecture"] = [facts.job_prefecture, facts.contract_prefecture]
    if facts.contract_employer_id and facts.contract_employer_id != facts.job_employer_id:
        changes["employer"] = [facts.job_employer_id, facts.contract_employer_id]
    if facts.low_wages:
        changes["reported_wages"] = [[month.isoformat(), wage]
                                     for month, wage in sorted(facts.low_wages)]
    if changes:
        yield Flag(rule, facts, facts.contract_wage_jpy, facts.job_wage_jpy, [],
                   {"changes": changes})


#: check name -> ``(rule, facts, today) -> flags``.
CHECKS: dict[str, Callable[[Rule, LedgerFacts, date], Iterable[Flag]]] = {
    "brokerage_charged": _brokerage_charged,
    "service_fee_over_cap": _service_fee_over_cap,
    "service_fee_before_contract": _service_fee_before_contract,
    "deposit_charged": _deposit_charged,
    "service_fee_not_allowed": _service_fee_not_allowed,
    "waiting_too_long": _waiting_too_long,
    "refund_due": _refund_due,
    "contract_substitution": _contract_substitution,
}


def run_checks(ledgers: Iterable[LedgerFacts], today: date | None = None, *,
               pending: bool = False) -> list[Flag]:
    """Every flag of every rule that covers each dispatch's track, in the table's order per
    dispatch, that holds on ``today``. ``pending``: also those that will hold later if
    nothing is recorded meanwhile (``Flag.active_from`` after ``today``): what
    ``fees.store`` keeps, read with ``active_from <= today``."""
    today = today or date.today()
    table = rules()
    out = []
    for facts in ledgers:
        for rule in table:
            if rule.covers(facts.visa_track):
                out.extend(flag for flag in CHECKS[rule.check](rule, facts, today)
                           if pending or flag.active_from is None
                           or flag.active_from <= today)
    return out


def live_details(check: str, details: dict, active_from: date | None, today: date) -> dict:
    """A stored flag's ``details`` as of ``today``: a worker still waiting
    (``waiting_too_long`` with an ``active_from``) has waited one more day each day."""
    if check == "waiting_too_long" and active_from is not None:
        return dict(details, days=(today - details["selected_on"]).days)
    return details
