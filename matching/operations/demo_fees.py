"""The demo's fee ledgers and its worker (issue 13), seeded after the pipeline.

So that a department opening the demo sees the feature that matters most to it working:

- a VND rate for the first of each month over the last two years (yen per dong, about
  what the banks quoted; the admin's rates page lists them);
- on every demo dispatch that reached "Contract signed", what its worker paid, through
  ``operations.fees.record_charge`` as the agency's form records it: the lawful costs
  (training, Japanese course, medical check, visa, flight once departed) and a service fee
  under the legal cap; on four of them, one each of the problems the checks exist for: a
  brokerage fee, a service fee above the cap, a deposit, and a service fee taken before the
  contract was signed;
- a worker account (``worker@demo.example``) for the worker furthest along the pipeline,
  opened through an invitation from their province's department as it would be, with a
  grievance about the brokerage fee they were charged (their agency may read it).

Idempotent: a dispatch that has payments already is left alone, the rates are set again to
the same values, the worker account and its grievance are made once.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from matching.extensions import db
from matching.models import (
    Charge,
    Dispatch,
    Grievance,
    Organisation,
    StatusEvent,
    Trainee,
    User,
)
from matching.models.dispatch import STAGES
from matching.operations.fees import record_charge, set_rate
from matching.operations.grievances import file_grievance
from matching.operations.workers import accept_invitation, invite_worker, worker_account

log = logging.getLogger(__name__)

WORKER_EMAIL = "worker@demo.example"
RATE_MONTHS = 24
RATE_SOURCE = "Vietcombank, tỷ giá bán JPY/VND (demo)"
#: Yen per dong around 2025–2026 (about 170–175 dong to the yen).
BASE_RATE = Decimal("0.00580")

#: The problems, in this order, on the first dispatches that can show them.
PROBLEMS = ("brokerage", "over_cap", "deposit", "before_contract")


@dataclass
class FeeReport:
    rates: int = 0
    charges: int = 0
    dispatches: int = 0
    worker_created: bool = False
    grievances: int = 0


def seed_fees(password: str, seed: int, *, today: date | None = None) -> FeeReport:
    """Rates, the ledgers of the demo dispatches, and the demo worker (module docstring),
    whose account gets ``password``."""
    today = today or date.today()
    report = FeeReport()
    report.rates = _rates(today)
    stages = _stage_dates()
    paid = set(db.session.scalars(sa.select(Charge.dispatch_id).distinct()))
    dispatches = [d for d in db.session.scalars(
        sa.select(Dispatch).join(Trainee, Trainee.id == Dispatch.trainee_id)
        .order_by(Trainee.external_id, Dispatch.id))
        if "contracted" in stages.get(d.id, {})]
    # The worker is the one furthest along (deployed, if anyone is); their dispatch comes
    # first, so that the problem they complain about is on their ledger.
    worker_dispatch = max((d for d in dispatches if d.stage in STAGES),
                          key=lambda d: STAGES.index(d.stage), default=None)
    if worker_dispatch is not None:
        dispatches.remove(worker_dispatch)
        dispatches.insert(0, worker_dispatch)
    problems = list(PROBLEMS)
    for dispatch in dispatches:
        if dispatch.id in paid:
            problems = problems[1:]  # seeded before: its problem is on it already
            continue
        rng = random.Random(f"{seed}-fees-{dispatch.trainee.external_id}")
        problem = problems.pop(0) if problems else None
        report.charges += _ledger(dispatch, stages[dispatch.id], problem, rng, today)
        report.dispatches += 1
    if worker_dispatch is not None:
        _worker(worker_dispatch, password, report)
    log.info("demo fees: %s", report)
    return report


def _rates(today: date) -> int:
    """The first of each month of the last ``RATE_MONTHS`` months, drifting gently."""
    month = date(today.year, today.month, 1)
    firsts = []
    for _ in range(RATE_MONTHS):
        firsts.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    for i, first in enumerate(sorted(firsts)):
        drift = Decimal(i % 7 - 3) * Decimal("0.00003")
        set_rate(None, currency="VND", valid_on=first, rate=BASE_RATE + drift,
                 source=RATE_SOURCE)
    return len(firsts)


def _stage_dates() -> dict[int, dict[str, date]]:
    """Each dispatch's stages and the day it reached each (its status events)."""
    out: dict[int, dict[str, date]] = {}
    for dispatch_id, stage, on in db.session.execute(
            sa.select(StatusEvent.dispatch_id, StatusEvent.to_stage, StatusEvent.happened_on)
            .order_by(StatusEvent.id)):
        out.setdefault(dispatch_id, {})[stage] = on
    return out


def _ledger(dispatch: Dispatch, reached: dict[str, date], problem: str | None,
            rng: random.Random, today: date) -> int:
    """Record what the worker of ``dispatch`` paid; the number of payments."""
    selected = reached.get("selected", reached["contracted"])
    contracted = reached["contracted"]

    def on(day: date, days: int) -> date:
        return min(day + timedelta(days=days), today)

    def vnd(low: int, high: int) -> int:
        return rng.randrange(low, high, 100_000)

    agency = dispatch.agency.name if dispatch.agency else None
    school = "Trung tâm Đào tạo Tiếng Nhật (demo)"
    payments = [
        ("language_course", vnd(4_000_000, 6_500_000), on(selected, 3), school),
        ("medical", vnd(900_000, 1_500_000), on(selected, 6), "Bệnh viện Đa khoa (demo)"),
        ("training", vnd(6_000_000, 9_000_000), on(contracted, 2), agency),
    ]
    if "visa_applied" in reached:
        payments.append(("visa", vnd(700_000, 1_000_000), reached["visa_applied"],
                         "Đại sứ quán Nhật Bản"))
    if "departed" in reached:
        payments.append(("flight", vnd(6_000_000, 8_500_000), on(reached["departed"], -10),
                         "Vietnam Airlines"))
    cap_vnd = _cap_vnd(dispatch)
    if problem == "before_contract":
        payments.append(("service_fee", int(cap_vnd * 0.6) // 100_000 * 100_000,
                         on(selected, 2), agency))
    elif problem == "over_cap":
        payments.append(("service_fee", int(cap_vnd * 1.4) // 100_000 * 100_000,
                         on(contracted, 5), agency))
    else:
        payments.append(("service_fee", int(cap_vnd * rng.uniform(0.55, 0.85))
                         // 100_000 * 100_000, on(contracted, 5), agency))
    if problem == "brokerage":
        payments.append(("brokerage", 30_000_000, on(selected, 1),
                         "Ông Trần Văn Môi (người giới thiệu)"))
    elif problem == "deposit":
        payments.append(("deposit", 50_000_000, on(contracted, 3), agency))
    for number, (kind, amount, paid_on, payee) in enumerate(payments, start=1):
        record_charge(None, dispatch, kind=kind, amount=amount, currency="VND",
                      paid_on=paid_on, payer="worker", payee=payee,
                      receipt_no=f"{dispatch.trainee.external_id}-{number:02d}")
    return len(payments)


def _cap_vnd(dispatch: Dispatch) -> int:
    """Roughly the legal service-fee cap in dong (a month's wage per 12 months of contract,
    at most three): the lawful fee is seeded below it, the unlawful one above."""
    wage = dispatch.contract_wage_jpy or dispatch.job_order.monthly_salary_jpy or 180_000
    months = dispatch.contract_months or 36
    cap_jpy = wage * min(months / 12, 3)
    return int(Decimal(cap_jpy) / BASE_RATE)


def _worker(dispatch: Dispatch, password: str, report: FeeReport) -> None:
    """The demo worker's account, opened from an invitation of a department user of their
    province, and their grievance."""
    trainee = dispatch.trainee
    user = worker_account(trainee)
    if user is None and db.session.scalar(
            sa.select(User.id).where(User.email == WORKER_EMAIL)) is None:
        department = db.session.scalar(
            sa.select(User).join(Organisation, Organisation.id == User.organisation_id)
            .where(User.role == "department", User.active.is_(True),
                   Organisation.province == trainee.province).order_by(User.id))
        if department is None:
            return
        _invitation, token = invite_worker(department, trainee)
        user = accept_invitation(token, email=WORKER_EMAIL, password=password)
        report.worker_created = True
    if user is None or db.session.scalar(sa.select(Grievance.id).where(
            Grievance.trainee_id == trainee.id)) is not None:
        return
    file_grievance(user, trainee, category="fees", agency_may_see=True, description=(
        "Trước khi ký hợp đồng, một người giới thiệu của công ty bắt em nộp 30 triệu đồng "
        "“phí môi giới” và nói nếu không nộp thì không được đi. Em có biên lai. Em muốn "
        "được trả lại khoản tiền này."))
    report.grievances += 1
