"""Reports of the Monte Carlo commands: ``rate`` (:meth:`MonteCarloResult.to_dict
<greenabs.montecarlo.results.MonteCarloResult.to_dict>`: ratings, loss measures and loss
histograms) and ``size`` (:meth:`SizingResult.to_dict
<greenabs.montecarlo.sizing.SizingResult.to_dict>`: sizes reached per target, with the rating
payload's parts when the payload has them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.reports.formats import chart_text, frame, key_values

__all__ = ["exceedance", "rate_figures", "rate_tables", "size_figures", "size_tables"]

_RATING_COLUMNS = (
    "name",
    "rating",
    "rating_without_support",
    "original_balance",
    "default_probability",
    "default_probability_se",
    "expected_loss",
    "expected_loss_discounted",
    "expected_interest_shortfall",
    "var_99",
    "es_99",
    "wal_mean",
    "wal_sd",
    "yield_mean",
    "pd_horizon_years",
    "el_horizon_years",
    "rating_by_pd",
    "rating_by_el",
    "rating_binding",
    "default_probability_without_support",
    "expected_loss_without_support",
)


def exceedance(h: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """From a loss histogram (:func:`~greenabs.montecarlo.results.loss_histogram`): each
    bin's left edge above 0 and the share of scenarios losing at least that much (exact at
    the edges)."""
    edges, counts, n = h["edges"], h["counts"], h["scenarios"] or 1
    x, y = [], []
    left = sum(counts)
    for k, c in enumerate(counts):
        if k > 0 and left > 0:
            x.append(float(edges[k]))
            y.append(left / n)
        left -= c
    return x, y


def _reach(mean: float | None, quantile: float | None, side: int) -> float:
    """How far an error bar reaches from the mean to a quantile on its ``side`` (1 above, -1
    below): never negative (a mean of 1.4927 with every quantile 1.4870 lies outside the
    5%-95% range: no bar above), 0 when either is missing; a quantile of 0.0 is a value."""
    if mean is None or quantile is None:
        return 0.0
    return max(0.0, side * (quantile - mean))


def rate_tables(p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """``rating`` (per tranche), ``loss_quantiles`` (tranches and the pool), ``pool``,
    ``supports`` (when any), ``loss_histogram`` and ``simulation`` (the settings)."""
    out: dict[str, pd.DataFrame] = {}
    if p.get("rating"):
        out["rating"] = frame(
            p["rating"],
            "Tranche ratings and loss measures",
            columns=_RATING_COLUMNS,
            formats={"pd_horizon_years": "decimal", "el_horizon_years": "decimal"},
        )
        rows = [
            {"tranche": r["name"], "measure": m, **r[f"{m}_quantiles"]}
            for r in p["rating"]
            for m in ("loss", "discounted_loss")
        ]
        pool = p.get("pool") or {}
        rows += [
            {"tranche": "pool", "measure": m, **pool[f"{m}_quantiles"]}
            for m in ("loss", "default")
            if f"{m}_quantiles" in pool
        ]
        out["loss_quantiles"] = frame(
            rows,
            "Loss quantiles (shares of each tranche's balance; the pool's of its cut-off balance)",
            formats={c: "rate" for r in rows for c in r if c not in ("tranche", "measure")},
        )
    if p.get("pool"):
        pool = {k: v for k, v in p["pool"].items() if not k.endswith("_quantiles")}
        out["pool"] = key_values(pool, "Pool loss distribution", kinds={"loss_sd": "rate"})
    if p.get("supports"):
        out["supports"] = frame(p["supports"], "External supports")
    if p.get("loss_histograms"):
        h = p["loss_histograms"]
        rows = []
        for name, hist in [("pool", h["pool"]), *h["tranches"].items()]:
            e, c, n = hist["edges"], hist["counts"], hist["scenarios"] or 1
            rows += [
                {
                    "distribution": name,
                    "from": e[k],
                    "to": e[k + 1],
                    "scenarios": c[k],
                    "share": c[k] / n,
                }
                for k in range(len(c))
            ]
        out["loss_histogram"] = frame(
            rows, "Loss histograms", formats={"from": "rate", "to": "rate", "share": "rate"}
        )
    if p.get("simulation"):
        out["simulation"] = key_values(p["simulation"], "Simulation settings")
    return out


def rate_figures(p: Mapping[str, Any]) -> dict[str, go.Figure]:
    """``loss_distribution``: each tranche's P(loss ≥ x) (log scale) beside the pool's loss
    histogram; ``ratings``: each tranche's default probability and expected loss; ``wal``:
    each tranche's WAL, mean with its 5%–95% range."""
    figs: dict[str, go.Figure] = {}
    h = p.get("loss_histograms")
    if h:
        fig = make_subplots(
            rows=1,
            cols=2,
            subplot_titles=(
                "Tranches: P(loss ≥ x), x a share of the balance",
                "Pool: loss histogram, a share of the balance",
            ),
        )
        lossless = []
        for name, hist in h["tranches"].items():
            x, y = exceedance(hist)
            if not x:
                lossless.append(chart_text(name))
            fig.add_trace(
                go.Scatter(x=x, y=y, mode="lines+markers", line_shape="hv", name=chart_text(name)),
                1,
                1,
            )
        if lossless:
            fig.add_annotation(
                text="no loss in any scenario: " + ", ".join(lossless),
                xref="x domain",
                yref="y domain",
                x=1.0,
                y=1.0,
                xanchor="right",
                showarrow=False,
                font={"size": 11},
            )
        pool = h["pool"]
        e, c, n = pool["edges"], pool["counts"], pool["scenarios"] or 1
        fig.add_trace(
            go.Bar(
                x=[(e[k] + e[k + 1]) / 2 for k in range(len(c))],
                y=[v / n for v in c],
                width=[max(e[k + 1] - e[k], 1e-9) for k in range(len(c))],
                name="pool",
                marker_color="#90a4ae",
            ),
            1,
            2,
        )
        var = (p.get("pool") or {}).get("var_99")
        if var is not None:
            fig.add_vline(x=var, line_dash="dash", annotation_text="VaR 99%", row=1, col=2)
        fig.update_yaxes(type="log", title_text="share of scenarios", row=1, col=1)
        fig.update_yaxes(title_text="share of scenarios", tickformat=".1%", row=1, col=2)
        fig.update_xaxes(tickformat=".1%", title_text="loss")
        fig.update_layout(title=f"Loss distributions, {n:,} scenarios")
        figs["loss_distribution"] = fig
    rated = [r for r in p.get("rating", [])]
    if rated:
        names = [chart_text(f"{r['name']} ({r['rating']})") for r in rated]
        fig = make_subplots(rows=1, cols=2, subplot_titles=("Default probability", "Expected loss"))
        fig.add_trace(
            go.Bar(
                x=names,
                y=[r["default_probability"] for r in rated],
                name="PD",
            ),
            1,
            1,
        )
        fig.add_trace(go.Bar(x=names, y=[r["expected_loss"] for r in rated], name="EL"), 1, 2)
        fig.update_yaxes(tickformat=".2%", rangemode="tozero")
        fig.update_layout(title="Ratings: default probability and expected loss", showlegend=False)
        figs["ratings"] = fig
        wal = go.Figure()
        q = [r.get("wal_quantiles") or {} for r in rated]
        mean = [r["wal_mean"] for r in rated]
        wal.add_scatter(
            x=[chart_text(r["name"]) for r in rated],
            y=mean,
            mode="markers",
            name="mean WAL",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [_reach(m, qq.get("0.95"), 1) for qq, m in zip(q, mean, strict=True)],
                "arrayminus": [
                    _reach(m, qq.get("0.05"), -1) for qq, m in zip(q, mean, strict=True)
                ],
            },
        )
        wal.update_layout(title="WAL by tranche: mean and 5%–95% range", yaxis_title="years")
        figs["wal"] = wal
    return figs


def size_tables(p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """``sizing`` (per target) and ``balances``, then the rating payload's tables."""
    out = {
        "sizing": frame(p["sizing"], "Sizing to target ratings"),
        "balances": frame(
            [{"tranche": k, "balance": v} for k, v in p["balances"].items()],
            "Tranche balances after sizing",
        ),
    }
    out.update(rate_tables(p))
    return out


def size_figures(p: Mapping[str, Any]) -> dict[str, go.Figure]:
    """``sizing``: each tranche's balance before and after sizing, then the rating
    payload's charts."""
    rows = p["sizing"]
    fig = go.Figure()
    names = [chart_text(r["tranche"]) for r in rows]
    fig.add_bar(
        x=names, y=[r["original_balance"] for r in rows], name="before", marker_color="#90a4ae"
    )
    fig.add_bar(
        x=names,
        y=[r["balance"] if r["status"] == "achieved" else None for r in rows],
        name="sized",
        marker_color="#2e7d32",
        text=[chart_text(f"target {r['target']}, rated {r['rating']}") for r in rows],
    )
    fig.update_layout(title="Tranche sizes for the target ratings", barmode="group")
    return {"sizing": fig, **rate_figures(p)}
