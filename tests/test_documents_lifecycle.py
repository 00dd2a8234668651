"""Documents an agency can manage (issue 10 §7): replace, withdraw, only the current one
counts; the dates a step and its papers must keep; the TB certificate of the COE
application; stage names in vi and ja in status imports; consent withdrawn mid-dispatch."""

import html
import io
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

from matching.extensions import db
from matching.labels import STAGE_LABELS
from matching.models import Dispatch, Document, Trainee
from matching.operations.dispatch import (
    DispatchError,
    add_document,
    check_move,
    expiring_documents,
    missing_documents,
    move_dispatch,
    replace_document,
    withdraw_document,
)
from matching.operations.imports.statuses import import_statuses
from matching.vocab import fold
from tests.conftest import add_doc, english, open_dispatch

TODAY = date.today()
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


@pytest.fixture
def at(make_org, make_trainee, agency):
    """``at(stage, **kw)``: a dispatch of ``agency`` at ``stage``, selected 30 days ago."""
    def make(stage="training", **kw):
        return open_dispatch(make_org, make_trainee, stage=stage, agency=agency, **kw)
    return make


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


# -- replace and withdraw -------------------------------------------------------------------


def test_a_replaced_document_is_kept_as_superseded(at, agent):
    dispatch = at("coe_applied")
    old = add_document(agent, dispatch=dispatch, kind="passport", number="B1",
                       issued_on=TODAY - timedelta(days=400), expires_on=TODAY + timedelta(900))
    new = replace_document(agent, old, number="B2", issued_on=TODAY,
                           expires_on=TODAY + timedelta(days=3650))
    db.session.commit()
    old, new = fresh(Document, old.id), db.session.get(Document, new.id)
    assert (old.status, old.replaced_by_id) == ("superseded", new.id)
    assert new.status == "current" and new.trainee_id == dispatch.trainee_id
    assert new.created_by_id == agent.id and new.kind == "passport"
    with pytest.raises(DispatchError) as err:  # a superseded document is history
        replace_document(agent, old, number="B3", issued_on=TODAY, expires_on=None)
    assert err.value.code == "stale"


def test_a_withdrawal_needs_a_reason_and_records_who_and_when(at, agent, make_user):
    dispatch = at("coe_applied")
    doc = add_document(agent, dispatch=dispatch, kind="coe", number="C1", issued_on=TODAY,
                       expires_on=None)
    with pytest.raises(DispatchError) as err:
        withdraw_document(agent, doc, "   ")
    assert err.value.field == "reason"
    with pytest.raises(DispatchError) as err:
        withdraw_document(make_user(role="agency"), doc, "not ours")
    assert err.value.code == "forbidden"
    withdraw_document(agent, doc, "  Entered on the wrong worker ")
    db.session.commit()
    doc = fresh(Document, doc.id)
    assert doc.status == "withdrawn" and doc.withdrawn_by_id == agent.id
    assert doc.withdraw_reason == "Entered on the wrong worker" and doc.withdrawn_at
    with pytest.raises(DispatchError) as err:
        withdraw_document(agent, doc, "twice")
    assert err.value.code == "stale"


def test_only_the_current_document_counts_for_the_stage_rules(at, agent):
    dispatch = at("coe_applied")
    coe = add_document(agent, dispatch=dispatch, kind="coe", number="C1", issued_on=TODAY,
                       expires_on=None)
    assert missing_documents(dispatch, "coe_issued") == []
    withdraw_document(agent, coe, "scanned the wrong file")
    db.session.commit()
    assert missing_documents(fresh(Dispatch, dispatch.id), "coe_issued") == ["coe"]

    # A long-valid passport replaced by one expiring before departure: the new one counts.
    later = at("coe_issued", planned_departure=TODAY + timedelta(days=60))
    old = add_document(agent, dispatch=later, kind="passport", number="P-OLD",
                       issued_on=TODAY - timedelta(days=10), expires_on=TODAY + timedelta(3000))
    assert missing_documents(later, "visa_applied") == []
    replace_document(agent, old, number="P-NEW", issued_on=TODAY,
                     expires_on=TODAY + timedelta(days=30))
    db.session.commit()
    with pytest.raises(DispatchError) as err:
        check_move(fresh(Dispatch, later.id), "visa_applied", agent)
    assert "P-NEW" in english(err.value.message)


def found(**kw):
    return sorted((r.dispatch.id, r.number) for r in expiring_documents(**kw))


def test_only_current_documents_warn(at, agent):
    dispatch = at("training")
    soon = add_doc(dispatch, "passport", number="P-SOON", expires_on=TODAY + timedelta(5))
    assert found() == [(dispatch.id, "P-SOON")]
    replace_document(agent, soon, number="P-RENEWED", issued_on=TODAY,
                     expires_on=TODAY + timedelta(days=3650))
    db.session.commit()
    assert found() == []
    visa = add_doc(dispatch, "visa", number="V-TYPO", expires_on=TODAY + timedelta(3))
    assert found() == [(dispatch.id, "V-TYPO")]
    withdraw_document(agent, visa, "typo in the expiry date")
    db.session.commit()
    assert found() == []


@pytest.mark.parametrize(("stage", "warned"), [
    ("departed", True), ("deployed", False), ("completed", False), ("withdrawn", False),
    ("early_return", False)])
def test_warnings_stop_once_the_worker_is_at_work_or_the_dispatch_ended(at, stage, warned):
    dispatch = at(stage)
    add_doc(dispatch, "visa", number="V", expires_on=TODAY + timedelta(days=10))
    assert (found() == [(dispatch.id, "V")]) is warned


def test_the_tb_certificate_is_watched_until_the_coe_application(at):
    before, after = at("training"), at("coe_applied")
    for dispatch in (before, after):
        add_doc(dispatch, "tb_certificate", number=f"TB-{dispatch.id}",
                expires_on=TODAY + timedelta(days=5))
    assert found() == [(before.id, f"TB-{before.id}")]


# -- the TB certificate of the COE application ---------------------------------------------


def test_coe_applied_needs_a_tb_certificate_valid_on_the_application_date(at, agent):
    dispatch = at("training")
    with pytest.raises(DispatchError) as err:
        check_move(dispatch, "coe_applied", agent)
    assert err.value.code == "missing_document"
    assert "tuberculosis" in english(err.value.message)
    # Valid 180 days from its issue date: one from 200 days ago no longer counts.
    old = add_document(agent, dispatch=dispatch, kind="tb_certificate", number="TB-1",
                       issued_on=TODAY - timedelta(days=200), expires_on=None)
    assert old.expires_on == old.issued_on + timedelta(days=180)
    with pytest.raises(DispatchError) as err:
        check_move(dispatch, "coe_applied", agent)
    assert err.value.code == "expired_document"
    # The planned departure does not matter: only the application date does.
    dispatch.planned_departure = TODAY + timedelta(days=400)
    add_document(agent, dispatch=dispatch, kind="tb_certificate", number="TB-2",
                 issued_on=TODAY - timedelta(days=3), expires_on=None)
    check_move(dispatch, "coe_applied", agent)
    # An application dated before the certificate was not filed with it.
    with pytest.raises(DispatchError):
        check_move(dispatch, "coe_applied", agent, on=TODAY - timedelta(days=5))
    move_dispatch(dispatch, "coe_applied", agent, expected_version=dispatch.version)
    db.session.commit()
    assert fresh(Dispatch, dispatch.id).stage == "coe_applied"


def test_a_tb_certificate_needs_its_issue_date(at, agent):
    with pytest.raises(DispatchError) as err:
        add_document(agent, dispatch=at(), kind="tb_certificate", number="TB", issued_on=None,
                     expires_on=None)
    assert err.value.field == "issued_on" and "180" in english(err.value.message)


# -- the dates a step and its papers keep ---------------------------------------------------


def test_a_step_date_cannot_be_before_the_previous_one(at, agent):
    dispatch = at("selected")  # selected 30 days ago
    with pytest.raises(DispatchError) as err:
        check_move(dispatch, "contracted", agent, on=TODAY - timedelta(days=31))
    assert err.value.code == "bad_date"


def _applied(at, agent, days_ago=5):
    dispatch = at("training")
    add_doc(dispatch, "tb_certificate", issued_on=TODAY - timedelta(days=20))
    move_dispatch(dispatch, "coe_applied", agent, expected_version=dispatch.version,
                  happened_on=TODAY - timedelta(days=days_ago))
    db.session.commit()
    return dispatch


def test_a_coe_issued_before_it_was_applied_for_is_refused(at, agent):
    dispatch = _applied(at, agent)
    with pytest.raises(DispatchError) as err:  # on the document form
        add_document(agent, dispatch=dispatch, kind="coe", number="C-EARLY",
                     issued_on=TODAY - timedelta(days=6), expires_on=None)
    assert err.value.field == "issued_on"
    assert "before it was applied for" in english(err.value.message)
    # At the move, a COE recorded some other way (an old row, an import) is refused too.
    early = add_doc(dispatch, "coe", number="C-EARLY", issued_on=TODAY - timedelta(days=6))
    with pytest.raises(DispatchError) as err:
        check_move(dispatch, "coe_issued", agent)
    assert "before it was applied for" in english(err.value.message)
    assert missing_documents(dispatch, "coe_issued") == ["coe"]
    replace_document(agent, early, number="C-OK", issued_on=TODAY - timedelta(days=5),
                     expires_on=TODAY + timedelta(days=90))
    check_move(dispatch, "coe_issued", agent)


def test_a_flight_after_the_planned_departure_is_refused(at, agent):
    dispatch = at("visa_issued", planned_departure=TODAY + timedelta(days=10))
    for kind in ("passport", "visa"):
        add_doc(dispatch, kind)
    with pytest.raises(DispatchError) as err:
        add_document(agent, dispatch=dispatch, kind="flight", number="VN300",
                     issued_on=TODAY + timedelta(days=12), expires_on=None)
    assert err.value.field == "issued_on"
    assert "after the planned departure" in english(err.value.message)
    add_doc(dispatch, "flight", number="VN300", issued_on=TODAY + timedelta(days=12))
    with pytest.raises(DispatchError) as err:
        check_move(dispatch, "departed", agent)
    assert "after the planned departure" in english(err.value.message)


# -- status imports in three languages -----------------------------------------------------


def label(code: str, locale: str) -> str:
    with force_locale(locale):
        return str(STAGE_LABELS[code])


def test_status_imports_accept_stage_names_in_vi_and_ja(at, agent):
    dispatch = at("selected")
    vi, ja = label("contracted", "vi"), label("training", "ja")
    assert vi != label("contracted", "en") and ja != label("training", "en")
    trainee, job = dispatch.trainee.external_id, dispatch.job_order.external_id
    rows = [{"trainee_external_id": trainee, "job_order_external_id": job, "stage": stage}
            # folded: no diacritics, other case, extra spaces
            for stage in (fold(vi).upper(), f"  {ja} ")]
    result = import_statuses(rows, user=agent)
    assert result.ok, [english(e.message) for e in result.errors]
    assert fresh(Dispatch, dispatch.id).stage == "training"
    bad = import_statuses([{"trainee_external_id": trainee, "job_order_external_id": job,
                            "stage": "đang chờ"}], user=agent)
    assert not bad.ok and "Unknown stage" in english(bad.errors[0].message)


# -- the dispatch page ----------------------------------------------------------------------


def test_replace_and_withdraw_on_the_dispatch_page(client, login, at, agent, make_user):
    dispatch = at("coe_applied")
    old = add_document(agent, dispatch=dispatch, kind="coe", number="COE-OLD", issued_on=TODAY,
                       expires_on=None, upload=FileStorage(io.BytesIO(PDF), "coe.pdf"))
    agent.locale = "en"  # the page's words, whatever the default locale
    db.session.commit()
    login(agent)
    page = client.get(f"/dispatch/{dispatch.id}?replace={old.id}").get_data(as_text=True)
    assert 'id="replace-document"' in page and f"/documents/{old.id}/replace" in page
    response = client.post(f"/dispatch/{dispatch.id}/documents/{old.id}/replace",
                           data={"kind": "visa", "number": "COE-NEW",
                                 "issued_on": TODAY.isoformat()})
    assert response.status_code == 302
    new = fresh(Document, old.id).replaced_by
    assert new.kind == "coe" and new.number == "COE-NEW"  # the kind is the old one's
    response = client.post(f"/dispatch/{dispatch.id}/documents/{new.id}/withdraw",
                           data={"reason": ""})
    assert response.status_code == 200 and fresh(Document, new.id).is_current
    response = client.post(f"/dispatch/{dispatch.id}/documents/{new.id}/withdraw",
                           data={"reason": "Belongs to another worker"})
    assert response.status_code == 302 and fresh(Document, new.id).status == "withdrawn"
    page = html.unescape(client.get(f"/dispatch/{dispatch.id}").get_data(as_text=True))
    history = page[page.index('id="document-history-table"'):]
    assert "<del>COE-OLD</del>" in history and "<del>COE-NEW</del>" in history
    assert "Belongs to another worker" in history and "Replaced by" in history
    # The superseded file stays downloadable by who may see the dispatch.
    assert client.get(f"/dispatch/{dispatch.id}/documents/{old.id}/file").data == PDF
    # The employer reads the page but gets neither action.
    employer = make_user(role="employer", org=dispatch.job_order.employer)
    client.post("/auth/logout")
    login(employer)
    page = client.get(f"/dispatch/{dispatch.id}").get_data(as_text=True)
    assert "/withdraw" not in page and "replace=" not in page
    assert client.post(f"/dispatch/{dispatch.id}/documents/{old.id}/withdraw",
                       data={"reason": "x"}).status_code == 403


# -- consent -------------------------------------------------------------------------------


def _edit_data(trainee, **overrides) -> dict:
    data = {"external_id": trainee.external_id, "full_name": trainee.full_name,
            "date_of_birth": trainee.date_of_birth.isoformat(), "school": trainee.school,
            "field": trainee.field, "skills": "welding", "japanese_level": "N4",
            "status": trainee.status, "consent": "y",
            "preferred_prefectures": ["aichi", "osaka"]}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_withdrawing_consent_during_a_dispatch_asks_for_confirmation(client, login, at,
                                                                      make_user):
    dispatch = at("visa_applied")
    trainee = dispatch.trainee
    login(make_user(role="department", province="nghe-an", locale="en"))
    url = f"/trainees/{trainee.id}/edit"
    response = client.post(url, data=_edit_data(trainee, consent=None))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and 'id="confirm-consent"' in page
    assert dispatch.job_order.external_id in page and "Withdrawn" in page
    assert 'name="preferred_prefectures" value="osaka"' in page  # the form comes back whole
    assert fresh(Trainee, trainee.id).consent is True
    response = client.post(url, data=_edit_data(trainee, consent=None, confirm_consent="yes"))
    assert response.status_code == 302
    assert fresh(Trainee, trainee.id).consent is False


def test_consent_without_an_open_dispatch_needs_no_confirmation(client, login, make_trainee,
                                                                make_user):
    trainee = make_trainee(status="available")
    login(make_user(role="department", province="nghe-an"))
    response = client.post(f"/trainees/{trainee.id}/edit",
                           data=_edit_data(trainee, consent=None))
    assert response.status_code == 302 and fresh(Trainee, trainee.id).consent is False
