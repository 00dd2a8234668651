"""Every role's main pages fit a phone (390 px) and a laptop (1280 px) in vi, ja and en
(issue 10, section 6): no page scrolls sideways; wide tables scroll inside their own box.

The pages are the demo's (long Vietnamese organisation names, Japanese job titles, real
pipelines), so what a department officer or an HR manager would see is what is measured.
Screenshots of every page at both widths in vi and ja go to a folder the test prints.
"""

import os

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import Dispatch, JobOrder, Organisation, Trainee, User
from matching.operations.demo import DEMO_PASSWORD, seed_demo
from matching.ranking.pool import clear_memory_cache
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS, log_in, watch_csp

WIDTHS = {"phone": (390, 844), "laptop": (1280, 800)}
LANGUAGES = ("vi", "ja", "en")
SCREENSHOT_LANGUAGES = ("vi", "ja")
SCREENSHOTS = os.path.join(ARTIFACTS, "responsive")

ACCOUNTS = {"admin": "admin@demo.example", "department": "nghe-an@demo.example",
            "employer": "sakura@demo.example", "agency": "hoasen@demo.example"}


@pytest.fixture
def demo_world(app):
    clear_memory_cache()
    seed_demo(trainees=60)
    db.session.commit()
    yield _pages()
    clear_memory_cache()


def _pages() -> dict[str, list[str]]:
    """The main pages of each demo account: home, registry, job orders, a job's candidates,
    the dispatch board or pipeline, a dispatch and the admin lists."""
    def org_id(email):
        return db.session.scalar(sa.select(User.organisation_id).where(User.email == email))

    employer, agency = org_id(ACCOUNTS["employer"]), org_id(ACCOUNTS["agency"])
    province = db.session.get(Organisation, org_id(ACCOUNTS["department"])).province
    # A job order of the employer handled by the agency, and one of its dispatches.
    job, dispatch = db.session.execute(
        sa.select(JobOrder.id, Dispatch.id).join(Dispatch, Dispatch.job_order_id == JobOrder.id)
        .where(JobOrder.employer_id == employer, JobOrder.agency_id == agency)
        .order_by(JobOrder.id, Dispatch.id)).first()
    province_dispatch = db.session.scalar(
        sa.select(Dispatch.id).join(Trainee, Trainee.id == Dispatch.trainee_id)
        .where(Trainee.province == province).order_by(Dispatch.id))
    trainee = db.session.scalar(sa.select(Trainee.id).where(Trainee.province == province)
                                .order_by(Trainee.id))
    assert None not in (province_dispatch, trainee), "the demo data changed"
    return {
        "admin": ["/", "/trainees/", "/jobs/", f"/jobs/{job}/candidates", "/dispatch/",
                  f"/dispatch/{dispatch}", "/dispatch/dashboard", "/admin/organisations",
                  "/admin/users", "/admin/fairness"],
        "department": ["/", "/trainees/", f"/trainees/{trainee}", "/dispatch/province",
                       f"/dispatch/{province_dispatch}"],
        "employer": ["/", "/jobs/", f"/jobs/{job}", f"/jobs/{job}/candidates",
                     "/dispatch/workers", f"/dispatch/{dispatch}"],
        "agency": ["/", "/jobs/", f"/jobs/{job}", "/dispatch/", f"/dispatch/{dispatch}"],
    }


def _speak(language: str) -> None:
    """Every demo account's own language becomes ``language`` (it outranks the browser's)."""
    db.session.execute(sa.update(User).values(locale=language))
    db.session.commit()


def _shot_name(role: str, path: str, language: str, width: str, folder: str = SCREENSHOTS
               ) -> str:
    slug = path.strip("/").replace("/", "-") or "home"
    return os.path.join(folder, f"{role}_{slug}_{language}_{width}.png")


def walk_pages(browser, live_server, pages: dict[str, list[str]], *, languages=LANGUAGES,
               shot_languages=SCREENSHOT_LANGUAGES, folder: str = SCREENSHOTS,
               accounts: dict[str, str] = ACCOUNTS, check=None) -> tuple[list[str], list[str]]:
    """Open each role's ``pages`` (demo accounts) in each language at both widths: a 200,
    every table in its scrolling box, ``check(page, role, path)`` if given, a screenshot in
    ``shot_languages``. Returns the pages that scroll sideways and the CSP violations."""
    os.makedirs(folder, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    overflowing, violations = [], []
    for role, paths in pages.items():
        context = browser.new_context(base_url=live_server, viewport={"width": 1280,
                                                                      "height": 800})
        page = context.new_page()
        page.set_default_timeout(10_000)
        violations += watch_csp(page)
        log_in(page, accounts[role], DEMO_PASSWORD)
        expect(page.locator("main")).to_be_visible()
        for language in languages:
            _speak(language)
            for path in paths:
                response = page.goto(path)
                assert response.status == 200, (role, path, language)
                loose = page.locator("table:not(.table-scroll > table)").count()
                assert loose == 0, f"{path}: a table outside its scrolling box"
                if check is not None:
                    check(page, role, path)
                for width, (w, h) in WIDTHS.items():
                    page.set_viewport_size({"width": w, "height": h})
                    scroll, inner = page.evaluate(
                        "[document.documentElement.scrollWidth, window.innerWidth]")
                    if scroll > inner:
                        overflowing.append(f"{role} {path} {language} {width}: {scroll} > {inner}")
                    if language in shot_languages:
                        page.screenshot(path=_shot_name(role, path, language, width, folder),
                                        full_page=True)
        context.close()
    return overflowing, violations


def test_every_main_page_fits_a_phone_and_a_laptop(browser, live_server, demo_world):
    overflowing, violations = walk_pages(browser, live_server, demo_world)
    assert overflowing == [], "pages scroll sideways:\n" + "\n".join(overflowing)
    assert violations == [], "a page broke its Content-Security-Policy"


def test_the_menu_collapses_on_a_phone_and_opens_from_the_keyboard(page, make_user):
    user = make_user(role="admin")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, user.email, PASSWORD)
    toggle, menu = page.locator(".menu-toggle"), page.locator("#site-menu")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="Users")).to_be_visible()
    expect(menu.locator("form.lang-switch button[value=vi]")).to_be_visible()
    page.keyboard.press("Tab")  # into the menu; Escape closes it and gives the focus back
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(menu).to_be_hidden()

    # On a laptop the menu is simply there, without a button.
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(toggle).to_be_hidden()
    expect(menu.get_by_role("link", name="Users")).to_be_visible()


def test_the_favicon_is_served(page):
    response = page.goto("/favicon.ico")
    assert response.status == 200
    assert response.url.endswith("/static/favicon.svg")
    assert response.headers["content-type"].startswith("image/svg+xml")
    page.goto("/auth/login")
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")
