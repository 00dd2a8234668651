"""The dispatch pages: the agency board, one dispatch's moves and documents, the read-only
views of departments and employers, and bulk stage updates from a file (DESIGN §6, §7)."""

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from matching.extensions import db
from matching.models import Dispatch, Document, StatusEvent
from matching.operations import dispatch as ops
from tests.conftest import add_job_order

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def login(switch_login):
    """Log in as ``user``, logging out whoever was logged in before."""
    return switch_login


@pytest.fixture
def make_dispatch(make_org, make_trainee, make_user):
    """``make_dispatch(agency_org, employer_org, stage=..., province=..., **job)``."""
    counter = iter(range(1, 1000))

    def make(agency_org, employer_org, *, stage="selected", province="nghe-an",
             planned_departure=None, trainee=None, title="Welder", job=None):
        n = next(counter)
        if job is None:
            job = add_job_order(external_id=f"JO-{agency_org.id}-{employer_org.id}-{n}",
                                employer_id=employer_org.id, agency_id=agency_org.id,
                                title=title, field="manufacturing", headcount=3,
                                visa_track="SSW1")
        trainee = trainee or make_trainee(province=province)
        selector = make_user(role="employer", org=employer_org)
        dispatch = ops.create_dispatch(job, trainee, selector)
        if stage != "selected" or planned_departure:
            # Test set-up: put the dispatch straight at a stage, without the history.
            dispatch.stage = stage
            dispatch.planned_departure = planned_departure
            db.session.commit()
        return dispatch

    return make


@pytest.fixture
def world(make_org, make_user, make_dispatch):
    agency_org, other_agency_org = make_org(kind="agency"), make_org(kind="agency")
    employer_org, other_employer_org = make_org(kind="employer"), make_org(kind="employer")
    en = {"locale": "en"}
    users = {
        "agency": make_user(role="agency", org=agency_org, **en),
        "other_agency": make_user(role="agency", org=other_agency_org, **en),
        "employer": make_user(role="employer", org=employer_org, **en),
        "other_employer": make_user(role="employer", org=other_employer_org, **en),
        "department": make_user(role="department", province="nghe-an", **en),
        "other_department": make_user(role="department", province="thanh-hoa", **en),
        "admin": make_user(role="admin", **en),
    }
    ours = make_dispatch(agency_org, employer_org)
    theirs = make_dispatch(other_agency_org, other_employer_org, province="thanh-hoa")
    return {"users": users, "ours": ours, "theirs": theirs, "agency_org": agency_org,
            "employer_org": employer_org, "other_agency_org": other_agency_org,
            "other_employer_org": other_employer_org}


def _events(dispatch_id: int) -> list[StatusEvent]:
    return db.session.scalars(sa.select(StatusEvent).where(StatusEvent.dispatch_id == dispatch_id)
                              .order_by(StatusEvent.id)).all()


def _fresh(dispatch_id: int) -> Dispatch:
    db.session.expire_all()
    return db.session.get(Dispatch, dispatch_id)


def _options(html: str, select_id: str) -> list[str]:
    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option[^>]*value="([^"]*)"', block)


def _move(client, dispatch, to_stage, *, version=None, happened_on=None, note=""):
    return client.post(f"/dispatch/{dispatch.id}/move", data={
        "to_stage": to_stage, "version": dispatch.version if version is None else version,
        "happened_on": (happened_on or date.today()).isoformat(), "note": note})


# -- the board -------------------------------------------------------------------------------


def test_board_shows_the_agencys_dispatches_by_stage(client, login, world, make_dispatch):
    make_dispatch(world["agency_org"], world["employer_org"], stage="training")
    login(world["users"]["agency"])
    html = client.get("/dispatch/").get_data(as_text=True)
    ours, theirs = world["ours"], world["theirs"]
    assert f'id="dispatch-{ours.id}"' in html
    assert ours.trainee.full_name in html and ours.trainee.external_id in html
    assert ours.job_order.external_id in html
    assert f'id="dispatch-{theirs.id}"' not in html  # another agency's worker
    assert theirs.trainee.full_name not in html
    assert re.search(r'id="count-selected">1<', html)
    assert re.search(r'id="count-training">1<', html)
    # Sections follow the pipeline's order.
    assert html.index('id="stage-selected"') < html.index('id="stage-training"')


def test_board_for_admin_shows_everyone_and_redirects_other_roles(client, login, world):
    login(world["users"]["admin"])
    html = client.get("/dispatch/").get_data(as_text=True)
    assert f'id="dispatch-{world["ours"].id}"' in html
    assert f'id="dispatch-{world["theirs"].id}"' in html
    login(world["users"]["department"])
    assert client.get("/dispatch/").headers["Location"].endswith("/dispatch/province")
    login(world["users"]["employer"])
    assert client.get("/dispatch/").headers["Location"].endswith("/dispatch/workers")


def test_board_filters(client, login, world, make_dispatch, make_org):
    agency_org, employer_org = world["agency_org"], world["employer_org"]
    second_employer = make_org(kind="employer")
    at_coe = make_dispatch(agency_org, second_employer, stage="coe_applied",
                           planned_departure=date.today() + timedelta(days=120))
    training = make_dispatch(agency_org, employer_org, stage="training")
    # A passport expiring in ten days, for the expiring filter.
    db.session.add(Document(trainee_id=training.trainee_id, kind="passport", number="C123",
                            expires_on=date.today() + timedelta(days=10)))
    # training → coe_applied needs a TB certificate valid today (not watched for expiry).
    db.session.add(Document(trainee_id=training.trainee_id, kind="tb_certificate",
                            issued_on=date.today() - timedelta(days=5),
                            expires_on=date.today() + timedelta(days=175)))
    db.session.commit()
    login(world["users"]["agency"])

    def shown(**args):
        html = client.get("/dispatch/", query_string=args).get_data(as_text=True)
        return {int(i) for i in re.findall(r'class="dispatch-card" id="dispatch-(\d+)"', html)}

    ours = world["ours"].id
    assert shown() == {ours, at_coe.id, training.id}
    assert shown(job=at_coe.job_order_id) == {at_coe.id}
    assert shown(employer=second_employer.id) == {at_coe.id}
    assert shown(stage="training") == {training.id}
    # coe_applied → coe_issued needs the COE, which is missing.
    assert at_coe.id in shown(missing="y")
    assert training.id not in shown(missing="y")
    assert shown(expiring="y") == {training.id}
    # Junk filter values are ignored, not an error.
    assert shown(stage="nonsense", job="x") == {ours, at_coe.id, training.id}


def test_board_card_warns_of_missing_and_expiring_documents(client, login, world,
                                                           make_dispatch):
    dispatch = make_dispatch(world["agency_org"], world["employer_org"], stage="coe_applied",
                             planned_departure=date.today() + timedelta(days=60))
    db.session.add(Document(trainee_id=dispatch.trainee_id, kind="passport", number="P1",
                            expires_on=date.today() + timedelta(days=40)))  # before departure
    db.session.commit()
    login(world["users"]["agency"])
    html = client.get("/dispatch/").get_data(as_text=True)
    card = html[html.index(f'id="dispatch-{dispatch.id}"'):]
    card = card[:card.index("</article>")]
    assert "badge-missing" in card
    assert "badge-expiring" in card


def test_board_query_count_does_not_grow_with_the_cards(client, login, world, make_dispatch,
                                                        count_queries):
    def add(stage):
        dispatch = make_dispatch(world["agency_org"], world["employer_org"], stage=stage,
                                 planned_departure=date.today() + timedelta(days=20))
        db.session.add(Document(trainee_id=dispatch.trainee_id, kind="passport", number="P",
                                expires_on=date.today() + timedelta(days=10)))
        db.session.commit()

    add("coe_applied")
    login(world["users"]["agency"])
    db.session.expire_all()  # each request starts from the database, as in production
    with count_queries() as few:
        client.get("/dispatch/")
    for stage in ("contracted", "coe_applied", "visa_applied", "departed", "deployed"):
        add(stage)
    db.session.expire_all()
    with count_queries() as many:
        html = client.get("/dispatch/").get_data(as_text=True)
    assert html.count('class="dispatch-card"') == 7
    assert many[0] == few[0]


# -- one dispatch: moves ---------------------------------------------------------------------


def test_move_form_offers_only_the_allowed_moves(client, login, world):
    dispatch, agency = world["ours"], world["users"]["agency"]
    login(agency)
    html = client.get(f"/dispatch/{dispatch.id}").get_data(as_text=True)
    offered = _options(html, "to_stage")
    assert offered == ops.allowed_moves(dispatch, agency)
    assert "contracted" in offered and "withdrawn" in offered
    assert "coe_issued" not in offered and "deployed" not in offered
    assert f'name="version" type="hidden" value="{dispatch.version}"' in html


def test_a_move_writes_one_event_shown_in_the_timeline(client, login, world):
    dispatch = world["ours"]
    before = len(_events(dispatch.id))
    login(world["users"]["agency"])
    response = _move(client, dispatch, "contracted", happened_on=date.today(),
                     note="Signed at the agency office")
    assert response.status_code == 302
    events = _events(dispatch.id)
    assert len(events) == before + 1
    assert (events[-1].from_stage, events[-1].to_stage) == ("selected", "contracted")
    assert events[-1].happened_on == date.today()
    assert events[-1].by_id == world["users"]["agency"].id
    assert _fresh(dispatch.id).stage == "contracted"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    timeline = html[html.index('id="timeline"'):html.index('id="documents"')]
    assert 'data-to="contracted"' in timeline
    assert "Signed at the agency office" in timeline
    # Read-only history: no edit or delete control anywhere on the page.
    assert "/events/" not in html and "delete" not in timeline.lower()


def test_a_stale_form_is_refused_with_the_current_stage(client, login, world):
    dispatch = world["ours"]
    old_version = dispatch.version
    login(world["users"]["agency"])
    assert _move(client, dispatch, "contracted").status_code == 302  # someone moves it first
    events = len(_events(dispatch.id))
    # The page read before that move still says "selected → withdrawn".
    response = _move(client, _fresh(dispatch.id), "withdrawn", version=old_version)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="stale-message"' in html
    assert "Contract signed" in html[html.index('id="stale-message"'):][:400]
    fresh = _fresh(dispatch.id)
    assert fresh.stage == "contracted"
    assert len(_events(dispatch.id)) == events
    # The page offers a form at the current version, not the stale one.
    assert f'name="version" type="hidden" value="{fresh.version}"' in html


def test_a_refused_move_says_why(client, login, world, make_dispatch):
    dispatch = make_dispatch(world["agency_org"], world["employer_org"], stage="coe_applied")
    login(world["users"]["agency"])
    response = _move(client, dispatch, "coe_issued", happened_on=date.today())
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in html
    assert _fresh(dispatch.id).stage == "coe_applied"


def test_planned_departure_is_saved_with_the_version(client, login, world):
    dispatch = world["ours"]
    login(world["users"]["agency"])
    day = date.today() + timedelta(days=90)
    response = client.post(f"/dispatch/{dispatch.id}/edit", data={
        "version": dispatch.version, "planned_departure": day.isoformat()})
    assert response.status_code == 302
    assert _fresh(dispatch.id).planned_departure == day
    # A second form read at the old version changes nothing.
    client.post(f"/dispatch/{dispatch.id}/edit", data={
        "version": dispatch.version - 1 if dispatch.version > 1 else 0,
        "planned_departure": (day + timedelta(days=1)).isoformat()})
    assert _fresh(dispatch.id).planned_departure == day


# -- departments and employers: read-only ------------------------------------------------------


def test_department_reads_its_provinces_dispatches_without_a_move_form(client, login, world):
    login(world["users"]["department"])
    html = client.get(f"/dispatch/{world['ours'].id}").get_data(as_text=True)
    assert 'id="timeline"' in html and 'id="documents"' in html
    assert 'id="move-form"' not in html and 'id="add-document"' not in html
    assert client.get(f"/dispatch/{world['theirs'].id}").status_code == 404
    assert _move(client, world["ours"], "contracted").status_code == 403
    assert _fresh(world["ours"].id).stage == "selected"
    page = client.get("/dispatch/province").get_data(as_text=True)
    assert world["ours"].trainee.full_name in page
    assert world["theirs"].trainee.full_name not in page


def test_trainee_page_lists_the_trainees_dispatches(client, login, world):
    dispatch = world["ours"]
    login(world["users"]["department"])
    html = client.get(f"/trainees/{dispatch.trainee_id}").get_data(as_text=True)
    section = html[html.index('id="trainee-dispatches"'):]
    assert f"/dispatch/{dispatch.id}" in section
    assert "Selected" in section


def test_employer_sees_only_its_selections(client, login, world):
    login(world["users"]["employer"])
    page = client.get("/dispatch/workers").get_data(as_text=True)
    assert f'data-dispatch="{world["ours"].id}"' in page
    assert world["theirs"].trainee.full_name not in page
    assert client.get(f"/dispatch/{world['ours'].id}").status_code == 200
    assert 'id="move-form"' not in client.get(f"/dispatch/{world['ours'].id}").get_data(
        as_text=True)
    assert client.get(f"/dispatch/{world['theirs'].id}").status_code == 404
    login(world["users"]["other_employer"])
    assert client.get(f"/dispatch/{world['ours'].id}").status_code == 404


def test_another_agency_gets_404(client, login, world):
    login(world["users"]["other_agency"])
    dispatch = world["ours"]
    assert client.get(f"/dispatch/{dispatch.id}").status_code == 404
    assert _move(client, dispatch, "contracted").status_code == 404
    assert _fresh(dispatch.id).stage == "selected"


# -- documents -------------------------------------------------------------------------------


def test_document_upload_and_download(client, login, world, stored_files):
    dispatch = world["ours"]
    login(world["users"]["agency"])
    response = client.post(f"/dispatch/{dispatch.id}/documents", data={
        "kind": "contract", "number": "HD-2026-001", "issued_on": "2026-02-01",
        "file": (io.BytesIO(PDF), "hợp đồng.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    document = db.session.scalar(sa.select(Document).where(Document.dispatch_id == dispatch.id))
    assert (document.kind, document.number) == ("contract", "HD-2026-001")
    assert stored_files.read(ops.document_key(document)) == PDF
    html = client.get(f"/dispatch/{dispatch.id}").get_data(as_text=True)
    url = f"/dispatch/{dispatch.id}/documents/{document.id}/file"
    assert url in html and "HD-2026-001" in html
    # The form says what a flight ticket's number and issue date are.
    assert "For a flight ticket: the flight number." in html
    assert "For a flight ticket: the date of the flight." in html

    download = client.get(url)
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Cache-Control"] == "no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    download.close()

    login(world["users"]["other_agency"])
    assert client.get(url).status_code == 404
    # Nor through a dispatch the other agency does own.
    assert client.get(f"/dispatch/{world['theirs'].id}/documents/{document.id}/file"
                      ).status_code == 404


def test_a_document_form_with_errors_is_shown_again(client, login, world):
    dispatch = world["ours"]
    login(world["users"]["agency"])
    response = client.post(f"/dispatch/{dispatch.id}/documents", data={
        "kind": "visa", "issued_on": "2026-05-01", "expires_on": "2026-04-01",
        "file": (io.BytesIO(b"MZ not a pdf"), "virus.exe")}, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "field-error" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0


def test_a_file_that_is_not_what_it_says_is_refused(client, login, world):
    dispatch = world["ours"]
    login(world["users"]["agency"])
    response = client.post(f"/dispatch/{dispatch.id}/documents", data={
        "kind": "contract", "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "contract.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0


def test_department_may_download_its_provinces_documents(client, login, world, app):
    dispatch = world["ours"]
    document = ops.add_document(world["users"]["agency"], dispatch=dispatch, kind="contract",
                                number="HD-1", issued_on=date(2026, 1, 5), expires_on=None,
                                upload=FileStorage(io.BytesIO(PDF), filename="c.pdf",
                                                   content_type="application/pdf"))
    login(world["users"]["department"])
    response = client.get(f"/dispatch/{dispatch.id}/documents/{document.id}/file")
    assert response.status_code == 200
    response.close()
    login(world["users"]["other_department"])
    assert client.get(f"/dispatch/{dispatch.id}/documents/{document.id}/file"
                      ).status_code == 404


# -- bulk stage updates ------------------------------------------------------------------------


def _csv(*rows) -> tuple[io.BytesIO, str]:
    """A stage-update file: (dispatch, stage) per row, dated today."""
    lines = ["trainee_external_id,job_order_external_id,stage,date"]
    lines += [f"{d.trainee.external_id},{d.job_order.external_id},{stage},{date.today()}"
              for d, stage in rows]
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8")), "stages.csv"


def test_bulk_status_upload_with_a_bad_row_writes_nothing(client, login, world, make_dispatch):
    dispatch = world["ours"]
    other = make_dispatch(world["agency_org"], world["employer_org"])
    events = db.session.scalar(sa.select(sa.func.count()).select_from(StatusEvent))
    login(world["users"]["agency"])
    # The second row skips stages: refused, and with it the whole file.
    response = client.post("/dispatch/import", data={
        "file": _csv((dispatch, "contracted"), (other, "deployed"))},
        content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    errors = html[html.index('id="import-errors"'):]
    assert re.findall(r"<tr>\s*<td>(\d+)</td>", errors) == ["3"]  # header is line 1
    assert 'id="confirm-import"' not in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusEvent)) == events
    assert _fresh(dispatch.id).stage == "selected"
    assert _fresh(other.id).stage == "selected"


def test_bulk_status_upload_preview_then_confirm(client, login, world):
    dispatch = world["ours"]
    login(world["users"]["agency"])
    response = client.post("/dispatch/import", data={
        "file": _csv((dispatch, "contracted"), (dispatch, "training"))},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert 'id="confirm-import"' in html
    assert re.search(r'id="count-moves">2<', html)
    assert _fresh(dispatch.id).stage == "selected"  # the preview is a dry run
    response = client.post("/dispatch/import/confirm")
    assert response.status_code == 302
    assert _fresh(dispatch.id).stage == "training"
    assert [e.to_stage for e in _events(dispatch.id)] == ["selected", "contracted", "training"]


def test_bulk_status_template_and_another_agencys_rows(client, login, world):
    from matching.operations.imports import statuses

    login(world["users"]["agency"])
    template = client.get("/dispatch/import/template.csv")
    assert template.status_code == 200
    header = template.data.decode("utf-8-sig").splitlines()[0]
    assert header == ",".join(statuses.KNOWN_COLUMNS)
    # A row naming another agency's dispatch is refused like an unknown one.
    response = client.post("/dispatch/import", data={"file": _csv((world["theirs"], "contracted"))},
                           content_type="multipart/form-data")
    assert 'id="import-errors"' in response.get_data(as_text=True)
    assert _fresh(world["theirs"].id).stage == "selected"


# -- the agency's home page ----------------------------------------------------------------------


def test_agency_home_counts_stages_and_lists_expiring_documents(client, login, world,
                                                                make_dispatch):
    dispatch = make_dispatch(world["agency_org"], world["employer_org"], stage="visa_applied")
    db.session.add(Document(dispatch_id=dispatch.id, kind="coe", number="COE-9",
                            expires_on=date.today() + timedelta(days=5)))
    db.session.commit()
    login(world["users"]["agency"])
    html = client.get("/").get_data(as_text=True)
    summary = html[html.index('id="dispatch-summary"'):]
    assert re.search(r'id="home-count-selected"[^>]*>1<', summary)
    assert re.search(r'id="home-count-visa_applied"[^>]*>1<', summary)
    assert "/dispatch/?stage=visa_applied" in summary
    assert "COE-9" in summary and f"/dispatch/{dispatch.id}" in summary
