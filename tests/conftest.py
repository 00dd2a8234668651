"""Shared fixtures: a migrated database per session, a fresh app and empty tables per test.

The database is SQLite in a temporary folder unless ``TEST_DATABASE_URL`` names another
(CI sets it to a fresh PostgreSQL database). The schema comes only from the migrations.
"""

import io
import itertools
import os
import threading
from contextlib import contextmanager
from datetime import date, timedelta

import flask_babel
import pytest
import sqlalchemy as sa
from flask import g, request_started
from flask_babel import force_locale
from flask_migrate import upgrade
from openpyxl import Workbook
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from matching import create_app
from matching.extensions import db
from matching.models import (
    Dispatch,
    Document,
    JobOrder,
    Organisation,
    RegistryState,
    StatusEvent,
    Trainee,
    User,
)
from matching.vocab import fold, japanese_rank

PASSWORD = "correct horse 42"
# Hashing with the production cost makes a 500-test suite slow; tests check behaviour, not cost.
_FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture(scope="session", autouse=True)
def _instance_outside_the_checkout(tmp_path_factory):
    """Every app a test builds gets an instance folder made for the tests, never the checkout's,
    and a developer's REDIS_URL does not make the tests share log-in throttling counters."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MATCHING_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
        patch.delenv("REDIS_URL", raising=False)
        yield


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def _test_config(database_url, tmp_path, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "SERVER_NAME": None,
    }
    config.update(extra)
    return config


@pytest.fixture
def app_config():
    """Per-test overrides, e.g. ``app_config["WTF_CSRF_ENABLED"] = True`` before ``app``."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    # The instance folder of a test app lives in tmp_path, never in the checkout.
    monkeypatch.setenv("MATCHING_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(_test_config(database_url, tmp_path, **app_config))
    # The test holds one app context open and Flask reuses it for every request the client
    # makes, so what requests cache in `g` (locale, user, CSRF token) is dropped per request.
    request_started.connect(_forget_request_caches, application)
    with application.app_context():
        yield application
        request_started.disconnect(_forget_request_caches, application)
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _forget_request_caches(_sender, **_extra) -> None:
    """Start each request with an empty `g`, as a fresh app context would in production."""
    for key in list(g):
        g.pop(key)
    flask_babel.refresh()


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        # As the migration leaves it: the registry version's one row (models.registry).
        conn.execute(RegistryState.__table__.insert().values(id=1, version=1, full_since=1))


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-protocol server, moto's standalone one, on a free loopback port (started by
    the first test that needs it): its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class BucketFiles:
    """A new bucket on the test S3 server: ``config`` points an app's document store at it;
    ``keys()`` and ``read(key)`` look inside with a client of its own."""

    def __init__(self, endpoint: str, name: str):
        import boto3

        self.name, self.prefix = name, "documents/"
        self.config = {"DOCUMENT_STORE": "s3", "DOCUMENT_S3_BUCKET": name,
                       "DOCUMENT_S3_ENDPOINT_URL": endpoint, "DOCUMENT_S3_REGION": "us-east-1",
                       "DOCUMENT_S3_ACCESS_KEY_ID": "test-key",
                       "DOCUMENT_S3_SECRET_ACCESS_KEY": "test-secret",
                       "DOCUMENT_S3_PREFIX": self.prefix}
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="test-key", aws_secret_access_key="test-secret")
        self.client.create_bucket(Bucket=name)

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return sorted(item["Key"].removeprefix(self.prefix) for item in listed)

    def read(self, key: str) -> bytes:
        body = self.client.get_object(Bucket=self.name, Key=self.prefix + key)["Body"]
        with body:
            return body.read()


class FolderFiles:
    """The same view of an app's local document folder."""

    def __init__(self, app):
        self.folder = os.path.join(app.instance_path, "documents")

    def keys(self) -> list[str]:
        return sorted(os.listdir(self.folder)) if os.path.isdir(self.folder) else []

    def read(self, key: str) -> bytes:
        with open(os.path.join(self.folder, key), "rb") as stored:
            return stored.read()


@pytest.fixture
def s3_bucket(s3_server):
    bucket = BucketFiles(s3_server, f"documents-{next(_seq)}-{os.getpid()}")
    yield bucket
    bucket.client.close()


@pytest.fixture(params=["local", "s3"])
def stored_files(request, app):
    """Tests asking for it run twice: the app's documents in its instance folder, then in a
    bucket of a real S3-protocol server. A view of what is stored: ``keys()``, ``read(key)``."""
    from matching.storage import close_document_store

    if request.param == "local":
        yield FolderFiles(app)
        return
    bucket = request.getfixturevalue("s3_bucket")
    close_document_store(app)
    app.config.update(bucket.config)
    yield bucket
    close_document_store(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app):
    """The test's app served over HTTP by werkzeug, in a thread, on a free loopback port:
    its base URL. Requests run in the server's thread, each with its own app context."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_seq = itertools.count(1)


@pytest.fixture
def make_org(app):
    def make(kind="department", province="nghe-an", code=None, name=None, country=None):
        n = next(_seq)
        org = Organisation(
            kind=kind, code=code or f"{kind}-{n}", name=name or f"{kind.title()} {n}",
            country=country or ("JP" if kind == "employer" else "VN"),
            province=province if kind in ("department", "school") else None,
        )
        db.session.add(org)
        db.session.commit()
        return org

    return make


_ROLE_KIND = {"admin": "platform", "department": "department", "employer": "employer",
              "agency": "agency"}


@pytest.fixture
def make_user(app, make_org):
    def make(role="department", org=None, province="nghe-an", email=None, locale=None, **kw):
        org = org or make_org(kind=_ROLE_KIND[role], province=province)
        user = User(email=email or f"{role}{next(_seq)}@example.org", role=role,
                    organisation=org, password_hash=_FAST_HASH, locale=locale, **kw)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_trainee(app):
    def make(**kw):
        n = next(_seq)
        values = dict(external_id=f"T{n:05d}", full_name=f"Nguyễn Văn An {n}",
                      date_of_birth=date(2000, 1, 1), province="nghe-an", field="construction",
                      japanese_level="N4", school="Trường Cao đẳng Kỹ thuật Nghệ An")
        values.update(kw)
        values.setdefault("name_folded", fold(values["full_name"]))
        values.setdefault("language_rank", japanese_rank(values["japanese_level"]))
        trainee = Trainee(**values)
        db.session.add(trainee)
        db.session.commit()
        return trainee

    return make


@pytest.fixture
def login(client):
    def do_login(user, password=PASSWORD):
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, "login failed"
        return response

    return do_login


@pytest.fixture
def count_queries(app):
    """``with count_queries() as n: ...`` then ``n[0]`` is the number of SQL statements run."""

    @contextmanager
    def counter():
        count = [0]

        def before(*_args):
            count[0] += 1

        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield count
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)

    return counter


@pytest.fixture
def switch_login(client, login):
    """``switch_login(user)``: log out whoever is logged in, then log in as ``user``."""

    def switch(user):
        client.post("/auth/logout")
        return login(user)

    return switch


@pytest.fixture
def agency(make_org):
    """An agency organisation."""
    return make_org(kind="agency")


@pytest.fixture
def agent(make_user, agency):
    """A user of ``agency``."""
    return make_user(role="agency", org=agency)


# -- helpers shared by several test modules (``from tests.conftest import ...``) -------------


def english(message) -> str:
    """A lazy message as the English source text, whatever the default locale."""
    with force_locale("en"):
        return str(message)


def messages(result) -> list[tuple[int, str | None, str]]:
    """An import result's errors as (line, column, English message)."""
    return [(e.line, e.column, english(e.message)) for e in result.errors]


def xlsx(rows: list[list]) -> io.BytesIO:
    """An Excel workbook whose first sheet holds ``rows``, ready to be read."""
    workbook = Workbook()
    sheet = workbook.active
    for values in rows:
        sheet.append(values)
    stream = io.BytesIO()
    workbook.save(stream)
    stream.seek(0)
    return stream


def add_job_order(**values) -> JobOrder:
    """Store a job order made of ``values`` (``employer_id`` at least)."""
    job = JobOrder(**values)
    db.session.add(job)
    db.session.commit()
    return job


_TODAY = date.today()
_FAR = _TODAY + timedelta(days=3 * 365)


def open_dispatch(make_org, make_trainee, *, stage="selected", agency=None, trainee=None,
                  planned_departure=None, since=None) -> Dispatch:
    """A dispatch at ``stage`` (history: one "selected" event ``since`` days ago, default 30),
    handled by ``agency`` (a new agency organisation by default)."""
    agency = agency or make_org(kind="agency")
    employer = make_org(kind="employer")
    trainee = trainee or make_trainee()
    job = JobOrder(external_id=f"JO-M{next(_seq):04d}", employer_id=employer.id,
                   agency_id=agency.id, title="Welder", field="construction")
    db.session.add(job)
    db.session.flush()
    dispatch = Dispatch(job_order_id=job.id, trainee_id=trainee.id, agency_id=agency.id,
                        stage=stage, planned_departure=planned_departure)
    db.session.add(dispatch)
    db.session.flush()
    db.session.add(StatusEvent(dispatch_id=dispatch.id, from_stage=None, to_stage="selected",
                               happened_on=_TODAY - timedelta(days=30 if since is None else since)))
    trainee.status = "in_process"
    db.session.commit()
    return dispatch


def add_doc(dispatch, kind, *, number="N-1", issued_on=None, expires_on=_FAR) -> Document:
    """A complete document of ``kind``, owned as ``add_document`` would own it."""
    owner = ({"trainee_id": dispatch.trainee_id}
             if kind in ("passport", "health_check", "tb_certificate", "language_certificate")
             else {"dispatch_id": dispatch.id})
    document = Document(kind=kind, number=number, issued_on=issued_on or _TODAY - timedelta(10),
                        expires_on=expires_on, **owner)
    db.session.add(document)
    db.session.commit()
    return document


def add_all_documents(dispatch) -> None:
    """Every document a dispatch needs up to departure (the TB certificate for coe_applied)."""
    for kind in ("tb_certificate", "coe", "passport", "visa", "flight"):
        add_doc(dispatch, kind)
