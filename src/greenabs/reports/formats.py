"""Report tables: DataFrames that know how their numbers read.

A table is a :class:`pandas.DataFrame` whose ``attrs`` say how to show it:

* ``attrs["title"]``: the heading (HTML) above it;
* ``attrs["formats"]``: column -> kind, one of :data:`KINDS`; a column of kind ``"row"``
  takes each row's kind from ``attrs["row_kinds"]`` (a key-value table mixing money, rates
  and dates in one ``value`` column).

Excel writes each kind as a number format (:data:`EXCEL`), HTML as text (:func:`show`).  Dates
are ``datetime.date`` cells; numbers stay numbers.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

__all__ = [
    "EXCEL",
    "KINDS",
    "cells",
    "chart_text",
    "column_kinds",
    "frame",
    "key_values",
    "kind_of",
    "show",
]

KINDS = ("money", "rate", "number", "integer", "decimal", "sci", "date", "text", "row")

EXCEL = {
    "money": "#,##0.00",
    "rate": "0.00%",
    "number": "#,##0.0000",
    "integer": "#,##0",
    "decimal": "0.00",
    "sci": "0.00E+00",
    "date": "yyyy-mm-dd",
}
"""Excel number format of each kind (text has none)."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_RATE_WORDS = (
    "rate",
    "ratio",
    "share",
    "coupon",
    "yield",
    "margin",
    "probability",
    "factor",
    "spread_rate",
    "average_excess_spread",
    "expected_loss",
    "expected_interest_shortfall",
    "var_99",
    "es_99",
    "lcr",
    "nsfr",
    "roe",
    "roa",
    "nim",
    "density",
    "coverage",
    "loan_to_deposit",
    "cost_income",
    "requirement",
    "credit_enhancement",
    "attachment",
    "detachment",
    "haircut",
    "weight",
    "sigma_roa",
    "cdr",
    "cpr",
)
_DECIMAL_WORDS = ("wal", "duration", "horizon_years", "remaining_term", "seconds")
_NUMBER_WORDS = (
    "price",
    "multiplier",
    "z_score",
    "hhi",
    "effective_obligors",
    "cv",
    "stress_level",
    "usefulness",
    "noise_to_signal",
    "composite",
    "threshold",
    "percentile",
    "shift",
    "correlation",
    "volatility",
    "degrees_of_freedom",
    "sensitivity",
)


def chart_text(text: object) -> str:
    """A name from a payload (a deal, tranche, fee, obligor, indicator...) as plain text in a
    chart: plotly reads trace names, labels, titles and annotations as HTML (``<a href>``
    becomes a link), so ``&``, ``<`` and ``>`` are written as entities it shows as
    written."""
    return html.escape(str(text), quote=False)


def _words(name: str) -> str:
    return name.lower().replace(" ", "_")


def kind_of(name: str, values: Iterable[Any]) -> str:
    """The kind of a column from its name and cells: dates, integers and text by their
    cells; a float column by its name (years and terms, plain numbers such as prices,
    correlations and indices, rates and shares; money otherwise)."""
    cells = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not cells:
        return "text"
    if all(isinstance(v, date) for v in cells):
        return "date"
    if all(isinstance(v, bool) for v in cells) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in cells
    ):
        return "text"
    w = _words(name)
    if w in ("period", "quarter", "n", "iterations", "scenarios", "count") or w.startswith("n_"):
        return "integer"
    if w.endswith("_difference") or w == "tolerance":
        return "sci"
    if any(k in w for k in _DECIMAL_WORDS):
        return "decimal"
    if any(k in w for k in _NUMBER_WORDS):
        return "number"
    if any(k in w for k in _RATE_WORDS):
        return "rate"
    if all(isinstance(v, int) for v in cells):
        return "integer"
    return "money"


def _cell(v: Any) -> Any:
    """A payload cell as a table cell: ``YYYY-MM-DD`` text as a date, ``None`` as missing."""
    if isinstance(v, str) and _DATE.match(v):
        return date.fromisoformat(v)
    return v


def frame(
    rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
    title: str,
    *,
    columns: Sequence[str] | None = None,
    formats: Mapping[str, str] | None = None,
    row_kinds: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A report table from records (or a frame): dates parsed, ``columns`` kept in order
    (all when ``None``), each column's kind from ``formats`` or :func:`kind_of`; columns of
    kind ``"row"`` take each row's kind from ``row_kinds``."""
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if columns is not None:
        df = df[[c for c in columns if c in df.columns]]
    df = df.apply(lambda s: s.map(_cell)) if len(df) else df
    given = dict(formats or {})
    df.attrs["title"] = title
    df.attrs["formats"] = {
        str(c): given.get(str(c)) or kind_of(str(c), df[c].tolist()) for c in df.columns
    }
    if row_kinds is not None:
        df.attrs["row_kinds"] = list(row_kinds)
    return df


def key_values(
    items: Mapping[str, Any], title: str, *, kinds: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """A two-column table (``item``, ``value``) of a flat mapping; nested mappings are
    flattened as ``outer.inner``, lists joined; each row's kind from ``kinds`` or
    :func:`kind_of` of its key."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, Mapping):
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), x)
        elif isinstance(v, list | tuple):
            flat[prefix] = ", ".join(str(x) for x in v)
        else:
            flat[prefix] = v

    walk("", items)
    given = dict(kinds or {})
    values = [_cell(v) for v in flat.values()]
    df = pd.DataFrame({"item": list(flat), "value": pd.Series(values, dtype=object)})
    df.attrs["title"] = title
    df.attrs["formats"] = {"item": "text", "value": "row"}
    df.attrs["row_kinds"] = [
        given.get(k) or kind_of(k.rsplit(".", 1)[-1].split(":")[0], [v])
        for k, v in zip(flat, values, strict=True)
    ]
    return df


def column_kinds(df: pd.DataFrame, *, guess: bool = False) -> list[str]:
    """Each column's kind from the table's ``formats``; a column without one is ``text``, or
    with ``guess`` the kind :func:`kind_of` reads from its name and values."""
    formats: Mapping[str, str] = df.attrs.get("formats", {})
    return [
        formats.get(str(c)) or (kind_of(str(c), df[c].tolist()) if guess else "text")
        for c in df.columns
    ]


def cells(df: pd.DataFrame, kinds: Sequence[str]) -> Iterator[list[tuple[Any, str]]]:
    """Each row's cells as (value, kind): a column of kind ``row`` takes the row's kind from
    the table's ``row_kinds`` (``text`` past them)."""
    row_kinds: Sequence[str] = df.attrs.get("row_kinds", [])
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        own = row_kinds[i] if i < len(row_kinds) else "text"
        yield [(v, own if k == "row" else k) for k, v in zip(kinds, row, strict=True)]


def show(v: Any, kind: str) -> str:
    """A cell as text, the way its kind reads (HTML)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if kind == "rate":
        return f"{v:.2%}" if abs(v) < 1e7 else f"{v * 100:.3e}%"
    if kind == "money":
        return f"{v:,.2f}" if abs(v) < 1e18 else f"{v:.6e}"
    if kind == "integer":
        return f"{v:,.0f}"
    if kind == "decimal":
        return f"{v:.2f}"
    if kind == "sci":
        return f"{v:.2e}"
    return f"{v:,.4f}" if abs(v) < 1e12 else f"{v:.4e}"
