"""Deal commands: ``greenabs run``, ``greenabs validate``, ``greenabs schema``."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from greenabs.cli.common import WideOpt, XlsxOpt, app, clip, money, num, out, pct, styled
from greenabs.cli.recording import NoStoreOpt, Recording
from greenabs.errors import Problem, SpecError


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
    for flag, value in (
        ("--cpr", cpr),
        ("--psa", psa),
        ("--cdr", cdr),
        ("--sda", sda),
        ("--recovery-rate", recovery_rate),
    ):
        if value is not None and not math.isfinite(value):
            raise SpecError("<argument>", Problem(flag, f"must be a finite number (got {value})"))
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
        ch["receivable"] = {"delay_months": receivable_delay}
    if no_call:
        ch["call_exercise"] = False
    return ch


def _settle(text: str | None) -> Any:
    """The ``--settle`` date, or a clear error naming the flag."""
    if text is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SpecError(
            "<argument>", Problem("--settle", f"expected a date YYYY-MM-DD, got {text!r}")
        ) from None


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
        name, sep, text = v.partition("=")
        if not sep:
            raise SpecError(
                "<argument>", Problem(flag, f"expected CLASS=NUMBER, got {clip(repr(v))}")
            )
        if name not in names:
            known = ", ".join(clip(n, 40) for n in names)
            raise SpecError(
                "<argument>", Problem(flag, f"unknown class {clip(repr(name))} (known: {known})")
            )
        try:
            number = float(text)
        except ValueError:
            raise SpecError(
                "<argument>", Problem(flag, f"{clip(repr(text))} is not a number")
            ) from None
        if not math.isfinite(number):
            raise SpecError(
                "<argument>", Problem(flag, f"{name}: must be a finite number (got {text!r})")
            )
        out.append((name, number))
    return out


def _priced(flag: str, name: str, what: str, price_of: Any) -> float:
    """``price_of()`` as a finite float; any refusal or a non-finite price names ``flag``."""
    try:
        price = float(price_of())
    except SpecError as exc:
        raise SpecError(
            "<argument>", [Problem(flag, f"{name}: {p.reason}") for p in exc.problems]
        ) from None
    except (ValueError, ArithmeticError) as exc:
        raise SpecError("<argument>", Problem(flag, f"{name}: {exc}")) from None
    if not math.isfinite(price):
        raise SpecError("<argument>", Problem(flag, f"{name}: no finite price at {what}"))
    return price


def _prices(result: Any, at_yield: list[str], at_dm: list[str]) -> list[dict[str, Any]]:
    """Prices at the requested yields and discount margins; one without a finite price (a
    yield of -100% a period or below) is refused naming the flag."""
    rows = []
    freq = result.calendar.frequency.per_year
    for name, y in _pairs("--price-at-yield", at_yield, result):
        if y <= -freq:
            raise SpecError(
                "<argument>",
                Problem(
                    "--price-at-yield",
                    f"{name}: a yield of {y:g} is a loss of 100% or more a period; it must be "
                    f"above {-freq} (the deal pays {freq} times a year)",
                ),
            )
        price = _priced(
            "--price-at-yield", name, f"a yield of {y:g}", lambda n=name, y=y: result.price(n, y)
        )
        rows.append({"class": name, "yield": y, "price": price})
    for name, dm in _pairs("--price-at-dm", at_dm, result):
        price = _priced(
            "--price-at-dm",
            name,
            f"a discount margin of {dm:g} (index plus margin must stay above -100% a period)",
            lambda n=name, dm=dm: result.price_at_dm(n, dm),
        )
        rows.append({"class": name, "discount_margin": dm, "price": price})
    return rows


def _print_result(result: Any) -> None:
    s = result.summary()
    head = Table(
        title=f"{clip(s['name'])}  ({s['currency']})", show_header=False, title_justify="left"
    )
    head.add_column(style="bold")
    head.add_column(justify="right")
    rows = [
        ("Cut-off / closing", f"{s['cutoff']} / {s['closing']}"),
        ("Assets", f"{s['n_assets']:,}"),
        ("Pool balance", money(s["pool_balance"])),
        ("Notes issued", money(s["notes_balance"])),
        ("Cash collected", money(s["cash_collected"])),
        ("Cumulative default", money(s["cumulative_default"])),
        ("Cumulative loss", f"{money(s['cumulative_loss'])} ({pct(s['cumulative_loss_rate'])})"),
        ("Average excess spread (p.a.)", pct(s["average_excess_spread"])),
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
            clip(r["name"]) + (" (residual)" if r["residual"] else ""),
            money(r["original_balance"]),
            "-" if r["residual"] else pct(r["coupon"]),
            num(r["wal"]),
            pct(r["yield"]),
            num(r["modified_duration"]),
            window,
            str(r["final_payment_date"] or "-"),
            money(r["principal_loss"]),
            money(r["interest_shortfall"]),
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
                clip(c.removeprefix("trigger_")),
                str(flows.loc[hit[0], "date"]) if len(hit) else "never",
            )
        out.print(tg)
    for sup in result.deal.structure.supports:
        rec = result.waterfall.supports.get(sup.name)
        if rec is None:
            continue
        drawn = float(rec["draw"][0].sum())
        left = float(rec["limit_left"][0][-1])
        out.print(
            f"Support {clip(sup.name, 40)} ({sup.kind}, {clip(sup.provider, 40)}): drew "
            f"{money(drawn)}, limit left {money(left)}"
        )
    ret = result.retention
    if ret is not None:
        verdict = (
            styled(("complies", "green"))
            if ret.compliant
            else styled(("does not comply", "red"), ": " + "; ".join(ret.reasons))
        )
        out.print(
            styled(
                f"Risk retention ({ret.form}, {clip(ret.holder)}): {money(ret.total_retained)} = "
                f"{ret.share_of_issue:.2%} of the issue, ",
            )
            + verdict
        )


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    deal_file: Annotated[Path, typer.Argument(help="Deal file (YAML)")],
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write every result as JSON")
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv-dir", help="Write cash-flow tables as CSV")
    ] = None,
    xlsx: XlsxOpt = None,
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
    settle: Annotated[
        str | None,
        typer.Option(help="Settlement date for yields and prices, YYYY-MM-DD (default: closing)"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no tables")] = False,
    wide: WideOpt = False,
    no_store: NoStoreOpt = False,
) -> None:
    """Run a deal end to end: pool projection, waterfall, analytics."""
    from greenabs.engine import run
    from greenabs.spec.io import load_deal

    rec = Recording(ctx, "run")
    deal = load_deal(deal_file)
    deal = _apply(
        deal, _overrides(cpr, psa, cdr, sda, recovery_rate, recovery_lag, receivable_delay, no_call)
    )
    result = run(deal, backend=backend, loan_level=loan_level, settle=_settle(settle))
    prices = _prices(result, price_at_yield or [], price_at_dm or [])
    if not quiet:
        _print_result(result)
    if prices:
        pt = Table(title="Prices per 100", title_justify="left")
        for col in ("Class", "Yield", "Discount margin", "Price"):
            pt.add_column(col, justify="left" if col == "Class" else "right")
        for p in prices:
            pt.add_row(
                clip(p["class"]),
                pct(p.get("yield")),
                pct(p.get("discount_margin")),
                f"{p['price']:.4f}",
            )
        out.print(pt)
    data = result.to_dict()
    if prices:
        data["prices"] = prices
    if json_file is not None or report is not None or xlsx is not None:
        from greenabs.pool_analytics import analyse_pool

        # for the documents only: on a large pool it takes many times the run itself
        data["pool_analytics"] = analyse_pool(result.deal).to_dict()
    data = rec.stamp(data, deal=result.deal, backend=backend)
    if json_file is not None:
        json_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
        out.print(f"wrote {json_file}")
    if csv_dir is not None:
        files = result.to_csv_dir(csv_dir)
        out.print(f"wrote {len(files)} tables to {csv_dir}/")
    from greenabs.cli.report import write_reports

    for path in write_reports("run", data, html=report, xlsx=xlsx):
        out.print(f"wrote {path}")
    rec.save()


@app.command("validate")
def validate_cmd(
    deal_file: Annotated[Path, typer.Argument(help="Deal file or bank file (YAML)")],
) -> None:
    """Check a deal file (and its loan tape), or a bank file, without running it."""
    from greenabs.bank.io import is_bank_data, parse_bank
    from greenabs.spec.io import parse_deal, read_yaml

    data = read_yaml(deal_file)
    if is_bank_data(data):
        bank = parse_bank(data, str(deal_file), deal_file.parent)
        out.print(
            styled(
                ("valid bank file", "green"),
                f": {clip(bank.name)} ({bank.currency}, {bank.date}): total assets "
                f"{money(bank.total_assets)}, {len(bank.loans)} loan books, "
                f"{len(bank.deposits)} deposit categories; run it with greenabs bank "
                f"{deal_file}",
            )
        )
        return
    deal = parse_deal(data, str(deal_file), deal_file.parent)
    st = deal.structure
    out.print(
        styled(
            ("valid", "green"),
            f": {clip(deal.name)}: {len(deal.pool.assets):,} assets, pool "
            f"{money(deal.pool.balance)} {deal.currency}; tranches "
            + ", ".join(f"{clip(t.name, 40)} {money(t.balance)}" for t in st.tranches)
            + f"; {len(st.waterfall)} waterfall steps",
        )
    )


@app.command("schema")
def schema_cmd(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file")] = None,
    bank: Annotated[
        bool, typer.Option("--bank", help="The schema of bank files instead of deal files")
    ] = False,
) -> None:
    """Print the JSON Schema of deal files, or of bank files (for editor completion and
    checks)."""
    from greenabs.bank.io import bank_schema
    from greenabs.spec.io import deal_schema

    text = json.dumps(bank_schema() if bank else deal_schema(), indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"wrote {output}")
