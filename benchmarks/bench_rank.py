"""Ranking speed on synthetic pools: one job order end to end versus the BLAS floor.

    .venv/bin/python -m benchmarks.bench_rank [--sizes 10000 100000 1000000] [--runs 15]

For each pool size, the median over ``runs`` job orders of:

- features: ``job_features`` into the pool's reusable buffer (job-dependent columns only);
- score: ``X @ w`` (float32 sgemv) and top: top-50 by ``top_k``;
- end to end: ``rank_pool`` (the three above, plus copying the 50 rows out);
- hierarchical: the same with a model holding deviations for 16 fields and 1,000
  employers, each job order posted by one of them (its deviations are added to the global
  weights before the one product);
- cold: the same with a freshly allocated feature block (no buffer reuse);
- floor: the raw numpy float32 matrix-vector product over the same feature matrix
  (F-ordered as built, and a C-contiguous copy for reference);
- ratio: end to end / floor (F);
- memory: the cached pool's arrays (dense columns, sparse skill and prefecture matrices,
  the static feature block) plus the reusable feature buffer, in MiB, and the process's
  peak resident set size after that size was measured.

The pool itself is built once per size from arrays (``make_pool``) and timed separately:
that is the cached part, rebuilt only when the registry changes.

BLAS runs single-threaded by default (``--blas-threads``): a matrix-vector product is
memory-bound, a second thread gains nothing at 1M rows, and on a shared 2-core VM waking it
costs ~8 ms now and then, which would swamp both the pipeline and the floor.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from benchmarks.synthetic import make_jobs, make_pool
from matching.ranking.features import FIELD_CODES, job_features, top_k
from matching.ranking.model import PRIOR, LinearModel, rank_pool


def _median_ms(fn, args_list) -> float:
    times = []
    for args in args_list:
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if sp.issparse(value):
        return value.data.nbytes + value.indices.nbytes + value.indptr.nbytes
    return 0


def pool_mib(pool, buffer) -> float:
    """Memory held by a cached pool's arrays and one reusable feature buffer, in MiB."""
    held = sum(_nbytes(v) for v in vars(pool).values())
    return (held + _nbytes(buffer)) / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hierarchical_model(n_employers: int = 1000, seed: int = 0) -> LinearModel:
    """The prior's weights with random deviations for every field and ``n_employers``."""
    rng = np.random.default_rng(seed)
    d = len(PRIOR.weights)
    return LinearModel(PRIOR.weights, kind="learned", alpha=1.0,
                       field_deviations={f: rng.normal(0, 0.2, d) for f in FIELD_CODES},
                       employer_deviations={e: rng.normal(0, 0.3, d)
                                            for e in range(1, n_employers + 1)})


def bench_size(n: int, runs: int = 15, k: int = 50, seed: int = 0) -> dict:
    """Timings (milliseconds, medians) for one pool size."""
    w = PRIOR.weights.astype(np.float32)
    t = time.perf_counter()
    pool = make_pool(n, seed=seed)
    build_s = time.perf_counter() - t
    jobs = [(j,) for j in make_jobs(runs, np.random.default_rng(seed + 1))]
    buf = pool.buffer()
    rank_pool(PRIOR, pool, jobs[0][0], k)  # warm up caches and BLAS
    scores = [(PRIOR.score(job_features(pool, j, out=buf)).copy(),) for (j,) in jobs]
    hier = hierarchical_model(seed=seed)
    hier_jobs = [(replace(j, employer=i % 1000 + 1),) for i, (j,) in enumerate(jobs)]
    X = job_features(pool, jobs[0][0], out=buf)
    XC = np.ascontiguousarray(X)
    row = {
        "n": n,
        "build_s": build_s,
        "features": _median_ms(lambda j: job_features(pool, j, out=buf), jobs),
        "score": _median_ms(lambda: X @ w, [()] * runs),
        "top": _median_ms(lambda s: top_k(s, pool.ids, k), scores),
        "end_to_end": _median_ms(lambda j: rank_pool(PRIOR, pool, j, k), jobs),
        "hierarchical": _median_ms(lambda j: rank_pool(hier, pool, j, k), hier_jobs),
        "cold": _median_ms(lambda j: top_k(PRIOR.score(job_features(pool, j)), pool.ids, k),
                           jobs),
        "floor": _median_ms(lambda: X @ w, [()] * runs),
        "floor_c": _median_ms(lambda: XC @ w, [()] * runs),
    }
    row["ratio"] = row["end_to_end"] / row["floor"]
    row["pool_mib"] = pool_mib(pool, buf)
    row["rss_mib"] = peak_rss_mib()
    return row


def bench_in_process(sizes=(10_000, 100_000, 1_000_000), runs: int = 15, k: int = 50,
                     seed: int = 0) -> list[dict]:
    """Timings per pool size, as dicts (see ``bench_size``)."""
    return [bench_size(n, runs, k, seed) for n in sizes]


def print_table(rows: list[dict]) -> None:
    """The timings as an aligned text table."""
    head = ("pool", "build s", "features", "score", "top-50", "end-to-end", "hier e2e",
            "cold", "floor F", "floor C", "ratio", "pool MiB", "peak RSS")
    print("  ".join(f"{h:>10}" for h in head) + "   (ms, median; memory in MiB)")
    for r in rows:
        cells = [f"{r['n']:>10,}", f"{r['build_s']:>10.2f}"]
        cells += [f"{r[key]:>10.2f}" for key in ("features", "score", "top", "end_to_end",
                                                 "hierarchical", "cold", "floor", "floor_c")]
        cells.append(f"{r['ratio']:>9.1f}x")
        cells += [f"{r['pool_mib']:>10.1f}", f"{r['rss_mib']:>10.0f}"]
        print("  ".join(cells))


def main(argv=None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        rows = bench_in_process(args.sizes, args.runs, args.top)
    print(f"BLAS threads: {args.blas_threads}")
    print_table(rows)


if __name__ == "__main__":
    main()
