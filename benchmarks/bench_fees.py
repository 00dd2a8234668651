"""The fee panels read the flags and totals stored per dispatch; the checks run only on
what a write changed (and in ``fees check``, the audit, and ``fees rebuild``).

    .venv/bin/python -m benchmarks.bench_fees [--sizes 100 1000 10000] [--charges 6]

For each size: a temporary SQLite database built by the migrations, one province's
dispatches (a quarter of them at ``contracted`` with a signed contract, the rest selected
long ago), ``charges`` payments each (VND and JPY, worker-paid costs, service fees over and
under the cap, the odd brokerage and deposit) and a year of daily VND rates, then
``fees.store.rebuild`` (timed: the upgrade's ``fees rebuild``). Prints, per size, the
seconds (median of 3) and SQL statements of:

- the pipeline's panel (``fee_summary``: counts by rule, the first five flags, totals,
  totals per agency) and the ``/fees/`` page's figures (counts, the first 500 flags, totals
  per agency and per province), read from the stored rows;
- one write's refresh: a payment recorded through ``operations.fees.record_charge``
  (its dispatch's checks and stored rows, in its transaction; rolled back after);
- the live audit, ``fees.flags`` over the province (``fees check``), for comparison.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from matching import create_app, fees
from matching.extensions import db
from matching.fees import store
from matching.models import (
    Charge,
    Dispatch,
    ExchangeRate,
    JobOrder,
    Organisation,
    StatusEvent,
    Trainee,
)
from matching.models._common import utcnow

TODAY = date.today()
KINDS = ("service_fee", "training", "language_course", "medical", "visa", "flight",
         "accommodation", "documents", "brokerage", "deposit")


def build(size: int, charges: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = utcnow()
    agencies = [Organisation(kind="agency", code=f"AG{i}", name=f"Agency {i}") for i in range(5)]
    employer = Organisation(kind="employer", code="EMP", name="Employer", country="JP")
    db.session.add_all([*agencies, employer])
    db.session.flush()
    db.session.execute(sa.insert(ExchangeRate.__table__), [
        {"currency": "VND", "valid_on": TODAY - timedelta(days=d),
         "rate_to_jpy": Decimal("0.0058") + Decimal(d % 7) / 100000, "updated_at": now}
        for d in range(400)])
    jobs = [JobOrder(external_id=f"JO{i}", employer_id=employer.id, title="Worker",
                     field="construction", monthly_salary_jpy=200_000 + 1000 * i,
                     visa_track=("TITP", "SSW1")[i % 2], prefecture="aichi",
                     agency_id=agencies[i % 5].id) for i in range(20)]
    db.session.add_all(jobs)
    db.session.flush()
    trainees = [{"external_id": f"T{i:06d}", "full_name": f"Nguyen {i}",
                 "name_folded": f"nguyen {i}", "date_of_birth": date(2000, 1, 1),
                 "province": "nghe-an", "field": "construction", "japanese_level": "N4",
                 "language_rank": 2, "status": "in_process", "created_at": now,
                 "updated_at": now} for i in range(size)]
    db.session.execute(sa.insert(Trainee.__table__), trainees)
    trainee_ids = db.session.scalars(sa.select(Trainee.id).order_by(Trainee.id)).all()
    dispatches, events, rows = [], [], []
    for n, trainee_id in enumerate(trainee_ids):
        job = jobs[n % len(jobs)]
        contracted = n % 4 == 0
        dispatch_id = 2**33 + n
        dispatches.append({
            "id": dispatch_id, "job_order_id": job.id, "trainee_id": trainee_id,
            "agency_id": job.agency_id, "stage": "contracted" if contracted else "selected",
            "created_at": now, "updated_at": now, "version": 1,
            "contract_wage_jpy": job.monthly_salary_jpy - (5000 if n % 40 == 0 else 0)
            if contracted else None,
            "contract_months": 36 if contracted else None})
        selected = TODAY - timedelta(days=rng.randint(30, 300))
        events.append({"dispatch_id": dispatch_id, "from_stage": None, "to_stage": "selected",
                       "happened_on": selected, "at": now})
        if contracted:
            events.append({"dispatch_id": dispatch_id, "from_stage": "selected",
                           "to_stage": "contracted", "happened_on": selected + timedelta(10),
                           "at": now})
        for c in range(charges):
            kind = KINDS[(n + c) % len(KINDS)] if rng.random() < 0.9 else "service_fee"
            rows.append({"id": 2**40 + n * charges + c, "dispatch_id": dispatch_id,
                         "kind": kind, "amount": rng.randint(1, 60) * 1_000_000,
                         "currency": "VND", "paid_on": selected + timedelta(days=c * 5),
                         "payer": "worker", "payee": "Agency", "created_at": now})
    db.session.execute(sa.insert(Dispatch.__table__), dispatches)
    db.session.execute(sa.insert(StatusEvent.__table__), events)
    db.session.execute(sa.insert(Charge.__table__), rows)
    db.session.commit()


def measure(function, runs: int = 3):
    statements = [0]

    def count(*_args):
        statements[0] += 1

    times, result = [], None
    for run in range(runs):
        if run == 0:
            sa.event.listen(db.engine, "before_cursor_execute", count)
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
        if run == 0:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        db.session.expire_all()
    return statistics.median(times), statements[0], result


def summary_view(stmt):
    """What ``web.fees.routes.fee_summary`` reads (the department's pipeline panel)."""
    counts = store.flag_counts(stmt)
    return (counts, store.stored_flags(stmt, limit=5), store.stored_totals(stmt),
            store.stored_totals(stmt, by="agency"))


def index_view(stmt):
    """What the ``/fees/`` page reads."""
    counts = store.flag_counts(stmt)
    return (counts, store.stored_flags(stmt, limit=500), store.stored_totals(stmt),
            store.stored_totals(stmt, by="agency"), store.stored_totals(stmt, by="province"),
            store.agency_names(stmt))


def one_write(rng):
    """Record one payment on a random dispatch (its stored rows recomputed), then undo."""
    from matching.operations.fees import record_charge

    def run():
        dispatch = db.session.get(Dispatch, 2**33 + rng.randrange(count_dispatches()))
        record_charge(None, dispatch, kind="brokerage", amount=5_000_000, currency="VND",
                      paid_on=TODAY - timedelta(days=3), payer="worker")
        db.session.rollback()
    return run


def count_dispatches() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Dispatch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--charges", type=int, default=6)
    args = parser.parse_args()
    print(f"{'dispatches':>10} {'charges':>8} {'rebuild s':>9} {'panel s':>8} {'q':>3} "
          f"{'/fees/ s':>8} {'q':>3} {'write s':>8} {'q':>3} {'flags':>6} {'live s':>7}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                              "TESTING": True})
            with app.app_context(), app.test_request_context():
                upgrade()
                build(size, args.charges)
                started = time.perf_counter()
                store.rebuild()
                db.session.commit()
                rebuild_s = time.perf_counter() - started
                province = sa.select(Dispatch).where(Dispatch.trainee_id.in_(
                    sa.select(Trainee.id).where(Trainee.province == "nghe-an")))
                panel_s, panel_q, _p = measure(lambda stmt=province: summary_view(stmt))
                index_s, index_q, found = measure(lambda stmt=province: index_view(stmt))
                write_s, write_q, _w = measure(one_write(random.Random(size)), runs=5)
                live_s, _q, live = measure(lambda stmt=province: fees.flags(stmt), runs=1)
                assert sum(found[0].values()) == len(live)
                print(f"{size:>10} {size * args.charges:>8} {rebuild_s:>9.2f} "
                      f"{panel_s:>8.3f} {panel_q:>3} {index_s:>8.3f} {index_q:>3} "
                      f"{write_s:>8.3f} {write_q:>3} {len(live):>6} {live_s:>7.2f}")
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
