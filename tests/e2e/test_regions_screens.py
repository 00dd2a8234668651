"""The province dashboard in Chromium (issue 13 §5): the admin's 34 provinces and a
department's own province at 390 px and 1280 px, in Vietnamese and Japanese, on the demo's
data with payments, grievances and a stored fairness report added. No page scrolls
sideways (a wide table or chart scrolls in its own box), every chart is drawn with its
title, and the policy holds. Screenshots go to a folder the test prints."""

import os
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import Charge, Dispatch, Grievance, Organisation, Trainee, User
from matching.models._common import utcnow
from matching.models.background import BackgroundTask
from matching.operations.demo import DEMO_PASSWORD, seed_demo
from matching.ranking.pool import clear_memory_cache
from tests.e2e.conftest import ARTIFACTS, log_in, watch_csp

WIDTHS = {"phone": (390, 844), "laptop": (1280, 800)}
LANGUAGES = ("vi", "ja")
SCREENSHOTS = os.path.join(ARTIFACTS, "regions")
ACCOUNTS = {"admin": "admin@demo.example", "department": "nghe-an@demo.example"}
#: What workers paid, in yen, by the demo's dispatches in turn (some above the survey).
PAYMENTS = ((("training", 420_000), ("service_fee", 180_000)),
            (("training", 650_000), ("brokerage", 150_000), ("flight", 90_000)),
            (("language_course", 240_000), ("medical", 30_000)),
            (("training", 380_000), ("deposit", 100_000), ("visa", 25_000)))


@pytest.fixture
def demo_regions(app):
    clear_memory_cache()
    seed_demo(trainees=60)
    db.session.flush()
    dispatches = db.session.scalars(sa.select(Dispatch).order_by(Dispatch.id)).all()
    for n, dispatch in enumerate(dispatches):
        for kind, amount in PAYMENTS[n % len(PAYMENTS)]:
            db.session.add(Charge(dispatch_id=dispatch.id, kind=kind, amount=amount,
                                  currency="JPY", paid_on=date.today() - timedelta(days=90),
                                  payer="worker"))
        if n % 3 == 0:
            db.session.add(Grievance(trainee_id=dispatch.trainee_id, dispatch_id=dispatch.id,
                                     category="fees", description="Phí dịch vụ quá cao.",
                                     created_at=utcnow() - timedelta(days=3 + 4 * (n % 4))))
    provinces = db.session.scalars(sa.select(Trainee.province).distinct()).all()
    db.session.add(BackgroundTask(kind="fairness", status="finished", params={"days": 90},
                                  finished_at=utcnow(), result={
                                      "days": 90, "threshold": 0.8, "rows": {"province": [
                                          {"group": code, "ratio": 0.55 + 0.2 * i,
                                           "flagged": 0.55 + 0.2 * i < 0.8, "too_few": False}
                                          for i, code in enumerate(sorted(provinces))]}}))
    db.session.commit()
    department = db.session.scalar(sa.select(Organisation.province).join(
        User, User.organisation_id == Organisation.id).where(
            User.email == ACCOUNTS["department"]))
    yield {"admin": ["/regions/", f"/regions/{department}"],
           "department": [f"/regions/{department}"]}
    clear_memory_cache()


def test_the_province_dashboard_on_a_phone_and_a_laptop(browser, live_server, demo_regions):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    print(f"\nscreenshots: {SCREENSHOTS}")
    overflowing, violations = [], []
    for role, paths in demo_regions.items():
        context = browser.new_context(base_url=live_server, viewport={"width": 1280,
                                                                      "height": 800})
        page = context.new_page()
        page.set_default_timeout(10_000)
        violations += watch_csp(page)
        log_in(page, ACCOUNTS[role], DEMO_PASSWORD)
        expect(page.locator("main")).to_be_visible()
        for language in LANGUAGES:
            db.session.execute(sa.update(User).values(locale=language))
            db.session.commit()
            for path in paths:
                response = page.goto(path)
                assert response.status == 200, (role, path, language)
                assert page.locator("table:not(.table-scroll > table)").count() == 0
                charts = page.locator("svg[role=img]")
                assert charts.count() == 2, (role, path)
                for i in range(charts.count()):
                    assert charts.nth(i).locator("title").first.text_content().strip()
                    assert charts.nth(i).locator("desc").first.text_content().strip()
                    box = charts.nth(i).bounding_box()
                    assert box and box["width"] > 300 and box["height"] > 40
                for width, (w, h) in WIDTHS.items():
                    page.set_viewport_size({"width": w, "height": h})
                    scroll, inner = page.evaluate(
                        "[document.documentElement.scrollWidth, window.innerWidth]")
                    if scroll > inner:
                        overflowing.append(f"{role} {path} {language} {width}: {scroll} > {inner}")
                    slug = path.strip("/").replace("/", "-")
                    page.screenshot(path=os.path.join(
                        SCREENSHOTS, f"{role}_{slug}_{language}_{width}.png"), full_page=True)
        context.close()
    assert overflowing == [], "pages scroll sideways:\n" + "\n".join(overflowing)
    assert violations == [], "a page broke its Content-Security-Policy"
