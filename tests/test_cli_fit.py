"""The command line fits a terminal: every table at most 100 columns (or the terminal when it
is narrower), no number cut to "…", ``--wide`` for the whole table; ``--version`` and
``python -m greenabs``."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from greenabs.cli import app
from greenabs.cli.common import MAX_WIDTH, err, fit_table, out
from tests.conftest import EXAMPLES

runner = CliRunner()
DEAL = str(EXAMPLES / "ib_green_2014.yaml")
BANK = str(EXAMPLES / "bank_mid_sized.yaml")

STORE_LINE = ("run ", "not stored")

#: A number as the tables print them: money, a percentage, a ratio, a date.
NUMBER = re.compile(r"-?\d[\d,]*\d(?:\.\d+)?%?")

COMMANDS = {
    "run": ["run", DEAL],
    "pool": ["pool", str(EXAMPLES / "solar_wind_subsidy_2026.yaml"), "--scenarios", "20"],
    "rate": ["rate", str(EXAMPLES / "wind_guaranteed_2026.yaml"), "--scenarios", "200"],
    "size": ["size", DEAL, "--scenarios", "200", "--target", "A=AAA"],
    "breakeven": ["breakeven", DEAL, "--tranche", "B"],
    "bank": ["bank", BANK, "--deal", DEAL, "--horizon-quarters", "8"],
    "systemic": [
        "systemic",
        "china",
        "--crisis",
        "2015",
        "--stress-period",
        "2015",
        "--deal",
        DEAL,
        "--bank",
        BANK,
    ],
}


def _invoke(args: list[str], columns: int, monkeypatch: pytest.MonkeyPatch) -> str:
    """The command's output on a terminal ``columns`` wide (``$COLUMNS``, as a shell sets it)."""
    for console in (out, err):
        monkeypatch.setattr(console, "_width", None)  # other tests may have fixed a width
    res = runner.invoke(app, [*args, "--no-store"], env={"COLUMNS": str(columns)})
    assert res.exit_code == 0, res.output
    return res.output


def _table_cells(text: str) -> list[str]:
    """Every cell of every table row in ``text``."""
    cells = []
    for line in text.splitlines():
        if line.startswith(("│", "┃")):
            cells += [c.strip() for c in re.split("[│┃]", line)[1:-1]]
    return cells


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("columns", [80, 100, 120])
def test_every_table_fits_and_no_number_is_cut(
    command: str, columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _invoke(COMMANDS[command], columns, monkeypatch)
    assert "│" in text  # a table was printed
    limit = min(columns, MAX_WIDTH)
    # the run store's one line (the run id and assumptions) is printed unwrapped, on purpose
    lines = [ln for ln in text.splitlines() if not ln.startswith(STORE_LINE)]
    widest = max(len(line.rstrip()) for line in lines)
    assert widest <= limit, (widest, text)
    assert not [ln for ln in lines if "…" in ln], text
    # a number is never folded either: each cell's numbers look whole
    for cell in _table_cells(text):
        for number in NUMBER.findall(cell):
            if "," in number:  # thousands groups of three: 2,760,000,000.00
                assert re.fullmatch(r"-?\d{1,3}(,\d{3})*(\.\d+)?%?", number), (cell, text)


def test_the_tranche_table_is_split_in_two_at_80_and_whole_with_wide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _invoke(["run", DEAL], 80, monkeypatch)
    assert "Tranches (continued)" in text
    # each part repeats the class column; every figure of the run appears whole
    assert text.count("│ Sub (residual) │") == 2
    for figure in ("2,760,000,000.00", "5.100%", "0.64", "2016-05-26", "2017-11-26"):
        assert figure in text
    wide = _invoke(["run", DEAL, "--wide"], 80, monkeypatch)
    assert "(continued)" not in wide
    header = next(line for line in wide.splitlines() if "Balance" in line)
    assert "Principal window" in header
    assert "Int. shortfall" in header
    assert len(header) > MAX_WIDTH


def _render(console: Console, table: Table, width: int) -> str:
    lines = console.render_lines(table, console.options.update_width(width), pad=False)
    return "\n".join("".join(s.text for s in line) for line in lines)


def _console() -> Console:
    return Console(width=300, file=io.StringIO())


def test_fit_table_wraps_headers_before_it_splits() -> None:
    console = _console()
    t = Table(title="T")
    for name in ("Name", "Some long header", "Another long header", "Value"):
        t.add_column(name, justify="left" if name == "Name" else "right", no_wrap=True)
    t.add_row("A", "1,000.00", "2,000.00", "3.5%")
    natural = console.measure(t).maximum
    assert fit_table(console, t, natural) == [t]  # fits: untouched
    # narrower, but wide enough for every word: one table whose headers wrap
    parts = fit_table(console, t, natural - 10)
    assert len(parts) == 1
    text = _render(console, parts[0], natural - 10)
    assert max(len(line) for line in text.splitlines()) <= natural - 10
    assert "…" not in text
    assert {"1,000.00", "2,000.00", "3.5%"} <= set(_table_cells(text))
    assert "long" in _table_cells(text)  # a header wrapped onto a second line


def test_fit_table_splits_into_parts_that_each_fit() -> None:
    console = _console()
    t = Table(title="Wide")
    t.add_column("Class")
    values = [f"{10**k:,.2f}" for k in range(9, 21)]  # 1,000,000,000.00 and longer
    for i in range(len(values)):
        t.add_column(f"C{i}", justify="right")
    t.add_row("A", *values)
    for width in (45, 60, 80, 100):
        parts = fit_table(console, t, width)
        assert len(parts) > 1
        shown = []
        for k, part in enumerate(parts):
            assert part.columns[0].header == "Class"  # the row label is repeated
            text = _render(console, part, width)
            assert max(len(line) for line in text.splitlines()) <= width
            assert "…" not in text
            assert ("(continued)" in text) == (k > 0)
            shown += _table_cells(text)
        for v in values:
            assert v in shown  # whole, in one cell


def test_a_split_repeats_the_group_and_the_row_name() -> None:
    """When the first column is a group that repeats its values (the OTH/OTD comparison's
    "Mechanism"), every part repeats it and the second column, which names the row."""
    console = _console()
    t = Table(title="Grouped")
    t.add_column("Mechanism")
    t.add_column("Metric")
    for i in range(6):
        t.add_column(f"V{i}", justify="right")
    t.add_row("liquidity", "lcr", *(f"{10**k:,.2f}" for k in range(12, 18)))
    t.add_row("liquidity", "nsfr", *(f"{10**k:,.2f}" for k in range(12, 18)))
    parts = fit_table(console, t, 80)
    assert len(parts) > 1
    for part in parts:
        assert [c.header for c in part.columns[:2]] == ["Mechanism", "Metric"]
    # a first column of distinct labels is repeated alone
    t.columns[0]._cells[1] = "credit"
    assert all(p.columns[1].header != "Metric" for p in fit_table(console, t, 80)[1:])


def test_version_and_python_dash_m() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.output.strip() == f"greenabs {version('greenabs')}"
    proc = subprocess.run(
        [sys.executable, "-m", "greenabs", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"greenabs {version('greenabs')}"
    proc = subprocess.run(
        [sys.executable, "-m", "greenabs", "validate", DEAL],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("valid")


def test_a_spinner_shows_while_numba_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    numba = pytest.importorskip("numba")
    from numba.core import event

    from greenabs.cli import common

    monkeypatch.setattr(common, "_listeners", [])
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    listener = common.show_compiles(console)
    try:
        assert common.show_compiles(console) is listener  # installed once
        numba.njit(lambda x: x + 1)(1)  # a new function: compiled now, in this process
    finally:
        event.unregister("numba:compile", listener)
    assert common.COMPILING in screen.getvalue()


def test_no_spinner_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from greenabs.cli import common

    monkeypatch.setattr(common, "_listeners", [])
    before = list(sys.meta_path)
    common._watch_compiles()  # stderr is not a terminal under the test runner
    assert sys.meta_path == before
    assert common._listeners == []


def test_a_spinner_shows_until_the_command_speaks(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.progress import Progress

    from greenabs.cli import common

    screen = io.StringIO()
    terminal = common._LiteralConsole(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(common, "err", terminal)
    common._busy_start("breakeven")
    assert common._busy  # spinning
    common._busy_start("breakeven")
    assert len(common._busy) == 1
    out.print("the first line of output")  # stops it
    assert not common._busy
    assert "searching for the breakeven" in screen.getvalue()
    common._busy_start("rate")
    with Progress(console=terminal, transient=True):  # a progress bar replaces it
        assert not common._busy
    common._busy_start("run")
    common._busy_stop()  # the command ends without printing
    assert not common._busy


@pytest.mark.parametrize(("flags", "shown"), [([], True), (["-q"], False), (["--help"], False)])
def test_a_long_command_spins_on_a_terminal_unless_quiet(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], shown: bool
) -> None:
    from greenabs.cli import common

    screen = io.StringIO()
    terminal = common._LiteralConsole(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(common, "err", terminal)
    args = ["breakeven", DEAL, "--tranche", "B", "--no-store", *flags]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert ("searching for the breakeven" in screen.getvalue()) is shown
    assert not common._busy  # stopped by the end of the command at the latest
