"""The API's dispatches and documents (issue 12): lists with the board's filters, the
timeline, moves with If-Match (412 with the current stage), bulk moves in the status
format (all or nothing, per-row errors), document upload and download."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Dispatch, Document, StatusEvent
from tests.api_support import bearer
from tests.conftest import add_all_documents, add_doc, open_dispatch

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def pipeline(make_user, make_org, make_trainee, agency, agent):
    """The agency's two dispatches (one of a Nghệ An trainee), and another agency's."""
    ours = open_dispatch(make_org, make_trainee, agency=agency,
                         trainee=make_trainee(province="nghe-an"))
    second = open_dispatch(make_org, make_trainee, agency=agency, stage="contracted",
                           trainee=make_trainee(province="thanh-hoa"))
    foreign = open_dispatch(make_org, make_trainee, trainee=make_trainee(province="nghe-an"))
    return agent, ours, second, foreign


def test_the_agency_lists_its_own_with_the_boards_filters(client, pipeline):
    agent, ours, second, foreign = pipeline
    headers = bearer(agent)
    page = client.get("/api/v1/dispatches?limit=1", headers=headers).json
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"/api/v1/dispatches?cursor={page['next_cursor']}", headers=headers).json
    ids = [d["id"] for d in page["items"] + rest["items"]]
    assert sorted(ids) == sorted([ours.id, second.id]) and rest["next_cursor"] is None
    first = rest["items"][0] if rest["items"][0]["id"] == ours.id else page["items"][0]
    assert first["worker"]["external_id"] == ours.trainee.external_id
    assert first["job_order"]["external_id"] == ours.job_order.external_id
    assert first["etag"] == f'"{ours.version}"'

    def listed(query):
        return [d["id"] for d in client.get("/api/v1/dispatches?" + query,
                                             headers=headers).json["items"]]

    assert listed("stage=contracted") == [second.id]
    assert listed(f"job_order_id={ours.job_order_id}") == [ours.id]
    assert listed(f"job_order_id={foreign.job_order_id}") == []
    assert listed("open=false") == []
    assert client.get("/api/v1/dispatches?stage=flying", headers=headers).status_code == 422


def test_readers_read_and_only_in_their_scope(client, pipeline, make_user):
    agent, ours, second, foreign = pipeline
    department = make_user(role="department", province="nghe-an")
    employer = make_user(role="employer", org=ours.job_order.employer)
    headers = bearer(department)
    listed = client.get("/api/v1/dispatches", headers=headers).json["items"]
    assert sorted(d["id"] for d in listed) == sorted([ours.id, foreign.id])
    assert client.get(f"/api/v1/dispatches/{second.id}", headers=headers).status_code == 404
    for user in (department, employer):
        response = client.get(f"/api/v1/dispatches/{ours.id}", headers=bearer(user))
        assert response.status_code == 200 and response.json["moves"] == []
        moved = client.post(f"/api/v1/dispatches/{ours.id}/moves", headers=bearer(user) | {
            "If-Match": response.headers["ETag"]}, json={"to_stage": "contracted"})
        assert moved.status_code == 403
    assert client.get(f"/api/v1/dispatches/{foreign.id}",
                      headers=bearer(agent)).status_code == 404


def test_a_dispatch_with_its_timeline_documents_and_moves(client, pipeline):
    agent, ours, _second, _foreign = pipeline
    add_doc(ours, "passport", number="C1234567")
    response = client.get(f"/api/v1/dispatches/{ours.id}", headers=bearer(agent))
    assert response.status_code == 200
    body = response.json
    assert response.headers["ETag"] == body["etag"] == f'"{ours.version}"'
    assert [(e["from_stage"], e["to_stage"]) for e in body["events"]] == [(None, "selected")]
    assert [(d["kind"], d["owner"], d["number"]) for d in body["documents"]] == [
        ("passport", "worker", "C1234567")]
    assert body["documents"][0]["file_url"] is None
    assert [m["to_stage"] for m in body["moves"]] == ["contracted", "withdrawn"]


def test_a_move_needs_if_match_and_a_stale_one_gets_the_current_stage(client, pipeline):
    agent, ours, _second, _foreign = pipeline
    headers = bearer(agent)
    path = f"/api/v1/dispatches/{ours.id}/moves"
    etag = client.get(f"/api/v1/dispatches/{ours.id}", headers=headers).headers["ETag"]
    missing = client.post(path, json={"to_stage": "contracted"}, headers=headers)
    assert missing.status_code == 428
    moved = client.post(path, json={"to_stage": "contracted", "note": "Signed"},
                        headers=headers | {"If-Match": etag})
    assert moved.status_code == 201, moved.json
    assert moved.json["stage"] == "contracted" and moved.headers["ETag"] != etag
    assert moved.json["events"][-1]["note"] == "Signed"
    assert moved.json["events"][-1]["recorded_by"] == agent.email
    stale = client.post(path, json={"to_stage": "training"},
                        headers=headers | {"If-Match": etag})
    assert stale.status_code == 412 and stale.content_type == "application/problem+json"
    assert stale.json["current_stage"] == "contracted"
    assert stale.json["current_etag"] == moved.headers["ETag"]
    again = client.post(path, json={"to_stage": "training"},
                        headers=headers | {"If-Match": stale.json["current_etag"]})
    assert again.status_code == 201
    events = db.session.scalars(sa.select(StatusEvent.to_stage).where(
        StatusEvent.dispatch_id == ours.id).order_by(StatusEvent.id)).all()
    assert events == ["selected", "contracted", "training"]


@pytest.mark.parametrize(("stage", "body", "status", "field"), [
    ("selected", {"to_stage": "training"}, 409, None),  # no stage skipped
    ("training", {"to_stage": "coe_applied"}, 409, None),  # the TB certificate is missing
    ("completed", {"to_stage": "withdrawn"}, 409, None),  # closed
    ("selected", {"to_stage": "contracted", "happened_on": "2001-01-01"}, 422, "happened_on"),
    ("selected", {"to_stage": "contracted",
                  "happened_on": (date.today() - timedelta(days=40)).isoformat()},
     422, "happened_on"),  # before the previous step
    ("selected", {"to_stage": "nowhere"}, 422, "to_stage"),
])
def test_refused_moves(client, make_org, make_trainee, agency, agent, stage, body, status,
                       field):
    dispatch = open_dispatch(make_org, make_trainee, agency=agency, stage=stage)
    response = client.post(f"/api/v1/dispatches/{dispatch.id}/moves", json=body,
                           headers=bearer(agent) | {"If-Match": "*"})
    assert response.status_code == status, response.json
    assert response.content_type == "application/problem+json"
    if field:
        assert field in [e["field"] for e in response.json["errors"]]
    else:
        assert response.json["detail"]  # the operation's reason, translated
    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).stage == stage


def _row(dispatch, stage, **extra):
    return {"trainee_external_id": dispatch.trainee.external_id,
            "job_order_external_id": dispatch.job_order.external_id, "stage": stage} | extra


def test_bulk_moves_all_or_nothing_with_row_errors(client, pipeline):
    agent, ours, second, foreign = pipeline
    headers = bearer(agent)
    add_all_documents(second)
    rows = [_row(ours, "contracted"), _row(second, "training", note="Class A"),
            _row(second, "Đã nộp hồ sơ xin COE"), _row(foreign, "contracted"),
            _row(ours, "departed")]
    refused = client.post("/api/v1/dispatches/moves", json={"rows": rows}, headers=headers)
    assert refused.status_code == 422
    errors = {(e.get("row"), e["field"]) for e in refused.json["errors"]}
    assert errors == {(3, "trainee_external_id"), (4, "stage")}, refused.json["errors"]
    db.session.expire_all()
    assert (db.session.get(Dispatch, ours.id).stage,
            db.session.get(Dispatch, second.id).stage) == ("selected", "contracted")
    rows = rows[:3]
    dry = client.post("/api/v1/dispatches/moves", json={"rows": rows, "dry_run": True},
                      headers=headers)
    assert dry.status_code == 200 and dry.json["dry_run"] and dry.json["moves"] == 3
    db.session.expire_all()
    assert db.session.get(Dispatch, ours.id).stage == "selected"
    done = client.post("/api/v1/dispatches/moves", json={"rows": rows}, headers=headers)
    assert done.status_code == 200
    assert (done.json["moves"], done.json["dispatches"], done.json["unchanged"]) == (3, 2, 0)
    db.session.expire_all()
    assert (db.session.get(Dispatch, ours.id).stage,
            db.session.get(Dispatch, second.id).stage) == ("contracted", "coe_applied")
    again = client.post("/api/v1/dispatches/moves", json={"rows": rows}, headers=headers)
    assert (again.json["moves"], again.json["unchanged"]) == (0, 3)


def test_bulk_moves_refuse_a_request_without_its_columns(client, pipeline, make_user):
    agent, *_ = pipeline
    response = client.post("/api/v1/dispatches/moves", json={"rows": [{"stage": "training"}]},
                           headers=bearer(agent))
    assert response.status_code == 422 and response.json["errors"]
    assert client.post("/api/v1/dispatches/moves", json={"rows": []},
                       headers=bearer(agent)).status_code == 422
    assert client.post("/api/v1/dispatches/moves", json={"rows": [{"stage": "x"}]},
                       headers=bearer(make_user(role="department"))).status_code == 403


# -- documents -------------------------------------------------------------------------------


def _upload(client, dispatch, headers, content=PDF, **fields):
    import io

    data = {"kind": "coe", "number": "COE-77", "issued_on": date.today().isoformat()} | fields
    if content is not None:
        data["file"] = (io.BytesIO(content), "coe scan.pdf")
    return client.post(f"/api/v1/dispatches/{dispatch.id}/documents", data=data,
                       headers=headers, content_type="multipart/form-data")


def test_upload_then_download(client, pipeline, make_user):
    agent, ours, _second, _foreign = pipeline
    response = _upload(client, ours, bearer(agent))
    assert response.status_code == 201, response.json
    document = response.json
    assert (document["kind"], document["owner"], document["content_type"],
            document["size"], document["file_name"]) == (
        "coe", "dispatch", "application/pdf", len(PDF), "coe scan.pdf")
    assert response.headers["Location"].endswith(document["file_url"])
    department = make_user(role="department", province="nghe-an")
    for user in (agent, department):
        with client.get(document["file_url"], headers=bearer(user)) as download:
            assert download.status_code == 200 and download.data == PDF
            assert download.headers["Cache-Control"] == "no-store"
    other = make_user(role="department", province="ha-tinh")
    assert client.get(document["file_url"], headers=bearer(other)).status_code == 404
    # A worker's paper recorded through the dispatch is downloaded through it.
    passport = _upload(client, ours, bearer(agent), kind="passport", number="C7654321",
                       issued_on="2024-01-01", expires_on="2034-01-01")
    assert passport.status_code == 201 and passport.json["owner"] == "worker"
    with client.get(passport.json["file_url"], headers=bearer(agent)) as download:
        assert download.status_code == 200


@pytest.mark.parametrize(("content", "fields", "status", "field"), [
    (b"GIF89a not a document", {}, 422, "file"),
    (PDF, {"kind": "diploma"}, 422, "kind"),
    (PDF, {"number": ""}, 422, "number"),  # a COE needs its number
    (PDF, {"expires_on": "2000-01-01"}, 422, "expires_on"),
])
def test_refused_uploads_store_nothing(client, pipeline, app, content, fields, status, field):
    import os

    agent, ours, _second, _foreign = pipeline
    response = _upload(client, ours, bearer(agent), content, **fields)
    assert response.status_code == status, response.json
    assert field in [e["field"] for e in response.json["errors"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0
    folder = os.path.join(app.instance_path, "documents")
    assert not os.path.isdir(folder) or not os.listdir(folder)


def test_a_file_must_be_a_file_part_and_readers_cannot_upload(client, pipeline, make_user):
    agent, ours, _second, foreign = pipeline
    response = client.post(f"/api/v1/dispatches/{ours.id}/documents", headers=bearer(agent),
                           data={"kind": "contract", "file": "just text"},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["file"]
    department = make_user(role="department", province="nghe-an")
    assert _upload(client, ours, bearer(department)).status_code == 403
    assert _upload(client, foreign, bearer(agent)).status_code == 404  # another agency's
    # A document without a file has nothing to download.
    bare = add_doc(ours, "contract")
    response = client.get(f"/api/v1/dispatches/{ours.id}/documents/{bare.id}/file",
                          headers=bearer(agent))
    assert response.status_code == 404


def test_two_concurrent_moves_from_one_etag_one_wins(app, make_org, make_trainee, agency,
                                                     make_user):
    """Two clients in two threads (each request its own session and connection) move the
    same dispatch with the same If-Match: one move is recorded, the other answers 412 with
    the stage the first one reached."""
    import threading

    dispatch = open_dispatch(make_org, make_trainee, agency=agency)
    headers = [bearer(make_user(role="agency", org=agency)) | {"If-Match": f'"{dispatch.version}"'}
               for _ in range(2)]
    dispatch_id = dispatch.id
    db.session.close()  # the test's own session holds nothing while the threads run
    barrier = threading.Barrier(2, timeout=30)
    answers: list = [None, None]

    def move(index):
        client = app.test_client()
        barrier.wait()
        answers[index] = client.post(f"/api/v1/dispatches/{dispatch_id}/moves",
                                     json={"to_stage": "contracted"}, headers=headers[index])

    threads = [threading.Thread(target=move, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [201, 412]
    loser = next(a for a in answers if a.status_code == 412)
    assert loser.json["current_stage"] == "contracted"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusEvent).where(
        StatusEvent.dispatch_id == dispatch_id)) == 2
