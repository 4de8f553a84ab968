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
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from greenabs.errors import DataError, Problem
from greenabs.tables import ragged_row_problem, read_csv_cells

__all__ = [
    "CATALOGUE",
    "DIMENSIONS",
    "FILLS",
    "Indicator",
    "IndicatorData",
    "annualised_volatility",
    "china_sample",
    "load_ahp_matrix",
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
    try:
        values = np.asarray(closes.astype(float).to_numpy(), dtype=float)
    except (TypeError, ValueError, AttributeError):
        raise DataError("argument closes", Problem("", "needs a series of prices")) from None
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        where = str(closes.index[int(np.argmax(bad))])
        raise DataError(
            "argument closes",
            Problem(where, f"a close must be a positive number, got {values[bad][0]}"),
        )
    r = pd.Series(np.log(values), index=closes.index).diff()
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
            if name not in cat:
                raise DataError(
                    self.source, Problem(f"column {name!r}", "not in the indicator catalogue")
                )
            ind = cat[name]
            units = self.units.get(name, set())
            if len(units) > 1:
                notes.append(
                    f"{name}: excluded, values mix units ({', '.join(sorted(units))}); "
                    "convert them to one unit first"
                )
                continue
            raw = self.frame[name].astype(float)
            s = raw
            # the inputs each value is computed from: where they are all given, the result
            # must be a finite number
            given = raw.notna()
            why = "overflows"
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if ind.transform == "yoy_change":
                    prev = raw.shift(1)
                    s = (raw / prev - 1.0) * 100.0
                    given = given & prev.notna()
                    why = "year-on-year change from a zero (or too small) previous value"
                elif ind.transform == "abs_deviation":
                    s = (raw - (ind.target or 0.0)).abs()
                elif ind.transform == "ratio":
                    den = ind.ratio_to
                    if den and den in self.frame.columns and len(self.units.get(den, set())) <= 1:
                        d = self.frame[den].astype(float)
                        s = raw / d
                        given = given & d.notna()
                        why = f"ratio to {den} with a zero (or too small) {den}"
                    else:
                        notes.append(f"{name}: {den} not available, the level is used")
            bad = given & ~np.isfinite(s.to_numpy(dtype=float))
            if bad.any():
                period = str(self.frame.index[int(np.argmax(bad.to_numpy()))])
                raise DataError(
                    self.source,
                    Problem(
                        f"period {period}, column {name!r}",
                        f"the risk measure is not a finite number ({why})",
                    ),
                )
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
        return math.nan  # an empty cell: missing
    text = str(value).strip()
    if text == "":
        return math.nan
    try:
        v = float(text)
    except ValueError:
        raise DataError(source, Problem(where, f"not a number: {text!r}")) from None
    if not math.isfinite(v):
        raise DataError(
            source,
            Problem(
                where,
                f"not a finite number: {text!r} (leave the cell empty for a missing value)",
            ),
        )
    return v


def _period(value: object, where: str, source: str) -> str:
    label = "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
    text = str(label).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a year read as a number from Excel
        text = text[:-2]
    if not text:
        raise DataError(source, Problem(where, "empty period"))
    return text


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path, dtype=object)
        return read_csv_cells(path, comment="#")
    except FileNotFoundError:
        raise DataError(str(path), Problem("", "file not found")) from None
    except pd.errors.ParserError as exc:
        problem = ragged_row_problem(exc)
        reason = Problem("", f"cannot read the data ({exc})") if problem is None else problem
        raise DataError(str(path), reason) from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(str(path), Problem("", f"cannot read the data ({exc})")) from None
    except Exception as exc:  # a broken workbook: the Excel readers raise their own errors
        raise DataError(str(path), Problem("", f"cannot read the workbook ({exc})")) from None


def _ahp_cell(text: str, where: str, source: str) -> float:
    """A judgement: a number or a fraction such as ``1/3``."""
    num, sep, den = text.partition("/")
    try:
        value = float(num) / float(den) if sep else float(num)
    except ValueError:
        raise DataError(source, Problem(where, f"not a number or fraction: {text!r}")) from None
    except ZeroDivisionError:
        raise DataError(source, Problem(where, f"division by zero: {text!r}")) from None
    if not math.isfinite(value):
        raise DataError(source, Problem(where, f"not a finite number: {text!r}"))
    return value


def load_ahp_matrix(path: str | Path) -> np.ndarray:
    """A pairwise comparison matrix from a CSV file: one row per line, no header, cells as
    numbers or fractions (``1/3``); ``#`` starts a comment.  Errors name the file and the cell
    (1-based row and column).  The judgements themselves (positive, on Saaty's 1/9 to 9
    scale, reciprocal, ones on the diagonal) are checked here too, by cell."""
    from greenabs.systemic.core import check_judgements

    p = Path(path)
    source = str(p)
    try:
        frame = pd.read_csv(p, header=None, dtype=str, comment="#", keep_default_na=False)
    except FileNotFoundError:
        raise DataError(source, Problem("", "file not found")) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(source, Problem("", f"cannot read the matrix ({exc})")) from None
    rows, cols = frame.shape
    if rows != cols:
        raise DataError(
            source, Problem("", f"the matrix must be square, got {rows} rows and {cols} columns")
        )
    values = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            where = f"row {i + 1}, column {j + 1}"
            text = str(frame.iat[i, j]).strip()
            if not text:
                raise DataError(source, Problem(where, "empty cell"))
            values[i, j] = _ahp_cell(text, where, source)
    check_judgements(values, lambda i, j: f"row {i + 1}, column {j + 1}", source)
    return values


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
            period = _period(row[period_col], f"row {line}, column {period_col}", source)
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
        seen_cols: set[str] = set()
        for c in cols:
            _known(c, f"column {c!r}", source)
            if c in seen_cols:
                raise DataError(source, Problem(f"column {c!r}", "appears twice"))
            seen_cols.add(c)
        periods = [
            _period(v, f"row {i + 2}, column {period_col}", source)
            for i, v in enumerate(raw[period_col])
        ]
        first_row: dict[str, int] = {}
        for i, label in enumerate(periods):
            if label in first_row:
                raise DataError(
                    source,
                    Problem(
                        f"row {i + 2}, column {period_col}",
                        f"period {label} is given twice (rows {first_row[label]} and {i + 2})",
                    ),
                )
            first_row[label] = i + 2
        data = {
            c: [_numeric(v, f"row {i + 2}, column {c!r}", source) for i, v in enumerate(raw[c])]
            for c in cols
        }
        frame = pd.DataFrame(data, index=periods)
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
