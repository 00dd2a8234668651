"""Model versions live in the database (issue 11, item 2): every host ranks with the same
version, a rollback is one transaction, and the JSON files are an export/import format."""

import json

import numpy as np
import pytest

from matching import create_app
from matching.extensions import db
from matching.ranking.model import PRIOR, LinearModel
from matching.ranking.service import current_model, model_store
from matching.ranking.store import ModelStore


def learned(scale: float) -> LinearModel:
    return LinearModel(np.asarray(PRIOR.weights) * scale, kind="learned", n_decisions=80,
                       n_job_orders=12)


@pytest.fixture
def second_host(database_url, tmp_path):
    """Another app instance (another host) on the same database, another instance folder."""
    other = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI":
                        database_url, "MATCHING_INSTANCE_PATH": str(tmp_path / "host-b")})
    other.instance_path = str(tmp_path / "host-b")
    yield other
    with other.app_context():
        db.engine.dispose()


def test_two_hosts_rank_with_the_same_version(app, second_host):
    version = model_store().save(learned(2.0), note="trained on host A")
    db.session.commit()
    with second_host.app_context():
        choice = current_model()
        assert choice.version == version
        np.testing.assert_allclose(choice.model.weights, np.asarray(PRIOR.weights) * 2.0)
        db.session.remove()


def test_a_rollback_is_one_new_version_for_every_host(app, second_host):
    store = model_store()
    first = store.save(learned(2.0))
    store.save(learned(3.0))
    db.session.commit()
    back = store.rollback(first)
    db.session.commit()
    with second_host.app_context():
        choice = current_model()
        assert choice.version == back == 3
        np.testing.assert_allclose(choice.model.weights, np.asarray(PRIOR.weights) * 2.0)
        assert [v["rolled_back_from"] for v in model_store().versions()] == [None, None, 1]
        db.session.remove()


def test_an_uncommitted_version_is_seen_by_nobody_else(app, second_host):
    model_store().save(learned(2.0))
    with second_host.app_context():
        assert current_model().version is None
        db.session.remove()
    db.session.rollback()
    assert current_model().version is None


def test_show_json_and_import_round_trip(app, runner, tmp_path):
    model_store().save(learned(2.0), note="from the demo")
    db.session.commit()
    shown = runner.invoke(args=["model", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    exported = json.loads(shown.output)
    assert exported["version"] == 1 and exported["note"] == "from the demo"
    path = tmp_path / "model-0001.json"
    path.write_text(shown.output, encoding="utf-8")
    imported = runner.invoke(args=["model", "import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert "model-0001.json → version 2" in imported.output
    choice = current_model()
    assert choice.version == 2
    np.testing.assert_allclose(choice.model.weights, np.asarray(PRIOR.weights) * 2.0)


def test_the_old_file_store_imports_as_versions(app, runner, tmp_path):
    files = ModelStore(tmp_path / "models")  # instance/models/ of an older release
    files.save(learned(2.0))
    files.save(learned(4.0))
    result = runner.invoke(args=["model", "import", str(tmp_path / "models")])
    assert result.exit_code == 0, result.output
    assert [v["version"] for v in model_store().versions()] == [1, 2]
    np.testing.assert_allclose(current_model().model.weights, np.asarray(PRIOR.weights) * 4.0)


def test_a_broken_export_imports_nothing(app, runner, tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text('{"model": {"weights": "nonsense"}}', encoding="utf-8")
    result = runner.invoke(args=["model", "import", str(bad)])
    assert result.exit_code != 0 and "nothing was imported" in result.output
    assert model_store().versions() == []
    assert runner.invoke(args=["model", "show", "--json"]).exit_code != 0
