"""Configuration: defaults here, then instance/config.py, then the environment.

``create_app`` applies them in that order and finally the ``test_config`` mapping, so a
test can override anything without touching the process environment.
"""

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

#: The repository root: templates/, static/ and translations/ live there, not in the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

LANGUAGES = ("vi", "ja", "en")


class Defaults:
    """Safe defaults for a local run. Secrets never have a default here."""

    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None  # filled from the instance folder in create_app
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # A database that restarts or drops off the network must not hang the workers (the site
    # answers 503 meanwhile, matching.web.outages). On PostgreSQL a connection attempt gives
    # up after DATABASE_CONNECT_TIMEOUT seconds, a request waiting for a free connection of
    # the pool after DATABASE_POOL_TIMEOUT, and TCP keepalives notice a server gone silent
    # under an open connection within about a minute (engine_options). What
    # SQLALCHEMY_ENGINE_OPTIONS or the database URL sets itself wins.
    DATABASE_CONNECT_TIMEOUT = 3
    DATABASE_POOL_TIMEOUT = 5

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = LANGUAGES

    # Session cookies: never readable from JavaScript, never sent cross-site on POST, and
    # only over HTTPS unless the operator turns that off for a plain-HTTP local run.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)

    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Log-in throttling (matching.web.auth.throttle): failed log-ins per (e-mail address,
    # client IP), then per client IP across addresses; past a limit the form answers 429 with
    # Retry-After until the window has passed. No account is ever locked.
    LOGIN_LIMITS_PER_ADDRESS = "5 per minute; 20 per hour; 50 per day"
    LOGIN_LIMITS_PER_IP = "30 per minute; 200 per hour"
    # Where the counters live: Redis (shared by every worker and server) when set, e.g.
    # "redis://127.0.0.1:6379/0"; otherwise the memory of each process.
    REDIS_URL = None
    # Should Redis be unreachable, count in memory rather than refuse every log-in: Redis
    # that does not answer within a second counts as unreachable, and an error of the
    # counters is logged, never shown (the site keeps serving; /readyz says Redis is down).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    RATELIMIT_SWALLOW_ERRORS = True
    # How many reverse proxies (setting X-Forwarded-For) stand in front of the app: the
    # client IP the throttling counts by is then the one they report, not the proxy's.
    TRUSTED_PROXIES = 0

    # Background tasks (matching.background): on RQ in Redis (REDIS_URL) when set, run by
    # `flask --app matching jobs worker`; without Redis they run inline, in the request.
    JOBS_QUEUE = "matching"
    #: A confirmed web import of more rows than this runs as a background task.
    JOBS_IMPORT_THRESHOLD = 2000
    #: A running task whose heartbeat is older than this was abandoned (its worker died).
    JOBS_STALE_SECONDS = 300
    #: The longest a task may run on a worker before RQ stops it.
    JOBS_TIMEOUT_SECONDS = 3 * 3600

    MAX_CONTENT_LENGTH = 20 * 1024 * 1024  # uploads (imports) up to 20 MiB
    IMPORT_MAX_ROWS = 200_000
    TRAINEES_PER_PAGE = 25

    # Where the files of uploaded documents live (matching.storage): "local", the folder
    # instance/documents/ of each host; or "s3", one bucket of an S3-compatible object store
    # shared by every host (Amazon S3, MinIO, Ceph, ...). For s3: the bucket (required), the
    # endpoint URL (None: Amazon S3), the region, the access key pair (None: boto3 looks for
    # it as usual, AWS_* variables or the host's role) and a prefix for the object keys.
    DOCUMENT_STORE = "local"
    DOCUMENT_S3_BUCKET = None
    DOCUMENT_S3_ENDPOINT_URL = None
    DOCUMENT_S3_REGION = None
    DOCUMENT_S3_ACCESS_KEY_ID = None
    DOCUMENT_S3_SECRET_ACCESS_KEY = None
    DOCUMENT_S3_PREFIX = "documents/"


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


_DOCUMENT_STORE_SETTINGS = ("DOCUMENT_STORE", "DOCUMENT_S3_BUCKET", "DOCUMENT_S3_ENDPOINT_URL",
                            "DOCUMENT_S3_REGION", "DOCUMENT_S3_ACCESS_KEY_ID",
                            "DOCUMENT_S3_SECRET_ACCESS_KEY", "DOCUMENT_S3_PREFIX")


def from_environment(environ=os.environ) -> dict:
    """The settings the environment may override, already converted to their types."""
    out: dict = {}
    if environ.get("SECRET_KEY"):
        out["SECRET_KEY"] = environ["SECRET_KEY"]
    if environ.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(environ["DATABASE_URL"])
    for key in ("DATABASE_CONNECT_TIMEOUT", "DATABASE_POOL_TIMEOUT"):
        if environ.get(key):
            out[key] = int(environ[key])
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if environ.get(key):
            out[key] = _env_bool(environ[key])
    if environ.get("REDIS_URL"):
        out["REDIS_URL"] = environ["REDIS_URL"]
    if environ.get("JOBS_QUEUE"):
        out["JOBS_QUEUE"] = environ["JOBS_QUEUE"]
    for key in ("JOBS_IMPORT_THRESHOLD", "JOBS_STALE_SECONDS", "JOBS_TIMEOUT_SECONDS"):
        if environ.get(key):
            out[key] = int(environ[key])
    if environ.get("TRUSTED_PROXIES"):
        out["TRUSTED_PROXIES"] = int(environ["TRUSTED_PROXIES"])
    if environ.get("BABEL_DEFAULT_LOCALE"):
        out["BABEL_DEFAULT_LOCALE"] = environ["BABEL_DEFAULT_LOCALE"]
    for key in _DOCUMENT_STORE_SETTINGS:
        if environ.get(key):
            out[key] = environ[key]
    return out


def normalise_database_url(url: str) -> str:
    """Accept the common ``postgres://`` / ``postgresql://`` forms and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


#: libpq's TCP keepalives: probe an idle connection after 30 s, then every 10 s; 3 probes
#: unanswered and the connection is dead (a query waiting on a vanished server fails).
_POSTGRES_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                        "keepalives_count": 3}


def engine_options(settings) -> dict:
    """``SQLALCHEMY_ENGINE_OPTIONS`` with the outage limits filled in (see ``Defaults``), as a
    new mapping: the class's own dictionary is never changed."""
    options = dict(settings["SQLALCHEMY_ENGINE_OPTIONS"])
    options.setdefault("pool_pre_ping", True)
    url = make_url(settings["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        options.setdefault("pool_timeout", settings["DATABASE_POOL_TIMEOUT"])
        limits = {"connect_timeout": settings["DATABASE_CONNECT_TIMEOUT"], **_POSTGRES_KEEPALIVES}
        connect_args = {key: value for key, value in limits.items() if key not in url.query}
        connect_args.update(options.get("connect_args", {}))
        options["connect_args"] = connect_args
    return options
