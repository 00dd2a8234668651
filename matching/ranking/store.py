"""Model versions as JSON files in one directory, append-only (DESIGN §5).

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
