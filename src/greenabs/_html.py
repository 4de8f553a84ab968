"""Notebook views and number formats.

:func:`summary` builds what results, deals, bank impacts and indices return from
``_repr_html_``: a title, a table of key figures and a few small tables, a few kilobytes
whatever the size of the object (a notebook shows it instead of a repr of every array).  Every
text is escaped.  :func:`money`, :func:`pct` and :func:`num` are the number formats the
command line prints too.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

__all__ = ["MAX_ROWS", "money", "names", "num", "pct", "summary", "table"]

MAX_ROWS = 20
"""Rows a table shows; the rest are counted ("and 12 more rows")."""


def money(v: float) -> str:
    """An amount with thousands separators and cents (beyond any balance sheet: exponent)."""
    if math.isfinite(v) and abs(v) >= 1e18:  # not 300 digits
        return f"{v:.6e}"
    return f"{v:,.2f}"


def pct(v: float | None, digits: int = 3) -> str:
    """A decimal as a percentage (``-`` for none or NaN)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 1e7:  # a flag's extreme yield: not 300 digits
        return f"{v * 100:.{digits}e}%"
    return f"{v:.{digits}%}"


def num(v: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals (``-`` for none or NaN)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}e}" if abs(v) >= 1e18 else f"{v:.{digits}f}"


def names(items: Iterable[str], most: int = 6) -> str:
    """``A, B, Sub``; past ``most`` names, the first ones and how many there are."""
    items = list(items)
    if len(items) <= most:
        return ", ".join(items)
    return ", ".join(items[:most]) + f", ... ({len(items)} in all)"


def _numeric(text: str) -> bool:
    t = text.replace(",", "").replace("%", "").replace("x", "").strip()
    try:
        float(t)
    except ValueError:
        return t == "-"
    return True


def _text(v: object) -> str:
    return "-" if v is None else str(v)


def _row(tag: str, values: Sequence[object], right: Sequence[bool]) -> str:
    cells = (
        f'<{tag} style="text-align:{"right" if r else "left"}">{html.escape(_text(v))}</{tag}>'
        for v, r in zip(values, right, strict=False)
    )
    return "<tr>" + "".join(cells) + "</tr>"


def table(
    header: Sequence[str] | None, rows: Iterable[Sequence[object]], max_rows: int = MAX_ROWS
) -> str:
    """An HTML table of preformatted cells, at most ``max_rows`` rows and a line counting the
    others; a column whose cells are all numbers (or ``-``) is right-aligned, header too."""
    rows = list(rows)
    shown = rows[:max_rows]
    width = max([len(header or ())] + [len(r) for r in shown])
    right = [
        any(_text(r[i]) != "-" for r in shown if i < len(r))
        and all(_numeric(_text(r[i])) for r in shown if i < len(r))
        for i in range(width)
    ]
    head = f"<thead>{_row('th', header, right)}</thead>" if header else ""
    body = "".join(_row("td", r, right) for r in shown)
    more = len(rows) - max_rows
    tail = (
        f'<div style="font-size:smaller">and {more:,} more row{"s" * (more > 1)}</div>'
        if more > 0
        else ""
    )
    return f'<table style="border-collapse:collapse">{head}<tbody>{body}</tbody></table>{tail}'


def summary(
    title: str,
    facts: Iterable[tuple[str, object]],
    tables: Iterable[tuple[str, str]] = (),
    note: str | None = None,
) -> str:
    """A titled block: the key ``facts`` (label, value) as a two-column table, then each of
    ``tables`` (caption, HTML from :func:`table`) and an optional ``note``."""
    parts = [
        f"<div><strong>{html.escape(title)}</strong></div>",
        table(None, [(k, v) for k, v in facts], max_rows=MAX_ROWS * 2),
    ]
    for caption, body in tables:
        parts.append(f'<div style="margin-top:6px"><em>{html.escape(caption)}</em></div>{body}')
    if note:
        parts.append(f'<div style="font-size:smaller">{html.escape(note)}</div>')
    return '<div class="greenabs">' + "".join(parts) + "</div>"
