"""Charts of a Monte Carlo run: the tranches' loss distributions beside the pool's."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.montecarlo.results import MonteCarloResult

__all__ = ["loss_figures"]


def _exceedance(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loss levels and the share of scenarios losing more than each (a step curve)."""
    s = np.sort(x)
    v = np.unique(s)
    p = 1.0 - np.searchsorted(s, v, side="right") / s.size
    return v, p


def loss_figures(mc: MonteCarloResult) -> dict[str, go.Figure]:
    """``loss_distribution``: each tranche's probability of losing more than a share of its
    balance (exceedance curves, log scale) beside the pool's loss histogram;
    ``wal``: each tranche's WAL distribution."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "Tranches: P(principal loss > x), x as % of original balance",
            "Pool: loss as % of cut-off balance",
        ),
    )
    rows = mc.tranches
    for t in mc.deal.structure.tranches:
        r = rows[rows["name"] == t.name]
        loss = (r["principal_loss"] / t.balance).to_numpy()
        v, p = _exceedance(loss)
        keep = p > 0
        fig.add_trace(
            go.Scatter(x=100 * v[keep], y=p[keep], mode="lines", line_shape="hv", name=t.name),
            1,
            1,
        )
    pool = 100 * mc.pool["loss_rate"].to_numpy()
    fig.add_trace(go.Histogram(x=pool, name="pool", nbinsx=60, histnorm="probability"), 1, 2)
    var = float(np.quantile(pool, 0.99))
    fig.add_vline(x=var, line_dash="dash", annotation_text="VaR 99%", row=1, col=2)
    fig.update_yaxes(type="log", title="share of scenarios", row=1, col=1)
    fig.update_xaxes(title="loss (%)", row=1, col=1)
    fig.update_xaxes(title="loss (%)", row=1, col=2)
    fig.update_layout(title=f"Loss distributions, {mc.n_scenarios:,} scenarios")
    wal = go.Figure()
    for t in mc.deal.structure.tranches:
        w = rows.loc[rows["name"] == t.name, "wal"].to_numpy(dtype=np.float64)
        wal.add_trace(go.Box(y=w[np.isfinite(w)], name=t.name))
    wal.update_layout(title="WAL by tranche across scenarios", yaxis_title="years")
    return {"loss_distribution": fig, "wal": wal}
