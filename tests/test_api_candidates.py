"""The API's candidates and decisions (issue 12): the candidate page's ranked, blind list
by opaque reference, the profile once shortlisted, decisions with the page's rules."""

import json
from datetime import date

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Decision, Dispatch, Impression, JobOrder
from matching.ranking.pool import clear_memory_cache
from matching.ranking.service import rank_job
from matching.references import candidate_ref
from tests.api_support import bearer

NAME, EMAIL = "Trần Thị Bích Ngọc", "ngoc.tran@example.vn"


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()  # tests share one database URL: never reuse another test's pool
    yield
    clear_memory_cache()


@pytest.fixture
def review(make_user, make_org, make_trainee):
    """An employer's open job order (N4 at least, a hard minimum) and five candidates, one
    of them below the minimum."""
    agency = make_org(kind="agency")
    employer = make_user(role="employer")
    job = JobOrder(external_id="JO-API-1", employer_id=employer.organisation_id,
                   agency_id=agency.id, title="Food line worker", field="food_manufacturing",
                   min_language_level="N4", min_language_rank=2, language_is_hard=True,
                   headcount=1, visa_track="SSW1")
    db.session.add(job)
    db.session.commit()
    people = [make_trainee(full_name=NAME, email=EMAIL, field="food_manufacturing",
                           japanese_level="N3", training_hours=900, experience_years=3),
              make_trainee(field="food_manufacturing", japanese_level="N4", training_hours=500),
              make_trainee(field="food_manufacturing", japanese_level="N4"),
              make_trainee(field="construction", japanese_level="N4"),
              make_trainee(field="food_manufacturing", japanese_level="N5")]
    return employer, job, people


def url(job, *rest) -> str:
    return "/".join([f"/api/v1/job-orders/{job.id}/candidates", *rest])


def walk(client, start, headers) -> list[dict]:
    items, next_url = [], start
    while next_url:
        page = client.get(next_url, headers=headers)
        assert page.status_code == 200, page.json
        items += page.json["items"]
        cursor = page.json["next_cursor"]
        next_url = start + ("&" if "?" in start else "?") + f"cursor={cursor}" if cursor else None
    return items


def test_the_list_is_the_pages_ranking_by_reference_and_blind(client, review):
    employer, job, people = review
    headers = bearer(employer)
    first = client.get(url(job) + "?limit=2", headers=headers)
    assert first.status_code == 200
    body = first.json
    assert body["total"] == 4 and body["excluded"] == 1 and body["next_cursor"]
    items = walk(client, url(job) + "?limit=2", headers)
    expected = [candidate_ref(job.id, item["trainee_id"]) for item in rank_job(job, top=10)]
    assert [item["ref"] for item in items] == expected  # same order, every one once
    assert [item["rank"] for item in items] == [1, 2, 3, 4]
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    text = json.dumps(items, ensure_ascii=False)
    assert NAME not in text and EMAIL not in text
    assert not ({"id", "trainee_id", "external_id"} & set(items[0]))
    assert all(item["name"] is None and not item["revealed"] for item in items)
    best = items[0]
    assert best["explanation"] and {"feature", "label", "contribution", "value"} <= set(
        best["explanation"][0])
    assert best["language_ok"] and best["meets_requirements"]
    # Shown to the employer: recorded as impressions, as the page records them.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Impression)) == 4


def test_requirements_off_lists_everyone_and_says_who_meets_them(client, review):
    employer, job, people = review
    items = client.get(url(job) + "?requirements=false", headers=bearer(employer)).json["items"]
    assert len(items) == 5
    below = [item for item in items if not item["meets_requirements"]]
    assert [item["ref"] for item in below] == [candidate_ref(job.id, people[4].id)]


def test_who_reviews_candidates(client, review, make_user):
    employer, job, people = review
    agency_user = make_user(role="agency", org=job.agency)
    ref = candidate_ref(job.id, people[0].id)
    for user, status in ((make_user(role="admin"), 200), (agency_user, 404),
                         (make_user(role="employer"), 404), (make_user(role="department"), 403)):
        headers = bearer(user)
        assert client.get(url(job), headers=headers).status_code == status
        assert client.get(url(job, ref), headers=headers).status_code == status
    # A reference of another job order, a forged one, a trainee id: nobody.
    other = JobOrder(external_id="JO-API-2", employer_id=employer.organisation_id,
                     title="Other", field="food_manufacturing", visa_track="SSW1")
    db.session.add(other)
    db.session.commit()
    headers = bearer(employer)
    for wrong in (candidate_ref(other.id, people[0].id), "a" * 13, str(people[0].id)):
        response = client.get(url(job, wrong), headers=headers)
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"


def test_a_profile_only_after_shortlisting(client, review):
    employer, job, people = review
    headers = bearer(employer)
    ref = candidate_ref(job.id, people[0].id)
    detail = client.get(url(job, ref), headers=headers).json
    assert detail["profile"] is None and detail["decisions"] == []
    assert NAME not in json.dumps(detail, ensure_ascii=False)
    response = client.post(url(job, ref, "decisions"), json={"decision": "shortlisted",
                                                             "note": "Good  hygiene"},
                           headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["decision"] == "shortlisted" and response.json["note"] == "Good hygiene"
    assert response.headers["Location"].endswith(url(job, ref))
    detail = client.get(url(job, ref), headers=headers).json
    assert detail["revealed"] and detail["name"] == NAME
    assert detail["profile"]["email"] == EMAIL and detail["decision"] == "shortlisted"
    # Rejected after shortlisting: hidden again, and out of the default list.
    client.post(url(job, ref, "decisions"), json={"decision": "rejected"}, headers=headers)
    assert client.get(url(job, ref), headers=headers).json["profile"] is None
    listed = client.get(url(job), headers=headers).json
    assert ref not in [item["ref"] for item in listed["items"]]
    assert listed["rejected_hidden"] == 1
    shown = client.get(url(job) + "?rejected=true", headers=headers).json["items"]
    assert ref in [item["ref"] for item in shown]


def test_a_repeated_decision_writes_nothing(client, review):
    employer, job, people = review
    headers = bearer(employer)
    ref = candidate_ref(job.id, people[1].id)
    first = client.post(url(job, ref, "decisions"), json={"decision": "interviewed"},
                        headers=headers)
    again = client.post(url(job, ref, "decisions"), json={"decision": "interviewed"},
                        headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["decided_at"] == first.json["decided_at"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 1


def test_selection_opens_a_dispatch_and_the_headcount_asks_to_confirm(client, review):
    employer, job, people = review
    headers = bearer(employer)
    first, second = (candidate_ref(job.id, t.id) for t in people[:2])
    selected = client.post(url(job, first, "decisions"), json={"decision": "selected"},
                           headers=headers)
    assert selected.status_code == 201
    dispatch = db.session.get(Dispatch, selected.json["dispatch_id"])
    assert dispatch.trainee_id == people[0].id and selected.json["job_order_status"] == "filled"
    over = client.post(url(job, second, "decisions"), json={"decision": "selected"},
                       headers=headers)
    assert over.status_code == 409 and over.content_type == "application/problem+json"
    assert (over.json["selected"], over.json["headcount"]) == (1, 1)
    assert over.json["type"] == "/api/v1/problems/conflict"
    confirmed = client.post(url(job, second, "decisions"), headers=headers, json={
        "decision": "selected", "confirm_over_headcount": True})
    assert confirmed.status_code == 201 and confirmed.json["dispatch_id"]
    # The first worker's dispatch runs: the decision can no longer move away (409).
    dispatch.stage = "contracted"
    db.session.commit()
    back = client.post(url(job, first, "decisions"), json={"decision": "rejected"},
                       headers=headers)
    assert back.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 2


def test_a_selected_worker_is_no_candidate_of_another_job_order(client, review, make_user):
    employer, job, people = review
    other_employer = make_user(role="employer")
    other = JobOrder(external_id="JO-API-3", employer_id=other_employer.organisation_id,
                     title="Packer", field="food_manufacturing", visa_track="SSW1")
    db.session.add(other)
    db.session.commit()
    ref = candidate_ref(job.id, people[0].id)
    assert client.post(url(job, ref, "decisions"), json={"decision": "selected"},
                       headers=bearer(employer)).status_code == 201
    theirs = candidate_ref(other.id, people[0].id)
    response = client.post(url(other, theirs, "decisions"), json={"decision": "shortlisted"},
                           headers=bearer(other_employer))
    assert response.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({}, "decision"), ({"decision": "hired"}, "decision"),
    ({"decision": "rejected", "note": "x" * 1001}, "note"),
    ({"decision": "rejected", "extra": 1}, "extra")])
def test_invalid_decisions_are_422_naming_the_field(client, review, body, field):
    employer, job, people = review
    ref = candidate_ref(job.id, people[0].id)
    response = client.post(url(job, ref, "decisions"), json=body, headers=bearer(employer))
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json["errors"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0


def test_a_cursor_beyond_the_list_is_an_empty_last_page(client, review):
    from matching.api.pagination import encode_cursor

    employer, job, _people = review
    page = client.get(url(job) + f"?cursor={encode_cursor(10**12)}", headers=bearer(employer))
    assert page.status_code == 200 and page.json["items"] == []
    assert page.json["next_cursor"] is None
    assert client.get(url(job) + "?cursor=zz", headers=bearer(employer)).status_code == 422


def test_a_closed_job_order_takes_no_decision(client, review):
    employer, job, people = review
    job.status, job.start_date = "closed", date(2030, 1, 1)
    db.session.commit()
    ref = candidate_ref(job.id, people[2].id)
    response = client.post(url(job, ref, "decisions"), json={"decision": "shortlisted"},
                           headers=bearer(employer))
    assert response.status_code == 409
