"""Write a synthetic loan tape as Parquet (and the same tape as CSV), and time reading both.

The tape has ``N`` green corporate loans (default 100,000) with the columns of
``examples/ib_green_2014_tape.csv``: typed columns in the Parquet file (``balance`` and ``rate``
float64, ``original_term`` and ``age`` int64, the rest strings; ``green_category`` and the
impact columns partly null), the same values as text in the CSV.  Fixed seed: the same tape
every time.

Run::

    python examples/make_parquet_tape.py OUT_DIR [N] [--time]

writes ``OUT_DIR/loans_N.parquet`` and ``OUT_DIR/loans_N.csv``; with ``--time`` it then reads
each with :func:`greenabs.load_tape` in a fresh Python process and prints the seconds taken, the
process's peak resident memory, what reading added to it and what the assets keep.  A pool: block
points at the Parquet tape as at a CSV one: ``pool: {tape: loans_100000.parquet}``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

INDUSTRIES = ["wind power", "solar power", "hydropower", "sewage treatment", "green building"]
CATEGORIES = ["3.2.2.1", "3.2.2.2", "3.2.2", "5.3.1.1", "5.2.1"]
REGIONS = ["Jiangsu", "Zhejiang", "Fujian", "Guangdong", "Sichuan", "Hebei"]


def tape(n: int, seed: int = 2026) -> pd.DataFrame:
    """``n`` loans with typed columns (NaN and None where a value is not given)."""
    rng = np.random.default_rng(seed)
    term = rng.choice([12, 24, 36, 60, 120], n)
    sector = rng.integers(0, len(INDUSTRIES), n)
    categorised = rng.random(n) < 0.8
    mwh = np.where(sector <= 2, np.round(rng.uniform(1e3, 5e4, n), 1), np.nan)
    return pd.DataFrame(
        {
            "id": [f"L{i:07d}" for i in range(n)],
            "type": "loan",
            "balance": np.round(rng.uniform(1e5, 5e7, n), 2),
            "rate": np.round(rng.uniform(0.03, 0.08, n), 4),
            "original_term": term,
            "age": (rng.random(n) * term).astype(np.int64) // 2,
            "amortization": rng.choice(["level", "linear", "interest_only"], n),
            "frequency": rng.choice(["monthly", "quarterly"], n),
            "obligor": [f"Borrower {k}" for k in rng.integers(0, n // 3 + 1, n)],
            "industry": np.array(INDUSTRIES)[sector],
            "region": rng.choice(REGIONS, n),
            "green_category": np.where(categorised, np.array(CATEGORIES)[sector], None),
            "impact_mwh": mwh,
        }
    )


_TIMER = """
import resource, sys, time
from greenabs import load_tape
import greenabs.spec.io  # imports done before the clock starts


def memory():  # (resident now, peak) in MiB; Linux's VmHWM restarts at exec, ru_maxrss does not
    try:
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return [int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")]
    except (OSError, KeyError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return [peak, peak]


before = memory()[0]
t0 = time.perf_counter()
assets = load_tape(sys.argv[1])
seconds = time.perf_counter() - t0
now, peak = memory()
print(f"{len(assets):,} assets in {seconds:.2f} s; peak RSS {peak:.0f} MiB, "
      f"{peak - before:+.0f} MiB over the {before:.0f} MiB before reading "
      f"(the assets keep {now - before:+.0f} MiB)")
"""


def main(argv: list[str]) -> None:
    args = [a for a in argv if a != "--time"]
    if not args:
        raise SystemExit(__doc__)
    out = Path(args[0])
    n = int(args[1]) if len(args) > 1 else 100_000
    out.mkdir(parents=True, exist_ok=True)
    frame = tape(n)
    parquet, csv = out / f"loans_{n}.parquet", out / f"loans_{n}.csv"
    frame.to_parquet(parquet, index=False)
    frame.to_csv(csv, index=False)
    for f in (parquet, csv):
        print(f"{f}: {f.stat().st_size / 2**20:.1f} MiB")
    if "--time" in argv:
        for f in (parquet, csv):
            proc = subprocess.run(
                [sys.executable, "-c", _TIMER, str(f)], capture_output=True, text=True, check=True
            )
            print(f"{f.suffix}: {proc.stdout.strip()}")


if __name__ == "__main__":
    main(sys.argv[1:])
