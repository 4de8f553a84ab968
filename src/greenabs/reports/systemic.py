"""Reports of ``greenabs systemic`` (its ``--json``) and ``greenabs breakeven``: the
systemic-risk index with its sub-indices, weights, contributions, warnings and stress; a
tranche's breakeven default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from greenabs.reports.formats import chart_text, frame, key_values, kind_of

__all__ = ["breakeven_tables", "index_result", "systemic_figures", "systemic_tables"]


def index_result(d: Mapping[str, Any]) -> Any:
    """The :class:`~greenabs.systemic.index.IndexResult` of an index's JSON form
    (``IndexResult.to_dict``): what its charts need (the normalised indicators are not in
    the JSON and stay empty; each indicator's dimension comes from the catalogue)."""
    from greenabs.systemic.data import CATALOGUE
    from greenabs.systemic.index import IndexResult

    periods = pd.Index(d["periods"])
    dims = {str(n): str(spec.dimension) for n, spec in CATALOGUE.items()}
    return IndexResult(
        method=d["method"],
        composite=pd.Series(d["composite"], index=periods, dtype=float),
        sub_indices=pd.DataFrame(d["sub_indices"], index=periods, dtype=float),
        weights=pd.Series(d["weights"], dtype=float),
        dimension_weights=pd.Series(d["dimension_weights"], dtype=float),
        contributions=pd.DataFrame(d["contributions"], index=periods, dtype=float),
        normalised=pd.DataFrame(index=periods),
        notes=tuple(d.get("notes") or ()),
        consistency_ratio=d.get("consistency_ratio"),
        dimensions={n: dims.get(n, "") for n in d["weights"]},
    )


def _stress(p: Mapping[str, Any]) -> pd.Series:
    """Periods flagged as stressed: high-stress regime of the Markov switching model
    (probability above one half) when it ran, else above the threshold."""
    periods = p["index"]["periods"]
    if p.get("markov"):
        flags = [v is not None and v > 0.5 for v in p["markov"]["prob_high"]]
    else:
        flags = [bool(v) for v in p.get("threshold_flags") or [False] * len(periods)]
    return pd.Series(flags, index=pd.Index(periods))


def systemic_tables(p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """``index`` (composite, sub-indices, warning flags by period), ``weights``,
    ``contributions``, ``missing``, and with the options that make them ``signals``,
    ``stress``, ``deal_stress`` and ``bank_stress``."""
    ix = p["index"]
    rows = []
    flags = p.get("threshold_flags") or []
    prob = (p.get("markov") or {}).get("prob_high") or []
    for i, period in enumerate(ix["periods"]):
        row: dict[str, Any] = {"period": period, "composite": ix["composite"][i]}
        row.update({k: v[i] for k, v in ix["sub_indices"].items()})
        if flags:
            row["above_threshold"] = "yes" if flags[i] else ""
        if prob:
            row["p_high_stress"] = prob[i]
        rows.append(row)
    num = {k: "number" for k in ix["sub_indices"]}
    out = {
        "index": frame(
            rows,
            f"Systemic-risk index ({ix['method']})",
            formats={"period": "text", "p_high_stress": "number", **num},
        ),
    }
    res = index_result(ix)
    out["weights"] = frame(
        [
            {"indicator": n, "dimension": res.dimensions.get(n, ""), "weight": w}
            for n, w in sorted(ix["weights"].items(), key=lambda kv: -kv[1])
        ],
        "Weights",
        formats={"weight": "rate"},
    )
    out["contributions"] = frame(
        [
            {"period": period, **{k: v[i] for k, v in ix["contributions"].items()}}
            for i, period in enumerate(ix["periods"])
        ],
        "Contributions to the index",
        formats={"period": "text", **{k: "number" for k in ix["contributions"]}},
    )
    if ix.get("notes"):
        out["notes"] = frame([{"note": n} for n in ix["notes"]], "Notes")
    if p.get("missing"):
        out["missing"] = frame(p["missing"], "Missing values by indicator")
    if p.get("signals"):
        out["signals"] = frame(
            p["signals"],
            "Signal extraction",
            formats={
                "loss": "number",
                "A": "integer",
                "B": "integer",
                "C": "integer",
                "D": "integer",
            },
        )
    if p.get("stress"):
        out["stress"] = key_values(p["stress"], "Stress of the chosen period")
    if p.get("deal"):
        base, hit = p["deal"]["base"], p["deal"]["stressed"]
        out["deal_stress"] = frame(
            [
                {
                    "class": b["name"],
                    "wal_base": b["wal"],
                    "wal_stressed": s["wal"],
                    "loss_base": b["principal_loss"],
                    "loss_stressed": s["principal_loss"],
                }
                for b, s in zip(base, hit, strict=True)
            ],
            "The deal at the stress",
            formats={"wal_base": "decimal", "wal_stressed": "decimal"},
        )
    if p.get("bank"):
        b, s = p["bank"]["base"], p["bank"]["stressed"]
        keys = list(b)
        out["bank_stress"] = frame(
            [{"measure": k, "base": b[k], "stressed": s.get(k)} for k in keys],
            "The bank at the stress",
            formats={"base": "row", "stressed": "row"},
            row_kinds=[kind_of(k, [1.0]) for k in keys],
        )
    return out


def systemic_figures(p: Mapping[str, Any]) -> dict[str, go.Figure]:
    """``index`` (the composite and sub-indices, stressed periods shaded:
    :func:`greenabs.systemic.charts.index_figure`), ``contributions`` and ``weights``; the
    names of periods, indicators and dimensions drawn as plain text (:func:`chart_text`)."""
    from greenabs.systemic.charts import contribution_figure, index_figure, weights_figure

    ix = p["index"]
    shown = {
        **ix,
        "method": chart_text(ix["method"]),
        "periods": [chart_text(x) for x in ix["periods"]],
        **{
            part: {chart_text(k): v for k, v in ix[part].items()}
            for part in ("sub_indices", "weights", "dimension_weights", "contributions")
        },
    }
    res = index_result(shown)
    stress = _stress(p)
    stress.index = pd.Index(shown["periods"])
    return {
        "index": index_figure(res, stress),
        "contributions": contribution_figure(res),
        "weights": weights_figure(res),
    }


def breakeven_tables(p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """``breakeven``: the search and its result."""
    b = dict(p["breakeven"])
    rate = b["measure"] == "cdr"
    value = "rate" if rate else "number"
    kinds = {k: value for k in ("value", "low", "high")}
    kinds["tolerance"] = "sci"
    kinds.update({"loss_at_value": "money", "loss_below": "money", "threshold": "money"})
    return {"breakeven": key_values(b, f"Breakeven of tranche {b['tranche']}", kinds=kinds)}
