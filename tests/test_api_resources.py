"""Trainees and job orders through the API (issue 12): scope as on the site, If-Match on
changes (428 without, 412 stale), bulk upsert all-or-nothing with per-row errors, job-order
status moves (409 when not allowed)."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import JobOrder, Trainee
from matching.operations.tokens import create_token


@pytest.fixture
def as_user(client):
    def make(user):
        _row, token = create_token(user, "test")
        db.session.commit()
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

        def call(method, url, **kw):
            return client.open(url, method=method, headers=headers | kw.pop("headers", {}), **kw)

        return call

    return make


def _new_trainee(**kw):
    return {"external_id": "API-1", "full_name": "Trần Thị Bình", "date_of_birth": "2001-05-02",
            "field": "construction", "japanese_level": "N4", "skills": ["welding"]} | kw


def test_department_creates_reads_and_updates_with_if_match(as_user, make_user):
    api = as_user(make_user(role="department", province="nghe-an"))
    created = api("POST", "/api/v1/trainees", json=_new_trainee())
    assert created.status_code == 201, created.json
    body, tag = created.json, created.headers["ETag"]
    assert body["province"] == "nghe-an" and body["skills"] == ["welding"]
    assert created.headers["Location"].endswith(f"/api/v1/trainees/{body['id']}")
    url = f"/api/v1/trainees/{body['id']}"
    assert api("GET", url).headers["ETag"] == tag
    missing = api("PATCH", url, json={"school": "Cao đẳng"})
    assert missing.status_code == 428
    changed = api("PATCH", url, json={"school": "Cao đẳng"}, headers={"If-Match": tag})
    assert changed.status_code == 200 and changed.json["school"] == "Cao đẳng"
    assert changed.headers["ETag"] != tag
    stale = api("PATCH", url, json={"school": "Other"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert stale.json["current_etag"] == changed.headers["ETag"]
    assert stale.json["type"] == "/api/v1/problems/precondition-failed"
    db.session.expire_all()
    assert db.session.get(Trainee, body["id"]).school == "Cao đẳng"


def test_refusals_of_the_registry_are_422_naming_the_field(as_user, make_user, make_trainee):
    make_trainee(province="nghe-an", external_id="DUP-1")
    api = as_user(make_user(role="department", province="nghe-an"))
    duplicate = api("POST", "/api/v1/trainees", json=_new_trainee(external_id="DUP-1"))
    assert duplicate.status_code == 422
    assert duplicate.json["errors"][0]["field"] == "external_id"
    elsewhere = api("POST", "/api/v1/trainees", json=_new_trainee(province="thanh-hoa"))
    assert elsewhere.status_code == 422 and elsewhere.json["errors"][0]["field"] == "province"
    too_old = api("POST", "/api/v1/trainees", json=_new_trainee(date_of_birth="1901-01-01"))
    assert too_old.status_code == 422
    control = api("POST", "/api/v1/trainees", json=_new_trainee(full_name="A\u202eB"))
    assert control.status_code == 422 and control.json["errors"][0]["field"] == "full_name"


def test_the_list_filters_and_stays_in_scope(as_user, make_user, make_trainee):
    make_trainee(province="nghe-an", field="construction", full_name="Lê Văn Cường")
    make_trainee(province="nghe-an", field="nursing_care")
    make_trainee(province="thanh-hoa", field="construction")
    api = as_user(make_user(role="department", province="nghe-an"))
    assert len(api("GET", "/api/v1/trainees").json["items"]) == 2
    items = api("GET", "/api/v1/trainees?field=construction").json["items"]
    assert [t["full_name"] for t in items] == ["Lê Văn Cường"]
    assert len(api("GET", "/api/v1/trainees?q=cuong").json["items"]) == 1
    assert api("GET", "/api/v1/trainees?province=thanh-hoa").json["items"] == []


def _row(n, **kw):
    return {"external_id": f"B-{n}", "full_name": f"Nguyễn Văn {n}",
            "date_of_birth": "2000-01-01", "province": "nghe-an", "field": "construction",
            "japanese_level": "N5", "skills": ["welding", "scaffolding"],
            "training_hours": 120} | kw


def test_bulk_upsert_is_all_or_nothing_with_row_errors(as_user, make_user):
    api = as_user(make_user(role="department", province="nghe-an"))
    bad = api("POST", "/api/v1/trainees/bulk", json={"rows": [
        _row(1), _row(2, date_of_birth="not a date"), _row(3, province="thanh-hoa")]})
    assert bad.status_code == 422
    assert [(e["row"], e["field"]) for e in bad.json["errors"]] == [
        (1, "date_of_birth"), (2, "province")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Trainee)) == 0
    good = api("POST", "/api/v1/trainees/bulk", json={"rows": [_row(1), _row(2)]})
    assert good.status_code == 200 and (good.json["created"], good.json["updated"]) == (2, 0)
    again = api("POST", "/api/v1/trainees/bulk", json={"rows": [_row(1, training_hours=200)]})
    assert (again.json["created"], again.json["updated"]) == (0, 1)
    dry = api("POST", "/api/v1/trainees/bulk", json={"rows": [_row(9)], "dry_run": True})
    assert dry.json["created"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Trainee)) == 2
    header = api("POST", "/api/v1/trainees/bulk", json={"rows": [{"nonsense": "x"}]})
    assert header.status_code == 422 and "row" not in header.json["errors"][0]


def _new_job(**kw):
    return {"title": "Welder", "field": "construction", "headcount": 2, "visa_track": "SSW1",
            "required_skills": ["welding"],
            "start_date": (date.today() + timedelta(days=60)).isoformat()} | kw


def test_employer_posts_changes_and_moves_its_job_orders(as_user, make_user, make_org):
    agency = make_org(kind="agency")
    employer = make_user(role="employer")
    api = as_user(employer)
    created = api("POST", "/api/v1/job-orders", json=_new_job(agency_id=agency.id))
    assert created.status_code == 201, created.json
    job = created.json
    assert job["employer"]["id"] == employer.organisation_id and job["status"] == "open"
    url = f"/api/v1/job-orders/{job['id']}"
    assert api("PATCH", url, json={"headcount": 3}).status_code == 428
    changed = api("PATCH", url, json={"headcount": 3},
                  headers={"If-Match": created.headers["ETag"]})
    assert changed.status_code == 200 and changed.json["headcount"] == 3
    assert changed.json["title"] == "Welder"  # the fields not sent are kept
    assert api("PATCH", url, json={"headcount": 4}, headers={
        "If-Match": created.headers["ETag"]}).status_code == 412
    closed = api("POST", url + "/status", json={"status": "closed"})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    conflict = api("POST", url + "/status", json={"status": "filled"})
    assert conflict.status_code == 409
    assert conflict.json["type"] == "/api/v1/problems/conflict"
    # The agency it is assigned to reads it; another employer does not see it at all.
    assert as_user(make_user(role="agency", org=agency))("GET", url).status_code == 200
    assert as_user(make_user(role="employer"))("GET", url).status_code == 404


def test_admin_names_the_employer_and_employers_cannot(as_user, make_user, make_org):
    employer = make_org(kind="employer")
    admin = as_user(make_user(role="admin"))
    assert admin("POST", "/api/v1/job-orders", json=_new_job()).status_code == 422
    created = admin("POST", "/api/v1/job-orders", json=_new_job(employer_id=employer.id))
    assert created.status_code == 201 and created.json["employer"]["id"] == employer.id
    own = make_user(role="employer")
    mine = as_user(own)("POST", "/api/v1/job-orders", json=_new_job(employer_id=employer.id))
    assert mine.json["employer"]["id"] == own.organisation_id
    jobs = db.session.scalars(sa.select(JobOrder.employer_id)).all()
    assert sorted(jobs) == sorted([employer.id, own.organisation_id])


def test_the_model_endpoint_says_which_model_ranks(as_user, make_user):
    body = as_user(make_user(role="admin"))("GET", "/api/v1/model").json
    assert body["version"] is None and body["kind"] and "metrics" in body


@pytest.mark.parametrize("attempt", range(2))
def test_two_concurrent_changes_from_one_etag_one_wins(app, make_user, make_trainee, attempt):
    """Real concurrency: two clients in two threads (each request its own session and
    connection) change the same trainee with the same If-Match; the row lock makes exactly
    one of them win and the other 412, never a silent overwrite."""
    import threading

    trainee = make_trainee(province="nghe-an")
    tag = f'"{trainee.registry_version}"'
    tokens = [create_token(make_user(role="department", province="nghe-an"), "t")[1]
              for _ in range(2)]
    db.session.commit()
    trainee_id = trainee.id
    db.session.close()  # the test's own session holds nothing while the threads run
    barrier = threading.Barrier(2, timeout=30)
    statuses: list = [None, None]

    def change(index):
        client = app.test_client()
        barrier.wait()
        response = client.patch(f"/api/v1/trainees/{trainee_id}",
                                json={"school": f"School {index}"},
                                headers={"Authorization": f"Bearer {tokens[index]}",
                                         "If-Match": tag})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=change, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 412], statuses
    winner = statuses.index(200)
    assert db.session.get(Trainee, trainee_id).school == f"School {winner}"
