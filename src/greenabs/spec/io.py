"""Reading deal files and loan tapes: the edge where text becomes validated models.

Every failure ends in a :class:`~greenabs.errors.SpecError` (deal file) or
:class:`~greenabs.errors.DataError` (tape) that names the file, the field path or row and
column, and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from greenabs.assets import FAMILIES, AssetSpec, AssetSpecBase
from greenabs.errors import DataError, Problem, SpecError
from greenabs.spec.deal import STEP_TYPES, DealSpec

__all__ = [
    "deal_schema",
    "error_reason",
    "load_deal",
    "load_tape",
    "parse_deal",
    "problems_from",
    "read_yaml",
    "validate_model",
]

M = TypeVar("M", bound=BaseModel)

_TAGS = set(FAMILIES) | set(STEP_TYPES)
_ASSETS: TypeAdapter[list[Any]] = TypeAdapter(list[AssetSpec])


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    prev_int = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            prev_int = True
            continue
        if prev_int and part in _TAGS:
            prev_int = False
            continue
        prev_int = False
        if part.startswith(("function-", "json-or-python", "union[")):
            continue
        out += f".{part}" if out else part
    return out


def error_reason(err: Mapping[str, Any]) -> str:
    """The reason of one pydantic error, in words a user of a file understands."""
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; `greenabs schema` lists the fields)"
    if err["type"] == "union_tag_invalid":
        return f"unknown type {err['ctx']['tag']!r} (known: {err['ctx']['expected_tags']})"
    if err["type"] == "unknown_step":
        got = err.get("input")
        shown = ", ".join(map(str, got)) if isinstance(got, dict) else repr(got)
        return f"{msg} (got {shown})"
    if err["type"] in ("float_parsing", "int_parsing", "float_type", "int_type") and "input" in err:
        return f"{msg} (got {err['input']!r})"
    return msg


def validate_model(model: type[M], data: Any, source: str) -> M:
    """``model`` validated from ``data``; pydantic's errors become one SpecError naming
    ``source``, each field path and its reason."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, problems_from(exc)) from None


def problems_from(exc: ValidationError, prefix: str = "") -> list[Problem]:
    """Turn pydantic's errors into :class:`Problem` with dotted field paths."""
    probs = []
    for err in exc.errors():
        path = _path(err["loc"])
        where = f"{prefix}.{path}" if prefix and path else (prefix or path)
        for reason in error_reason(err).split("\n"):
            # whole-deal checks carry their field path at the start of the message
            head, sep, rest = reason.partition(": ")
            if not where and sep and " " not in head:
                probs.append(Problem(head, rest))
            else:
                probs.append(Problem(where, reason))
    return probs


def read_yaml(path: Path) -> Any:
    """Parsed YAML of a file; a missing file or bad YAML is a SpecError with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), Problem("", "file not found")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), Problem("", f"cannot read the file ({exc})")) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecError(str(path), Problem(where, f"not valid YAML: {reason}")) from None


def _tape_frame(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(path, dtype=object)
            return frame.where(frame.notna(), "")
    except FileNotFoundError:
        raise DataError(str(path), Problem("", "tape file not found")) from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(str(path), Problem("", f"cannot read the tape ({exc})")) from None
    raise DataError(
        str(path), Problem("", f"unsupported tape format {suffix!r} (use .csv or .xlsx)")
    )


def load_tape(path: str | Path) -> list[AssetSpecBase]:
    """Assets from a loan tape (CSV or Excel, one row per asset).

    Columns carry the names of the inline asset fields (``id, type, balance, rate,
    original_term, age, amortization`` and the optional ones); empty cells mean "not given".
    """
    p = Path(path)
    frame = _tape_frame(p)
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(str(p), Problem("", "the tape has no rows"))
    known = {name for fam in FAMILIES.values() for name in fam.spec.model_fields}
    problems = [
        Problem(f"column {c!r}", f"unknown column (allowed: {', '.join(sorted(known))})")
        for c in frame.columns
        if c not in known
    ]
    for col in ("id", "type"):
        if col not in frame.columns:
            problems.append(Problem(f"column {col!r}", "missing column"))
    if problems:
        raise DataError(str(p), problems)
    types = set(frame["type"].astype(str).str.strip())
    for t in sorted(types & set(FAMILIES)):
        spec = FAMILIES[t].spec
        for name, field in spec.model_fields.items():
            if field.is_required() and name not in frame.columns:
                problems.append(
                    Problem(f"column {name!r}", f"missing column (required for type {t!r})")
                )
    if problems:
        raise DataError(str(p), problems)
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items() if not (isinstance(v, str) and v.strip() == "")}
        for row in frame.to_dict(orient="records")
    ]
    try:
        return _ASSETS.validate_python(records)
    except ValidationError as exc:
        raise DataError(str(p), _row_problems(exc, records)) from None


def _row_problems(exc: ValidationError, records: list[dict[str, Any]]) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = list(err["loc"])
        row = loc.pop(0) if loc and isinstance(loc[0], int) else None
        if loc and loc[0] in _TAGS:
            loc.pop(0)
        col = _path(loc)
        if row is None:
            where = col
        else:
            rid = records[int(row)].get("id", "?")
            where = f"row {int(row) + 2} (id {rid})" + (f", column {col}" if col else "")
        out.append(Problem(where, error_reason(err)))
    return out


def parse_deal(data: Any, source: str = "<deal>", base_dir: Path | None = None) -> DealSpec:
    """A validated deal from already-parsed YAML/JSON data (a mapping)."""
    if not isinstance(data, dict):
        raise SpecError(source, Problem("", "a deal file must be a mapping of fields"))
    pool = data.get("pool")
    if isinstance(pool, dict) and "tape" in pool:
        if "assets" in pool:
            raise SpecError(source, Problem("pool", "give assets or tape, not both"))
        tape = Path(str(pool["tape"]))
        if not tape.is_absolute() and base_dir is not None:
            tape = base_dir / tape
        data = {**data, "pool": {**pool, "assets": load_tape(tape), "tape": str(pool["tape"])}}
    return validate_model(DealSpec, data, source)


def load_deal(path: str | Path) -> DealSpec:
    """Read and validate a deal file (YAML or JSON); a tape is read relative to it."""
    p = Path(path)
    return parse_deal(read_yaml(p), str(p), p.parent)


def deal_schema() -> dict[str, Any]:
    """JSON Schema of the deal file, for editors (``pool`` takes ``assets`` or ``tape``)."""
    schema = DealSpec.model_json_schema()
    pool = schema["$defs"]["PoolSpec"]
    pool["required"] = [r for r in pool.get("required", []) if r != "assets"]
    pool["anyOf"] = [{"required": ["assets"]}, {"required": ["tape"]}]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "greenabs deal file"
    return schema
