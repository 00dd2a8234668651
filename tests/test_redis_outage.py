"""Redis goes away and comes back (issue 11, item 8).

The machine's Redis is shared, so it is never stopped: the app's ``REDIS_URL`` points at a
``TcpProxy`` (tests/faults.py) in front of it, which the test cuts or hangs and restores.
Meanwhile pages and log-in keep working, the log-in limits are still enforced (counted in
memory), and /readyz says 503 naming Redis; back, /readyz says 200.
"""

import time
import uuid

import pytest

from matching.extensions import limiter
from tests.faults import TcpProxy

#: Fail fast, not a benchmark: a generous bound on each answer while Redis is away.
BOUND_SECONDS = 5
PASSWORD = "correct horse 42"  # what conftest's make_user gives every user
ENGLISH = {"Accept-Language": "en"}
REDIS = ("127.0.0.1", 6379)
REDIS_DB = 12


@pytest.fixture
def redis_outage(app_config):
    """Before ``app``: the app's Redis (log-in limits, readiness) through a proxy, with a key
    prefix of this test; its keys are deleted at the end."""
    redis = pytest.importorskip("redis")
    direct = redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB, socket_connect_timeout=1)
    try:
        direct.ping()
    except redis.RedisError:
        pytest.skip("the Redis-outage tests need Redis on 127.0.0.1:6379")
    prefix = f"faults-{uuid.uuid4().hex[:12]}"
    with TcpProxy(REDIS[1]) as proxy:
        app_config["REDIS_URL"] = f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}"
        app_config["RATELIMIT_KEY_PREFIX"] = prefix
        proxy.keys = lambda: direct.keys(f"*{prefix}*")
        yield proxy
    for key in direct.scan_iter(f"*{prefix}*"):
        direct.delete(key)
    direct.close()
    # The limiter is one object that each test app rebinds: the next app must not start
    # out believing its storage is down (in production one app keeps one limiter).
    limiter._storage_dead = False


def _log_in(client, email, password, ip="127.0.0.1"):
    """(A session is bound to its client's address: pages after a log-in come from the
    test client's own 127.0.0.1.)"""
    started = time.perf_counter()
    response = client.post("/auth/login", data={"email": email, "password": password},
                           environ_base={"REMOTE_ADDR": ip}, headers=ENGLISH)
    assert time.perf_counter() - started < BOUND_SECONDS
    return response


def test_redis_down_leaves_the_site_serving_with_limits_in_memory(redis_outage, app, client,
                                                                    make_user):
    user = make_user(role="department")
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["redis"] == "ok"
    assert _log_in(client, "nobody@example.org", "wrong").status_code == 200
    assert redis_outage.keys(), "the counters are in Redis while it is up"

    redis_outage.cut()
    assert client.get("/auth/login").status_code == 200
    # Log-in works, and the pages after it.
    assert _log_in(client, user.email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/trainees/").status_code == 200
    client.post("/auth/logout")
    # The limits still hold, counted in memory: five failures, then 429 even for the password.
    guesser = app.test_client()
    for _ in range(5):
        failed = _log_in(guesser, user.email, "wrong", ip="198.51.100.20")
        assert failed.status_code == 200
        assert "Wrong e-mail or password." in failed.get_data(as_text=True)
    throttled = _log_in(guesser, user.email, PASSWORD, ip="198.51.100.20")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    # The balancer is told Redis is down; the database is fine.
    started = time.perf_counter()
    ready = client.get("/readyz")
    assert time.perf_counter() - started < BOUND_SECONDS
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "error: ConnectionError"}

    redis_outage.restore()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["redis"] == "ok"


def test_a_redis_that_never_answers_does_not_hold_log_in(redis_outage, app, client, make_user):
    user = make_user(role="employer")
    redis_outage.hang()
    assert _log_in(client, user.email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    started = time.perf_counter()
    ready = client.get("/readyz")
    assert time.perf_counter() - started < BOUND_SECONDS
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["redis"] == "error: TimeoutError"
    redis_outage.restore()
    assert client.get("/readyz").status_code == 200
