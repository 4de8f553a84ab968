"""The pool's part of a report, from :meth:`PoolAnalytics.to_dict
<greenabs.pool_analytics.PoolAnalytics.to_dict>` (``greenabs pool --json``, or a run's
``pool_analytics``): screening, composition, stratification, green share, collections by
revenue leg and impact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.pool_analytics import IMPACT_KEYS
from greenabs.reports.formats import chart_text, frame, key_values

__all__ = ["pool_figures", "pool_tables"]

IMPACT_LABELS = {
    "mwh": "Renewable energy (MWh)",
    "tco2_avoided": "GHG avoided (tCO2e)",
    "m3_wastewater": "Wastewater treated (m3)",
    "t_waste": "Waste treated (t)",
    "ha_managed": "Area managed (ha, average)",
    "tco2_sequestered": "Carbon sequestered (tCO2e)",
}
_STRATA = ("type", "category", "remaining_term", "rate", "region", "industry", "obligor")


def pool_tables(p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The pool's tables, by name."""
    out = {
        "screening": frame(
            p["screening"], "Securitisability screening", formats={"value": "number"}
        ),
    }
    if p["negative_list"]:
        rows = [{**r, "asset_ids": ", ".join(r["asset_ids"])} for r in p["negative_list"]]
        out["negative_list"] = frame(rows, "Negative list flags")
    conc = {k: v for k, v in p["concentration"].items() if k != "top_obligors"}
    out["concentration"] = key_values(conc, "Concentration")
    for name in _STRATA:
        rows = p["stratification"].get(name)
        if rows:
            title = f"Stratification by {name.replace('_', ' ')}"
            out[f"strat_{name}"] = frame(rows, title, formats={"wa_remaining_term": "decimal"})
    g = p["green"]
    label = {k: v for k, v in g.items() if k != "assets"}
    shares = {f"{k}.{x}": "rate" for k, v in label.items() if isinstance(v, Mapping) for x in v}
    out["green"] = key_values(label, "Green label and shares", kinds=shares)
    out["green_assets"] = frame(g["assets"], "Green category of each asset")
    imp = p["impact"]
    out["impact"] = frame(
        [
            {
                "indicator": k,
                "name": IMPACT_LABELS.get(k, k),
                "pool_life": v,
                "per_10k_issued": imp["per_10k_issued"].get(k),
            }
            for k, v in imp["totals"].items()
        ],
        "Impact (ICMA core indicators)",
        formats={"pool_life": "money", "per_10k_issued": "number"},
    )
    out["impact_per_year"] = frame(imp["per_year"], "Impact per year of the pool's life")
    out["emission_factor"] = key_values(
        imp["emission_factor"], "Grid emission factor (tCO2/MWh)", kinds={"value": "number"}
    )
    out["collections"] = frame(p["collections"], f"Expected collections ({p['currency']})")
    return out


def _composition(p: Mapping[str, Any]) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "domain"}, {"type": "domain"}]],
        subplot_titles=("By asset type", "By green category (Catalogue)"),
    )
    by_type = p["stratification"]["type"]
    fig.add_trace(
        go.Pie(
            labels=[chart_text(r["group"]) for r in by_type],
            values=[r["balance"] for r in by_type],
            name="type",
        ),
        1,
        1,
    )
    cats: dict[str, float] = {}
    for a in p["green"]["assets"]:
        cats[str(a["label"])] = cats.get(str(a["label"]), 0.0) + float(a["balance"] or 0.0)
    order = sorted(cats, key=lambda k: -cats[k])
    fig.add_trace(
        go.Pie(
            labels=[chart_text(k) for k in order], values=[cats[k] for k in order], name="category"
        ),
        1,
        2,
    )
    fig.update_layout(title=f"Pool composition by balance ({chart_text(p['currency'])})")
    return fig


def _stratification(p: Mapping[str, Any]) -> go.Figure:
    names = ("remaining_term", "rate", "region", "obligor")
    fig = make_subplots(
        rows=2, cols=2, subplot_titles=("Remaining term", "Rate", "Region", "Top obligors")
    )
    for i, name in enumerate(names):
        rows = p["stratification"].get(name, [])
        if name == "obligor":
            rows = rows[:10]
        fig.add_trace(
            go.Bar(
                x=[chart_text(r["group"]) for r in rows],
                y=[r["share"] for r in rows],
                name=name.replace("_", " "),
            ),
            row=i // 2 + 1,
            col=i % 2 + 1,
        )
    fig.update_layout(title="Stratification (share of pool balance)", showlegend=False)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def _collections(p: Mapping[str, Any]) -> go.Figure:
    rows = p["collections"]
    cols = list(rows[0]) if rows else []
    legs = [c for c in cols if c not in ("month", "date", "collections", "opex")]
    dates = [r["date"] for r in rows]
    total = [float(r["collections"]) for r in rows]
    fig = go.Figure()
    other = list(total)
    for leg in legs:
        y = [float(r[leg]) for r in rows]
        fig.add_bar(x=dates, y=y, name=chart_text(leg))
        other = [o - v for o, v in zip(other, y, strict=True)]
    if "opex" in cols and any(r["opex"] for r in rows):
        opex = [float(r["opex"]) for r in rows]
        fig.add_bar(x=dates, y=[-v for v in opex], name="opex")
        other = [o + v for o, v in zip(other, opex, strict=True)]
    if sum(abs(v) for v in other) > 1e-6 * max(sum(abs(v) for v in total), 1.0):
        fig.add_bar(x=dates, y=other, name="loans, leases, receivables")
    fig.add_scatter(x=dates, y=total, name="collections", line={"color": "#212121"})
    fig.update_layout(
        barmode="relative",
        title="Expected collections by revenue leg (monthly)",
        yaxis_title=chart_text(p["currency"]),
    )
    return fig


def _impact(p: Mapping[str, Any]) -> go.Figure:
    rows = p["impact"]["per_year"]
    keys = [k for k in IMPACT_KEYS if any(abs(r.get(k) or 0.0) > 0 for r in rows)]
    fig = make_subplots(
        rows=max(len(keys), 1),
        cols=1,
        subplot_titles=[IMPACT_LABELS[k] for k in keys] or ["No impact reported"],
    )
    years = [r["year"] for r in rows]
    for i, k in enumerate(keys):
        fig.add_trace(
            go.Bar(x=years, y=[r[k] for r in rows], name=IMPACT_LABELS[k]), row=i + 1, col=1
        )
    fig.update_layout(
        title="Green impact per year of the pool's life (ICMA core indicators)",
        showlegend=False,
        height=max(300, 220 * len(keys)),
    )
    fig.update_xaxes(title_text="year from the cut-off")
    return fig


def pool_figures(p: Mapping[str, Any]) -> dict[str, go.Figure]:
    """The pool's charts, by name: ``composition``, ``stratification``,
    ``collections_by_leg``, ``impact_per_year``."""
    return {
        "composition": _composition(p),
        "stratification": _stratification(p),
        "collections_by_leg": _collections(p),
        "impact_per_year": _impact(p),
    }
