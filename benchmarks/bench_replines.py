"""Representative lines (``--rep-lines``): their approximation error and what they save.

On the synthetic tape of ``examples/make_parquet_tape.py`` (``--loans`` loans of mixed terms,
seasoning, amortisation and payment frequency, one obligor each; ``bench_million.py``'s
five-class deal at ``--cdr``, 6% by default, so that the mezzanine classes lose) this
runs, in this process:

1. the deterministic waterfall on the loans and on their lines: the largest difference in
   each tranche's WAL and yield, and in the pool's cash collected;
2. the Monte Carlo (``--scenarios``, the large-pool model) on the loans and on their lines:
   each tranche's expected loss, default probability and mean WAL, the pool's expected and
   99% loss: the aggregation error alone, on the same scenarios;
3. the Monte Carlo with loan-level default times (Gaussian copula): the granularity error
   that the large-pool model (which lines need) adds on top.

Run::

    .venv/bin/python benchmarks/bench_replines.py [--loans 100000] [--scenarios 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "examples"))
from bench_deal import make_deal  # noqa: E402
from make_parquet_tape import tape  # noqa: E402

import greenabs  # noqa: E402
from greenabs.montecarlo import monte_carlo, settings  # noqa: E402
from greenabs.replines import rep_lines  # noqa: E402
from greenabs.spec.io import parse_deal  # noqa: E402


def build(n: int, folder: Path, cdr: float) -> greenabs.DealSpec:
    loans = tape(n)
    loans["obligor"] = loans["id"]  # one loan, one obligor: the granular pool
    path = folder / f"loans_{n}.parquet"
    loans.to_parquet(path)
    pool = float(loans["balance"].sum())
    deal: dict[str, Any] = make_deal(10)
    deal["name"] = f"Rep-line error, {n:,} loans"
    deal["pool"] = {"servicing_fee": 0.0025, "tape": path.name}
    deal["assumptions"]["default"] = {"cdr": cdr}
    tranches = deal["structure"]["tranches"]
    total = sum(t["balance"] for t in tranches)
    for t in tranches:
        t["balance"] = t["balance"] * pool / total * 0.999
    deal["structure"]["accounts"][0]["initial"] = pool * 0.005
    return parse_deal(deal, "benchmark", base_dir=folder)


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=100_000)
    ap.add_argument("--scenarios", type=int, default=1000)
    ap.add_argument("--cdr", type=float, default=0.06, help="Annual default rate of the pool")
    ap.add_argument("--folder", type=Path, default=Path("/tmp/greenabs-replines"))
    a = ap.parse_args()
    a.folder.mkdir(parents=True, exist_ok=True)
    deal = build(a.loans, a.folder, a.cdr)
    lines, secs = timed(lambda: rep_lines(deal))
    print(f"{lines.loans:,} loans -> {lines.lines:,} lines in {secs:.2f} s")

    base, t_base = timed(lambda: greenabs.run(deal))
    rl, t_rl = timed(lambda: greenabs.run(lines.deal))
    print(f"\nDeterministic run: loans {t_base:.2f} s, lines {t_rl:.2f} s")
    tb, tl = base.tranches().set_index("name"), rl.tranches().set_index("name")
    for name in tb.index:
        b, r = tb.loc[name], tl.loc[name]
        dy = (r["yield"] - b["yield"]) * 1e4
        print(
            f"  {name:4s} WAL {b['wal']:.4f} vs {r['wal']:.4f} ({r['wal'] - b['wal']:+.4f} y), "
            f"yield {b['yield']:.5%} vs {r['yield']:.5%} ({dy:+.2f} bp)"
        )
    cash_b = base.summary()["cash_collected"]
    cash_r = rl.summary()["cash_collected"]
    print(f"  pool cash collected: {(cash_r - cash_b) / cash_b:+.3e} relative")

    large = settings(deal, scenarios=a.scenarios, seed=1, default_model={"large_pool": True})
    with_lines = settings(
        deal,
        scenarios=a.scenarios,
        seed=1,
        default_model={"large_pool": True},
        rep_lines={},
    )
    copula = settings(deal, scenarios=a.scenarios, seed=1)
    runs = {}
    for label, sim in (
        ("loans, large pool", large),
        ("lines, large pool", with_lines),
        ("loans, copula", copula),
    ):
        runs[label], secs = timed(lambda sim=sim: monte_carlo(deal, sim))
        print(f"\nMonte Carlo, {label}: {secs:.2f} s for {a.scenarios:,} scenarios")
    rows = {label: mc.rating() for label, mc in runs.items()}
    pools = {label: mc.pool_summary() for label, mc in runs.items()}
    print("\ntranche  EL (loans LP / lines LP / loans copula)      PD (same)")
    for i, name in enumerate(r["name"] for r in rows["loans, large pool"]):
        el = [rows[k][i]["expected_loss"] for k in rows]
        pd_ = [rows[k][i]["default_probability"] for k in rows]
        els = " / ".join(f"{v:.4%}" for v in el)
        pds = " / ".join(f"{v:.2%}" for v in pd_)
        print(f"  {name:4s} {els}    {pds}")
    for k, p in pools.items():
        print(f"  pool {k}: EL {p['expected_loss']:.4%}, 99% {p['var_99']:.4%}")
    lp = runs["loans, large pool"].tranches["principal_loss"].to_numpy()
    ln = runs["lines, large pool"].tranches["principal_loss"].to_numpy()
    diff = np.abs(ln - lp) / deal.pool.balance
    print(
        f"\nper scenario and tranche, |principal loss (lines - loans)| / pool: max {diff.max():.2e}"
    )


if __name__ == "__main__":
    main()
