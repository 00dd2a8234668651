"""Employers' decisions: once per click, the headcount rule, selection opens the dispatch."""

from datetime import date

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Decision, Dispatch, StatusEvent
from matching.operations.decisions import (
    DecisionError,
    HeadcountReached,
    NotACandidate,
    record_decision,
)
from matching.operations.dispatch import create_dispatch
from matching.ranking.pool import clear_memory_cache
from matching.references import candidate_ref
from matching.web.jobs.cards import candidate_code
from tests.conftest import PASSWORD, add_job_order


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()  # tests share one database URL: never reuse another test's pool
    yield
    clear_memory_cache()


@pytest.fixture
def make_job(make_org):
    def make(employer, **kw):
        values = dict(external_id=f"JO-DEC-{kw.pop('n', 1)}",
                      employer_id=employer.organisation_id, agency_id=make_org(kind="agency").id,
                      title="Care worker", field="nursing_care", headcount=2,
                      min_language_level="N4", min_language_rank=2, visa_track="SSW1")
        values.update(kw)
        return add_job_order(**values)

    return make


@pytest.fixture
def setting(make_user, make_trainee, make_job, login):
    employer = make_user(role="employer", locale="en")
    job = make_job(employer)
    trainees = [make_trainee(field="nursing_care", full_name=f"Lê Thị Hoa {i}")
                for i in range(3)]
    login(employer)
    return employer, job, trainees


def decide(client, job, trainee, decision, **extra):
    return client.post(f"/jobs/{job.id}/candidates/{candidate_ref(job.id, trainee.id)}/decision",
                       data={"decision": decision, **extra})


def decisions(job) -> list[tuple[int, str]]:
    return [tuple(row) for row in db.session.execute(
        sa.select(Decision.trainee_id, Decision.decision)
        .where(Decision.job_order_id == job.id).order_by(Decision.id))]


def text(response) -> str:
    return response.get_data(as_text=True)


def test_a_double_click_records_one_decision(client, setting):
    employer, job, (a, *_rest) = setting
    first = decide(client, job, a, "shortlisted", note="  Strong  HACCP  ")
    again = decide(client, job, a, "shortlisted")
    assert first.status_code == again.status_code == 302
    assert first.location.endswith(f"/jobs/{job.id}/candidates")
    assert decisions(job) == [(a.id, "shortlisted")]
    row = db.session.scalar(sa.select(Decision))
    assert row.note == "Strong HACCP" and row.decided_by_id == employer.id
    decide(client, job, a, "interviewed")
    assert decisions(job) == [(a.id, "shortlisted"), (a.id, "interviewed")]


def test_back_to_where_the_employer_clicked(client, setting):
    _, job, (a, *_rest) = setting
    profile = f"/jobs/{job.id}/candidates/{candidate_ref(job.id, a.id)}"
    assert decide(client, job, a, "interviewed", next=profile).location.endswith(profile)
    evil = decide(client, job, a, "rejected", next="https://evil.example/")
    assert evil.location.endswith(f"/jobs/{job.id}/candidates")


def test_an_unknown_decision_is_refused(client, setting):
    _, job, (a, *_rest) = setting
    response = decide(client, job, a, "hired")
    assert response.status_code == 302 and decisions(job) == []
    page = text(client.get(response.location))
    assert "Choose a decision from the list." in page


def test_selecting_opens_the_dispatch_and_leaves_every_pool(client, setting, make_user,
                                                            make_job):
    employer, job, (a, b, _c) = setting
    response = decide(client, job, a, "selected")
    page = text(client.get(response.location))
    assert f"Candidate {candidate_code(job.id, a.id)} is selected." in page
    assert "Selected: 1 / headcount 2" in page and "Lê Thị Hoa 0" in page
    assert candidate_code(job.id, a.id) not in page.split('id="candidates"')[1]

    dispatch = db.session.scalar(sa.select(Dispatch))
    assert (dispatch.job_order_id, dispatch.trainee_id, dispatch.agency_id, dispatch.stage) == (
        job.id, a.id, job.agency_id, "selected")
    [event] = db.session.scalars(sa.select(StatusEvent)).all()
    assert (event.dispatch_id, event.from_stage, event.to_stage, event.by_id,
            event.happened_on) == (dispatch.id, None, "selected", employer.id, date.today())
    db.session.refresh(a)
    assert a.status == "in_process"

    decide(client, job, a, "selected")  # a second click opens no second dispatch
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dispatch)) == 1

    # Another employer's job order no longer offers her.
    client.post("/auth/logout")
    other = make_user(role="employer")
    other_job = make_job(other, n=2)
    client.post("/auth/login", data={"email": other.email, "password": PASSWORD})
    other_page = text(client.get(f"/jobs/{other_job.id}/candidates"))
    assert candidate_code(other_job.id, b.id) in other_page
    assert candidate_code(other_job.id, a.id) not in other_page
    assert client.get(f"/jobs/{other_job.id}/candidates/{candidate_ref(other_job.id, a.id)}"
                      ).status_code == 404


def test_a_worker_selected_elsewhere_cannot_be_selected_again(client, setting, make_user,
                                                              make_job):
    employer, job, (a, *_rest) = setting
    decide(client, job, a, "shortlisted")
    other_job = make_job(make_user(role="employer"), n=2)
    create_dispatch(other_job, a, None)  # another employer selected her meanwhile
    refused = decide(client, job, a, "selected")
    assert "no longer available" in text(client.get(refused.location))
    decide(client, job, a, "interviewed")  # judging her is still allowed
    assert decisions(job) == [(a.id, "shortlisted"), (a.id, "interviewed")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dispatch)) == 1


def test_headcount_needs_a_confirmation_then_fills(client, setting):
    _, job, (a, b, c) = setting
    decide(client, job, a, "selected")
    filled = decide(client, job, b, "selected")
    db.session.refresh(job)
    assert job.status == "filled"
    assert "the job order is now marked as filled" in text(client.get(filled.location))

    asked = decide(client, job, c, "selected", note="Backup")
    assert asked.status_code == 200
    page = text(asked)
    assert ("This job order already has 2 selected for a headcount of 2. Select anyway?"
            in page)
    assert 'name="confirm" value="1"' in page and 'value="Backup"' in page
    assert decisions(job) == [(a.id, "selected"), (b.id, "selected")]

    confirmed = decide(client, job, c, "selected", note="Backup", confirm="1")
    assert confirmed.status_code == 302
    assert decisions(job)[-1] == (c.id, "selected")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dispatch)) == 3


def test_a_running_dispatch_blocks_unselecting(client, setting):
    _, job, (a, *_rest) = setting
    decide(client, job, a, "selected")
    refused = decide(client, job, a, "rejected")
    assert "The dispatch agency must withdraw it" in text(client.get(refused.location))
    assert decisions(job) == [(a.id, "selected")]

    dispatch = db.session.scalar(sa.select(Dispatch))
    dispatch.stage = "withdrawn"  # what the agency's withdrawal will do
    db.session.commit()
    decide(client, job, a, "rejected")
    assert decisions(job)[-1] == (a.id, "rejected")
    again = decide(client, job, a, "selected")
    assert "cannot be selected for it again" in text(client.get(again.location))
    assert decisions(job)[-1] == (a.id, "rejected")


def test_no_decisions_on_a_closed_job_order(client, setting):
    _, job, (a, *_rest) = setting
    job.status = "closed"
    db.session.commit()
    response = decide(client, job, a, "shortlisted")
    assert "Publish or reopen it first." in text(client.get(response.location))
    assert decisions(job) == []


def test_record_decision_checks_the_candidate(app, setting, make_trainee):
    employer, job, (a, *_rest) = setting
    elsewhere = make_trainee(status="deployed")
    with pytest.raises(NotACandidate):
        record_decision(job, elsewhere, "shortlisted", employer)
    with pytest.raises(DecisionError):
        record_decision(job, a, "maybe", employer)
    job.headcount = 1
    db.session.commit()
    record_decision(job, a, "selected", employer)
    with pytest.raises(HeadcountReached) as refused:
        record_decision(job, _rest[0], "selected", employer)
    assert (refused.value.selected, refused.value.headcount) == (1, 1)
    # A decided trainee stays a candidate of this job order after leaving the pool.
    assert record_decision(job, a, "selected", employer).decision == "selected"


def test_create_dispatch_is_idempotent(app, setting):
    employer, job, (a, *_rest) = setting
    first = create_dispatch(job, a, employer)
    assert create_dispatch(job, a, employer).id == first.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusEvent)) == 1


def test_decision_history(client, login, setting, make_user):
    employer, job, (a, b, _c) = setting
    decide(client, job, a, "shortlisted", note="Good Japanese")
    decide(client, job, b, "rejected")
    page = text(client.get(f"/jobs/{job.id}/decisions"))
    rows = page.split("<tbody>")[1]
    # Latest first; the shortlisted candidate by name, the rejected one by code only.
    assert rows.index(candidate_code(job.id, b.id)) < rows.index("Lê Thị Hoa 0")
    assert "Lê Thị Hoa 1" not in page and "Good Japanese" in page
    assert "Shortlisted" in page and "Rejected" in page

    client.post("/auth/logout")
    login(make_user(role="agency", org=job.agency))
    agency_page = text(client.get(f"/jobs/{job.id}/decisions"))
    assert candidate_code(job.id, a.id) in agency_page and "Lê Thị Hoa" not in agency_page


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def _token(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_decision_buttons_are_csrf_protected(csrf_on, client, make_user, make_trainee,
                                             make_job):
    employer = make_user(role="employer", locale="en")
    job = make_job(employer)
    a = make_trainee(field="nursing_care")
    token = _token(text(client.get("/auth/login")))
    client.post("/auth/login", data={"email": employer.email, "password": PASSWORD,
                                     "csrf_token": token})
    assert decide(client, job, a, "shortlisted").status_code == 400
    assert decisions(job) == []
    page = text(client.get(f"/jobs/{job.id}/candidates"))
    response = decide(client, job, a, "shortlisted", csrf_token=_token(page))
    assert response.status_code == 302 and decisions(job) == [(a.id, "shortlisted")]
