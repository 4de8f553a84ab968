"""Benchmark: the Monte Carlo of a 10,000-loan, 120-month, 5-tranche deal.

Prints the time of each stage of ``greenabs.montecarlo.monte_carlo`` (scenario generation
with loan-level Gaussian-copula default times, collateral projection, waterfall and
per-tranche reduction), the collateral throughput in asset-period-scenarios per second
(APS/s), and a sizing search on the kept pool flows.  ``--write DIR`` writes the deal as a
YAML file and a CSV tape instead, for timing the whole ``greenabs rate`` process.  Run:

    .venv/bin/python benchmarks/bench_montecarlo.py [--loans 10000] [--scenarios 10000]
        [--backend numba] [--write DIR]

Targets (issue "credit enhancement and rating"): copula collateral >= 1e9 APS/s on two
cores (NumPy >= 1e8); ``greenabs rate`` on 10,000 loans x 120 months x 10,000 scenarios under
20 s whole process; a 20-step sizing search under 3 s more.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_deal import make_deal, write_deal

import greenabs
from greenabs.collateral import project
from greenabs.compile import compile_deal
from greenabs.montecarlo import ScenarioModel, monte_carlo, settings
from greenabs.montecarlo.sizing import size_tranches


def make_mc_deal(n_loans: int) -> dict[str, Any]:
    """The deal engine's benchmark pool with 120-month loans, a 2% CDR and a simulation
    section (one-factor Gaussian copula, 20% correlation)."""
    data = make_deal(n_loans)
    for a in data["pool"]["assets"]:
        a["original_term"] = 120
    data["name"] = f"Benchmark {n_loans:,} x 120 Monte Carlo"
    data["assumptions"]["default"] = {"cdr": 0.02}
    data["simulation"] = {
        "scenarios": 10000,
        "seed": 42,
        "default_model": {"copula": "gaussian", "asset_correlation": 0.20},
    }
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=10_000)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--block-size", type=int, default=1000)
    ap.add_argument("--backend", default="numba")
    ap.add_argument("--write", type=Path, default=None, help="write deal.yaml + tape.csv here")
    a = ap.parse_args()
    data = make_mc_deal(a.loans)
    if a.write is not None:
        write_deal(data, a.write)
        print(f"wrote {a.write}/deal.yaml and its tape")
        return
    deal = greenabs.parse_deal(data)
    compiled = compile_deal(deal)
    sim = settings(deal, scenarios=a.scenarios, block_size=a.block_size)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}; backend {a.backend}"
    )
    # warm-up (compiles the Numba kernels), then the stages of one block
    monte_carlo(compiled, settings(deal, scenarios=50, block_size=50), backend=a.backend)
    model = ScenarioModel(compiled, sim, a.backend)
    n_b = min(a.block_size, a.scenarios)
    t0 = time.perf_counter()
    draw = model.block(0, n_b)
    t1 = time.perf_counter()
    pool = project(compiled.pool, draw.scenarios, backend=a.backend)
    t2 = time.perf_counter()
    greenabs.run(compiled, flows=pool, scenarios=draw.scenarios).scenario_metrics()
    t3 = time.perf_counter()
    aps = a.loans * compiled.pool.n_months * n_b
    print(
        f"one block of {n_b:,} scenarios: draw {t1 - t0:.2f} s, collateral {t2 - t1:.2f} s "
        f"({aps / (t2 - t1) / 1e9:.2f} G APS/s), waterfall + metrics {t3 - t2:.2f} s"
    )
    t0 = time.perf_counter()
    mc = monte_carlo(compiled, sim, backend=a.backend, keep_flows=True)
    t1 = time.perf_counter()
    print(f"monte_carlo: {a.scenarios:,} scenarios in {t1 - t0:.2f} s")
    for r in mc.rating():
        print(f"  {r['name']:4} {r['rating']:5} PD {r['default_probability']:.4%}")
    t0 = time.perf_counter()
    sized = size_tranches(mc, {"B": "AA"})
    t1 = time.perf_counter()
    row = sized.targets[0]
    print(f"sizing B=AA: {t1 - t0:.2f} s, {row['steps']} waterfall runs, {row['status']}")


if __name__ == "__main__":
    main()
