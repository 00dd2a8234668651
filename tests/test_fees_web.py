"""The fee ledger on the web (issue 13 §1–2): the dispatch page's section (payments, receipt,
contract, flags, totals), who sees what, the import pages, the exchange rates, and the
panels of the department's pipeline and the agency's board."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.fees import refresh_dispatches
from matching.models import Charge, Dispatch, Document, ExchangeRate, JobOrder, StatusEvent
from tests.conftest import open_dispatch

TODAY = date.today()
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def world(make_org, make_trainee, make_user):
    agency = make_org(kind="agency", name="Sao Mai Manpower")
    dispatch = open_dispatch(make_org, make_trainee, agency=agency, stage="contracted",
                             trainee=make_trainee(external_id="VN-100", province="nghe-an"))
    job = db.session.get(JobOrder, dispatch.job_order_id)
    job.monthly_salary_jpy, job.visa_track, job.prefecture = 200_000, "TITP", "aichi"
    db.session.add(StatusEvent(dispatch_id=dispatch.id, from_stage="selected",
                               to_stage="contracted", happened_on=TODAY - timedelta(days=20)))
    refresh_dispatches([dispatch.id])  # written here, not through the operations
    db.session.commit()
    users = {"agency": make_user(role="agency", org=agency, locale="en"),
             "department": make_user(role="department", province="nghe-an", locale="en"),
             "other_department": make_user(role="department", province="thanh-hoa",
                                           locale="en"),
             "employer": make_user(role="employer", org=job.employer, locale="en"),
             "admin": make_user(role="admin", locale="en")}
    return dispatch, users


def page(client, dispatch) -> str:
    response = client.get(f"/dispatch/{dispatch.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def charge_data(**values):
    data = {"kind": "medical", "amount": "12.000", "currency": "JPY",
            "paid_on": (TODAY - timedelta(days=3)).isoformat(), "payer": "worker",
            "payee": "Bệnh viện Đa khoa", "receipt_no": "BL-77", "note": ""}
    data.update(values)
    return data


def test_the_agency_records_a_payment_with_its_receipt(client, login, world):
    dispatch, users = world
    login(users["agency"])
    data = charge_data(file=(io.BytesIO(PDF), "bien-lai.pdf"))
    response = client.post(f"/fees/dispatch/{dispatch.id}/charges", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 302
    charge = db.session.scalar(sa.select(Charge))
    assert (charge.kind, charge.amount, charge.currency) == ("medical", 12_000, "JPY")
    assert charge.receipt_document.kind == "receipt"
    html = page(client, dispatch)
    assert 'id="ledger-table"' in html and "Bệnh viện Đa khoa" in html
    assert "Paid by the worker: ¥12,000" in html
    assert "688,143" in html
    # The receipt is served with its payment, not among the dispatch's documents.
    assert 'id="documents-table"' not in html
    receipt = client.get(f"/fees/dispatch/{dispatch.id}/charges/{charge.id}/receipt")
    assert receipt.status_code == 200 and receipt.data == PDF
    assert receipt.headers["Cache-Control"] == "no-store"
    # Deleted by mistake: gone from the ledger; its receipt stays, withdrawn.
    response = client.post(f"/fees/dispatch/{dispatch.id}/charges/{charge.id}/delete")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Charge)) == 0
    assert db.session.scalar(sa.select(Document.status)) == "withdrawn"


def test_a_payment_in_dong_without_a_rate_is_refused_with_a_clear_message(client, login, world):
    dispatch, users = world
    login(users["agency"])
    response = client.post(f"/fees/dispatch/{dispatch.id}/charges",
                           data=charge_data(currency="VND", amount="5.000.000"),
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "There is no VND exchange rate on or before" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Charge)) == 0
    response = client.post(f"/fees/dispatch/{dispatch.id}/charges",
                           data=charge_data(amount="12,5"), follow_redirects=True)
    assert "The amount must be a whole number" in response.get_data(as_text=True)


def test_who_sees_the_ledger_and_its_flags(client, switch_login, world):
    dispatch, users = world
    db.session.add_all([
        Charge(dispatch_id=dispatch.id, kind="brokerage", amount=30_000, currency="JPY",
               paid_on=TODAY - timedelta(days=10), payer="worker", payee="Môi giới X"),
        Charge(dispatch_id=dispatch.id, kind="training", amount=50_000, currency="JPY",
               paid_on=TODAY - timedelta(days=10), payer="worker", payee="Trung tâm"),
    ])
    refresh_dispatches([dispatch.id])
    db.session.commit()
    for role in ("department", "agency", "admin"):
        switch_login(users[role])
        html = page(client, dispatch)
        assert 'data-rule="brokerage_charged"' in html, role
        assert "Law 69/2020/QH14" in html and "Môi giới X" in html
    # The employer: only what the worker paid in all.
    switch_login(users["employer"])
    html = page(client, dispatch)
    assert "Paid by the worker: ¥80,000" in html
    assert "Môi giới X" not in html and "brokerage_charged" not in html
    assert 'id="ledger-table"' not in html
    charge = db.session.scalar(sa.select(Charge.id).where(Charge.kind == "brokerage"))
    assert client.get(f"/fees/dispatch/{dispatch.id}/charges/{charge}/receipt"
                      ).status_code == 403
    # Another province's department does not even find the dispatch.
    switch_login(users["other_department"])
    assert client.get(f"/dispatch/{dispatch.id}").status_code == 404
    listing = client.get("/fees/").get_data(as_text=True)
    assert "VN-100" not in listing and 'id="no-flags"' in listing


def test_the_contract_is_prefilled_at_contracted_and_corrected(client, login, world, make_org,
                                                               make_trainee):
    dispatch, users = world
    fresh = open_dispatch(make_org, make_trainee, agency=dispatch.agency)
    job = db.session.get(JobOrder, fresh.job_order_id)
    job.monthly_salary_jpy, job.prefecture, job.visa_track = 210_000, "osaka", "SSW1"
    db.session.commit()
    login(users["agency"])
    response = client.post(f"/dispatch/{fresh.id}/move",
                           data={"to_stage": "contracted", "version": fresh.version,
                                 "happened_on": TODAY.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Dispatch, fresh.id)
    assert (fresh.contract_wage_jpy, fresh.contract_months, fresh.contract_prefecture,
            fresh.contract_employer_id) == (210_000, 12, "osaka", job.employer_id)
    html = page(client, fresh)
    assert 'id="contract-terms"' in html and "12 months" in html
    assert 'data-rule="contract_substitution"' not in html
    response = client.post(f"/fees/dispatch/{fresh.id}/contract", data={
        "wage_jpy": "190,000", "months": "12", "field": fresh.contract_field,
        "prefecture": "osaka", "employer_id": str(job.employer_id), "track_stage": ""})
    assert response.status_code == 302
    html = page(client, fresh)
    assert 'data-rule="contract_substitution"' in html
    assert "a wage of ¥190,000 instead of the ¥210,000 advertised" in html


def test_the_department_pipeline_and_the_agency_board_show_the_fee_panel(client, switch_login,
                                                                          world):
    dispatch, users = world
    db.session.add(Charge(dispatch_id=dispatch.id, kind="deposit", amount=100_000,
                          currency="JPY", paid_on=TODAY - timedelta(days=2), payer="worker",
                          payee="Sao Mai"))
    refresh_dispatches([dispatch.id])
    db.session.commit()
    switch_login(users["department"])
    html = client.get("/dispatch/province").get_data(as_text=True)
    assert 'id="fee-summary"' in html and "1 flag against the law" in html
    assert "Paid by the worker: ¥100,000" in html and "688,143" in html
    listing = client.get("/fees/?rule=deposit_charged").get_data(as_text=True)
    assert 'data-rule="deposit_charged"' in listing and "Sao Mai Manpower" in listing
    switch_login(users["agency"])
    html = client.get("/dispatch/").get_data(as_text=True)
    assert 'id="fee-summary"' in html and "1 flag against the law" in html


def test_the_admin_maintains_exchange_rates(client, login, world):
    _dispatch, users = world
    login(users["admin"])
    response = client.post("/fees/rates", data={"currency": "VND", "valid_on": "2026-01-05",
                                                "rate": "0,0059", "source": "SBV"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(ExchangeRate.rate_to_jpy)) == Decimal("0.0059")
    html = client.get("/fees/rates").get_data(as_text=True)
    assert "0.0059" in html and "SBV" in html
    response = client.post("/fees/rates", data={"currency": "VND", "valid_on": "2026-01-05",
                                                "rate": "abc"})
    assert response.status_code == 200
    assert "The rate must be a number of yen above 0" in response.get_data(as_text=True)


def test_payments_from_a_file_on_the_web(client, login, world):
    dispatch, users = world
    login(users["agency"])
    csv = ("trainee_external_id,job_order_external_id,kind,amount,currency,paid_on,payer,"
           "payee,receipt_no,note\n"
           f"VN-100,{dispatch.job_order.external_id},visa,8000,JPY,"
           f"{(TODAY - timedelta(days=4)).isoformat()},worker,Đại sứ quán,,\n")
    response = client.post("/fees/import", data={"file": (io.BytesIO(csv.encode()),
                                                           "fees.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="count-created"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Charge)) == 0
    response = client.post("/fees/import/confirm", follow_redirects=True)
    assert "1 payments recorded on 1 dispatches" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Charge.kind)) == "visa"
