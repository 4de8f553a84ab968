"""Generate the loan tape of the Industrial Bank 2014 green credit ABS replica.

The published facts (issuance report, 2014-09): RMB 3.494bn pool of 48 green corporate loans
to 38 borrowers in 16 industries (power and heat, ecological and environmental treatment...),
54.4% of the pool guaranteed; class A 2.76bn (WAL 0.69y), B 0.335bn (WAL 1.88y), subordinated
0.399bn (WAL 2.07y).  Loan-level data were not published, so this script draws a tape that is
consistent with them: short remaining terms (most loans repay within two years, a tail to
four), 2014 corporate lending rates around the PBoC benchmark (6.00% 1y, 6.15% 1-3y, 6.40%
3-5y), quarterly payments, equal-principal and bullet repayment.  Fixed seed: the same tape
every time.

Run: python examples/make_ib_green_2014_tape.py  (writes examples/ib_green_2014_tape.csv)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

POOL = 3_494_000_000
N_LOANS, N_BORROWERS = 48, 38
INDUSTRIES = [
    "power and heat supply",
    "sewage treatment",
    "solid waste treatment",
    "hydropower",
    "wind power",
    "solar power",
    "energy-saving retrofit",
    "ecological restoration",
    "water supply",
    "gas supply",
    "urban rail transit",
    "green building",
    "forestry",
    "environmental equipment",
    "flue-gas desulfurisation",
    "resource recycling",
]
CATEGORIES = {
    "power and heat supply": "clean energy",
    "hydropower": "clean energy",
    "wind power": "clean energy",
    "solar power": "clean energy",
    "gas supply": "clean energy",
    "sewage treatment": "pollution prevention",
    "solid waste treatment": "pollution prevention",
    "flue-gas desulfurisation": "pollution prevention",
    "resource recycling": "resource recycling",
    "energy-saving retrofit": "energy saving",
    "environmental equipment": "energy saving",
    "ecological restoration": "ecological protection",
    "forestry": "ecological protection",
    "water supply": "green infrastructure",
    "urban rail transit": "green infrastructure",
    "green building": "green infrastructure",
}
REGIONS = ["Fujian", "Zhejiang", "Jiangsu", "Guangdong", "Shandong", "Sichuan", "Hubei", "Anhui"]


def main(out: Path) -> None:
    rng = np.random.default_rng(20140916)
    borrower_of_loan = np.concatenate(
        [np.arange(N_BORROWERS), rng.choice(N_BORROWERS, N_LOANS - N_BORROWERS)]
    )
    rng.shuffle(borrower_of_loan)
    industry_of_borrower = np.concatenate([np.arange(16), rng.choice(16, N_BORROWERS - 16)])
    sizes = rng.lognormal(mean=0.0, sigma=0.6, size=N_LOANS)
    balances = np.round(sizes / sizes.sum() * POOL, -4)
    balances[np.argmax(balances)] += POOL - balances.sum()
    # remaining terms in quarters: most within two years, a tail out to four
    remaining_q = rng.choice(
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        size=N_LOANS,
        p=[0.17, 0.19, 0.17, 0.13, 0.11, 0.09, 0.07, 0.05, 0.02],
    )
    offset = rng.integers(0, 3, size=N_LOANS)  # loans pay in different months of a quarter
    original_q = remaining_q + rng.integers(1, 8, size=N_LOANS)
    bullet = rng.random(N_LOANS) < 0.35
    rows = []
    for i in range(N_LOANS):
        oq, rq = int(original_q[i]), int(remaining_q[i])
        bench = 0.0600 if oq <= 4 else (0.0615 if oq <= 12 else 0.0640)
        rate = round(bench * rng.choice([0.95, 1.0, 1.05, 1.1, 1.15]), 4)
        ind = INDUSTRIES[industry_of_borrower[borrower_of_loan[i]]]
        rows.append(
            {
                "id": f"IB14-{i + 1:03d}",
                "type": "loan",
                "balance": f"{balances[i]:.2f}",
                "rate": f"{rate:.4f}",
                "original_term": 3 * oq,
                "age": 3 * (oq - rq) + int(offset[i]) - (2 if rq == 1 and offset[i] else 0),
                "amortization": "interest_only" if bullet[i] else "linear",
                "frequency": "quarterly",
                "obligor": f"Borrower {borrower_of_loan[i] + 1:02d}",
                "industry": ind,
                "region": REGIONS[borrower_of_loan[i] % len(REGIONS)],
                "green_category": CATEGORIES[ind],
            }
        )
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(__file__).with_name("ib_green_2014_tape.csv"))
