"""Build greenabs' default rating table, ``src/greenabs/data/rating_table_greenabs.csv``, from
Moody's published cumulative default rates (docs/rating.md explains every step).

Run from the repository root:

    .venv/bin/python scripts/build_rating_table.py           # write the table
    .venv/bin/python scripts/build_rating_table.py --check   # exit 1 if the shipped file differs

Sources, both in one document: Moody's Investors Service, Global Credit Policy, Special Comment,
"Corporate Default and Recovery Rates, 1920-2008", February 2009 (K. Emery, S. Ou, J. Tennant,
A. Matos, R. Cantor).

- PD: Exhibit 41, "Average Cumulative Issuer-Weighted Global Default Rates by Alphanumeric
  Rating, 1983-2008", years 1-10, rows Aaa to Ca-C (percent; the cells below were read from two
  independent text copies of the report that agree cell for cell).
- LGD: Exhibit 5, "Average Corporate Debt Recovery Rates Measured by Post-Default Trading
  Prices", bonds, senior unsecured, issuer-weighted, 1982-2008: 36.4% recovery, so a loss given
  default of 63.6%.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from greenabs.rating import COLUMNS, MIN_LOG_ODDS_STEP, monotone_default_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "greenabs" / "data" / "rating_table_greenabs.csv"

HORIZONS = tuple(float(y) for y in range(1, 11))

# Moody's 1983-2008 Exhibit 41, percent, years 1 to 10, with greenabs' symbol for each row.
EXHIBIT_41: tuple[tuple[str, str, tuple[float, ...]], ...] = (
    ("Aaa", "AAA", (0.000, 0.016, 0.016, 0.049, 0.088, 0.136, 0.188, 0.193, 0.193, 0.193)),
    ("Aa1", "AA+", (0.000, 0.000, 0.000, 0.094, 0.141, 0.159, 0.159, 0.159, 0.159, 0.159)),
    ("Aa2", "AA", (0.000, 0.010, 0.042, 0.104, 0.201, 0.245, 0.294, 0.350, 0.412, 0.483)),
    ("Aa3", "AA-", (0.038, 0.118, 0.174, 0.246, 0.319, 0.370, 0.402, 0.417, 0.420, 0.468)),
    ("A1", "A+", (0.018, 0.154, 0.366, 0.544, 0.692, 0.793, 0.868, 0.935, 0.997, 1.076)),
    ("A2", "A", (0.026, 0.092, 0.244, 0.445, 0.639, 0.891, 1.230, 1.615, 1.955, 2.209)),
    ("A3", "A-", (0.032, 0.151, 0.318, 0.463, 0.714, 0.997, 1.203, 1.432, 1.660, 1.799)),
    ("Baa1", "BBB+", (0.135, 0.357, 0.622, 0.867, 1.091, 1.289, 1.547, 1.730, 1.859, 2.088)),
    ("Baa2", "BBB", (0.139, 0.426, 0.796, 1.367, 1.850, 2.317, 2.756, 3.178, 3.666, 4.292)),
    ("Baa3", "BBB-", (0.291, 0.816, 1.459, 2.129, 2.926, 3.741, 4.463, 5.189, 5.859, 6.520)),
    ("Ba1", "BB+", (0.682, 1.862, 3.363, 4.857, 6.280, 7.789, 8.889, 9.649, 10.346, 11.120)),
    ("Ba2", "BB", (0.728, 2.066, 3.760, 5.608, 7.230, 8.425, 9.661, 11.006, 12.330, 13.365)),
    ("Ba3", "BB-", (1.791, 4.954, 8.873, 12.932, 16.209, 19.227, 22.017, 24.755, 27.188, 29.601)),
    ("B1", "B+", (2.450, 6.800, 11.358, 15.361, 19.513, 23.576, 27.853, 31.305, 34.187, 36.717)),
    ("B2", "B", (3.827, 9.116, 14.386, 19.204, 23.232, 27.013, 30.514, 33.495, 36.607, 39.110)),
    ("B3", "B-", (7.666, 15.138, 22.336, 28.744, 34.261, 39.643, 44.081, 48.016, 50.948, 53.684)),
    (
        "Caa1",
        "CCC+",
        (9.150, 18.763, 28.028, 35.629, 42.389, 46.914, 49.140, 51.686, 57.028, 62.344),
    ),
    (
        "Caa2",
        "CCC",
        (16.388, 25.807, 32.990, 38.799, 41.983, 45.823, 48.900, 51.959, 55.997, 61.737),
    ),
    (
        "Caa3",
        "CCC-",
        (24.806, 36.604, 43.417, 49.310, 55.959, 57.672, 60.527, 64.744, 70.661, 82.018),
    ),
    (
        "Ca-C",
        "CC",
        (32.949, 44.297, 53.255, 58.406, 63.932, 66.489, 70.337, 74.990, 74.990, 74.990),
    ),
)

RECOVERY_SENIOR_UNSECURED_BONDS = 0.364  # Exhibit 5, issuer-weighted, 1982-2008
LGD = 1.0 - RECOVERY_SENIOR_UNSECURED_BONDS

SOURCE = (
    'Moody\'s Investors Service, "Corporate Default and Recovery Rates, 1920-2008" (Special '
    "Comment, February 2009): PD from Exhibit 41 (average cumulative issuer-weighted global "
    "default rates by alphanumeric rating, 1983-2008, years 1-10); LGD "
    f"{LGD:.3f} = 1 - 36.4% average senior unsecured bond recovery (Exhibit 5, issuer-weighted, "
    "post-default trading prices, 1982-2008)"
)

HEADER = f"""\
# name: greenabs default
# source: {SOURCE}
# vintage: Moody's 1983-2008 cohort (Feb 2009 study), greenabs construction 2026-11
# Built by scripts/build_rating_table.py; docs/rating.md explains it.  Moody's rows are given
# greenabs' symbols (Aaa AAA, Aa1 AA+, Aa2 AA, Aa3 AA-, A1 A+ ... Baa3 BBB-, Ba1 BB+ ... B3 B-,
# Caa1 CCC+, Caa2 CCC, Caa3 CCC-, Ca-C CC).  PD: (1) running maximum along each row; (2) zeros
# before a row's first positive cell filled linearly in years from 0; (3) down the scale each
# cell raised to at least the cell above plus ln(1.1) in log-odds; (4) a row's year-10 cell
# raised so its year 9-10 hazard is at least the row above's.  EL = PD x LGD.
# These are historical corporate default rates, not an agency's idealised structured-finance
# targets.  Decimals, not percent.
"""


def build() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The scale, the PD table and the EL table (decimals, rounded to 12 places)."""
    scale = tuple(symbol for _, symbol, _ in EXHIBIT_41)
    raw = np.array([cells for _, _, cells in EXHIBIT_41]) / 100.0
    pd_table = np.round(monotone_default_table(raw, HORIZONS, MIN_LOG_ODDS_STEP), 12)
    return scale, pd_table, np.round(pd_table * LGD, 12)


def render() -> str:
    """The CSV text of the table."""
    scale, pd_table, el_table = build()
    lines = [",".join(COLUMNS)]
    for i, symbol in enumerate(scale):
        for j, years in enumerate(HORIZONS):
            lines.append(f"{symbol},{years:g},{float(pd_table[i, j])!r},{float(el_table[i, j])!r}")
    return HEADER + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file")
    args = parser.parse_args()
    text = render()
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT}: {'up to date' if same else 'differs from the build'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
