"""The API's core (issue 12): tokens on the command line and at the door, problem documents
in three languages, cursor pagination, the OpenAPI document and its docs page."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from matching.api.pagination import encode_cursor
from matching.extensions import db
from matching.models import ApiToken
from matching.models._common import utcnow
from matching.operations.tokens import create_token


@pytest.fixture
def token_for(app):
    def make(user, **kw):
        _row, token = create_token(user, kw.pop("name", "test"), **kw)
        db.session.commit()
        return token

    return make


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# -- tokens ----------------------------------------------------------------------------------


def test_cli_prints_the_token_alone_on_the_last_line(app, runner, make_user, client):
    user = make_user(role="department")
    result = runner.invoke(args=["tokens", "create", user.email.upper(), "--name", "case system",
                                 "--expires-days", "30"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("mtk_") and " " not in token
    row = db.session.scalar(sa.select(ApiToken))
    assert row.name == "case system" and row.token_hash != token and token not in row.token_hash
    assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)
    assert client.get("/api/v1/trainees", headers=bearer(token)).status_code == 200


def test_cli_refuses_unknown_users_and_bad_expiry(runner, make_user):
    assert runner.invoke(args=["tokens", "create", "nobody@example.org"]).exit_code != 0
    user = make_user()
    result = runner.invoke(args=["tokens", "create", user.email, "--expires-days", "0"])
    assert result.exit_code != 0 and db.session.scalar(sa.select(ApiToken)) is None


def test_every_use_records_last_used_even_a_failed_request(client, make_user, token_for):
    user = make_user(role="department")
    token = token_for(user)
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is None
    assert client.get("/api/v1/trainees/2147483647", headers=bearer(token)).status_code == 404
    db.session.expire_all()
    first = db.session.scalar(sa.select(ApiToken.last_used_at))
    assert first is not None
    client.get("/api/v1/trainees", headers=bearer(token))
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) >= first


@pytest.mark.parametrize("how", ["revoked", "expired", "user_off", "org_off", "garbage",
                                 "basic", "none"])
def test_unusable_tokens_answer_401_with_a_challenge(client, make_user, token_for, how):
    user = make_user(role="admin")
    token = token_for(user)
    row = db.session.scalar(sa.select(ApiToken))
    headers = bearer(token)
    if how == "revoked":
        row.revoked_at = utcnow()
    elif how == "expired":
        row.expires_at = utcnow() - timedelta(seconds=1)
    elif how == "user_off":
        user.active = False
    elif how == "org_off":
        user.organisation.active = False
    elif how == "garbage":
        headers = bearer(token[:-2] + "xx")
    elif how == "basic":
        headers = {"Authorization": "Basic " + token}
    else:
        headers = {}
    db.session.commit()
    response = client.get("/api/v1/model", headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["type"] == "/api/v1/problems/unauthorized"


def test_the_api_ignores_the_session_and_the_site_ignores_tokens(client, login, make_user,
                                                                 token_for):
    user = make_user(role="admin")
    token = token_for(user)
    login(user)
    assert client.get("/api/v1/model").status_code == 401  # a logged-in browser: no token
    client.post("/auth/logout")
    page = client.get("/admin/users", headers=bearer(token))
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]


def test_the_api_needs_no_csrf_token(app, client, make_user, token_for):
    app.config["WTF_CSRF_ENABLED"] = True
    token = token_for(make_user(role="employer"))
    response = client.post("/api/v1/job-orders", json={}, headers=bearer(token))
    assert response.status_code == 422  # reached the view: no CSRF refusal (400)


# -- problems --------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "title"), [
    ("vi", "Không tìm thấy"), ("ja", "見つかりません"), ("en", "Not found"),
    ("ja-JP,ja;q=0.9", "見つかりません"), ("fr", "Not found")])
def test_titles_follow_accept_language(client, make_user, token_for, language, title):
    token = token_for(make_user(role="department"))
    response = client.get("/api/v1/trainees/2147483647",
                          headers=bearer(token) | {"Accept-Language": language})
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.json["title"] == title
    assert response.json["type"] == "/api/v1/problems/not-found"
    assert response.json["instance"] == "/api/v1/trainees/2147483647"


def test_unknown_paths_wrong_methods_and_bad_json_are_problems(client, make_user, token_for):
    token = token_for(make_user(role="admin"))
    assert client.get("/api/v1/nothing-here").json["status"] == 404
    response = client.delete("/api/v1/model", headers=bearer(token))
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert response.content_type == "application/problem+json"
    response = client.post("/api/v1/trainees", data="{not json", headers=bearer(token) | {
        "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


def test_validation_errors_list_field_and_message(client, make_user, token_for):
    token = token_for(make_user(role="department"))
    response = client.post("/api/v1/trainees", json={"full_name": "A", "surprise": 1},
                           headers=bearer(token) | {"Accept-Language": "vi"})
    assert response.status_code == 422
    assert response.json["type"] == "/api/v1/problems/invalid"
    fields = {e["field"] for e in response.json["errors"]}
    assert {"external_id", "date_of_birth", "surprise"} <= fields
    assert all(e["message"] for e in response.json["errors"])
    response = client.get("/api/v1/trainees?limit=501", headers=bearer(token))
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["limit"]


def test_an_unexpected_error_is_a_500_problem_without_details(app, client, make_user,
                                                              token_for, monkeypatch):
    from matching.api import model

    token = token_for(make_user(role="admin"))

    def boom(*_a, **_k):
        raise RuntimeError("secret detail")

    monkeypatch.setattr("matching.ranking.service.current_model", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/api/v1/model", headers=bearer(token))
    assert response.status_code == 500 and model
    assert response.content_type == "application/problem+json"
    assert "secret" not in response.get_data(as_text=True)


def test_rate_limit_per_token_answers_429_with_retry_after(app, client, make_user, token_for):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    first, second = token_for(make_user(role="admin")), token_for(make_user(role="admin"))
    for _ in range(3):
        assert client.get("/api/v1/model", headers=bearer(first)).status_code == 200
    response = client.get("/api/v1/model", headers=bearer(first) | {"Accept-Language": "ja"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.content_type == "application/problem+json"
    assert response.json["type"] == "/api/v1/problems/too-many-requests"
    assert client.get("/api/v1/model", headers=bearer(second)).status_code == 200


# -- pagination ------------------------------------------------------------------------------


def test_cursor_pages_are_stable_under_inserts(client, make_user, make_trainee, token_for):
    token = token_for(make_user(role="department", province="nghe-an"))
    first = [make_trainee(province="nghe-an").id for _ in range(5)]
    seen, cursor = [], None
    while True:
        url = "/api/v1/trainees?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=bearer(token)).json
        seen += [t["id"] for t in page["items"]]
        if len(seen) == 2:  # someone registers more while the client walks the list
            make_trainee(province="nghe-an")
            make_trainee(province="nghe-an")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:5] == first and len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("cursor", ["x", "!!!", encode_cursor(-1), "W10", "WyJhIl0",
                                    "9" * 300])
def test_a_forged_cursor_is_a_422_naming_it(client, make_user, token_for, cursor):
    token = token_for(make_user(role="admin"))
    response = client.get(f"/api/v1/job-orders?cursor={cursor}", headers=bearer(token))
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "cursor"


# -- description and docs --------------------------------------------------------------------


def test_the_openapi_document_is_3_1_and_public(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    assert "/api/v1/trainees" in spec["paths"] and "/api/v1/job-orders/{job_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_docs_page_loads_only_our_own_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "http" not in html.replace("http-equiv", "")  # no CDN
    for path in ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/js/api-docs.js",
                 "/static/vendor/swagger-ui/swagger-ui.css"):
        assert path in html
        with client.get(path) as static:  # files are streamed: close them
            assert static.status_code == 200


def test_a_body_that_is_not_an_object_names_no_field(client, make_user, token_for):
    token = token_for(make_user(role="department"))
    response = client.post("/api/v1/trainees", json=[1, 2], headers=bearer(token))
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] is None


def test_without_accept_language_the_users_own_language(client, make_user, token_for):
    token = token_for(make_user(role="employer", locale="ja"))
    response = client.get("/api/v1/trainees", headers=bearer(token))
    assert response.status_code == 403
    assert response.json["title"] == "あなたのロールでは許可されていません"
    assert response.headers["Content-Language"] == "ja"
    assert client.get("/api/v1/trainees", headers=bearer(token) | {
        "Accept-Language": "en"}).json["title"] == "Not allowed for your role"
