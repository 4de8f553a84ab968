"""A self-contained HTML report of a run: summary tables and interactive charts.

Charts: the cash waterfall over the deal's life (where the pool's cash went), pool cash
flows per payment date, tranche balances, tranche cash flows, and losses with excess spread;
then the pool's analytics (:mod:`greenabs.pool_analytics`): screening, composition,
stratification, collections by revenue leg and impact per year (:mod:`greenabs.pool_charts`).
:func:`write_pool_report` writes the pool's part alone.  plotly.js is embedded once, so the
file opens without a network.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.results import RunResult

if TYPE_CHECKING:
    from greenabs.montecarlo import MonteCarloResult
    from greenabs.pool_analytics import PoolAnalytics

__all__ = ["figures", "pool_section", "write_pool_report", "write_rating_report", "write_report"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
  margin:2rem auto;max-width:1200px;color:#1d2b24}
h1{color:#1b5e20} h2{border-bottom:2px solid #c8e6c9;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:right} th{background:#e8f5e9}
td:first-child,th:first-child{text-align:left}
.ok{color:#1b5e20;font-weight:600}.bad{color:#b71c1c;font-weight:600}
"""


def _cash_waterfall(result: RunResult) -> go.Figure:
    flows = result.deal_flows()
    tr = result.tranches()
    fees = result.fees()
    steps: list[tuple[str, float, str]] = [
        ("Interest", float(flows["interest_collected"].sum()), "relative"),
        ("Principal", float(flows["principal_collected"].sum()), "relative"),
        ("Recoveries", float(flows["recovery_collected"].sum()), "relative"),
    ]
    if flows["call_proceeds"].sum() > 0:
        steps.append(("Call proceeds", float(flows["call_proceeds"].sum()), "relative"))
    steps.append(("Pool cash", 0.0, "total"))
    if not fees.empty:
        for name, paid in fees.groupby("fee")["paid"].sum().items():
            steps.append((f"Fee: {name}", -float(paid), "relative"))
    for _, r in tr.iterrows():
        if r["interest_paid"] > 0:
            steps.append((f"{r['name']} interest", -float(r["interest_paid"]), "relative"))
    for _, r in tr.iterrows():
        steps.append((f"{r['name']} principal", -float(r["principal_paid"]), "relative"))
    for _, r in tr.iterrows():
        if r["residual_paid"] > 0:
            steps.append((f"{r['name']} residual", -float(r["residual_paid"]), "relative"))
    released = float(flows["residual_released"].sum())
    if released > 0.005:
        steps.append(("Released", -released, "relative"))
    steps.append(("Left in accounts", 0.0, "total"))
    fig = go.Figure(
        go.Waterfall(
            x=[s[0] for s in steps],
            y=[s[1] for s in steps],
            measure=[s[2] for s in steps],
            connector={"line": {"color": "#9e9e9e"}},
            increasing={"marker": {"color": "#43a047"}},
            decreasing={"marker": {"color": "#ef6c00"}},
            totals={"marker": {"color": "#1565c0"}},
        )
    )
    fig.update_layout(
        title="Where the pool's cash went (whole life)",
        showlegend=False,
        yaxis_title=result.deal.currency,
    )
    return fig


def _pool_chart(result: RunResult) -> go.Figure:
    pc = result.pool_cashflows()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for col, color in (
        ("interest", "#43a047"),
        ("scheduled_principal", "#1565c0"),
        ("prepayment", "#42a5f5"),
        ("recovery", "#8d6e63"),
    ):
        fig.add_bar(x=pc["date"], y=pc[col], name=col.replace("_", " "), marker_color=color)
    fig.add_bar(x=pc["date"], y=-pc["default"], name="default", marker_color="#e53935")
    fig.add_scatter(
        x=pc["date"],
        y=pc["end_balance"],
        name="pool balance",
        secondary_y=True,
        line={"color": "#212121"},
    )
    fig.update_layout(barmode="relative", title="Pool cash flows per payment date")
    return fig


def _tranche_balance_chart(result: RunResult) -> go.Figure:
    fig = go.Figure()
    for t in result.deal.structure.tranches:
        cf = result.tranche_cashflows(t.name)
        fig.add_scatter(x=cf["date"], y=cf["end_balance"], name=t.name, stackgroup="one")
    fig.update_layout(title="Tranche balances", yaxis_title=result.deal.currency)
    return fig


def _tranche_cash_chart(result: RunResult) -> go.Figure:
    fig = go.Figure()
    for t in result.deal.structure.tranches:
        cf = result.tranche_cashflows(t.name)
        fig.add_bar(x=cf["date"], y=cf["principal_paid"], name=f"{t.name} principal")
        fig.add_bar(
            x=cf["date"],
            y=cf["interest_paid"] + cf["residual_paid"],
            name=f"{t.name} interest/residual",
        )
    fig.update_layout(barmode="stack", title="Tranche cash flows")
    return fig


def _loss_chart(result: RunResult) -> go.Figure:
    df = result.deal_flows()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=df["date"], y=df["cumulative_loss_rate"], name="cumulative loss / pool")
    fig.add_scatter(x=df["date"], y=df["pool_factor"], name="pool factor")
    fig.add_bar(
        x=df["date"],
        y=df["excess_spread_rate"],
        name="excess spread (p.a.)",
        secondary_y=True,
        opacity=0.5,
    )
    fig.update_layout(title="Losses, pool factor and excess spread")
    fig.update_yaxes(tickformat=".1%")
    return fig


def figures(result: RunResult) -> dict[str, go.Figure]:
    """The report's charts, by name (usable on their own in a notebook)."""
    return {
        "cash_waterfall": _cash_waterfall(result),
        "pool_cashflows": _pool_chart(result),
        "tranche_balances": _tranche_balance_chart(result),
        "tranche_cashflows": _tranche_cash_chart(result),
        "losses": _loss_chart(result),
    }


def _fmt(key: str, v: object) -> str:
    if isinstance(v, float):
        if key.endswith(("_rate", "_spread", "_factor")):
            return f"{v:.3%}"
        if key == "max_audit_difference":
            return f"{v:.2e}"
        return f"{v:,.2f}"
    return "-" if v is None else str(v)


_TRANCHE_COLUMNS = {
    "name": "Class",
    "original_balance": "Balance",
    "coupon": "Coupon",
    "wal": "WAL (y)",
    "yield": "Yield",
    "modified_duration": "Mod. duration",
    "principal_window_start": "First principal",
    "principal_window_end": "Last principal",
    "principal_loss": "Principal loss",
    "interest_shortfall": "Interest shortfall",
}


def _tranche_table(result: RunResult) -> pd.DataFrame:
    tr = result.tranches()[list(_TRANCHE_COLUMNS)].copy()
    tr["coupon"] = [
        ("-" if r else f"{c:.3%}")
        for c, r in zip(tr["coupon"], result.tranches()["residual"], strict=True)
    ]
    tr["yield"] = tr["yield"].map(lambda v: "-" if pd.isna(v) else f"{v:.3%}")
    for c in ("original_balance", "principal_loss", "interest_shortfall"):
        tr[c] = tr[c].map(lambda v: f"{v:,.2f}")
    for c in ("wal", "modified_duration"):
        tr[c] = tr[c].map(lambda v: "-" if pd.isna(v) else f"{v:.2f}")
    return tr.rename(columns=_TRANCHE_COLUMNS)


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, float_format=lambda v: f"{v:,.4f}", na_rep="-")


def pool_section(a: PoolAnalytics, include_plotlyjs: bool = False) -> list[str]:
    """HTML parts of a pool's analytics: screening, negative list, green label, impact and
    the pool charts."""
    from greenabs.pool_charts import pool_figures

    scr = a.screening.copy()
    scr["value"] = [f"{v:,.4g}" if v == v else "-" for v in scr["value"]]
    scr["result"] = [html.escape(r) for r in scr["result"]]
    crit = ", ".join(f"{k}: {v}" for k, v in a.criteria.items())
    parts = [
        "<h2>Pool: securitisability screening</h2>",
        f"<p>{html.escape(crit)}</p>",
        _table(scr),
    ]
    if len(a.negative_list):
        nl = a.negative_list.copy()
        nl["asset_ids"] = [", ".join(ids) for ids in nl["asset_ids"]]
        parts += ["<h2>Negative list flags</h2>", _table(nl)]
    g = a.green
    cls = "ok" if g["result"] == "pass" else "bad"
    ef = a.impact["emission_factor"]
    totals = pd.DataFrame(
        {
            "indicator": list(a.impact["totals"]),
            "pool life": list(a.impact["totals"].values()),
            "per 10,000 issued": list(a.impact["per_10k_issued"].values()),
        }
    )
    parts += [
        f"<h2>Green label</h2><p><span class='{cls}'>{html.escape(g['label'])}</span>: "
        f"{html.escape(g['reason'])}</p>",
        "<h2>Impact</h2>",
        f"<p>Emission factor {ef['value']:.4f} tCO2/MWh ({html.escape(str(ef['region']))}, "
        f"{ef['year']}, {html.escape(str(ef['scope']))}).</p>",
        _table(totals),
    ]
    for i, fig in enumerate(pool_figures(a).values()):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs and i == 0))
    return parts


def write_pool_report(a: PoolAnalytics, path: str | Path) -> Path:
    """Write an HTML report of a pool's analytics alone; returns its path."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(a.name)}: pool</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(a.name)}: pool</h1>",
        *pool_section(a, include_plotlyjs=True),
        "</body></html>",
    ]
    out = Path(path)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def write_report(
    result: RunResult, path: str | Path, analytics: PoolAnalytics | None = None
) -> Path:
    """Write the HTML report; returns its path.  ``analytics``: the pool's analytics (measured
    with the defaults of :func:`~greenabs.pool_analytics.analyse_pool` when not given)."""
    s = result.summary()
    summary = pd.DataFrame(
        {"item": [k.replace("_", " ") for k in s], "value": [_fmt(k, v) for k, v in s.items()]}
    )
    tr = _tranche_table(result)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(result.deal.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(result.deal.name)}</h1>",
        "<p>Cash conservation audit: <span class='ok'>passed</span> on every payment date "
        f"(largest difference {s['max_audit_difference']:.2e}).</p>",
        "<h2>Deal</h2>",
        _table(summary),
        "<h2>Tranches</h2>",
        _table(tr),
    ]
    ret = result.retention
    if ret is not None:
        cls, word = ("ok", "complies") if ret.compliant else ("bad", "does not comply")
        parts.append(
            f"<h2>Risk retention</h2><p>{html.escape(ret.holder)} retains "
            f"{ret.total_retained:,.2f} ({ret.share_of_issue:.2%} of the issue, {ret.form}): "
            f"<span class='{cls}'>{word}</span> {html.escape('; '.join(ret.reasons))}</p>"
        )
    draws = result.supports()
    if len(draws):
        parts += ["<h2>External supports</h2>", _table(draws)]
    for i, (_, fig) in enumerate(figures(result).items()):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    if analytics is None:
        from greenabs.pool_analytics import analyse_pool

        analytics = analyse_pool(result.deal)
    parts += pool_section(analytics)
    parts.append("</body></html>")
    out = Path(path)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def write_rating_report(mc: MonteCarloResult, path: str | Path, table: object = None) -> Path:
    """Write the HTML report of a Monte Carlo run: settings, each tranche's loss measures and
    rating, the pool's loss distribution, the supports, and the loss charts; returns its
    path."""
    from greenabs.montecarlo.charts import loss_figures

    data = mc.to_dict(table)
    keys = {
        "name": "tranche",
        "rating": "rating",
        "default_probability": "PD",
        "expected_loss": "EL",
        "expected_loss_discounted": "EL (PV)",
        "wal_mean": "WAL",
        "var_99": "VaR 99%",
        "es_99": "ES 99%",
        "pd_horizon_years": "PD horizon (y)",
    }
    if any("rating_without_support" in r for r in data["rating"]):
        keys["rating_without_support"] = "without support"
    tr = pd.DataFrame([{v: r.get(k) for k, v in keys.items()} for r in data["rating"]])
    pool = pd.DataFrame(
        {"measure": list(data["pool"]), "value": [str(v) for v in data["pool"].values()]}
    )
    sim = data["meta"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(mc.deal.name)}: rating</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(mc.deal.name)}: Monte Carlo rating</h1>",
        f"<p>{sim['scenarios']:,} scenarios, seed {sim['seed']}, backend {sim['backend']}; "
        f"greenabs {html.escape(str(sim['greenabs_version']))}.</p>",
        "<h2>Tranches</h2>",
        _table(tr),
        "<h2>Pool</h2>",
        _table(pool),
    ]
    if data["supports"]:
        parts += ["<h2>Supports</h2>", _table(pd.DataFrame(data["supports"]))]
    for i, fig in enumerate(loss_figures(mc).values()):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    parts.append("</body></html>")
    out = Path(path)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
