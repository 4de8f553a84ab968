"""``greenabs systemic``: the systemic-risk index, early warning and stress."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from greenabs.cli.common import WideOpt, XlsxOpt, app, clip, fmt, money, num, out, pct, styled
from greenabs.cli.recording import NoStoreOpt, Recording
from greenabs.errors import Problem, SpecError

QUARTERLY_CHINA: dict[str, Any] = {
    "min_coverage": 0.3,
    "period_coverage": 0.0,
    "require_dimensions": False,
}
"""How the quarterly China sample is aggregated: its indicators cover different years, so
each quarter uses what it has (docs/systemic.md, "The quarterly index")."""


@app.command("systemic")
def systemic_cmd(
    ctx: typer.Context,
    data_file: Annotated[
        str, typer.Argument(help="Indicator data (CSV/Excel), or 'china' for the shipped sample")
    ],
    method: Annotated[str, typer.Option(help="entropy|critic|pca|equal|ciss|ahp")] = "entropy",
    ahp_matrix: Annotated[
        Path | None,
        typer.Option(
            "--ahp-matrix", help="CSV pairwise matrix (4x4 dimensions or one row per indicator)"
        ),
    ] = None,
    combine: Annotated[
        float | None, typer.Option(help="Share of the AHP weights combined with the method's")
    ] = None,
    fill: Annotated[str | None, typer.Option(help="ffill|bfill|interpolate|mean")] = None,
    normalise: Annotated[
        str | None, typer.Option(help="Aggregate on minmax|zscore|ecdf (linear methods)")
    ] = None,
    threshold_k: Annotated[
        float, typer.Option("--threshold-k", help="Stress when above mean + k sd")
    ] = 1.0,
    min_coverage: Annotated[
        float | None,
        typer.Option(help="An indicator enters with data for this share of periods (0.6)"),
    ] = None,
    period_coverage: Annotated[
        float | None,
        typer.Option(help="A period enters with data for this share of indicators (2/3)"),
    ] = None,
    frequency: Annotated[
        str | None, typer.Option(help="China sample: annual (default) or quarterly")
    ] = None,
    trend: Annotated[
        str, typer.Option(help="HP filter of trending indicators: two_sided|one_sided")
    ] = "two_sided",
    crisis: Annotated[
        str | None, typer.Option(help="Crisis periods for signal extraction, e.g. 2015,2020")
    ] = None,
    horizon: Annotated[int, typer.Option(help="Signal horizon in periods")] = 1,
    post_crisis: Annotated[
        int, typer.Option(help="Periods after a crisis start left out of the signal counts")
    ] = 0,
    stress_period: Annotated[
        str | None,
        typer.Option("--stress-period", help="Run --deal/--bank at this period's stress"),
    ] = None,
    deal: Annotated[Path | None, typer.Option("--deal", help="Deal file to stress")] = None,
    bank: Annotated[Path | None, typer.Option("--bank", help="Bank file to stress")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write every result")] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", "--report", help="Write an HTML report with charts")
    ] = None,
    xlsx: XlsxOpt = None,
    wide: WideOpt = False,
    no_store: NoStoreOpt = False,
) -> None:
    """Composite systemic-risk index of the paper's 14 indicators, early warning, stress."""
    import pandas as pd

    from greenabs import systemic
    from greenabs.results import _clean

    rec = Recording(ctx, "systemic")
    crises = _check_flags(
        method=method,
        ahp_matrix=ahp_matrix,
        combine=combine,
        fill=fill,
        normalise=normalise,
        threshold_k=threshold_k,
        min_coverage=min_coverage,
        period_coverage=period_coverage,
        frequency=frequency,
        trend=trend,
        china=data_file == "china",
        crisis=crisis,
        horizon=horizon,
        post_crisis=post_crisis,
        stress_period=stress_period,
        deal=deal,
        bank=bank,
    )
    coverage: dict[str, Any] = {}
    if data_file == "china":
        data = systemic.china_sample(frequency or "annual")
        if frequency == "quarterly":  # no quarter has all four dimensions (docs/systemic.md)
            coverage = dict(QUARTERLY_CHINA)
    else:
        data = systemic.load_indicators(data_file)
    if min_coverage is not None:
        coverage["min_coverage"] = min_coverage
    if period_coverage is not None:
        coverage["period_coverage"] = period_coverage
    matrix = systemic.load_ahp_matrix(ahp_matrix) if ahp_matrix is not None else None
    subjective = None
    if combine is not None and matrix is not None:
        subjective = (
            systemic.ahp_weights(matrix, names=list(systemic.DIMENSIONS), source=str(ahp_matrix))[0]
            if matrix.shape == (4, 4)
            else systemic.ahp_weights(matrix, source=str(ahp_matrix))[0]
        )
    result = systemic.build_index(
        data,
        method,
        fill=fill,
        trend=trend,  # type: ignore[arg-type]  # checked by _check_flags
        **coverage,
        ahp_matrix=matrix if method == "ahp" else None,
        subjective=subjective,
        alpha=combine if combine is not None else 0.5,
        normalisation=normalise,
        ahp_source=str(ahp_matrix),
    )
    labels = [str(p) for p in result.composite.index]
    if stress_period is not None:
        stress_period = stress_period.strip()
    for flag, wanted in (("--crisis", crises), ("--stress-period", [stress_period])):
        unknown = [p for p in wanted if p is not None and p not in labels]
        if unknown:
            raise SpecError(
                "command line",
                Problem(
                    flag,
                    f"{', '.join(map(repr, unknown))} not among the index periods "
                    f"({', '.join(labels)})",
                ),
            )
    flags = systemic.threshold_flags(result.composite, k=threshold_k)
    regimes = None
    try:
        regimes = systemic.markov_switching(result.composite)
    except SpecError as exc:
        why = "; ".join(p.reason for p in exc.problems)
        out.print(styled(("Markov switching skipped", "yellow"), f": {why}"))
    t = Table(
        title=f"Systemic-risk index ({method}) from {data.source} ({data.frequency})",
        title_justify="left",
    )
    for col in (
        "Period",
        "Composite",
        *result.sub_indices.columns,
        "Indicators",
        f"Above mean+{threshold_k:g}sd",
        "P(high stress)",
    ):
        t.add_column(col, justify="left" if col == "Period" else "right")
    probs = (
        regimes["prob_high"].reindex(result.composite.index)
        if regimes is not None
        else pd.Series(float("nan"), index=result.composite.index)
    )
    sub_rows = result.sub_indices.to_numpy()
    n_ind = len(result.weights)
    for i, p in enumerate(result.composite.index):
        prob = "-" if pd.isna(probs.iloc[i]) else f"{float(probs.iloc[i]):.2f}"
        t.add_row(
            str(p),
            f"{float(result.composite.iloc[i]):.3f}",
            *["-" if math.isnan(v) else f"{v:.3f}" for v in sub_rows[i]],
            f"{int(result.coverage['indicators'][p])}/{n_ind}",
            "yes" if bool(flags.iloc[i]) else "",
            prob,
        )
    out.print(t)
    w = Table(title="Weights", title_justify="left")
    w.add_column("Indicator")
    w.add_column("Dimension")
    w.add_column("Weight", justify="right")
    for n, v in result.weights.sort_values(ascending=False).items():
        w.add_row(str(n), result.dimensions[str(n)], pct(float(v), 1))
    out.print(w)
    if result.consistency_ratio is not None:
        out.print(f"AHP consistency ratio: {result.consistency_ratio:.3f}")
    for note in result.notes:
        out.print(styled(("note", "yellow"), f": {note}"))
    report: dict[str, Any] = {
        "index": result.to_dict(),
        "missing": data.missing().to_dict(orient="records"),
        "threshold_flags": flags.astype(bool).tolist(),
    }
    if regimes is not None:
        report["markov"] = {"prob_high": regimes["prob_high"].tolist()}
    if crises:
        sig = systemic.signal_extraction(
            result.composite, crises, horizon=horizon, post_crisis=post_crisis
        )
        b = sig.best
        out.print(
            f"Signal extraction: best threshold {b['threshold']:.3f} (percentile "
            f"{b['percentile']:.0f}), noise-to-signal {b['noise_to_signal']:.2f}, "
            f"usefulness {b['usefulness']:.2f}"
        )
        report["signals"] = sig.table.to_dict(orient="records")
        comp = systemic.composite_signal(
            result.normalised, crises, horizon=horizon, post_crisis=post_crisis
        )
        used = comp.indicators.index[comp.indicators["used"]].tolist()
        out.print(
            "Composite signal (sum of signals / noise-to-signal) from "
            f"{', '.join(used) if used else 'no indicator (every NSR is 1 or more)'}"
        )
        report["composite_signal"] = {
            "indicators": comp.indicators.reset_index().to_dict(orient="records"),
            "composite": comp.composite.tolist(),
        }
    if stress_period is not None:
        mapping = systemic.StressMapping()
        level = systemic.stress_level(result, stress_period)
        shocks = mapping.shocks(level)
        report["stress"] = shocks
        out.print(
            f"Stress of {stress_period}: level {level:.2f}; defaults x"
            f"{shocks['default_multiplier']:.2f}, prepayment x"
            f"{shocks['prepayment_multiplier']:.2f}, recoveries -"
            f"{shocks['recovery_haircut']:.0%}, systematic factor shift "
            f"{shocks['factor_shift']:+.2f}"
        )
        if deal is not None:
            from greenabs.engine import run
            from greenabs.spec.io import load_deal

            d = load_deal(deal)
            base, hit = run(d).tranches(), run(mapping.stressed_deal(d, level)).tranches()
            dt = Table(
                title=f"{clip(d.name)} at the stress of {stress_period}", title_justify="left"
            )
            for col in ("Class", "WAL base", "WAL stressed", "Loss base", "Loss stressed"):
                dt.add_column(col, justify="left" if col == "Class" else "right")
            for (_, rb), (_, rs) in zip(base.iterrows(), hit.iterrows(), strict=True):
                dt.add_row(
                    clip(rb["name"]),
                    num(rb["wal"]),
                    num(rs["wal"]),
                    money(rb["principal_loss"]),
                    money(rs["principal_loss"]),
                )
            out.print(dt)
            report["deal"] = {
                "base": base.to_dict(orient="records"),
                "stressed": hit.to_dict(orient="records"),
            }
        if bank is not None:
            from greenabs.bank import load_bank, ratios

            bk = load_bank(bank)
            r_base, r_hit = ratios(bk), ratios(mapping.stressed_bank(bk, level))
            bt = Table(
                title=f"{clip(bk.name)}: risk-taking at the stress of {stress_period}",
                title_justify="left",
            )
            for col in ("Measure", "Base", "Stressed"):
                bt.add_column(col, justify="left" if col == "Measure" else "right")
            for label, key, kind in (
                ("Z-score", "z_score", "num"),
                ("RWA density", "rwa_density", "pct"),
                ("CET1 ratio", "cet1_ratio", "pct"),
                ("ROA", "roa", "pct"),
                ("Credit cost", "credit_cost", "money"),
            ):
                bt.add_row(label, fmt(getattr(r_base, key), kind), fmt(getattr(r_hit, key), kind))
            out.print(bt)
            report["bank"] = {"base": r_base.as_dict(), "stressed": r_hit.as_dict()}
    payload = rec.stamp(json.loads(json.dumps(_clean(report), default=str)))
    if json_file is not None:
        json_file.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        out.print(f"wrote {json_file}")
    from greenabs.cli.report import write_reports

    for path in write_reports("systemic", payload, html=chart, xlsx=xlsx):
        out.print(f"wrote {path}")
    rec.save()


def _check_flags(
    *,
    method: str,
    ahp_matrix: Path | None,
    combine: float | None,
    fill: str | None,
    normalise: str | None,
    threshold_k: float,
    min_coverage: float | None,
    period_coverage: float | None,
    frequency: str | None,
    trend: str,
    china: bool,
    crisis: str | None,
    horizon: int,
    post_crisis: int,
    stress_period: str | None,
    deal: Path | None,
    bank: Path | None,
) -> list[str]:
    """Refuse bad flag values before any work, naming the flag; returns the crisis periods."""
    from greenabs.systemic import FILLS, METHODS, NORMALISATIONS

    problems: list[Problem] = []
    for flag, noun, value, allowed in (
        ("--method", "method", method, METHODS),
        ("--fill", "fill method", fill, FILLS),
        ("--normalise", "normalisation", normalise, NORMALISATIONS),
    ):
        if value is not None and value not in allowed:
            problems.append(
                Problem(flag, f"unknown {noun} {value!r} (use one of {', '.join(allowed)})")
            )
    if method == "ahp" and ahp_matrix is None:
        problems.append(Problem("--method", "ahp needs --ahp-matrix"))
    if combine is not None:
        if ahp_matrix is None:
            problems.append(Problem("--combine", "needs --ahp-matrix"))
        if method in ("ahp", "ciss"):
            problems.append(Problem("--combine", f"cannot mix AHP weights into --method {method}"))
        if not (math.isfinite(combine) and 0.0 <= combine <= 1.0):
            problems.append(Problem("--combine", f"must lie between 0 and 1 (got {combine})"))
    elif ahp_matrix is not None and method != "ahp":
        problems.append(Problem("--ahp-matrix", "is used by --method ahp or with --combine"))
    if not math.isfinite(threshold_k):
        problems.append(Problem("--threshold-k", f"must be a finite number (got {threshold_k})"))
    for flag, share in (("--min-coverage", min_coverage), ("--period-coverage", period_coverage)):
        if share is not None and not (math.isfinite(share) and 0.0 <= share <= 1.0):
            problems.append(Problem(flag, f"must lie between 0 and 1 (got {share})"))
    if frequency is not None:
        if not china:
            problems.append(
                Problem("--frequency", "picks the China sample; a data file has its own")
            )
        elif frequency not in ("annual", "quarterly"):
            problems.append(
                Problem("--frequency", f"unknown frequency {frequency!r} (annual or quarterly)")
            )
        elif frequency == "quarterly" and method == "ciss":
            problems.append(
                Problem("--frequency", "no quarter of the China sample has all four dimensions")
            )
    if trend not in ("two_sided", "one_sided"):
        problems.append(Problem("--trend", f"unknown trend {trend!r} (two_sided or one_sided)"))
    if horizon < 0:
        problems.append(Problem("--horizon", f"must be 0 or more periods (got {horizon})"))
    if post_crisis < 0:
        problems.append(Problem("--post-crisis", f"must be 0 or more periods (got {post_crisis})"))
    crises = []
    if crisis is not None:
        crises = [c.strip() for c in crisis.split(",") if c.strip()]
        if not crises:
            problems.append(Problem("--crisis", "give crisis periods, e.g. 2015,2020"))
    if stress_period is None and (deal is not None or bank is not None):
        problems.append(Problem("--stress-period", "needed with --deal or --bank"))
    if problems:
        raise SpecError("command line", problems)
    return crises
