"""Sessions and remember-me cookies carry the user's session token (issue 8, item 6).

Logging out of a remembered browser, changing the password and "log out everywhere" rotate
it, so no copy of an older cookie logs anyone in again.
"""

import re

import pytest

from matching.extensions import db

PASSWORD = "correct horse 42"  # what conftest's make_user gives every user
REMEMBER = "remember_token"


def _post_login(client, email, password=PASSWORD, **extra):
    return client.post("/auth/login", data={"email": email, "password": password, **extra})


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def _remember_cookie(client) -> str:
    cookie = client.get_cookie(REMEMBER)
    assert cookie is not None and cookie.value
    return cookie.value


def _with_cookie(app, value):
    """A browser that has nothing but a copy of a remember-me cookie."""
    thief = app.test_client()
    thief.set_cookie(REMEMBER, value)
    return thief


def _change_password(client, new="a brand new password"):
    response = client.post("/auth/password", data={
        "current": PASSWORD, "new": new, "confirm": new})
    assert response.status_code == 302
    return response


@pytest.fixture
def user(make_user):
    return make_user(role="employer")


def test_the_session_carries_the_session_token(client, user):
    _post_login(client, user.email)
    with client.session_transaction() as session:
        assert session["_user_id"] == f"{user.id}:{user.session_token}"


@pytest.mark.parametrize("forged", [
    "{id}", "{id}:", "{id}:not-the-token", "99999999999999999999999:x", ":x", "abc:def",
])
def test_a_session_without_the_current_token_is_refused(client, user, forged):
    _post_login(client, user.email)
    with client.session_transaction() as session:
        session["_user_id"] = forged.format(id=user.id)
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_copied_remember_cookie_logs_in_until_logout(app, client, user):
    _post_login(client, user.email, remember="y")
    cookie = _remember_cookie(client)
    assert _logged_in(_with_cookie(app, cookie))  # what the cookie is for

    client.post("/auth/logout")
    assert not _logged_in(client)
    # Logout ended the token itself, not only this browser's copy.
    assert not _logged_in(_with_cookie(app, cookie))


def test_logout_clears_the_remember_cookie(client, user):
    _post_login(client, user.email, remember="y")
    client.post("/auth/logout")
    assert client.get_cookie(REMEMBER) is None
    assert not _logged_in(client)


def test_a_plain_logout_ends_only_this_session(app, client, user):
    other = app.test_client()
    _post_login(other, user.email)
    _post_login(client, user.email)
    client.post("/auth/logout")
    assert not _logged_in(client)
    assert _logged_in(other)


def test_password_change_ends_every_other_session(app, client, user):
    remembered = app.test_client()
    _post_login(remembered, user.email, remember="y")
    cookie = _remember_cookie(remembered)
    second = app.test_client()
    _post_login(second, user.email)

    _post_login(client, user.email)
    _change_password(client)
    assert _logged_in(client)  # the browser that changed the password stays logged in
    assert not _logged_in(second)
    assert not _logged_in(remembered)
    assert not _logged_in(_with_cookie(app, cookie))


def test_password_change_renews_this_browsers_remember_cookie(app, client, user):
    _post_login(client, user.email, remember="y")
    old = _remember_cookie(client)
    _change_password(client)
    new = _remember_cookie(client)
    assert new != old
    assert _logged_in(_with_cookie(app, new))
    assert not _logged_in(_with_cookie(app, old))


def test_log_out_everywhere_ends_every_session(app, client, user):
    others = [app.test_client() for _ in range(2)]
    _post_login(others[0], user.email)
    _post_login(others[1], user.email, remember="y")
    cookie = _remember_cookie(others[1])
    _post_login(client, user.email, remember="y")

    response = client.post("/auth/logout-everywhere", headers={"Accept-Language": "en"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert "logged out on every device" in client.get(
        "/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert not _logged_in(client)
    assert not any(_logged_in(other) for other in others)
    assert not _logged_in(_with_cookie(app, cookie))
    # The account itself is fine: the password still logs in.
    assert _post_login(client, user.email).status_code == 302


@pytest.fixture
def csrf_app(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_log_out_everywhere_is_a_post_with_a_csrf_token(csrf_app, client, user):
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                     "csrf_token": token})
    assert client.get("/auth/logout-everywhere").status_code == 405
    assert client.post("/auth/logout-everywhere").status_code == 400  # no token
    assert _logged_in(client)
    page = client.get("/").get_data(as_text=True)
    assert 'action="/auth/logout-everywhere"' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/auth/logout-everywhere",
                       data={"csrf_token": token}).status_code == 302
    assert not _logged_in(client)


def test_an_administrator_setting_a_password_ends_the_users_sessions(app, make_user, login,
                                                                     client, user):
    _post_login(user_browser := app.test_client(), user.email, remember="y")
    cookie = _remember_cookie(user_browser)
    login(make_user(role="admin"))
    response = client.post(f"/admin/users/{user.id}/edit", data={
        "name": "", "role": "employer", "organisation": user.organisation_id, "locale": "",
        "active": "y", "password": "set by the admin"})
    assert response.status_code == 302
    assert not _logged_in(user_browser)
    assert not _logged_in(_with_cookie(app, cookie))
    assert _post_login(app.test_client(), user.email, "set by the admin").status_code == 302


def test_an_administrator_changing_their_own_password_stays_logged_in(app, make_user, client):
    admin = make_user(role="admin")
    elsewhere = app.test_client()
    _post_login(elsewhere, admin.email)
    _post_login(client, admin.email)
    response = client.post(f"/admin/users/{admin.id}/edit", data={
        "name": "", "role": "admin", "organisation": admin.organisation_id, "locale": "",
        "active": "y", "password": "my own new one"})
    assert response.status_code == 302
    assert _logged_in(client)
    assert not _logged_in(elsewhere)


def test_deactivation_kills_remember_cookies_for_good(app, make_user, login, client, user):
    user_browser = app.test_client()
    _post_login(user_browser, user.email, remember="y")
    cookie = _remember_cookie(user_browser)
    login(make_user(role="admin"))
    form = {"name": "", "role": "employer", "organisation": user.organisation_id,
            "locale": "", "password": ""}
    assert client.post(f"/admin/users/{user.id}/edit", data=form).status_code == 302
    db.session.refresh(user)
    assert not user.active
    assert client.post(f"/admin/users/{user.id}/edit",
                       data={**form, "active": "y"}).status_code == 302
    db.session.refresh(user)
    assert user.active
    # Reactivated, but the cookie from before the deactivation stays dead.
    assert not _logged_in(_with_cookie(app, cookie))
    assert _post_login(app.test_client(), user.email).status_code == 302
