"""Pool command: ``greenabs pool DEAL``: securitisability screening, stratification, green
share and impact of a deal's pool (see :mod:`greenabs.pool_analytics`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from greenabs.cli.common import WideOpt, XlsxOpt, app, clip, money, num, out, pct, styled
from greenabs.cli.recording import NoStoreOpt, Recording
from greenabs.errors import Problem, SpecError

_RESULT_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}
_FLAGS = ("--emission-region", "--emission-year", "--emission-scope")


def emission_choice(region: str | None, year: int | None, scope: str | None) -> Any:
    """The emission factor the flags choose (the default when none is given); an unknown
    region, year or scope is a :class:`SpecError` naming the flag."""
    from greenabs.taxonomy import emission_factor

    return emission_factor(region, year, scope, names=_FLAGS)


def _value(measure: str, v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if measure == "pool_balance":
        return money(v)
    if measure in ("contracted_share",):
        return pct(v, 1)
    return num(v, 3)


def _print(a: Any) -> None:
    out.print(styled((clip(a.name, 70), "bold"), f"  ({a.currency}, cut-off {a.cutoff})"))
    st = Table(title="Securitisability screening", title_justify="left")
    st.add_column("Criterion")
    st.add_column("Measure")
    st.add_column("Value", justify="right")
    st.add_column("Result")
    for _, r in a.screening.iterrows():
        st.add_row(
            r["criterion"],
            r["measure"],
            _value(r["measure"], r["value"]),
            styled((r["result"], _RESULT_STYLE[r["result"]])),
        )
    out.print(st)
    for _, r in a.screening.iterrows():
        if r["result"] != "pass":
            out.print(
                styled((r["result"], _RESULT_STYLE[r["result"]]), f" {r['measure']}: {r['reason']}")
            )
    if len(a.negative_list):
        nt = Table(title="Negative list flags", title_justify="left")
        nt.add_column("Item", justify="right")
        nt.add_column("Rule")
        nt.add_column("Assets")
        for _, r in a.negative_list.iterrows():
            ids = list(r["asset_ids"])
            shown = ", ".join(clip(i, 20) for i in ids[:4]) + (", ..." if len(ids) > 4 else "")
            nt.add_row(str(r["item"]), r["rule"], f"{len(ids)}: {shown}")
        out.print(nt)
    else:
        out.print("Negative list: no asset flagged")
    c = a.concentration
    ct = Table(title="Concentration", title_justify="left", show_header=False)
    ct.add_column(style="bold")
    ct.add_column(justify="right")
    for k, v in (
        ("Assets / obligors", f"{c['n_assets']:,} / {c['n_obligors']:,}"),
        ("Effective obligors", num(c["effective_obligors"], 1)),
        (
            "Top 1 / 5 / 10 obligors",
            " / ".join(pct(c[f"top{n}_obligor_share"], 1) for n in (1, 5, 10)),
        ),
        ("HHI obligor / industry", f"{c['hhi_obligor']:.4f} / {c['hhi_industry']:.4f}"),
    ):
        ct.add_row(k, v)
    out.print(ct)
    for name in ("type", "remaining_term", "rate", "industry"):
        df = a.stratification[name].head(8)
        t = Table(title=f"By {name.replace('_', ' ')}", title_justify="left")
        t.add_column("Group")
        t.add_column("N", justify="right")
        t.add_column("Balance", justify="right")
        t.add_column("Share", justify="right")
        t.add_column("WA rate", justify="right")
        t.add_column("WA term", justify="right")
        for _, r in df.iterrows():
            t.add_row(
                clip(r["group"], 24),
                f"{r['n']:,}",
                money(r["balance"]),
                pct(r["share"], 1),
                pct(r["wa_rate"], 2),
                num(r["wa_remaining_term"], 1),
            )
        out.print(t)
    g = a.green
    out.print(
        styled(
            "Green label: ",
            (g["label"], "green" if g["result"] == "pass" else "bold red"),
            f" ({pct(g['share_by_balance'], 1)} of balance, "
            f"{pct(g['share_by_collections'], 1)} of expected collections)",
        )
    )
    if g["result"] != "pass":
        out.print("  " + g["reason"])
    imp = a.impact
    ef = imp["emission_factor"]
    it = Table(title="Impact (ICMA core indicators)", title_justify="left")
    it.add_column("Indicator")
    it.add_column("Pool life", justify="right")
    it.add_column("Per 10,000 issued", justify="right")
    for k, v in imp["totals"].items():
        it.add_row(k, f"{v:,.1f}", num(imp["per_10k_issued"][k], 4))
    out.print(it)
    out.print(
        f"Emission factor {ef['value']:.4f} tCO2/MWh ({ef['region']}, {ef['year']}, {ef['scope']})"
    )
    if a.defaults:
        out.print(f"Defaults used by {len(a.defaults)} revenue assets: see --json (defaults)")


@app.command("pool")
def pool_cmd(
    ctx: typer.Context,
    deal_file: Annotated[Path, typer.Argument(help="Deal file (YAML)")],
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the analytics as JSON")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", "--report", help="Write an HTML report with charts")
    ] = None,
    xlsx: XlsxOpt = None,
    emission_region: Annotated[
        str | None,
        typer.Option(help="Grid emission factor region: China (default) or a grid region"),
    ] = None,
    emission_year: Annotated[
        int | None, typer.Option(help="Year of the emission factor (default: the latest)")
    ] = None,
    emission_scope: Annotated[
        str | None,
        typer.Option(help="Scope of the factor: national_average, regional_average, ..."),
    ] = None,
    scenarios: Annotated[
        int, typer.Option(help="Draws of the random drivers for the stability test")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the draws")] = 20240601,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no tables")] = False,
    wide: WideOpt = False,
    no_store: NoStoreOpt = False,
) -> None:
    """Screen, stratify and measure a deal's pool: securitisability, green share, impact."""
    from greenabs.pool_analytics import analyse_pool
    from greenabs.spec.io import load_deal

    rec = Recording(ctx, "pool")

    if scenarios < 2 or scenarios > 100_000:
        raise SpecError(
            "<argument>", Problem("--scenarios", f"expected 2 to 100,000 draws, got {scenarios}")
        )
    if seed < 0:
        raise SpecError("<argument>", Problem("--seed", f"expected a number >= 0, got {seed}"))
    factor = emission_choice(emission_region, emission_year, emission_scope)
    deal = load_deal(deal_file)
    a = analyse_pool(deal, emission_factor=factor, n_scenarios=scenarios, seed=seed)
    if not quiet:
        _print(a)
    data = rec.stamp(a.to_dict(), deal=deal, seed=seed)
    if json_file is not None:
        json_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
        out.print(f"wrote {json_file}")
    from greenabs.cli.report import write_reports

    for path in write_reports("pool", data, html=html, xlsx=xlsx):
        out.print(f"wrote {path}")
    rec.save()
