"""Ranking quality with heterogeneous employers: one global model versus per-employer deviations.

    .venv/bin/python -m benchmarks.bench_hierarchy [--trainees 2000] [--employers 10]
                                                   [--job-orders 120] [--seeds 0 1 2]

A synthetic world (``benchmarks.synthetic``) whose employers fall in two groups with opposite
tastes (``HETEROGENEOUS``: Japanese over experience, experience over Japanese) takes turns
posting job orders; every fourth round of turns is held out (so each employer keeps a
quarter of its job orders for measuring). On the other job orders the global pairwise model
(``training.fit_pairwise``) and the hierarchical one (``hierarchy.fit_hierarchical``) are
fitted; the table shows held-out NDCG@10 per group of employers, with the skill-overlap
baseline and the expert prior for reference, averaged over the seeds.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.synthetic import HETEROGENEOUS, make_world
from matching.ranking.hierarchy import fit_hierarchical, score_rows
from matching.ranking.metrics import group_ndcg
from matching.ranking.model import PRIOR
from matching.ranking.training import baseline_scores, fit_pairwise

MODELS = ("skill overlap", "expert prior", "global", "hierarchical")


def measure(n_trainees: int, n_employers: int, n_jobs: int, seed: int) -> dict:
    """Held-out NDCG@10 per group (``HETEROGENEOUS`` name) and model, for one world."""
    world = make_world(n_trainees, n_jobs, seed=seed,
                       employers=[HETEROGENEOUS[i % 2] for i in range(n_employers)])
    X, grades, groups = world.training_data()
    employers, fields = world.entities(groups)
    held = (groups // n_employers) % 4 == 0
    flat = fit_pairwise(X[~held], grades[~held], groups[~held])
    hier = fit_hierarchical(X[~held], grades[~held], groups[~held],
                            employers=employers[~held], fields=fields[~held])
    Xh, gh, grh = X[held], grades[held], groups[held]
    scores = {"skill overlap": baseline_scores(Xh), "expert prior": PRIOR.score(Xh),
              "global": flat.score(Xh),
              "hierarchical": score_rows(hier, Xh, employers[held], fields[held])}
    jobs = np.unique(grh)
    group = np.array([(world.jobs[j].employer - 1) % 2 for j in jobs])
    out = {}
    for name, s in scores.items():
        ndcg = group_ndcg(s, gh, grh, 10)
        out[name] = {HETEROGENEOUS[g]: float(np.nanmean(ndcg[group == g])) for g in (0, 1)}
        out[name]["all"] = float(np.nanmean(ndcg))
    return out


def main(argv=None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=2000)
    parser.add_argument("--employers", type=int, default=10)
    parser.add_argument("--job-orders", type=int, default=120)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    runs = [measure(args.trainees, args.employers, args.job_orders, s) for s in args.seeds]
    columns = (*HETEROGENEOUS, "all")
    print(f"held-out NDCG@10, {args.employers} employers, {args.job_orders} job orders, "
          f"{args.trainees} trainees, mean of seeds {args.seeds}")
    print(f"  {'model':14}" + "".join(f"{c:>26}" for c in columns))
    for name in MODELS:
        cells = [np.mean([r[name][c] for r in runs]) for c in columns]
        print(f"  {name:14}" + "".join(f"{v:>26.3f}" for v in cells))


if __name__ == "__main__":
    main()
