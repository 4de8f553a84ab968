"""Breakeven command: ``greenabs breakeven DEAL --tranche B``: the smallest default measure (a
CDR, an SDA speed or a multiple of the deal's default assumption) at which a tranche first
loses principal or misses interest (see :mod:`greenabs.breakeven`).  Deterministic: one
scenario, so it takes no ``--scenarios`` or ``--seed``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from greenabs.cli.common import WideOpt, XlsxOpt, app, clip, money, out, styled
from greenabs.cli.recording import NoStoreOpt, Recording
from greenabs.errors import ARGUMENT, Problem, SpecError

#: The flag each argument of :func:`greenabs.breakeven.breakeven` is given by.
_FLAGS = {
    "tranche": "--tranche",
    "measure": "--measure",
    "on": "--on",
    "low": "--low",
    "high": "--high",
    "tolerance": "--tolerance",
    "backend": "--backend",
}


def _as_flags(exc: SpecError) -> SpecError:
    """The error with each argument named by its flag."""
    if exc.source != ARGUMENT:
        return exc
    return SpecError(
        ARGUMENT, [Problem(_FLAGS.get(p.where, p.where), p.reason) for p in exc.problems]
    )


def value_text(measure: str, value: float) -> str:
    """A measure as people read it: a CDR in percent, an SDA speed, a multiple."""
    if measure == "cdr":
        return f"{value * 100:.4f}% CDR"
    if measure == "sda":
        return f"{value:,.2f}% SDA"
    return f"{value:,.4f}x"


def _print(deal: Any, b: Any) -> None:
    default = deal.assumptions.default
    base = (
        f"CDR {default.cdr:g}"
        if default.cdr is not None
        else f"SDA {default.sda:g}"
        if default.sda is not None
        else f"CDR vector ({len(default.vector or ())} values, by {default.by})"
    )
    t = Table(
        title=f"Breakeven: {clip(deal.name, 60)}",
        title_justify="left",
        show_header=False,
    )
    t.add_column(style="bold")
    t.add_column(justify="right")
    first = "loses principal" if b.on == "principal" else "misses interest"
    t.add_row("Tranche", clip(b.tranche, 40))
    t.add_row("First", first)
    t.add_row("Measure", b.measure + (f" (of {base})" if b.measure == "multiple" else ""))
    t.add_row("Breakeven", value_text(b.measure, b.value))
    t.add_row("Search range", f"{value_text(b.measure, b.low)} to {value_text(b.measure, b.high)}")
    t.add_row("Tolerance", value_text(b.measure, b.tolerance))
    t.add_row("Bisection steps", str(b.iterations))
    t.add_row("Loss at breakeven", money(b.loss_at_value))
    if b.loss_below is not None:
        t.add_row("Loss just below", money(b.loss_below))
    t.add_row("Loss threshold", money(b.threshold))
    out.print(t)
    if b.status == "at_low":
        out.print(
            styled(
                ("loses at the bottom of the range", "bold yellow"),
                f": the tranche already {first} at {value_text(b.measure, b.low)}; "
                "lower --low to search below it",
            )
        )


@app.command("breakeven")
def breakeven_cmd(
    ctx: typer.Context,
    deal_file: Annotated[Path, typer.Argument(help="Deal file (YAML)")],
    tranche: Annotated[
        str, typer.Option("--tranche", help="Class to test (not the residual class)")
    ],
    measure: Annotated[
        str,
        typer.Option(
            help="cdr (a decimal), sda (a speed in percent) or multiple (of the deal's default)"
        ),
    ] = "cdr",
    on: Annotated[
        str, typer.Option(help="principal (first writedown) or interest (first missed interest)")
    ] = "principal",
    low: Annotated[
        float | None,
        typer.Option(help="Bottom of the search (default 0)"),
    ] = None,
    high: Annotated[
        float | None,
        typer.Option(help="Top of the search (default: CDR 1, SDA 16666, multiple 1000)"),
    ] = None,
    tolerance: Annotated[
        float | None,
        typer.Option(
            help="Width of the final bracket (default: CDR 1e-6, SDA 0.01, multiple 1e-4)"
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="Collateral kernel: numpy, numba, cupy (GPU) or auto")
    ] = "numpy",
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the breakeven as JSON")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report")] = None,
    xlsx: XlsxOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no table")] = False,
    wide: WideOpt = False,
    no_store: NoStoreOpt = False,
) -> None:
    """Breakeven default: the smallest CDR, SDA or multiple at which a tranche first loses.

    Loses principal (--on principal) or misses interest (--on interest). Deterministic: one scenario with the deal's prepayment and recovery, so no --scenarios or --seed.
    """  # noqa: E501
    from greenabs.breakeven import breakeven
    from greenabs.spec.io import load_deal

    rec = Recording(ctx, "breakeven")
    deal = load_deal(deal_file)
    try:
        b = breakeven(
            deal,
            tranche,
            measure=measure,
            on=on,
            low=low,
            high=high,
            tolerance=tolerance,
            backend=backend,
        )
    except SpecError as exc:
        raise _as_flags(exc) from None
    if not quiet:
        _print(deal, b)
    data = rec.stamp({"breakeven": b.to_dict()}, deal=deal, backend=backend)
    if json_file is not None:
        json_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
        out.print(f"wrote {json_file}")
    from greenabs.cli.report import write_reports

    for path in write_reports("breakeven", data, html=report, xlsx=xlsx):
        out.print(f"wrote {path}")
    rec.save()
