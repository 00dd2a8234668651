"""Real Chromium under the site's Content-Security-Policy (issue 8, item 10): every page a
role opens shows no violation in the console (the ``page`` fixture fails on one), and the
scripts moved to static files still work."""

import pytest
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import JobOrder
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.test_access_matrix import MATRIX, OK, world  # noqa: F401 (world: a fixture)

DOWNLOADS = (".pdf", ".csv", ".xlsx", "/file", "/attachment", "/receipt")
#: Downloads whose path does not say so.
DOWNLOAD_ENDPOINTS = ("worker.document_file",)


@pytest.mark.parametrize("role", ["admin", "department", "employer", "agency", "worker"])
def test_every_page_of_a_role_keeps_the_policy(page, world, role):  # noqa: F811
    users, ids = world
    log_in(page, users[role].email, PASSWORD)
    paths = sorted({path.format(**ids) for endpoint, method, path, expected in MATRIX
                    if method == "GET" and expected.get(role) == OK
                    and not path.partition("?")[0].endswith(DOWNLOADS)
                    and endpoint not in DOWNLOAD_ENDPOINTS
                    and endpoint != "auth.login"
                    and not endpoint.startswith("health.")})  # JSON for load balancers
    assert len(paths) > 5
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        expect(page.locator("main")).to_be_visible()


def test_skill_hints_and_confirmations_run_from_static_files(page, world):  # noqa: F811
    users, ids = world
    db.session.commit()  # end the test thread's read transaction: SQLite, one writer
    log_in(page, users["employer"].email, PASSWORD)
    page.wait_for_url(lambda url: "/auth/login" not in url)  # the login POST has landed

    # The job order form offers the chosen field's skills (static/js/skill-picker.js).
    page.goto("/jobs/new")
    page.select_option("#field", "food_manufacturing")
    page.click("#required_skills-search")
    expect(page.locator("#required_skills-options")).to_be_visible()
    page.locator("#required_skills-options [role=option]").first.click()
    expect(page.locator("#required_skills")).not_to_have_value("")

    # Closing a job order asks first (static/js/confirm.js); dismissing keeps it open.
    job = db.session.get(JobOrder, ids["job"])
    job.status = "open"
    db.session.commit()
    page.goto(f"/jobs/{ids['job']}")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#status-buttons button[value=closed]")
    page.wait_for_timeout(300)
    assert asked and "Close this job order?" in asked[0]
    db.session.expire_all()
    assert db.session.get(JobOrder, ids["job"]).status == "open"
