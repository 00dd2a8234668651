"""Log-in throttling reveals nothing and locks nobody out (issue 8, item 7).

Failed log-ins are counted per (address, client IP) and per client IP; past a limit the
log-in answers 429 with Retry-After, the same for every address; accounts are never locked.
"""

import time

import pytest

from matching import create_app
from matching.extensions import db, limiter

PASSWORD = "correct horse 42"  # what conftest's make_user gives every user
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
TOO_MANY = "There have been too many failed attempts"


def _attempt(client, email, password="not the password", ip="192.0.2.1", lang="en"):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip, "HTTP_ACCEPT_LANGUAGE": lang})


def _fail(client, email, times, ip="192.0.2.1"):
    for _ in range(times):
        response = _attempt(client, email, ip=ip)
        assert response.status_code == 200
        assert "Wrong e-mail or password." in response.get_data(as_text=True)


def _main(response) -> str:
    """The page's own content (the header holds a fresh CSRF token on every page)."""
    html = response.get_data(as_text=True)
    return html[html.index("<main"):html.index("</main>")]


def _retry_after(response) -> int:
    return int(response.headers["Retry-After"])


def test_failures_throttle_the_address_from_that_ip_only(app, client, make_user):
    user = make_user(role="department")
    assert app.config["LOGIN_LIMITS_PER_ADDRESS"].startswith("5 per minute")
    _fail(client, user.email, 5)

    throttled = _attempt(client, user.email, PASSWORD)  # even the right password waits
    assert throttled.status_code == 429
    assert 0 < _retry_after(throttled) <= 60
    assert TOO_MANY in throttled.get_data(as_text=True)
    assert "Please try again in 1 minute." in throttled.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in

    # Nobody is locked out: the owner, from another address, logs in at once.
    elsewhere = app.test_client()
    assert _attempt(elsewhere, user.email, PASSWORD, ip="198.51.100.7").status_code == 302
    assert elsewhere.get("/", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None  # no lock stored


def test_known_and_unknown_addresses_get_the_same_answers(client, make_user):
    user = make_user(role="employer")
    answers = {}
    for email in (user.email, "nobody@example.org"):
        _fail(client, email, 5)
        throttled = _attempt(client, email)
        answers[email] = (throttled.status_code, _main(throttled))
        assert 0 < _retry_after(throttled) <= 60
    assert answers[user.email] == answers["nobody@example.org"]
    assert answers[user.email][0] == 429


def test_the_throttled_page_is_translated(client, make_user):
    _fail(client, "nobody@example.org", 5)
    response = _attempt(client, "nobody@example.org", lang="ja")
    assert response.status_code == 429
    assert TOO_MANY not in response.get_data(as_text=True)
    assert "<html lang=\"ja\"" in response.get_data(as_text=True)


@pytest.fixture
def small_limits(app_config):
    app_config["LOGIN_LIMITS_PER_ADDRESS"] = "2 per 2 seconds; 3 per hour"
    app_config["LOGIN_LIMITS_PER_IP"] = "4 per minute"


def test_delays_grow(small_limits, client):
    _fail(client, "nobody@example.org", 2)
    first = _attempt(client, "nobody@example.org")
    assert first.status_code == 429 and _retry_after(first) <= 2
    time.sleep(2.1)
    _fail(client, "nobody@example.org", 1)
    second = _attempt(client, "nobody@example.org")
    assert second.status_code == 429 and _retry_after(second) > 60  # now the hourly limit


def test_one_ip_trying_many_addresses_is_throttled(small_limits, app, client, make_user):
    user = make_user(role="agency")
    for n in range(4):
        _fail(client, f"guess{n}@example.org", 1)
    assert _attempt(client, user.email, PASSWORD).status_code == 429
    assert _attempt(app.test_client(), user.email, PASSWORD,
                    ip="198.51.100.7").status_code == 302


def test_successful_log_ins_are_not_counted(small_limits, client, make_user):
    user = make_user(role="employer")
    for _ in range(3):
        assert _attempt(client, user.email, PASSWORD).status_code == 302
        client.post("/auth/logout")
    _fail(client, user.email, 2)  # the whole allowance is still there


def test_showing_the_form_is_never_throttled(small_limits, client):
    _fail(client, "nobody@example.org", 2)
    assert client.get("/auth/login").status_code == 200


# -- several servers share the counters through Redis --------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def redis_app(redis_db, app_config):
    app_config["REDIS_URL"] = REDIS_URL


@pytest.fixture
def second_instance(app):
    """``second_instance()``: another app built from the same configuration, as another
    worker or server would be; it binds the limiter to a storage of its own."""
    made = []

    def make():
        made.append(create_app(dict(app.config)))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def test_two_app_instances_share_the_counters_through_redis(redis_app, app, client, redis_db,
                                                            second_instance):
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    _fail(client, "nobody@example.org", 3)
    assert redis_db.keys("*"), "the counters are in Redis"

    second = second_instance()
    _fail(second.test_client(), "nobody@example.org", 2)
    assert _attempt(second.test_client(), "nobody@example.org").status_code == 429
    assert _attempt(client, "nobody@example.org").status_code == 429


def test_without_redis_each_instance_counts_for_itself(app, client, second_instance):
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    _fail(client, "nobody@example.org", 3)
    second = second_instance()
    assert type(limiter.storage).__name__ == "MemoryStorage"
    _fail(second.test_client(), "nobody@example.org", 5)  # the first three are not seen


@pytest.fixture
def behind_a_proxy(small_limits, app_config):
    app_config["TRUSTED_PROXIES"] = 1


def test_behind_a_proxy_the_forwarded_client_ip_counts(behind_a_proxy, client):
    def attempt(client_ip):
        return client.post("/auth/login",
                           data={"email": "nobody@example.org", "password": "wrong"},
                           environ_base={"REMOTE_ADDR": "127.0.0.1",
                                         "HTTP_X_FORWARDED_FOR": client_ip})

    assert [attempt("203.0.113.5").status_code for _ in range(3)] == [200, 200, 429]
    assert attempt("203.0.113.6").status_code == 200  # another client behind the same proxy
