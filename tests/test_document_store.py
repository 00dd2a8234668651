"""Document storage behind one interface (issue 11, item 3): the instance folder by default,
an S3-compatible object store when configured, tested against a real S3-protocol server
(moto's standalone server, started by the tests on a free loopback port).

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from matching import create_app
from matching.config import from_environment
from matching.extensions import db
from matching.models import Document
from matching.operations.documents import add_document
from matching.storage import LocalStore, S3Store, close_document_store, document_store
from tests.conftest import PASSWORD, FolderFiles, open_dispatch

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20


@pytest.fixture
def bucket(app, s3_bucket):
    """The test app keeps its documents in a new bucket of the test S3 server."""
    close_document_store(app)
    app.config.update(s3_bucket.config)
    yield s3_bucket
    close_document_store(app)


@pytest.fixture
def people(make_org, make_user, make_trainee):
    agency = make_org(kind="agency")
    dispatch = open_dispatch(make_org, make_trainee, stage="contracted", agency=agency)
    return {"agent": make_user(role="agency", org=agency, locale="en"),
            "employer": make_user(role="employer", org=dispatch.job_order.employer,
                                  locale="en"),
            "dispatch": dispatch}


def _upload(client, dispatch, data: bytes, name: str = "hợp đồng lao động.pdf"):
    # The body is encoded here, in memory: the test client would spool a large one to a
    # temporary file it never closes (a ResourceWarning, an error under filterwarnings).
    boundary, body = encode_multipart({"kind": "contract", "number": "HD-S3-1",
                                       "file": FileStorage(io.BytesIO(data), filename=name)})
    return client.post(f"/dispatch/{dispatch.id}/documents", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def _documents() -> list[Document]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Document)).all()


def _download(client, dispatch, document):
    return client.get(f"/dispatch/{dispatch.id}/documents/{document.id}/file")


# -- through the site --------------------------------------------------------------------------


def test_an_upload_through_the_site_is_an_object_in_the_bucket(app, client, login, people,
                                                                bucket):
    login(people["agent"])
    assert _upload(client, people["dispatch"], PDF).status_code == 302
    [document] = _documents()
    assert bucket.keys() == [document.file_path]
    assert bucket.read(document.file_path) == PDF
    head = bucket.client.head_object(Bucket=bucket.name, Key="documents/" + document.file_path)
    assert head["ContentType"] == "application/pdf" and head["ContentLength"] == len(PDF)
    # A random name: nothing of the person, the dispatch or the file name in the key.
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", document.file_path)
    assert FolderFiles(app).keys() == []  # nothing in the instance folder


def test_a_download_streams_the_same_bytes_from_the_bucket(client, login, people, bucket):
    big = PDF + bytes(range(256)) * 12_000  # about 3 MB: many chunks
    login(people["agent"])
    assert _upload(client, people["dispatch"], big).status_code == 302
    [document] = _documents()
    login(people["employer"])  # who may see the dispatch may download its papers
    response = client.get(f"/dispatch/{people['dispatch'].id}/documents/{document.id}/file",
                          buffered=False)
    try:
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(len(big))
        assert response.headers["Cache-Control"] == "no-store"
        assert "filename*=UTF-8''h%E1%BB%A3p" in response.headers["Content-Disposition"]
        chunks = list(response.response)  # served as read from the store, chunk by chunk
        assert len(chunks) > 1 and b"".join(chunks) == big
    finally:
        response.close()


def test_a_download_whose_object_is_gone_is_404(client, login, people, bucket):
    login(people["agent"])
    assert _upload(client, people["dispatch"], PDF).status_code == 302
    [document] = _documents()
    bucket.client.delete_object(Bucket=bucket.name, Key="documents/" + document.file_path)
    assert _download(client, people["dispatch"], document).status_code == 404


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"MZ\x90\x00\x03" + b"\x00" * 40, "contract.pdf",   # an executable named .pdf
     "Only PDF, JPEG and PNG files can be attached."),
    (PDF + b"\x00" * (1024 * 1024), "contract.pdf", "The file is larger than 1 MB."),
    (b"", "contract.pdf", "The file is empty."),
])
def test_a_refused_file_writes_nothing(app, client, login, people, bucket, data, name,
                                       message):
    app.config["MAX_DOCUMENT_BYTES"] = 1024 * 1024  # the same check, with a smaller limit
    login(people["agent"])
    response = _upload(client, people["dispatch"], data, name)
    assert response.status_code == 200  # the form again, with the reason
    assert message in response.get_data(as_text=True)
    assert bucket.keys() == [] and _documents() == []


def test_an_error_answer_after_the_upload_deletes_the_object(app, client, login, people,
                                                             bucket):
    """The request's transaction rolls back (status >= 400): its object goes with it."""
    def record_then_fail():
        add_document(people["agent"], dispatch=people["dispatch"], kind="contract",
                     number="HD-409", issued_on=None, expires_on=None,
                     upload=FileStorage(io.BytesIO(PDF), filename="contract.pdf"))
        assert len(bucket.keys()) == 1
        return "refused later", 409

    app.add_url_rule("/_test/record-then-fail", "record_then_fail", record_then_fail)
    assert client.get("/_test/record-then-fail").status_code == 409
    assert bucket.keys() == [] and _documents() == []


def test_a_rolled_back_document_deletes_its_object(people, bucket):
    def record(number):
        return add_document(people["agent"], dispatch=people["dispatch"], kind="contract",
                            number=number, issued_on=None, expires_on=None,
                            upload=FileStorage(io.BytesIO(PNG), filename="scan.png"))

    record("rolled back")
    assert len(bucket.keys()) == 1
    db.session.rollback()
    assert bucket.keys() == []
    kept = record("kept")
    db.session.commit()
    db.session.rollback()  # a later rollback leaves what was committed
    assert bucket.keys() == [kept.file_path] and bucket.read(kept.file_path) == PNG


# -- two app instances, one database, one bucket ----------------------------------------------


def _another_host(database_url, tmp_path, **config):
    """Another app instance (another host): its own instance folder, the same database."""
    other = create_app({"TESTING": True, "SECRET_KEY": "another-host",
                        "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False,
                        "SESSION_COOKIE_SECURE": False, **config})
    other.instance_path = str(tmp_path / "host-b")
    return other


def _end(other) -> None:
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    close_document_store(other)


@pytest.fixture
def host_b(database_url, tmp_path, bucket):
    """Another host with the same bucket."""
    other = _another_host(database_url, tmp_path, **bucket.config)
    yield other
    _end(other)


def test_a_document_uploaded_on_one_host_downloads_on_another(app, client, login, people,
                                                               host_b):
    login(people["agent"])
    assert _upload(client, people["dispatch"], PDF).status_code == 302
    [document] = _documents()
    url = f"/dispatch/{people['dispatch'].id}/documents/{document.id}/file"
    email = people["employer"].email
    db.session.remove()  # host A's request is over; the test's own session lets go too

    other = host_b.test_client()
    response = other.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    response = other.get(url)
    assert response.status_code == 200 and response.data == PDF
    response.close()
    # Neither host kept a copy in its instance folder.
    assert FolderFiles(app).keys() == [] and FolderFiles(host_b).keys() == []


def test_with_the_local_store_another_host_does_not_have_the_file(app, client, login, people,
                                                                  database_url, tmp_path):
    """Why the object store is needed with several hosts: the folder is each host's own."""
    login(people["agent"])
    assert _upload(client, people["dispatch"], PDF).status_code == 302
    [document] = _documents()
    url = f"/dispatch/{people['dispatch'].id}/documents/{document.id}/file"
    email, key = people["agent"].email, document.file_path
    db.session.remove()
    other_app = _another_host(database_url, tmp_path)
    other = other_app.test_client()
    try:
        assert other.post("/auth/login", data={"email": email, "password": PASSWORD}
                          ).status_code == 302
        assert other.get(url).status_code == 404  # a clear 404, never a 500
    finally:
        _end(other_app)
    assert FolderFiles(app).keys() == [key]


# -- configuration -----------------------------------------------------------------------------


def test_the_local_folder_is_the_default(app):
    store = document_store()
    assert isinstance(store, LocalStore)
    assert store.folder == FolderFiles(app).folder


def test_s3_is_chosen_by_configuration(app, bucket):
    store = document_store()
    assert isinstance(store, S3Store) and store.bucket == bucket.name


def test_the_store_settings_come_from_the_environment():
    settings = from_environment({
        "DOCUMENT_STORE": "s3", "DOCUMENT_S3_BUCKET": "matching-documents",
        "DOCUMENT_S3_ENDPOINT_URL": "https://s3.example.org", "DOCUMENT_S3_REGION": "ap-1",
        "DOCUMENT_S3_ACCESS_KEY_ID": "key", "DOCUMENT_S3_SECRET_ACCESS_KEY": "secret",
        "DOCUMENT_S3_PREFIX": "prod/"})
    assert settings["DOCUMENT_STORE"] == "s3"
    assert settings["DOCUMENT_S3_BUCKET"] == "matching-documents"
    assert settings["DOCUMENT_S3_ENDPOINT_URL"] == "https://s3.example.org"
    assert settings["DOCUMENT_S3_SECRET_ACCESS_KEY"] == "secret"
    assert settings["DOCUMENT_S3_PREFIX"] == "prod/"


@pytest.mark.parametrize(("settings", "message"), [
    ({"DOCUMENT_STORE": "ftp"}, "DOCUMENT_STORE must be one of local, s3"),
    ({"DOCUMENT_STORE": "s3"}, "DOCUMENT_STORE=s3 needs DOCUMENT_S3_BUCKET"),
])
def test_a_store_that_cannot_work_stops_the_app_at_start(database_url, settings, message):
    with pytest.raises(ValueError, match=message):
        create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_url,
                    **settings})


def test_a_reader_opens_at_its_first_read_and_closes_at_its_end(tmp_path):
    store = LocalStore(str(tmp_path))
    store.put("a" * 32 + ".pdf", PDF, "application/pdf")
    opened = []
    real_open = store.open

    def spy(key):
        opened.append(real_open(key))
        return opened[-1]

    store.open = spy
    reader = store.reader("a" * 32 + ".pdf")
    reader.close()  # never read: never opened
    assert opened == []
    reader = store.reader("a" * 32 + ".pdf")
    assert reader.read(10) == PDF[:10] and len(opened) == 1 and not opened[0].closed
    assert reader.read(1000) == PDF[10:] and opened[0].closed  # the end closes it
    assert reader.read(1000) == b""
    reader = store.reader("a" * 32 + ".pdf")
    assert reader.read(len(PDF)) == PDF and not opened[-1].closed  # the end not seen yet
    reader.close()
    assert opened[-1].closed
