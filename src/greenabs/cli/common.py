"""What every command shares: the Typer app, the consoles and number formatting."""

from __future__ import annotations

import math
import sys

import typer
from rich.console import Console

__all__ = ["app", "err", "fmt", "money", "num", "out", "pct"]

app = typer.Typer(
    name="greenabs",
    help="Securitise green-industry assets: project pools, run waterfalls, price tranches, "
    "measure the originating bank and systemic risk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 150)


def money(v: float) -> str:
    return f"{v:,.2f}"


def pct(v: float | None, digits: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}%}"


def num(v: float | None, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def fmt(v: float, kind: str) -> str:
    if kind == "pct":
        return pct(v, 2)
    if kind == "money":
        return money(v)
    return num(v, 2)
