"""Reading bank files (YAML), with errors that name the file, the field and the reason.

Any list section of a bank file (``loans``, ``hqla``, ``securities``,
``retained_securitisations``, ``deposits``, ``wholesale``) may instead name a CSV file (relative
to the bank file) with one row per item and columns named like the fields; a loan book's
classification comes from the columns ``normal, special_mention, substandard, doubtful,
loss``.  Bad rows are reported with their row number and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, TypeAdapter, ValidationError

from greenabs.bank.spec import (
    BankSpec,
    Classification,
    DepositSpec,
    HQLASpec,
    LoanBookSpec,
    PositionSpec,
    WholesaleSpec,
)
from greenabs.errors import DataError, Problem, SpecError
from greenabs.spec.io import error_reason, read_yaml, validate_model
from greenabs.tables import ragged_row_problem, read_csv_cells

__all__ = ["CSV_SECTIONS", "bank_schema", "is_bank_data", "load_bank", "parse_bank"]

_SECTIONS: dict[str, type[BaseModel]] = {
    "loans": LoanBookSpec,
    "hqla": HQLASpec,
    "securities": PositionSpec,
    "retained_securitisations": PositionSpec,
    "deposits": DepositSpec,
    "wholesale": WholesaleSpec,
}
#: The sections of a bank file that may name a CSV file of their rows instead of listing them.
CSV_SECTIONS = tuple(_SECTIONS)
_CLASSES = tuple(Classification.model_fields)


def _section_rows(path: Path, model: type[BaseModel]) -> list[Any]:
    try:
        frame = read_csv_cells(path)
    except FileNotFoundError:
        raise DataError(str(path), Problem("", "file not found")) from None
    except pd.errors.ParserError as exc:
        problem = ragged_row_problem(exc)
        reason = Problem("", f"cannot read the table ({exc})") if problem is None else problem
        raise DataError(str(path), reason) from None
    except pd.errors.EmptyDataError:
        raise DataError(str(path), Problem("", "the table is empty (no header row)")) from None
    except (OSError, ValueError) as exc:
        raise DataError(str(path), Problem("", f"cannot read the table ({exc})")) from None
    rows = []
    for rec in frame.to_dict(orient="records"):
        row: dict[str, Any] = {
            str(k).strip(): v
            for k, v in rec.items()
            if not (isinstance(v, str) and v.strip() == "")
        }
        cls = {k: row.pop(k) for k in _CLASSES if k in row}
        if cls:
            row["classification"] = cls
        rows.append(row)
    try:
        return TypeAdapter(list[model]).validate_python(rows)  # type: ignore[valid-type]
    except ValidationError as exc:
        probs = []
        for err in exc.errors():
            loc = list(err["loc"])
            idx = loc.pop(0) if loc and isinstance(loc[0], int) else None
            col = ".".join(str(x) for x in loc)
            where = f"row {int(idx) + 2}" if idx is not None else ""
            where += f", column {col}" if col else ""
            probs.append(Problem(where, error_reason(err)))
        raise DataError(str(path), probs) from None


def parse_bank(data: Any, source: str = "argument data", base_dir: Path | None = None) -> BankSpec:
    """A validated bank from parsed YAML/JSON data; CSV sections are read from ``base_dir``.

    ``source`` names the data in error messages: the file it came from, or by default the
    argument."""
    if not isinstance(data, dict):
        raise SpecError(source, Problem("", "a bank file must be a mapping of fields"))
    data = dict(data)
    for key, model in _SECTIONS.items():
        if isinstance(data.get(key), str):
            if data[key].strip() in ("", ".", ".."):
                why = f"expected a CSV file with the {key} rows, got {data[key]!r}"
                raise SpecError(source, Problem(key, why))
            path = Path(data[key])
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            data[key] = _section_rows(path, model)
    return validate_model(BankSpec, data, source)


def is_bank_data(data: Any) -> bool:
    """Whether parsed YAML is a bank file rather than a deal file: a mapping with a bank's
    sections (``deposits``, ``capital`` or ``cash_reserves``) and none of a deal's (``pool``,
    ``structure``)."""
    return (
        isinstance(data, dict)
        and not {"pool", "structure"} & set(data)
        and bool({"deposits", "capital", "cash_reserves"} & set(data))
    )


def bank_schema() -> dict[str, Any]:
    """JSON Schema of the bank file, for editors: a list section (``loans``, ``deposits``, ...)
    takes the list or the name of a CSV file with its rows."""
    schema = BankSpec.model_json_schema(by_alias=True)
    for key in _SECTIONS:
        prop = schema["properties"][key]
        listed = {k: prop.pop(k) for k in ("type", "items", "anyOf", "minItems") if k in prop}
        prop["anyOf"] = [
            listed,
            {"type": "string", "description": f"CSV file with the {key} rows"},
        ]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "greenabs bank file"
    return schema


def load_bank(path: str | Path) -> BankSpec:
    """Read and validate a bank file."""
    p = Path(path)
    return parse_bank(read_yaml(p), str(p), p.parent)
