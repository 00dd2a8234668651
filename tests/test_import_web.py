"""The import pages: upload → preview (dry run) → confirm; errors; access; the template."""

import csv
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Trainee
from matching.operations.imports.trainees import KNOWN_COLUMNS

SAMPLE = Path(__file__).parent / "data" / "trainees_sample.csv"
#: The sample's rows in Đắk Lắk only (its last row belongs to Tuyên Quang).
DAK_LAK = "\n".join(SAMPLE.read_text(encoding="utf-8").splitlines()[:4]).encode("utf-8")


def count_trainees() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Trainee))


def upload(client, content: bytes, filename: str = "trainees.csv"):
    return client.post("/trainees/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def pending_uploads(app) -> list[str]:
    folder = os.path.join(app.instance_path, "imports")
    return os.listdir(folder) if os.path.isdir(folder) else []


@pytest.fixture
def department(make_user, login):
    user = make_user(role="department", province="dak-lak", locale="en")
    login(user)
    return user


def test_upload_page_offers_the_form_and_the_template(client, department):
    page = client.get("/trainees/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    assert "/trainees/import/template.csv" in page


def test_upload_preview_then_confirm_writes(app, client, department):
    response = upload(client, DAK_LAK)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="count-rows">3<' in page and 'id="count-created">3<' in page
    assert 'id="count-updated">0<' in page
    assert "Nguyễn Thị Ánh Tuyết" in page and "Dak Lak" in page and "Nursing care" in page
    assert 'id="confirm-import"' in page and "/trainees/import/confirm" in page
    assert count_trainees() == 0  # the preview is a dry run
    assert len(pending_uploads(app)) == 1

    response = client.post("/trainees/import/confirm")
    assert response.status_code == 302 and response.location.endswith("/trainees/")
    assert count_trainees() == 3
    assert pending_uploads(app) == []
    assert db.session.scalars(sa.select(Trainee.created_by_id)).all() == [department.id] * 3
    page = client.get(response.location).get_data(as_text=True)
    assert "Imported 3 rows: 3 created, 0 updated." in page

    # The token was used up: a second confirm imports nothing again.
    response = client.post("/trainees/import/confirm", follow_redirects=True)
    assert "There is no checked file waiting to be imported" in response.get_data(as_text=True)


def test_confirm_revalidates_against_the_current_database(client, department, make_trainee):
    upload(client, DAK_LAK)
    make_trainee(external_id="DL-001", province="dak-lak")  # registered meanwhile
    response = client.post("/trainees/import/confirm", follow_redirects=True)
    assert "Imported 3 rows: 2 created, 1 updated." in response.get_data(as_text=True)
    assert count_trainees() == 3


def test_preview_names_follow_the_users_locale(client, make_user, login):
    login(make_user(role="department", province="dak-lak", locale="ja"))
    page = upload(client, DAK_LAK).get_data(as_text=True)
    assert "ダクラク" in page and "介護" in page


def test_upload_with_errors_lists_every_bad_line_and_offers_no_confirm(app, client,
                                                                         department):
    bad = SAMPLE.read_text(encoding="utf-8").replace("Phu Yen", "Atlantis").replace(
        "2003-11-02", "31/02/2003").encode("utf-8")
    response = upload(client, bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="import-errors"' in page
    assert "Unknown province “Atlantis”." in page
    assert "“31/02/2003” is not a date" in page
    assert "outside your province" in page  # the Tuyên Quang row
    rows = page.split('id="import-errors"')[1].split("</table>")[0]
    for line, column in (("3", "province"), ("4", "date_of_birth"), ("5", "province")):
        assert f"<td>{line}</td>\n        <td><code>{column}</code></td>" in rows
    assert 'id="confirm-import"' not in page and "/trainees/import/confirm" not in page
    assert pending_uploads(app) == []
    with client.session_transaction() as session:
        assert "trainee_import" not in session
    assert count_trainees() == 0


def test_file_level_errors_are_shown(client, department):
    page = upload(client, b"external_id,full_name,provnce\n1,A,B\n").get_data(as_text=True)
    assert "Did you mean “province”?" in page
    assert "The required column “date_of_birth” is missing." in page
    assert 'id="confirm-import"' not in page


def test_wrong_extension_is_refused_by_the_form(app, client, department):
    response = upload(client, b"whatever", "trainees.txt")
    assert response.status_code == 200
    assert "Only .csv and .xlsx files can be imported." in response.get_data(as_text=True)
    assert pending_uploads(app) == []


def test_confirm_without_an_upload_is_refused_politely(client, department):
    response = client.post("/trainees/import/confirm")
    assert response.status_code == 302 and response.location.endswith("/trainees/import")
    page = client.get(response.location).get_data(as_text=True)
    assert "There is no checked file waiting to be imported" in page
    assert count_trainees() == 0


def test_a_tampered_session_token_is_not_followed(app, client, department, tmp_path):
    with client.session_transaction() as session:
        session["trainee_import"] = {"token": "../../etc/passwd", "ext": ".csv", "name": "x"}
    response = client.post("/trainees/import/confirm")
    assert response.status_code == 302 and response.location.endswith("/trainees/import")


def test_a_new_upload_replaces_the_pending_one(app, client, department):
    upload(client, DAK_LAK)
    upload(client, DAK_LAK)
    assert len(pending_uploads(app)) == 1


def test_old_abandoned_uploads_are_cleaned_up(app, client, department):
    folder = os.path.join(app.instance_path, "imports")
    os.makedirs(folder, exist_ok=True)
    stale = os.path.join(folder, "stale-upload-token-123456.csv")
    with open(stale, "w") as fh:
        fh.write("x")
    os.utime(stale, (0, 0))
    upload(client, DAK_LAK)
    assert not os.path.exists(stale)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_confirm_needs_a_csrf_token(client, make_user):
    user = make_user(role="department", province="dak-lak")
    # Log in through the form with its token, then post the confirm without one.
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    logged_in = client.post("/auth/login", data={"email": user.email,
                                                 "password": "correct horse 42",
                                                 "csrf_token": token})
    assert logged_in.status_code == 302
    assert client.post("/trainees/import/confirm").status_code == 400


@pytest.mark.parametrize("role", ["employer", "agency"])
@pytest.mark.parametrize(("method", "url"), [
    ("get", "/trainees/import"), ("post", "/trainees/import"),
    ("post", "/trainees/import/confirm"), ("get", "/trainees/import/template.csv"),
])
def test_other_roles_get_403(client, make_user, login, role, method, url):
    login(make_user(role=role))
    assert getattr(client, method)(url).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/trainees/import")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_admin_imports_any_province(client, make_user, login):
    login(make_user(role="admin"))
    page = upload(client, SAMPLE.read_bytes()).get_data(as_text=True)
    assert 'id="count-created">4<' in page
    client.post("/trainees/import/confirm")
    assert count_trainees() == 4


def test_template_download_is_an_importable_csv(client, department):
    response = client.get("/trainees/import/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")  # so Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert tuple(rows[0]) == KNOWN_COLUMNS and len(rows) == 2
    # The example row is valid as it stands, in the department's own province.
    page = upload(client, body, "trainees-template.csv").get_data(as_text=True)
    assert 'id="count-created">1<' in page and 'id="confirm-import"' in page
