"""`flask demo seed`: idempotent demo organisations, users, trainees, job orders,
decisions and the dispatch pipeline of the selected workers (issue item 9, "Job orders and
the learning ranking engine", and the dispatch pipeline)."""

import re
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import (
    DECISION_GRADES,
    ROLES,
    STAGES,
    VISA_TRACKS,
    Decision,
    Dispatch,
    Document,
    JobOrder,
    Organisation,
    Skill,
    StatusEvent,
    Trainee,
    User,
)
from matching.models.jobs import latest_decisions_subquery
from matching.operations.decisions import record_decision
from matching.operations.demo import (
    DEMO_JOB_ORDERS,
    DEMO_PASSWORD,
    DEMO_SEED,
    FRESH_JOB_ORDERS,
    ORGANISATIONS,
    demo_decision_rows,
    demo_trainee_rows,
)
from matching.operations.demo_pipeline import seed_pipeline
from matching.operations.dispatch import dispatch_for
from matching.operations.jobs import set_job_status
from matching.ranking.pool import clear_memory_cache
from matching.vocab import FIELDS, PROVINCES, SKILL_CATALOGUE

N = 60


def _seed(runner, *args):
    result = runner.invoke(args=["demo", "seed", *args])
    assert result.exit_code == 0, result.output
    return result


def _counts() -> dict[str, int]:
    def count(model):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    return {m.__name__: count(m) for m in (Organisation, User, Trainee, Skill, JobOrder,
                                           Decision, Dispatch, StatusEvent, Document)}


def _snapshot():
    """Everything a re-run could change in a trainee (except the update timestamp), a job
    order, a decision or a dispatch."""
    rows = db.session.scalars(sa.select(Trainee).order_by(Trainee.province,
                                                          Trainee.external_id)).all()
    trainees = [(t.province, t.external_id, t.full_name, t.date_of_birth, t.field, t.school,
                 t.japanese_level, t.training_hours, t.experience_years, t.available_from,
                 tuple(t.skill_slugs), t.status) for t in rows]
    jobs = db.session.execute(sa.select(
        JobOrder.external_id, JobOrder.employer_id, JobOrder.agency_id, JobOrder.title,
        JobOrder.field, JobOrder.required_skills, JobOrder.preferred_skills,
        JobOrder.min_language_level, JobOrder.headcount, JobOrder.prefecture,
        JobOrder.monthly_salary_jpy, JobOrder.start_date, JobOrder.visa_track,
        JobOrder.status).order_by(JobOrder.external_id)).all()
    decisions = db.session.execute(sa.select(
        JobOrder.external_id, Trainee.external_id, Decision.decision, Decision.decided_at)
        .join(Decision.job_order).join(Decision.trainee)
        .order_by(Decision.id)).all()
    dispatches = db.session.execute(sa.select(
        Dispatch.id, Dispatch.job_order_id, Dispatch.trainee_id, Dispatch.agency_id,
        Dispatch.stage, Dispatch.planned_departure, Dispatch.version).order_by(Dispatch.id)).all()
    return trainees, jobs, decisions, dispatches


def test_seed_twice_changes_nothing(runner):
    first = _seed(runner, "--trainees", str(N))
    counts, snapshot = _counts(), _snapshot()
    assert counts["Trainee"] == N
    assert counts["Organisation"] == len(ORGANISATIONS)
    assert counts["JobOrder"] == len(DEMO_JOB_ORDERS) and counts["Decision"] > 0
    # The selected workers are on their way: dispatches, moves and their documents.
    assert 0 < counts["Dispatch"] < counts["StatusEvent"] and counts["Document"] > 0
    assert f"trainees: {N} created, 0 updated" in first.output
    assert (f"dispatches: {counts['Dispatch']} created; "
            f"stage moves: {counts['StatusEvent'] - counts['Dispatch']}") in first.output

    second = _seed(runner, "--trainees", str(N))
    db.session.expire_all()
    assert _counts() == counts
    assert _snapshot() == snapshot
    assert "organisations created: 0, users created: 0" in second.output
    assert f"trainees: 0 created, {N} updated" in second.output
    assert "dispatches: 0 created; stage moves: 0" in second.output


def test_seed_covers_every_role_and_kind(runner):
    _seed(runner, "--trainees", "10")
    roles = set(db.session.scalars(sa.select(User.role)))
    assert roles == set(ROLES)
    kinds = dict(db.session.execute(
        sa.select(Organisation.kind, sa.func.count()).group_by(Organisation.kind)).all())
    assert kinds["department"] >= 4 and kinds["school"] >= 3
    assert kinds["employer"] == 3 and kinds["agency"] == 2 and kinds["platform"] == 1
    for org in db.session.scalars(sa.select(Organisation)):
        if org.kind in ("department", "school"):
            assert org.province in PROVINCES and org.country == "VN"
        if org.kind == "employer":
            assert org.country == "JP"
    # Every department, employer and agency has its account, e-mails are obvious.
    for user in db.session.scalars(sa.select(User)):
        assert user.email.endswith("@demo.example")
        assert user.organisation.kind != "school"


def test_output_lists_every_account_and_the_password(runner):
    result = _seed(runner, "--trainees", "0")
    accounts = [demo.account for demo in ORGANISATIONS if demo.account]
    for email, role, _name, _locale in accounts:
        assert re.search(rf"{re.escape(email)}\s+{role}\b", result.output)
    assert "admin@demo.example" in result.output and "sakura@demo.example" in result.output
    assert DEMO_PASSWORD in result.output
    assert _counts()["Trainee"] == 0


def test_every_demo_user_can_log_in(runner, app):
    _seed(runner, "--trainees", "0")
    emails = db.session.scalars(sa.select(User.email)).all()
    assert len(emails) >= 11
    for email in emails:
        client = app.test_client()
        response = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert client.get("/").status_code == 200


def test_trainees_are_realistic(runner):
    _seed(runner, "--trainees", "120")
    trainees = db.session.scalars(sa.select(Trainee)).all()
    assert len({t.province for t in trainees}) >= 4
    departments = set(db.session.scalars(
        sa.select(Organisation.province).where(Organisation.kind == "department")))
    assert {t.province for t in trainees} <= departments
    today = date.today()
    for t in trainees:
        age = (today - t.date_of_birth).days / 365.25
        assert 18 <= age <= 36, (t.full_name, t.date_of_birth)
        assert t.field in FIELDS
        assert t.skill_slugs and set(t.skill_slugs) <= set(SKILL_CATALOGUE[t.field])
        assert len(t.full_name.split()) == 3
        assert re.fullmatch(r"[A-Z]{2}-2026-\d{4}", t.external_id)
        assert t.consent
    # Only the selected workers have left the pool.
    dispatched = set(db.session.scalars(sa.select(Dispatch.trainee_id)))
    assert all(t.status == "available" for t in trainees if t.id not in dispatched)
    family = {t.full_name.split()[0] for t in trainees}
    assert "Nguyễn" in family and len(family) >= 8
    fields = [t.field for t in trainees]
    common = {"construction", "manufacturing", "nursing_care", "agriculture",
              "food_manufacturing"}
    assert sum(f in common for f in fields) > 0.75 * len(fields)
    levels = {t.japanese_level for t in trainees}
    assert {"none", "N5", "N4"} <= levels and levels <= {"none", "N5", "N4", "N3", "JFT-A2"}
    assert any(t.name_kana for t in trainees)
    assert any(t.prefecture_codes for t in trainees)
    assert all(t.available_from and t.available_from > today.replace(day=1) for t in trainees)
    schools = set(db.session.scalars(
        sa.select(Organisation.name).where(Organisation.kind == "school")))
    assert {t.school for t in trainees if t.school} <= schools


def test_trainee_rows_do_not_depend_on_how_many_are_asked_for():
    few, more = demo_trainee_rows(20), demo_trainee_rows(50)
    assert more[:20] == few
    assert len({row["external_id"] for row in more}) == 50


def test_more_trainees_later_adds_only_the_new_ones(runner):
    _seed(runner, "--trainees", "30")
    result = _seed(runner, "--trainees", "45")
    assert "trainees: 15 created, 30 updated" in result.output
    assert _counts()["Trainee"] == 45


def test_existing_demo_accounts_are_left_alone(runner, app):
    _seed(runner, "--trainees", "0")
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@demo.example"))
    admin.set_password("changed by the admin")
    db.session.commit()
    _seed(runner, "--trainees", "0")
    db.session.refresh(admin)
    assert admin.check_password("changed by the admin")


@pytest.fixture
def seeded(runner):
    """The demo as `make run` seeds it (300 trainees)."""
    _seed(runner)
    clear_memory_cache()
    yield
    clear_memory_cache()


def test_job_orders_are_realistic(seeded):
    orders = db.session.scalars(sa.select(JobOrder).order_by(JobOrder.external_id)).all()
    assert len(orders) == len(DEMO_JOB_ORDERS) == 10
    employers = {o.employer.code for o in orders}
    assert employers == {d.code for d in ORGANISATIONS if d.kind == "employer"}
    trainee_fields = set(db.session.scalars(sa.select(Trainee.field)))
    for order in orders:
        assert order.field in trainee_fields
        skills = order.required_skill_list + order.preferred_skill_list
        assert order.required_skill_list and set(skills) <= set(SKILL_CATALOGUE[order.field])
        assert order.min_language_level in {"N4", "N5", "JFT-A2"}
        assert 180_000 <= order.monthly_salary_jpy <= 260_000
        assert order.start_date.year == 2027 and order.visa_track in VISA_TRACKS
        assert order.prefecture and order.headcount >= 1 and order.status in ("open", "filled")
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", order.title)  # Japanese titles
    # Every job order names the agency that dispatches its workers; both agencies work.
    assert all(o.agency is not None and o.agency.kind == "agency" for o in orders)
    assert len({o.agency_id for o in orders}) == 2
    assert {o.min_language_level for o in orders} == {"N4", "N5", "JFT-A2"}


def test_decisions_label_most_job_orders(seeded):
    rows = db.session.execute(sa.select(JobOrder.external_id, JobOrder.field, Trainee.field,
                                        Decision.decision, Decision.decided_at)
                              .join(Decision.job_order).join(Decision.trainee)).all()
    assert 200 <= len(rows) <= 600
    assert all(job_field == trainee_field for _, job_field, trainee_field, _, _ in rows)
    assert all(at < datetime.now() for *_, at in rows)
    assert {decision for *_, decision, _ in rows} == set(DECISION_GRADES)
    decided = {job for job, *_ in rows}
    assert decided == {d["external_id"] for d in DEMO_JOB_ORDERS} - set(FRESH_JOB_ORDERS)
    assert 2 <= len(FRESH_JOB_ORDERS) <= 3
    # The latest decision of every pair: most are rejections, a few selections per job.
    latest = Counter(d for _, _, d in {(j, t): (j, t, d) for j, t, d in db.session.execute(
        sa.select(JobOrder.external_id, Decision.trainee_id, Decision.decision)
        .join(Decision.job_order).order_by(Decision.decided_at, Decision.id))}.values())
    assert latest["rejected"] > latest["shortlisted"] > latest["selected"] > 0


def test_decision_rows_depend_only_on_the_pair():
    few, more = demo_trainee_rows(40), demo_trainee_rows(120)
    decided_few = demo_decision_rows(few)
    assert decided_few and decided_few == [
        row for row in demo_decision_rows(more)
        if row["trainee_external_id"] in {t["external_id"] for t in few}]


def test_model_train_on_the_seeded_demo(seeded, runner):
    result = runner.invoke(args=["model", "train"])
    assert result.exit_code == 0, result.output
    assert "stored version 1" in result.output
    ranked = runner.invoke(args=["rank", *FRESH_JOB_ORDERS, "--top", "5"])
    assert ranked.exit_code == 0, ranked.output
    assert ranked.output.startswith("ranked by: version 1")


# -- the dispatch pipeline of the selected workers ---------------------------------------------

#: Groups of stages the demo board must show, each at least once.
STAGE_GROUPS = {"early": ("selected", "contracted", "training"),
                "coe": ("coe_applied", "coe_issued"),
                "visa": ("visa_applied", "visa_issued"),
                "abroad": ("departed", "deployed")}
#: The document each step needs (the pipeline's rules), by the stage that needs it.
NEEDS = {"coe_issued": "coe", "visa_applied": "passport", "visa_issued": "visa",
         "departed": "flight"}


def _selected_pairs() -> set[tuple[int, int]]:
    latest = latest_decisions_subquery()
    return set(db.session.execute(sa.select(latest.c.job_order_id, latest.c.trainee_id)
                                  .where(latest.c.decision == "selected")).all())


def test_no_trainee_is_selected_twice_nor_beyond_the_headcount():
    final = {}
    for row in demo_decision_rows(demo_trainee_rows(300)):  # each pair's steps in order
        final[(row["job_order_external_id"], row["trainee_external_id"])] = row["decision"]
    selected = [pair for pair, decision in final.items() if decision == "selected"]
    assert selected and max(Counter(t for _, t in selected).values()) == 1
    per_job = Counter(job for job, _ in selected)
    headcount = {j["external_id"]: int(j["headcount"]) for j in DEMO_JOB_ORDERS}
    assert all(n <= headcount[job] for job, n in per_job.items())
    assert any(n == headcount[job] for job, n in per_job.items())


def test_every_selected_worker_has_one_dispatch_with_its_agency(seeded):
    pairs = _selected_pairs()
    dispatches = db.session.scalars(sa.select(Dispatch)).all()
    assert len(pairs) >= 15
    assert sorted((d.job_order_id, d.trainee_id) for d in dispatches) == sorted(pairs)
    assert len({d.trainee_id for d in dispatches}) == len(dispatches)  # one employer each
    for d in dispatches:
        assert d.agency_id is not None and d.agency_id == d.job_order.agency_id
        expected = {"withdrawn": "available", "deployed": "deployed"}.get(d.stage, "in_process")
        assert d.trainee.status == expected, (d.stage, d.trainee.status)
    # Out of every employer's pool, except the one worker who withdrew.
    available = set(db.session.scalars(
        sa.select(Trainee.id).where(Trainee.status == "available")))
    withdrawn = {d.trainee_id for d in dispatches if d.stage == "withdrawn"}
    assert len(withdrawn) == 1 and {t for _, t in pairs} & available == withdrawn


def test_job_orders_reaching_their_headcount_are_filled(seeded):
    selected = Counter(job for job, _ in _selected_pairs())
    orders = db.session.scalars(sa.select(JobOrder)).all()
    for order in orders:
        assert (order.status == "filled") == (selected[order.id] >= order.headcount), \
            order.external_id
    assert 1 <= sum(o.status == "filled" for o in orders) < len(orders)


def test_a_job_order_reopened_by_its_employer_stays_open(seeded, runner):
    job = db.session.scalars(sa.select(JobOrder).where(JobOrder.status == "filled")).first()
    set_job_status(job, "open", db.session.scalar(
        sa.select(User).where(User.organisation_id == job.employer_id)))
    _seed(runner)
    db.session.refresh(job)
    assert job.status == "open"


def test_dispatches_are_spread_along_the_pipeline(seeded):
    stages = Counter(db.session.scalars(sa.select(Dispatch.stage)))
    for group, members in STAGE_GROUPS.items():
        assert sum(stages[s] for s in members) >= 1, group
    assert stages["withdrawn"] == 1
    assert stages["selected"] < sum(stages.values()) / 3  # most have moved on


def test_each_history_is_a_dated_chain_moved_by_the_agency(seeded):
    today = date.today()
    agency_users = dict(db.session.execute(
        sa.select(User.organisation_id, User.id).where(User.role == "agency")).all())
    employer_users = dict(db.session.execute(
        sa.select(User.organisation_id, User.id).where(User.role == "employer")).all())
    planned_abroad = []
    for d in db.session.scalars(sa.select(Dispatch)):
        events = d.events
        assert (events[0].from_stage, events[0].to_stage) == (None, "selected")
        assert events[0].by_id == employer_users[d.job_order.employer_id]
        assert [e.from_stage for e in events[1:]] == [e.to_stage for e in events[:-1]]
        # Forward one step at a time, or out: the real move rules were applied.
        assert all(e.to_stage == "withdrawn"
                   or STAGES.index(e.to_stage) == STAGES.index(e.from_stage) + 1
                   for e in events[1:])
        assert events[-1].to_stage == d.stage
        days = [e.happened_on for e in events]
        assert days == sorted(days) and date(2026, 1, 1) <= days[0] and days[-1] < today
        assert all(e.by_id == agency_users[d.agency_id] for e in events[1:])
        reached = {e.to_stage for e in events}
        kinds = {doc.kind for doc in db.session.scalars(sa.select(Document).where(sa.or_(
            Document.dispatch_id == d.id, Document.trainee_id == d.trainee_id)))}
        assert {kind for stage, kind in NEEDS.items() if stage in reached} <= kinds
        if d.planned_departure is not None and d.stage not in ("departed", "deployed"):
            planned_abroad.append(d.planned_departure)
    assert len(planned_abroad) >= 3 and all(p.year == 2027 for p in planned_abroad)


def test_documents_have_numbers_and_dates(seeded):
    documents = db.session.scalars(sa.select(Document)).all()
    assert {"contract", "health_check", "passport", "coe", "visa", "flight"} <= {
        d.kind for d in documents}
    for doc in documents:
        assert doc.issued_on and doc.issued_on <= date.today(), doc.kind
        if doc.kind in ("passport", "coe", "visa", "flight"):
            assert doc.number, doc.kind
    assert all(re.fullmatch(r"C\d{7}", d.number) for d in documents if d.kind == "passport")


def test_agency_users_see_their_dispatches_on_the_board(seeded, app):
    agencies = db.session.scalars(sa.select(User).where(User.role == "agency")).all()
    assert len(agencies) == 2
    expiring_badges = 0
    for user in agencies:
        client = app.test_client()
        response = client.post("/auth/login",
                               data={"email": user.email, "password": DEMO_PASSWORD})
        assert response.status_code == 302
        page = client.get("/dispatch/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        shown = set(map(int, re.findall(r'id="dispatch-(\d+)"', html)))
        own = db.session.scalars(sa.select(Dispatch).where(
            Dispatch.agency_id == user.organisation_id)).all()
        assert shown and shown == {d.id for d in own if d.is_open}
        expiring_badges += html.count("badge-expiring")
    assert expiring_badges >= 2


def test_documents_expiring_within_30_days_are_reported(seeded, runner):
    result = runner.invoke(args=["documents", "expiring", "--days", "30"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[1:] if line.strip()]
    assert {row[2] for row in rows} >= {"coe", "passport"}
    assert all(0 <= int(row[5]) <= 30 for row in rows)



def test_a_selection_made_on_the_site_is_left_to_its_agency(runner):
    _seed(runner, "--trainees", str(N))
    job = db.session.scalar(sa.select(JobOrder).where(JobOrder.external_id == "SKR-2027-04"))
    employer = db.session.scalar(sa.select(User).where(User.email == "sakura@demo.example"))
    trainee = db.session.scalars(sa.select(Trainee).where(
        Trainee.field == job.field, Trainee.status == "available").order_by(Trainee.id)).first()
    record_decision(job, trainee, "selected", employer)
    events = _counts()["StatusEvent"]
    # Months later, the demo agencies would have moved a demo dispatch selected that day.
    accounts = {demo.account[0]: org_id for demo in ORGANISATIONS if demo.account
                for org_id in db.session.scalars(sa.select(Organisation.id).where(
                    Organisation.code == demo.code))}
    report = seed_pipeline([j["external_id"] for j in DEMO_JOB_ORDERS], accounts, DEMO_SEED,
                           today=date.today() + timedelta(days=120))
    assert (report.dispatches_created, report.moves) == (0, 0)
    assert dispatch_for(job, trainee).stage == "selected"
    assert _counts()["StatusEvent"] == events


def test_the_demo_ledgers_show_each_problem_and_the_worker_sees_their_own(seeded, runner,
                                                                          app):
    """A department opening the demo sees the fee ledger working: lawful costs on every
    contracted worker, one of each problem the checks exist for, and a worker who can log
    in, see what they paid and what was flagged, and follow their complaint."""
    import json

    from matching.models import Charge, Grievance
    from matching.operations.demo_fees import PROBLEMS, WORKER_EMAIL

    charges = db.session.scalars(sa.select(Charge)).all()
    kinds = Counter(c.kind for c in charges)
    assert kinds["service_fee"] >= 10 and kinds["training"] == kinds["service_fee"]
    assert all(c.payer == "worker" and c.receipt_no for c in charges)
    report = runner.invoke(args=["fees", "check", "--format", "json"])
    assert report.exit_code == 0, report.output
    rules = Counter(flag["rule"] for flag in json.loads(report.output))
    assert len(PROBLEMS) == 4
    for rule in ("brokerage_charged", "service_fee_over_cap", "deposit_charged",
                 "service_fee_before_contract"):
        assert rules[rule] == 1, rules

    worker = db.session.scalar(sa.select(User).where(User.email == WORKER_EMAIL))
    assert worker.role == "worker" and worker.trainee_id is not None
    grievance = db.session.scalar(sa.select(Grievance))
    assert grievance.trainee_id == worker.trainee_id and grievance.category == "fees"
    client = app.test_client()
    response = client.post("/auth/login", data={"email": WORKER_EMAIL,
                                                "password": DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/me/", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert "30.000.000" in page  # the brokerage fee they paid, as a Vietnamese reads it
    assert "môi giới" in page  # and its flag
    assert client.get(f"/me/grievances/{grievance.id}").status_code == 200

    again = _seed(runner)
    assert "fee ledgers: 0 payments recorded on 0 dispatches" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Charge)) == len(charges)
