"""Health probes for the load balancer and one log line per request (issue 11, item 5)."""

import logging

import pytest

from matching import create_app


def test_healthz_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def _app_on(tmp_path, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False,
                       "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True,
                                                     "connect_args": {"connect_timeout": 2}},
                       **config})


def test_readyz_says_503_when_the_database_is_down(tmp_path):
    # A port where nothing listens: the check fails fast and says what failed.
    app = _app_on(tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@127.0.0.1:9/none")
    with app.app_context():
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"].startswith("error: ")
        assert "password" not in response.get_data(as_text=True)
        assert app.test_client().get("/healthz").status_code == 200  # alive all the same
        from matching.extensions import db

        db.engine.dispose()


def test_readyz_checks_redis_when_configured(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok",
                                             "redis": "error: ConnectionError"}


def test_readyz_with_the_machines_redis(app, client):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_one_log_line_per_request_with_its_id(client, caplog):
    caplog.set_level(logging.INFO, logger="matching.requests")
    response = client.get("/auth/login", headers={"X-Request-ID": "lb-12345678"})
    assert response.headers["X-Request-ID"] == "lb-12345678"
    lines = [r.getMessage() for r in caplog.records if r.name == "matching.requests"]
    assert len(lines) == 1
    assert lines[0].startswith("request_id=lb-12345678 method=GET path=/auth/login status=200 "
                               "duration_ms=")
    # An id that is not sane (spaces, too long, log injection) is replaced by a fresh one.
    caplog.clear()
    response = client.get("/healthz", headers={"X-Request-ID": "x status=500 forged"})
    fresh = response.headers["X-Request-ID"]
    assert len(fresh) == 32 and " " not in fresh
    assert [r.getMessage().split()[0] for r in caplog.records
            if r.name == "matching.requests"] == [f"request_id={fresh}"]
