"""Security headers on every response, and templates the Content-Security-Policy can allow
(issue 8, item 10): no inline script, no event-handler or style attribute."""

import re
from pathlib import Path

import pytest

from matching.web.security import SECURITY_HEADERS
from tests.test_access_matrix import MATRIX, ROLES, world  # noqa: F401 (world: a fixture)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
GETS = [(endpoint, path) for endpoint, method, path, _ in MATRIX if method == "GET"]


def _assert_headers(response):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert directives.get("script-src") == "'self'"
    assert directives.get("style-src") == "'self'"
    assert directives.get("default-src") == "'self'"
    assert directives.get("frame-ancestors") == "'none'"
    assert directives.get("object-src") == "'none'"
    assert directives.get("base-uri") == "'self'"
    assert directives.get("form-action") == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "same-origin"
    assert response.headers.get("X-Frame-Options") == "DENY"


@pytest.mark.parametrize("role", ROLES)
def test_every_get_route_sends_the_headers(client, login, world, role):  # noqa: F811
    users, ids = world
    if role != "anonymous":
        login(users[role])
    for _endpoint, path in GETS:
        with client.get(path.format(**ids)) as response:  # files are streamed: close them
            _assert_headers(response)


@pytest.mark.parametrize("url", ["/no-such-page", "/static/css/app.css", "/auth/login"])
def test_errors_static_files_and_log_in_send_them_too(client, url):
    with client.get(url) as response:
        _assert_headers(response)


def test_a_post_response_sends_them(client):
    _assert_headers(client.post("/auth/login", data={"email": "x@example.org",
                                                     "password": "wrong"}))


def test_the_policy_is_the_one_documented():
    assert SECURITY_HEADERS["Content-Security-Policy"].startswith("default-src 'self'")


# -- templates -------------------------------------------------------------------------------

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_HANDLER = re.compile(r"""\son[a-z]+\s*=""", re.IGNORECASE)
_STYLE = re.compile(r"""(<style\b|\sstyle\s*=)""", re.IGNORECASE)
_JS_URL = re.compile(r"""javascript:""", re.IGNORECASE)


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_templates_exist():
    assert len(_templates()) > 20


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_inline_script_or_style(path):
    text = path.read_text(encoding="utf-8")
    for match in _SCRIPT.finditer(text):
        attributes = match.group(1)
        # Allowed: a static file, or a JSON data block (never executed).
        assert "src=" in attributes or 'type="application/json"' in attributes, match.group(0)
    assert not _HANDLER.search(text), _HANDLER.search(text).group(0)
    assert not _STYLE.search(text), _STYLE.search(text).group(0)
    assert not _JS_URL.search(text)
