"""The factory, configuration order and the explicit top-level folders."""

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Config

from matching import create_app
from matching.config import PROJECT_ROOT, normalise_database_url
from matching.extensions import db


def test_top_level_folders_resolve(app):
    assert Path(app.template_folder) == PROJECT_ROOT / "templates"
    assert Path(app.static_folder) == PROJECT_ROOT / "static"
    assert Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]) == PROJECT_ROOT / "translations"
    assert (Path(app.template_folder) / "base.html").is_file()
    assert (Path(app.static_folder) / "css" / "app.css").is_file()
    assert (PROJECT_ROOT / "translations" / "ja" / "LC_MESSAGES" / "messages.mo").is_file()
    assert app.jinja_env.get_template("base.html") is not None


def test_static_files_are_served(client):
    with client.get("/static/vendor/pico/pico.min.css") as response:
        assert response.status_code == 200
        assert b"pico" in response.data[:500].lower()


def test_defaults_use_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + os.path.join(
        app.instance_path, "matching.sqlite")
    assert app.config["BABEL_DEFAULT_LOCALE"] == "vi"
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SECURE"]
    # Without a configured secret the app still runs, with a random per-process key.
    assert len(app.config["SECRET_KEY"]) >= 32


def test_instance_config_then_environment_then_test_config(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(
        "SECRET_KEY = 'from-instance'\nTRAINEES_PER_PAGE = 7\n"
        "SQLALCHEMY_DATABASE_URI = 'sqlite:///from-instance.sqlite'\n"
    )
    monkeypatch.setenv("MATCHING_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    app = create_app()
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.config["TRAINEES_PER_PAGE"] == 7
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///from-instance.sqlite"

    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@localhost/db")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@localhost/db"
    assert app.config["TRAINEES_PER_PAGE"] == 7  # untouched by the environment

    app = create_app({"SECRET_KEY": "from-test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "from-test"
    assert app.config["TRAINEES_PER_PAGE"] == 25  # a test configuration skips instance/config.py


def test_database_url_normalisation():
    assert normalise_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_migrations_match_models(app):
    """`flask db upgrade` gave the schema (conftest); autogenerate finds nothing to change."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_error_pages_are_translated(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "ja"})
    assert response.status_code == 404
    assert "ページが見つかりません" in response.get_data(as_text=True)
    response = client.get("/no-such-page", headers={"Accept-Language": "vi"})
    assert "Không tìm thấy trang" in response.get_data(as_text=True)


# -- tests never read or write the checkout's instance folder (issue 8, item 12) --------------

_POISON = (
    "SECRET_KEY = 'from-the-developers-instance'\n"
    "TRAINEES_PER_PAGE = 1\n"
    "LOGIN_LIMITS_PER_ADDRESS = '1 per day'\n"
    "SQLALCHEMY_DATABASE_URI = 'sqlite:///poisoned.sqlite'\n"
)


def test_test_config_ignores_the_instance_config(tmp_path, monkeypatch):
    instance = tmp_path / "developer-instance"
    instance.mkdir()
    (instance / "config.py").write_text(_POISON)
    monkeypatch.setenv("MATCHING_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    app = create_app({"TESTING": True, "SECRET_KEY": "from-test"})
    assert Path(app.instance_path) == instance  # the file really was where the app looks
    assert app.config["SECRET_KEY"] == "from-test"
    assert app.config["TRAINEES_PER_PAGE"] == 25
    assert app.config.get("LOGIN_LIMITS_PER_ADDRESS") != "1 per day"
    assert "poisoned" not in app.config["SQLALCHEMY_DATABASE_URI"]
    # Without a test configuration the same file is the developer's configuration.
    assert create_app().config["TRAINEES_PER_PAGE"] == 1


def test_tests_never_touch_the_checkout_instance_folder(app, monkeypatch):
    checkout_instance = PROJECT_ROOT / "instance"
    assert not Path(app.instance_path).is_relative_to(PROJECT_ROOT)

    touched = []
    real_makedirs, real_from_pyfile = os.makedirs, Config.from_pyfile

    def makedirs(name, *args, **kwargs):
        touched.append(Path(name))
        return real_makedirs(name, *args, **kwargs)

    def from_pyfile(self, filename, *args, **kwargs):
        touched.append(Path(self.root_path) / filename)
        return real_from_pyfile(self, filename, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", makedirs)
    monkeypatch.setattr(Config, "from_pyfile", from_pyfile)
    other = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not Path(other.instance_path).is_relative_to(PROJECT_ROOT)
    assert touched, "create_app made its instance folder somewhere"
    assert not [path for path in touched if path.is_relative_to(checkout_instance)]
