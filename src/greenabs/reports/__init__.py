"""Reports people read: a self-contained HTML page and a formatted Excel workbook of a run.

A report is a pure function of ``(kind, payload)``: the kind of run (one of :data:`KINDS`) and
its JSON payload (what the command writes with ``--json``, plus ``meta``: what produced it).
So ``--report``/``--xlsx`` on a command, ``greenabs report RUN_ID`` (a stored run) and the web
workbench show the same tables and charts::

    tables(kind, payload)  -> {name: DataFrame}   what the workbook's sheets and HTML hold
    figures(kind, payload) -> {name: plotly Figure}
    write_html(kind, payload, path) -> Path       self-contained, offline, well under 1.5 MB
    write_xlsx(kind, payload, path) -> Path       a formatted sheet per table, and ``meta``

Tables carry how their numbers read in ``DataFrame.attrs`` (:mod:`greenabs.reports.formats`).
See docs/reports.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from greenabs.errors import Problem, SpecError

__all__ = ["KINDS", "figures", "tables", "title", "write_html", "write_xlsx"]

KINDS = ("run", "pool", "rate", "size", "breakeven", "bank", "systemic")
"""The kinds of run a report is made of."""

Layout = Sequence[tuple[str, str | None, Sequence[str]]]

_LAYOUTS: dict[str, Layout] = {
    "run": (
        ("Deal and tranches", "structure", ("deal", "tranches", "prices")),
        ("Life cycle", "timeline", ("timeline", "structure")),
        ("Waterfall", "cash_waterfall", ("retention", "deal_cashflows")),
        ("Collections", "collections", ("pool_cashflows",)),
        ("Tranche balances", "tranche_balances", ()),
        ("Losses", "losses", ()),
        ("Pool composition", "composition", ("strat_type", "strat_category", "green")),
        ("Stratification", "stratification", ("concentration", "screening")),
        ("Collections by revenue leg", "collections_by_leg", ("collections",)),
        ("Green impact", "impact_per_year", ("impact", "emission_factor", "impact_per_year")),
    ),
    "pool": (
        ("Screening", None, ("screening", "negative_list")),
        ("Pool composition", "composition", ("strat_type", "strat_category", "green")),
        ("Stratification", "stratification", ("concentration",)),
        ("Collections by revenue leg", "collections_by_leg", ("collections",)),
        ("Green impact", "impact_per_year", ("impact", "emission_factor", "impact_per_year")),
    ),
    "rate": (
        ("Ratings", "ratings", ("rating",)),
        ("Loss distributions", "loss_distribution", ("pool", "loss_quantiles")),
        ("WAL", "wal", ("supports",)),
    ),
    "size": (
        ("Sizing", "sizing", ("sizing", "balances")),
        ("Ratings", "ratings", ("rating",)),
        ("Loss distributions", "loss_distribution", ("pool", "loss_quantiles")),
    ),
    "breakeven": (("Breakeven", None, ("breakeven",)),),
    "bank": (
        ("Before and after the deal", "ratios", ("breaches", "ratios")),
        ("The sale", None, ("transaction", "positions", "retained")),
        ("Interest-rate risk", "repricing_gap", ("repricing_gap", "irrbb")),
        ("OTH versus OTD", "projection", ("projection_compare", "projection_events")),
    ),
    "systemic": (
        ("Systemic-risk index", "index", ("index",)),
        ("Contributions", "contributions", ("notes",)),
        ("Weights", "weights", ("weights",)),
        ("Stress", None, ("stress", "deal_stress", "bank_stress", "signals")),
    ),
}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise SpecError(
            "<argument>",
            Problem("kind", f"unknown report kind {kind!r} (one of {', '.join(KINDS)})"),
        )
    return kind


def _check(kind: str, payload: Mapping[str, Any]) -> None:
    """A clear error when the payload is not what the kind's command writes."""
    need = {
        "run": ("deal", "tranches", "tranche_cashflows", "deal_cashflows"),
        "pool": ("screening", "stratification", "green", "impact", "collections"),
        "rate": ("rating", "pool"),
        "size": ("sizing", "balances"),
        "breakeven": ("breakeven",),
        "bank": ("bank", "date", "ratios", "repricing_gap"),
        "systemic": ("index",),
    }[kind]
    if not isinstance(payload, Mapping):
        raise SpecError("<argument>", Problem("payload", f"expected a mapping, got {payload!r}"))
    missing = [k for k in need if k not in payload]
    if missing:
        raise SpecError(
            "<argument>",
            Problem("payload", f"not a {kind} result: it lacks {', '.join(missing)}"),
        )


def _no_figures(payload: Mapping[str, Any]) -> dict[str, go.Figure]:
    return {}


def tables(kind: str, payload: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The report's tables by name (a sheet each in the workbook), in reading order."""
    from greenabs.reports import bank, pool, rate, run, systemic

    fn: dict[str, Callable[[Mapping[str, Any]], dict[str, pd.DataFrame]]] = {
        "run": run.run_tables,
        "pool": pool.pool_tables,
        "rate": rate.rate_tables,
        "size": rate.size_tables,
        "breakeven": systemic.breakeven_tables,
        "bank": bank.bank_tables,
        "systemic": systemic.systemic_tables,
    }
    _check(_kind(kind), payload)
    return fn[kind](payload)


def figures(kind: str, payload: Mapping[str, Any]) -> dict[str, go.Figure]:
    """The report's charts by name (plotly figures; in a notebook, display them)."""
    from greenabs.reports import bank, pool, rate, run, systemic

    fn: dict[str, Callable[[Mapping[str, Any]], dict[str, go.Figure]]] = {
        "run": run.run_figures,
        "pool": pool.pool_figures,
        "rate": rate.rate_figures,
        "size": rate.size_figures,
        "breakeven": _no_figures,
        "bank": bank.bank_figures,
        "systemic": systemic.systemic_figures,
    }
    _check(_kind(kind), payload)
    return fn[kind](payload)


def title(kind: str, payload: Mapping[str, Any]) -> str:
    """The report's heading: what was run, on what."""
    p = payload
    kind = _kind(kind)
    if kind == "run":
        name = str(p["deal"]["name"])
    elif kind == "pool":
        name = str(p["name"])
    elif kind in ("rate", "size"):
        name = str((p.get("meta") or {}).get("deal") or "Monte Carlo")
    elif kind == "breakeven":
        name = f"tranche {p['breakeven']['tranche']}"
    elif kind == "bank":
        name = f"{p['bank']} ({p['date']})"
    else:
        name = f"method {p['index']['method']}"
    what = {
        "run": "deal run",
        "pool": "pool analytics",
        "rate": "Monte Carlo rating",
        "size": "tranche sizing",
        "breakeven": "breakeven default",
        "bank": "bank",
        "systemic": "systemic-risk index",
    }[kind]
    return f"{name}: {what}"


def write_html(kind: str, payload: Mapping[str, Any], path: str | Path) -> Path:
    """Write the HTML report of a ``kind`` run's ``payload``; returns its path."""
    from greenabs.reports.html import page, write

    t = tables(kind, payload)
    f = figures(kind, payload)
    meta = payload.get("meta") or {}
    return write(path, page(title(kind, payload), meta, _LAYOUTS[kind], t, f))


def write_xlsx(kind: str, payload: Mapping[str, Any], path: str | Path) -> Path:
    """Write the Excel workbook of a ``kind`` run's ``payload``: a formatted sheet per table
    and a ``meta`` sheet; returns its path."""
    from greenabs.reports.xlsx import write_workbook

    return write_workbook(path, tables(kind, payload), payload.get("meta") or {})
