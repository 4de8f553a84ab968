"""Generate the loan tape of the Industrial Bank 2014 green credit ABS replica.

The published facts (issuance report, 2014-09): RMB 3.494bn pool of 48 green corporate loans
to 38 borrowers in 16 industries (power and heat, ecological and environmental treatment...),
54.4% of the pool guaranteed; class A 2.76bn (WAL 0.69y), B 0.335bn (WAL 1.88y), subordinated
0.399bn (WAL 2.07y).  Loan-level data were not published, so this script draws a tape that is
consistent with them: short remaining terms (most loans repay within two years, a tail to
four), 2014 corporate lending rates around the PBoC benchmark (6.00% 1y, 6.15% 1-3y, 6.40%
3-5y), quarterly payments, equal-principal and bullet repayment.  Fixed seed: the same tape
every time.

Green categories and impact (added after the draws, so balances, terms and rates are those of
the first version of the tape).  Each loan carries the code of its industry's item in the Green
Bond Endorsed Projects Catalogue (2021 Edition) (``CATEGORIES``; the 2014 deal predates it, so
this is how the pool would be labelled today) and annual ICMA core indicators attributable to it
(``impact_*`` columns), assuming the loan's balance finances capacity at a 2014 unit cost
(``IMPACT``, illustrative assumptions, not published figures):

* solar PV 8,000 CNY/kW at 1,300 full-load hours a year; wind 8,000 CNY/kW at 1,900 h (the
  2014 national average was about 1,900 h); hydro 9,000 CNY/kW at 3,600 h: MWh a year =
  balance / (cost per MW) x hours (tCO2 avoided follow from the grid factor the user picks);
* sewage treatment 2,000 CNY per m3/day of capacity at an 80% load: m3 a year;
* waste incineration 400,000 CNY per t/day at an 85% load: t a year;
* energy-saving retrofit and power-and-heat (cogeneration) upgrades: 1 tCO2 a year avoided per
  2,500 CNY; flue-gas desulfurisation and gas supply: no ICMA core indicator;
* forestry 15,000 CNY per ha managed, sequestering 4 tCO2 per ha a year; ecological
  restoration 50,000 CNY per ha restored.

Other industries (rail transit, green building, water supply, equipment, recycling) report no
core indicator here.

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
CATEGORIES = {  # Green Bond Endorsed Projects Catalogue (2021) codes, see greenabs.taxonomy
    "power and heat supply": "3.1.1",  # efficient operation of energy systems
    "hydropower": "3.2.2",  # clean energy facilities
    "wind power": "3.2.2.1",
    "solar power": "3.2.2.2",
    "gas supply": "5.1.1",  # urban energy infrastructure (gas networks): an assumption
    "sewage treatment": "5.3.1.1",
    "solid waste treatment": "5.3.1.2",
    "flue-gas desulfurisation": "2.1.1",
    "resource recycling": "2.3.1",
    "energy-saving retrofit": "1.1.2",
    "environmental equipment": "1.3.1",
    "ecological restoration": "4.2.2",
    "forestry": "4.2.1",
    "water supply": "5.4",
    "urban rail transit": "5.5.1",
    "green building": "5.2.1",
}
# annual impact per CNY of balance, by industry (see the module docstring)
IMPACT: dict[str, dict[str, float]] = {
    "solar power": {"impact_mwh": 1300 / 8e6},
    "wind power": {"impact_mwh": 1900 / 8e6},
    "hydropower": {"impact_mwh": 3600 / 9e6},
    "sewage treatment": {"impact_m3_wastewater": 365 * 0.8 / 2000},
    "solid waste treatment": {"impact_t_waste": 365 * 0.85 / 4e5},
    "energy-saving retrofit": {"impact_tco2_avoided": 1 / 2500},
    "power and heat supply": {"impact_tco2_avoided": 1 / 2500},
    "forestry": {"impact_ha_managed": 1 / 15000, "impact_tco2_sequestered": 4 / 15000},
    "ecological restoration": {"impact_ha_managed": 1 / 50000},
}
IMPACT_COLUMNS = (
    "impact_mwh",
    "impact_tco2_avoided",
    "impact_m3_wastewater",
    "impact_t_waste",
    "impact_ha_managed",
    "impact_tco2_sequestered",
)
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
                **{
                    col: (
                        f"{balances[i] * IMPACT[ind][col]:.1f}"
                        if col in IMPACT.get(ind, {})
                        else ""
                    )
                    for col in IMPACT_COLUMNS
                },
            }
        )
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(__file__).with_name("ib_green_2014_tape.csv"))
