"""What every command shares: the Typer app, the consoles and number formatting.

The consoles print every string literally: markup (``[red]``), emoji codes (``:smile:``) and
the highlighter are off, and control characters are written out as ``\\xNN``, so a deal,
tranche or file name is shown as written, never interpreted by rich or by the terminal.
Colour is given as :class:`rich.text.Text` objects (see :func:`styled`).  The highlighter is
also what made printing a long word quadratic; with it off, printing is linear.

Output fits :data:`MAX_WIDTH` (100) columns, or the terminal when it is narrower: text wraps
there, and every table printed is fitted by :func:`fit_table` (columns wrap at spaces, never
inside a number; a table still too wide is split into parts that repeat its first column).
A command's ``--wide`` flag (:data:`WideOpt`) prints tables whole, however wide.

On a terminal, stderr shows what is going on: a spinner while a long command works until it
prints or a progress bar takes over, and one while Numba compiles its kernels (a first use
takes seconds; :func:`show_compiles`).  Output to a pipe or a file gets none of it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import importlib.abc
import itertools
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import (
    Console,
    ConsoleDimensions,
    HighlighterType,
    JustifyMethod,
    OverflowMethod,
)
from rich.live import Live
from rich.measure import Measurement
from rich.segment import Segments
from rich.status import Status
from rich.style import Style
from rich.table import Column, Table
from rich.text import Text

from greenabs._html import money, num, pct

__all__ = [
    "MAX_WIDTH",
    "NAME_WIDTH",
    "WideOpt",
    "XlsxOpt",
    "app",
    "clip",
    "err",
    "fit_table",
    "fmt",
    "money",
    "num",
    "out",
    "package_version",
    "pct",
    "styled",
    "visible",
]

#: Widest line printed (unless ``--wide``): a 100-column terminal shows every table whole.
MAX_WIDTH = 100
#: Width of output to a pipe or a file when ``$COLUMNS`` is not set (what ``--wide`` text
#: wraps at; otherwise :data:`MAX_WIDTH` applies).
PIPE_WIDTH = 150

app = typer.Typer(
    name="greenabs",
    help="Securitise green-industry assets: project pools, run waterfalls, price tranches, "
    "measure the originating bank and systemic risk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


# Control characters (a YAML "\e[31m" is a real escape sequence) are shown as \xNN: the
# terminal must not colour, move or clear anything because of a name.  Tab and newline stay.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}


def visible(text: str) -> str:
    """``text`` with control characters written out as ``\\xNN``."""
    return text.translate(_CONTROLS)


class _LiteralConsole(Console):
    """A console whose every string is shown as written, at most :data:`MAX_WIDTH` columns
    wide unless :attr:`wide`, and whose tables are fitted (see the module's docstring)."""

    #: Print tables whole and text at the terminal's width (the ``--wide`` flag).
    wide = False

    #: Not a terminal (a pipe, a file): the width is ``$COLUMNS``, else :data:`PIPE_WIDTH`.
    pipe = False

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.pipe and self._width is None:
            columns = os.environ.get("COLUMNS", "")
            size = ConsoleDimensions(int(columns) if columns.isdigit() else PIPE_WIDTH, size.height)
        return size if self.wide else ConsoleDimensions(min(size.width, MAX_WIDTH), size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size

    def set_live(self, live: Live) -> bool:
        """A progress bar or another spinner replaces the command's spinner."""
        if _busy and _busy[0]._live is not live:
            _busy_stop()
        return super().set_live(live)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """:meth:`rich.console.Console.print`, a lone table fitted to the width (whole and
        uncropped when :attr:`wide`)."""
        _busy_stop()  # the command speaks: its spinner has done its job
        if len(objects) != 1 or not isinstance(objects[0], Table):
            super().print(*objects, **kwargs)
            return
        table = objects[0]
        if self.wide:
            natural = Measurement.get(self, self.options.update_width(_HUGE), table).maximum
            width = max(natural, self.width)
            super().print(
                Segments(self.render(table, self.options.update_width(width))), crop=False
            )
            return
        for part in fit_table(self, table, self.width):
            super().print(part, **kwargs)

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: HighlighterType | None = None,
    ) -> Text:
        return super().render_str(
            visible(text),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=False,
            markup=False,
            highlight=False,
            highlighter=highlighter,
        )


def _console(stderr: bool) -> _LiteralConsole:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream is not None and stream.isatty()
    console = _LiteralConsole(stderr=stderr, markup=False, emoji=False, highlight=False)
    console.pipe = not tty
    return console


out = _console(stderr=False)
err = _console(stderr=True)

#: Longest name (of a deal, bank, tranche) shown in a table or title; longer ones end in "…".
NAME_WIDTH = 120


def clip(text: object, width: int = NAME_WIDTH) -> str:
    """``str(text)`` cut to ``width`` characters with an ellipsis: a name in a table or title."""
    s = str(text)
    return s if len(s) <= width else s[: width - 1] + "…"


def styled(*parts: str | tuple[str, str]) -> Text:
    """Literal text with styled parts: ``styled(("valid", "green"), ": ", name)``."""
    return Text.assemble(
        *(visible(p) if isinstance(p, str) else (visible(p[0]), p[1]) for p in parts)
    )


_HUGE = 100_000  # a width no table reaches: measures a table's natural width


def _column_ranges(console: Console, table: Table) -> list[Measurement]:
    """Each column's narrowest (its longest word, padding included) and natural width."""
    options = console.options.update_width(_HUGE)
    return [table._measure_column(console, options, c) for c in table.columns]


def _part(table: Table, columns: Sequence[Column], first: bool) -> Table:
    """A copy of ``table`` with only ``columns`` (their cells kept); later parts' titles say
    they continue it."""
    part = copy.copy(table)
    part.columns = [
        dataclasses.replace(c, _index=i, _cells=list(c._cells)) for i, c in enumerate(columns)
    ]
    if not first and table.title is not None:
        part.title = Text.assemble(table.title, " (continued)")
    if not first:
        part.caption = None
    return part


def _lay_out(table: Table, ranges: Sequence[Measurement], width: int) -> None:
    """Give ``table``'s columns fixed widths (content, without padding) that sum to at most
    ``width`` less the borders: each at least its longest word, the room left going first to
    the columns that then reach their natural width (the fewest columns wrap)."""
    pad = [table._get_padding_width(i) for i in range(len(table.columns))]
    widths = [r.minimum for r in ranges]
    room = width - table._extra_width - sum(widths)
    for i in sorted(range(len(widths)), key=lambda i: ranges[i].maximum - ranges[i].minimum):
        grow = min(room, ranges[i].maximum - widths[i])
        widths[i] += grow
        room -= grow
    for column, w, p in zip(table.columns, widths, pad, strict=True):
        column.width = max(w - p, 1)
        column.no_wrap = False
        column.overflow = "fold"  # a word longer than the column is folded, never cut to "…"


def _label_columns(table: Table) -> list[int]:
    """The leading columns that name a row, repeated in every part of a split table: the
    first, and the second too when the first repeats its values (a group, e.g. "Mechanism",
    whose rows the second column names)."""
    first = [str(c) for c in table.columns[0]._cells]
    return [0, 1] if len(table.columns) > 2 and len(set(first)) < len(first) else [0]


def _split(keys: list[int], n: int, fits: Callable[[list[int]], bool]) -> list[list[int]] | None:
    """The columns after ``keys`` in the fewest runs for which ``fits([*keys, *run])``,
    greedily (the fewest for contiguous runs), or None when one column does not fit beside
    the keys."""
    groups: list[list[int]] = []
    for c in range(len(keys), n):
        if groups and fits([*keys, *groups[-1], c]):
            groups[-1].append(c)
        elif fits([*keys, c]):
            groups.append([c])
        else:
            return None
    return [[*keys, *g] for g in groups]


def fit_table(console: Console, table: Table, width: int) -> list[Table]:
    """``table`` as one or more tables at most ``width`` columns wide whose cells all show
    whole.  A table whose natural width fits is returned as it is.  Otherwise its columns
    wrap at spaces (headers and text; a number has none, so it never wraps) down to their
    longest word; if even that is too wide, its columns are split into the fewest parts that
    fit, each repeating the row's label (the first column; the first two when the first is
    a group that repeats its values); among the splits into that many
    parts (up to four), the one where the fewest parts wrap and the widest is narrowest."""
    ranges = _column_ranges(console, table)
    extra = table._extra_width
    if sum(r.maximum for r in ranges) + extra <= width or len(ranges) < 2:
        return [table]
    if sum(r.minimum for r in ranges) + extra <= width:
        _lay_out(table, ranges, width)
        return [table]
    n = len(ranges)
    edges = extra - (n - 1 if table.box else 0)

    def span(cols: Sequence[int], key: str) -> int:
        seps = len(cols) - 1 if table.box else 0
        return sum(int(getattr(ranges[c], key)) for c in cols) + edges + seps

    keys = _label_columns(table)
    groups = _split(keys, n, lambda cols: span(cols, "minimum") <= width)
    if groups is None:  # a column too wide even beside the first: fold it, never cut it
        for column in table.columns:
            column.no_wrap = False
            column.overflow = "fold"
        return [table]
    if len(groups) <= 4:

        def score(gs: list[list[int]]) -> tuple[int, int]:
            natural = [span(g, "maximum") for g in gs]
            return sum(w > width for w in natural), max(natural)

        for cuts in itertools.combinations(range(len(keys) + 1, n), len(groups) - 1):
            bounds = [len(keys), *cuts, n]
            other = [[*keys, *range(a, b)] for a, b in itertools.pairwise(bounds)]
            if all(span(g, "minimum") <= width for g in other) and score(other) < score(groups):
                groups = other
    tables = []
    for k, group in enumerate(groups):
        part = _part(table, [table.columns[c] for c in group], k == 0)
        if span(group, "maximum") > width:
            _lay_out(part, [ranges[c] for c in group], width)
        tables.append(part)
    return tables


#: What the terminal shows while Numba compiles the kernels.
COMPILING = "compiling the Numba kernels (first use only: they are cached on disk)"
#: The modules whose import means Numba kernels are about to be compiled or loaded.
_NUMBA_KERNELS = frozenset({"greenabs.assets.kernels_numba", "greenabs.montecarlo._numba"})
_listeners: list[Any] = []  # the Numba compile listener installed in this process, if any


def show_compiles(console: Console) -> Any:
    """A spinner on ``console`` while Numba compiles (a first use takes seconds; a kernel
    found in Numba's disk cache is not compiled, so nothing shows).  Installed once; returns
    the listener (Numba's ``numba:compile`` events, outermost only)."""
    if _listeners:
        return _listeners[0]
    # typed as Any: mypy sees Numba typed where it is installed and untyped elsewhere
    event: Any = importlib.import_module("numba.core.event")
    depth = [0]
    status: list[Any] = []

    def on_start(self: Any, ev: Any) -> None:
        depth[0] += 1
        if depth[0] == 1:
            status.append(console.status(COMPILING))
            status[0].start()

    def on_end(self: Any, ev: Any) -> None:
        depth[0] -= 1
        if depth[0] == 0 and status:
            status.pop().stop()

    spinner = type("_Spinner", (event.Listener,), {"on_start": on_start, "on_end": on_end})
    listener = spinner()
    event.register("numba:compile", listener)
    _listeners.append(listener)
    return listener


class _KernelImportWatch(importlib.abc.MetaPathFinder):
    """Installs :func:`show_compiles` when a Numba kernel module is first imported, so that a
    command that never uses Numba never pays for importing it."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname in _NUMBA_KERNELS:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self)
            show_compiles(self.console)


def _watch_compiles() -> None:
    """On a terminal (stderr), a spinner while Numba compiles, never in redirected output."""
    if not err.is_terminal or _listeners:
        return
    if any(isinstance(f, _KernelImportWatch) for f in sys.meta_path):
        return
    if "numba" in sys.modules:
        show_compiles(err)
    else:
        sys.meta_path.insert(0, _KernelImportWatch(err))


#: What the spinner says while a command works, before it prints anything.
_DOING = {
    "run": "running the deal",
    "pool": "analysing the pool",
    "rate": "reading the deal",
    "size": "reading the deal",
    "breakeven": "searching for the breakeven",
    "bank": "measuring the bank",
    "systemic": "building the index",
}
_busy: list[Status] = []  # the spinner of the command in progress, if any


def _busy_start(command: str | None) -> None:
    """A spinner on stderr (a terminal only) until the command prints, another live display
    (a progress bar, the Numba spinner) starts, or the command ends."""
    if not err.is_terminal or _busy or command is None:
        return
    status = Status(_DOING.get(command, f"greenabs {command}"), console=err)
    _busy.append(status)
    status.start()


def _busy_stop() -> None:
    if _busy:
        _busy.pop().stop()


def _wide(value: bool) -> None:
    out.wide = err.wide = value


def _command_options(ctx: typer.Context, value: bool) -> bool:
    """The ``--wide`` flag's callback, run once a long command's options are parsed (after
    ``--help``, which exits first): sets the width and starts the command's spinner (not
    with ``--quiet``)."""
    _wide(value)
    if not ctx.params.get("quiet"):
        _busy_start(ctx.info_name)
    ctx.call_on_close(_busy_stop)
    return value


XlsxOpt = Annotated[
    Path | None, typer.Option("--xlsx", help="Write the tables to an Excel workbook")
]
"""Every command's ``--xlsx``: its tables, a formatted sheet each (:mod:`greenabs.reports`)."""

WideOpt = Annotated[
    bool,
    typer.Option(
        "--wide",
        callback=_command_options,
        help=f"Print tables whole, however wide (default: fit {MAX_WIDTH} columns)",
    ),
]
"""The ``--wide`` flag of a command that prints tables, ``wide: WideOpt = False`` (it also
starts the spinner shown until the command prints)."""


def package_version() -> str:
    """greenabs' installed version (the package's own when it runs from a source tree)."""
    try:
        return version("greenabs")
    except PackageNotFoundError:  # pragma: no cover - run from a tree without installing
        from greenabs import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        out.print(f"greenabs {package_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print greenabs' version and exit",
        ),
    ] = False,
) -> None:
    _wide(False)  # a command without --wide prints at the fitted width
    _watch_compiles()


def fmt(v: float, kind: str) -> str:
    if kind == "pct":
        return pct(v, 2)
    if kind == "money":
        return money(v)
    return num(v, 2)
