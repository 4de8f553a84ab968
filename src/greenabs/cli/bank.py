"""``greenabs bank``: a bank's ratios, a deal's effect on it, and OTH versus OTD."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from greenabs.cli.common import WideOpt, XlsxOpt, app, clip, fmt, money, out, pct, styled
from greenabs.cli.recording import NoStoreOpt, Recording
from greenabs.errors import Problem, SpecError

BANK_ROWS = (
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
    ("IRRBB: largest dEVE loss / Tier 1", "eve_outlier_ratio", "pct"),
    ("Z-score", "z_score", "num"),
    ("Liquidity creation / assets", "liquidity_creation_ratio", "pct"),
)


@app.command("bank")
def bank_cmd(
    ctx: typer.Context,
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
    chart: Annotated[
        Path | None, typer.Option("--chart", "--report", help="Write an HTML report with charts")
    ] = None,
    xlsx: XlsxOpt = None,
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
    no_store: NoStoreOpt = False,
    wide: WideOpt = False,
) -> None:
    """Ratios of a bank; with --deal, what the deal does to it; with a horizon, OTH vs OTD."""
    from dataclasses import asdict

    import pandas as pd

    from greenabs.bank import irr_gap, irrbb, load_bank, project, ratios, securitise
    from greenabs.engine import run
    from greenabs.results import _clean
    from greenabs.spec.io import load_deal

    rec = Recording(ctx, "bank")
    bank = load_bank(bank_file)
    bank_label = str(bank_file)
    given = [
        (k, flag, v)
        for k, flag, v in (
            ("segment_book", "--book", book),
            ("npl_share", "--npl-share", npl_share),
            ("face_per_pool", "--face-per-pool", face_per_pool),
        )
        if v is not None
    ]
    if given:
        from greenabs.bank.io import parse_bank

        bank_label = f"{bank_file} with " + " ".join(f"{flag} {v!r}" for _, flag, v in given)
        bank_data = bank.model_dump(by_alias=True)
        base = bank_data.get("securitisation") or {}
        bank_data["securitisation"] = {**base, **{k: v for k, _, v in given}}
        bank = parse_bank(bank_data, bank_label)
    if deal is not None and bank.securitisation is None:
        raise SpecError(
            bank_label,
            Problem(
                "securitisation", "pairing a deal needs a securitisation section (segment_book)"
            ),
        )
    result = run(load_deal(deal)) if deal is not None else None
    deal_label = str(deal)
    before = ratios(bank)
    impact = (
        securitise(bank, result, bank_source=bank_label, deal_source=deal_label)
        if result is not None
        else None
    )
    pr = (
        project(
            bank, result, quarters=horizon_quarters, bank_source=bank_label, deal_source=deal_label
        )
        if horizon_quarters
        else None
    )
    t = Table(title=f"{clip(bank.name)}  ({bank.currency}, {bank.date})", title_justify="left")
    t.add_column("Ratio")
    t.add_column("Now", justify="right")
    if impact is not None:
        t.add_column("After the deal", justify="right")
        t.add_column("Why", overflow="fold")
    after = impact.after_ratios.as_dict() if impact is not None else {}
    now = before.as_dict()
    for label, key, kind in BANK_ROWS:
        row = [label, fmt(now[key], kind)]
        if impact is not None:
            row += [fmt(after[key], kind), impact.explanations.get(key, "")]
        t.add_row(*row)
    out.print(t)
    shocks = irrbb(bank)
    it = Table(title="IRRBB: the six standard scenarios (Basel SRP31)", title_justify="left")
    for col in ("Scenario", "dEVE", "dEVE / Tier 1", "dNII (12m)"):
        it.add_column(col, justify="left" if col == "Scenario" else "right")
    for sc in shocks:
        it.add_row(
            sc["scenario"].replace("_", " "),
            money(sc["delta_eve"]),
            pct(sc["delta_eve_tier1"], 1),
            money(sc["delta_nii"]),
        )
    out.print(it)
    breaches = before.breaches(bank)
    checks = [("now", breaches)]
    if impact is not None:
        checks.append(("after the deal", impact.after_ratios.breaches(impact.after)))
    for when, miss in checks:
        out.print(
            styled(
                f"Regulatory minimums {when}: ",
                ("all met", "green") if not miss else ("; ".join(miss), "red"),
            )
        )
    if impact is not None:
        s = impact.sale
        out.print(
            f"Pool {money(s.pool)} from '{s.book}': proceeds {money(s.proceeds)}, gain on "
            f"sale {money(impact.gain)}; derecognised: {'yes' if s.derecognise else 'no'} "
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
                money(p.face),
                p.approach,
                pct(p.risk_weight, 1),
                money(p.fair_value * p.risk_weight),
                p.note,
            )
        out.print(rt)
    if pr is not None:
        ct = Table(title=f"OTH versus OTD after {horizon_quarters} quarters", title_justify="left")
        for col in ("Mechanism", "Metric", "Today", "OTH", "OTD"):
            ct.add_column(col, justify="left" if col in ("Mechanism", "Metric") else "right")
        for _, r in pr.compare().iterrows():
            if r["metric"] == "quarter":
                ct.add_row(
                    r["mechanism"],
                    "quarter shown",
                    *(str(int(r[c])) for c in ("today", "OTH", "OTD")),
                )
                continue
            kind = (
                "money"
                if r["metric"]
                in (
                    "net_interest_income",
                    "fee_income",
                    "gain_on_sale",
                    "net_income",
                    "credit_cost",
                    "loans",
                    "managed_loans",
                    "rwa_transferred",
                    "retained_exposure",
                    "securitised_outstanding",
                )
                else ("num" if r["metric"] == "z_score" else "pct")
            )
            ct.add_row(
                r["mechanism"],
                r["metric"],
                fmt(r["today"], kind),
                fmt(r["OTH"], kind),
                fmt(r["OTD"], kind),
            )
        out.print(ct)
        for e in pr.events:
            colour = "red" if e.kind == "failed" else "yellow"
            out.print(
                styled(
                    (f"{e.model} {e.kind}", colour),
                    f" in quarter {e.quarter} ({e.date}): {e.reason}",
                )
            )
    if json_file is not None or chart is not None or xlsx is not None or not no_store:
        data: dict[str, Any] = {
            "bank": bank.name,
            "date": bank.date,
            "ratios": now,
            "breaches": breaches,
            "irrbb": shocks,
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
                "after_breaches": impact.after_ratios.breaches(impact.after),
            }
        if pr is not None:
            data["projection"] = pr.frame().to_dict(orient="records")
            data["projection_compare"] = pr.compare().to_dict(orient="records")
            data["projection_events"] = [asdict(e) for e in pr.events]
        data = rec.stamp(_clean(data), deal=result.deal if result is not None else None)
        if json_file is not None:
            json_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
            out.print(f"wrote {json_file}")
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([now]).to_csv(csv_dir / "ratios.csv", index=False)
        pd.DataFrame(irr_gap(bank)).to_csv(csv_dir / "repricing_gap.csv", index=False)
        pd.DataFrame(shocks).to_csv(csv_dir / "irrbb.csv", index=False)
        if impact is not None:
            pd.DataFrame(impact.table()).to_csv(csv_dir / "transaction.csv", index=False)
        if pr is not None:
            pr.frame().to_csv(csv_dir / "projection.csv", index=False)
            pd.DataFrame(
                [asdict(e) for e in pr.events],
                columns=["model", "quarter", "date", "kind", "reason"],
            ).to_csv(csv_dir / "projection_events.csv", index=False)
        out.print(f"wrote tables to {csv_dir}/")
    if chart is not None or xlsx is not None:
        from greenabs.cli.report import write_reports

        for path in write_reports("bank", data, html=chart, xlsx=xlsx):
            out.print(f"wrote {path}")
    rec.save()
