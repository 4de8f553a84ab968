"""A run's report, from :meth:`RunResult.to_dict <greenabs.results.RunResult.to_dict>` plus
``pool_analytics`` (``greenabs run --json``): the deal, its tranches, cash flows per payment
date, and the pool's analytics; charts of where each period's cash came from and went, the
tranche balances, losses, and the paper's two diagrams."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from greenabs.reports.diagrams import life_cycle_events, structure_diagram, timeline_diagram
from greenabs.reports.formats import chart_text, frame, key_values
from greenabs.reports.pool import pool_figures, pool_tables

__all__ = ["run_figures", "run_tables"]

_DEAL_KINDS = {
    "cutoff": "date",
    "closing": "date",
    "settle": "date",
    "call_date": "date",
    "n_assets": "integer",
    "n_periods": "integer",
    "scenarios": "integer",
    "final_pool_factor": "rate",
    "average_excess_spread": "rate",
    "cumulative_loss_rate": "rate",
    "max_audit_difference": "sci",
}


def run_tables(p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The run's tables, by name: ``deal``, ``tranches``, ``prices`` (when asked),
    ``pool_cashflows``, ``deal_cashflows``, ``tranche_<name>`` per tranche, ``fees``,
    ``accounts``, ``supports`` (when any), ``retention`` (when declared), ``structure`` and
    ``timeline``, then the pool's tables (:func:`~greenabs.reports.pool.pool_tables`)."""
    deal = {k: v for k, v in p["deal"].items()}
    out = {
        "deal": key_values(deal, "Deal", kinds=_DEAL_KINDS),
        "tranches": frame(p["tranches"], "Tranches", formats={"price": "number"}),
    }
    if p.get("prices"):
        out["prices"] = frame(p["prices"], "Prices per 100", formats={"price": "number"})
    out["pool_cashflows"] = frame(p["pool_cashflows"], "Pool cash flows per payment date")
    out["deal_cashflows"] = frame(
        p["deal_cashflows"],
        "Deal cash flows per payment date",
        formats={"called": "integer", "audit_difference": "sci"},
    )
    for name, rows in p["tranche_cashflows"].items():
        out[f"tranche_{name}"] = frame(rows, f"Tranche {name}: cash flows")
    for key, title in (
        ("fees", "Fees"),
        ("accounts", "Accounts"),
        ("supports", "External supports' draws"),
    ):
        if p.get(key):
            out[key] = frame(p[key], title)
    if p.get("retention"):
        r = dict(p["retention"])
        r["reasons"] = "; ".join(r.get("reasons") or []) or "-"
        out["retention"] = key_values(r, "Risk retention", kinds={"share_of_issue": "rate"})
    if p.get("structure"):
        s = p["structure"]
        parties: list[dict[str, Any]] = [
            {"role": "originator", "party": s["originator"], "amount": s["pool"]["balance"]},
            {"role": "issuer (SPV)", "party": s["issuer"], "amount": s["notes_balance"]},
            {
                "role": "overcollateralisation",
                "party": s["issuer"],
                "amount": s["overcollateralisation"],
            },
        ]
        parties += [
            {"role": "reserve account", "party": a["name"], "amount": a["initial"]}
            for a in s["accounts"]
        ]
        parties += [
            {"role": f"support ({x['kind']})", "party": x["provider"], "amount": x["limit"]}
            for x in s["supports"]
        ]
        parties += [
            {"role": "service provider (fee)", "party": f["name"], "amount": f.get("amount")}
            for f in s["fees"]
        ]
        parties += [
            {
                "role": f"tranche (CE {t['credit_enhancement']:.2%})",
                "party": t["name"],
                "amount": t["balance"],
            }
            for t in s["tranches"]
        ]
        out["structure"] = frame(parties, "Parties and amounts", formats={"amount": "money"})
    if p.get("timeline"):
        out["timeline"] = frame(
            [{"date": d, "event": e, "kind": k} for d, e, k in life_cycle_events(p)],
            "Life cycle",
        )
    if p.get("pool_analytics"):
        out.update(pool_tables(p["pool_analytics"]))
    return out


def _cash_uses(p: Mapping[str, Any]) -> go.Figure:
    """Where each period's cash went: fees, each class's interest and principal, the
    residual class, accounts and releases, stacked per payment date, with the available
    funds as a line."""
    flows = p["deal_cashflows"]
    dates = [r["date"] for r in flows]
    n = len(dates)
    fig = go.Figure()
    fees = [0.0] * n
    for r in p["fees"]:
        fees[int(r["period"]) - 1] += float(r["paid"] or 0.0)
    if any(fees):
        fig.add_bar(x=dates, y=fees, name="fees", marker_color="#8d6e63")
    for name, rows in p["tranche_cashflows"].items():
        for col, label in (
            ("interest_paid", "interest"),
            ("principal_paid", "principal"),
            ("residual_paid", "residual"),
        ):
            y = [float(r[col] or 0.0) for r in rows]
            if any(y):
                fig.add_bar(x=dates, y=y, name=f"{chart_text(name)} {label}")
    deposits = [0.0] * n
    for r in p["accounts"]:
        deposits[int(r["period"]) - 1] += float(r["deposit"] or 0.0)
    if any(deposits):
        fig.add_bar(x=dates, y=deposits, name="to accounts", marker_color="#90a4ae")
    released = [float(r["residual_released"] or 0.0) for r in flows]
    if any(released):
        fig.add_bar(x=dates, y=released, name="released", marker_color="#bdbdbd")
    fig.add_scatter(
        x=dates,
        y=[float(r["available_funds"] or 0.0) for r in flows],
        name="available funds",
        mode="lines",
        line={"color": "#212121", "dash": "dot"},
    )
    fig.update_layout(
        barmode="relative",
        title="Waterfall: where each period's cash went",
        yaxis_title=chart_text(p["deal"]["currency"]),
    )
    return fig


def _collections(p: Mapping[str, Any]) -> go.Figure:
    """Pool collections stacked by kind per payment date, defaults below zero, the pool
    balance on its own axis."""
    rows = p["pool_cashflows"]
    dates = [r["date"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for col, colour in (
        ("interest", "#43a047"),
        ("scheduled_principal", "#1565c0"),
        ("prepayment", "#42a5f5"),
        ("recovery", "#8d6e63"),
    ):
        fig.add_bar(
            x=dates, y=[r[col] for r in rows], name=col.replace("_", " "), marker_color=colour
        )
    fig.add_bar(
        x=dates, y=[-(r["default"] or 0.0) for r in rows], name="default", marker_color="#e53935"
    )
    fig.add_scatter(
        x=dates,
        y=[r["end_balance"] for r in rows],
        name="pool balance",
        secondary_y=True,
        line={"color": "#212121"},
    )
    fig.update_layout(barmode="relative", title="Collections by kind per payment date")
    fig.update_yaxes(title_text=chart_text(p["deal"]["currency"]), secondary_y=False)
    fig.update_yaxes(title_text="pool balance", rangemode="tozero", secondary_y=True)
    return fig


def _tranche_balances(p: Mapping[str, Any]) -> go.Figure:
    fig = go.Figure()
    for name, rows in p["tranche_cashflows"].items():
        fig.add_scatter(
            x=[r["date"] for r in rows],
            y=[r["end_balance"] for r in rows],
            name=chart_text(name),
            stackgroup="one",
            mode="lines",
        )
    fig.update_layout(title="Tranche balances", yaxis_title=chart_text(p["deal"]["currency"]))
    fig.update_yaxes(rangemode="tozero")
    return fig


def _losses(p: Mapping[str, Any]) -> go.Figure:
    rows = p["deal_cashflows"]
    dates = [r["date"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=dates, y=[r["cumulative_loss_rate"] for r in rows], name="cumulative loss / pool"
    )
    fig.add_scatter(x=dates, y=[r["pool_factor"] for r in rows], name="pool factor")
    fig.add_bar(
        x=dates,
        y=[r["excess_spread_rate"] for r in rows],
        name="excess spread (p.a.)",
        secondary_y=True,
        opacity=0.5,
    )
    fig.update_layout(title="Losses, pool factor and excess spread")
    fig.update_yaxes(tickformat=".1%", range=[0, 1.05], secondary_y=False)
    fig.update_yaxes(tickformat=".2%", title_text="excess spread", secondary_y=True)
    return fig


def run_figures(p: Mapping[str, Any]) -> dict[str, go.Figure]:
    """The run's charts, by name: ``structure`` and ``timeline`` (the paper's diagrams),
    ``cash_waterfall``, ``collections``, ``tranche_balances``, ``losses``, then the pool's
    (:func:`~greenabs.reports.pool.pool_figures`)."""
    figs: dict[str, go.Figure] = {}
    if p.get("structure"):
        figs["structure"] = structure_diagram(p)
    if p.get("timeline"):
        figs["timeline"] = timeline_diagram(p)
    figs.update(
        {
            "cash_waterfall": _cash_uses(p),
            "collections": _collections(p),
            "tranche_balances": _tranche_balances(p),
            "losses": _losses(p),
        }
    )
    if p.get("pool_analytics"):
        figs.update(pool_figures(p["pool_analytics"]))
    return figs
