"""An employer makes the Japanese level and the start date requirements on the form, then
sees on the candidate page how many candidates they hide, and shows them for one visit."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import JobOrder
from matching.ranking.pool import clear_memory_cache
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in

START = date.today() + timedelta(days=60)


@pytest.fixture
def employer_and_pool(make_user, make_trainee):
    clear_memory_cache()
    employer = make_user(role="employer", locale="en", email="hr@osaka-care.example")
    make_trainee(field="nursing_care", japanese_level="N3")  # meets both
    make_trainee(field="nursing_care", japanese_level="N4",
                 available_from=START + timedelta(days=10))  # meets both
    make_trainee(field="nursing_care", japanese_level="N5")  # below the level
    make_trainee(field="nursing_care", japanese_level="N3",
                 available_from=START + timedelta(days=100))  # too late
    yield employer
    clear_memory_cache()


def test_employer_sets_requirements_and_sees_the_hidden_count(page, employer_and_pool):
    log_in(page, employer_and_pool.email, PASSWORD)
    page.goto("/jobs/new")
    page.fill("#title", "Care worker")
    page.select_option("#field", "nursing_care")
    page.select_option("#min_language_level", "N4")
    page.select_option("#prefecture", "osaka")
    page.fill("#start_date", START.isoformat())
    page.check("#language_is_hard")
    page.fill("#start_window_days", "30")
    page.click("#submit")

    expect(page.locator("#requirements")).to_contain_text("or above")
    expect(page.locator("#requirements")).to_contain_text(
        "Available at the latest 30 days after the start date")
    job = db.session.scalars(sa.select(JobOrder)).one()
    assert (job.language_is_hard, job.start_window_days) == (True, 30)

    page.click("#candidates-link")
    expect(page.locator("#excluded-count")).to_have_text(
        "2 candidates do not meet your requirements and are hidden.")
    expect(page.locator(".candidate-card")).to_have_count(2)
    expect(page.locator(".unmet-requirements")).to_have_count(0)

    page.click("#toggle-requirements")
    expect(page.locator(".candidate-card")).to_have_count(4)
    expect(page.locator(".candidate-card .unmet-requirements")).to_have_count(2)
    page.click("#toggle-requirements")  # hide them again
    expect(page.locator(".candidate-card")).to_have_count(2)
