"""The province dashboard in Chromium (issue 13 §5): the admin's 34 provinces and a
department's own province at 390 px and 1280 px, in Vietnamese and Japanese, on the demo's
data with payments, grievances and a stored fairness report added. No page scrolls
sideways (a wide table or chart scrolls in its own box), every chart is drawn with its
title, and the policy holds. Screenshots go to a folder the test prints."""

import os
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.fees import refresh_dispatches
from matching.models import Charge, Dispatch, Grievance, Organisation, Trainee, User
from matching.models._common import utcnow
from matching.models.background import BackgroundTask
from matching.operations.demo import seed_demo
from matching.ranking.pool import clear_memory_cache
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_responsive import walk_pages

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
    refresh_dispatches(d.id for d in dispatches)  # charges written here, not by the operations
    db.session.commit()
    department = db.session.scalar(sa.select(Organisation.province).join(
        User, User.organisation_id == Organisation.id).where(
            User.email == ACCOUNTS["department"]))
    yield {"admin": ["/regions/", f"/regions/{department}"],
           "department": [f"/regions/{department}"]}
    clear_memory_cache()


def _charts_drawn(page, role, path):
    charts = page.locator("svg[role=img]")
    assert charts.count() == 2, (role, path)
    for i in range(charts.count()):
        assert charts.nth(i).locator("title").first.text_content().strip()
        assert charts.nth(i).locator("desc").first.text_content().strip()
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 40


def test_the_province_dashboard_on_a_phone_and_a_laptop(browser, live_server, demo_regions):
    overflowing, violations = walk_pages(
        browser, live_server, demo_regions, languages=LANGUAGES, shot_languages=LANGUAGES,
        folder=SCREENSHOTS, accounts=ACCOUNTS, check=_charts_drawn)
    assert overflowing == [], "pages scroll sideways:\n" + "\n".join(overflowing)
    assert violations == [], "a page broke its Content-Security-Policy"
