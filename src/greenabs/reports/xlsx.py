"""The Excel workbook: every table on its own sheet, formatted.

Numbers are numeric cells with number formats (money ``#,##0.00``, rates ``0.00%``, ...:
:data:`greenabs.reports.formats.EXCEL`), dates are date cells; headers are bold on a tinted
row, frozen, with an autofilter over the table; columns are as wide as their contents (within
limits).  A ``meta`` sheet says what produced the workbook.  Sheet names are the table names,
cut to Excel's 31 characters and made unique.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from greenabs.reports.formats import EXCEL, cells, column_kinds, key_values, show
from greenabs.results import _safe_names

__all__ = ["write_workbook"]

_HEAD_FONT = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="E8F5E9")
_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAX_WIDTH = 60
_MAX_TEXT = 32_767  # characters a cell holds


def _value(v: Any) -> Any:
    """A cell value openpyxl writes as the right type: numbers as numbers (NaN and infinities
    empty), dates as dates, booleans as booleans, text without control characters and cut to
    what a cell holds."""
    if v is None:
        return None
    if isinstance(v, bool | date):
        return v
    if isinstance(v, int | float):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else v
    if hasattr(v, "item"):  # numpy scalar
        return _value(v.item())
    text = _BAD.sub(lambda m: f"\\x{ord(m.group()):02x}", str(v))
    return text[:_MAX_TEXT]


def _sheet(wb: Workbook, name: str, df: pd.DataFrame) -> None:
    ws = wb.create_sheet(name)
    cols = [str(c) for c in df.columns]
    ws.append(cols)
    for j, c in enumerate(cols):
        if c.startswith("="):
            ws.cell(row=1, column=j + 1).data_type = "s"
    widths = [len(c) for c in cols]
    for i, row in enumerate(cells(df, column_kinds(df))):
        values = [_value(v) for v, _ in row]
        ws.append(values)
        for j, (v, (_, kind)) in enumerate(zip(values, row, strict=True)):
            if isinstance(v, str) and v.startswith("="):  # text, never a formula
                ws.cell(row=i + 2, column=j + 1).data_type = "s"
            fmt = EXCEL.get(kind)
            if v is not None and fmt is not None and not isinstance(v, str | bool):
                ws.cell(row=i + 2, column=j + 1).number_format = fmt
            widths[j] = max(widths[j], len(show(v, kind)))
    for j in range(len(cols)):
        ws.cell(row=1, column=j + 1).font = _HEAD_FONT
        ws.cell(row=1, column=j + 1).fill = _HEAD_FILL
        ws.cell(row=1, column=j + 1).alignment = Alignment(vertical="top")
        ws.column_dimensions[get_column_letter(j + 1)].width = min(widths[j] + 2, _MAX_WIDTH)
    ws.freeze_panes = "A2"
    if cols:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(len(df) + 1, 1)}"


def write_workbook(
    path: str | Path, tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]
) -> Path:
    """Write ``tables`` to a workbook, one sheet each, and ``meta`` on a ``meta`` sheet."""
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    names = _safe_names(list(tables), 31, taken={"meta"})
    for (_, df), sheet in zip(tables.items(), names, strict=True):
        _sheet(wb, sheet, df)
    _sheet(wb, "meta", key_values(dict(meta), "meta"))
    out = Path(path)
    wb.save(out)
    return out
