"""Benchmark: a deterministic run of a 10,000-loan, 360-month pool through a 5-tranche waterfall.

Prints the time of each stage (median of repeated runs, after a warm-up) and the collateral
throughput in asset-period-scenarios per second (APS/s).  The pool is generated with a fixed
seed; no file is read.  Run:

    .venv/bin/python benchmarks/bench_deal.py [--loans 10000] [--repeat 7] [--scenarios 100]

Target (issue "deal engine"): the deterministic run under 0.5 s on one core.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import greenabs
from greenabs.assets.backends import available_backends
from greenabs.collateral import project
from greenabs.compile import compile_deal
from greenabs.waterfall import run_waterfall


def make_deal(n_loans: int, seed: int = 1) -> dict[str, Any]:
    """A 360-month pool of mixed level-pay and linear loans with a 5-tranche structure."""
    rng = np.random.default_rng(seed)
    bal = rng.lognormal(12.0, 0.5, n_loans)
    assets = [
        {
            "id": f"L{i:05d}",
            "type": "loan",
            "balance": float(bal[i]),
            "rate": float(rng.uniform(0.035, 0.065)),
            "original_term": 360,
            "age": int(rng.integers(0, 24)),
            "amortization": "level" if i % 4 else "linear",
        }
        for i in range(n_loans)
    ]
    pool = float(bal.sum())
    sizes = {"A1": 0.40, "A2": 0.35, "B": 0.10, "C": 0.07, "Sub": 0.08}
    tranches = [
        {"name": n, "balance": pool * s, "coupon": {"fixed": c}}
        for (n, s), c in zip(list(sizes.items())[:4], (0.03, 0.034, 0.042, 0.055), strict=True)
    ]
    tranches.append({"name": "Sub", "balance": pool * sizes["Sub"] * 0.999, "residual": True})
    return {
        "name": "Benchmark 10k x 360",
        "dates": {"cutoff": "2026-03-31", "closing": "2026-04-15", "first_payment": "2026-05-26"},
        "pool": {"servicing_fee": 0.0025, "assets": assets},
        "assumptions": {
            "prepayment": {"psa": 150},
            "default": {"sda": 100},
            "recovery": {"rate": 0.6, "lag_months": 12},
        },
        "structure": {
            "fees": [
                {"name": "servicing", "rate": 0.0025},
                {"name": "trustee", "rate": 0.0002},
            ],
            "accounts": [
                {"name": "reserve", "initial": pool * 0.005, "target": {"percent": 0.005}},
            ],
            "tranches": tranches,
            "triggers": [
                {"name": "cnl", "kind": "cumulative_loss", "threshold": 0.03},
                {"name": "oc", "kind": "oc_ratio", "tranches": ["A2"], "threshold": 1.05},
            ],
            "call": {"pool_factor": 0.1},
            "waterfall": [
                {"pay_fees": ["servicing", "trustee"]},
                {"pay_interest": {"tranches": ["A1", "A2"], "support": "reserve"}},
                {"pay_interest": "B"},
                {"pay_interest": "C"},
                {"fund_reserve": "reserve"},
                {"pay_principal": {"tranches": ["A1", "A2"], "mode": "pro_rata"}},
                {"pay_principal": {"tranches": ["B", "C"]}},
                {"pay_residual": "Sub"},
            ],
        },
    }


def write_deal(data: dict[str, Any], folder: Path) -> None:
    """Write the deal as ``deal.yaml`` with its pool as the loan tape ``tape.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    assets = data["pool"]["assets"]
    with (folder / "tape.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(assets[0]))
        writer.writeheader()
        writer.writerows(assets)
    deal = {**data, "pool": {"servicing_fee": data["pool"]["servicing_fee"], "tape": "tape.csv"}}
    (folder / "deal.yaml").write_text(yaml.safe_dump(deal, sort_keys=False))


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up (and numba compilation)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--loans", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--scenarios", type=int, default=100)
    ap.add_argument("--write", metavar="DIR", help="write the deal (YAML + CSV tape) and stop")
    args = ap.parse_args()
    if args.write:
        write_deal(make_deal(args.loans), Path(args.write))
        return

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    data = make_deal(args.loans)
    t_load = median_time(lambda: greenabs.parse_deal(data), 3)
    deal = greenabs.parse_deal(data)
    compiled = compile_deal(deal)
    t_compile = median_time(lambda: compile_deal(deal), 3)
    print(f"compile {args.loans:,} loans: {t_compile * 1e3:8.1f} ms")
    print(f"validate {args.loans:,} loans (pydantic): {t_load * 1e3:8.1f} ms")
    for backend in available_backends():

        def proj(b: str = backend) -> Any:
            return project(compiled.pool, backend=b)

        t_proj = median_time(proj, args.repeat)
        pool = proj()
        t_wf = median_time(lambda p=pool: run_waterfall(compiled, p), args.repeat)
        t_run = median_time(lambda b=backend: greenabs.run(deal, backend=b), args.repeat)
        aps = args.loans * 360 / t_proj
        print(
            f"[{backend:5s}] projection {t_proj * 1e3:8.1f} ms ({aps / 1e6:7.1f} M APS/s) | "
            f"waterfall {t_wf * 1e3:6.1f} ms | run() end to end {t_run * 1e3:8.1f} ms"
        )
    s = args.scenarios
    mult = np.linspace(0.5, 3.0, s)
    for backend in available_backends():
        t = median_time(
            lambda b=backend: greenabs.run(deal, backend=b, smm_mult=mult, mdr_mult=mult), 3
        )
        print(
            f"[{backend:5s}] {s} scenarios end to end: {t:6.2f} s "
            f"({args.loans * 360 * s / t / 1e6:7.1f} M APS/s, {s / t:6.1f} scenarios/s)"
        )


if __name__ == "__main__":
    main()
