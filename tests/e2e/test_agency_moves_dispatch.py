"""An agency officer takes a selected worker from the contract to the issued COE."""

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from matching.extensions import db
from matching.models import JobOrder
from matching.operations.dispatch import create_dispatch
from tests.conftest import PASSWORD, add_doc
from tests.e2e.conftest import log_in


def test_agency_moves_dispatch_to_coe_issued(page, make_org, make_user, make_trainee):
    agency_org, employer_org = make_org(kind="agency"), make_org(kind="employer")
    officer = make_user(role="agency", org=agency_org, email="staff@agency.example")
    employer = make_user(role="employer", org=employer_org)
    job = JobOrder(external_id="JO-E2E-7", employer_id=employer_org.id, agency_id=agency_org.id,
                   title="Food line worker", field="food_manufacturing", headcount=2,
                   visa_track="SSW1")
    db.session.add(job)
    db.session.commit()
    trainee = make_trainee(full_name="Trần Thị Mai", external_id="NA-E2E-7")
    dispatch = create_dispatch(job, trainee, employer)
    # Japan's pre-entry TB screening: the certificate goes with the COE application.
    add_doc(dispatch, "tb_certificate", number="TB-E2E-7",
            issued_on=date.today() - timedelta(days=10))
    db.session.commit()  # create_dispatch flushes: the browser's requests need it committed

    log_in(page, officer.email, PASSWORD)
    page.click("nav >> text=Dispatches")
    card = page.locator(f"#dispatch-{dispatch.id}")
    expect(card).to_contain_text("Trần Thị Mai")
    card.locator("header a").click()
    expect(page.locator("h1")).to_have_text("Trần Thị Mai")
    expect(page.locator("#current-stage")).to_have_text("Selected")

    def move_to(stage: str) -> None:
        page.select_option("#to_stage", stage)
        page.click("#move-form [type=submit]")
        expect(page.locator("#current-stage")).to_have_class(re.compile(rf"\bstage-{stage}\b"))

    for stage in ("contracted", "training", "coe_applied"):
        move_to(stage)

    # The next step says what it needs; the COE is not there yet.
    expect(page.locator("#requirements [data-stage=coe_issued]")).to_contain_text("missing")

    page.click("#add-document summary")
    page.select_option("#kind", "coe")
    page.fill("#number", "COE-2026-0042")
    # Not before the application (today): an earlier issue date is refused.
    page.fill("#issued_on", date.today().isoformat())
    page.click("#add-document [type=submit]")
    expect(page.locator("#documents-table")).to_contain_text("COE-2026-0042")
    expect(page.locator("#requirements [data-stage=coe_issued]")).to_contain_text("present")

    move_to("coe_issued")
    timeline = page.locator("#timeline li.event")
    for stage in ("contracted", "training", "coe_applied", "coe_issued"):
        expect(page.locator(f"#timeline li.event[data-to={stage}]")).to_have_count(1)
    expect(timeline).to_have_count(5)  # the selection, then the four moves
    expect(page.locator("#timeline")).to_contain_text("staff@agency.example")
