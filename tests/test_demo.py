"""`flask demo seed`: idempotent demo organisations, users, trainees, job orders and
decisions (issue item 9, and "Job orders and the learning ranking engine")."""

import re
from collections import Counter
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import (
    DECISION_GRADES,
    ROLES,
    VISA_TRACKS,
    Decision,
    Dispatch,
    JobOrder,
    Organisation,
    Skill,
    Trainee,
    User,
)
from matching.operations.demo import (
    DEMO_JOB_ORDERS,
    DEMO_PASSWORD,
    FRESH_JOB_ORDERS,
    ORGANISATIONS,
    demo_decision_rows,
    demo_trainee_rows,
)
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

    return {m.__name__: count(m)
            for m in (Organisation, User, Trainee, Skill, JobOrder, Decision)}


def _snapshot():
    """Everything a re-run could change in a trainee, except the update timestamp."""
    rows = db.session.scalars(sa.select(Trainee).order_by(Trainee.province,
                                                          Trainee.external_id)).all()
    trainees = [(t.province, t.external_id, t.full_name, t.date_of_birth, t.field, t.school,
                 t.japanese_level, t.training_hours, t.experience_years, t.available_from,
                 tuple(t.skill_slugs)) for t in rows]
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
    return trainees, jobs, decisions


def test_seed_twice_changes_nothing(runner):
    first = _seed(runner, "--trainees", str(N))
    counts, snapshot = _counts(), _snapshot()
    assert counts["Trainee"] == N
    assert counts["Organisation"] == len(ORGANISATIONS)
    assert counts["JobOrder"] == len(DEMO_JOB_ORDERS) and counts["Decision"] > 0
    assert f"trainees: {N} created, 0 updated" in first.output

    second = _seed(runner, "--trainees", str(N))
    db.session.expire_all()
    assert _counts() == counts
    assert _snapshot() == snapshot
    assert "organisations created: 0, users created: 0" in second.output
    assert f"trainees: 0 created, {N} updated" in second.output


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
        assert t.status == "available" and t.consent
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
        assert order.prefecture and order.headcount >= 1 and order.status == "open"
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", order.title)  # Japanese titles
    agencies = {o.agency.kind for o in orders if o.agency is not None}
    assert agencies == {"agency"}
    assert 0 < sum(o.agency is not None for o in orders) < len(orders)
    assert {o.min_language_level for o in orders} == {"N4", "N5", "JFT-A2"}


def test_decisions_label_most_job_orders_and_change_no_trainee(seeded):
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
    # Decisions are history only: no dispatch, every trainee still available.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dispatch)) == 0
    assert set(db.session.scalars(sa.select(Trainee.status))) == {"available"}


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
