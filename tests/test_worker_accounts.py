"""Worker accounts (issue 13 §3): the department invites a trainee with a one-time link
(valid 14 days, stored as a digest, single use, revocable), the worker chooses a password
and is logged in, in Vietnamese; the department can close the account (sessions end)."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import User, WorkerInvitation
from matching.models._common import utcnow
from matching.operations import workers as ops
from matching.operations.accounts import AccountError
from tests.workers import PASSWORD, department_of, invitation_link, make_worker

NEW_PASSWORD = "my own password 7"


@pytest.fixture
def trainee(make_trainee):
    return make_trainee(province="nghe-an", email="an@example.vn")


@pytest.fixture
def officer(make_user, trainee):
    return make_user(role="department", org=department_of(trainee))


def _invite(client, login, officer, trainee) -> str:
    login(officer)
    response = client.post(f"/trainees/{trainee.id}/account/invite")
    assert response.status_code == 302
    page = client.get(f"/trainees/{trainee.id}/account").get_data(as_text=True)
    assert 'id="invitation-qr"' in page and "<svg" in page  # the QR code to print
    client.post("/auth/logout")
    return invitation_link(page)


def _accept(client, link, email="an@example.vn", password=NEW_PASSWORD, confirm=None):
    return client.post(link, data={"email": email, "password": password,
                                   "confirm": confirm or password})


def test_invited_worker_chooses_a_password_and_sees_their_page_in_vietnamese(
        client, login, officer, trainee):
    link = _invite(client, login, officer, trainee)
    assert "lang=vi" in link
    form = client.get(link)
    assert form.status_code == 200
    assert 'value="an@example.vn"' in form.get_data(as_text=True)  # prefilled
    response = _accept(client, link)
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/")
    page = client.get("/me/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert trainee.full_name in page and 'lang="vi"' in page
    worker = db.session.scalar(sa.select(User).where(User.trainee_id == trainee.id))
    assert worker.role == "worker" and worker.locale == "vi"
    assert worker.organisation_id == officer.organisation_id
    # Later, the worker logs in with the e-mail and password chosen.
    client.post("/auth/logout")
    login(worker, password=NEW_PASSWORD)
    assert client.get("/").headers["Location"].endswith("/me/")


def test_only_a_digest_of_the_link_is_stored(client, login, officer, trainee):
    link = _invite(client, login, officer, trainee)
    token = link.split("token=")[1].split("&")[0]
    invitation = db.session.scalar(sa.select(WorkerInvitation))
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert invitation.expires_at - invitation.created_at == timedelta(days=14)


def test_the_link_is_used_once(app, client, login, officer, trainee):
    link = _invite(client, login, officer, trainee)
    assert _accept(client, link).status_code == 302
    other = app.test_client()
    again = _accept(other, link, email="someone@example.org")
    assert again.status_code == 404
    assert "no longer be used" in again.get_data(as_text=True) or "không" in \
        again.get_data(as_text=True)
    assert other.get(link).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.role == "worker")) == 1


def test_an_expired_link_opens_nothing(client, login, officer, trainee):
    link = _invite(client, login, officer, trainee)
    invitation = db.session.scalar(sa.select(WorkerInvitation))
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(link).status_code == 404
    assert _accept(client, link).status_code == 404
    assert db.session.scalar(sa.select(User).where(User.role == "worker")) is None


def test_a_link_still_valid_on_day_thirteen(client, login, officer, trainee):
    link = _invite(client, login, officer, trainee)
    invitation = db.session.scalar(sa.select(WorkerInvitation))
    invitation.created_at -= timedelta(days=13)
    invitation.expires_at -= timedelta(days=13)
    db.session.commit()
    assert _accept(client, link).status_code == 302


def test_a_cancelled_or_replaced_link_opens_nothing(client, login, officer, trainee):
    first = _invite(client, login, officer, trainee)
    second = _invite(client, login, officer, trainee)  # a new link cancels the first
    assert client.get(first).status_code == 404
    login(officer)
    client.post(f"/trainees/{trainee.id}/account/cancel")
    client.post("/auth/logout")
    assert client.get(second).status_code == 404
    assert client.get("/welcome?token=forged").status_code == 404
    assert client.get("/welcome").status_code == 404


def test_the_password_follows_the_site_rules(client, login, officer, trainee):
    link = _invite(client, login, officer, trainee)
    assert _accept(client, link, password="short").status_code == 200
    assert _accept(client, link, confirm="something else entirely").status_code == 200
    assert db.session.scalar(sa.select(User).where(User.role == "worker")) is None
    assert _accept(client, link).status_code == 302  # the link is still good


def test_an_email_of_another_account_is_refused(client, login, officer, trainee):
    link = _invite(client, login, officer, trainee)
    page = _accept(client, link, email=officer.email)
    assert page.status_code == 200 and 'aria-invalid="true"' in page.get_data(as_text=True)


def test_closing_the_account_ends_its_sessions(app, client, login, officer, trainee):
    worker = make_worker(trainee)
    phone = app.test_client()
    phone.post("/auth/login", data={"email": worker.email, "password": PASSWORD})
    assert phone.get("/me/").status_code == 200
    login(officer)
    assert client.post(f"/trainees/{trainee.id}/account/revoke").status_code == 302
    db.session.refresh(worker)
    assert not worker.active
    assert "/auth/login" in phone.get("/me/").headers["Location"]
    refused = phone.post("/auth/login", data={"email": worker.email, "password": PASSWORD})
    assert refused.status_code == 200  # inactive: the log-in form again


def test_a_new_invitation_reopens_a_closed_account(client, login, officer, trainee):
    worker = make_worker(trainee)
    login(officer)
    client.post(f"/trainees/{trainee.id}/account/revoke")
    client.post("/auth/logout")
    link = _invite(client, login, officer, trainee)
    assert _accept(client, link, email="new@example.vn").status_code == 302
    db.session.refresh(worker)
    assert worker.active and worker.email == "new@example.vn"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.trainee_id == trainee.id)) == 1


def test_another_province_cannot_invite(client, login, make_user, trainee):
    stranger = make_user(role="department", province="thanh-hoa")
    login(stranger)
    assert client.post(f"/trainees/{trainee.id}/account/invite").status_code == 404
    assert client.get(f"/trainees/{trainee.id}/account").status_code == 404
    with pytest.raises(AccountError):
        ops.invite_worker(stranger, trainee)


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "pool_pre_ping": True}}


def test_two_browsers_racing_on_one_link_open_one_account(app, officer, trainee):
    _invitation, token = ops.invite_worker(officer, trainee)
    db.session.commit()
    barrier = threading.Barrier(2, timeout=30)
    results = []

    def accept(email):
        with app.app_context():
            try:
                barrier.wait()
                ops.accept_invitation(token, email=email, password=NEW_PASSWORD)
                db.session.commit()
                results.append("ok")
            except AccountError as err:
                db.session.rollback()
                results.append(err.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(f"w{n}@example.org",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["invalid_link", "ok"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.role == "worker")) == 1
