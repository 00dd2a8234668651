"""No personal document leaks after a dispatch ends (issue 8, item 1).

The exact sequence found by the probe, through the site as its users do it: a worker's
first dispatch is withdrawn; another employer selects the worker; the new agency uploads
the worker's passport; the first employer and the first agency open their old dispatch
page and try to download that passport. Runs on SQLite and, with TEST_DATABASE_URL, on
PostgreSQL.
"""

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Dispatch, Document
from matching.ranking.pool import clear_memory_cache
from tests.conftest import add_job_order

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture
def people(make_org, make_user, make_trainee):
    orgs = {name: make_org(kind=kind) for name, kind in (
        ("agency1", "agency"), ("agency2", "agency"),
        ("employer1", "employer"), ("employer2", "employer"))}
    users = {name: make_user(role=org.kind, org=org, locale="en") for name, org in orgs.items()}
    users["department"] = make_user(role="department", province="nghe-an", locale="en")
    users["admin"] = make_user(role="admin", locale="en")
    jobs = {n: add_job_order(external_id=f"JO-LEAK-{n}", employer_id=orgs[f"employer{n}"].id,
                             agency_id=orgs[f"agency{n}"].id, title="Welder",
                             field="manufacturing", headcount=2, status="open",
                             visa_track="SSW1", min_language_level="N5", min_language_rank=1)
            for n in (1, 2)}
    worker = make_trainee(field="manufacturing", consent=True)
    return users, jobs, worker


def _select(client, switch_login, employer, job, worker) -> Dispatch:
    from matching.references import candidate_ref

    switch_login(employer)
    response = client.post(f"/jobs/{job.id}/candidates/{candidate_ref(job.id, worker.id)}"
                           "/decision", data={"decision": "selected"})
    assert response.status_code == 302
    return db.session.scalar(sa.select(Dispatch).where(Dispatch.job_order_id == job.id))


def _upload_passport(client, switch_login, agent, dispatch) -> Document:
    switch_login(agent)
    response = client.post(f"/dispatch/{dispatch.id}/documents", data={
        "kind": "passport", "number": "C1234567",
        "expires_on": (date.today() + timedelta(days=3000)).isoformat(),
        "file": (io.BytesIO(PDF), "passport.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(sa.select(Document).where(Document.number == "C1234567")
                             .order_by(Document.id.desc()))


def test_an_ended_dispatch_never_shows_what_was_recorded_after_it(client, switch_login,
                                                                   people, stored_files):
    """With the local folder and with an S3-compatible object store (``stored_files``)."""
    users, jobs, worker = people
    first = _select(client, switch_login, users["employer1"], jobs[1], worker)
    # While the first dispatch is open its agency records a contract (the dispatch's own).
    switch_login(users["agency1"])
    response = client.post(f"/dispatch/{first.id}/documents", data={
        "kind": "contract", "number": "HD-1", "issued_on": date.today().isoformat(),
        "file": (io.BytesIO(PDF), "contract.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    contract = db.session.scalar(sa.select(Document).where(Document.number == "HD-1"))
    response = client.post(f"/dispatch/{first.id}/move", data={
        "to_stage": "withdrawn", "version": first.version,
        "happened_on": date.today().isoformat(), "note": "family reasons"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Dispatch, first.id).stage == "withdrawn"

    second = _select(client, switch_login, users["employer2"], jobs[2], worker)
    assert second is not None and second.agency_id != first.agency_id
    passport = _upload_passport(client, switch_login, users["agency2"], second)
    url = f"/dispatch/{first.id}/documents/{passport.id}/file"

    for name in ("employer1", "agency1"):
        switch_login(users[name])
        page = client.get(f"/dispatch/{first.id}")
        assert page.status_code == 200  # the history stays theirs to read
        html = page.get_data(as_text=True)
        assert "C1234567" not in html and url not in html
        assert client.get(url).status_code == 404
        # What was recorded for their dispatch while it was open is still theirs.
        own = client.get(f"/dispatch/{first.id}/documents/{contract.id}/file")
        assert own.status_code == 200 and own.data == PDF
        own.close()

    # The new dispatch's employer and agency, the worker's department and the admin do see it.
    for name, dispatch in (("employer2", second), ("agency2", second),
                           ("department", first), ("admin", first)):
        switch_login(users[name])
        download = client.get(f"/dispatch/{dispatch.id}/documents/{passport.id}/file")
        assert download.status_code == 200, name
        download.close()


def test_papers_recorded_before_the_end_are_hidden_once_it_ends(client, switch_login, people):
    """The worker's own papers are shown with a dispatch only while it is open."""
    users, jobs, worker = people
    first = _select(client, switch_login, users["employer1"], jobs[1], worker)
    passport = _upload_passport(client, switch_login, users["agency1"], first)
    url = f"/dispatch/{first.id}/documents/{passport.id}/file"
    switch_login(users["employer1"])
    assert client.get(url).status_code == 200
    switch_login(users["agency1"])
    client.post(f"/dispatch/{first.id}/move", data={
        "to_stage": "withdrawn", "version": first.version,
        "happened_on": date.today().isoformat(), "note": ""})
    for name in ("employer1", "agency1"):
        switch_login(users[name])
        assert client.get(url).status_code == 404
        assert "C1234567" not in client.get(f"/dispatch/{first.id}").get_data(as_text=True)


def test_ids_employers_see_are_not_guessable(client, switch_login, people, make_trainee):
    """Dispatch and document ids in employers' URLs are random: one says nothing of the next,
    nor how many there are."""
    users, jobs, worker = people
    dispatches = [_select(client, switch_login, users["employer1"], jobs[1], worker)]
    dispatches.append(_select(client, switch_login, users["employer2"], jobs[2],
                              make_trainee(field="manufacturing", consent=True)))
    documents = [_upload_passport(client, switch_login, users["agency1"], dispatches[0])]
    ids = [d.id for d in dispatches] + [d.id for d in documents]
    assert all(2**32 <= i < 2**53 for i in ids), ids
    assert abs(dispatches[0].id - dispatches[1].id) > 1000
    switch_login(users["employer1"])
    html = client.get(f"/dispatch/{dispatches[0].id}").get_data(as_text=True)
    assert f"/dispatch/{dispatches[0].id}/documents/{documents[0].id}/file" in html
