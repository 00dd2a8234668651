"""What a load balancer and an operator need: health probes and one log line per request.

- ``GET /healthz``: the process is alive and serving (touches nothing else);
- ``GET /readyz``: it can do its work: the database answers, and Redis when ``REDIS_URL``
  is configured; 503 with what failed otherwise, so the balancer stops sending traffic
  until the dependency is back (the site itself recovers without a restart: the engine
  pre-pings its connections);
- every request is logged once (logger ``matching.requests``) with a request id, method,
  path, status and duration in milliseconds; the id is taken from a sane incoming
  ``X-Request-ID`` (set by the proxy) or made here, and returned in the same header so a
  user's report and the logs of every host can be matched.
"""

import logging
import re
import time
import uuid

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, g, jsonify, request

from matching.extensions import db
from matching.web.outages import roll_back_quietly

bp = Blueprint("health", __name__)
request_log = logging.getLogger("matching.requests")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
READINESS_TIMEOUT_SECONDS = 2


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = {"database": _check_database()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _check_redis(current_app.config["REDIS_URL"])
    ready = all(result == "ok" for result in checks.values())
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        roll_back_quietly()  # the connection may be gone: ending the transaction must not raise
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_redis(url: str) -> str:
    import redis  # installed with flask-limiter[redis]; only needed when configured
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    try:
        # One try: redis-py's default retries with back-off would hold the probe for seconds.
        client = redis.Redis.from_url(url, socket_connect_timeout=READINESS_TIMEOUT_SECONDS,
                                      socket_timeout=READINESS_TIMEOUT_SECONDS,
                                      retry=Retry(NoBackoff(), 0))
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def configure_request_log(app: Flask) -> None:
    """One log line per request, with its id (module docstring)."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response):
        started = g.get("request_started")
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        if started is not None:
            request_log.info("request_id=%s method=%s path=%s status=%d duration_ms=%.1f",
                             request_id, request.method, request.path,
                             response.status_code, (time.perf_counter() - started) * 1000)
        return response
