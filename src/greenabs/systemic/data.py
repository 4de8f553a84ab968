"""Indicator data: the fourteen indicators of the seed paper, and loading them honestly.

The catalogue (``CATALOGUE``) gives each indicator its dimension, unit, risk direction and the
transformation that turns the published series into a risk measure (shared reference
systemic_risk.md section 1.4, a documented design open to review; override it per call).  Data
come from CSV or Excel, wide (a period column and one column per indicator) or long
(``year|period, indicator, value[, unit, source, ...]``), at annual, quarterly or monthly
frequency.  Nothing is ever filled silently: missing values are reported and filled only by a
named method; money values given in RMB bn and USD bn for one indicator are converted to the
catalogue's currency with the file's annual average ``usdcny_avg`` (CNY per USD), and a file
that mixes units it cannot convert, or mixes frequencies, is refused naming the row.

Trending indicators enter as deviations from their Hodrick-Prescott trend (``hp_gap``): the
smoothing parameter follows Ravn and Uhlig (2002), ``lambda = 1600 (f/4)^4`` for ``f`` periods
a year (6.25 annual, 1600 quarterly, 129600 monthly; Hodrick and Prescott 1997 for 1600).
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
    "HP_LAMBDA",
    "Indicator",
    "IndicatorData",
    "annualised_volatility",
    "china_sample",
    "hp_gap",
    "load_ahp_matrix",
    "load_indicators",
]

DIMENSIONS = ("macro", "banking", "securities", "international")
Direction = Literal["+", "-"]
Transform = Literal["level", "yoy_change", "abs_deviation", "ratio", "hp_gap"]
Trend = Literal["two_sided", "one_sided"]

HP_LAMBDA = {"annual": 6.25, "quarterly": 1600.0, "monthly": 129600.0}
"""HP smoothing by frequency: Ravn and Uhlig (2002, Rev. Econ. Stat. 84(2)) ``1600 (f/4)^4``."""

PERIODS_PER_YEAR = {"annual": 1, "quarterly": 4, "monthly": 12}


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
    proxy: str = ""
    """What stands in for the paper's indicator, when the series is not the paper's own."""


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
            "hp_gap",
            note="deviation from its HP trend (growth fell from 25% to 3%): above trend = "
            "overheating",
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
        Indicator(
            "npl_ratio",
            "banking",
            "Commercial banks' NPL ratio",
            "%",
            "+",
            "hp_gap",
            note="deviation from its HP trend: the ratio breaks with the 2005-2008 state-bank "
            "carve-outs (7% before, under 2% after) and a stricter definition from 2018",
        ),
        Indicator(
            "car",
            "banking",
            "Commercial banks' capital adequacy ratio",
            "%",
            "-",
            "hp_gap",
            note="deviation from its HP trend (a rising trend and the 2013 rule change): "
            "below trend = riskier",
        ),
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
            note="relative to nominal GDP when given, else the deviation from its HP trend",
        ),
        Indicator(
            "fx_reserves",
            "international",
            "Foreign-exchange reserves (y/y)",
            "USD bn",
            "-",
            "yoy_change",
            proxy="the paper's 'foreign exchange a year earlier' is FX funds outstanding "
            "(waihui zhankuan, y/y); FX reserves stand in",
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
        Indicator(
            "trade_balance",
            "international",
            "Import-export balance",
            "USD bn",
            "-",
            "hp_gap",
            note="deviation from its HP trend: below trend = riskier",
        ),
        Indicator(
            "fdi",
            "international",
            "Foreign direct investment",
            "USD bn",
            "-",
            "hp_gap",
            note="deviation from its HP trend: below trend = riskier",
        ),
    )
}
"""The seed paper's fourteen indicators (its Fig. 4) in four dimensions."""

AUXILIARY = {"gdp_nominal", "sse_close", "usdcny_avg"}
"""Series accepted in data files to derive indicators (not indicators themselves);
``usdcny_avg`` (CNY per USD, period average) converts money values between RMB and USD."""

CURRENCIES = {"USD bn": "USD", "RMB bn": "RMB"}
"""Money units that :func:`load_indicators` converts into each other with ``usdcny_avg``."""

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


def hp_gap(x: pd.Series, lam: float, *, one_sided: bool = False, min_periods: int = 3) -> pd.Series:
    """Deviation of a series from its Hodrick-Prescott trend (the cycle, in the series' units).

    Two-sided (the default): statsmodels' ``hpfilter`` over the whole series.  One-sided: the
    value at ``t`` is the last point of the filter run on the data up to ``t`` (no look-ahead,
    as in the BIS credit gap), from the ``min_periods``-th observation on.  Missing values are
    skipped (the filter runs over the observed values in order) and stay missing; with fewer
    than ``min_periods`` observations the whole gap is missing.  The series is rescaled by a
    power of two around the filter (exact; the filter is linear), so large values do not
    overflow inside it.
    """
    from statsmodels.tsa.filters.hp_filter import hpfilter

    lam = float(lam)
    if not (math.isfinite(lam) and lam > 0):
        raise DataError("argument lam", Problem("", f"must be a positive number (got {lam!r})"))
    y = x.dropna().astype(float)
    out = pd.Series(np.nan, index=x.index, dtype=float)
    if len(y) < max(min_periods, 3):
        return out
    values = y.to_numpy()
    big = float(np.max(np.abs(values)))
    scale = math.ldexp(1.0, math.frexp(big)[1] - 1) if big > 0 else 1.0  # 2^1023 is finite
    v = values / scale
    with np.errstate(over="ignore", invalid="ignore"):
        if one_sided:
            start = max(min_periods, 3) - 1
            cycle = np.full(len(v), np.nan)
            for t in range(start, len(v)):
                cycle[t] = np.asarray(hpfilter(v[: t + 1], lamb=lam)[0])[-1]
        else:
            cycle = np.asarray(hpfilter(v, lamb=lam)[0], dtype=float)
        out.loc[y.index] = cycle * scale
    return out


@dataclass(frozen=True)
class IndicatorData:
    """Indicator values by period (rows) and name (columns), as loaded, with their units."""

    frame: pd.DataFrame
    frequency: str
    source: str
    units: dict[str, set[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

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
        self, catalogue: dict[str, Indicator] | None = None, *, trend: Trend = "two_sided"
    ) -> tuple[pd.DataFrame, list[str]]:
        """Indicators transformed and oriented (higher = riskier), with notes.

        Values that mix units are refused (convert them first); a ratio whose denominator is
        absent falls back to the deviation from the HP trend, with a note.  ``trend`` picks the
        two-sided or one-sided HP filter for the ``hp_gap`` indicators.
        """
        if trend not in ("two_sided", "one_sided"):
            raise DataError(
                "argument trend", Problem("", f"unknown trend {trend!r} (two_sided or one_sided)")
            )
        cat = catalogue or CATALOGUE
        lam = HP_LAMBDA.get(self.frequency, HP_LAMBDA["annual"])
        out = {}
        notes = list(self.notes)
        trended = False
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
                raise DataError(
                    self.source,
                    Problem(
                        f"column {name!r}",
                        f"values mix units ({', '.join(sorted(units))}): convert them to one "
                        "unit first",
                    ),
                )
            raw = self.frame[name].astype(float)
            s = raw
            # the inputs each value is computed from: where they are all given, the result
            # must be a finite number
            given = raw.notna()
            why = "overflows"
            gap = ind.transform == "hp_gap"
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
                        gap = True
                        notes.append(
                            f"{name}: {den} not available, the deviation from its HP trend is used"
                        )
            if gap:
                trended = True
                s = hp_gap(s, lam, one_sided=trend == "one_sided")
                given = given & s.notna()
                why = "its deviation from trend overflows"
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
        if trended:
            notes.append(
                f"trending indicators enter as deviations from a {trend.replace('_', '-')} HP "
                f"trend (lambda {lam:g}, Ravn and Uhlig 2002)"
            )
        return pd.DataFrame(out, index=self.frame.index), notes


def _frequency_of(label: str) -> str | None:
    """``annual`` (2024), ``quarterly`` (2024Q1) or ``monthly`` (2024-03); None otherwise."""
    if len(label) == 4 and label.isdigit():
        return "annual"
    if len(label) == 6 and label[:4].isdigit() and label[4] == "Q" and label[5] in "1234":
        return "quarterly"
    if (
        len(label) == 7
        and label[:4].isdigit()
        and label[4] == "-"
        and label[5:].isdigit()
        and 1 <= int(label[5:]) <= 12
    ):
        return "monthly"
    return None


def _check_frequencies(labels: list[tuple[str, str]], source: str) -> str:
    """The one frequency of the periods (label, where): a label that is no period, or one of
    another frequency than the first, is refused naming its row."""
    first: tuple[str, str, str] | None = None
    for label, where in labels:
        freq = _frequency_of(label)
        if freq is None:
            raise DataError(
                source,
                Problem(where, f"{label!r} is not a period (use 2024, 2024Q1 or 2024-03)"),
            )
        if first is None:
            first = (label, where, freq)
        elif freq != first[2]:
            raise DataError(
                source,
                Problem(
                    where,
                    f"{label!r} is {freq}, but {first[1]} ({first[0]!r}) is {first[2]}: one "
                    "frequency per file (put each frequency in a file of its own)",
                ),
            )
    return first[2] if first else "annual"


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


def _convert_currencies(
    records: dict[tuple[str, str], float],
    rows: dict[tuple[str, str], tuple[str, str]],
    source: str,
) -> tuple[dict[str, set[str]], list[str]]:
    """Money values of one indicator given in both RMB bn and USD bn are converted to the
    catalogue's currency with ``usdcny_avg`` of their period (CNY per USD); other mixes of
    units are refused, naming the row.  ``rows`` maps (period, name) to (unit, row label).
    Returns the units per indicator after conversion and a note per converted indicator."""
    by_name: dict[str, list[tuple[str, str]]] = {}
    for (period, name), (unit, _) in rows.items():
        if unit:
            by_name.setdefault(name, []).append((period, unit))
    units: dict[str, set[str]] = {}
    notes: list[str] = []
    for name, given in by_name.items():
        found = {u for _, u in given}
        if len(found) == 1:
            units[name] = found
            continue
        first_period, first_unit = given[0]
        odd = next((p, u) for p, u in given if u != first_unit)
        target = CATALOGUE[name].unit if name in CATALOGUE else ""
        if not (found <= set(CURRENCIES) and target in CURRENCIES):
            raise DataError(
                source,
                Problem(
                    rows[(odd[0], name)][1],
                    f"{name} is in {odd[1]!r} here but in {first_unit!r} in "
                    f"{rows[(first_period, name)][1]}: one unit per indicator (convert it first)",
                ),
            )
        converted = 0
        for period, unit in given:
            if unit == target:
                continue
            rate = records.get((period, "usdcny_avg"), math.nan)
            where = rows[(period, name)][1]
            if not (math.isfinite(rate) and rate > 0):
                raise DataError(
                    source,
                    Problem(
                        where,
                        f"{name} mixes currencies ({', '.join(sorted(found))}) and {period} has "
                        f"no positive usdcny_avg to convert this {unit} value to {target} (give "
                        "the rate, or convert the value)",
                    ),
                )
            v = records[(period, name)]
            records[(period, name)] = v / rate if target == "USD bn" else v * rate
            converted += 1
        units[name] = {target}
        notes.append(
            f"{name}: {converted} values converted to {target} at usdcny_avg (period average)"
        )
    return units, notes


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
    notes: list[str] = []
    if {"indicator", "value"} <= set(raw.columns):
        records: dict[tuple[str, str], float] = {}
        rows: dict[tuple[str, str], tuple[str, str]] = {}
        labels: list[tuple[str, str]] = []
        for i, row in raw.iterrows():
            line = int(str(i)) + 2
            name = str(row["indicator"]).strip()
            _known(name, f"row {line}, column indicator", source)
            where = f"row {line}, column {period_col}"
            period = _period(row[period_col], where, source)
            labels.append((period, where))
            if (period, name) in records:
                raise DataError(
                    source, Problem(f"row {line}", f"{name} for {period} is given twice")
                )
            records[(period, name)] = _numeric(row["value"], f"row {line}, column value", source)
            unit = str(row["unit"]).strip() if "unit" in raw.columns else ""
            rows[(period, name)] = (unit, f"row {line}, column unit")
        frequency = _check_frequencies(labels, source)
        units, notes = _convert_currencies(records, rows, source)
        frame = pd.Series(records, dtype=float).unstack()
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
        frequency = _check_frequencies(
            [(lab, f"row {i + 2}, column {period_col}") for i, lab in enumerate(periods)], source
        )
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
        frequency=frequency,
        source=source,
        units=units,
        notes=tuple(notes),
    )


SAMPLES = {
    "annual": "china_systemic_indicators.csv",
    "quarterly": "china_systemic_indicators_quarterly.csv",
}
"""The China samples shipped with greenabs, by frequency."""


def china_sample(frequency: str = "annual") -> IndicatorData:
    """The China sample shipped with greenabs: ``annual`` (2005-2024) or ``quarterly``
    (2005Q1-2024Q4), one sourced value a row (see ``greenabs/data/china_systemic_indicators*``
    and their ``source`` column); RMB values are converted to USD at the annual average rate."""
    if frequency not in SAMPLES:
        raise DataError(
            "argument frequency",
            Problem("", f"unknown frequency {frequency!r} (use {' or '.join(SAMPLES)})"),
        )
    ref = resources.files("greenabs.data").joinpath(SAMPLES[frequency])
    with resources.as_file(ref) as path:
        data = load_indicators(path)
    return IndicatorData(
        frame=data.frame,
        frequency=data.frequency,
        source="greenabs China sample (sourced values only)",
        units=data.units,
        notes=data.notes,
    )
