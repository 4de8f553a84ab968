"""Monte Carlo commands: ``greenabs rate DEAL`` (loss distributions and ratings) and
``greenabs size DEAL --target A=AAA`` (the largest tranches achieving target ratings); see
:mod:`greenabs.montecarlo`.  Settings come from the deal's ``simulation`` section, each
overridable by a flag."""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from greenabs.cli.common import WideOpt, XlsxOpt, app, clip, err, money, num, out, pct, styled
from greenabs.cli.recording import NoStoreOpt, Recording
from greenabs.errors import ARGUMENT, Problem, SpecError

#: The flag that sets each simulation setting (errors name the flag).
_FLAGS = {
    "simulation.scenarios": "--scenarios",
    "simulation.seed": "--seed",
    "simulation.block_size": "--block-size",
    "simulation.default_model.copula": "--copula",
    "simulation.default_model.asset_correlation": "--correlation",
    "simulation.default_model.group_by": "--group-by",
    "simulation.default_model.group_correlation": "--group-correlation",
    "simulation.default_model.periods": "--periods",
    "simulation.default_model.large_pool": "--large-pool",
    "simulation.rep_lines": "--rep-lines",
    "simulation.default_model": "--correlation/--group-by/--copula",
    "simulation.stress_level": "--stress-level",
    "simulation.factor_shift": "--factor-shift",
    "simulation": "--stress-level/--factor-shift",
    "sim": "simulation",
    "backend": "--backend",
    "executor": "--executor",
    "workers": "--workers",
    "targets": "--target",
    "tolerance": "--tolerance",
}


def _as_flags(exc: SpecError) -> SpecError:
    if exc.source != ARGUMENT:
        return exc
    return SpecError(
        ARGUMENT, [Problem(_FLAGS.get(p.where, p.where), p.reason) for p in exc.problems]
    )


ScenariosOpt = Annotated[
    int | None, typer.Option("--scenarios", help="Scenarios (deal's simulation, or 1,000)")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Root seed (deal's, or 0)")]
BackendOpt = Annotated[
    str, typer.Option(help="auto (numba when installed, else numpy), numpy, numba or cupy")
]
BlockOpt = Annotated[int | None, typer.Option("--block-size", help="Scenarios per block")]
CopulaOpt = Annotated[str | None, typer.Option("--copula", help="gaussian or t")]
CorrOpt = Annotated[float | None, typer.Option("--correlation", help="Asset correlation")]
GroupOpt = Annotated[
    str | None,
    typer.Option("--group-by", help="Group factor: obligor, industry, region, type"),
]
GroupCorrOpt = Annotated[
    float | None, typer.Option("--group-correlation", help="Correlation within a group")
]
PeriodsOpt = Annotated[str | None, typer.Option("--periods", help="Factor draws: one or annual")]
LargeOpt = Annotated[
    bool | None,
    typer.Option("--large-pool/--loan-level", help="Pool default rate driven by the factor"),
]
StressOpt = Annotated[
    float | None,
    typer.Option("--stress-level", help="Stress level in [0, 1] (0.5: none), e.g. the index's"),
]
ShiftOpt = Annotated[
    float | None, typer.Option("--factor-shift", help="Adverse factor shift (std devs)")
]
TableOpt = Annotated[
    Path | None, typer.Option("--rating-table", help="Rating table CSV (default: greenabs')")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No tables, no progress")]
ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="Where blocks run: inprocess, processes or dask")
]
WorkersOpt = Annotated[
    int | None, typer.Option("--workers", help="Worker processes (processes, dask)")
]
RepLinesOpt = Annotated[
    bool,
    typer.Option(
        "--rep-lines",
        help="Simulate representative lines of the loans (large pools; implies --large-pool)",
    ),
]
DaskOpt = Annotated[
    str | None,
    typer.Option("--dask", help="Join a Dask scheduler, e.g. tcp://host:8786 (docs/scale.md)"),
]


_SIM_FLAGS = (
    "scenarios",
    "seed",
    "block_size",
    "copula",
    "correlation",
    "group_by",
    "group_correlation",
    "periods",
    "large_pool",
    "stress_level",
    "factor_shift",
    "rep_lines",
)
"""The simulation settings a command's flags override (the same in rate and size)."""


def _sim_flags(given: dict[str, Any]) -> dict[str, Any]:
    """The simulation flags among a command's arguments."""
    return {k: given[k] for k in _SIM_FLAGS}


def _settings(deal: Any, **flags: Any) -> Any:
    from greenabs.montecarlo import settings

    for flag, value in flags.items():
        if isinstance(value, float) and not math.isfinite(value):
            why = f"must be a finite number (got {value})"
            raise SpecError(ARGUMENT, Problem("--" + flag.replace("_", "-"), why))
    lines = flags.pop("rep_lines")
    if lines:  # lines stand for many obligors: the large-pool model
        flags["rep_lines"] = {}
        if flags["large_pool"] is None:
            flags["large_pool"] = True
    model = {
        k: v
        for k, v in {
            "copula": flags.pop("copula"),
            "asset_correlation": flags.pop("correlation"),
            "group_by": flags.pop("group_by"),
            "group_correlation": flags.pop("group_correlation"),
            "periods": flags.pop("periods"),
            "large_pool": flags.pop("large_pool"),
        }.items()
        if v is not None
    }
    try:
        return settings(deal, default_model=model or None, **flags)
    except SpecError as exc:
        exc = _as_flags(exc)
        if lines and exc.source == ARGUMENT:  # the model --rep-lines asked for
            why = "representative lines need the large-pool model, and "
            exc = SpecError(
                ARGUMENT,
                [
                    p if p.where == "--rep-lines" else Problem("--rep-lines", why + p.reason)
                    for p in exc.problems
                ],
            )
        raise exc from None


_done = [0]  # scenarios done in the run in progress (reported on Ctrl-C)


def _count(done: int, total: int) -> None:
    _done[0] = done


@contextmanager
def _progress(quiet: bool, what: str) -> Any:
    """A progress bar on stderr (scenarios done, per second, time left); yields the
    callback the engine calls after each block."""
    if quiet:
        yield _count
        return
    bar = Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task(what, total=None, rate="")

        def update(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:,.0f} scen/s" if elapsed > 0 else ""
            bar.update(task, completed=done, total=total, rate=rate)
            _count(done, total)

        yield update


def _simulate(
    deal_file: Path,
    backend: str,
    quiet: bool,
    check: Any,
    table: Any,
    where: tuple[str, int | None, str | None],
    **flags: Any,
) -> Any:
    """Load the deal, ``check(deal)`` what the command needs, simulate (the pool flows kept
    for sizing when ``check`` is given)."""
    from greenabs.montecarlo import monte_carlo
    from greenabs.montecarlo.executors import make_executor
    from greenabs.spec.io import load_deal

    deal = load_deal(deal_file)
    keep_flows = check is not None
    if check is not None:
        try:
            check(deal)
        except SpecError as exc:
            raise _as_flags(exc) from None
    sim = _settings(deal, **flags)
    try:
        executor = make_executor(*where)
    except SpecError as exc:
        raise _as_flags(exc) from None
    _done[0] = 0
    try:
        with _progress(quiet, "simulating") as progress:
            mc = monte_carlo(
                deal,
                sim,
                backend=backend,
                progress=progress,
                keep_flows=keep_flows,
                table=table,
                executor=executor,
            )
    except SpecError as exc:
        raise _as_flags(exc) from None
    except KeyboardInterrupt:  # Ctrl-C: nothing was written; say so and stop
        err.print(styled(("interrupted", "bold red"), f" after {_done[0]:,} scenarios"))
        raise typer.Exit(130) from None
    return mc


def _load_table(path: Path | None) -> Any:
    from greenabs.rating import load_rating_table

    return load_rating_table(path)


def _print_rating(mc: Any, rows: list[dict[str, Any]]) -> None:
    s = mc.settings
    dm = s.default_model
    out.print(
        styled(
            (clip(mc.deal.name, 70), "bold"),
            f"  {mc.n_scenarios:,} scenarios, seed {s.seed}, {mc.backend}, {mc.seconds:.1f} s",
        )
    )
    model = f"{dm.copula} copula, correlation {dm.asset_correlation:g}"
    if dm.group_by:
        model += f", by {dm.group_by} {dm.group_correlation or dm.asset_correlation:g}"
    if dm.periods == "annual":
        model += ", annual factors"
    if dm.large_pool:
        model += ", large pool"
    if s.rep_lines is not None:
        lines = mc.compiled.pool.n_assets
        model += f", {lines:,} representative lines"
    if s.stress_level is not None or s.factor_shift:
        level = s.stress_level if s.stress_level is not None else s.factor_shift
        model += f", stress {'level' if s.stress_level is not None else 'shift'} {level:g}"
    out.print(f"Model: {model}")
    support = any("rating_without_support" in r for r in rows)
    t = Table(title="Tranche ratings", title_justify="left")
    t.add_column("Tranche")
    t.add_column("Rating")
    if support:
        t.add_column("No supp.")
    for c in ("PD", "EL", "WAL", "VaR 99", "ES 99"):
        t.add_column(c, justify="right")
    for r in rows:
        cells = [clip(r["name"], 14), r["rating"]]
        if support:
            cells.append(r.get("rating_without_support") or "-")
        cells += [
            pct(r["default_probability"], 2),
            pct(r["expected_loss"], 3),
            num(r["wal_mean"]),
            pct(r["var_99"], 2),
            pct(r["es_99"], 2),
        ]
        t.add_row(*cells)
    out.print(t)
    p = mc.pool_summary()
    out.print(
        f"Pool: expected loss {pct(p['expected_loss'], 2)}, 99% {pct(p['var_99'], 2)}, "
        f"ES 99% {pct(p['es_99'], 2)}; expected defaults {pct(p['expected_default_rate'], 2)}"
    )
    for sup in mc.support_summary():
        out.print(
            f"Support {clip(sup['name'], 30)}: expected draw {money(sup['expected_draw'])}, "
            f"drawn in {pct(sup['draw_probability'], 2)} of scenarios, provider defaults in "
            f"{pct(sup['provider_default_probability'], 2)}"
        )


@app.command("rate")
def rate_cmd(
    ctx: typer.Context,
    deal_file: Annotated[Path, typer.Argument(help="Deal file (YAML)")],
    scenarios: ScenariosOpt = None,
    seed: SeedOpt = None,
    backend: BackendOpt = "auto",
    block_size: BlockOpt = None,
    copula: CopulaOpt = None,
    correlation: CorrOpt = None,
    group_by: GroupOpt = None,
    group_correlation: GroupCorrOpt = None,
    periods: PeriodsOpt = None,
    large_pool: LargeOpt = None,
    rep_lines: RepLinesOpt = False,
    stress_level: StressOpt = None,
    factor_shift: ShiftOpt = None,
    rating_table: TableOpt = None,
    executor: ExecutorOpt = "inprocess",
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the ratings and distributions")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report with loss charts")
    ] = None,
    xlsx: XlsxOpt = None,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
    no_store: NoStoreOpt = False,
) -> None:
    """Monte Carlo loss distributions of every tranche and their ratings."""
    rec = Recording(ctx, "rate")
    table = _load_table(rating_table)
    mc = _simulate(
        deal_file,
        backend,
        quiet,
        None,
        table,
        (executor, workers, dask),
        **_sim_flags(locals()),
    )
    data = rec.stamp(mc.to_dict(table), deal=mc.deal, seed=mc.settings.seed, backend=mc.backend)
    if json_file is not None:
        json_file.write_text(json.dumps(data, indent=2), encoding="utf-8")
    from greenabs.cli.report import write_reports

    written = write_reports("rate", data, html=report, xlsx=xlsx)
    if not quiet:
        _print_rating(mc, data["rating"])
        for path in (json_file, *written):
            if path is not None:
                out.print(f"wrote {path}")
    rec.save()


def _targets(items: list[str] | None) -> dict[str, str]:
    if not items:
        raise SpecError(ARGUMENT, Problem("--target", "give at least one, e.g. --target A=AAA"))
    out_: dict[str, str] = {}
    for item in items:
        name, sep, rating = item.partition("=")
        if not sep or not name.strip() or not rating.strip():
            why = f"expected TRANCHE=RATING, got {item!r}"
            raise SpecError(ARGUMENT, Problem("--target", why))
        if name.strip() in out_:
            raise SpecError(ARGUMENT, Problem("--target", f"tranche {name!r} given twice"))
        out_[name.strip()] = rating.strip()
    return out_


@app.command("size")
def size_cmd(
    ctx: typer.Context,
    deal_file: Annotated[Path, typer.Argument(help="Deal file (YAML)")],
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="Target rating, TRANCHE=RATING (repeatable)"),
    ] = None,
    scenarios: ScenariosOpt = None,
    seed: SeedOpt = None,
    backend: BackendOpt = "auto",
    block_size: BlockOpt = None,
    copula: CopulaOpt = None,
    correlation: CorrOpt = None,
    group_by: GroupOpt = None,
    group_correlation: GroupCorrOpt = None,
    periods: PeriodsOpt = None,
    large_pool: LargeOpt = None,
    rep_lines: RepLinesOpt = False,
    stress_level: StressOpt = None,
    factor_shift: ShiftOpt = None,
    rating_table: TableOpt = None,
    executor: ExecutorOpt = "inprocess",
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    tolerance: Annotated[
        float | None, typer.Option(help="Balance precision (default 0.01% of the pool)")
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the sizes and ratings")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report of the sizing")
    ] = None,
    xlsx: XlsxOpt = None,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
    no_store: NoStoreOpt = False,
) -> None:
    """The largest tranches (smallest credit enhancement) achieving target ratings, senior
    first; each change of size moves to the next class down."""
    from greenabs.montecarlo.sizing import check_targets, size_tranches

    rec = Recording(ctx, "size")

    targets = _targets(target)
    table = _load_table(rating_table)
    mc = _simulate(
        deal_file,
        backend,
        quiet,
        lambda deal: check_targets(deal, targets, table),
        table,
        (executor, workers, dask),
        **_sim_flags(locals()),
    )
    try:
        sized = size_tranches(mc, targets, table=table, tolerance=tolerance)
    except SpecError as exc:
        raise _as_flags(exc) from None
    data = rec.stamp(sized.to_dict(), deal=mc.deal, seed=mc.settings.seed, backend=mc.backend)
    if json_file is not None:
        json_file.write_text(json.dumps(data, indent=2), encoding="utf-8")
    if not quiet:
        t = Table(title=f"Sizing: {clip(mc.deal.name, 60)}", title_justify="left")
        t.add_column("Tranche")
        t.add_column("Target")
        t.add_column("Balance", justify="right")
        t.add_column("Was", justify="right")
        t.add_column("CE", justify="right")
        t.add_column("Rating")
        t.add_column("PD", justify="right")
        for r in sized.targets:
            achieved = r["status"] == "achieved"
            t.add_row(
                clip(r["tranche"], 14),
                r["target"],
                money(r["balance"]) if achieved else "-",
                money(r["original_balance"]),
                pct(r.get("credit_enhancement"), 2) if achieved else "-",
                r["rating"],
                pct(r["default_probability"], 2),
            )
        out.print(t)
        if json_file is not None:
            out.print(f"wrote {json_file}")
    from greenabs.cli.report import write_reports

    for path in write_reports("size", data, html=report, xlsx=xlsx):
        if not quiet:
            out.print(f"wrote {path}")
    failed = [r for r in sized.targets if r["status"] != "achieved"]
    rec.save("target_missed" if failed else "ok")
    if failed:
        why = "; ".join(
            f"{r['target']} for {r['tranche']!r} is not achievable: the best achievable "
            f"rating is {r['best_rating']} (at the smallest size)"
            for r in failed
        )
        raise SpecError(ARGUMENT, Problem("--target", why))
