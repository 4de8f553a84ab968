"""``greenabs report RUN_ID``: the HTML report and the Excel workbook of a stored run, the same
documents ``--report`` and ``--xlsx`` write when the run is made (see docs/reports.md)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

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
    from greenabs.reports import KINDS
    from greenabs.store import RunStore

    run = RunStore.open().get(run_id)
    if run.kind not in KINDS:
        raise SpecError(
            "<argument>", Problem("RUN_ID", f"run {run.id} is a {run.kind} run: no report")
        )
    if html is None and xlsx is None:
        html = Path(f"{run.id}.html")
    for path in write_reports(run.kind, run.payload, html=html, xlsx=xlsx):
        out.print(f"wrote {path}")


def write_reports(
    kind: str, payload: Mapping[str, Any], *, html: Path | None, xlsx: Path | None
) -> list[Path]:
    """Write the HTML report and the workbook a command was asked for (each when its path is
    given); returns the files written."""
    from greenabs.reports import write_html, write_xlsx

    written = []
    if html is not None:
        written.append(write_html(kind, payload, html))
    if xlsx is not None:
        written.append(write_xlsx(kind, payload, xlsx))
    return written
