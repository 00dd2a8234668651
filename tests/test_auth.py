"""Log-in, log-out, redirects, cookies, CSRF, passwords, languages, `users create`.

Throttling: test_throttle.py; sessions and remember-me cookies: test_sessions.py.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Organisation, User
from matching.models._common import utcnow

PASSWORD = "correct horse 42"  # what conftest's make_user gives every user


@pytest.fixture
def english(client):
    """Pages in English (the source language), whatever the translations say."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _post_login(client, email, password, url="/auth/login", **extra):
    return client.post(url, data={"email": email, "password": password, **extra})


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def _location_path(response) -> str:
    """The path a redirect goes to, refusing any other host."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), response.headers["Location"]
    return parts.path


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


# -- log in / log out ------------------------------------------------------------------------


def test_login_redirects_home_and_records_the_time(client, make_user):
    user = make_user(role="employer")
    assert user.last_login_at is None
    response = _post_login(client, user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert _location_path(response) == "/"
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert abs(user.last_login_at - utcnow()) < timedelta(minutes=1)
    assert _logged_in(client)


def test_wrong_password_and_unknown_email_get_the_same_message(english, make_user):
    user = make_user(role="employer")
    wrong = _post_login(english, user.email, "not the password")
    unknown = _post_login(english, "nobody@example.org", PASSWORD)
    assert wrong.status_code == unknown.status_code == 200
    message = "Wrong e-mail or password."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert not _logged_in(english)
    db.session.refresh(user)
    assert user.last_login_at is None


def test_inactive_user_cannot_log_in(english, make_user):
    user = make_user(role="employer", active=False)
    response = _post_login(english, user.email, PASSWORD)
    assert response.status_code == 200
    assert "Wrong e-mail or password." in response.get_data(as_text=True)
    assert not _logged_in(english)


def test_user_of_an_inactive_organisation_cannot_log_in(client, make_user):
    user = make_user(role="agency")
    user.organisation.active = False
    db.session.commit()
    assert _post_login(client, user.email, PASSWORD).status_code == 200
    assert not _logged_in(client)


def test_deactivation_ends_an_open_session(client, make_user, login):
    user = make_user(role="employer")
    login(user)
    assert _logged_in(client)
    user.active = False
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_logout_is_post_only(client, make_user, login):
    login(make_user(role="employer"))
    assert client.get("/auth/logout").status_code == 405
    assert _logged_in(client)
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert _location_path(response) == "/auth/login"
    assert not _logged_in(client)


def test_logged_in_user_visiting_login_goes_home(client, make_user, login):
    login(make_user(role="employer"))
    response = client.get("/auth/login")
    assert response.status_code == 302 and _location_path(response) == "/"


# -- the `next` parameter ---------------------------------------------------------------------


def test_next_is_honoured_for_a_local_path(client, make_user):
    user = make_user(role="admin")
    response = _post_login(client, user.email, PASSWORD,
                           url="/auth/login?next=/admin/users%3Frole%3Demployer")
    assert response.headers["Location"] == "/admin/users?role=employer"


def test_login_required_page_sends_back_after_login(client, make_user):
    user = make_user(role="admin")
    response = client.get("/admin/users")
    login_url = response.headers["Location"]
    assert "next=" in login_url
    response = _post_login(client, user.email, PASSWORD, url=login_url)
    assert _location_path(response) == "/admin/users"


@pytest.mark.parametrize("target", [
    "//evil.example", "http://evil.example", "https://evil.example/x", "/\\evil.example",
    "\\\\evil.example", "/\t/evil.example", "javascript:alert(1)", "evil.example",
])
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user(role="employer")
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# -- cookies and CSRF ------------------------------------------------------------------------


@pytest.fixture
def secure_cookies(app_config):
    app_config["SESSION_COOKIE_SECURE"] = True
    app_config["REMEMBER_COOKIE_SECURE"] = True


def test_session_cookie_flags(secure_cookies, client, make_user):
    user = make_user(role="employer")
    response = _post_login(client, user.email, PASSWORD, remember="y")
    cookies = _set_cookies(response)
    for name in ("session", "remember_token"):
        header = cookies[name]
        assert "HttpOnly" in header and "Secure" in header and "SameSite=Lax" in header, header


@pytest.fixture
def csrf_app(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def _csrf_login(client, user):
    token = _csrf_token(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={
        "email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_login_without_csrf_token_is_refused(csrf_app, client, make_user):
    user = make_user(role="employer")
    response = _post_login(client, user.email, PASSWORD)
    assert response.status_code == 400
    assert not _logged_in(client)
    db.session.refresh(user)
    assert user.last_login_at is None
    _csrf_login(client, user)
    assert _logged_in(client)


def test_language_switch_without_csrf_token_is_refused(csrf_app, client, make_user):
    user = make_user(role="employer", locale="vi")
    _csrf_login(client, user)
    response = client.post("/lang", data={"lang": "ja", "next": "/"})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.locale == "vi"
    token = _csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/lang", data={"lang": "ja", "next": "/", "csrf_token": token})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.locale == "ja"


def test_admin_form_without_csrf_token_is_refused(csrf_app, client, make_user):
    _csrf_login(client, make_user(role="admin"))
    data = {"kind": "employer", "code": "csrf-test", "name": "CSRF test", "country": "JP",
            "active": "y"}
    assert client.post("/admin/organisations/new", data=data).status_code == 400

    def created():
        return db.session.scalar(sa.select(Organisation).where(Organisation.code == "csrf-test"))

    assert created() is None
    token = _csrf_token(client.get("/admin/organisations/new").get_data(as_text=True))
    response = client.post("/admin/organisations/new", data={**data, "csrf_token": token})
    assert response.status_code == 302
    assert created() is not None


# -- password change -------------------------------------------------------------------------


def test_password_change(app, english, make_user, login):
    user = make_user(role="employer")
    login(user)
    response = english.post("/auth/password", data={
        "current": "wrong one", "new": "a new password", "confirm": "a new password"})
    assert response.status_code == 200
    assert "The current password is wrong." in response.get_data(as_text=True)
    response = english.post("/auth/password", data={
        "current": PASSWORD, "new": "a new password", "confirm": "another one"})
    assert "The two passwords differ." in response.get_data(as_text=True)
    response = english.post("/auth/password", data={
        "current": PASSWORD, "new": "short", "confirm": "short"})
    assert response.status_code == 200
    db.session.refresh(user)
    assert user.check_password(PASSWORD)

    response = english.post("/auth/password", data={
        "current": PASSWORD, "new": "a new password", "confirm": "a new password"})
    assert response.status_code == 302
    english.post("/auth/logout")
    fresh = app.test_client()
    assert _post_login(fresh, user.email, PASSWORD).status_code == 200
    assert _post_login(fresh, user.email, "a new password").status_code == 302


def test_password_page_needs_login(client):
    response = client.get("/auth/password")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# -- languages -------------------------------------------------------------------------------


def test_language_switch_saves_the_users_choice(client, make_user, login):
    user = make_user(role="employer", locale="vi")
    login(user)
    assert _html_lang(client.get("/")) == "vi"
    response = client.post("/lang", data={"lang": "ja", "next": "/auth/password"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/password"
    db.session.refresh(user)
    assert user.locale == "ja"
    assert _html_lang(client.get("/auth/password")) == "ja"
    # The choice follows the account, not the browser.
    other = client.application.test_client()
    _post_login(other, user.email, PASSWORD)
    assert _html_lang(other.get("/")) == "ja"


def test_anonymous_language_choice_is_a_cookie(client):
    assert _html_lang(client.get("/auth/login")) == "vi"  # the default
    response = client.post("/lang", data={"lang": "ja", "next": "/auth/login"})
    assert response.status_code == 302
    cookie = _set_cookies(response)["lang"]
    assert cookie.startswith("lang=ja;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert _html_lang(client.get("/auth/login")) == "ja"


def test_unknown_language_is_ignored(client):
    response = client.post("/lang", data={"lang": "fr", "next": "/auth/login"})
    assert response.status_code == 302
    assert "lang" not in _set_cookies(response)
    assert _html_lang(client.get("/auth/login")) == "vi"


def test_language_switch_next_stays_on_site(client):
    response = client.post("/lang", data={"lang": "en", "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_lang_query_parameter(client):
    response = client.get("/auth/login?lang=en")
    assert _html_lang(response) == "en"
    assert _set_cookies(response)["lang"].startswith("lang=en;")
    assert _html_lang(client.get("/auth/login")) == "en"  # remembered


def test_accept_language_is_honoured_without_a_preference(client, make_user, login):
    headers = {"Accept-Language": "ja,en;q=0.8"}
    assert _html_lang(client.get("/auth/login", headers=headers)) == "ja"
    login(make_user(role="employer", locale=None))
    assert _html_lang(client.get("/", headers=headers)) == "ja"


def test_saved_preference_wins_over_browser_and_cookie(client, make_user, login):
    login(make_user(role="employer", locale="vi"))
    client.set_cookie("lang", "en")
    response = client.get("/", headers={"Accept-Language": "ja"})
    assert _html_lang(response) == "vi"


# -- `flask users create` --------------------------------------------------------------------


def _create(runner, *args):
    return runner.invoke(args=["users", "create", *args])


def test_cli_creates_a_user_who_can_log_in(runner, client, make_org):
    make_org(kind="employer", code="sakura")
    result = _create(runner, "Tanaka@Sakura.example", "--role", "employer", "--org", "SAKURA",
                     "--password", "long enough 1", "--name", "Tanaka", "--locale", "ja")
    assert result.exit_code == 0, result.output
    assert "tanaka@sakura.example" in result.output
    user = db.session.scalar(sa.select(User).where(User.email == "tanaka@sakura.example"))
    assert (user.role, user.organisation.code, user.name, user.locale) == (
        "employer", "sakura", "Tanaka", "ja")
    assert _post_login(client, "tanaka@sakura.example", "long enough 1").status_code == 302


@pytest.mark.parametrize("args", [
    ("--role", "employer", "--org", "no-such-org", "--password", "long enough 1"),
    ("--role", "department", "--org", "sakura", "--password", "long enough 1"),
    ("--role", "employer", "--org", "sakura", "--password", "short"),
    ("--role", "boss", "--org", "sakura", "--password", "long enough 1"),
])
def test_cli_refuses_bad_accounts(runner, make_org, args):
    make_org(kind="employer", code="sakura")
    result = _create(runner, "new@example.org", *args)
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_cli_refuses_a_duplicate_email(runner, make_user):
    existing = make_user(role="employer", email="taken@example.org")
    result = _create(runner, "TAKEN@example.org", "--role", "employer", "--org",
                     existing.organisation.code, "--password", "long enough 1")
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
