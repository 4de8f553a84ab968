"""``greenabs runs list | show | diff | export``: the runs kept in the run store.

A run is named by its id, a unique prefix of it, or ``last`` (the newest).  Each command takes
``--json FILE`` and writes there what it shows (docs/store.md).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from greenabs.cli.common import app, clip, out, styled
from greenabs.errors import ARGUMENT, Problem, SpecError

if TYPE_CHECKING:
    import pandas as pd

    from greenabs.store import RunStore, StoredRun

__all__ = ["diff_runs", "runs_app", "summary"]

runs_app = typer.Typer(
    name="runs",
    help="The runs kept in the run store: list, show, compare and export them (docs/store.md).",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")

RunArg = Annotated[str, typer.Argument(help="Run id, a unique prefix of it, or 'last'")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write what is shown as JSON")]

#: Rows of a table shown in full by ``runs diff`` (larger ones are summarised).
DIFF_ROWS = 30
#: Differing cells of one table kept in ``runs diff --json``.
DIFF_CELLS = 1000


def _store() -> RunStore:
    from greenabs.store import RunStore

    return RunStore.open()


def _write_json(path: Path | None, data: Mapping[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")
        out.print(f"wrote {path}")


def _cell(v: Any) -> str:
    """A stored value as text: numbers readable, the rest as written."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:,.2f}" if abs(v) >= 1000 else f"{v:.6g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, list | dict):
        return clip(json.dumps(v), 60)
    return clip(v, 60)


def _scalars(value: Any, path: str = "", depth: int = 3) -> Iterator[tuple[str, Any]]:
    """The payload's single values (not its tables) by dotted path, to ``depth`` levels."""
    if isinstance(value, Mapping):
        if depth == 0:
            return
        for k, v in value.items():
            yield from _scalars(v, f"{path}.{k}" if path else str(k), depth - 1)
    elif not isinstance(value, list):
        yield path, value


def summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A run's results in brief: its single values (tables aside), by dotted path."""
    return dict(_scalars({k: v for k, v in payload.items() if k != "meta"}))


# ---------------------------------------------------------------------------------- list


@runs_app.command("list")
def list_cmd(
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only runs of this kind: run, pool, rate, size, ..."),
    ] = None,
    deal: Annotated[
        str | None, typer.Option("--deal", help="Only runs of this deal (name or hash prefix)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first")] = 50,
    json_file: JsonOpt = None,
) -> None:
    """Stored runs, newest first."""
    from greenabs.store import KINDS

    if kind is not None and kind not in KINDS:
        raise SpecError(
            ARGUMENT, Problem("--kind", f"unknown kind {kind!r} (use one of {', '.join(KINDS)})")
        )
    if limit < 1:
        raise SpecError(ARGUMENT, Problem("--limit", f"expected 1 or more, got {limit}"))
    runs = _store().list(kind=kind, deal=deal, limit=limit)
    if not runs:
        out.print("no runs stored" + (" that match" if kind or deal else ""))
    else:
        t = Table(title=f"Runs ({len(runs)})", title_justify="left")
        for col in ("Id", "Kind", "Deal", "Created (UTC)", "Status"):
            t.add_column(col, no_wrap=col in ("Id", "Created (UTC)"))
        for r in runs:
            t.add_row(r.id, r.kind, clip(r.deal or "-", 50), r.created, r.status)
        out.print(t)
    _write_json(json_file, {"runs": [r.to_dict() for r in runs]})


# ---------------------------------------------------------------------------------- show


def _show_dict(run: StoredRun) -> dict[str, Any]:
    return {
        **run.info().to_dict(),
        "deal_hash": run.deal_hash,
        "greenabs_version": run.greenabs_version,
        "seed": run.seed,
        "backend": run.backend,
        "timings": run.timings,
        "params": run.params,
        "meta": run.meta,
        "summary": summary(run.payload),
        "tables": {name: len(df) for name, df in run.tables().items()},
    }


def _pairs_table(title: str, rows: list[tuple[str, Any]], limit: int | None = None) -> Table:
    t = Table(title=title, title_justify="left", show_header=False)
    t.add_column(style="bold", overflow="fold")
    t.add_column(overflow="fold")
    shown = rows if limit is None else rows[:limit]
    for k, v in shown:
        t.add_row(k, _cell(v))
    if limit is not None and len(rows) > limit:
        t.add_row("...", f"{len(rows) - limit} more (--json has all)")
    return t


@runs_app.command("show")
def show_cmd(run_id: RunArg, json_file: JsonOpt = None) -> None:
    """What a run was (kind, deal, inputs, assumptions, parameters) and its results in brief."""
    run = _store().get(run_id)
    data = _show_dict(run)
    meta = run.meta
    out.print(
        styled(
            (run.id, "bold"),
            f"  {run.kind} of {clip(run.deal or '-', 60)}, {run.created}, {run.status}",
        )
    )
    head = [
        ("greenabs", run.greenabs_version),
        ("seed", run.seed),
        ("backend", run.backend),
        ("seconds", run.timings.get("seconds")),
        ("deal version", (run.deal_hash or "-")[:16]),
    ]
    head += [
        (f"input {name}", f"{f.get('path') or '-'}  sha256 {str(f.get('sha256'))[:16]}")
        for name, f in (meta.get("inputs") or {}).items()
    ]
    out.print(_pairs_table("Run", head))
    given = meta.get("assumptions") or {}
    out.print(
        _pairs_table("Flags given", list(given.items()))
        if given
        else "Flags given: none (the inputs' own assumptions)"
    )
    deal_assumptions = meta.get("deal_assumptions")
    if deal_assumptions:
        out.print(_pairs_table("Deal assumptions in force", list(_scalars(deal_assumptions))))
    given_params = [(k, v) for k, v in run.params.items() if v not in (None, [], False)]
    out.print(_pairs_table("Parameters (set)", given_params))
    out.print(_pairs_table("Results", list(data["summary"].items()), limit=40))
    tables = data["tables"]
    if tables:
        out.print("Tables: " + ", ".join(f"{clip(n, 40)} ({rows:,})" for n, rows in tables.items()))
    _write_json(json_file, {"run": data})


# ---------------------------------------------------------------------------------- diff


def _key_column(df: pd.DataFrame) -> str | None:
    """The column naming each row (``name``, ``date``...): the first whose values are unique
    text or integers."""
    for col in df.columns:
        values = df[col]
        if values.isna().any() or not values.is_unique:
            continue
        if all(isinstance(v, str) for v in values) or all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            return str(col)
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _difference(a: Any, b: Any) -> float | None:
    x, y = _number(a), _number(b)
    return None if x is None or y is None else y - x


def _table_diff(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """The differing cells of two versions of a table, matched by their key column."""
    key = _key_column(a) if list(a.columns) == list(b.columns) else None
    key = key if key is not None and key in b.columns and b[key].is_unique else None
    rows_a = {(r[key] if key else i): r for i, r in enumerate(a.to_dict(orient="records"))}
    rows_b = {(r[key] if key else i): r for i, r in enumerate(b.to_dict(orient="records"))}
    cells: list[dict[str, Any]] = []
    columns = [c for c in a.columns if c in b.columns and c != key]
    for k in [*rows_a, *(k for k in rows_b if k not in rows_a)]:
        ra, rb = rows_a.get(k), rows_b.get(k)
        for c in columns if ra is not None and rb is not None else ["(row)"]:
            va = ra.get(c) if ra is not None else None
            vb = rb.get(c) if rb is not None else None
            if c == "(row)":
                va, vb = ("present" if ra else "absent"), ("present" if rb else "absent")
            if not _same(va, vb):
                cells.append(
                    {
                        "key": k,
                        "column": c,
                        "a": va,
                        "b": vb,
                        "difference": _difference(va, vb),
                    }
                )
    return {
        "key": key or "row",
        "rows": [len(a), len(b)],
        "columns_only_in_a": [c for c in a.columns if c not in b.columns],
        "columns_only_in_b": [c for c in b.columns if c not in a.columns],
        "differences": len(cells),
        "cells": cells[:DIFF_CELLS],
    }


def _value_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": k, "a": a.get(k), "b": b.get(k), "difference": _difference(a.get(k), b.get(k))}
        for k in [*a, *(k for k in b if k not in a)]
        if not _same(a.get(k), b.get(k))
    ]


def diff_runs(a: StoredRun, b: StoredRun) -> dict[str, Any]:
    """What differs between two stored runs: parameters, flags, inputs, results in brief and
    each table they share (cell by cell, rows matched by their key column)."""
    ta, tb = a.tables(), b.tables()
    inputs_a = {k: v.get("sha256") for k, v in (a.meta.get("inputs") or {}).items()}
    inputs_b = {k: v.get("sha256") for k, v in (b.meta.get("inputs") or {}).items()}
    inputs = _value_diff(inputs_a, inputs_b)
    return {
        "a": a.info().to_dict(),
        "b": b.info().to_dict(),
        "same_deal_version": a.deal_hash is not None and a.deal_hash == b.deal_hash,
        "params": _value_diff(a.params, b.params),
        "assumptions": _value_diff(
            a.meta.get("assumptions") or {}, b.meta.get("assumptions") or {}
        ),
        "inputs": inputs,
        "summary": _value_diff(summary(a.payload), summary(b.payload)),
        "tables": {n: _table_diff(ta[n], tb[n]) for n in ta if n in tb},
        "tables_only_in_a": [n for n in ta if n not in tb],
        "tables_only_in_b": [n for n in tb if n not in ta],
    }


def _diff_table(title: str, rows: list[dict[str, Any]], first: str) -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column(first, overflow="fold")
    for col in ("A", "B", "B - A"):
        t.add_column(col, justify="right", overflow="fold")
    for r in rows:
        d = r["difference"]
        t.add_row(clip(r["name"], 50), _cell(r["a"]), _cell(r["b"]), "" if d is None else _cell(d))
    return t


@runs_app.command("diff")
def diff_cmd(run_a: RunArg, run_b: RunArg, json_file: JsonOpt = None) -> None:
    """Compare two runs: parameters, inputs and results side by side, with the differences."""
    store = _store()
    a, b = store.get(run_a), store.get(run_b)
    d = diff_runs(a, b)
    out.print(
        styled(
            ("A ", "bold"),
            f"{a.id} {a.kind} of {clip(a.deal or '-', 40)}, {a.created}\n",
            ("B ", "bold"),
            f"{b.id} {b.kind} of {clip(b.deal or '-', 40)}, {b.created}",
        )
    )
    if a.kind != b.kind:
        out.print(styled(("note", "yellow"), f": comparing a {a.kind} run with a {b.kind} run"))
    out.print(
        "Same deal version" if d["same_deal_version"] else "Different deal versions (or no deal)"
    )
    for key, title in (
        ("params", "Parameters"),
        ("inputs", "Inputs (SHA-256)"),
        ("summary", "Results"),
    ):
        rows = d[key]
        if key == "inputs":  # a hash's first 16 digits tell versions apart
            rows = [{**r, "a": (r["a"] or "-")[:16], "b": (r["b"] or "-")[:16]} for r in rows]
        if rows:
            out.print(_diff_table(f"{title} that differ", rows[:40], "Name"))
            if len(rows) > 40:
                out.print(f"... {len(rows) - 40} more (--json has all)")
        else:
            out.print(f"{title}: the same")
    for name, td in d["tables"].items():
        if not td["differences"]:
            continue
        if max(td["rows"]) > DIFF_ROWS:
            out.print(f"Table {clip(name, 50)}: {td['differences']:,} cells differ (--json)")
            continue
        rows = [
            {**c, "name": f"{c['key']} {c['column']}" if c["column"] != "(row)" else c["key"]}
            for c in td["cells"]
        ]
        out.print(_diff_table(f"{clip(name, 60)}: differences", rows, f"{td['key']} / column"))
    same = [n for n, td in d["tables"].items() if not td["differences"]]
    if same:
        out.print("Tables the same: " + ", ".join(clip(n, 40) for n in same))
    for side in ("a", "b"):
        only = d[f"tables_only_in_{side}"]
        if only:
            out.print(f"Tables only in {side.upper()}: " + ", ".join(clip(n, 40) for n in only))
    _write_json(json_file, d)


# -------------------------------------------------------------------------------- export


def _file_name(name: str, taken: set[str]) -> str:
    """A table's name as a safe, unique file name (no folders, no leading dot)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "table"
    stem, n = base[:120], 2
    while stem.lower() in taken:
        stem, n = f"{base[:115]}-{n}", n + 1
    taken.add(stem.lower())
    return stem


@runs_app.command("export")
def export_cmd(
    run_id: RunArg,
    folder: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder to write to (default: ./RUN_ID)"),
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write the tables as an Excel workbook")
    ] = None,
    json_file: JsonOpt = None,
) -> None:
    """Write a run's results: its payload as JSON (with meta) and every table as CSV (text
    that a spreadsheet would read as a formula starts with ``'``)."""
    from greenabs.results import cells_for_csv

    run = _store().get(run_id)
    target = folder if folder is not None else Path(run.id)
    if target.exists() and not target.is_dir():
        raise SpecError(ARGUMENT, Problem("--out", f"{target} exists and is not a folder"))
    target.mkdir(parents=True, exist_ok=True)
    files = [target / f"{run.id}.json"]
    files[0].write_text(json.dumps(run.payload, indent=1), encoding="utf-8")
    taken: set[str] = set()
    for name, df in run.tables().items():
        path = target / f"{_file_name(name, taken)}.csv"
        cells_for_csv(df).to_csv(path, index=False)
        files.append(path)
    out.print(f"wrote {files[0]} and {len(files) - 1} tables to {target}/")
    if xlsx is not None:
        from greenabs.reports import write_xlsx

        files.append(write_xlsx(run.kind, run.payload, xlsx))
        out.print(f"wrote {xlsx}")
    _write_json(json_file, {"run": run.id, "files": [str(f) for f in files]})
