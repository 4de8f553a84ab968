"""Benchmark: eco-asset pools under drawn random drivers (issue "eco-environmental assets").

For each eco example deal, draws S scenarios of every driver its families declare
(``collateral.draw_drivers``) and runs the whole deal (revenue projection and waterfall) over
them.  Prints the median time of ``--repeat`` runs after a warm-up and scenarios per second.
Run:

    .venv/bin/python benchmarks/bench_eco.py [--scenarios 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import greenabs
from greenabs.collateral import draw_drivers
from greenabs.scenarios import Scenarios

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEALS = ("solar_wind_subsidy_2026", "sewage_income_right_2026", "agri_tourism_2026")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; S = {args.scenarios}"
    )
    for name in DEALS:
        compiled = greenabs.compile_deal(greenabs.load_deal(EXAMPLES / f"{name}.yaml"))
        draws, runs = [], []
        for i in range(args.repeat + 1):
            t0 = time.perf_counter()
            drivers = draw_drivers(compiled.pool, args.scenarios, seed=1)
            t1 = time.perf_counter()
            greenabs.run(compiled, scenarios=Scenarios.build(drivers=drivers, seed=1))
            t2 = time.perf_counter()
            if i:  # the first run warms up
                draws.append(t1 - t0)
                runs.append(t2 - t1)
        d, r = statistics.median(draws), statistics.median(runs)
        n, m = compiled.pool.n_assets, compiled.pool.n_months
        print(
            f"{name:26s} {n:2d} assets x {m:3d} months: draw {d * 1e3:6.1f} ms,"
            f" run {r * 1e3:6.1f} ms, {args.scenarios / (d + r):8,.0f} scenarios/s"
        )


if __name__ == "__main__":
    main()
