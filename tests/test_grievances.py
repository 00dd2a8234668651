"""Grievances (issue 13 §4): filed by the worker or by the department on their behalf;
open → acknowledged → resolved | closed, each with a note and an event; overdue after 7
days without acknowledgement; the department of the province and (with the worker's
consent) the agency read them; employers never do."""

import io
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Grievance, GrievanceEvent
from matching.models._common import utcnow
from matching.models.dispatch import AuditTrailError
from matching.operations import grievances as ops
from tests.conftest import open_dispatch
from tests.workers import department_of, make_worker

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "pool_pre_ping": True}}


@pytest.fixture
def world(make_org, make_trainee, make_user):
    trainee = make_trainee(province="nghe-an")
    agency = make_org(kind="agency")
    dispatch = open_dispatch(make_org, make_trainee, trainee=trainee, agency=agency,
                             stage="deployed")
    users = {
        "worker": make_worker(trainee),
        "department": make_user(role="department", org=department_of(trainee)),
        "other_department": make_user(role="department", province="thanh-hoa"),
        "agency": make_user(role="agency", org=agency),
        "other_agency": make_user(role="agency"),
        "employer": make_user(role="employer", org=dispatch.job_order.employer),
        "admin": make_user(role="admin"),
    }
    return trainee, dispatch, users


def _file(client, **data):
    values = {"category": "wages", "description": "Tháng này công ty trả thiếu 30.000 yên."}
    values.update(data)
    return client.post("/me/grievances/new", data=values, content_type="multipart/form-data")


def _grievance() -> Grievance:
    return db.session.scalar(sa.select(Grievance).order_by(Grievance.created_at.desc()))


def test_worker_files_and_follows_every_state_change(client, login, switch_login, world):
    trainee, dispatch, users = world
    login(users["worker"])
    response = _file(client, file=(io.BytesIO(PDF), "payslip.pdf"))
    assert response.status_code == 302
    grievance = _grievance()
    assert (grievance.state, grievance.by_worker, grievance.dispatch_id) == (
        "open", True, dispatch.id)
    assert grievance.file_name == "payslip.pdf"
    assert client.get(f"/me/grievances/{grievance.id}/attachment").data == PDF
    switch_login(users["department"])
    page = client.get(f"/grievances/{grievance.id}")
    assert page.status_code == 200 and "30.000" in page.get_data(as_text=True)
    for to_state, note in (("acknowledged", "Chúng tôi đã gọi cho công ty."),
                           ("resolved", "Công ty đã trả đủ.")):
        response = client.post(f"/grievances/{grievance.id}/transition",
                               data={"to_state": to_state, "note": note})
        assert response.status_code == 302
    switch_login(users["worker"])
    page = client.get(f"/me/grievances/{grievance.id}").get_data(as_text=True)
    assert "Chúng tôi đã gọi cho công ty." in page and "Công ty đã trả đủ." in page
    events = db.session.scalars(sa.select(GrievanceEvent).where(
        GrievanceEvent.grievance_id == grievance.id).order_by(GrievanceEvent.id)).all()
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "open"), ("open", "acknowledged"), ("acknowledged", "resolved")]
    assert all(e.by_id for e in events)


def test_transitions_need_a_note_and_follow_the_states(client, login, world):
    trainee, _dispatch, users = world
    grievance = ops.file_grievance(users["worker"], trainee, category="safety",
                                   description="Không có mũ bảo hộ.", agency_may_see=False)
    db.session.commit()
    login(users["department"])
    url = f"/grievances/{grievance.id}/transition"
    assert client.post(url, data={"to_state": "acknowledged", "note": ""}).status_code == 200
    assert client.post(url, data={"to_state": "closed", "note": "Đã xử lý."}).status_code == 302
    db.session.refresh(grievance)
    assert grievance.state == "closed"
    with pytest.raises(ops.GrievanceError):
        ops.transition(users["department"], grievance, "acknowledged", "again")
    db.session.rollback()
    event = db.session.scalar(sa.select(GrievanceEvent))
    event.note = "rewritten"
    with pytest.raises(AuditTrailError):
        db.session.flush()
    db.session.rollback()


def test_department_files_on_behalf_of_the_worker(client, login, world):
    trainee, _dispatch, users = world
    login(users["department"])
    response = client.post(f"/grievances/new/{trainee.id}", data={
        "category": "harassment", "description": "Gọi điện ngày 5/12: bị quát mắng."},
        content_type="multipart/form-data")
    assert response.status_code == 302
    grievance = _grievance()
    assert not grievance.by_worker and not grievance.agency_may_see
    assert grievance.created_by_id == users["department"].id
    client.post("/auth/logout")
    login(users["worker"])
    assert client.get(f"/me/grievances/{grievance.id}").status_code == 200


def test_an_attachment_goes_through_the_document_checks(client, login, world):
    _trainee, _dispatch, users = world
    login(users["worker"])
    response = _file(client, file=(io.BytesIO(b"MZ\x90\x00 not a pdf"), "x.pdf"))
    assert response.status_code == 200
    assert db.session.scalar(sa.select(Grievance)) is None


@pytest.mark.parametrize(("consent", "agency", "other_agency"), [
    (True, 200, 404), (False, 404, 404)])
def test_who_reads_a_grievance(client, login, switch_login, world, consent, agency,
                               other_agency):
    trainee, _dispatch, users = world
    grievance = ops.file_grievance(users["worker"], trainee, category="fees",
                                   description="Phí môi giới.", agency_may_see=consent)
    db.session.commit()
    expected = {"admin": 200, "department": 200, "other_department": 404, "agency": agency,
                "other_agency": other_agency, "employer": 403}
    for role, status in expected.items():
        switch_login(users[role])
        assert client.get(f"/grievances/{grievance.id}").status_code == status, role
        listed = client.get("/grievances/")
        if status == 200:
            assert f"/grievances/{grievance.id}" in listed.get_data(as_text=True), role
        elif listed.status_code == 200:
            assert f"/grievances/{grievance.id}" not in listed.get_data(as_text=True), role
    # The agency reads but never answers.
    switch_login(users["agency"])
    assert client.post(f"/grievances/{grievance.id}/transition",
                       data={"to_state": "acknowledged", "note": "x"}).status_code == 403


def test_overdue_after_seven_days_without_acknowledgement(client, login, world):
    trainee, _dispatch, users = world
    late = ops.file_grievance(users["worker"], trainee, category="accommodation",
                              description="Phòng ở quá chật.", agency_may_see=False)
    fresh = ops.file_grievance(users["worker"], trainee, category="other",
                               description="Câu hỏi.", agency_may_see=False)
    handled = ops.file_grievance(users["worker"], trainee, category="contract",
                                 description="Hợp đồng.", agency_may_see=False)
    db.session.flush()
    late.created_at = handled.created_at = utcnow() - timedelta(days=7, minutes=1)
    fresh.created_at = utcnow() - timedelta(days=6, hours=23)
    ops.transition(users["department"], handled, "acknowledged", "Đã nhận.")
    db.session.commit()
    assert [ops.is_overdue(g) for g in (late, fresh, handled)] == [True, False, False]
    login(users["department"])
    page = client.get("/grievances/").get_data(as_text=True)
    assert page.count('class="grievance-overdue"') == 1 and 'id="overdue-count"' in page
    assert page.index(f"/grievances/{late.id}") < page.index(f"/grievances/{fresh.id}")
    only = client.get("/grievances/?overdue=y").get_data(as_text=True)
    assert f"/grievances/{late.id}" in only and f"/grievances/{fresh.id}" not in only
    open_only = client.get("/grievances/?state=acknowledged").get_data(as_text=True)
    assert f"/grievances/{handled.id}" in open_only and f"/grievances/{late.id}" not in open_only
    assert 'id="overdue-note"' in client.get(f"/grievances/{late.id}").get_data(as_text=True)


def test_two_officers_acknowledging_at_once_record_one_event(app, world, make_user):
    trainee, _dispatch, users = world
    second = make_user(role="department", org=department_of(trainee))
    grievance = ops.file_grievance(users["worker"], trainee, category="wages",
                                   description="Trả thiếu.", agency_may_see=False)
    db.session.commit()
    ids = (users["department"].id, second.id)
    barrier = threading.Barrier(len(ids), timeout=30)
    results = []

    def acknowledge(user_id):
        from matching.models import User

        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                found = db.session.get(Grievance, grievance.id)
                barrier.wait()
                ops.transition(user, found, "acknowledged", f"by {user_id}",
                               seen_state="open")
                db.session.commit()
                results.append("ok")
            except ops.GrievanceError as err:
                db.session.rollback()
                results.append(err.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=acknowledge, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "stale"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GrievanceEvent).where(
        GrievanceEvent.to_state == "acknowledged")) == 1
