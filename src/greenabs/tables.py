"""Reading CSV tables at the edge (loan tapes, bank sections, indicator data) the same way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from greenabs.errors import Problem

__all__ = ["ragged_row_problem", "read_csv_cells"]


def read_csv_cells(path: Path, **options: Any) -> pd.DataFrame:
    """The cells of a CSV file as text ("" where empty), row 1 the header.  A row longer than
    the header is an error, not (pandas' default) a hidden index column that shifts every cell
    of the row one column left: pandas raises a ParserError naming the line
    (:func:`ragged_row_problem` turns it into a Problem)."""
    raw: pd.DataFrame = pd.read_csv(
        path,
        header=None,
        dtype=str,
        keep_default_na=False,
        skipinitialspace=True,
        index_col=False,
        **options,
    )
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = list(raw.iloc[0])
    return frame


def ragged_row_problem(exc: pd.errors.ParserError) -> Problem | None:
    """The Problem of a CSV row longer than its header, from pandas' error (None if another)."""
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if ragged is None:
        return None
    want, line, got = ragged.groups()
    return Problem(f"row {line}", f"{got} cells, but the header names {want} columns")
