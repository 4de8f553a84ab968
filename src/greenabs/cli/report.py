"""``greenabs report RUN_ID``: the HTML report and the Excel workbook of a stored run, the same
documents ``--report`` and ``--xlsx`` write when the run is made (see docs/reports.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenabs.cli.common import app, out
from greenabs.errors import Problem, SpecError


@app.command("report")
def report_cmd(
    run_id: Annotated[str, typer.Argument(help="A stored run's id (or its first characters)")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report (default: RUN_ID.html)")
    ] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the Excel workbook")] = None,
) -> None:
    """Write the report of a stored run (greenabs runs list shows them): HTML, Excel or both."""
    from greenabs.reports import KINDS, write_html, write_xlsx
    from greenabs.store import RunStore

    run = RunStore.open().get(run_id)
    if run.kind not in KINDS:
        raise SpecError(
            "<argument>", Problem("RUN_ID", f"run {run.id} is a {run.kind} run: no report")
        )
    if html is None and xlsx is None:
        html = Path(f"{run.id}.html")
    if html is not None:
        write_html(run.kind, run.payload, html)
        out.print(f"wrote {html}")
    if xlsx is not None:
        write_xlsx(run.kind, run.payload, xlsx)
        out.print(f"wrote {xlsx}")
