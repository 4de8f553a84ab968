"""Benchmark setup: a 1,000,000-loan deal on a Parquet tape, for timing ``greenabs rate``.

Writes ``DIR/loans_N.parquet`` (the synthetic tape of ``examples/make_parquet_tape.py`` with
120-month level-pay loans) and ``DIR/deal.yaml`` (the five-class structure of
``bench_deal.py`` scaled to the pool, 2% CDR, a ``simulation`` section of 1,000 scenarios in
blocks of 50), then prints the command to time. Run:

    .venv/bin/python benchmarks/bench_million.py DIR [--loans 1000000]
    cd DIR && /usr/bin/time -v greenabs rate deal.yaml -q --json r.json

Target (issue "scale out"): 1,000,000 loans x 120 months x 1,000 scenarios under 10 minutes
on a 2-core machine with peak memory under 6 GiB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "examples"))
from bench_deal import make_deal  # noqa: E402
from make_parquet_tape import tape  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--loans", type=int, default=1_000_000)
    a = ap.parse_args()
    a.folder.mkdir(parents=True, exist_ok=True)
    loans = tape(a.loans)
    loans["original_term"] = 120
    loans["amortization"] = "level"
    name = f"loans_{a.loans}.parquet"
    loans.to_parquet(a.folder / name)
    pool = float(loans["balance"].sum())
    deal = make_deal(10)
    deal["name"] = f"Benchmark {a.loans:,} loans x 120 months (Parquet tape)"
    deal["pool"] = {"servicing_fee": 0.0025, "tape": name}
    deal["assumptions"]["default"] = {"cdr": 0.02}
    deal["simulation"] = {"scenarios": 1000, "seed": 1, "block_size": 50}
    tranches = deal["structure"]["tranches"]
    total = sum(t["balance"] for t in tranches)
    for t in tranches:
        t["balance"] = t["balance"] * pool / total * 0.999
    deal["structure"]["accounts"][0]["initial"] = pool * 0.005
    (a.folder / "deal.yaml").write_text(yaml.safe_dump(deal, sort_keys=False), encoding="utf-8")
    print(f"wrote {a.folder}/deal.yaml and {name}; time with:")
    print(f"  cd {a.folder} && /usr/bin/time -v greenabs rate deal.yaml -q --json r.json")


if __name__ == "__main__":
    main()
