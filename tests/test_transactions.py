"""One request, one transaction (issue 9, part 7): operations flush, the request commits
once at its end, an error answer rolls everything back, and a stored file follows its
transaction."""

import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from matching.extensions import db
from matching.models import Document, Organisation
from matching.operations.documents import add_document
from tests.conftest import open_dispatch

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def committed_names() -> list[str]:
    """What another connection sees: only what was committed."""
    with db.engine.connect() as conn:
        return sorted(conn.execute(sa.select(Organisation.name)).scalars())


def _route_that_writes(app, status: int) -> None:
    def write():
        db.session.add(Organisation(kind="employer", code=f"kk-{status}",
                                    name=f"Written then {status}", country="JP"))
        db.session.flush()
        return "done", status

    app.add_url_rule(f"/_test/write-{status}", f"write_{status}", write)


def test_a_successful_request_commits_what_it_wrote(app, client):
    _route_that_writes(app, 200)
    assert client.get("/_test/write-200").status_code == 200
    db.session.remove()
    assert committed_names() == ["Written then 200"]


def test_an_error_answer_rolls_back_what_the_request_wrote(app, client):
    _route_that_writes(app, 409)
    assert client.get("/_test/write-409").status_code == 409
    db.session.remove()
    assert committed_names() == []


def test_a_stored_file_follows_its_transaction(app, make_org, make_trainee, agent,
                                               stored_files):
    """With the local folder and with an S3-compatible object store (``stored_files``)."""
    dispatch = open_dispatch(make_org, make_trainee, stage="contracted",
                             agency=agent.organisation)

    def record(number):
        return add_document(agent, dispatch=dispatch, kind="contract", number=number,
                            issued_on=None, expires_on=None,
                            upload=FileStorage(io.BytesIO(PDF), filename="contract.pdf"))

    record("HD-rolled-back")
    assert len(stored_files.keys()) == 1
    db.session.rollback()  # the request failed after the operation: no row, no file
    assert stored_files.keys() == []
    kept = record("HD-kept")
    db.session.commit()
    assert stored_files.keys() == [kept.file_path]
    db.session.rollback()  # a later rollback does not touch what was committed
    assert len(stored_files.keys()) == 1
    assert db.session.scalars(sa.select(Document.number)).all() == ["HD-kept"]
