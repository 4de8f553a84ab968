"""Command line: ``greenabs run | validate | schema``.

Every error a user can cause ends in one clear message on stderr and exit code 1; usage errors
(an unknown flag) exit 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from greenabs.errors import GreenabsError, Problem, SpecError

app = typer.Typer(
    name="greenabs",
    help="Securitise green-industry assets: project pools, run waterfalls, price tranches.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 150)


def _money(v: float) -> str:
    return f"{v:,.2f}"


def _pct(v: float | None, digits: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}%}"


def _num(v: float | None, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _overrides(
    cpr: float | None,
    psa: float | None,
    cdr: float | None,
    sda: float | None,
    recovery_rate: float | None,
    recovery_lag: int | None,
    receivable_delay: int | None,
    no_call: bool,
) -> dict[str, Any]:
    ch: dict[str, Any] = {}
    if cpr is not None and psa is not None:
        raise SpecError("<argument>", Problem("--cpr/--psa", "give one of them, not both"))
    if cdr is not None and sda is not None:
        raise SpecError("<argument>", Problem("--cdr/--sda", "give one of them, not both"))
    if cpr is not None:
        ch["prepayment"] = {"cpr": cpr}
    if psa is not None:
        ch["prepayment"] = {"psa": psa}
    if cdr is not None:
        ch["default"] = {"cdr": cdr}
    if sda is not None:
        ch["default"] = {"sda": sda}
    if recovery_rate is not None or recovery_lag is not None:
        ch["recovery"] = {"rate": recovery_rate, "lag_months": recovery_lag}
    if receivable_delay is not None:
        ch["receivable_delay_months"] = receivable_delay
    if no_call:
        ch["call_exercise"] = False
    return ch


def _apply(deal: Any, changes: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from greenabs.engine import with_assumptions
    from greenabs.spec.io import problems_from

    if "recovery" in changes:
        base = deal.assumptions.recovery
        rec = changes["recovery"]
        changes["recovery"] = {
            "rate": base.rate if rec["rate"] is None else rec["rate"],
            "lag_months": base.lag_months if rec["lag_months"] is None else rec["lag_months"],
        }
    try:
        return with_assumptions(deal, **changes) if changes else deal
    except ValidationError as exc:
        raise SpecError("<argument>", problems_from(exc, "assumptions")) from None


def _pairs(flag: str, values: list[str], result: Any) -> list[tuple[str, float]]:
    """Parse ``CLASS=NUMBER`` arguments, naming the flag and the value when one is wrong."""
    names = [t.name for t in result.deal.structure.tranches]
    out = []
    for v in values:
        name, sep, num = v.partition("=")
        if not sep:
            raise SpecError("<argument>", Problem(flag, f"expected CLASS=NUMBER, got {v!r}"))
        if name not in names:
            raise SpecError(
                "<argument>", Problem(flag, f"unknown class {name!r} (known: {', '.join(names)})")
            )
        try:
            out.append((name, float(num)))
        except ValueError:
            raise SpecError("<argument>", Problem(flag, f"{num!r} is not a number")) from None
    return out


def _prices(result: Any, at_yield: list[str], at_dm: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name, y in _pairs("--price-at-yield", at_yield, result):
        rows.append({"class": name, "yield": y, "price": result.price(name, y)})
    for name, dm in _pairs("--price-at-dm", at_dm, result):
        try:
            price = result.price_at_dm(name, dm)
        except ValueError as exc:
            raise SpecError("<argument>", Problem("--price-at-dm", str(exc))) from None
        rows.append({"class": name, "discount_margin": dm, "price": price})
    return rows


def _print_result(result: Any) -> None:
    s = result.summary()
    head = Table(title=f"{s['name']}  ({s['currency']})", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column(justify="right")
    rows = [
        ("Cut-off / closing", f"{s['cutoff']} / {s['closing']}"),
        ("Assets", f"{s['n_assets']:,}"),
        ("Pool balance", _money(s["pool_balance"])),
        ("Notes issued", _money(s["notes_balance"])),
        ("Cash collected", _money(s["cash_collected"])),
        ("Cumulative default", _money(s["cumulative_default"])),
        ("Cumulative loss", f"{_money(s['cumulative_loss'])} ({_pct(s['cumulative_loss_rate'])})"),
        ("Average excess spread (p.a.)", _pct(s["average_excess_spread"])),
        ("Clean-up call", str(s["call_date"] or "not exercised")),
        ("Payment dates", str(s["n_periods"])),
        ("Cash audit (max difference)", f"{s['max_audit_difference']:.2e}  OK"),
    ]
    for k, v in rows:
        head.add_row(k, v)
    out.print(head)
    tt = Table(title="Tranches", title_justify="left")
    for col in (
        "Class",
        "Balance",
        "Coupon",
        "WAL (y)",
        "Yield",
        "Mod. dur.",
        "Principal window",
        "Final payment",
        "Loss",
        "Int. shortfall",
    ):
        tt.add_column(
            col, justify="left" if col in ("Class", "Principal window") else "right", no_wrap=True
        )
    for _, r in result.tranches().iterrows():
        window = (
            f"{r['principal_window_start']} - {r['principal_window_end']}"
            if r["principal_window_start"]
            else "-"
        )
        tt.add_row(
            str(r["name"]) + (" (residual)" if r["residual"] else ""),
            _money(r["original_balance"]),
            "-" if r["residual"] else _pct(r["coupon"]),
            _num(r["wal"]),
            _pct(r["yield"]),
            _num(r["modified_duration"]),
            window,
            str(r["final_payment_date"] or "-"),
            _money(r["principal_loss"]),
            _money(r["interest_shortfall"]),
        )
    out.print(tt)
    flows = result.deal_flows()
    trig = [c for c in flows.columns if c.startswith("trigger_")]
    if trig:
        tg = Table(title="Triggers", title_justify="left")
        tg.add_column("Trigger")
        tg.add_column("First breached")
        for c in trig:
            hit = flows.index[flows[c]]
            tg.add_row(
                c.removeprefix("trigger_"), str(flows.loc[hit[0], "date"]) if len(hit) else "never"
            )
        out.print(tg)
    ret = result.retention
    if ret is not None:
        verdict = (
            "[green]complies[/]"
            if ret.compliant
            else "[red]does not comply[/]: " + "; ".join(ret.reasons)
        )
        out.print(
            f"Risk retention ({ret.form}, {ret.holder}): {_money(ret.total_retained)} = "
            f"{ret.share_of_issue:.2%} of the issue, {verdict}"
        )


@app.command("run")
def run_cmd(
    deal_file: Annotated[Path, typer.Argument(help="Deal file (YAML)")],
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write every result as JSON")
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv-dir", help="Write cash-flow tables as CSV")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write every table to an Excel workbook")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report with charts")
    ] = None,
    backend: Annotated[
        str, typer.Option(help="Collateral kernel: numpy, numba, cupy (GPU) or auto")
    ] = "numpy",
    loan_level: Annotated[
        bool, typer.Option("--loan-level", help="Keep per-asset flows (CSV)")
    ] = False,
    cpr: Annotated[float | None, typer.Option(help="Override: constant CPR")] = None,
    psa: Annotated[float | None, typer.Option(help="Override: PSA speed (100 = 100%)")] = None,
    cdr: Annotated[float | None, typer.Option(help="Override: constant CDR")] = None,
    sda: Annotated[float | None, typer.Option(help="Override: SDA speed (100 = 100%)")] = None,
    recovery_rate: Annotated[float | None, typer.Option(help="Override: recovery rate")] = None,
    recovery_lag: Annotated[
        int | None, typer.Option(help="Override: recovery lag (months)")
    ] = None,
    receivable_delay: Annotated[
        int | None, typer.Option(help="Override: extra months receivables are late")
    ] = None,
    price_at_yield: Annotated[
        list[str] | None,
        typer.Option(help="Price a class at a yield, CLASS=YIELD (repeatable)"),
    ] = None,
    price_at_dm: Annotated[
        list[str] | None,
        typer.Option(help="Price a floating class at a discount margin, CLASS=DM (repeatable)"),
    ] = None,
    no_call: Annotated[
        bool, typer.Option("--no-call", help="Do not exercise the clean-up call")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no tables")] = False,
) -> None:
    """Run a deal end to end: pool projection, waterfall, analytics."""
    from greenabs.engine import run
    from greenabs.spec.io import load_deal

    deal = load_deal(deal_file)
    deal = _apply(
        deal, _overrides(cpr, psa, cdr, sda, recovery_rate, recovery_lag, receivable_delay, no_call)
    )
    result = run(deal, backend=backend, loan_level=loan_level)
    prices = _prices(result, price_at_yield or [], price_at_dm or [])
    if not quiet:
        _print_result(result)
    if prices:
        pt = Table(title="Prices per 100", title_justify="left")
        for col in ("Class", "Yield", "Discount margin", "Price"):
            pt.add_column(col, justify="left" if col == "Class" else "right")
        for p in prices:
            pt.add_row(
                p["class"],
                _pct(p.get("yield")),
                _pct(p.get("discount_margin")),
                f"{p['price']:.4f}",
            )
        out.print(pt)
    if json_file is not None:
        data = result.to_dict()
        if prices:
            data["prices"] = prices
        json_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
        out.print(f"wrote {json_file}")
    if csv_dir is not None:
        files = result.to_csv_dir(csv_dir)
        out.print(f"wrote {len(files)} tables to {csv_dir}/")
    if xlsx is not None:
        result.to_excel(xlsx)
        out.print(f"wrote {xlsx}")
    if report is not None:
        from greenabs.report import write_report

        write_report(result, report)
        out.print(f"wrote {report}")


@app.command("validate")
def validate_cmd(deal_file: Annotated[Path, typer.Argument(help="Deal file (YAML)")]) -> None:
    """Check a deal file (and its loan tape) without running it."""
    from greenabs.spec.io import load_deal

    deal = load_deal(deal_file)
    st = deal.structure
    out.print(
        f"[green]valid[/]: {deal.name}: {len(deal.pool.assets):,} assets, pool "
        f"{_money(deal.pool.balance)} {deal.currency}; tranches "
        + ", ".join(f"{t.name} {_money(t.balance)}" for t in st.tranches)
        + f"; {len(st.waterfall)} waterfall steps"
    )


@app.command("schema")
def schema_cmd(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file")] = None,
) -> None:
    """Print the JSON Schema of deal files (for editor completion and checks)."""
    from greenabs.spec.io import deal_schema

    text = json.dumps(deal_schema(), indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"wrote {output}")


_BANK_ROWS = (
    ("CET1 ratio", "cet1_ratio", "pct"),
    ("Tier 1 ratio", "tier1_ratio", "pct"),
    ("Total capital ratio", "total_capital_ratio", "pct"),
    ("Leverage ratio", "leverage_ratio", "pct"),
    ("LCR", "lcr", "pct"),
    ("NSFR", "nsfr", "pct"),
    ("Liquidity ratio", "liquidity_ratio", "pct"),
    ("Loan-to-deposit", "loan_to_deposit", "pct"),
    ("NPL ratio", "npl_ratio", "pct"),
    ("Provision coverage", "provision_coverage", "pct"),
    ("Loan provision ratio", "loan_provision_ratio", "pct"),
    ("ROA", "roa", "pct"),
    ("ROE", "roe", "pct"),
    ("Net interest margin", "nim", "pct"),
    ("Fee share of income", "fee_share", "pct"),
    ("RWA density", "rwa_density", "pct"),
    ("RWA", "rwa", "money"),
    ("Net income", "net_income", "money"),
    ("dEVE +200bp", "delta_eve_up", "money"),
    ("dEVE -200bp", "delta_eve_down", "money"),
    ("dNII +200bp (12m)", "delta_nii_up", "money"),
    ("dNII -200bp (12m)", "delta_nii_down", "money"),
    ("Z-score", "z_score", "num"),
    ("Liquidity creation / assets", "liquidity_creation_ratio", "pct"),
)


def _fmt(v: float, kind: str) -> str:
    if kind == "pct":
        return _pct(v, 2)
    if kind == "money":
        return _money(v)
    return _num(v, 2)


@app.command("bank")
def bank_cmd(
    bank_file: Annotated[Path, typer.Argument(help="Bank file (YAML)")],
    deal: Annotated[
        Path | None, typer.Option("--deal", help="Deal file the bank originates")
    ] = None,
    horizon_quarters: Annotated[
        int,
        typer.Option(
            "--horizon-quarters",
            min=0,
            max=200,
            help="Project OTH versus OTD for N quarters (0: no projection)",
        ),
    ] = 0,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write every result as JSON")
    ] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Write the charts as HTML")] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv-dir", help="Write the tables as CSV")
    ] = None,
    book: Annotated[
        str | None, typer.Option("--book", help="Override: loan book the pool comes from")
    ] = None,
    npl_share: Annotated[
        float | None,
        typer.Option("--npl-share", help="Override: non-performing share of the pool"),
    ] = None,
    face_per_pool: Annotated[
        float | None,
        typer.Option("--face-per-pool", help="Override: book face per unit of deal pool (NPLs)"),
    ] = None,
) -> None:
    """Ratios of a bank; with --deal, what the deal does to it; with a horizon, OTH vs OTD."""
    from dataclasses import asdict

    import pandas as pd

    from greenabs.bank import irr_gap, load_bank, project, ratios, securitise
    from greenabs.engine import run
    from greenabs.results import _clean
    from greenabs.spec.io import load_deal

    bank = load_bank(bank_file)
    overrides = {
        k: v
        for k, v in (
            ("segment_book", book),
            ("npl_share", npl_share),
            ("face_per_pool", face_per_pool),
        )
        if v is not None
    }
    if overrides:
        from greenabs.bank.io import parse_bank

        bank_data = bank.model_dump(by_alias=True)
        base = bank_data.get("securitisation") or {}
        bank_data["securitisation"] = {**base, **overrides}
        bank = parse_bank(bank_data, "<argument>")
    result = run(load_deal(deal)) if deal is not None else None
    before = ratios(bank)
    impact = securitise(bank, result) if result is not None else None
    if result is not None and bank.securitisation is None:
        raise SpecError(
            str(bank_file),
            Problem(
                "securitisation", "pairing a deal needs a securitisation section (segment_book)"
            ),
        )
    pr = project(bank, result, quarters=horizon_quarters) if horizon_quarters else None
    t = Table(title=f"{bank.name}  ({bank.currency}, {bank.date})", title_justify="left")
    t.add_column("Ratio")
    t.add_column("Now", justify="right")
    if impact is not None:
        t.add_column("After the deal", justify="right")
        t.add_column("Why", overflow="fold")
    after = impact.after_ratios.as_dict() if impact is not None else {}
    now = before.as_dict()
    for label, key, kind in _BANK_ROWS:
        row = [label, _fmt(now[key], kind)]
        if impact is not None:
            row += [_fmt(after[key], kind), impact.explanations.get(key, "")]
        t.add_row(*row)
    out.print(t)
    checks = [("now", before.breaches(bank))]
    if impact is not None:
        checks.append(("after the deal", impact.after_ratios.breaches(impact.after)))
    for when, miss in checks:
        out.print(
            f"Regulatory minimums {when}: "
            + ("[green]all met[/]" if not miss else "[red]" + "; ".join(miss) + "[/]")
        )
    if impact is not None:
        s = impact.sale
        out.print(
            f"Pool {_money(s.pool)} from '{s.book}': proceeds {_money(s.proceeds)}, gain on "
            f"sale {_money(impact.gain)}; derecognised: {'yes' if s.derecognise else 'no'} "
            f"(variability retained {s.details['variability_retained']:.1%}); significant "
            f"risk transfer: {'yes' if s.srt else 'no'} ({s.details['srt_measure']:.1%} "
            f"retained, limit {s.details['srt_limit']:.0%})"
        )
        rt = Table(title="Retained positions", title_justify="left")
        for col in ("Tranche", "Face", "Approach", "Risk weight", "RWA", "Note"):
            rt.add_column(
                col, justify="left" if col in ("Tranche", "Approach", "Note") else "right"
            )
        for p in s.retained:
            rt.add_row(
                p.tranche,
                _money(p.face),
                p.approach,
                _pct(p.risk_weight, 1),
                _money(p.fair_value * p.risk_weight),
                p.note,
            )
        out.print(rt)
    if pr is not None:
        ct = Table(title=f"OTH versus OTD after {horizon_quarters} quarters", title_justify="left")
        for col in ("Mechanism", "Metric", "Today", "OTH", "OTD"):
            ct.add_column(col, justify="left" if col in ("Mechanism", "Metric") else "right")
        for _, r in pr.compare().iterrows():
            kind = (
                "money"
                if r["metric"]
                in (
                    "net_interest_income",
                    "fee_income",
                    "gain_on_sale",
                    "rwa_transferred",
                    "retained_exposure",
                    "securitised_outstanding",
                )
                else ("num" if r["metric"] == "z_score" else "pct")
            )
            ct.add_row(
                r["mechanism"],
                r["metric"],
                _fmt(r["today"], kind),
                _fmt(r["OTH"], kind),
                _fmt(r["OTD"], kind),
            )
        out.print(ct)
    if json_file is not None:
        data: dict[str, Any] = {
            "bank": bank.name,
            "date": bank.date,
            "ratios": now,
            "repricing_gap": irr_gap(bank),
        }
        if impact is not None:
            data["transaction"] = {
                "table": impact.table(),
                "gain": impact.gain,
                "derecognised": impact.sale.derecognise,
                "srt": impact.sale.srt,
                "retained": [asdict(p) for p in impact.sale.retained],
                "details": impact.sale.details,
                "after_ratios": after,
            }
        if pr is not None:
            data["projection"] = pr.frame().to_dict(orient="records")
            data["projection_compare"] = pr.compare().to_dict(orient="records")
        json_file.write_text(json.dumps(_clean(data), indent=1), encoding="utf-8")
        out.print(f"wrote {json_file}")
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([now]).to_csv(csv_dir / "ratios.csv", index=False)
        pd.DataFrame(irr_gap(bank)).to_csv(csv_dir / "repricing_gap.csv", index=False)
        if impact is not None:
            pd.DataFrame(impact.table()).to_csv(csv_dir / "transaction.csv", index=False)
        if pr is not None:
            pr.frame().to_csv(csv_dir / "projection.csv", index=False)
        out.print(f"wrote tables to {csv_dir}/")
    if chart is not None:
        from greenabs.bank.charts import write_bank_report

        write_bank_report(chart, bank.name, impact=impact, projection=pr)
        out.print(f"wrote {chart}")


@app.command("systemic")
def systemic_cmd(
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
    min_coverage: Annotated[float, typer.Option(help="Minimum share of periods with data")] = 0.6,
    crisis: Annotated[
        str | None, typer.Option(help="Crisis periods for signal extraction, e.g. 2015,2020")
    ] = None,
    horizon: Annotated[int, typer.Option(help="Signal horizon in periods")] = 1,
    stress_period: Annotated[
        str | None,
        typer.Option("--stress-period", help="Run --deal/--bank at this period's stress"),
    ] = None,
    deal: Annotated[Path | None, typer.Option("--deal", help="Deal file to stress")] = None,
    bank: Annotated[Path | None, typer.Option("--bank", help="Bank file to stress")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write every result")] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Write the charts as HTML")] = None,
) -> None:
    """Composite systemic-risk index of the paper's 14 indicators, early warning, stress."""
    import pandas as pd

    from greenabs import systemic
    from greenabs.results import _clean

    data = systemic.china_sample() if data_file == "china" else systemic.load_indicators(data_file)
    matrix = None
    if ahp_matrix is not None:
        try:
            frame = pd.read_csv(ahp_matrix, header=None, comment="#")
            matrix = frame.apply(lambda c: c.map(lambda v: float(eval_fraction(str(v))))).to_numpy()
        except (OSError, ValueError) as exc:
            raise SpecError(
                str(ahp_matrix), Problem("", f"cannot read the matrix ({exc})")
            ) from None
    subjective = None
    if combine is not None:
        if matrix is None:
            raise SpecError("<argument>", Problem("--combine", "needs --ahp-matrix"))
        subjective = (
            systemic.ahp_weights(matrix, names=list(systemic.DIMENSIONS))[0]
            if matrix.shape == (4, 4)
            else systemic.ahp_weights(matrix)[0]
        )
    result = systemic.build_index(
        data,
        method,
        fill=fill,
        min_coverage=min_coverage,
        ahp_matrix=matrix,
        subjective=subjective,
        alpha=combine if combine is not None else 0.5,
        normalisation=normalise,
    )
    flags = systemic.threshold_flags(result.composite, k=threshold_k)
    regimes = None
    try:
        regimes = systemic.markov_switching(result.composite)
    except GreenabsError as exc:
        out.print(f"[yellow]Markov switching skipped[/]: {exc}")
    t = Table(
        title=f"Systemic-risk index ({method}) from {data.source} ({data.frequency})",
        title_justify="left",
    )
    for col in (
        "Period",
        "Composite",
        *result.sub_indices.columns,
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
    for i, p in enumerate(result.composite.index):
        prob = "-" if pd.isna(probs.iloc[i]) else f"{float(probs.iloc[i]):.2f}"
        t.add_row(
            str(p),
            f"{float(result.composite.iloc[i]):.3f}",
            *[f"{v:.3f}" for v in sub_rows[i]],
            "yes" if bool(flags.iloc[i]) else "",
            prob,
        )
    out.print(t)
    w = Table(title="Weights", title_justify="left")
    w.add_column("Indicator")
    w.add_column("Dimension")
    w.add_column("Weight", justify="right")
    for n, v in result.weights.sort_values(ascending=False).items():
        w.add_row(str(n), result.dimensions[str(n)], _pct(float(v), 1))
    out.print(w)
    if result.consistency_ratio is not None:
        out.print(f"AHP consistency ratio: {result.consistency_ratio:.3f}")
    for note in result.notes:
        out.print(f"[yellow]note[/]: {note}")
    report: dict[str, Any] = {
        "index": result.to_dict(),
        "missing": data.missing().to_dict(orient="records"),
        "threshold_flags": flags.astype(bool).tolist(),
    }
    if regimes is not None:
        report["markov"] = {"prob_high": regimes["prob_high"].tolist()}
    if crisis:
        sig = systemic.signal_extraction(
            result.composite, [c.strip() for c in crisis.split(",")], horizon=horizon
        )
        b = sig.best
        out.print(
            f"Signal extraction: best threshold {b['threshold']:.3f} (percentile "
            f"{b['percentile']:.0f}), noise-to-signal {b['noise_to_signal']:.2f}, "
            f"usefulness {b['usefulness']:.2f}"
        )
        report["signals"] = sig.table.to_dict(orient="records")
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
            dt = Table(title=f"{d.name} at the stress of {stress_period}", title_justify="left")
            for col in ("Class", "WAL base", "WAL stressed", "Loss base", "Loss stressed"):
                dt.add_column(col, justify="left" if col == "Class" else "right")
            for (_, rb), (_, rs) in zip(base.iterrows(), hit.iterrows(), strict=True):
                dt.add_row(
                    str(rb["name"]),
                    _num(rb["wal"]),
                    _num(rs["wal"]),
                    _money(rb["principal_loss"]),
                    _money(rs["principal_loss"]),
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
                title=f"{bk.name}: risk-taking at the stress of {stress_period}",
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
                bt.add_row(label, _fmt(getattr(r_base, key), kind), _fmt(getattr(r_hit, key), kind))
            out.print(bt)
            report["bank"] = {"base": r_base.as_dict(), "stressed": r_hit.as_dict()}
    elif deal is not None or bank is not None:
        raise SpecError("<argument>", Problem("--stress-period", "needed with --deal or --bank"))
    if json_file is not None:
        json_file.write_text(json.dumps(_clean(report), indent=1, default=str), encoding="utf-8")
        out.print(f"wrote {json_file}")
    if chart is not None:
        from greenabs.systemic.charts import write_systemic_report

        stress = regimes["high_stress"] if regimes is not None else flags
        write_systemic_report(chart, result, stress)
        out.print(f"wrote {chart}")


def eval_fraction(text: str) -> float:
    """A number or a fraction such as ``1/3`` (AHP matrices are written that way)."""
    num, sep, den = text.strip().partition("/")
    return float(num) / float(den) if sep else float(num)


def main() -> None:
    """Entry point of the ``greenabs`` console script."""
    try:
        app()
    except GreenabsError as exc:
        err.print(f"[bold red]error[/]: {exc}", highlight=False, markup=True)
        raise SystemExit(1) from None
    except OSError as exc:
        err.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
