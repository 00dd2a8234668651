"""The province dashboard's figures (``web.regions.queries.regional_picture``) for the
administrator: all 34 provinces, a fixed number of queries whatever the size.

    .venv/bin/python -m benchmarks.bench_regions [--sizes 100 1000 10000] [--charges 6]

For each size: ``bench_fees``'s world (dispatches with stage histories and worker-paid
charges in VND with a year of rates, their fee flags and totals stored), its trainees
spread over the 34 provinces. Prints, per size: the SQL statements the figures ran, the
seconds (median of 3) for every province and for one province. The fee figures are the
stored rows, summed, counted and their medians taken in SQL (``fees.store``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from flask_migrate import upgrade

from benchmarks.bench_fees import build, measure
from matching import create_app
from matching.extensions import db
from matching.fees import store
from matching.models import Trainee
from matching.vocab import PROVINCES
from matching.web.regions.queries import regional_picture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--charges", type=int, default=6)
    args = parser.parse_args()
    admin = SimpleNamespace(role="admin", province=None, is_authenticated=True)
    codes = list(PROVINCES)
    print(f"{'dispatches':>10} {'charges':>8} {'queries':>8} {'34 provinces s':>15} "
          f"{'one province s':>15}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                              "TESTING": True})
            with app.app_context(), app.test_request_context():
                upgrade()
                build(size, args.charges)
                db.session.execute(sa.update(Trainee).values(province=sa.case(
                    {n: code for n, code in enumerate(codes)},
                    value=Trainee.id % len(codes))))
                store.rebuild()
                db.session.commit()
                every, queries, picture = measure(lambda: regional_picture(admin))
                assert len(picture.regions) == len(codes)
                one, _q, _p = measure(lambda: regional_picture(admin, "nghe-an"))
                print(f"{size:>10} {size * args.charges:>8} {queries:>8} {every:>15.3f} "
                      f"{one:>15.3f}")
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
