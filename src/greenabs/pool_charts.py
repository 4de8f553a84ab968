"""Charts of a pool's analytics (:class:`~greenabs.pool_analytics.PoolAnalytics`): composition,
stratification, collections by revenue leg over time and impact per year."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.pool_analytics import IMPACT_KEYS, PoolAnalytics

__all__ = ["pool_figures"]

_IMPACT_LABELS = {
    "mwh": "Renewable energy (MWh)",
    "tco2_avoided": "GHG avoided (tCO2e)",
    "m3_wastewater": "Wastewater treated (m3)",
    "t_waste": "Waste treated (t)",
    "ha_managed": "Area managed (ha, average)",
    "tco2_sequestered": "Carbon sequestered (tCO2e)",
}


def _composition(a: PoolAnalytics) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "domain"}, {"type": "domain"}]],
        subplot_titles=("By asset type", "By green category (Catalogue)"),
    )
    by_type = a.stratification["type"]
    fig.add_trace(
        go.Pie(labels=list(by_type["group"]), values=list(by_type["balance"]), name="type"),
        1,
        1,
    )
    g = a.green_assets.groupby("label")["balance"].sum().sort_values(ascending=False)
    fig.add_trace(
        go.Pie(labels=[str(x) for x in g.index], values=list(g.to_numpy()), name="category"),
        1,
        2,
    )
    fig.update_layout(title=f"Pool composition by balance ({a.currency})")
    return fig


def _stratification(a: PoolAnalytics) -> go.Figure:
    names = ("remaining_term", "rate", "region", "obligor")
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=(
            "Remaining term",
            "Rate",
            "Region",
            "Top obligors",
        ),
    )
    for i, name in enumerate(names):
        df = a.stratification[name]
        if name == "obligor":
            df = df.head(10)
        fig.add_trace(
            go.Bar(x=list(df["group"]), y=list(df["share"]), name=name.replace("_", " ")),
            row=i // 2 + 1,
            col=i % 2 + 1,
        )
    fig.update_layout(title="Stratification (share of pool balance)", showlegend=False)
    fig.update_yaxes(tickformat=".0%")
    return fig


def _collections(a: PoolAnalytics) -> go.Figure:
    df = a.collections
    legs = [c for c in df.columns if c not in ("month", "date", "collections", "opex")]
    fig = go.Figure()
    other = df["collections"].copy()
    for leg in legs:
        fig.add_bar(x=list(df["date"]), y=list(df[leg]), name=leg)
        other = other - df[leg]
    if "opex" in df.columns and df["opex"].abs().sum() > 0:
        fig.add_bar(x=list(df["date"]), y=list(-df["opex"]), name="opex")
        other = other + df["opex"]
    if other.abs().sum() > 1e-6 * max(df["collections"].abs().sum(), 1.0):
        fig.add_bar(x=list(df["date"]), y=list(other), name="loans, leases, receivables")
    fig.add_scatter(x=list(df["date"]), y=list(df["collections"]), name="collections")
    fig.update_layout(
        barmode="relative",
        title="Expected collections by revenue leg",
        yaxis_title=a.currency,
    )
    return fig


def _impact(a: PoolAnalytics) -> go.Figure:
    df = a.impact_per_year
    keys = [k for k in IMPACT_KEYS if k in df.columns and df[k].abs().sum() > 0]
    fig = make_subplots(
        rows=max(len(keys), 1),
        cols=1,
        subplot_titles=[_IMPACT_LABELS[k] for k in keys] or ["No impact reported"],
    )
    for i, k in enumerate(keys):
        fig.add_trace(
            go.Bar(x=list(df["year"]), y=list(df[k]), name=_IMPACT_LABELS[k]), row=i + 1, col=1
        )
    fig.update_layout(
        title="Impact per year of the pool's life (ICMA core indicators)",
        showlegend=False,
        height=max(300, 220 * len(keys)),
    )
    fig.update_xaxes(title_text="year from the cut-off")
    return fig


def pool_figures(a: PoolAnalytics) -> dict[str, go.Figure]:
    """The pool's charts, by name."""
    return {
        "composition": _composition(a),
        "stratification": _stratification(a),
        "collections_by_leg": _collections(a),
        "impact_per_year": _impact(a),
    }
