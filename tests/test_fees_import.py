"""The fee ledger's public format: `import fees FILE [--dry-run]` and ``import_fees``, and
`fees check` (issue 13 §1–2)."""

import json
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Charge, ExchangeRate
from matching.operations.imports.fees import import_fees, parse_amount
from matching.operations.imports.parsing import CellError, import_file
from tests.conftest import messages, open_dispatch, xlsx

import_fees_file = partial(import_file, import_rows=import_fees)
TODAY = date.today()
PAID = (TODAY - timedelta(days=5)).isoformat()
HEADER = ("trainee_external_id,job_order_external_id,kind,amount,currency,paid_on,payer,payee,"
          "receipt_no,note\n")


@pytest.fixture
def two(make_org, make_trainee, agency):
    first = open_dispatch(make_org, make_trainee, agency=agency, stage="contracted",
                          trainee=make_trainee(external_id="VN-001"))
    second = open_dispatch(make_org, make_trainee, agency=agency,
                           trainee=make_trainee(external_id="VN-002"))
    db.session.add(ExchangeRate(currency="VND", valid_on=TODAY - timedelta(days=30),
                                rate_to_jpy=Decimal("0.006")))
    db.session.commit()
    return first, second


def csv_file(tmp_path, text: str):
    path = tmp_path / "fees.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    return str(path)


def ledger(dispatch):
    return db.session.execute(sa.select(Charge.kind, Charge.amount, Charge.currency,
                                        Charge.payer).where(Charge.dispatch_id == dispatch.id)
                              .order_by(Charge.amount)).all()


def test_a_good_file_records_every_payment_once(runner, tmp_path, two):
    first, second = two
    path = csv_file(tmp_path,
                    f"VN-001,{first.job_order.external_id},service_fee,15.000.000,VND,{PAID},"
                    "worker,Công ty A,PT-1,\n"
                    f"VN-001,{first.job_order.external_id},Học tiếng (khoá học ngoại ngữ),"
                    f"\"3,000,000\",đ,{PAID},người lao động,Trung tâm B,,\n"
                    f"VN-002,{second.job_order.external_id},flight,65000,JPY,{PAID},employer,,,\n")
    result = runner.invoke(args=["import", "fees", path, "--dry-run"])
    assert result.exit_code == 1  # the kind's label is not the site's: an error, said
    assert "line 3, kind: Unknown kind of payment" in result.output
    path = csv_file(tmp_path,
                    f"VN-001,{first.job_order.external_id},service_fee,15.000.000,VND,{PAID},"
                    "worker,Công ty A,PT-1,\n"
                    f"VN-001,{first.job_order.external_id},language_course,"
                    f"\"3,000,000\",đ,{PAID},người lao động,Trung tâm B,,\n"
                    f"VN-002,{second.job_order.external_id},flight,65000,JPY,{PAID},employer,,,\n")
    result = runner.invoke(args=["import", "fees", path, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 payments to record on 2 dispatches, 0 unchanged" in result.output
    assert ledger(first) == []
    result = runner.invoke(args=["import", "fees", path])
    assert result.exit_code == 0, result.output
    assert ledger(first) == [("language_course", 3_000_000, "VND", "worker"),
                             ("service_fee", 15_000_000, "VND", "worker")]
    assert ledger(second) == [("flight", 65_000, "JPY", "employer")]
    result = runner.invoke(args=["import", "fees", path])
    assert "3 rows: 0 payments recorded on 0 dispatches, 3 unchanged" in result.output
    assert len(ledger(first)) == 2


def test_every_bad_row_is_reported_and_nothing_written(app, two):
    first, second = two
    job = first.job_order.external_id
    old = (TODAY - timedelta(days=60)).isoformat()
    rows = [
        {"trainee_external_id": "VN-001", "job_order_external_id": job, "kind": "service_fee",
         "amount": "1000", "currency": "JPY", "paid_on": PAID, "payer": "worker"},  # good
        {"trainee_external_id": "VN-001", "job_order_external_id": job, "kind": "bribe",
         "amount": "1000", "currency": "JPY", "paid_on": PAID, "payer": "worker"},
        {"trainee_external_id": "VN-001", "job_order_external_id": job, "kind": "service_fee",
         "amount": "12.5", "currency": "JPY", "paid_on": PAID, "payer": "worker"},
        {"trainee_external_id": "VN-001", "job_order_external_id": job, "kind": "service_fee",
         "amount": "1000", "currency": "USD", "paid_on": PAID, "payer": "worker"},
        {"trainee_external_id": "VN-001", "job_order_external_id": job, "kind": "service_fee",
         "amount": "1000000", "currency": "VND", "paid_on": old, "payer": "worker"},
        {"trainee_external_id": "VN-001", "job_order_external_id": job,
         "kind": "service_fee_refund", "amount": "1000", "currency": "JPY", "paid_on": PAID,
         "payer": "worker"},
        {"trainee_external_id": "VN-404", "job_order_external_id": job, "kind": "visa",
         "amount": "1000", "currency": "JPY", "paid_on": PAID, "payer": "worker"},
        {"trainee_external_id": "VN-001", "job_order_external_id": job, "kind": "visa",
         "amount": "1000", "currency": "JPY", "paid_on": "2026-13-01", "payer": "worker"},
        {"trainee_external_id": "VN-001", "job_order_external_id": job, "kind": "visa",
         "amount": "", "currency": "JPY", "paid_on": PAID, "payer": "someone"},
    ]
    result = import_fees(rows)
    found = messages(result)
    assert [(line, column) for line, column, _ in found] == [
        (3, "kind"), (4, "amount"), (5, "currency"), (6, "currency"), (7, "payer"),
        (8, "trainee_external_id"), (9, "paid_on"), (10, "amount"), (10, "payer")]
    assert "no VND exchange rate on or before" in found[3][2]
    assert "paid to the worker" in found[4][2]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Charge)) == 0


def test_an_agency_imports_only_for_its_own_dispatches(app, two, make_user, make_org,
                                                        make_trainee):
    first, _ = two
    other = open_dispatch(make_org, make_trainee, trainee=make_trainee(external_id="VN-003"))
    agent = make_user(role="agency", org=first.agency)
    rows = [{"trainee_external_id": "VN-003", "job_order_external_id":
             other.job_order.external_id, "kind": "visa", "amount": "1000", "currency": "JPY",
             "paid_on": PAID, "payer": "worker"}]
    assert [c for _l, c, _m in messages(import_fees(rows, user=agent))] == [
        "trainee_external_id"]
    department = make_user(role="department")
    refused = messages(import_fees(rows, user=department))
    assert refused == [(0, None, "Only administrators and dispatch agencies may import "
                                 "payments.")]


def test_the_excel_template_reads_back(app, two):
    import io

    from openpyxl import load_workbook

    from matching.import_templates import template_workbook

    first, _ = two
    db.session.add(ExchangeRate(currency="VND", valid_on=date(2026, 1, 1),
                                rate_to_jpy=Decimal("0.0058")))
    db.session.commit()
    book = load_workbook(io.BytesIO(template_workbook("fees", "vi")))
    header = [cell.value for cell in book.active[1]]
    assert header[:3] == ["Mã học viên", "Mã đơn hàng", "Khoản thu"]
    values = [cell.value for cell in book.active[2]]
    values[1] = first.job_order.external_id
    values[0] = "VN-001"
    values[header.index("Tỉnh/Thành phố")] = None
    result = import_fees_file(xlsx([header, values]), "fees.xlsx", dry_run=True)
    assert result.ok, messages(result)
    assert result.created == 1


@pytest.mark.parametrize(("text", "amount"), [("15000000", 15_000_000),
                                              ("15.000.000", 15_000_000),
                                              ("15,000,000", 15_000_000),
                                              ("15 000 000 đ", 15_000_000),
                                              ("¥65,000", 65_000), ("65000円", 65_000),
                                              ("15000000.0", 15_000_000)])
def test_amounts_as_people_write_them(text, amount):
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["12.5", "1,5", "0", "-100", "abc", "1.00.000"])
def test_amounts_that_are_not_whole(text):
    with pytest.raises(CellError):
        parse_amount(text)


# -- fees check ---------------------------------------------------------------------------------


def test_fees_check_prints_every_flag_as_json(runner, two, make_org):
    first, second = two
    db.session.add_all([
        Charge(dispatch_id=first.id, kind="brokerage", amount=2_000_000, currency="VND",
               paid_on=TODAY - timedelta(days=5), payer="worker", payee="Broker"),
        Charge(dispatch_id=second.id, kind="deposit", amount=30_000, currency="JPY",
               paid_on=TODAY - timedelta(days=5), payer="worker", payee="Agency"),
    ])
    db.session.commit()
    result = runner.invoke(args=["fees", "check", "--format", "json"])
    assert result.exit_code == 0, result.output
    flags = json.loads(result.output)
    by_rule = {flag["rule"]: flag for flag in flags}
    assert set(by_rule) == {"brokerage_charged", "deposit_charged"}
    brokerage = by_rule["brokerage_charged"]
    assert brokerage["trainee_external_id"] == "VN-001"
    assert brokerage["job_order_external_id"] == first.job_order.external_id
    assert brokerage["agency"] == first.agency.code
    assert (brokerage["amount_jpy"], brokerage["limit_jpy"]) == (12_000, 0)
    assert brokerage["source"].startswith("Law 69/2020/QH14")
    assert brokerage["rates"][0]["rate_to_jpy"] == "0.00600000"
    # Narrowed to another agency, or a province with nobody: no flag.
    other = make_org(kind="agency", code="AG-OTHER")
    result = runner.invoke(args=["fees", "check", "--format", "json", "--agency", other.code])
    assert json.loads(result.output) == []
    result = runner.invoke(args=["fees", "check", "--format", "json", "--province", "Hà Nội"])
    assert json.loads(result.output) == []
    result = runner.invoke(args=["fees", "check", "--province", "atlantis"])
    assert result.exit_code != 0 and "unknown province" in result.output
    result = runner.invoke(args=["fees", "check", "--province", "nghe-an", "--locale", "vi"])
    assert "brokerage_charged" in result.output and "2 flag(s)" in result.output
    assert "Luật" in result.output


def test_fees_rate_sets_and_corrects_a_rate(runner, app):
    result = runner.invoke(args=["fees", "rate", "VND", "2026-01-05", "0,0061"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["fees", "rate", "VND", "2026-01-05", "0.0062"])
    assert result.exit_code == 0, result.output
    assert db.session.scalars(sa.select(ExchangeRate.rate_to_jpy)).all() == [Decimal("0.0062")]
    result = runner.invoke(args=["fees", "rate", "VND", "2026-01-05", "-1"])
    assert result.exit_code != 0


# -- job orders: the contract length -------------------------------------------------------------


def test_job_orders_carry_an_optional_contract_length(app, make_org):
    from matching.models import JobOrder
    from matching.operations.imports.job_orders import import_job_orders

    base = {"employer": "Sakura Foods", "title": "Line worker", "field": "construction",
            "min_japanese_level": "N4", "headcount": "1"}
    rows = [dict(base, external_id="JO-C1", visa_track="TITP", contract_months=""),
            dict(base, external_id="JO-C2", visa_track="SSW1", contract_months="24"),
            dict(base, external_id="JO-C3", visa_track="SSW1", contract_months="0")]
    assert [(line, column) for line, column, _ in messages(import_job_orders(rows))] == [
        (4, "contract_months")]
    assert import_job_orders(rows[:2]).ok
    jobs = {j.external_id: j for j in db.session.scalars(sa.select(JobOrder))}
    assert jobs["JO-C1"].contract_months is None
    assert jobs["JO-C1"].contract_months_or_default == 36
    assert jobs["JO-C2"].contract_months_or_default == 24


def test_the_job_form_keeps_the_contract_length(client, make_user, login):
    from matching.models import JobOrder

    employer = make_user(role="employer", locale="en")
    login(employer)
    data = {"title": "Welder", "field": "construction", "min_language_level": "N4",
            "headcount": "2", "prefecture": "aichi", "monthly_salary_jpy": "220000",
            "visa_track": "SSW1", "contract_months": "18"}
    response = client.post("/jobs/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    job = db.session.scalar(sa.select(JobOrder))
    assert job.contract_months == 18
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "18 months" in page
    response = client.post("/jobs/new", data=dict(data, contract_months="500"))
    assert response.status_code == 200
    assert "Enter a contract length from 1 to 120 months" in response.get_data(as_text=True)
