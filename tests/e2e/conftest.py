"""Real headless Chromium (Debian's package) driven by Playwright against a live server.

The server is the test's own app (same migrated database as the rest of the suite), run by
werkzeug in a thread on a free loopback port (``live_server``, tests/conftest.py). CSRF
protection is ON here, as in production.
"""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(__file__), "artifacts")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def watch_csp(page) -> list[str]:
    """The console messages of ``page`` that report a Content-Security-Policy violation."""
    violations: list[str] = []

    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    return violations


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(locale="en-US", base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations = watch_csp(page)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # keep what the browser showed, for debugging
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, f"{request.node.name}.png"))
    context.close()
    assert violations == [], "the page broke its Content-Security-Policy"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def log_in(page, email, password):
    page.goto("/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")
