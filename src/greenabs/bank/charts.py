"""Charts of the bank module: ratios before and after a deal, and OTH versus OTD over time."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.bank.projection import Projection
from greenabs.bank.transaction import TransactionImpact

__all__ = ["impact_figure", "projection_figure", "write_bank_report"]

PANELS = (
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


def projection_figure(pr: Projection) -> go.Figure:
    """OTH versus OTD, quarter by quarter, for the ratios behind the paper's mechanisms."""
    fig = make_subplots(rows=3, cols=3, subplot_titles=[p[1] for p in PANELS])
    for i, (col, _, fmt) in enumerate(PANELS):
        r, c = divmod(i, 3)
        for name, df, color in (("OTH", pr.oth, "#1565c0"), ("OTD", pr.otd, "#ef6c00")):
            fig.add_scatter(
                x=df["quarter"],
                y=df[col],
                name=name,
                line={"color": color},
                legendgroup=name,
                showlegend=i == 0,
                row=r + 1,
                col=c + 1,
            )
        fig.update_yaxes(tickformat=fmt, row=r + 1, col=c + 1)
    fig.update_layout(
        title="Originate-to-hold versus originate-to-distribute (quarters)", height=900
    )
    return fig


def impact_figure(imp: TransactionImpact) -> go.Figure:
    """Key ratios before and after the deal."""
    keys = [
        "cet1_ratio",
        "total_capital_ratio",
        "leverage_ratio",
        "lcr",
        "nsfr",
        "npl_ratio",
        "roe",
        "fee_share",
        "rwa_density",
    ]
    b, a = imp.before_ratios.as_dict(), imp.after_ratios.as_dict()
    fig = go.Figure()
    fig.add_bar(x=keys, y=[b[k] for k in keys], name="before", marker_color="#90a4ae")
    fig.add_bar(x=keys, y=[a[k] for k in keys], name="after", marker_color="#2e7d32")
    fig.update_layout(
        title="The bank before and after the securitisation",
        barmode="group",
        yaxis_tickformat=".0%",
    )
    return fig


def write_bank_report(
    path: str | Path,
    title: str,
    *,
    impact: TransactionImpact | None = None,
    projection: Projection | None = None,
) -> Path:
    """An HTML page with the charts (plotly.js embedded, so it opens offline)."""
    figs = []
    if impact is not None:
        figs.append(impact_figure(impact))
    if projection is not None:
        figs.append(projection_figure(projection))
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        "</title></head><body style='font-family:sans-serif;max-width:1200px;margin:auto'>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    parts += [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    parts.append("</body></html>")
    out = Path(path)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
