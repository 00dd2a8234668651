"""The matching platform: ``create_app`` is the only entry point (``flask --app matching``)."""

import logging
import os
import secrets

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from matching import config
from matching.extensions import babel, csrf, db, limiter, login_manager, migrate
from matching.storage import check_config as check_store_config

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: defaults → instance/config.py → environment → ``test_config``.

    instance/config.py is read only when no ``test_config`` is given.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        # MATCHING_INSTANCE_PATH moves the instance folder (SQLite file, models, caches,
        # config.py) out of the checkout, e.g. for a deployment or a benchmark's temp folder.
        instance_path=_instance_path_from_environment(),
        template_folder=str(config.PROJECT_ROOT / "templates"),
        static_folder=str(config.PROJECT_ROOT / "static"),
    )
    configure(app, test_config)
    configure_db(app)
    configure_auth(app)
    configure_i18n(app)
    configure_security_headers(app)
    configure_urls(app)
    configure_request_log(app)
    configure_transactions(app)
    register_blueprints(app)
    configure_api(app)
    configure_templates(app)
    register_errors(app)
    register_cli(app)
    return app


def _instance_path_from_environment() -> str | None:
    path = os.environ.get("MATCHING_INSTANCE_PATH")
    return os.path.abspath(path) if path else None  # Flask wants an absolute path


def configure(app: Flask, test_config: dict | None) -> None:
    app.config.from_object(config.Defaults)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(config.PROJECT_ROOT / "translations")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
        app.instance_path, "matching.sqlite"
    )
    if test_config is None:
        # A developer's local settings must never change what a test sees (flaskr does the
        # same): tests give their whole configuration.
        app.config.from_pyfile("config.py", silent=True)
    app.config.update(config.from_environment())
    if test_config is not None:
        app.config.update(test_config)
    check_store_config(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        # No secret configured: sessions still work but end when the process stops.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        log.warning("SECRET_KEY is not set; using a random key for this process only.")


def configure_db(app: Flask) -> None:
    # Connect and pool timeouts, so a database outage fails fast (matching.web.outages).
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.engine_options(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def configure_auth(app: Flask) -> None:
    from matching.i18n import _l
    from matching.operations.accounts import load_session_user

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    limiter.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy every request comes from the proxy: without this the per-IP
        # log-in limit would count everybody together.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])

    @login_manager.user_loader
    def load_user(session_id: str):
        # Sessions and remember-me cookies carry "<id>:<session token>" (User.get_id).
        return load_session_user(session_id)


def configure_i18n(app: Flask) -> None:
    from matching.i18n import remember_query_choice, select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_timezone=app.config["BABEL_DEFAULT_TIMEZONE"])
    app.after_request(remember_query_choice)


def configure_templates(app: Flask) -> None:
    """Template globals and filters, all registered here (none by a blueprint)."""
    from matching.web.templates import register

    register(app)


def configure_security_headers(app: Flask) -> None:
    from matching.web.security import register

    register(app)


def configure_urls(app: Flask) -> None:
    """Before any route is added: ``<int:…>`` and ``<bigid:…>`` accept only ids the
    database can hold."""
    from matching.web.params import BigIdConverter, IdConverter

    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigid"] = BigIdConverter


def configure_request_log(app: Flask) -> None:
    from matching.web.health import configure_request_log as configure

    configure(app)


def configure_transactions(app: Flask) -> None:
    """One request, one transaction: operations flush, the request commits at its end."""
    from matching.web.transactions import configure_transactions as configure

    configure(app)


def register_blueprints(app: Flask) -> None:
    from matching.web.admin import bp as admin_bp
    from matching.web.auth import bp as auth_bp
    from matching.web.dispatch import bp as dispatch_bp
    from matching.web.fees import bp as fees_bp
    from matching.web.grievances import bp as grievances_bp
    from matching.web.health import bp as health_bp
    from matching.web.jobs import bp as jobs_bp
    from matching.web.main import bp as main_bp
    from matching.web.regions import bp as regions_bp
    from matching.web.tasks import bp as tasks_bp
    from matching.web.trainees import bp as trainees_bp
    from matching.web.worker import bp as worker_bp
    from matching.web.workers import bp as workers_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(trainees_bp, url_prefix="/trainees")
    app.register_blueprint(jobs_bp, url_prefix="/jobs")
    app.register_blueprint(dispatch_bp, url_prefix="/dispatch")
    app.register_blueprint(fees_bp, url_prefix="/fees")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(workers_bp)  # /trainees/<id>/account, /welcome
    app.register_blueprint(worker_bp, url_prefix="/me")
    app.register_blueprint(grievances_bp, url_prefix="/grievances")
    app.register_blueprint(regions_bp, url_prefix="/regions")
    app.register_blueprint(tasks_bp, url_prefix="/tasks")


def configure_api(app: Flask) -> None:
    """The JSON API under /api/v1 (matching.api): token-only, its own error documents."""
    from matching.api import configure_api as configure

    configure(app)


def register_errors(app: Flask) -> None:
    from matching.web.errors import register

    register(app)


def register_cli(app: Flask) -> None:
    from matching.cli import register

    register(app)
