"""The candidate pool from the database, cached in memory and on disk (DESIGN §5).

``load_pool()`` is what ranking calls: the trainees with status ``available`` and consent,
as a ``Pool``. Building it reads every such trainee, so it is cached under a *fingerprint*
of the registry, one cheap aggregate query (number of trainees, highest id, latest
``updated_at``, number of trainee-skill links and the sums of their ids):

- in this process: ``{database: (fingerprint, Pool)}``, for the web workers;
- on disk: ``instance/cache/pool-<hash>.npz`` (plain arrays, no pickle), so a cold
  ``flask rank`` on 100,000 trainees reads a few megabytes instead of querying 100,000 rows.

Any write to a trainee moves the fingerprint (every write path sets ``updated_at``, a new
trainee raises the count or the highest id, a deletion lowers the count) and the next call
rebuilds; the link sums catch skill edits that touch no ``trainees`` row. The fingerprint
is read first and the rows after it, inside one transaction: on SQLite the rows are the
same snapshot, on PostgreSQL they can only be *newer* than the fingerprint, which at worst
costs one extra rebuild, never a stale pool.
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
from matching.models.trainees import eligible
from matching.ranking.features import FIELD_CODES, PREFECTURE_CODES, Pool

log = logging.getLogger(__name__)

#: Bump when the layout of the .npz files changes: old files are then simply not found.
CACHE_FORMAT = 1
CACHE_PREFIX = "pool-"
_FIELD_POS = {code: i for i, code in enumerate(FIELD_CODES)}
_PREF_POS = {code: i for i, code in enumerate(PREFECTURE_CODES)}

_memory: dict[str, tuple[str, Pool]] = {}
_lock = threading.Lock()


# -- cache ----------------------------------------------------------------------------------


def registry_fingerprint() -> tuple:
    """One aggregate query whose result changes whenever a trainee or their skills change."""
    t, ts = Trainee.__table__, trainee_skills
    people = sa.select(sa.func.count(t.c.id).label("n"), sa.func.max(t.c.id).label("max_id"),
                       sa.func.max(t.c.updated_at).label("updated")).subquery()
    links = sa.select(sa.func.count().label("n"),
                      sa.func.coalesce(sa.func.sum(ts.c.skill_id), 0).label("skills"),
                      sa.func.coalesce(sa.func.sum(ts.c.trainee_id), 0).label("trainees")
                      ).subquery()
    # Two one-row aggregates side by side: one round trip.
    row = db.session.execute(
        sa.select(people.c.n, people.c.max_id, people.c.updated, links.c.n, links.c.skills,
                  links.c.trainees).select_from(people.join(links, sa.true()))
    ).one()
    count, max_id, updated, n_links, skill_sum, trainee_sum = row
    return (int(count), max_id, str(updated), int(n_links), int(skill_sum), int(trainee_sum))


def cache_key(fingerprint: tuple | None = None) -> str:
    """Hash of the cache format, the database and the fingerprint (the .npz file name)."""
    fingerprint = registry_fingerprint() if fingerprint is None else fingerprint
    payload = json.dumps([CACHE_FORMAT, _database(), list(fingerprint)], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def cache_dir() -> Path:
    """``instance/cache``: derived files only, safe to delete at any time."""
    return Path(current_app.instance_path) / "cache"


def clear_memory_cache() -> None:
    """Forget the pools kept in this process (the disk cache stays)."""
    with _lock:
        _memory.clear()


def _database() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def load_pool(*, use_cache: bool = True) -> Pool:
    """The ranking pool (available, consenting trainees): memory, then disk, then database."""
    if not use_cache:
        return build_pool(eligible())
    key, database = cache_key(), _database()
    with _lock:
        hit = _memory.get(database)
    if hit is not None and hit[0] == key:
        return hit[1]
    path = cache_dir() / f"{CACHE_PREFIX}{key}.npz"
    pool = read_pool(path) if path.exists() else None
    if pool is None:
        pool = build_pool(eligible())
        try:
            write_pool(pool, path)
        except OSError as exc:  # a read-only instance folder costs speed, not correctness
            log.warning("could not write the pool cache %s: %s", path, exc)
    with _lock:
        _memory[database] = (key, pool)
    return pool


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
