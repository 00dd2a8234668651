"""A Japanese employer reviews blind candidates, shortlists the best and downloads the résumé."""

from datetime import date

import pytest
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import JobOrder, Skill
from matching.operations.skills import ensure_skill_ids
from matching.ranking.pool import clear_memory_cache
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in

NAME = "Phạm Thị Thu Trang"


@pytest.fixture
def ja_page(browser, live_server):
    """A browser that asks for Japanese, like the employer's own."""
    context = browser.new_context(locale="ja-JP", base_url=live_server, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def job_with_candidates(make_user, make_org, make_trainee):
    clear_memory_cache()
    ids = ensure_skill_ids(["haccp", "food-hygiene", "forklift"])
    db.session.commit()
    skill = {slug: db.session.get(Skill, i) for slug, i in ids.items()}
    employer = make_user(role="employer", locale="ja", email="saiyo@aichi-foods.example",
                         org=make_org(kind="employer", name="愛知フーズ株式会社"))
    job = JobOrder(external_id="JO-AICHI-E2E", employer_id=employer.organisation_id,
                   agency_id=make_org(kind="agency").id, title="食品製造ライン作業員",
                   field="food_manufacturing", required_skills="haccp;food-hygiene",
                   min_language_level="N4", min_language_rank=2, headcount=2,
                   prefecture="aichi", start_date=date(2026, 10, 1), visa_track="SSW1")
    db.session.add(job)
    db.session.commit()
    make_trainee(full_name=NAME, date_of_birth=date(2000, 2, 14), gender="F",
                 province="hai-phong", field="food_manufacturing", japanese_level="N3",
                 training_hours=700, skills=[skill["haccp"], skill["food-hygiene"]])
    make_trainee(field="food_manufacturing", japanese_level="N4", skills=[skill["haccp"]])
    make_trainee(field="construction", japanese_level="N5", skills=[skill["forklift"]])
    yield employer, job
    clear_memory_cache()


def test_employer_shortlists_and_downloads_the_rirekisho(ja_page, job_with_candidates):
    page = ja_page
    employer, job = job_with_candidates
    log_in(page, employer.email, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "ja")

    page.goto("/jobs/")
    page.get_by_role("link", name=job.title).click()
    page.click("#candidates-link")
    cards = page.locator(".candidate-card")
    expect(cards).to_have_count(3)
    top = cards.first
    expect(top.locator(".rank")).to_have_text("#1")
    expect(page.locator("main")).not_to_contain_text(NAME)  # blind review

    code = top.get_attribute("data-code")
    top.locator(".decide-shortlisted").click()
    card = page.locator(f"[data-code='{code}']")
    expect(card.locator(".candidate-name")).to_have_text(NAME)
    expect(card.locator(".badge")).to_be_visible()

    card.locator(".open-profile").click()
    expect(page.locator("h1")).to_have_text(NAME)
    expect(page.locator("#personal-details")).to_contain_text("生年月日")

    with page.expect_download() as info:
        page.click("#rirekisho-link")
    download = info.value
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert download.suggested_filename.endswith(".pdf")
