"""GPU benchmark: the collateral projection of the 10,000-loan x 360-month pool for many
scenarios, CuPy (GPU) against Numba (all CPU cores) and NumPy (small S only).

Prints APS/s (asset-period-scenarios per second) per backend and scenario count, medians of
repeated runs after a warm-up (which also compiles the kernels), and checks that every
backend agrees with the NumPy reference.  Run on a machine with a CUDA device:

    python benchmarks/bench_gpu.py [--scenarios 100 1000 4000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_deal import make_deal, median_time

import greenabs
from greenabs.assets.backends import available_backends
from greenabs.collateral import project_pool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--loans", type=int, default=10_000)
    ap.add_argument("--scenarios", type=int, nargs="+", default=[100, 1000, 4000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    backends = [b for b in ("cupy", "numba") if b in available_backends()]
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
        f"backends {backends}"
    )
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        print(f"GPU: {props['name'].decode()}, {props['multiProcessorCount']} SMs")
    except Exception as exc:
        print(f"no GPU: {exc}")
    deal = greenabs.parse_deal(make_deal(args.loans))
    rng = np.random.default_rng(2026)

    def run(backend: str, s: int) -> Any:
        m = rng.uniform(0.5, 3.0, s)
        return project_pool(
            deal.pool.assets,
            deal.assumptions,
            deal.dates.cutoff,
            smm_mult=m,
            mdr_mult=m[::-1].copy(),
            backend=backend,
        )

    # correctness against the NumPy reference on 8 scenarios
    m = np.linspace(0.5, 3.0, 8)
    ref = project_pool(
        deal.pool.assets, deal.assumptions, deal.dates.cutoff, smm_mult=m, mdr_mult=m
    )
    for b in backends:
        got = project_pool(
            deal.pool.assets, deal.assumptions, deal.dates.cutoff, smm_mult=m, mdr_mult=m, backend=b
        )
        worst = max(
            float(
                np.max(np.abs(got.flows[k] - ref.flows[k]) / np.maximum(np.abs(ref.flows[k]), 1.0))
            )
            for k in ref.flows
        )
        print(f"[{b}] max relative difference to numpy over all fields: {worst:.2e}")
    for s in args.scenarios:
        for b in backends:
            t = median_time(lambda b=b, s=s: run(b, s), args.repeat)
            aps = args.loans * 360 * s / t
            print(f"S={s:5d} [{b:5s}] projection {t * 1e3:9.1f} ms  {aps / 1e9:7.2f} G APS/s")
        t_run = median_time(
            lambda s=s: greenabs.run(
                deal,
                backend=backends[0],
                smm_mult=rng.uniform(0.5, 3, s),
                mdr_mult=rng.uniform(0.5, 3, s),
            ),
            2,
        )
        print(
            f"S={s:5d} [{backends[0]}] run() end to end (waterfall on NumPy): "
            f"{t_run:6.2f} s, {s / t_run:8.1f} scenarios/s"
        )


if __name__ == "__main__":
    main()
