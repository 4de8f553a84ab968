"""Charts of the systemic-risk index: the index and sub-indices over time with stress
episodes shaded, each indicator's contribution per period, and the weights (greenabs.reports
puts them on the HTML page of ``greenabs systemic --chart``)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from greenabs.systemic.index import IndexResult

__all__ = ["contribution_figure", "index_figure", "period_span", "weights_figure"]


def period_span(label: str) -> tuple[float, float]:
    """A period label (2024, 2024Q1, 2024-03) as its start and end in decimal years."""
    text = str(label)
    year = float(text[:4])
    if len(text) == 6 and text[4] == "Q":
        q = int(text[5])
        return year + (q - 1) / 4, year + q / 4
    if len(text) == 7 and text[4] == "-":
        m = int(text[5:])
        return year + (m - 1) / 12, year + m / 12
    return year, year + 1.0


def index_figure(result: IndexResult, stress: pd.Series | None = None) -> go.Figure:
    """Composite and sub-indices by period on a numeric time axis (decimal years, each point
    at the middle of its period); a stressed period is shaded over its whole span."""
    spans = [period_span(str(p)) for p in result.composite.index]
    x = [(a + b) / 2 for a, b in spans]
    fig = go.Figure()
    if stress is not None:
        flags = stress.reindex(result.composite.index).fillna(False).astype(bool)
        for (x0, x1), flag in zip(spans, flags, strict=True):
            if flag:
                fig.add_vrect(x0=x0, x1=x1, fillcolor="#ef9a9a", opacity=0.35, line_width=0)
    fig.add_scatter(
        x=x,
        y=result.composite.to_numpy(dtype=float),
        name="composite",
        mode="lines+markers",
        line={"width": 4, "color": "#b71c1c"},
        text=[str(p) for p in result.composite.index],
    )
    for d in result.sub_indices:
        fig.add_scatter(
            x=x,
            y=result.sub_indices[d].to_numpy(dtype=float),
            name=d,
            mode="lines",
            line={"dash": "dot"},
            text=[str(p) for p in result.composite.index],
        )
    lo = spans[0][0] if spans else 0.0
    hi = spans[-1][1] if spans else 1.0
    fig.update_layout(
        title=f"Systemic-risk index ({result.method}); shaded: stress episodes",
        xaxis={"type": "linear", "range": [lo, hi], "title": "year"},
    )
    return fig


def contribution_figure(result: IndexResult) -> go.Figure:
    """Each indicator's contribution to the composite, stacked by period."""
    x = [str(p) for p in result.contributions.index]
    fig = go.Figure()
    for c in result.contributions:
        fig.add_bar(x=x, y=result.contributions[c], name=c)
    fig.update_layout(barmode="relative", title="Contributions to the index", xaxis_type="category")
    return fig


def weights_figure(result: IndexResult) -> go.Figure:
    """Indicator weights, coloured by dimension."""
    w = result.weights.sort_values()
    fig = go.Figure(
        go.Bar(
            x=w.values,
            y=w.index,
            orientation="h",
            text=[result.dimensions.get(n, "") for n in w.index],
        )
    )
    fig.update_layout(title="Weights", xaxis_tickformat=".0%")
    return fig
