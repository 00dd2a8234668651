"""The candidate pool from the database, cached in memory and on disk (DESIGN §5).

``load_pool()`` is what ranking calls: the trainees with status ``available`` and consent,
as a ``Pool``. It is cached under the *registry version* (``models.registry``), a number
that every transaction changing trainees moves by one and stamps on the rows it changes:

- in this process: ``{database: (version, Pool)}``, for the web workers;
- on disk: ``instance/cache/pool-<database>-<version>.npz`` (plain arrays, no pickle), so
  a cold ``flask rank`` on 100,000 trainees reads a few megabytes instead of 100,000 rows.

Checking that a cached pool is current is one primary-key read, whatever the registry's
size. When the version has moved from V, only the rows stamped above V are read: they
leave the pool, and those still eligible come back with their new values (``refresh``),
so a page after one registration costs the rows that changed, not the pool. A full rebuild
happens only for a cold start without a disk file, a delta larger than ``MAX_DELTA`` (or
a tenth of the pool), or a deletion (``full_since``). The disk file is rewritten only on
a full rebuild; a new process starts from it and applies the delta since its version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sqlalchemy as sa
from flask import current_app

from matching.extensions import db
from matching.models import Decision, Skill, Trainee, trainee_skills
from matching.models.registry import current_version
from matching.models.trainees import eligible
from matching.ranking.features import FIELD_CODES, PREFECTURE_CODES, Pool

log = logging.getLogger(__name__)

#: Bump when the layout of the .npz files changes: old files are then simply not found.
CACHE_FORMAT = 2
CACHE_PREFIX = "pool-"
_FIELD_POS = {code: i for i, code in enumerate(FIELD_CODES)}
_PREF_POS = {code: i for i, code in enumerate(PREFECTURE_CODES)}

_memory: dict[str, tuple[int, Pool]] = {}
_lock = threading.Lock()
#: One thread of a process brings the pool up to date while the others of the same
#: process wait for it, instead of each reading the same rows and merging the same arrays
#: (under load every thread of a web worker asks at once after a registration).
_building = threading.Lock()
#: How long a thread waits for another's build before building on its own.
BUILD_WAIT_SECONDS = 30.0
#: ``{database: {version: (previous version, ids changed since it)}}``: what each refresh
#: of this process brought in, so that a ranking of an older version can tell whether the
#: change concerns it (``changed_between``). The last ``CHANGES_KEPT`` steps are kept.
_changes: dict[str, dict[int, tuple[int, np.ndarray]]] = {}
CHANGES_KEPT = 256


# -- cache ----------------------------------------------------------------------------------

#: Above this many changed rows (or a tenth of the pool) a full rebuild is cheaper.
MAX_DELTA = 5_000


def registry_version() -> tuple[int, int]:
    """(version, full_since) of the registry: the O(1) cache check."""
    return current_version(db.session)


def cache_key(version: int | None = None) -> str:
    """The .npz file name's key: the database, then the registry version."""
    version = registry_version()[0] if version is None else version
    return f"{_database_key()}-{version}"


def cache_dir() -> Path:
    """``instance/cache``: derived files only, safe to delete at any time."""
    return Path(current_app.instance_path) / "cache"


def clear_memory_cache() -> None:
    """Forget the pools kept in this process (the disk cache stays)."""
    with _lock:
        _memory.clear()
        _changes.clear()


def _database() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def _database_key() -> str:
    payload = json.dumps([CACHE_FORMAT, _database()])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_pool(*, use_cache: bool = True) -> Pool:
    """The ranking pool (available, consenting trainees): memory, then disk, then database,
    brought up to the registry's version by the rows changed since (module docstring)."""
    if not use_cache:
        return build_pool(eligible())
    database = _database()
    version, full_since = registry_version()
    with _lock:
        held = _memory.get(database)
    if held is not None and held[0] == version:
        return held[1]
    waited = _building.acquire(timeout=BUILD_WAIT_SECONDS)
    try:
        with _lock:
            held = _memory.get(database)
        if held is not None and held[0] >= version:  # built by the thread we waited for
            return held[1]
        return _bring_up_to(database, held, version, full_since)
    finally:
        if waited:
            _building.release()


def _bring_up_to(database: str, held: tuple[int, Pool] | None, version: int,
                 full_since: int) -> Pool:
    """The pool at ``version``: ``held`` refreshed, else from disk, else built (and written
    to disk); kept in memory."""
    pool = None
    if held is not None and full_since <= held[0] < version:
        pool, changed = _refresh(held[1], held[0])
        if pool is not None:
            _note_changes(database, held[0], version, changed)
    if pool is None:
        pool = _from_disk(version, full_since)
    if pool is None:
        pool = build_pool(eligible())
        try:
            write_pool(pool, cache_dir() / f"{CACHE_PREFIX}{cache_key(version)}.npz")
        except OSError as exc:  # a read-only instance folder costs speed, not correctness
            log.warning("could not write the pool cache: %s", exc)
    with _lock:
        # Another thread may have brought it further meanwhile: keep the newest.
        if database not in _memory or _memory[database][0] <= version:
            _memory[database] = (version, pool)
    return pool


def held_version(pool: Pool) -> int | None:
    """The registry version of ``pool`` if it is the one this process holds, else None."""
    with _lock:
        for version, held in _memory.values():
            if held is pool:
                return version
    return None


def _from_disk(version: int, full_since: int) -> Pool | None:
    """The newest usable disk pool of this database, brought up to ``version``."""
    prefix = f"{CACHE_PREFIX}{_database_key()}-"
    found = []
    for path in cache_dir().glob(f"{prefix}*.npz"):
        try:
            saved = int(path.name[len(prefix):-len(".npz")])
        except ValueError:
            continue
        if full_since <= saved <= version:
            found.append((saved, path))
    for saved, path in sorted(found, reverse=True):
        pool = read_pool(path)
        if pool is None:
            continue
        return pool if saved == version else refresh(pool, saved)
    return None


def _note_changes(database: str, since: int, version: int, changed: np.ndarray) -> None:
    with _lock:
        steps = _changes.setdefault(database, {})
        steps[version] = (since, changed)
        for old in sorted(steps)[:-CHANGES_KEPT]:
            del steps[old]


def changed_between(since: int, version: int) -> np.ndarray | None:
    """Ids of the trainees that changed after registry version ``since`` up to ``version``
    (perhaps a few more), as this process's refreshes read them; None when it cannot tell
    (a full rebuild or a start from disk in between, or too long ago)."""
    if since == version:
        return np.empty(0, dtype=np.int64)
    with _lock:
        steps = dict(_changes.get(_database(), {}))
    parts, at = [], version
    while at > since:
        step = steps.get(at)
        if step is None:
            return None
        at, changed = step
        parts.append(changed)
    if at != since:
        return None
    return np.unique(np.concatenate(parts))


def refresh(pool: Pool, since: int) -> Pool | None:
    """``pool`` with the trainees changed after version ``since`` replaced by what they
    are now (gone when no longer eligible); None when a full rebuild is cheaper.

    Reads the changed rows only (an index range on ``trainees.registry_version``).
    """
    return _refresh(pool, since)[0]


def _refresh(pool: Pool, since: int) -> tuple[Pool | None, np.ndarray]:
    """``refresh``, and the ids of the trainees it read as changed."""
    limit = max(MAX_DELTA, len(pool) // 10) if len(pool) else MAX_DELTA
    changed = db.session.scalars(sa.select(Trainee.id).where(
        Trainee.registry_version > since).limit(limit + 1)).all()
    changed_ids = np.array(sorted(changed), dtype=np.int64)
    if len(changed) > limit:
        return None, changed_ids
    if not changed:
        return pool, changed_ids
    added = build_pool(sa.and_(Trainee.id.in_(changed_ids.tolist()), eligible()))
    return merge_pools(pool, changed_ids, added), changed_ids


def merge_pools(pool: Pool, removed_ids: np.ndarray, added: Pool) -> Pool:
    """``pool`` without ``removed_ids``, plus ``added``, in id order (vectorised)."""
    keep = ~np.isin(pool.ids, removed_ids, assume_unique=True)
    names = sorted(set(pool.skill_index) | set(added.skill_index))
    column = {name: i for i, name in enumerate(names)}

    def recolumn(part: Pool, rows: np.ndarray | slice) -> sp.csr_matrix:
        old_to_new = np.empty(len(part.skill_index), dtype=np.int64)
        for name, i in part.skill_index.items():
            old_to_new[i] = column[name]
        block = part.skills[rows]
        return sp.csr_matrix((block.data, old_to_new[block.indices], block.indptr),
                             shape=(block.shape[0], len(names)))

    ids = np.concatenate([pool.ids[keep], added.ids])
    order = np.argsort(ids, kind="stable")
    every = slice(None)

    def stack(name: str) -> np.ndarray:
        return np.concatenate([getattr(pool, name)[keep], getattr(added, name)])[order]

    skills = sp.vstack([recolumn(pool, keep), recolumn(added, every)], format="csr")[order]
    prefectures = sp.vstack([pool.prefectures[keep], added.prefectures], format="csr")[order]
    return Pool.from_arrays(
        ids=ids[order], skills=skills, skill_index=column, field=stack("field"),
        language_rank=stack("language_rank"), experience_years=stack("experience_years"),
        training_hours=stack("training_hours"), available_day=stack("available_day"),
        prefectures=prefectures)


def load_training_pool() -> Pool:
    """Every consenting trainee with at least one decision, whatever their status now.

    Decisions on trainees since selected, deployed or withdrawn are still the employers'
    judgement and must train the model. Not cached: training is rare and reads few rows.
    """
    decided = sa.select(Decision.trainee_id).distinct()
    return build_pool(sa.and_(Trainee.id.in_(decided), Trainee.consent.is_(True)))


# -- building from the database -------------------------------------------------------------


def build_pool(where: sa.ColumnElement[bool]) -> Pool:
    """The trainees matching ``where`` as a ``Pool``: two set-based queries, then numpy."""
    t = Trainee.__table__
    rows = db.session.execute(
        sa.select(t.c.id, t.c.field, t.c.language_rank, t.c.experience_years,
                  t.c.training_hours, t.c.preferred_prefectures, t.c.available_from)
        .where(where).order_by(t.c.id)
    ).all()
    links = db.session.execute(
        sa.select(trainee_skills.c.trainee_id, trainee_skills.c.skill_id)
        .join(t, t.c.id == trainee_skills.c.trainee_id).where(where)
    ).all()
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 7
    ids = np.array(cols[0], dtype=np.int64)
    skills, skill_index = _skill_matrix(ids, links)
    return Pool.from_arrays(
        ids=ids,
        skills=skills,
        skill_index=skill_index,
        field=_codes_to_positions(cols[1], _FIELD_POS),
        language_rank=_numbers(cols[2], n),
        experience_years=_numbers(cols[3], n),
        training_hours=_numbers(cols[4], n),
        available_day=_day_numbers(cols[6]),
        prefectures=_prefecture_matrix(cols[5]),
    )


def _numbers(values: Sequence, n: int) -> np.ndarray:
    out = np.array(values, dtype=np.float64).reshape(n)  # None → NaN
    return np.nan_to_num(out, nan=0.0).astype(np.float32)


def _codes_to_positions(values: Sequence, positions: dict[str, int]) -> np.ndarray:
    """Codes to indices through the few distinct codes only (-1 for unknown codes)."""
    if not values:
        return np.empty(0, dtype=np.int16)
    distinct, inverse = np.unique(np.array(values, dtype=str), return_inverse=True)
    lookup = np.array([positions.get(code, -1) for code in distinct], dtype=np.int16)
    return lookup[inverse.ravel()]


def _day_numbers(values: Sequence) -> np.ndarray:
    """Days since 1970-01-01, 0 when unknown (``features.day_number``), without a loop."""
    days = np.array(values, dtype="datetime64[D]")  # None → NaT
    out = days.astype(np.int64)
    out[np.isnat(days)] = 0
    return out.astype(np.int32)


def _prefecture_matrix(values: Sequence) -> sp.csr_matrix:
    """n × 47 binary CSR from ";"-joined codes, parsing each distinct list once."""
    if not values:
        return sp.csr_matrix((0, len(PREFECTURE_CODES)), dtype=np.float32)
    distinct, inverse = np.unique(np.array(values, dtype=str), return_inverse=True)
    rows, cols = [], []
    for i, text in enumerate(distinct):  # a few hundred distinct lists, not n trainees
        found = sorted({_PREF_POS[c] for c in text.split(";") if c in _PREF_POS})
        rows += [i] * len(found)
        cols += found
    per_list = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                             shape=(len(distinct), len(PREFECTURE_CODES)))
    return per_list[inverse.ravel()]


def _skill_matrix(ids: np.ndarray, links: Sequence) -> tuple[sp.csr_matrix, dict[str, int]]:
    """n × skills binary CSR from (trainee_id, skill_id) pairs; columns sorted by slug."""
    # Columns first: numpy would probe each Row object for the array protocols.
    trainee_ids, skill_ids = (np.array(c, dtype=np.int64) for c in zip(*links, strict=True)) \
        if links else (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    rows = np.searchsorted(ids, trainee_ids)
    # On PostgreSQL a trainee added between the two queries may have links but no row.
    found = rows < len(ids)
    found[found] = ids[rows[found]] == trainee_ids[found]
    rows, skill_ids = rows[found], skill_ids[found]
    used, cols = np.unique(skill_ids, return_inverse=True)
    slug_of = dict(db.session.execute(
        sa.select(Skill.id, Skill.slug).where(Skill.id.in_(used.tolist()))).all()) \
        if len(used) else {}
    names = np.array([slug_of[int(i)] for i in used], dtype=str)
    order = np.argsort(names, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, position[cols.ravel()])),
        shape=(len(ids), len(used)))
    matrix.sum_duplicates()
    return matrix, {str(name): i for i, name in enumerate(names[order])}


# -- disk cache -------------------------------------------------------------------------------


def write_pool(pool: Pool, path: Path) -> None:
    """Save ``pool`` as ``path`` atomically, then remove the older pool files beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(pool.skill_index, key=pool.skill_index.__getitem__)
    arrays = {
        "format": np.array(CACHE_FORMAT),
        "ids": pool.ids,
        "field": pool.field,
        "language_rank": pool.language_rank,
        "experience_years": pool.experience_years,
        "training_hours": pool.training_hours,
        "available_day": pool.available_day,
        "skill_names": np.array(names, dtype=str),
        "skills_indptr": pool.skills.indptr,
        "skills_indices": pool.skills.indices,
        "prefectures_indptr": pool.prefectures.indptr,
        "prefectures_indices": pool.prefectures.indices,
    }
    fd, tmp = tempfile.mkstemp(prefix=".pool-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except BaseException:
        os.unlink(tmp)
        raise
    for old in path.parent.glob(f"{CACHE_PREFIX}*.npz"):
        if old.name != path.name:
            old.unlink(missing_ok=True)


def read_pool(path: Path) -> Pool | None:
    """The pool saved by ``write_pool``, or None when the file is unusable (then rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != CACHE_FORMAT:
                return None
            ids = data["ids"]
            n = len(ids)
            names = data["skill_names"]
            skills = _binary_csr(data["skills_indptr"], data["skills_indices"], n, len(names))
            prefs = _binary_csr(data["prefectures_indptr"], data["prefectures_indices"], n,
                                len(PREFECTURE_CODES))
            return Pool.from_arrays(
                ids=ids, skills=skills,
                skill_index={str(name): i for i, name in enumerate(names)},
                field=data["field"], language_rank=data["language_rank"],
                experience_years=data["experience_years"],
                training_hours=data["training_hours"], available_day=data["available_day"],
                prefectures=prefs)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable pool cache %s: %s", path, exc)
        return None


def _binary_csr(indptr, indices, n_rows: int, n_cols: int) -> sp.csr_matrix:
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
