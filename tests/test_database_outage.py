"""The database goes away and comes back (issue 11, item 8).

The machine's PostgreSQL is shared, so it is never stopped: the app reaches it through a
``TcpProxy`` (tests/faults.py) that the test cuts (connections closed, new ones refused, as
a restarting server), hangs (connections accepted, never answered) and restores, without
restarting the app. Every page that needs the database then answers 503 at once with the
translated page and Retry-After, no traceback; /readyz says 503; when it is back the next
request is served, by the same app, also under several concurrent clients.

These tests run whenever a server answers on 127.0.0.1:5432 (in a database of their own,
dropped at the end), whatever database the rest of the suite uses.
"""

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from matching import config, create_app
from matching.extensions import db
from matching.models import Organisation, User
from matching.operations.tokens import create_token
from tests.faults import TcpProxy

#: Fail fast, not a benchmark: a generous bound on each answer during an outage (the connect
#: timeout is 2 s here; a hung worker would wait for minutes).
BOUND_SECONDS = 5
PASSWORD = "correct horse 42"
ENGLISH = {"Accept-Language": "en"}
UNAVAILABLE = "Service temporarily unavailable"
LEAKS = ("Traceback", "OperationalError", "psycopg", "sqlalchemy", "127.0.0.1")

POSTGRES = ("127.0.0.1", 5432)


def _timed(client, method, path, **kw):
    started = time.perf_counter()
    response = client.open(path, method=method, **kw)
    return response, time.perf_counter() - started


def _assert_unavailable_page(response, elapsed):
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:500]
    assert elapsed < BOUND_SECONDS
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Cache-Control"] == "no-store"
    assert UNAVAILABLE in html and "(503)" in html
    for leak in LEAKS:
        assert leak not in html


def _postgres_url(database: str, port: int = POSTGRES[1]) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"


@pytest.fixture(scope="module")
def postgres_database():
    """A migrated database of these tests on the machine's PostgreSQL, dropped at the end."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(host=POSTGRES[0], port=POSTGRES[1], user="postgres",
                                dbname="postgres", connect_timeout=2, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"the database-outage tests need PostgreSQL on 127.0.0.1:5432 ({exc})")
    name = f"faults_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE DATABASE {name}")
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "t",
                          "SQLALCHEMY_DATABASE_URI": _postgres_url(name)})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield name
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture
def pg_proxy():
    with TcpProxy(POSTGRES[1]) as proxy:
        yield proxy


@pytest.fixture
def pg_app(postgres_database, pg_proxy, tmp_path, monkeypatch):
    """The app on PostgreSQL through the proxy, with one department user (``app.user_email``)."""
    monkeypatch.setenv("MATCHING_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
        "SQLALCHEMY_DATABASE_URI": _postgres_url(postgres_database, pg_proxy.port),
        "DATABASE_CONNECT_TIMEOUT": 2,
    })
    n = uuid.uuid4().hex[:8]
    with app.app_context():
        org = Organisation(kind="department", code=f"dept-{n}", name=f"Department {n}",
                           country="VN", province="nghe-an")
        user = User(email=f"dept-{n}@example.org", role="department", organisation=org,
                    password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
        db.session.add_all([org, user])
        db.session.commit()
        app.user_email = user.email
    yield app
    with app.app_context():
        db.engine.dispose()


def _logged_in(app):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": app.user_email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_postgres_down_answers_503_at_once_and_the_site_comes_back(pg_app, pg_proxy):
    client = _logged_in(pg_app)
    assert client.get("/", headers=ENGLISH).status_code == 200

    pg_proxy.cut()
    for method, path in (("GET", "/"), ("GET", "/trainees/"), ("POST", "/lang")):
        _assert_unavailable_page(*_timed(client, method, path, headers=ENGLISH,
                                         data={"lang": "ja"}))
    # Logging in needs the database too; the form itself does not.
    anonymous = pg_app.test_client()
    _assert_unavailable_page(*_timed(anonymous, "POST", "/auth/login", headers=ENGLISH,
                                     data={"email": pg_app.user_email, "password": PASSWORD}))
    assert anonymous.get("/auth/login").status_code == 200
    # The load balancer is told at once; the process itself is alive.
    ready, elapsed = _timed(client, "GET", "/readyz")
    assert ready.status_code == 503 and elapsed < BOUND_SECONDS
    assert ready.get_json()["checks"]["database"] == "error: OperationalError"
    assert client.get("/healthz").status_code == 200

    pg_proxy.restore()
    # The same app, the same session cookie: served again, nothing to restart.
    assert client.get("/", headers=ENGLISH).status_code == 200
    assert client.get("/trainees/", headers=ENGLISH).status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(("lang", "title"), [("ja", "サービスを一時的に利用できません"),
                                             ("vi", "Hệ thống tạm thời gián đoạn")])
def test_the_503_page_is_translated(pg_app, pg_proxy, lang, title):
    client = _logged_in(pg_app)
    pg_proxy.cut()
    response = client.get("/", headers={"Accept-Language": lang})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert f'<html lang="{lang}"' in html and title in html and UNAVAILABLE not in html


def test_a_database_that_never_answers_fails_fast_too(pg_app, pg_proxy):
    client = _logged_in(pg_app)
    pg_proxy.hang()  # connections accepted, never answered: only the connect timeout ends it
    _assert_unavailable_page(*_timed(client, "GET", "/", headers=ENGLISH))
    ready, elapsed = _timed(client, "GET", "/readyz")
    assert ready.status_code == 503 and elapsed < BOUND_SECONDS
    pg_proxy.restore()
    assert client.get("/").status_code == 200


def _cut_on(app, proxy, event: str, after: int = 0):
    """Cut the proxy when the engine is about to run its ``after``+1-th statement
    (``before_cursor_execute``) or to commit (``commit``), once."""
    seen = [0]

    def cut(*_args, **_kw):
        seen[0] += 1
        if seen[0] == after + 1:
            proxy.cut()

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, event, cut)
    return lambda: sa.event.remove(engine, event, cut)


def test_connection_lost_in_the_middle_of_a_request(pg_app, pg_proxy):
    client = _logged_in(pg_app)
    # The user is loaded (first statement), then the connection goes under the page's query.
    stop = _cut_on(pg_app, pg_proxy, "before_cursor_execute", after=1)
    _assert_unavailable_page(*_timed(client, "GET", "/", headers=ENGLISH))
    stop()
    pg_proxy.restore()
    assert client.get("/").status_code == 200


def test_connection_lost_at_commit_saves_nothing_and_answers_503(pg_app, pg_proxy):
    client = _logged_in(pg_app)
    stop = _cut_on(pg_app, pg_proxy, "commit")
    # Choosing a language saves it on the account: the commit is where the connection goes.
    _assert_unavailable_page(*_timed(client, "POST", "/lang", headers=ENGLISH,
                                     data={"lang": "ja", "next": "/"}))
    stop()
    pg_proxy.restore()
    with pg_app.app_context():
        saved = db.session.scalar(sa.select(User.locale).filter_by(email=pg_app.user_email))
    assert saved is None
    assert client.post("/lang", data={"lang": "ja", "next": "/"}).status_code == 302
    with pg_app.app_context():
        saved = db.session.scalar(sa.select(User.locale).filter_by(email=pg_app.user_email))
    assert saved == "ja"


def test_connection_lost_before_an_error_answer_rolls_back(pg_app, pg_proxy, caplog):
    """An error answer (here a 404) rolls its transaction back: on a connection that has
    just gone, that rollback fails, quietly, and the answer stays what it was."""
    caplog.set_level(logging.INFO, logger="matching.web.outages")
    client = _logged_in(pg_app)
    stop = _cut_on(pg_app, pg_proxy, "rollback")
    response = client.get("/trainees/987654321", headers=ENGLISH)
    stop()
    assert response.status_code == 404
    assert "rollback on a lost connection failed" in caplog.text
    pg_proxy.restore()
    assert client.get("/").status_code == 200


def test_database_lost_while_drawing_an_error_page(pg_app, pg_proxy):
    """An unknown address is a 404, whose page loads the logged-in user for its header: with
    the database gone that fails inside the 404 handler, and the answer is still the 503
    page (from the 500 handler, as in production), not a bare 500."""
    pg_app.config["PROPAGATE_EXCEPTIONS"] = False  # as outside tests: errors reach handlers
    client = _logged_in(pg_app)
    pg_proxy.cut()
    _assert_unavailable_page(*_timed(client, "GET", "/no-such-page", headers=ENGLISH))
    pg_proxy.restore()
    assert client.get("/no-such-page").status_code == 404


def test_postgres_restart_under_concurrent_load(pg_app, pg_proxy):
    """Four clients keep asking for a page while the database goes away and comes back: each
    answer is the page or the 503 page, each within the bound, and all are served again."""
    clients = [_logged_in(pg_app) for _ in range(4)]
    stop = threading.Event()
    restored = threading.Event()

    def keep_asking(client):
        answers = []
        while not stop.is_set():
            response, elapsed = _timed(client, "GET", "/", headers=ENGLISH)
            answers.append((response.status_code, elapsed, restored.is_set(),
                            any(leak in response.get_data(as_text=True) for leak in LEAKS)))
        return answers

    with ThreadPoolExecutor(len(clients)) as pool:
        futures = [pool.submit(keep_asking, client) for client in clients]
        time.sleep(0.5)
        pg_proxy.cut()
        time.sleep(1.5)
        pg_proxy.restore()
        time.sleep(0.2)
        restored.set()
        time.sleep(1.0)
        stop.set()
        answers = [future.result(timeout=30) for future in futures]

    every = [answer for per_client in answers for answer in per_client]
    assert {status for status, *_ in every} == {200, 503}
    assert max(elapsed for _, elapsed, *_ in every) < BOUND_SECONDS
    assert not any(leaked for *_, leaked in every)
    for per_client in answers:  # every client is served again once the database is back
        after = [status for status, _, was_restored, _ in per_client if was_restored]
        assert after and set(after) == {200}


def test_the_api_answers_a_problem_document(pg_app, pg_proxy):
    """Under /api/ the same answer is an RFC 9457 problem document, not a page."""
    with pg_app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(email=pg_app.user_email))
        _row, token = create_token(user, "outage")
        db.session.commit()
    api = pg_app.test_client()
    headers = {"Authorization": f"Bearer {token}", **ENGLISH}
    assert api.get("/api/v1/trainees", headers=headers).status_code == 200

    pg_proxy.cut()
    response, elapsed = _timed(api, "GET", "/api/v1/trainees", headers=headers)
    assert response.status_code == 503 and elapsed < BOUND_SECONDS
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert body["status"] == 503 and body["title"] == UNAVAILABLE
    assert body["type"] == "/api/v1/problems/unavailable"
    assert body["instance"] == "/api/v1/trainees"
    for leak in LEAKS:
        assert leak not in response.get_data(as_text=True)

    pg_proxy.restore()
    assert api.get("/api/v1/trainees", headers=headers).status_code == 200


def test_engine_limits_on_postgresql_only():
    options = config.engine_options({
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db.example/m?connect_timeout=9",
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"keepalives_idle": 60}},
        "DATABASE_CONNECT_TIMEOUT": 3, "DATABASE_POOL_TIMEOUT": 5})
    assert options["pool_pre_ping"] and options["pool_timeout"] == 5
    # What the URL or SQLALCHEMY_ENGINE_OPTIONS say themselves wins.
    assert "connect_timeout" not in options["connect_args"]
    assert options["connect_args"]["keepalives_idle"] == 60
    assert options["connect_args"]["keepalives_count"] == 3
    sqlite = config.engine_options({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.sqlite",
                                    "SQLALCHEMY_ENGINE_OPTIONS": {},
                                    "DATABASE_CONNECT_TIMEOUT": 3, "DATABASE_POOL_TIMEOUT": 5})
    assert sqlite == {"pool_pre_ping": True}
    assert config.Defaults.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True}
