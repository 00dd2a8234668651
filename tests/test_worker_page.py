"""The worker's own page (issue 13 §3): only themself, ever, whatever the URL; their record,
dispatch, contract, documents and fee ledger with its flags; a wage below the contract's
raises ``contract_substitution``; everything else of the site answers 403 or 404."""

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matching import fees
from matching.extensions import db
from matching.fees import refresh_dispatches
from matching.models import Charge, Dispatch, Grievance, StatusEvent, WageReport
from matching.operations import grievances as grievance_ops
from matching.operations import wages
from matching.operations.dispatch import add_document
from matching.operations.wages import WageError, reported_wages_below_contract
from tests.conftest import open_dispatch
from tests.workers import make_worker

TODAY = date.today()


def _reach(dispatch, *stages, on=None):
    """Record the steps ``stages`` (one event each) and leave the dispatch at the last."""
    day = on or TODAY - timedelta(days=90)
    previous = dispatch.stage
    for stage in stages:
        db.session.add(StatusEvent(dispatch_id=dispatch.id, from_stage=previous,
                                   to_stage=stage, happened_on=day))
        previous = stage
    dispatch.stage = previous
    refresh_dispatches([dispatch.id])  # written here, not through the operations
    db.session.commit()


@pytest.fixture
def mine(make_org, make_trainee):
    """A deployed worker with a contract at ¥200,000, a passport with a file, a charge."""
    trainee = make_trainee(province="nghe-an", phone="0912 345 678")
    dispatch = open_dispatch(make_org, make_trainee, trainee=trainee, stage="selected")
    dispatch.contract_wage_jpy, dispatch.contract_months = 200_000, 36
    _reach(dispatch, "contracted", "training", "coe_applied", "coe_issued", "visa_applied",
           "visa_issued", "departed", "deployed")
    passport = add_document(None, dispatch=dispatch, kind="passport", number="C1234567",
                            issued_on=TODAY - timedelta(days=400),
                            expires_on=TODAY + timedelta(days=30),
                            upload=_pdf("passport.pdf"))
    db.session.add(Charge(dispatch_id=dispatch.id, kind="training", amount=30_000,
                          currency="JPY", paid_on=TODAY - timedelta(days=200), payer="worker",
                          payee="Trung tâm đào tạo", receipt_no="R-77"))
    refresh_dispatches([dispatch.id])
    db.session.commit()
    return make_worker(trainee), trainee, dispatch, passport


@pytest.fixture
def theirs(make_org, make_trainee):
    """Another worker, same province and agency-less: nothing of theirs may show."""
    trainee = make_trainee(province="nghe-an", full_name="Trần Thị Bình")
    dispatch = open_dispatch(make_org, make_trainee, trainee=trainee, stage="selected")
    document = add_document(None, dispatch=dispatch, kind="passport", number="B7654321",
                            issued_on=None, expires_on=TODAY + timedelta(days=900),
                            upload=_pdf("their-passport.pdf"))
    worker = make_worker(trainee)
    grievance = grievance_ops.file_grievance(worker, trainee, category="other",
                                             description="Bí mật của Bình.",
                                             agency_may_see=False)
    db.session.commit()
    return worker, trainee, dispatch, document, grievance


def _pdf(name):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename=name)


def test_the_worker_sees_their_record_dispatch_contract_documents_and_fees(
        client, login, mine, theirs):
    worker, trainee, dispatch, passport = mine
    login(worker)
    page = client.get("/me/").get_data(as_text=True)
    assert trainee.full_name in page and "0912 345 678" in page
    assert dispatch.job_order.employer.name in page
    assert "200.000" in page or "200,000" in page  # the contract wage
    assert "C1234567" in page and f"/me/documents/{passport.id}" in page
    assert "badge-expiring" in page  # expires within 60 days
    assert "R-77" in page and 'id="paid-total"' in page
    # Nothing of the other worker.
    assert "Trần Thị Bình" not in page and "B7654321" not in page
    assert "Bí mật" not in page
    assert client.get(f"/me/documents/{passport.id}").data.startswith(b"%PDF")


def test_url_tampering_finds_nothing_of_another_worker(client, login, mine, theirs):
    worker, *_ = mine
    _other, other_trainee, other_dispatch, document, grievance = theirs
    login(worker)
    for url in (f"/me/documents/{document.id}", f"/me/grievances/{grievance.id}",
                f"/me/grievances/{grievance.id}/attachment", "/me/documents/1",
                "/me/grievances/99999999999"):
        assert client.get(url).status_code == 404, url
    for url in (f"/trainees/{other_trainee.id}", f"/dispatch/{other_dispatch.id}",
                f"/dispatch/{other_dispatch.id}/documents/{document.id}/file",
                f"/grievances/{grievance.id}", "/grievances/", "/trainees/",
                f"/trainees/{other_trainee.id}/account", f"/grievances/new/{other_trainee.id}",
                "/jobs/", "/dispatch/", "/admin/users"):
        assert client.get(url).status_code == 403, url


def test_no_other_role_has_a_worker_page(client, login, make_user, mine):
    for role in ("admin", "department", "employer", "agency"):
        login(make_user(role=role))
        assert client.get("/me/").status_code == 403, role
        client.post("/auth/logout")


def test_a_wage_below_the_contract_raises_contract_substitution(client, login, mine):
    worker, _trainee, dispatch, _passport = mine
    login(worker)
    month = TODAY.replace(day=1).strftime("%Y-%m")
    response = client.post("/me/wages", data={"month": month, "amount_jpy": "200000"})
    assert response.status_code == 302
    scope = sa.select(Dispatch).where(Dispatch.id == dispatch.id)
    assert not [f for f in fees.flags(scope) if f.rule_id == "contract_substitution"]
    client.post("/me/wages", data={"month": month, "amount_jpy": "150000"})  # a correction
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WageReport)) == 1
    flags = [f for f in fees.flags(scope) if f.rule_id == "contract_substitution"]
    assert len(flags) == 1
    assert flags[0].details["changes"]["reported_wages"] == [
        [TODAY.replace(day=1).isoformat(), 150_000]]
    ids = sa.select(Dispatch.id).where(Dispatch.id == dispatch.id)
    assert reported_wages_below_contract(ids) == [
        (dispatch.id, TODAY.replace(day=1), 150_000, 200_000)]
    page = client.get("/me/").get_data(as_text=True)
    assert "wage-below" in page and "fee-flag" in page


def test_wages_only_after_deployment_and_for_past_months(login, client, make_org,
                                                          make_trainee, mine):
    worker, _trainee, dispatch, _passport = mine
    with pytest.raises(WageError):  # before the month work started
        wages.report_wage(worker, dispatch, TODAY - timedelta(days=200), 180_000)
    with pytest.raises(WageError):  # a month still to come
        wages.report_wage(worker, dispatch, TODAY + timedelta(days=40), 180_000)
    with pytest.raises(WageError):
        wages.report_wage(worker, dispatch, TODAY, 0)
    db.session.rollback()
    login(worker)
    refused = client.post("/me/wages", data={"month": "2020-01", "amount_jpy": "180000"})
    assert refused.status_code == 200 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    # Not deployed yet: no form, and the operation refuses.
    trainee = make_trainee()
    waiting = open_dispatch(make_org, make_trainee, trainee=trainee, stage="selected")
    other = make_worker(trainee)
    with pytest.raises(WageError) as refusal:
        wages.report_wage(other, waiting, TODAY, 180_000)
    assert refusal.value.code == "not_deployed"
    with pytest.raises(WageError):  # someone else's dispatch
        wages.report_wage(other, dispatch, TODAY, 180_000)


def test_ask_for_a_correction_reaches_the_department_only(client, login, switch_login,
                                                         make_user, mine):
    worker, trainee, _dispatch, _passport = mine
    login(worker)
    response = client.post("/me/correction",
                           data={"description": "Ngày sinh của tôi là 12/03/2001."})
    assert response.status_code == 302
    grievance = db.session.scalar(sa.select(Grievance))
    assert (grievance.category, grievance.agency_may_see) == ("documents", False)
    switch_login(make_user(role="department", province=trainee.province))
    assert "12/03/2001" in client.get(f"/grievances/{grievance.id}").get_data(as_text=True)


def test_the_worker_page_takes_a_fixed_number_of_queries(client, login, count_queries, mine):
    worker, *_ = mine
    login(worker)
    client.get("/me/")
    with count_queries() as n:
        assert client.get("/me/").status_code == 200
    assert n[0] <= 30


def test_the_worker_downloads_the_receipts_of_their_own_payments(client, login, mine, theirs):
    """What the agency stored as proof of a payment is the worker's proof too."""
    from matching.operations.fees import record_charge

    worker, _trainee, dispatch, _passport = mine
    _other, _other_trainee, other_dispatch, _document, _grievance = theirs
    own = record_charge(None, dispatch, kind="medical", amount=12_000, currency="JPY",
                        paid_on=TODAY - timedelta(days=150), payer="worker",
                        receipt_no="BV-12", upload=_pdf("medical.pdf"))
    other = record_charge(None, other_dispatch, kind="medical", amount=9_000,
                          currency="JPY", paid_on=TODAY - timedelta(days=20), payer="worker",
                          upload=_pdf("their-receipt.pdf"))
    db.session.commit()
    login(worker)
    page = client.get("/me/", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert f"/me/charges/{own.id}/receipt" in page and "xem biên lai" in page
    answer = client.get(f"/me/charges/{own.id}/receipt")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    assert "no-store" in answer.headers.get("Cache-Control", "")
    assert client.get(f"/me/charges/{other.id}/receipt").status_code == 404
    without_file = db.session.scalar(sa.select(Charge.id).where(Charge.receipt_no == "R-77"))
    assert client.get(f"/me/charges/{without_file}/receipt").status_code == 404
