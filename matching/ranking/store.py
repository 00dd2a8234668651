"""Model versions: in the database (``DatabaseModelStore``, what ranking uses, shared by
every host), and as JSON files (``ModelStore``, the export and import format).

The file format (DESIGN §5):

``model-0001.json``, ``model-0002.json``, …: the newest is the one in use; a rollback copies
an older version as a new newest one, so history is never rewritten. Each file is written
to a temporary file and published atomically under its final name; publishing uses a hard
link, which fails instead of overwriting when another process took the same number
meanwhile (then the next number is tried).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from matching.ranking.model import LinearModel

_NAME = re.compile(r"^model-(\d{4,})\.json$")


class ModelStore:
    """Versioned model files under ``directory`` (created on first save)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def path(self, version: int) -> Path:
        """File of one version."""
        return self.directory / f"model-{version:04d}.json"

    def _numbers(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = (_NAME.match(p.name) for p in self.directory.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def _read(self, version: int) -> dict:
        try:
            with self.path(version).open(encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            raise LookupError(f"no model version {version} in {self.directory}") from None

    def _publish(self, payload: dict) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".tmp", dir=self.directory)
        try:
            while True:
                version = (self._numbers() or [0])[-1] + 1
                payload["version"] = version
                with os.fdopen(os.dup(fd), "w", encoding="utf-8") as fh:
                    fh.seek(0)
                    fh.truncate()
                    json.dump(payload, fh, indent=2, sort_keys=True)
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, self.path(version))
                    return version
                except FileExistsError:
                    continue  # another writer took this number: try the next one
                except OSError:
                    os.replace(tmp, self.path(version))  # no hard links on this filesystem
                    return version
        finally:
            os.close(fd)
            if os.path.exists(tmp):
                os.unlink(tmp)

    def save(self, model: LinearModel, *, note: str | None = None) -> int:
        """Store ``model`` as the newest version; returns its number."""
        return self._publish({
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rolled_back_from": None,
            "note": note,
            "model": model.to_dict(),
        })

    def load(self, version: int) -> LinearModel:
        """One version; ``LookupError`` when it does not exist."""
        return LinearModel.from_dict(self._read(version)["model"])

    def latest_version(self) -> int | None:
        """Number of the newest version, or None when nothing was saved."""
        numbers = self._numbers()
        return numbers[-1] if numbers else None

    def latest(self) -> LinearModel | None:
        """The model in use (the newest version), or None (the caller then uses the prior)."""
        version = self.latest_version()
        return None if version is None else self.load(version)

    def versions(self) -> list[dict]:
        """Every version, oldest first, with a short summary for listings."""
        out = []
        for version in self._numbers():
            data = self._read(version)
            model = data["model"]
            held_out = (model.get("metrics") or {}).get("held_out") or {}
            out.append({
                "version": version,
                "kind": model.get("kind"),
                "alpha": model.get("alpha"),
                "trained_at": model.get("trained_at"),
                "saved_at": data.get("saved_at"),
                "rolled_back_from": data.get("rolled_back_from"),
                "n_decisions": model.get("n_decisions"),
                "n_job_orders": model.get("n_job_orders"),
                "ndcg@10": {name: m.get("ndcg@10") for name, m in held_out.items()},
            })
        return out

    def rollback(self, version: int) -> int:
        """Make an earlier version current again by copying it as a new newest version."""
        data = self._read(version)
        return self._publish({
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rolled_back_from": version,
            "note": data.get("note"),
            "model": data["model"],
        })


class DatabaseModelStore:
    """The versions in the ``model_versions`` table: what every host of one database ranks
    with (DESIGN §9). Same interface as ``ModelStore``; a rollback is one new row.

    Writes flush; the command or request that trains or rolls back commits. Loaded models
    are kept per (database, version), so ranking reads one small row per request and
    parses a version once per process.
    """

    _parsed: dict[tuple, LinearModel] = {}

    def __init__(self, session=None) -> None:
        from matching.extensions import db

        self.session = session or db.session

    def _database(self) -> str:
        return self.session.get_bind().url.render_as_string(hide_password=True)

    def _row(self, version: int):
        from matching.models import ModelVersion

        row = self.session.get(ModelVersion, version)
        if row is None:
            raise LookupError(f"no model version {version}")
        return row

    def _publish(self, model: dict, *, note: str | None, rolled_back_from: int | None) -> int:
        """A new newest version. Two writers at once: on PostgreSQL the primary key lets one
        win and the other takes the next number (in a savepoint, so nothing else is undone);
        SQLite has one writer at a time, taken here before the number is read (its driver
        cannot nest a savepoint inside the transaction)."""
        import sqlalchemy as sa
        from sqlalchemy.exc import IntegrityError

        from matching.models import ModelVersion

        def next_row() -> ModelVersion:
            version = (self.session.scalar(sa.select(sa.func.max(ModelVersion.version)))
                       or 0) + 1
            return ModelVersion(version=version, note=note, rolled_back_from=rolled_back_from,
                                kind=str(model.get("kind") or "learned"),
                                payload=json.dumps(model, sort_keys=True))

        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(sa.delete(ModelVersion).where(sa.false()))  # the write lock
            row = next_row()
            self.session.add(row)
            self.session.flush()
            return row.version
        while True:
            row = next_row()
            try:
                with self.session.begin_nested():
                    self.session.add(row)
            except IntegrityError:
                continue
            return row.version

    def save(self, model: LinearModel, *, note: str | None = None) -> int:
        """Store ``model`` as the newest version; returns its number."""
        return self._publish(model.to_dict(), note=note, rolled_back_from=None)

    def load(self, version: int) -> LinearModel:
        """One version; ``LookupError`` when it does not exist.

        Reads the version's save time only (one small row per request), and its payload
        only when this process has not parsed that version yet.
        """
        import sqlalchemy as sa

        from matching.models import ModelVersion

        saved_at = self.session.scalar(sa.select(ModelVersion.saved_at)
                                       .where(ModelVersion.version == version))
        if saved_at is None:
            raise LookupError(f"no model version {version}")
        # Versions are never rewritten; the save time tells a version of an emptied and
        # refilled database (tests) from the one parsed before.
        key = (self._database(), version, saved_at)
        model = self._parsed.get(key)
        if model is None:
            model = LinearModel.from_dict(json.loads(self._row(version).payload))
            self._parsed[key] = model
        return model

    def latest_version(self) -> int | None:
        import sqlalchemy as sa

        from matching.models import ModelVersion

        return self.session.scalar(sa.select(sa.func.max(ModelVersion.version)))

    def latest(self) -> LinearModel | None:
        version = self.latest_version()
        return None if version is None else self.load(version)

    def versions(self) -> list[dict]:
        """Every version, oldest first, with a short summary for listings."""
        import sqlalchemy as sa

        from matching.models import ModelVersion

        out = []
        for row in self.session.scalars(sa.select(ModelVersion).order_by(ModelVersion.version)):
            model = json.loads(row.payload)
            held_out = (model.get("metrics") or {}).get("held_out") or {}
            out.append({
                "version": row.version, "kind": model.get("kind"),
                "alpha": model.get("alpha"), "trained_at": model.get("trained_at"),
                "saved_at": row.saved_at.isoformat(timespec="seconds"),
                "rolled_back_from": row.rolled_back_from,
                "n_decisions": model.get("n_decisions"),
                "n_job_orders": model.get("n_job_orders"),
                "ndcg@10": {name: m.get("ndcg@10") for name, m in held_out.items()},
            })
        return out

    def rollback(self, version: int) -> int:
        """Make an earlier version current again: one new row copying it."""
        row = self._row(version)
        return self._publish(json.loads(row.payload), note=row.note, rolled_back_from=version)

    def export(self, version: int) -> dict:
        """One version in the file format of ``ModelStore`` (``model show --json``)."""
        row = self._row(version)
        return {"version": row.version, "saved_at": row.saved_at.isoformat(timespec="seconds"),
                "rolled_back_from": row.rolled_back_from, "note": row.note,
                "model": json.loads(row.payload)}

    def import_document(self, document: dict, *, source: str) -> int:
        """Store an exported version (or a ``model-NNNN.json`` of the old file store) as a
        new newest version; the model is checked by loading it first."""
        model = document.get("model") if isinstance(document, dict) else None
        if not isinstance(model, dict):
            raise ValueError(f"{source}: not a model export (no \"model\" object)")
        LinearModel.from_dict(model)  # refuses what cannot rank
        note = f"imported from {source}"
        if document.get("version") is not None:
            note += f" (version {document['version']} there)"
        return self._publish(model, note=note[:500], rolled_back_from=None)
