"""One checked import, confirmed many times at once, is applied once (issue 8, item 8)."""

import io
import threading

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Trainee
from matching.operations.imports import trainees
from matching.operations.imports.parsing import import_file
from matching.operations.imports.trainees import import_trainees

CSV = ("external_id,full_name,date_of_birth,province,field,japanese_level\n"
       + "".join(f"R{n},Nguyễn Văn {n},2000-01-0{n},nghe-an,construction,N4\n"
                 for n in range(1, 6))).encode()


def count_trainees() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Trainee))


def preview(client):
    response = client.post("/trainees/import", data={"file": (io.BytesIO(CSV), "t.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and 'id="confirm-import"' in response.get_data(True)


@pytest.fixture
def department(make_user, login, client):
    user = make_user(role="department", province="nghe-an", locale="en")
    login(user)
    return user


def test_simultaneous_confirms_of_one_preview_apply_it_once(app, client, department):
    preview(client)
    cookie = client.get_cookie("session")
    clients = []
    for _ in range(6):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value)
        clients.append(other)
    barrier = threading.Barrier(len(clients))
    answers, failures = [], []

    def confirm(other):
        try:
            barrier.wait()
            response = other.post("/trainees/import/confirm")
            answers.append((response.status_code, response.headers.get("Location"),
                            other.get("/trainees/import").get_data(True)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=confirm, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(code for code, _, _ in answers) == [302] * 6
    done = [a for a in answers if a[1].rstrip("/").endswith("/trainees")]
    nothing = [a for a in answers if a[1].endswith("/trainees/import")]
    assert len(done) == 1 and len(nothing) == 5
    assert all("There is no checked file waiting to be imported" in page
               for _, _, page in nothing)
    assert count_trainees() == 5


def test_rows_written_by_another_import_meanwhile_give_a_message_not_a_500(
        app, client, department, monkeypatch):
    preview(client)
    # Another confirm (another session) inserted the same trainees after this one looked.
    with app.test_request_context():
        result = import_file(io.BytesIO(CSV), "t.csv", import_trainees, user=department)
        db.session.commit()  # as that other request's end would
    assert result.ok and count_trainees() == 5
    monkeypatch.setattr(trainees, "_existing_ids", lambda keys: {})
    response = client.post("/trainees/import/confirm")
    assert response.status_code == 302 and response.headers["Location"].endswith("/import")
    page = client.get("/trainees/import").get_data(True)
    assert "Someone else imported the same records at the same moment" in page
    assert count_trainees() == 5
