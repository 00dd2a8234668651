"""The fee flags and totals stored per dispatch (``matching.fees.store``): after any sequence
of writes through the operations layer they are what the live checks say, on any day (the
flags that wait hold from their ``active_from``); the panels read them, never the ledgers,
in a number of queries that does not grow with the dispatches."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.fees import store, worker_paid_totals
from matching.fees.checks import load_ledgers, run_checks
from matching.models import Charge, Dispatch, FeeFlag, JobOrder
from matching.models.fees import ALL_CHARGE_KINDS, RETURN_KINDS
from matching.operations import dispatch as dispatch_ops
from matching.operations import fees as fee_ops
from matching.operations import jobs as job_ops
from matching.operations import wages
from matching.operations.dispatch import targets
from matching.operations.errors import OperationError
from tests.workers import make_worker

TODAY = date.today()
FIELDS_TWO = ("construction", "nursing_care")
#: The days the stored rows are compared on: today, past the 180-day wait, a year later.
DAYS = (TODAY, TODAY + timedelta(days=181), TODAY + timedelta(days=400))


def _live(stmt, today):
    return [_shape(f.facts.dispatch_id, f.rule.id, f.amount_jpy, f.limit_jpy, f.details,
                   [r.as_json() for r in f.rates], [c.id for c in f.charges])
            for f in run_checks(load_ledgers(stmt), today)]


def _stored(stmt, today):
    return [_shape(f.facts.dispatch_id, f.rule.id, f.amount_jpy, f.limit_jpy, f.details,
                   [r.as_json() for r in f.rates], f.charge_ids)
            for f in store.stored_flags(stmt, today=today)]


def _shape(dispatch_id, rule, amount, limit, details, rates, charges):
    details = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in details.items()}
    return (dispatch_id, rule, amount, limit, details, rates, charges)


def assert_stored_is_live(stmt=None):
    stmt = stmt if stmt is not None else sa.select(Dispatch)
    for day in DAYS:
        assert _stored(stmt, day) == _live(stmt, day), day
        live = {rule: n for rule, n in _count(_live(stmt, day)).items()}
        assert store.flag_counts(stmt, today=day) == live
    stored = store.stored_totals(stmt, by="dispatch")
    live = {k: t for k, t in worker_paid_totals(stmt, by="dispatch").items()
            if k in stored or t.workers or t.returned_jpy}
    assert stored == live
    assert store.stored_totals(stmt) == worker_paid_totals(stmt)
    assert store.stored_totals(stmt, by="province") == {
        k: t for k, t in worker_paid_totals(stmt, by="province").items()
        if k in store.stored_totals(stmt, by="province")}


def _count(flags):
    out = {}
    for flag in flags:
        out[flag[1]] = out.get(flag[1], 0) + 1
    return out


@pytest.fixture
def world(make_org, make_trainee, make_user, monkeypatch):
    """An agency, two employers, three job orders (TITP, SSW1, ESD), six trainees, a VND
    rate; moves need no documents here (their checks are tested elsewhere)."""
    monkeypatch.setattr(dispatch_ops, "document_problems", lambda *a, **k: [])
    agency = make_org(kind="agency")
    employers = [make_org(kind="employer"), make_org(kind="employer")]
    jobs = []
    for n, (track, employer) in enumerate((("TITP", employers[0]), ("SSW1", employers[0]),
                                           ("ESD", employers[1]))):
        job = JobOrder(external_id=f"JO-ST-{n}", employer_id=employer.id, agency_id=agency.id,
                       title="Welder", field="construction", visa_track=track,
                       monthly_salary_jpy=200_000, prefecture="aichi")
        db.session.add(job)
        jobs.append(job)
    db.session.commit()
    fee_ops.set_rate(None, currency="VND", valid_on=TODAY - timedelta(days=900),
                     rate=Decimal("0.006"))
    trainees = [make_trainee(province=("nghe-an", "ha-tinh")[n % 2]) for n in range(6)]
    db.session.commit()
    return {"agency": agency, "employers": employers, "jobs": jobs, "trainees": trainees,
            "admin": make_user(role="admin")}


def _random_write(rng, world, workers):  # noqa: C901 (one branch per kind of write)
    dispatches = list(db.session.scalars(sa.select(Dispatch).order_by(Dispatch.id)))
    open_ = [d for d in dispatches if d.is_open]
    choice = rng.choice(("open", "charge", "charge", "charge", "delete", "contract", "move",
                         "move", "move", "rate", "wage", "job"))
    if choice == "open" or not dispatches:
        free = [t for t in world["trainees"]
                if not any(d.trainee_id == t.id and d.is_open for d in dispatches)]
        if free:
            trainee = rng.choice(free)
            job = rng.choice(world["jobs"])
            if dispatch_ops.dispatch_for(job, trainee) is None:
                dispatch_ops.create_dispatch(job, trainee, None, today=TODAY - timedelta(
                    days=rng.choice((400, 250, 190, 170, 60, 5))))
        return
    dispatch = rng.choice(dispatches)
    if choice == "charge":
        kind = rng.choice(ALL_CHARGE_KINDS)
        payer = rng.choice(("agency", "employer")) if kind in RETURN_KINDS else \
            rng.choice(("worker", "worker", "worker", "agency"))
        fee_ops.record_charge(None, dispatch, kind=kind, payer=payer,
                              amount=rng.choice((10_000, 50_000, 250_000, 700_000, 30_000_000)),
                              currency=rng.choice(("JPY", "VND")),
                              paid_on=TODAY - timedelta(days=rng.randrange(0, 420)))
    elif choice == "delete":
        charge = db.session.scalar(sa.select(Charge).where(Charge.dispatch_id == dispatch.id)
                                   .order_by(Charge.id).limit(1))
        if charge is not None:
            fee_ops.delete_charge(None, charge)
    elif choice == "contract" and dispatch.stage != "selected":
        fee_ops.set_contract(
            None, dispatch, wage_jpy=rng.choice((None, 150_000, 200_000, 260_000)),
            months=rng.choice((None, 12, 18, 36, 48)), field=rng.choice((None, *FIELDS_TWO)),
            prefecture=rng.choice((None, "osaka", "aichi")),
            employer_id=rng.choice((None, *(e.id for e in world["employers"]))),
            track_stage=rng.choice((None, "titp_3_same_employer", "ssw_after_titp")),
            return_worker_fault=rng.choice((None, False, True)))
    elif choice == "move" and open_:
        dispatch = rng.choice(open_)
        to_stage = rng.choice(targets(dispatch.stage))
        last = dispatch_ops._last_on(dispatch) or TODAY
        on = min(TODAY, last + timedelta(days=rng.choice((0, 20, 100, 200))))
        dispatch_ops.move_dispatch(dispatch, to_stage, None, expected_version=dispatch.version,
                                   happened_on=on)
    elif choice == "rate":
        fee_ops.set_rate(None, currency="VND", valid_on=TODAY - timedelta(
            days=rng.randrange(0, 500)), rate=Decimal(rng.choice(("0.005", "0.0061", "0.007"))))
    elif choice == "wage":
        deployed = [d for d in dispatches if wages.deployed_on(d) is not None]
        if deployed:
            dispatch = rng.choice(deployed)
            worker = workers.get(dispatch.trainee_id)
            if worker is None:
                worker = workers[dispatch.trainee_id] = make_worker(dispatch.trainee)
            wages.report_wage(worker, dispatch, TODAY, rng.choice((120_000, 250_000)))
    elif choice == "job":
        job = rng.choice(world["jobs"])
        job_ops.update_job_order(job, {
            "title": job.title, "field": rng.choice(FIELDS_TWO), "headcount": 3,
            "min_language_level": "none", "visa_track": job.visa_track,
            "prefecture": rng.choice(("aichi", "osaka")),
            "monthly_salary_jpy": rng.choice((180_000, 200_000, 240_000)),
            "contract_months": rng.choice((None, 12, 36)), "agency_id": job.agency_id},
            world["admin"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stored_flags_and_totals_follow_every_write(world, seed):
    rng, workers = random.Random(seed), {}
    for step in range(70):
        try:
            _random_write(rng, world, workers)
        except OperationError:
            db.session.rollback()  # a refused write leaves nothing; the rows stay right
        db.session.commit()
        if step % 10 == 9:
            assert_stored_is_live()
    assert_stored_is_live()
    # Something was flagged, on each day compared, and some flag waits.
    assert all(_stored(sa.select(Dispatch), day) for day in DAYS)


def test_a_wait_is_flagged_from_its_181st_day_without_a_daily_recompute(world):
    trainee, job = world["trainees"][0], world["jobs"][0]
    dispatch = dispatch_ops.create_dispatch(job, trainee, None,
                                            today=TODAY - timedelta(days=170))
    db.session.commit()
    row = db.session.scalar(sa.select(FeeFlag).where(FeeFlag.dispatch_id == dispatch.id))
    assert (row.rule_id, row.active_from) == ("waiting_too_long",
                                              TODAY + timedelta(days=11))
    stmt = sa.select(Dispatch)
    assert store.stored_flags(stmt) == [] and store.flag_counts(stmt) == {}
    later = TODAY + timedelta(days=11)
    [flag] = store.stored_flags(stmt, today=later)
    assert flag.details["days"] == 181
    assert store.flag_counts(stmt, today=later) == {"waiting_too_long": 1}
    # Compensation recorded: the stored flag is gone with the write.
    fee_ops.record_charge(None, dispatch, kind="compensation", payer="agency", amount=1000,
                          currency="JPY", paid_on=TODAY)
    db.session.commit()
    assert store.stored_flags(stmt, today=later) == []


def test_a_refund_is_due_from_the_31st_day_after_an_early_return(world):
    trainee, job = world["trainees"][0], world["jobs"][0]
    start = TODAY - timedelta(days=400)
    dispatch = dispatch_ops.create_dispatch(job, trainee, None, today=start)
    fee_ops.record_charge(None, dispatch, kind="service_fee", payer="worker", amount=300_000,
                          currency="JPY", paid_on=start + timedelta(days=20))
    for n, stage in enumerate(("contracted", "training", "coe_applied", "coe_issued",
                               "visa_applied", "visa_issued", "departed", "deployed")):
        dispatch_ops.move_dispatch(dispatch, stage, None, expected_version=dispatch.version,
                                   happened_on=start + timedelta(days=10 + n))
    dispatch_ops.move_dispatch(dispatch, "early_return", None,
                               expected_version=dispatch.version,
                               happened_on=TODAY - timedelta(days=10))
    db.session.commit()
    stmt = sa.select(Dispatch)
    row = db.session.scalar(sa.select(FeeFlag).where(FeeFlag.rule_id == "refund_due"))
    assert row.active_from == TODAY + timedelta(days=21)
    assert "refund_due" not in store.flag_counts(stmt)
    assert store.flag_counts(stmt, today=TODAY + timedelta(days=21))["refund_due"] == 1
    assert_stored_is_live()
    # The refund paid in time: gone.
    fee_ops.record_charge(None, dispatch, kind="service_fee_refund", payer="agency",
                          amount=300_000, currency="JPY", paid_on=TODAY)
    db.session.commit()
    assert "refund_due" not in store.flag_counts(stmt, today=TODAY + timedelta(days=60))
    assert_stored_is_live()


def test_a_rate_change_recomputes_only_the_payments_it_converts(world):
    trainees, job = world["trainees"], world["jobs"][0]
    before = dispatch_ops.create_dispatch(job, trainees[0], None, today=TODAY)
    after = dispatch_ops.create_dispatch(world["jobs"][1], trainees[1], None, today=TODAY)
    for dispatch, days in ((before, 100), (after, 10)):
        fee_ops.record_charge(None, dispatch, kind="brokerage", payer="worker",
                              amount=1_000_000, currency="VND",
                              paid_on=TODAY - timedelta(days=days))
    db.session.commit()
    assert store.rate_dispatches("VND", TODAY - timedelta(days=50)) == [after.id]
    fee_ops.set_rate(None, currency="VND", valid_on=TODAY - timedelta(days=50),
                     rate=Decimal("0.01"))
    db.session.commit()
    amounts = {f.facts.dispatch_id: f.amount_jpy for f in store.stored_flags(sa.select(Dispatch))}
    assert amounts == {before.id: 6_000, after.id: 10_000}
    assert_stored_is_live()


def test_rebuild_recomputes_every_dispatch(world, runner):
    trainee, job = world["trainees"][0], world["jobs"][0]
    dispatch = dispatch_ops.create_dispatch(job, trainee, None, today=TODAY)
    fee_ops.record_charge(None, dispatch, kind="deposit", payer="worker", amount=5_000,
                          currency="JPY", paid_on=TODAY)
    db.session.commit()
    db.session.execute(sa.delete(FeeFlag))
    db.session.commit()
    assert store.stored_flags(sa.select(Dispatch)) == []
    result = runner.invoke(args=["fees", "rebuild", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "rebuilt for 1 dispatch" in result.output
    assert [f.rule_id for f in store.stored_flags(sa.select(Dispatch))] == ["deposit_charged"]


def test_the_imports_recompute_what_they_change(world):
    from matching.operations.imports.fees import import_fees
    from matching.operations.imports.job_orders import import_job_orders
    from matching.operations.imports.statuses import import_statuses

    trainee, job = world["trainees"][0], world["jobs"][0]
    dispatch = dispatch_ops.create_dispatch(job, trainee, None,
                                            today=TODAY - timedelta(days=30))
    db.session.commit()
    keys = {"trainee_external_id": trainee.external_id,
            "job_order_external_id": job.external_id}
    # A status import: the move to contracted prefills the contract at ¥200,000.
    assert import_statuses([dict(keys, stage="contracted")]).ok
    db.session.commit()
    assert db.session.get(Dispatch, dispatch.id).contract_wage_jpy == 200_000
    # A fee import: a brokerage paid by the worker.
    assert import_fees([dict(keys, kind="brokerage", amount="20000", currency="JPY",
                             paid_on=(TODAY - timedelta(days=2)).isoformat(), payer="worker",
                             payee="Broker", receipt_no="", note="")]).ok
    db.session.commit()

    def stored_rules():
        return {f.rule_id for f in store.stored_flags(sa.select(Dispatch))}

    assert stored_rules() == {"brokerage_charged"}
    # A job-order import advertises more than the contract: a substitution.
    employer = world["employers"][0]
    assert import_job_orders([{
        "external_id": job.external_id, "employer": employer.name, "title": "Welder",
        "field": "construction", "min_japanese_level": "N4", "headcount": "1",
        "visa_track": "TITP", "monthly_salary_jpy": "250000"}]).ok
    db.session.commit()
    assert stored_rules() == {"brokerage_charged", "contract_substitution"}
    assert_stored_is_live()


# -- the pages read the stored rows ------------------------------------------------------------


def _grow(world, n):
    """``n`` more dispatches, each with a brokerage payment (a flag) and a training cost."""
    made = []
    for _ in range(n):
        trainee = world["make_trainee"](province="nghe-an")
        job = JobOrder(external_id=f"JO-G-{trainee.id}", employer_id=world["employers"][0].id,
                       agency_id=world["agency"].id, title="Welder", field="construction",
                       visa_track="TITP", monthly_salary_jpy=200_000)
        db.session.add(job)
        db.session.flush()
        dispatch = dispatch_ops.create_dispatch(job, trainee, None, today=TODAY)
        for kind in ("brokerage", "training"):
            fee_ops.record_charge(None, dispatch, kind=kind, payer="worker", amount=40_000,
                                  currency="JPY", paid_on=TODAY)
        made.append(dispatch)
    db.session.commit()
    return made


@pytest.fixture
def pages(world, make_trainee, make_user):
    world["make_trainee"] = make_trainee
    users = {"department": make_user(role="department", province="nghe-an", locale="en"),
             "agency": make_user(role="agency", org=world["agency"], locale="en"),
             "admin": make_user(role="admin", locale="en")}
    return world, users


PAGES = {"department": ("/dispatch/province", "/fees/", "/regions/nghe-an"),
         "agency": ("/dispatch/", "/fees/"),
         "admin": ("/fees/", "/fees/?rule=brokerage_charged", "/regions/")}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_the_panels_read_stored_rows_in_a_fixed_number_of_queries(client, login, pages,
                                                                    count_queries, monkeypatch,
                                                                    role):
    world, users = pages
    _grow(world, 2)
    login(users[role])

    def forbidden(*_args, **_kwargs):
        raise AssertionError("a page checked the ledgers live")

    for module in ("matching.fees.checks", "matching.fees.store", "matching.fees"):
        monkeypatch.setattr(f"{module}.load_ledgers", forbidden)

    def counts():
        out = {}
        for url in PAGES[role]:
            with count_queries() as n:
                response = client.get(url)
            assert response.status_code == 200, url
            out[url] = n[0]
        return out, response.get_data(as_text=True)

    few, _html = counts()
    monkeypatch.undo()  # the writes recompute with the checks
    monkeypatch.setattr(dispatch_ops, "document_problems", lambda *a, **k: [])
    _grow(world, 6)
    for module in ("matching.fees.checks", "matching.fees.store", "matching.fees"):
        monkeypatch.setattr(f"{module}.load_ledgers", forbidden)
    many, html = counts()
    assert many == few
    assert "brokerage" in html.lower() or "Brokerage" in html


def test_the_fee_index_counts_every_flag_and_lists_the_first(client, login, pages, monkeypatch):
    world, users = pages
    _grow(world, 3)
    monkeypatch.setattr("matching.web.fees.routes.FLAGS_SHOWN", 2)
    login(users["admin"])
    html = client.get("/fees/?rule=brokerage_charged").get_data(as_text=True)
    assert html.count('data-rule="brokerage_charged"') == 2
    assert "The first 2 of 3 flags are shown" in html
    assert "Brokerage paid by the worker (3)" in html


def test_the_dispatch_page_and_the_workers_page_read_stored_rows(client, login, pages,
                                                                 monkeypatch):
    world, users = pages
    [dispatch] = _grow(world, 1)

    def forbidden(*_args, **_kwargs):
        raise AssertionError("a page checked the ledgers live")

    for module in ("matching.fees.checks", "matching.fees.store", "matching.fees"):
        monkeypatch.setattr(f"{module}.load_ledgers", forbidden)
    login(users["admin"])
    html = client.get(f"/dispatch/{dispatch.id}").get_data(as_text=True)
    assert 'data-rule="brokerage_charged"' in html
    assert "Paid by the worker: ¥80,000" in html
    client.post("/auth/logout")
    login(make_worker(dispatch.trainee))
    html = client.get("/me/").get_data(as_text=True)
    assert "fee-flag" in html
