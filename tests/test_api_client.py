"""A client written only from the OpenAPI document (issue 12), against the app served over
HTTP: it reads ``/api/v1/openapi.json``, finds each operation by its ``operationId`` and
knows nothing else of the API. With it, a department upserts trainees in bulk, an employer
shortlists and selects one of the candidates ranked for its job order, and the agency moves
the dispatch that selection opened, one move with its ETag and one in bulk, and records a
document with its file."""

import re

import httpx
import pytest

from matching.ranking.pool import clear_memory_cache
from tests.api_support import bearer

PDF = b"%PDF-1.4\n%%EOF\n"


class OpenApiClient:
    """Calls operations by ``operationId``: the method and path template come from the
    document; path parameters fill the template."""

    def __init__(self, base_url: str, headers: dict):
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=30)
        document = self.http.get("/api/v1/openapi.json").raise_for_status().json()
        assert document["openapi"].startswith("3.1")
        self.operations = {
            operation["operationId"]: (method.upper(), path)
            for path, item in document["paths"].items()
            for method, operation in item.items() if isinstance(operation, dict)
            and "operationId" in operation}

    def __call__(self, operation_id: str, *, headers: dict | None = None, **kwargs):
        method, template = self.operations[operation_id]
        names = re.findall(r"{(\w+)}", template)
        path = template.format(**{name: kwargs.pop(name) for name in names})
        return self.http.request(method, path, headers=headers, **kwargs)

    def close(self):
        self.http.close()


@pytest.fixture
def client_for(live_server):
    made = []

    def make(user):
        made.append(OpenApiClient(live_server, bearer(user, "client")))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


ROWS = [{"external_id": f"CL-{n}", "full_name": name, "date_of_birth": "2001-03-0" + str(n),
         "province": "nghe-an", "field": "food_manufacturing", "japanese_level": level,
         "skills": ["haccp", "food-hygiene"][:n % 2 + 1], "training_hours": 400 + 100 * n}
        for n, (name, level) in enumerate([("Nguyễn Thị Hoa", "N3"), ("Trần Văn Nam", "N4"),
                                           ("Lê Thị Mai", "N4")], start=1)]


def test_department_employer_and_agency_end_to_end(make_user, agency, agent, client_for):
    department = client_for(make_user(role="department", province="nghe-an"))
    employer = client_for(make_user(role="employer"))
    agency_client = client_for(agent)

    # A department: the rows of its import file, all or nothing (a dry run first).
    dry = department("trainees.bulk", json={"rows": ROWS, "dry_run": True})
    assert dry.status_code == 200 and dry.json()["created"] == 3, dry.json()
    bad = department("trainees.bulk", json={"rows": ROWS + [{"external_id": "CL-9"}]})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert {e["row"] for e in bad.json()["errors"]} == {3}
    done = department("trainees.bulk", json={"rows": ROWS})
    assert done.status_code == 200 and done.json()["created"] == 3
    listed = department("trainees.index", params={"q": "CL-", "limit": 2})
    assert len(listed.json()["items"]) == 2 and listed.json()["next_cursor"]

    # An employer: its job order, the ranked candidates, a shortlist, then a selection.
    job = employer("job_orders.create", json={
        "title": "Food line worker", "field": "food_manufacturing", "headcount": 1,
        "visa_track": "SSW1", "required_skills": ["haccp"], "agency_id": agency.id})
    assert job.status_code == 201, job.json()
    job_id = job.json()["id"]
    candidates = employer("candidates.index", job_id=job_id, params={"limit": 10}).json()
    assert candidates["total"] == 3
    best = candidates["items"][0]
    assert best["rank"] == 1 and best["name"] is None and best["explanation"]
    shortlisted = employer("candidates.decide", job_id=job_id, ref=best["ref"],
                           json={"decision": "shortlisted"})
    assert shortlisted.status_code == 201
    profile = employer("candidates.item", job_id=job_id, ref=best["ref"]).json()["profile"]
    assert profile["full_name"] in {row["full_name"] for row in ROWS}
    selected = employer("candidates.decide", job_id=job_id, ref=best["ref"],
                        json={"decision": "selected"})
    assert selected.status_code == 201 and selected.json()["job_order_status"] == "filled"
    dispatch_id = selected.json()["dispatch_id"]

    # The agency: the dispatch on its list, a move with its ETag, a stale one refused with
    # the current stage, a move in bulk, a document with its file.
    mine = agency_client("dispatches.index", params={"job_order_id": job_id}).json()["items"]
    assert [d["id"] for d in mine] == [dispatch_id]
    read = agency_client("dispatches.item", dispatch_id=dispatch_id)
    etag = read.headers["etag"]
    moved = agency_client("dispatches.move", dispatch_id=dispatch_id,
                          headers={"If-Match": etag}, json={"to_stage": "contracted"})
    assert moved.status_code == 201 and moved.json()["stage"] == "contracted"
    stale = agency_client("dispatches.move", dispatch_id=dispatch_id,
                          headers={"If-Match": etag}, json={"to_stage": "training"})
    assert stale.status_code == 412 and stale.json()["current_stage"] == "contracted"
    worker = mine[0]["worker"]
    bulk = agency_client("dispatches.bulk_moves", json={"rows": [{
        "trainee_external_id": worker["external_id"], "trainee_province": worker["province"],
        "job_order_external_id": mine[0]["job_order"]["external_id"], "stage": "training"}]})
    assert bulk.status_code == 200 and bulk.json()["moves"] == 1
    uploaded = agency_client("documents.upload", dispatch_id=dispatch_id,
                             data={"kind": "contract", "number": "HD-2026-1"},
                             files={"file": ("contract.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 201, uploaded.json()
    timeline = agency_client("dispatches.item", dispatch_id=dispatch_id).json()
    assert [e["to_stage"] for e in timeline["events"]] == ["selected", "contracted", "training"]
    document = next(d for d in timeline["documents"] if d["kind"] == "contract")
    assert agency_client.http.get(document["file_url"]).content == PDF
