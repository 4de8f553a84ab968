"""The paper's two diagrams, drawn for one deal from a run's payload
(:meth:`RunResult.to_dict <greenabs.results.RunResult.to_dict>`): the **transaction
structure** (its Fig. 1: originator → SPV → credit enhancement and rating → tranches →
investors, with the deal's parties and amounts) and the **life cycle** (its Fig. 2–3:
origination, cut-off, transfer, rating and issuance at closing, payment dates, trigger events
of the run, the call and the legal final).

Both are plotly figures of boxes, arrows and labels (shapes and annotations, no data axes), so
they render with the same chart library as the other charts and tests can read what they say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go

from greenabs.reports.formats import chart_text as _e

__all__ = ["life_cycle_events", "structure_diagram", "timeline_diagram"]

_BOX = {"line": {"color": "#2e7d32", "width": 1.5}, "fillcolor": "#e8f5e9", "layer": "below"}
_TRANCHE_COLOURS = ("#1565c0", "#42a5f5", "#90caf9", "#bbdefb", "#e3f2fd")


def _wrap(text: str, width: int = 26) -> str:
    """``text`` broken into lines of at most ``width`` characters (at spaces) with ``<br>``."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _money(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _fee(f: Mapping[str, Any]) -> str:
    """A fee as the diagram states it: its name, then its rate on a balance, its yearly
    amount and its one-off payment (each that it has, joined by "and")."""
    parts = []
    if f.get("rate"):
        parts.append(f"{f['rate']:.3%} of {str(f.get('base') or '').replace('_', ' ')}")
    if f.get("amount"):
        parts.append(f"{_money(f['amount'])} a year")
    if f.get("once"):
        parts.append(f"{_money(f['once'])} once, on the first payment date")
    return f"{_e(f['name'])}: " + " and ".join(parts)


def _box(
    fig: go.Figure, x0: float, y0: float, x1: float, y1: float, text: str, **style: Any
) -> None:
    fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, **{**_BOX, **style})
    fig.add_annotation(
        x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False, font={"size": 11}
    )


def _arrow(fig: go.Figure, x0: float, y0: float, x1: float, y1: float, text: str = "") -> None:
    fig.add_annotation(
        x=x1,
        y=y1,
        ax=x0,
        ay=y0,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        showarrow=True,
        arrowhead=3,
        arrowwidth=1.5,
        arrowcolor="#455a64",
        text="",
    )
    if text:
        fig.add_annotation(
            x=(x0 + x1) / 2,
            y=(y0 + y1) / 2 + 0.35,
            text=text,
            showarrow=False,
            font={"size": 10, "color": "#455a64"},
        )


def _coupon(t: Mapping[str, Any]) -> str:
    if t.get("residual"):
        return "residual"
    if t.get("index"):
        m = t.get("margin") or 0.0
        return f"{_e(t['index'])} {m:+.2%}"
    return "-" if t.get("coupon") is None else f"{t['coupon']:.2%}"


def structure_diagram(run: Mapping[str, Any]) -> go.Figure:
    """The transaction structure (the paper's Fig. 1) of a run's payload."""
    s = run["structure"]
    cur = s["currency"]
    pool = s["pool"]
    retention = run.get("retention") or {}
    retained = retention.get("retained") or {}
    fig = go.Figure()
    # originator
    _box(
        fig,
        0.0,
        3.5,
        2.0,
        6.5,
        f"<b>Originator</b><br>{_wrap(_e(s['originator']), 18)}<br>{pool['n_assets']:,} assets<br>"
        f"pool {_money(pool['balance'])} {cur}",
    )
    _arrow(fig, 2.0, 5.0, 3.0, 5.0, "true sale")
    # the SPV with its service providers and supports
    _box(
        fig,
        3.0,
        3.5,
        5.0,
        6.5,
        f"<b>SPV (issuer)</b><br>{_wrap(_e(s['issuer']), 18)}<br>"
        f"notes {_money(s['notes_balance'])}",
    )
    fees = [_fee(f) for f in s["fees"]]
    _box(
        fig,
        3.0,
        7.2,
        5.0,
        9.8,
        "<b>Service providers</b><br>" + ("<br>".join(_wrap(f, 30) for f in fees) or "none"),
        fillcolor="#fafafa",
    )
    _arrow(fig, 4.0, 7.2, 4.0, 6.5)
    supports = [
        f"{_e(p['provider'])}: {p['kind'].replace('_', ' ')} up to {_money(p['limit'])}"
        for p in s["supports"]
    ]
    # credit enhancement and rating
    ce = [
        f"overcollateralisation {_money(s['overcollateralisation'])} "
        f"({_pct(s['overcollateralisation'] / pool['balance'] if pool['balance'] else None)})",
        *(f"{_e(a['name'])} account {_money(a['initial'])}" for a in s["accounts"]),
        *supports,
        *(f"trigger {_e(g['name'])}" for g in s["triggers"]),
    ]
    ratings = [
        f"{_e(t['name'])}: {_e(t['rating'])}" for t in s["tranches"] if t.get("rating") is not None
    ]
    _box(
        fig,
        5.6,
        2.0,
        7.6,
        8.0,
        "<b>Credit enhancement</b><br>subordination<br>"
        + "<br>".join(_wrap(c, 24) for c in ce)
        + "<br><br><b>Rating</b><br>"
        + ("<br>".join(ratings) or "not rated"),
        fillcolor="#fff8e1",
        line={"color": "#f9a825", "width": 1.5},
    )
    _arrow(fig, 5.0, 5.0, 5.6, 5.0)
    # tranches, stacked by seniority, height by size
    tranches = s["tranches"]
    total = sum(float(t["balance"]) for t in tranches) or 1.0
    top, bottom, gap = 9.5, 0.5, 0.12
    span = top - bottom - gap * (len(tranches) - 1)
    heights = [max(span * float(t["balance"]) / total, 1.1) for t in tranches]
    scale = span / sum(heights)
    y = top
    for i, t in enumerate(tranches):
        h = heights[i] * scale
        kept = float(retained.get(t["name"], 0.0) or 0.0)
        sold = float(t["balance"]) - kept
        text = (
            f"<b>{_e(t['name'])}</b> {_money(t['balance'])} ({_pct(t['share'])})<br>"
            f"{_coupon(t)}"
            + (f", {_e(t['rating'])}" if t.get("rating") else "")
            + ("" if t.get("residual") else f", CE {_pct(t['credit_enhancement'])}")
            + f"<br>to investors {_money(sold)}"
            + (f"<br>retained {_money(kept)}" if kept > 0 else "")
        )
        _box(
            fig,
            8.2,
            y - h,
            10.8,
            y,
            text,
            fillcolor=_TRANCHE_COLOURS[min(i, len(_TRANCHE_COLOURS) - 1)],
            line={"color": "#0d47a1", "width": 1},
            opacity=0.85,
        )
        _arrow(fig, 7.6, 5.0, 8.2, y - h / 2)
        _arrow(fig, 10.8, y - h / 2, 11.4, 5.0)
        y -= h + gap
    _box(fig, 11.4, 3.5, 13.0, 6.5, "<b>Investors</b><br>buy the notes<br>by risk appetite")
    fig.update_layout(
        title=f"Transaction structure ({cur})",
        xaxis={"visible": False, "range": [-0.2, 13.2]},
        yaxis={"visible": False, "range": [0.0, 10.0]},
        height=560,
        showlegend=False,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        plot_bgcolor="white",
    )
    return fig


def life_cycle_events(run: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(date, label, kind) of each event of the life cycle, in date order."""
    t = run["timeline"]
    ev: list[tuple[str, str, str]] = []
    if t.get("origination"):
        ev.append((t["origination"], "origination of the earliest asset", "pool"))
    ev.append((t["cutoff"], "cut-off: pool fixed", "pool"))
    ev.append((t["closing"], "closing: transfer to the SPV, rating, issuance", "issue"))
    ev.append((t["first_payment"], "first payment date", "payment"))
    for s in t.get("step_ups", []):
        ev.append((s["date"], f"coupon step-up {s['name']}", "event"))
    for g in t.get("triggers", []):
        ev.append((g["date"], f"trigger breached: {g['name']}", "trigger"))
    if t.get("call"):
        ev.append((t["call"], "clean-up call exercised", "event"))
    ev.append((t["last_payment"], "last payment date", "payment"))
    for name, d in (t.get("legal_finals") or {}).items():
        ev.append((d, f"legal final {name}", "final"))
    return sorted(ev, key=lambda e: e[0])


_EVENT_COLOURS = {
    "pool": "#2e7d32",
    "issue": "#1565c0",
    "payment": "#455a64",
    "event": "#ef6c00",
    "trigger": "#c62828",
    "final": "#6a1b9a",
}


def _side(when: str, first: date, days: int) -> str:
    """Where an event's label goes: right of the marker near the start, left near the end."""
    at = (date.fromisoformat(when) - first).days / days
    return "top right" if at < 0.25 else "top left" if at > 0.75 else "top center"


def timeline_diagram(run: Mapping[str, Any], payment_dates: Sequence[str] = ()) -> go.Figure:
    """The deal's life cycle (the paper's Fig. 2–3) of a run's payload: its phases as bands,
    its events as labelled markers, every payment date as a tick."""
    t = run["timeline"]
    dates = list(payment_dates) or [r["date"] for r in run["deal_cashflows"]]
    fig = go.Figure()
    start = t.get("origination") or t["cutoff"]
    end = max([t["last_payment"], *(t.get("legal_finals") or {}).values()])
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    days = max((last - first).days, 1)
    for x0, x1, label, colour in (
        (start, t["cutoff"], "pool built (origination to cut-off)", "#c8e6c9"),
        (t["cutoff"], t["closing"], "transfer, rating, issue", "#bbdefb"),
        (t["closing"], t["last_payment"], "payments to investors", "#eceff1"),
    ):
        if x1 <= x0:
            continue
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x1,
            y0=-0.5,
            y1=0.5,
            fillcolor=colour,
            line={"width": 0},
            layer="below",
        )
        if (date.fromisoformat(x1) - date.fromisoformat(x0)).days > 0.15 * days:
            fig.add_annotation(
                x=x0,
                y=0.5,
                text=label,
                showarrow=False,
                xanchor="left",
                yanchor="bottom",
                font={"size": 10, "color": "#37474f"},
            )
    fig.add_scatter(
        x=dates,
        y=[0.0] * len(dates),
        mode="markers",
        marker={"symbol": "line-ns-open", "size": 14, "color": "#455a64"},
        name="payment dates",
        hovertemplate="payment %{x}<extra></extra>",
    )
    events = life_cycle_events(run)
    levels = [1.2, 2.2, 3.2, -1.2, -2.2, -3.2]
    for kind, colour in _EVENT_COLOURS.items():
        mine = [(i, e) for i, e in enumerate(events) if e[2] == kind]
        if not mine:
            continue
        fig.add_scatter(
            x=[e[0] for _, e in mine],
            y=[levels[i % len(levels)] for i, _ in mine],
            mode="markers+text",
            text=[f"{_e(e[1])}<br>{e[0]}" for _, e in mine],
            textposition=[_side(e[0], first, days) for _, e in mine],
            marker={"size": 10, "color": colour},
            name=kind,
            hovertemplate="%{text}<extra></extra>",
        )
    for i, e in enumerate(events):
        fig.add_shape(
            type="line",
            x0=e[0],
            x1=e[0],
            y0=0,
            y1=levels[i % len(levels)],
            line={"color": _EVENT_COLOURS[e[2]], "width": 1, "dash": "dot"},
        )
    fig.update_layout(
        title=f"Life cycle: {t['n_payments']} {t['frequency']} payments from {t['first_payment']}",
        xaxis={
            "type": "date",
            "range": [
                (first - timedelta(days=0.04 * days)).isoformat(),
                (last + timedelta(days=0.04 * days)).isoformat(),
            ],
        },
        yaxis={"visible": False, "range": [-4.2, 4.6]},
        height=460,
        showlegend=False,
        plot_bgcolor="white",
    )
    return fig
