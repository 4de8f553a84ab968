"""What every command shares: the Typer app, the consoles and number formatting.

The consoles print every string literally: markup (``[red]``), emoji codes (``:smile:``) and
the highlighter are off, and control characters are written out as ``\\xNN``, so a deal,
tranche or file name is shown as written, never interpreted by rich or by the terminal.
Colour is given as :class:`rich.text.Text` objects (see :func:`styled`).  The highlighter is
also what made printing a long word quadratic; with it off, printing is linear.
"""

from __future__ import annotations

import math
import sys

import typer
from rich.console import Console, HighlighterType, JustifyMethod, OverflowMethod
from rich.style import Style
from rich.text import Text

__all__ = [
    "NAME_WIDTH",
    "app",
    "clip",
    "err",
    "fmt",
    "money",
    "num",
    "out",
    "pct",
    "styled",
    "visible",
]

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
    """A console whose every string is shown as written (see the module's docstring)."""

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


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream is not None and stream.isatty()
    return _LiteralConsole(
        stderr=stderr,
        width=None if tty else 150,
        markup=False,
        emoji=False,
        highlight=False,
    )


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


def money(v: float) -> str:
    if math.isfinite(v) and abs(v) >= 1e18:  # beyond any balance sheet: not 300 digits
        return f"{v:.6e}"
    return f"{v:,.2f}"


def pct(v: float | None, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 1e7:  # a flag's extreme yield: not 300 digits
        return f"{v * 100:.{digits}e}%"
    return f"{v:.{digits}%}"


def num(v: float | None, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}e}" if abs(v) >= 1e18 else f"{v:.{digits}f}"


def fmt(v: float, kind: str) -> str:
    if kind == "pct":
        return pct(v, 2)
    if kind == "money":
        return money(v)
    return num(v, 2)
