"""Generate the receivable tape of the renewable-energy subsidy receivable example.

Modelled on China Resources Power's 2021 carbon-neutral green ABN (first issue RMB 2.005bn,
senior 2y at 3.2%; subsidy receivables of 72 wind and 2 PV projects; shared reference
green_assets.md C6) and the CTG deals (C4/C5).  Each project has one receivable per subsidy
year (2019 and 2020): generation x subsidy per kWh, owed by the Renewable Energy
Development Fund from the end of the first quarter after the year, and collected with a lag
of 12 to 30 months (2016 practice: 18-36 months from application).  Project-level data were
not published: capacities, hours and tariffs are drawn around public averages with a fixed
seed, then scaled so that the pool's face value is RMB 2.21bn.

Run: python examples/make_subsidy_tape.py  (writes examples/subsidy_receivables_tape.csv)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

FACE = 2_210_000_000
PROVINCES = [
    "Inner Mongolia",
    "Hebei",
    "Shanxi",
    "Gansu",
    "Xinjiang",
    "Yunnan",
    "Shandong",
    "Henan",
    "Hunan",
    "Guangxi",
]


def main(out: Path) -> None:
    rng = np.random.default_rng(2021)
    rows = []
    for p in range(74):
        solar = p >= 72
        mw = rng.uniform(20, 60) if solar else rng.choice([48, 49.5, 99, 148.5, 198])
        hours = rng.normal(1300, 120) if solar else rng.normal(2100, 250)
        subsidy = rng.uniform(0.35, 0.55) if solar else rng.uniform(0.12, 0.25)  # RMB/kWh
        province = PROVINCES[p % len(PROVINCES)]
        for year in (2019, 2020):
            amount = mw * 1000 * hours * subsidy  # kW x h x RMB/kWh
            rows.append(
                {
                    "id": f"{'PV' if solar else 'WF'}{p + 1:02d}-{year}",
                    "type": "receivable",
                    "balance": amount,
                    "due_date": f"{year + 1}-03-31",
                    "collection_lag_months": int(rng.integers(12, 31)),
                    "obligor": "Renewable Energy Development Fund",
                    "industry": "solar power" if solar else "wind power",
                    "region": province,
                    "green_category": "clean energy",
                }
            )
    scale = FACE / sum(r["balance"] for r in rows)
    for r in rows:
        r["balance"] = f"{r['balance'] * scale:.2f}"
    drift = FACE - sum(float(r["balance"]) for r in rows)
    rows[0]["balance"] = f"{float(rows[0]['balance']) + drift:.2f}"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(__file__).with_name("subsidy_receivables_tape.csv"))
