"""The bank's report, from ``greenabs bank --json``: its ratios, the deal's effect on them
(before and after, each ratio on its own scale), the repricing gap, and originate-to-hold
versus originate-to-distribute over time."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.reports.formats import chart_text, frame, key_values, kind_of

__all__ = ["IMPACT_RATIOS", "PROJECTION_PANELS", "bank_figures", "bank_tables"]

IMPACT_RATIOS = (
    ("cet1_ratio", "CET1 ratio", "cet1_requirement"),
    ("total_capital_ratio", "Total capital ratio", None),
    ("leverage_ratio", "Leverage ratio", None),
    ("lcr", "LCR", None),
    ("nsfr", "NSFR", None),
    ("npl_ratio", "NPL ratio", None),
    ("roe", "ROE", None),
    ("fee_share", "Fee share of income", None),
    ("rwa_density", "RWA density", None),
)
"""Ratios drawn before and after the deal: key, label, the key of its regulatory minimum."""

PROJECTION_PANELS = (
    ("cet1_ratio", "CET1 ratio", ".1%"),
    ("total_capital_ratio", "Total capital ratio", ".1%"),
    ("lcr", "LCR", ".1%"),
    ("nsfr", "NSFR", ".1%"),
    ("roe", "ROE", ".1%"),
    ("fee_share", "Fee share of income", ".1%"),
    ("rwa_density", "RWA density", ".1%"),
    ("z_score", "Z-score (higher is safer)", ".1f"),
    ("liquidity_creation_ratio", "Liquidity creation / assets", ".1%"),
)
"""OTH versus OTD panels: the ratios behind the paper's mechanisms."""


def bank_tables(p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """``ratios`` (now; after the deal, the change and why, with ``--deal``),
    ``repricing_gap``, ``breaches`` (regulatory minimums), ``irrbb`` (rate shocks),
    ``transaction`` and ``positions`` (with a deal), ``projection``, ``projection_compare``
    and ``projection_events`` (with a horizon)."""
    now = p["ratios"]
    tr = p.get("transaction")
    if tr:
        rows = [
            {
                "metric": r["metric"],
                "before": r["before"],
                "after": r["after"],
                "change": r["change"],
                "why": r["why"],
            }
            for r in tr["table"]
        ]
    else:
        rows = [{"metric": k, "now": v} for k, v in now.items()]
    kinds = [kind_of(r["metric"], [1.0]) for r in rows]
    title = f"{p['bank']} ({p['date']}): ratios" + (" before and after the deal" if tr else "")
    out = {
        "ratios": frame(
            rows,
            title,
            formats={c: "row" for c in ("now", "before", "after", "change")},
            row_kinds=kinds,
        ),
        "repricing_gap": frame(p["repricing_gap"], "Repricing gap"),
    }
    checks = [("now", p.get("breaches"))]
    if tr:
        checks.append(("after the deal", tr.get("after_breaches")))
    if any(b is not None for _, b in checks):
        out["breaches"] = frame(
            [
                {"when": when, "breach": text}
                for when, found in checks
                if found is not None
                for text in (found or ["all regulatory minimums met"])
            ],
            "Regulatory minimums",
        )
    if p.get("irrbb"):
        out["irrbb"] = frame(
            p["irrbb"],
            "Interest-rate shocks (IRRBB): change in economic value and net interest income",
            formats={"delta_eve_tier1": "rate"},
        )
    if tr:
        d = tr.get("details") or {}
        scalars = {k: v for k, v in d.items() if not isinstance(v, list | dict)}
        out["transaction"] = key_values(
            {"gain": tr["gain"], "derecognised": tr["derecognised"], "srt": tr["srt"], **scalars},
            "The sale: gain, derecognition, significant risk transfer",
            kinds={
                k: "rate"
                for k in ("variability_retained", "substantially_all", "srt_measure", "srt_limit")
            },
        )
        if d.get("positions"):
            out["positions"] = frame(d["positions"], "Positions in the deal (capital)")
        if tr.get("retained"):
            out["retained"] = frame(tr["retained"], "Retained positions")
    if p.get("projection"):
        out["projection"] = frame(p["projection"], "OTH versus OTD by quarter")
    if p.get("projection_compare"):
        cmp_rows = p["projection_compare"]
        out["projection_compare"] = frame(
            cmp_rows,
            "OTH versus OTD at the horizon",
            formats={c: "row" for c in ("today", "OTH", "OTD", "OTD - OTH")},
            row_kinds=[
                "integer" if r["metric"] == "quarter" else kind_of(r["metric"], [1.0])
                for r in cmp_rows
            ],
        )
    if p.get("projection_events"):
        out["projection_events"] = frame(p["projection_events"], "Projection events")
    return out


def impact_figure(p: Mapping[str, Any]) -> go.Figure:
    """Key ratios before and after the deal, each in its own panel on its own scale (from 0
    to a little above the larger value), its regulatory minimum dashed where the bank file
    gives one; without a deal, the ratios now. A ratio with no value after the deal (``None``:
    not a number in the run) is drawn as no bar, labelled "n/a"."""
    tr = p.get("transaction")
    before = p["ratios"]
    after = tr["after_ratios"] if tr else None
    keys = [k for k in IMPACT_RATIOS if before.get(k[0]) is not None]
    cols = 3
    n_rows = max(math.ceil(len(keys) / cols), 1)
    fig = make_subplots(
        rows=n_rows,
        cols=cols,
        subplot_titles=[k[1] for k in keys],
        horizontal_spacing=0.08,
        vertical_spacing=0.14,
    )
    for i, (key, _label, floor) in enumerate(keys):
        r, c = divmod(i, cols)
        x = ["before", "after"] if after else ["now"]
        y = [before[key], after.get(key)] if after else [before[key]]
        fig.add_trace(
            go.Bar(
                x=x,
                y=y,
                marker_color=["#90a4ae", "#2e7d32"][: len(x)],
                text=["n/a" if v is None else f"{v:.2%}" for v in y],
                textposition="outside",
                name=key,
                showlegend=False,
            ),
            row=r + 1,
            col=c + 1,
        )
        known = [v for v in y if v is not None]
        top = max([abs(v) for v in known] + [abs(before.get(floor) or 0.0) if floor else 0.0])
        low = min([*known, 0.0])
        if floor and before.get(floor) is not None:
            fig.add_hline(
                y=before[floor],
                line_dash="dash",
                line_color="#c62828",
                annotation_text="minimum",
                row=r + 1,
                col=c + 1,
            )
        fig.update_yaxes(
            tickformat=".1%",
            range=[low * 1.25, top * 1.25 if top > 0 else 1.0],
            row=r + 1,
            col=c + 1,
        )
    fig.update_layout(
        title="The bank before and after the securitisation (each ratio on its own scale)"
        if after
        else "The bank's ratios",
        height=300 * n_rows,
    )
    return fig


def projection_figure(p: Mapping[str, Any]) -> go.Figure:
    """OTH versus OTD, quarter by quarter, for the ratios behind the paper's mechanisms."""
    rows = p["projection"]
    fig = make_subplots(rows=3, cols=3, subplot_titles=[q[1] for q in PROJECTION_PANELS])
    for i, (col, _, fmt) in enumerate(PROJECTION_PANELS):
        r, c = divmod(i, 3)
        for model, colour in (("OTH", "#1565c0"), ("OTD", "#ef6c00")):
            mine = [x for x in rows if x["model"] == model]
            fig.add_scatter(
                x=[x["quarter"] for x in mine],
                y=[x.get(col) for x in mine],
                name=model,
                line={"color": colour},
                legendgroup=model,
                showlegend=i == 0,
                row=r + 1,
                col=c + 1,
            )
        fig.update_yaxes(tickformat=fmt, row=r + 1, col=c + 1)
    fig.update_xaxes(title_text="quarter", row=3)
    fig.update_layout(
        title="Originate-to-hold versus originate-to-distribute (quarters)", height=900
    )
    return fig


def _gap_figure(p: Mapping[str, Any]) -> go.Figure:
    rows = p["repricing_gap"]
    fig = go.Figure()
    buckets = [chart_text(r["bucket"]) for r in rows]
    fig.add_bar(x=buckets, y=[r["gap"] for r in rows], name="gap")
    fig.add_scatter(x=buckets, y=[r["cumulative_gap"] for r in rows], name="cumulative gap")
    fig.update_layout(title="Repricing gap (assets less liabilities repricing in each bucket)")
    return fig


def bank_figures(p: Mapping[str, Any]) -> dict[str, go.Figure]:
    """``ratios`` (before and after, or now), ``repricing_gap``, ``projection`` (with a
    horizon)."""
    figs = {"ratios": impact_figure(p), "repricing_gap": _gap_figure(p)}
    if p.get("projection"):
        figs["projection"] = projection_figure(p)
    return figs
