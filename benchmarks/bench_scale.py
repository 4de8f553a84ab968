"""Benchmark: the Monte Carlo's blocks on 1, 2 and 4 local workers (processes and Dask).

The deal of ``bench_montecarlo.py`` (10,000 loans x 120 months, five classes) with S
scenarios in blocks; each executor's wall time (median of ``--repeat`` runs, the first one
after a warm-up that starts the workers' Numba caches), the speed-up over one in-process
run and the scaling efficiency (speed-up / workers, capped by the machine's cores).  Every
run's rows are checked equal to the in-process run's.  Run:

    .venv/bin/python benchmarks/bench_scale.py [--loans 10000] [--scenarios 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_montecarlo import make_mc_deal

import greenabs
from greenabs.compile import compile_deal
from greenabs.montecarlo import monte_carlo, settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=10_000)
    ap.add_argument("--scenarios", type=int, default=2000)
    ap.add_argument("--block-size", type=int, default=250)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backend", default="numba")
    a = ap.parse_args()
    deal = greenabs.parse_deal(make_mc_deal(a.loans))
    compiled = compile_deal(deal)
    sim = settings(deal, scenarios=a.scenarios, block_size=a.block_size)
    print(f"{os.cpu_count()} CPUs; {a.loans:,} loans, {a.scenarios:,} scenarios, {a.backend}")
    runs = [("inprocess", None)] + [(k, w) for k in ("processes", "dask") for w in (1, 2, 4)]
    base = None
    ref = None
    for kind, workers in runs:
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            r = monte_carlo(compiled, sim, backend=a.backend, executor=kind, workers=workers)
            times.append(time.perf_counter() - t0)
            if ref is None:
                ref = r
            assert r.tranches.equals(ref.tranches), (kind, workers)
        t = statistics.median(times)
        base = base or t
        n = workers or 1
        eff = base / t / min(n, os.cpu_count() or 1)
        print(f"{kind:10} workers {n}: {t:6.2f} s  speed-up {base / t:4.2f}  efficiency {eff:.0%}")


if __name__ == "__main__":
    main()
