"""Benchmark: the collateral projection with scenario drivers (issue "engine seams").

10,000 level-pay loans x 120 months x 1,000 scenarios, projected by the Numba (and, with
``--numpy``, the NumPy) kernel for three kinds of scenario input: per-scenario multipliers,
per-asset default months (a seeded draw: each loan defaults in 10% of scenarios, in a uniform
month), and both.  Prints the median time of ``--repeat`` runs after a warm-up and the
throughput in asset-period-scenarios per second (APS/s).  Run:

    .venv/bin/python benchmarks/bench_scenarios.py [--loans 10000] [--scenarios 1000]

Target: at least 1e9 APS/s on two cores (Numba) with per-asset default months.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date

import numpy as np

from greenabs.assets import LoanSpec
from greenabs.assets.backends import available_backends
from greenabs.collateral import compile_pool_for, project
from greenabs.scenarios import Scenarios, generator
from greenabs.spec.deal import AssumptionsSpec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--scenarios", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--numpy", action="store_true", help="also time the NumPy reference")
    args = ap.parse_args()
    n, m, s = args.loans, args.months, args.scenarios
    rng = np.random.default_rng(1)
    loans = [
        LoanSpec(id=f"L{i}", balance=float(b), rate=float(r), original_term=m)
        for i, (b, r) in enumerate(
            zip(rng.lognormal(12.0, 0.5, n), rng.uniform(0.03, 0.07, n), strict=True)
        )
    ]
    a = AssumptionsSpec.model_validate(
        {
            "prepayment": {"cpr": 0.1},
            "default": {"cdr": 0.02},
            "recovery": {"rate": 0.5, "lag_months": 6},
        }
    )
    pool = compile_pool_for(loans, a, date(2026, 1, 1))
    months = np.zeros((s, n))
    for k in range(s):
        g = generator(7, k, "defaults")
        months[k] = np.where(g.random(n) < 0.1, g.integers(1, m + 1, n), 0)
    mult = rng.uniform(0.5, 2.0, s)
    cases = {
        "multipliers": Scenarios.build(smm_mult=mult, mdr_mult=mult[::-1].copy()),
        "default months": Scenarios.build(default_month=months),
        "default months + multipliers": Scenarios.build(default_month=months, smm_mult=mult),
    }
    backends = ["numba"] if "numba" in available_backends() else []
    if args.numpy:
        backends.append("numpy")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, python "
        f"{platform.python_version()}, numpy {np.__version__}; N={n:,} M={m} S={s:,} float64"
    )
    for backend in backends:
        for name, sc in cases.items():
            project(pool, sc.take(0, 4), backend=backend)  # warm-up (and compile)
            times = []
            for _ in range(args.repeat if backend == "numba" else 1):
                t0 = time.perf_counter()
                project(pool, sc, backend=backend)
                times.append(time.perf_counter() - t0)
            t = statistics.median(times)
            print(f"[{backend:5s}] {name:30s} {t:7.3f} s  {n * m * s / t / 1e9:6.2f} G APS/s")


if __name__ == "__main__":
    main()
