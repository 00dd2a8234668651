"""Features of every (trainee, job order) pair of a pool at once (DESIGN §5).

The pool is turned into arrays ONCE (``Pool``, cached by the caller and rebuilt when the
registry changes); a job order then costs a handful of vectorised column writes, never a
Python loop over trainees. Only job-independent columns are precomputed per pool
(``Pool.static``); the rest are written per job into a preallocated block.

Layout: the feature block is float32 ``(n, len(FEATURES))`` in *Fortran* (column-major)
order. Each column is then a contiguous 4·n-byte run, so writing one feature is a memset or
a streaming copy (a C-ordered block would make every column write touch the whole matrix),
and ``X @ w`` is still one BLAS matrix-vector product (sgemv on the transposed view).

Decisions, documented once here:

- unknown ``available_from`` counts as *available now* (day 0), so it never misses a start;
- a job without a start date makes ``available_by_start`` 1 for everybody;
- a job without required skills gives ``required_coverage`` 1.0 (nothing is missing) and
  ``required_all`` 1; a job without preferred skills gives ``preferred_coverage`` 0.0 (no
  bonus to hand out); a preferred skill that is also required counts as required only;
- skills the pool has never seen match nobody (they still count in the denominator);
- ``prefecture_match``: 1.0 when the job's prefecture is among the trainee's preferred
  prefectures, 0.5 when the trainee states no preference (open to anywhere), 0.0 when they
  listed only other prefectures, and 0.0 for everybody when the job has no known prefecture;
- ``training`` = log1p(hours / 100): 100 h → 0.69, 500 h → 1.79, 1000 h → 2.40 (diminishing
  returns: the first few hundred hours of pre-departure training matter most);
- ``experience_log`` = log1p(years); ``language_above`` is capped at 3 levels.

Requirements (``requirements_mask``) are filters, not features: a job order may make its
minimum Japanese level hard (below it is no candidate) and limit how late after the start
date a trainee may become available (``start_window_days``; unknown availability counts as
now, and a job without a start date has no window to apply).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import scipy.sparse as sp

from matching.vocab import FIELDS, PREFECTURES

FIELD_CODES: tuple[str, ...] = tuple(FIELDS)
PREFECTURE_CODES: tuple[str, ...] = tuple(PREFECTURES)
_FIELD_POS = {code: i for i, code in enumerate(FIELD_CODES)}
_PREF_POS = {code: i for i, code in enumerate(PREFECTURE_CODES)}
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
LANGUAGE_ABOVE_CAP = 3.0
MAX_RANK = 6

FEATURES: tuple[str, ...] = (
    "required_coverage",  # share of the job's required skills the trainee has
    "preferred_coverage",  # share of the preferred skills
    "required_all",  # 1 when every required skill is present
    "field_match",  # trainee's field is the job's field
    "field_x_required",  # field_match × required_coverage
    "language_above",  # levels above the employer's minimum, capped at 3
    "language_below",  # levels below the minimum
    "below_minimum",  # 1 when below the minimum at all
    "experience_log",  # log1p(experience years)            (static)
    "training",  # log1p(training hours / 100)                 (static)
    "prefecture_match",  # 1 preferred, 0.5 open to anywhere, 0 elsewhere
    "available_by_start",  # available on or before the start date
)
F = {name: i for i, name in enumerate(FEATURES)}
STATIC_FEATURES = ("experience_log", "training")


def day_number(value: date | None) -> int:
    """Days since 1970-01-01 (``date`` or ``datetime``); 0 (= available now) when unknown."""
    return 0 if value is None else value.toordinal() - EPOCH_ORDINAL


@dataclass
class Job:
    """What ranking needs of a job order (codes and slugs, as in the registry)."""

    field: str | None
    required_skills: Sequence[str] = ()
    preferred_skills: Sequence[str] = ()
    min_language_rank: int = 0
    prefecture: str | None = None
    start_date: date | None = None
    external_id: str | None = None
    #: Who posted it (organisation id): selects the employer's own deviations from the
    #: global weights (``model.LinearModel.for_job``); never a feature itself.
    employer: int | None = None
    #: Requirements as filters (``requirements_mask``): below the minimum level is excluded...
    language_is_hard: bool = False
    #: ... and so is anyone available later than start_date + this many days (None: no limit).
    start_window_days: int | None = None

    @property
    def has_requirements(self) -> bool:
        """True when some requirement may exclude a trainee."""
        return ((self.language_is_hard and (self.min_language_rank or 0) > 0)
                or (self.start_window_days is not None and self.start_date is not None))

    def required(self) -> list[str]:
        """Required skills, de-duplicated, order kept."""
        return list(dict.fromkeys(self.required_skills or ()))

    def preferred(self) -> list[str]:
        """Preferred skills minus the required ones, de-duplicated, order kept."""
        required = set(self.required_skills or ())
        return [s for s in dict.fromkeys(self.preferred_skills or ()) if s not in required]


@dataclass
class Pool:
    """The candidate pool as arrays; build once, rank many job orders against it.

    ``skills`` is n × len(skill_index) float32 binary CSR, ``prefectures`` n × 47 binary CSR
    in ``PREFECTURE_CODES`` order, ``field`` an index into ``FIELD_CODES`` (-1 unknown) and
    ``available_day`` days since 1970-01-01 (0 when unknown, i.e. available now).
    """

    ids: np.ndarray
    skills: sp.csr_matrix
    skill_index: dict[str, int]
    field: np.ndarray
    language_rank: np.ndarray
    experience_years: np.ndarray
    training_hours: np.ndarray
    available_day: np.ndarray
    prefectures: sp.csr_matrix
    # Derived once in __post_init__ (the cached part a job order reuses).
    static: np.ndarray = field(init=False, repr=False)
    _skill_rows: sp.csc_matrix = field(init=False, repr=False)
    _pref_rows: sp.csc_matrix = field(init=False, repr=False)
    _field_rows: list[np.ndarray] = field(init=False, repr=False)
    _rank: np.ndarray = field(init=False, repr=False)
    _open_half: np.ndarray = field(init=False, repr=False)
    _id_order: np.ndarray | None = field(init=False, repr=False, default=None)
    _local: threading.local = field(init=False, repr=False, default_factory=threading.local)
    _skill_names: list[str] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        n = len(self.ids)
        self.ids = np.ascontiguousarray(self.ids, dtype=np.int64)
        self.field = np.ascontiguousarray(self.field, dtype=np.int16)
        self.language_rank = np.ascontiguousarray(self.language_rank, dtype=np.float32)
        self.experience_years = np.ascontiguousarray(self.experience_years, dtype=np.float32)
        self.training_hours = np.ascontiguousarray(self.training_hours, dtype=np.float32)
        self.available_day = np.ascontiguousarray(self.available_day, dtype=np.int32)
        self.skills = sp.csr_matrix(self.skills, dtype=np.float32)
        self.prefectures = sp.csr_matrix(self.prefectures, dtype=np.float32)
        if self.skills.shape != (n, len(self.skill_index)):
            raise ValueError("skills must be n × len(skill_index)")
        if self.prefectures.shape != (n, len(PREFECTURE_CODES)):
            raise ValueError("prefectures must be n × 47")
        for name in ("field", "language_rank", "experience_years", "training_hours",
                     "available_day"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one value per trainee")
        # CSC copies: a column's row indices are the trainees holding that skill/prefecture,
        # so a job order touches only those rows (no pass over the whole matrix).
        self._skill_rows = self.skills.tocsc()
        self._skill_rows.sort_indices()
        self._pref_rows = self.prefectures.tocsc()
        order = np.argsort(self.field, kind="stable")
        bounds = np.searchsorted(self.field[order], np.arange(len(FIELD_CODES) + 1))
        self._field_rows = [order[bounds[i]:bounds[i + 1]] for i in range(len(FIELD_CODES))]
        self._rank = np.clip(np.rint(self.language_rank), 0, MAX_RANK).astype(np.float32)
        no_pref = np.diff(self.prefectures.indptr) == 0
        self._open_half = np.where(no_pref, np.float32(0.5), np.float32(0.0)).astype(np.float32)
        static = np.empty((len(STATIC_FEATURES), n), dtype=np.float32)
        np.log1p(np.maximum(self.experience_years, 0), out=static[0])
        np.log1p(np.maximum(self.training_hours, 0) / np.float32(100), out=static[1])
        self.static = static

    def __len__(self) -> int:
        return len(self.ids)

    def buffer(self) -> np.ndarray:
        """This thread's reusable feature block, static columns already in place.

        ``job_features(pool, job, out=pool.buffer())`` writes only the job-dependent
        columns; the next such call in the same thread overwrites the block, so copy rows
        you keep. One block per thread, so concurrent requests never share one.
        """
        block = getattr(self._local, "block", None)
        if block is None:
            block = np.empty((len(self), len(FEATURES)), dtype=np.float32, order="F")
            for i, name in enumerate(STATIC_FEATURES):
                block[:, F[name]] = self.static[i]
            self._local.block = block
        return block

    @classmethod
    def from_arrays(cls, ids, skills, skill_index, field, language_rank, experience_years,
                    training_hours, available_day, prefectures) -> Pool:
        """A pool from ready arrays (the synthetic 1M pool, a vectorised DB loader)."""
        return cls(ids, skills, dict(skill_index), field, language_rank, experience_years,
                   training_hours, available_day, prefectures)

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> Pool:
        """A pool from dicts with keys id, field, skills, language_rank, experience_years,
        training_hours, preferred_prefectures, available_from (the one loop of the build).

        Unknown field codes become -1 and unknown prefecture codes are ignored.
        """
        ids, fields, ranks, years, hours, days = [], [], [], [], [], []
        skill_lists, pref_cols = [], []
        for r in records:
            ids.append(int(r["id"]))
            fields.append(_FIELD_POS.get(r.get("field") or "", -1))
            ranks.append(float(r.get("language_rank") or 0))
            years.append(float(r.get("experience_years") or 0))
            hours.append(float(r.get("training_hours") or 0))
            days.append(day_number(r.get("available_from")))
            skill_lists.append(sorted(set(r.get("skills") or ())))
            pref_cols.append(sorted({_PREF_POS[p] for p in r.get("preferred_prefectures") or ()
                                     if p in _PREF_POS}))
        names = sorted({s for lst in skill_lists for s in lst})
        skill_index = {s: i for i, s in enumerate(names)}
        skills = _binary_csr([[skill_index[s] for s in lst] for lst in skill_lists], len(names))
        prefs = _binary_csr(pref_cols, len(PREFECTURE_CODES))
        return cls(np.array(ids, dtype=np.int64), skills, skill_index,
                   np.array(fields, dtype=np.int16), np.array(ranks, dtype=np.float32),
                   np.array(years, dtype=np.float32), np.array(hours, dtype=np.float32),
                   np.array(days, dtype=np.int32), prefs)

    def subset(self, rows: np.ndarray) -> Pool:
        """The pool restricted to ``rows`` (same skill index), e.g. the decided trainees."""
        rows = np.asarray(rows, dtype=np.intp)
        return Pool(self.ids[rows], self.skills[rows], self.skill_index, self.field[rows],
                    self.language_rank[rows], self.experience_years[rows],
                    self.training_hours[rows], self.available_day[rows], self.prefectures[rows])

    def rows_for(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row index of each trainee id, -1 for ids not in the pool."""
        if self._id_order is None:
            self._id_order = np.argsort(self.ids, kind="stable")
        wanted = np.asarray(ids, dtype=np.int64)
        sorted_ids = self.ids[self._id_order]
        pos = np.clip(np.searchsorted(sorted_ids, wanted), 0, max(len(self.ids) - 1, 0))
        if len(self.ids) == 0:
            return np.full(wanted.shape, -1, dtype=np.intp)
        found = sorted_ids[pos] == wanted
        return np.where(found, self._id_order[pos], -1).astype(np.intp)

    def row_info(self, row: int) -> dict:
        """One trainee's ranking inputs as plain values (for explanations of the top k)."""
        if self._skill_names is None:
            self._skill_names = sorted(self.skill_index, key=self.skill_index.__getitem__)
        s, e = self.skills.indptr[row], self.skills.indptr[row + 1]
        ps, pe = self.prefectures.indptr[row], self.prefectures.indptr[row + 1]
        f = int(self.field[row])
        return {
            "id": int(self.ids[row]),
            "field": FIELD_CODES[f] if f >= 0 else None,
            "skills": {self._skill_names[j] for j in self.skills.indices[s:e]},
            "language_rank": int(self._rank[row]),
            "experience_years": float(self.experience_years[row]),
            "training_hours": float(self.training_hours[row]),
            "preferred_prefectures": {PREFECTURE_CODES[j]
                                      for j in self.prefectures.indices[ps:pe]},
            "available_day": int(self.available_day[row]),
        }


def _binary_csr(col_lists: list[list[int]], n_cols: int) -> sp.csr_matrix:
    indptr = np.zeros(len(col_lists) + 1, dtype=np.int64)
    np.cumsum([len(c) for c in col_lists], out=indptr[1:])
    indices = np.fromiter((c for lst in col_lists for c in lst), dtype=np.int32,
                          count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(col_lists), n_cols))


def _rows_with_any(csc: sp.csc_matrix, cols: list[int]) -> list[np.ndarray]:
    return [csc.indices[csc.indptr[c]:csc.indptr[c + 1]] for c in cols]


def _coverage(pool: Pool, skills: list[str], out: np.ndarray) -> None:
    """out[i] = share of ``skills`` trainee i has: scatter-adds over each skill's holders."""
    out.fill(0)
    cols = [pool.skill_index[s] for s in skills if s in pool.skill_index]
    for rows in _rows_with_any(pool._skill_rows, cols):
        out[rows] += 1  # binary matrix: a row appears once per column, so no np.add.at
    if skills:
        out *= np.float32(1.0 / len(skills))


def job_features(pool: Pool, job: Job, out: np.ndarray | None = None) -> np.ndarray:
    """The (n, len(FEATURES)) float32 feature block of every trainee for one job order.

    Pass ``out`` (an F-ordered float32 array of that shape) to reuse a buffer across job
    orders; a fresh one is allocated otherwise.
    """
    n = len(pool)
    shape = (n, len(FEATURES))
    if out is None:
        out = np.empty(shape, dtype=np.float32, order="F")
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.f_contiguous:
        raise ValueError("out must be an F-ordered float32 array of shape (n, len(FEATURES))")
    col = [out[:, j] for j in range(len(FEATURES))]  # contiguous column views

    required = job.required()
    if required:
        _coverage(pool, required, col[F["required_coverage"]])
        # Coverage is k/len(required) ≤ 1: floor(c + ε) is 1 exactly when all are present.
        np.add(col[F["required_coverage"]], np.float32(1e-4), out=col[F["required_all"]])
        np.floor(col[F["required_all"]], out=col[F["required_all"]])
    else:
        col[F["required_coverage"]].fill(1)
        col[F["required_all"]].fill(1)
    _coverage(pool, job.preferred(), col[F["preferred_coverage"]])

    col[F["field_match"]].fill(0)
    col[F["field_x_required"]].fill(0)
    f = _FIELD_POS.get(job.field or "", -1)
    if f >= 0:
        rows = pool._field_rows[f]
        col[F["field_match"]][rows] = 1
        col[F["field_x_required"]][rows] = col[F["required_coverage"]][rows]

    # In-place ufuncs on contiguous columns: no temporaries of pool size.
    minimum = np.float32(job.min_language_rank or 0)
    above, below = col[F["language_above"]], col[F["language_below"]]
    np.subtract(pool._rank, minimum, out=above)
    np.clip(above, 0, LANGUAGE_ABOVE_CAP, out=above)
    np.subtract(minimum, pool._rank, out=below)
    np.maximum(below, 0, out=below)
    np.less(pool._rank, minimum, out=col[F["below_minimum"]])

    if out is not getattr(pool._local, "block", None):  # pool.buffer() has them already
        for i, name in enumerate(STATIC_FEATURES):
            col[F[name]][:] = pool.static[i]

    p = _PREF_POS.get(job.prefecture or "", -1)
    if p >= 0:
        col[F["prefecture_match"]][:] = pool._open_half
        col[F["prefecture_match"]][_rows_with_any(pool._pref_rows, [p])[0]] = 1
    else:
        col[F["prefecture_match"]].fill(0)

    if job.start_date is None:
        col[F["available_by_start"]].fill(1)
    else:
        np.less_equal(pool.available_day, day_number(job.start_date),
                      out=col[F["available_by_start"]])
    return out


def requirements_mask(pool: Pool, job: Job) -> np.ndarray:
    """Boolean (n,): True for the trainees who meet ``job``'s requirements (all when it has
    none). Two vectorised comparisons over the pool's columns, no loop over trainees."""
    meets = np.ones(len(pool), dtype=bool)
    if job.language_is_hard and (job.min_language_rank or 0) > 0:
        np.greater_equal(pool._rank, np.float32(job.min_language_rank), out=meets)
    if job.start_window_days is not None and job.start_date is not None:
        # available_day is 0 when unknown (available now): it always passes.
        latest = day_number(job.start_date) + int(job.start_window_days)
        meets &= pool.available_day <= latest
    return meets


def score(X: np.ndarray, weights: np.ndarray, bias: float = 0.0) -> np.ndarray:
    """``X @ w + b`` in float32 (one matrix-vector product)."""
    s = X @ np.asarray(weights, dtype=X.dtype)
    if bias:
        s += np.float32(bias)
    return s


def place_of(scores: np.ndarray, ids: np.ndarray, row: int) -> int:
    """The 1-based place of ``row`` in the ranking ``top_k`` makes (ties by ascending id)."""
    mine = scores[row]
    return 1 + int((scores > mine).sum()) + int(((scores == mine) & (ids < ids[row])).sum())


def top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best scores, best first; equal scores ordered by ascending id.

    ``argpartition`` finds the k best in linear time; only those (plus any rows tied with
    the k-th score, so the cut itself is deterministic) are sorted.
    """
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    if k < n:
        cand = _candidates(scores, k)
        if cand is not None:
            return cand[top_k(scores[cand], ids[cand], k)]
        part = np.argpartition(scores, n - k)[n - k:]
        threshold = scores[part].min()
        above = part[scores[part] > threshold]
        tied = np.flatnonzero(scores == threshold)
        need = k - len(above)
        if len(tied) > need:
            tied = tied[np.argpartition(ids[tied], need - 1)[:need]] if need > 0 else tied[:0]
        cand = np.concatenate([above, tied])
    else:
        cand = np.arange(n)
    order = np.lexsort((ids[cand], -scores[cand].astype(np.float64)))
    return cand[order].astype(np.intp)


def _candidates(scores: np.ndarray, k: int) -> np.ndarray | None:
    """Rows that surely contain the top k of a large array, or None to search it all.

    A strided sample estimates a cut that about 4k rows pass; one comparison pass then
    leaves a small array for argpartition. Exact: when at least k rows pass the cut, the
    k-th best score (and every tie with it) is at or above the cut.
    """
    n = len(scores)
    if n < 65_536:
        return None
    sample = scores[:: n // 8192]
    want = min(len(sample) - 1, int(np.ceil(4 * k * len(sample) / n)) + 8)
    cut = np.partition(sample, len(sample) - want)[len(sample) - want]
    cand = np.flatnonzero(scores >= cut)
    return cand if k <= len(cand) < n // 2 else None
