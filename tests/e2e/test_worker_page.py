"""A worker's own page in a real browser (issue 13 §3–4): the department invites a trainee
(link and QR code), the worker opens the link on a phone (390 px), chooses a password and
reads their page in Vietnamese, reports a wage, sends a grievance, and sees the department's
answer. Screenshots of the phone page go to the test's temporary folder."""

import io
from datetime import date, timedelta

from playwright.sync_api import expect
from werkzeug.datastructures import FileStorage

from matching.extensions import db
from matching.fees import refresh_dispatches
from matching.models import Charge, StatusEvent
from matching.operations.dispatch import add_document
from tests.conftest import PASSWORD, open_dispatch
from tests.e2e.conftest import log_in, watch_csp
from tests.workers import department_of

TODAY = date.today()
PHONE = {"width": 390, "height": 844}


def _deployed_worker(make_org, make_trainee):
    trainee = make_trainee(province="nghe-an", full_name="Nguyễn Thị Ánh Tuyết",
                           email="anh.tuyet@example.vn", phone="0912 345 678",
                           field="nursing_care")
    dispatch = open_dispatch(make_org, make_trainee, trainee=trainee)
    job = dispatch.job_order
    job.title, job.prefecture, job.monthly_salary_jpy = "Điều dưỡng viên", "aichi", 210_000
    job.employer.name = "Kabushiki Kaisha Sakura Kaigo Service (株式会社さくら介護サービス)"
    dispatch.agency.name = "Công ty Cổ phần Phát triển Nguồn nhân lực Hoa Sen Nghệ An"
    dispatch.contract_wage_jpy, dispatch.contract_months = 210_000, 36
    previous = "selected"
    for stage in ("contracted", "training", "coe_applied", "coe_issued", "visa_applied",
                  "visa_issued", "departed", "deployed"):
        db.session.add(StatusEvent(dispatch_id=dispatch.id, from_stage=previous,
                                   to_stage=stage, happened_on=TODAY - timedelta(days=60)))
        previous = stage
    dispatch.stage = "deployed"
    db.session.add_all([
        Charge(dispatch_id=dispatch.id, kind="training", amount=45_000, currency="JPY",
               paid_on=TODAY - timedelta(days=300), payer="worker",
               payee="Trung tâm đào tạo ngoại ngữ Hoa Sen", receipt_no="HS-2026-0113"),
        Charge(dispatch_id=dispatch.id, kind="brokerage", amount=120_000, currency="JPY",
               paid_on=TODAY - timedelta(days=280), payer="worker", payee="Môi giới"),
    ])
    refresh_dispatches([dispatch.id])  # written here, not through the operations
    db.session.commit()
    add_document(None, dispatch=dispatch, kind="passport", number="C1234567",
                 issued_on=TODAY - timedelta(days=900), expires_on=TODAY + timedelta(days=40),
                 upload=FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="hc.pdf"))
    db.session.commit()
    return trainee


def _fits(page) -> None:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"the page scrolls sideways: {scroll} > {inner}"


def test_worker_opens_the_link_and_uses_their_page_on_a_phone(
        browser, live_server, page, make_org, make_trainee, make_user, tmp_path):
    trainee = _deployed_worker(make_org, make_trainee)
    officer = make_user(role="department", org=department_of(trainee), locale="vi",
                        email="can.bo@nghean.example")

    # The officer invites the trainee from the trainee page: a link and a QR code.
    log_in(page, officer.email, PASSWORD)
    page.goto(f"/trainees/{trainee.id}")
    page.click("#worker-account-link")
    page.click("main form button[type=submit]")
    expect(page.locator("#invitation-qr svg")).to_be_visible()
    link = page.locator("#invitation-link").get_attribute("href")
    page.screenshot(path=str(tmp_path / "invitation.png"), full_page=True)

    # The worker's phone: the browser speaks English, the page Vietnamese.
    phone = browser.new_context(locale="en-US", base_url=live_server, viewport=PHONE)
    worker = phone.new_page()
    violations = watch_csp(worker)
    worker.goto(link)
    expect(worker.locator("html")).to_have_attribute("lang", "vi")
    expect(worker.locator("#email")).to_have_value("anh.tuyet@example.vn")
    worker.fill("#password", "mat khau cua toi 2026")
    worker.fill("#confirm", "mat khau cua toi 2026")
    worker.click("main form [type=submit]")
    expect(worker.locator("h1")).to_contain_text("Xin chào, Nguyễn Thị Ánh Tuyết")
    main = worker.locator("main")
    expect(main).to_contain_text("Hồ sơ của tôi")
    expect(main).to_contain_text("C1234567")
    expect(main).to_contain_text("HS-2026-0113")
    expect(main.locator(".fee-flag")).to_have_count(1)  # the brokerage
    _fits(worker)
    worker.screenshot(path=str(tmp_path / "worker-page-vi-390.png"), full_page=True)

    # A wage below the contract.
    worker.fill("#amount_jpy", "180000")
    worker.click("#wage-form [type=submit]")
    expect(worker.locator(".wage-below")).to_have_count(1)
    expect(main.locator(".fee-flag")).to_have_count(2)  # and contract_substitution

    # A grievance, which the officer acknowledges.
    worker.click("#new-grievance")
    worker.select_option("#category", "working_hours")
    worker.fill("#description", "Tuần này tôi phải làm 70 giờ, không được trả tiền làm thêm.")
    worker.click("#grievance-form [type=submit]")
    expect(worker.locator("main")).to_contain_text("Mới gửi")
    _fits(worker)
    grievance_url = worker.url

    page.goto("/grievances/")
    page.locator("#grievances tbody a").first.click()
    page.select_option("#to_state", "acknowledged")
    page.fill("#note", "Sở đã liên hệ doanh nghiệp, sẽ báo lại trong tuần.")
    page.click("#transition [type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()

    worker.goto(grievance_url)
    expect(worker.locator("main")).to_contain_text("Đã tiếp nhận")
    expect(worker.locator("main")).to_contain_text("Sở đã liên hệ doanh nghiệp")
    _fits(worker)
    worker.screenshot(path=str(tmp_path / "worker-grievance-vi-390.png"), full_page=True)
    worker.goto("/me/")
    worker.screenshot(path=str(tmp_path / "worker-page-after-vi-390.png"), full_page=True)
    print(f"\nscreenshots: {tmp_path}")
    phone.close()
    assert violations == [], "the worker's page broke its Content-Security-Policy"
