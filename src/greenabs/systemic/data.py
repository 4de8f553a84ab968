"""Indicator data: the fourteen indicators of the seed paper, and loading them honestly.

The catalogue (``CATALOGUE``) gives each indicator its dimension, unit, risk direction and the
transformation that turns the published series into a risk measure (shared reference
systemic_risk.md section 1.4, a documented design open to review; override it per call).  Data
come from CSV or Excel, wide (a period column and one column per indicator) or long
(``year|period, indicator, value[, unit, source, ...]``), at annual, quarterly or monthly
frequency.  Nothing is ever filled silently: missing values are reported and filled only by a
named method; indicators whose units mix (e.g. USD bn and RMB bn) or whose coverage is too
low are excluded with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from greenabs.errors import DataError, Problem

__all__ = [
    "CATALOGUE",
    "DIMENSIONS",
    "FILLS",
    "Indicator",
    "IndicatorData",
    "annualised_volatility",
    "china_sample",
    "load_indicators",
]

DIMENSIONS = ("macro", "banking", "securities", "international")
Direction = Literal["+", "-"]
Transform = Literal["level", "yoy_change", "abs_deviation", "ratio"]


@dataclass(frozen=True)
class Indicator:
    """One indicator: where it sits, what it measures and how it becomes a risk measure."""

    name: str
    dimension: str
    label: str
    unit: str
    direction: Direction
    transform: Transform = "level"
    target: float | None = None
    ratio_to: str | None = None
    note: str = ""


CATALOGUE: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator("macro_climate_index", "macro", "Macroeconomic climate index", "index", "-"),
        Indicator("gdp_growth", "macro", "GDP growth", "%", "-"),
        Indicator(
            "fai_growth",
            "macro",
            "Fixed-asset investment growth",
            "%",
            "+",
            note="overheating reading; two-sided in some studies",
        ),
        Indicator(
            "cpi",
            "macro",
            "CPI inflation",
            "%",
            "+",
            "abs_deviation",
            target=3.0,
            note="distance from a 3% target, so deflation and inflation both add risk",
        ),
        Indicator(
            "rrr_large",
            "banking",
            "Reserve requirement ratio (large banks)",
            "%",
            "+",
            note="ambiguous: a policy response; taken as tightening = more stress",
        ),
        Indicator("npl_ratio", "banking", "Commercial banks' NPL ratio", "%", "+"),
        Indicator("car", "banking", "Commercial banks' capital adequacy ratio", "%", "-"),
        Indicator("sse_pe", "securities", "Shanghai average price-earnings ratio", "x", "+"),
        Indicator("sse_volatility", "securities", "Shanghai Composite volatility", "%", "+"),
        Indicator(
            "stock_market_cap",
            "securities",
            "Stock market value",
            "RMB bn",
            "+",
            "ratio",
            ratio_to="gdp_nominal",
            note="relative to nominal GDP when given",
        ),
        Indicator(
            "fx_reserves",
            "international",
            "Foreign-exchange reserves (y/y)",
            "USD bn",
            "-",
            "yoy_change",
        ),
        Indicator(
            "st_external_debt",
            "international",
            "Short-term external debt",
            "USD bn",
            "+",
            "ratio",
            ratio_to="fx_reserves",
            note="relative to FX reserves",
        ),
        Indicator("trade_balance", "international", "Import-export balance", "USD bn", "-"),
        Indicator("fdi", "international", "Foreign direct investment", "USD bn", "-"),
    )
}
"""The seed paper's fourteen indicators (its Fig. 4) in four dimensions."""

AUXILIARY = {"gdp_nominal", "sse_close"}
"""Series accepted in data files to derive indicators (not indicators themselves)."""

FILLS = ("ffill", "bfill", "interpolate", "mean")
"""Named fill methods; without one, periods with a missing value are left out and reported."""


def annualised_volatility(
    closes: pd.Series, periods: pd.Series | None = None, days_per_year: int = 252
) -> pd.Series:
    """Annualised volatility of daily closes per period: sd of log returns x sqrt(days).

    ``periods`` labels each close (e.g. its year); without it one value for the whole series.
    """
    r = pd.Series(np.log(closes.astype(float).to_numpy()), index=closes.index).diff()
    if periods is None:
        return pd.Series([float(r.std() * math.sqrt(days_per_year))])
    out: pd.Series = r.groupby(periods.to_numpy()).std() * math.sqrt(days_per_year)
    return out


@dataclass(frozen=True)
class IndicatorData:
    """Indicator values by period (rows) and name (columns), as loaded, with their units."""

    frame: pd.DataFrame
    frequency: str
    source: str
    units: dict[str, set[str]] = field(default_factory=dict)

    def missing(self) -> pd.DataFrame:
        """Per indicator: how many periods are missing, and which."""
        rows = []
        for c in self.frame.columns:
            miss = self.frame.index[self.frame[c].isna()].tolist()
            rows.append(
                {
                    "indicator": c,
                    "n_periods": len(self.frame),
                    "missing": len(miss),
                    "missing_periods": ", ".join(map(str, miss)),
                }
            )
        return pd.DataFrame(rows)

    def risk_measures(
        self, catalogue: dict[str, Indicator] | None = None
    ) -> tuple[pd.DataFrame, list[str]]:
        """Indicators transformed and oriented (higher = riskier), with notes on exclusions.

        Indicators whose values mix units are excluded (convert them first); a ratio whose
        denominator is absent falls back to the level, with a note.
        """
        cat = catalogue or CATALOGUE
        out = {}
        notes = []
        for name in self.frame.columns:
            if name in AUXILIARY:
                continue
            ind = cat[name]
            units = self.units.get(name, set())
            if len(units) > 1:
                notes.append(
                    f"{name}: excluded, values mix units ({', '.join(sorted(units))}); "
                    "convert them to one unit first"
                )
                continue
            s = self.frame[name].astype(float)
            if ind.transform == "yoy_change":
                s = s.pct_change(fill_method=None) * 100.0
            elif ind.transform == "abs_deviation":
                s = (s - (ind.target or 0.0)).abs()
            elif ind.transform == "ratio":
                den = ind.ratio_to
                if den and den in self.frame.columns and len(self.units.get(den, set())) <= 1:
                    s = s / self.frame[den].astype(float)
                else:
                    notes.append(f"{name}: {den} not available, the level is used")
            out[name] = s if ind.direction == "+" else -s
        return pd.DataFrame(out, index=self.frame.index), notes


def _frequency(labels: list[str]) -> str:
    if all(lab.isdigit() and len(lab) == 4 for lab in labels):
        return "annual"
    if all(len(lab) == 6 and lab[4] == "Q" for lab in labels):
        return "quarterly"
    if all(len(lab) == 7 and lab[4] == "-" for lab in labels):
        return "monthly"
    return "irregular"


def _numeric(value: object, where: str, source: str) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    text = str(value).strip()
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise DataError(source, Problem(where, f"not a number: {text!r}")) from None


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path, dtype=object)
        return pd.read_csv(
            path, dtype=str, comment="#", keep_default_na=False, skipinitialspace=True
        )
    except FileNotFoundError:
        raise DataError(str(path), Problem("", "file not found")) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(str(path), Problem("", f"cannot read the data ({exc})")) from None


def _known(name: str, where: str, source: str) -> None:
    if name not in CATALOGUE and name not in AUXILIARY:
        raise DataError(
            source,
            Problem(
                where,
                f"unknown indicator {name!r} (known: "
                f"{', '.join([*CATALOGUE, *sorted(AUXILIARY)])})",
            ),
        )


def load_indicators(path: str | Path) -> IndicatorData:
    """Indicator data from a CSV or Excel file, wide or long (see the module docstring)."""
    p = Path(path)
    raw = _read(p)
    raw.columns = [str(c).strip() for c in raw.columns]
    source = str(p)
    period_col = next(
        (c for c in ("period", "year", "date", "quarter", "month") if c in raw.columns), None
    )
    if period_col is None:
        raise DataError(
            source, Problem("", "no period column (period, year, date, quarter or month)")
        )
    if raw.empty:
        raise DataError(source, Problem("", "the file has no rows"))
    units: dict[str, set[str]] = {}
    if {"indicator", "value"} <= set(raw.columns):
        records: dict[tuple[str, str], float] = {}
        for i, row in raw.iterrows():
            line = int(str(i)) + 2
            name = str(row["indicator"]).strip()
            _known(name, f"row {line}, column indicator", source)
            period = str(row[period_col]).strip()
            if (period, name) in records:
                raise DataError(
                    source, Problem(f"row {line}", f"{name} for {period} is given twice")
                )
            records[(period, name)] = _numeric(row["value"], f"row {line}, column value", source)
            if "unit" in raw.columns and str(row["unit"]).strip():
                units.setdefault(name, set()).add(str(row["unit"]).strip())
        frame = pd.Series(records).unstack()
    else:
        cols = [c for c in raw.columns if c != period_col]
        for c in cols:
            _known(c, f"column {c!r}", source)
        data = {
            c: [_numeric(v, f"row {i + 2}, column {c!r}", source) for i, v in enumerate(raw[c])]
            for c in cols
        }
        frame = pd.DataFrame(data, index=[str(v).strip() for v in raw[period_col]])
    frame = frame.sort_index()
    frame.index.name = "period"
    return IndicatorData(
        frame=frame.astype(float),
        frequency=_frequency(list(frame.index)),
        source=source,
        units=units,
    )


def china_sample() -> IndicatorData:
    """The China sample shipped with greenabs (annual, 2005-2024, one sourced value a row;
    see ``greenabs/data/china_systemic_indicators.csv`` and its sources column)."""
    ref = resources.files("greenabs.data").joinpath("china_systemic_indicators.csv")
    with resources.as_file(ref) as path:
        data = load_indicators(path)
    return IndicatorData(
        frame=data.frame,
        frequency=data.frequency,
        source="greenabs China sample (sourced values only)",
        units=data.units,
    )
