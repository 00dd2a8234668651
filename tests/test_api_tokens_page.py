"""The "API tokens" page (issue 12): create (shown once), list, revoke; every role."""

import re

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import ApiToken


@pytest.mark.parametrize("role", ["admin", "department", "employer", "agency"])
def test_create_use_list_and_revoke(client, login, make_user, role):
    user = make_user(role=role, locale="en")
    login(user)
    page = client.post("/auth/tokens", data={"name": "case system", "expires_days": "7"})
    assert page.status_code == 200
    token = re.search(r'id="token-value">(mtk_[A-Za-z0-9_-]+)<', page.get_data(as_text=True))[1]
    assert client.get("/auth/tokens").get_data(as_text=True).count(token) == 0  # shown once
    client.post("/auth/logout")
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 200
    assert client.get("/api/v1/model", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == (200 if role == "admin" else 403)
    login(user)
    listing = client.get("/auth/tokens").get_data(as_text=True)
    assert "case system" in listing and "Never" not in listing.split("case system")[1][:200]
    row = db.session.scalar(sa.select(ApiToken))
    assert client.post(f"/auth/tokens/{row.id}/revoke").status_code == 302
    assert "Revoked" in client.get("/auth/tokens").get_data(as_text=True)
    assert client.get("/api/v1/trainees", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401


def test_an_empty_name_or_bad_expiry_is_refused(client, login, make_user):
    login(make_user(role="agency", locale="en"))
    assert "Enter a name" in client.post("/auth/tokens", data={"name": ""}).get_data(
        as_text=True)
    assert client.post("/auth/tokens", data={"name": "x", "expires_days": "0"}
                       ).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_nobody_revokes_another_users_token(client, login, make_user):
    from matching.operations.tokens import create_token

    owner, other = make_user(role="employer"), make_user(role="admin")
    row, _token = create_token(owner, "mine")
    db.session.commit()
    login(other)
    assert client.post(f"/auth/tokens/{row.id}/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).revoked_at is None


def test_the_account_page_links_to_the_tokens(client, login, make_user):
    login(make_user(role="department"))
    assert 'href="/auth/tokens"' in client.get("/auth/account").get_data(as_text=True)
