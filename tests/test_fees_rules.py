"""Each rule of the fee ledger on hand-made ledgers (issue 13 §2): on and just over each
cap, pro rata for 18- and 48-month contracts, dates before and after ``contracted``, a
refund present and missing, and which exchange rate a check used."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from matching import fees
from matching.extensions import db
from matching.fees.checks import service_fee_cap
from matching.fees.rates import NoRate, RateTable
from matching.models import Charge, Dispatch, ExchangeRate, JobOrder, StatusEvent
from matching.operations import fees as ops
from tests.conftest import open_dispatch

TODAY = date.today()
D = timedelta


@pytest.fixture
def ledger(make_org, make_trainee):
    """``ledger(track=, wage=, months=, stages={stage: date})``: a dispatch whose job order
    advertises ``wage`` a month, with the events of ``stages`` and the contract prefilled
    when it reached ``contracted``."""

    def make(*, track="TITP", wage=200_000, months=None, stages=None, trainee=None,
             employer=None, **contract):
        stages = stages or {"selected": TODAY - D(60), "contracted": TODAY - D(30)}
        dispatch = open_dispatch(make_org, make_trainee, trainee=trainee,
                                 since=(TODAY - stages["selected"]).days)
        job = db.session.get(JobOrder, dispatch.job_order_id)
        job.visa_track, job.monthly_salary_jpy, job.contract_months = track, wage, months
        job.prefecture = "aichi"
        if employer is not None:
            job.employer_id = employer.id
        previous = "selected"
        for stage, on in stages.items():
            if stage == "selected":
                continue
            db.session.add(StatusEvent(dispatch_id=dispatch.id, from_stage=previous,
                                       to_stage=stage, happened_on=on))
            previous = stage
        dispatch.stage = previous
        if "contracted" in stages:
            ops.prefill_contract(dispatch)
        for name, value in contract.items():
            setattr(dispatch, name, value)
        db.session.commit()
        return dispatch

    return make


def pay(dispatch, kind, amount, *, currency="JPY", on=None, payer="worker"):
    charge = Charge(dispatch_id=dispatch.id, kind=kind, amount=amount, currency=currency,
                    paid_on=on or TODAY - D(20), payer=payer, payee="Agency")
    db.session.add(charge)
    db.session.commit()
    return charge


def rules_of(dispatch, today=None):
    return [f.rule_id for f in fees.flags_for_dispatch(dispatch, today=today)]


def one(dispatch, rule):
    found = [f for f in fees.flags_for_dispatch(dispatch) if f.rule_id == rule]
    assert len(found) == 1, rules_of(dispatch)
    return found[0]


# -- service fee cap ---------------------------------------------------------------------------


@pytest.mark.parametrize(("months", "cap"), [(12, 200_000), (18, 300_000), (36, 600_000),
                                             (48, 600_000), (6, 100_000)])
def test_the_cap_is_one_months_wage_per_12_months_and_three_at_most(months, cap):
    parameters = fees.rules()[1].parameters
    assert service_fee_cap(200_000, months, parameters) == cap


@pytest.mark.parametrize(("months", "cap"), [(18, 300_000), (48, 600_000)])
def test_service_fee_on_the_cap_is_lawful_one_yen_over_is_flagged(ledger, months, cap):
    on_cap = ledger(months=months)
    pay(on_cap, "service_fee", cap)
    assert "service_fee_over_cap" not in rules_of(on_cap)
    over = ledger(months=months)
    pay(over, "service_fee", cap - 100)
    pay(over, "service_fee", 101)
    flag = one(over, "service_fee_over_cap")
    assert (flag.amount_jpy, flag.limit_jpy) == (cap + 1, cap)
    assert flag.details["contract_months"] == months
    assert flag.as_json()["source"] == "Law 69/2020/QH14, Art. 23(4)"


def test_the_signed_contract_decides_the_cap_not_the_advertisement(ledger):
    dispatch = ledger(months=36, contract_wage_jpy=150_000, contract_months=12)
    pay(dispatch, "service_fee", 150_001)
    flag = one(dispatch, "service_fee_over_cap")
    assert flag.limit_jpy == 150_000
    assert flag.details["wage_from"] == "contract"


def test_a_refund_of_the_excess_lifts_the_cap_flag(ledger):
    dispatch = ledger(months=12)
    pay(dispatch, "service_fee", 250_000)
    assert "service_fee_over_cap" in rules_of(dispatch)
    pay(dispatch, "service_fee_refund", 50_000, payer="agency")
    assert "service_fee_over_cap" not in rules_of(dispatch)


def test_job_order_contract_months_default_by_track():
    assert JobOrder(visa_track="TITP").contract_months_or_default == 36
    assert JobOrder(visa_track="ESD").contract_months_or_default == 36
    assert JobOrder(visa_track="SSW1").contract_months_or_default == 12
    assert JobOrder(visa_track="SSW1", contract_months=24).contract_months_or_default == 24


# -- dates around the contract -----------------------------------------------------------------


def test_service_fee_before_the_contract_is_flagged_on_the_day_it_is_not(ledger):
    contracted = TODAY - D(30)
    dispatch = ledger(stages={"selected": TODAY - D(60), "contracted": contracted})
    pay(dispatch, "service_fee", 10_000, on=contracted)
    assert "service_fee_before_contract" not in rules_of(dispatch)
    pay(dispatch, "service_fee", 10_000, on=contracted - D(1))
    flag = one(dispatch, "service_fee_before_contract")
    assert flag.amount_jpy == 10_000
    assert flag.details["contracted_on"] == contracted


def test_service_fee_with_no_contract_yet_is_flagged(ledger):
    dispatch = ledger(stages={"selected": TODAY - D(10)})
    pay(dispatch, "service_fee", 5_000, on=TODAY)
    assert one(dispatch, "service_fee_before_contract").details["contracted_on"] is None


def test_a_rule_covers_only_payments_within_its_dates(ledger):
    dispatch = ledger()
    pay(dispatch, "brokerage", 1_000, on=date(2021, 12, 31))
    assert "brokerage_charged" not in rules_of(dispatch)  # before Law 69/2020 applied
    pay(dispatch, "brokerage", 1, on=date(2022, 1, 1))
    assert one(dispatch, "brokerage_charged").amount_jpy == 1


# -- brokerage, deposit, zero caps -------------------------------------------------------------


def test_brokerage_and_deposit_paid_by_the_worker_are_flagged_not_by_others(ledger):
    dispatch = ledger()
    pay(dispatch, "brokerage", 5_000, payer="employer")
    pay(dispatch, "deposit", 5_000, payer="agency")
    assert rules_of(dispatch) == []
    pay(dispatch, "deposit", 30_000)
    assert one(dispatch, "deposit_charged").limit_jpy == 0


def test_lawful_costs_are_not_flagged_but_totalled(ledger):
    dispatch = ledger()
    for kind in fees.COST_KINDS:
        pay(dispatch, kind, 10_000)
    pay(dispatch, "service_fee", 50_000)
    assert rules_of(dispatch) == []
    totals = fees.worker_paid_totals(sa.select(Dispatch).where(Dispatch.id == dispatch.id))
    assert (totals.workers, totals.paid_jpy, totals.costs_jpy, totals.fees_jpy) == (
        1, 130_000, 80_000, 50_000)
    assert totals.survey_jpy == 688_143


def test_no_service_fee_for_ssw_after_titp_from_the_platforms_own_history(ledger, make_trainee,
                                                                          make_org):
    trainee = make_trainee()
    employer = make_org(kind="employer")
    first = ledger(trainee=trainee, employer=employer)
    first.stage = "completed"
    db.session.commit()
    second = ledger(track="SSW1", trainee=trainee)
    pay(second, "service_fee", 1)
    flag = one(second, "service_fee_not_allowed")
    assert flag.details["case"] == "ssw_after_titp"
    assert "service_fee_over_cap" not in rules_of(second)
    second.stage = "withdrawn"
    db.session.commit()
    third = ledger(track="TITP", trainee=trainee, employer=employer)
    pay(third, "service_fee", 1)
    assert one(third, "service_fee_not_allowed").details["case"] == "titp_3_same_employer"


def test_the_agency_may_say_the_contract_caps_the_fee_at_zero(ledger):
    dispatch = ledger(track="TITP", track_stage="titp_3_same_employer")
    assert rules_of(dispatch) == []
    pay(dispatch, "service_fee", 1)
    assert rules_of(dispatch) == ["service_fee_not_allowed"]


# -- waiting and refunds -----------------------------------------------------------------------


def test_waiting_more_than_180_days_without_compensation(ledger):
    on_limit = ledger(stages={"selected": TODAY - D(180)})
    assert "waiting_too_long" not in rules_of(on_limit)
    late = ledger(stages={"selected": TODAY - D(181)})
    assert one(late, "waiting_too_long").details["days"] == 181
    pay(late, "compensation", 100_000, payer="agency")
    assert "waiting_too_long" not in rules_of(late)
    departed = ledger(stages={"selected": TODAY - D(400), "contracted": TODAY - D(390),
                              "training": TODAY - D(380), "coe_applied": TODAY - D(370),
                              "coe_issued": TODAY - D(300), "visa_applied": TODAY - D(290),
                              "visa_issued": TODAY - D(280), "departed": TODAY - D(270)})
    assert "waiting_too_long" not in rules_of(departed)


EARLY_RETURN = {"selected": TODAY - D(500), "contracted": TODAY - D(490),
                "training": TODAY - D(480), "coe_applied": TODAY - D(470),
                "coe_issued": TODAY - D(460), "visa_applied": TODAY - D(455),
                "visa_issued": TODAY - D(450), "departed": TODAY - D(440),
                "deployed": TODAY - D(440), "early_return": TODAY - D(440 - 365)}


def test_early_return_without_a_proportional_refund_within_30_days(ledger):
    # 12 months worked of 36: two thirds of the service fee come back.
    dispatch = ledger(months=36, stages=EARLY_RETURN)
    pay(dispatch, "service_fee", 300_000, on=TODAY - D(489))
    flag = one(dispatch, "refund_due")
    assert flag.limit_jpy == pytest.approx(200_000, abs=1_000)
    assert flag.amount_jpy == 0
    returned = EARLY_RETURN["early_return"]
    pay(dispatch, "service_fee_refund", flag.limit_jpy, payer="agency",
        on=returned + D(31))  # too late: does not count
    assert "refund_due" in rules_of(dispatch)
    pay(dispatch, "service_fee_refund", flag.limit_jpy, payer="agency", on=returned + D(30))
    assert "refund_due" not in rules_of(dispatch)


def test_no_refund_due_when_the_worker_was_at_fault_or_within_the_30_days(ledger):
    at_fault = ledger(months=36, stages=EARLY_RETURN, return_worker_fault=True)
    pay(at_fault, "service_fee", 300_000, on=TODAY - D(489))
    assert "refund_due" not in rules_of(at_fault)
    recent = ledger(months=36, stages=dict(EARLY_RETURN, early_return=TODAY - D(10)))
    pay(recent, "service_fee", 300_000, on=TODAY - D(489))
    assert "refund_due" not in rules_of(recent)
    assert "refund_due" in rules_of(recent, today=TODAY + D(21))


# -- contract substitution ---------------------------------------------------------------------


def test_contract_below_the_advertised_wage_or_elsewhere_is_a_substitution(ledger, make_org):
    same = ledger(wage=200_000)
    assert "contract_substitution" not in rules_of(same)
    lower = ledger(wage=200_000, contract_wage_jpy=199_999)
    flag = one(lower, "contract_substitution")
    assert (flag.amount_jpy, flag.limit_jpy) == (199_999, 200_000)
    moved = ledger(contract_prefecture="osaka", contract_field="agriculture",
                   contract_employer_id=make_org(kind="employer").id)
    assert set(one(moved, "contract_substitution").details["changes"]) == {
        "prefecture", "field", "employer"}


def test_reported_wages_below_the_contract_reach_the_check_through_the_hook(ledger):
    dispatch = ledger(wage=200_000)

    def source(ids):
        return [(dispatch.id, date(2026, 5, 1), 180_000)]

    fees.register_wage_source(source)
    try:
        changes = one(dispatch, "contract_substitution").details["changes"]
        assert changes == {"reported_wages": [["2026-05-01", 180_000]]}
    finally:
        fees.checks.WAGE_SOURCES.remove(source)


# -- exchange rates ----------------------------------------------------------------------------


def _rate(currency, on, rate):
    db.session.add(ExchangeRate(currency=currency, valid_on=on, rate_to_jpy=Decimal(rate)))
    db.session.commit()


def test_the_latest_rate_on_or_before_the_payment_date_is_used_and_said(ledger):
    _rate("VND", date(2026, 1, 1), "0.0060")
    _rate("VND", date(2026, 2, 1), "0.0050")
    table = RateTable.load()
    assert table.to_jpy(1_000_000, "VND", date(2026, 1, 31))[0] == 6_000
    assert table.to_jpy(1_000_000, "VND", date(2026, 2, 1))[0] == 5_000
    with pytest.raises(NoRate):
        table.to_jpy(1_000_000, "VND", date(2025, 12, 31))
    dispatch = ledger(stages={"selected": date(2026, 1, 2), "contracted": date(2026, 1, 10)})
    pay(dispatch, "brokerage", 2_000_000, currency="VND", on=date(2026, 1, 20))
    flag = one(dispatch, "brokerage_charged")
    assert flag.amount_jpy == 12_000
    assert flag.as_json()["rates"] == [{"currency": "VND", "rate_to_jpy": "0.00600000",
                                        "valid_on": "2026-01-01"}]


def test_a_charge_in_a_currency_without_a_rate_is_refused(ledger):
    dispatch = ledger()
    with pytest.raises(NoRate) as refused:
        ops.record_charge(None, dispatch, kind="service_fee", amount=1_000_000,
                          currency="VND", paid_on=TODAY, payer="worker")
    assert "exchange rate" in str(refused.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Charge)) == 0


# -- set-based ---------------------------------------------------------------------------------


def test_checking_many_dispatches_takes_a_fixed_number_of_queries(ledger, count_queries):
    for _ in range(3):
        pay(ledger(), "brokerage", 1_000)
    with count_queries() as few:
        assert len(fees.flags(sa.select(Dispatch))) == 3
    for _ in range(5):
        pay(ledger(), "deposit", 1_000)
    with count_queries() as many:
        assert len(fees.flags(sa.select(Dispatch))) == 8
    assert many[0] == few[0] <= 6
