"""Reading deal files and loan tapes: the edge where text becomes validated models.

Every failure ends in a :class:`~greenabs.errors.SpecError` (deal file) or
:class:`~greenabs.errors.DataError` (tape) that names the file, the field path or row and
column, and the reason.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from datetime import date
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import Mark, MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from greenabs.assets import FAMILIES, AssetSpecBase, asset_union, load_entry_points
from greenabs.errors import ARGUMENT, DataError, Problem, SpecError
from greenabs.spec.deal import DealSpec, deal_model
from greenabs.steps import STEPS
from greenabs.tables import ragged_row_problem, read_csv_cells

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


def _is_tag(part: str) -> bool:
    """Whether a pydantic location part is a union tag (a family or step name), not a field."""
    return part in FAMILIES or part in STEPS


def _assets_adapter() -> TypeAdapter[list[Any]]:
    """Validator of a list of assets of any registered family."""
    load_entry_points()
    items: Any = list[asset_union()]  # type: ignore[misc]
    return TypeAdapter(items)


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, shortened with an ellipsis past ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    prev_int = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            prev_int = True
            continue
        if prev_int and _is_tag(part):
            prev_int = False
            continue
        prev_int = False
        if part.startswith(("function-", "json-or-python", "union[")):
            continue
        out += f".{part}" if out else part
    return out


_SHOW_INPUT = frozenset(
    ("float_parsing", "int_parsing", "float_type", "int_type", "finite_number", "int_from_float")
)


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
    if err["type"] in _SHOW_INPUT and "input" in err:
        return f"{msg} (got {_shown(err['input'])})"
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


#: Largest YAML file :func:`read_yaml` reads, in bytes (64 MiB): a pool that large belongs in a
#: loan tape (CSV or Excel), which is read many times faster than inline YAML.
MAX_YAML_BYTES = 64 * 1024 * 1024
#: Deepest nesting of lists and mappings in a YAML file, aliases expanded (deal and bank files
#: need fewer than ten levels).
MAX_YAML_DEPTH = 100
#: Most values (scalars, lists, mappings) a YAML file may hold with its aliases expanded.
MAX_YAML_NODES = 10_000_000
#: Aliases may expand a file to at most ``ALIAS_FACTOR`` times the values and aliases written in
#: it plus ``ALIAS_EXTRA``: a "billion laughs" of nested aliases is refused before it grows.
ALIAS_FACTOR = 10
ALIAS_EXTRA = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


def _where(mark: Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


class _StrictConstructor(SafeConstructor):
    """PyYAML's safe constructor (plain data only) that refuses a key given twice in a mapping;
    its scalar constructors are guarded (:func:`_guarded`)."""

    def __init__(self) -> None:
        super().__init__()
        self._merged: dict[MappingNode, int] = {}

    def flatten_mapping(self, node: MappingNode) -> None:
        # PyYAML deletes the merge keys (``<<: *base``) from the mapping's own list of pairs in
        # place, then puts the merged pairs before it: remember how many came in that way,
        # since the mapping's own keys may override those but not repeat one another
        own = node.value
        super().flatten_mapping(node)
        if merged := len(node.value) - len(own):
            self._merged[node] = merged

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) < len(node.value):  # a key repeated, or a merged key overridden
            lines: dict[Hashable, int] = {}
            for key_node, _ in node.value[self._merged.get(node, 0) :]:
                key = self.construct_object(key_node)  # built already: the same object
                if key in lines:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key {_shown(key)} (first given on line {lines[key] + 1})",
                        key_node.start_mark,
                    )
                lines[key] = key_node.start_mark.line
        return mapping


def _guarded(kind: str, construct: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """PyYAML's constructor of one scalar type, whose failures on text it did not expect (an
    explicit ``!!int x``, ``!!timestamp ""``, 30 February, 5,000 digits) become a
    ConstructorError at the scalar's line instead of a bare ValueError, KeyError, ..."""

    def guarded(loader: Any, node: Any) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, IndexError, AttributeError, OverflowError, TypeError) as e:
            detail = str(e) if isinstance(e, ValueError | OverflowError) else ""
            if detail.startswith(("could not convert", "invalid literal")):
                detail = ""
            raise ConstructorError(
                None,
                None,
                f"{_shown(node.value, 40)} is not a valid {kind}"
                + (f" ({detail})" if detail else ""),
                node.start_mark,
            ) from None

    return guarded


# PyYAML dispatches on a table of functions, not on methods: point it at the guarded ones
_StrictConstructor.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    **{
        f"tag:yaml.org,2002:{tag}": _guarded(
            kind, SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{tag}"]
        )
        for tag, kind in (
            ("int", "integer"),
            ("float", "number"),
            ("bool", "true/false value"),
            ("timestamp", "date"),
        )
    },
}


class _TooDeep(MarkedYAMLError):
    """Lists and mappings nest deeper than :data:`MAX_YAML_DEPTH`."""


class _PyLoader(Reader, Scanner, Parser, Composer, _StrictConstructor, Resolver):
    """The pure-Python loader, used where PyYAML was built without libyaml.  Its composer
    recurses once per level: it stops past :data:`MAX_YAML_DEPTH` instead of overflowing."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _StrictConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH + 1:  # a scalar sits one level below its list
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeep(problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_LOADER: type[Any] = _PyLoader
try:
    from yaml._yaml import CParser

    class _CLoader(CParser, _StrictConstructor, Resolver):
        """libyaml's C parser (several times faster) with the same safe, strict constructor."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _StrictConstructor.__init__(self)
            Resolver.__init__(self)

    _LOADER = _CLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    pass


def _check_tree(root: Node, source: str) -> None:
    """Refuse a composed document that nests deeper than :data:`MAX_YAML_DEPTH`, whose aliases
    expand it past :data:`MAX_YAML_NODES` or :data:`ALIAS_FACTOR`, or holds an alias to a list
    or mapping it is inside.  Iterative (no recursion) and linear in what is written: the
    expanded size of a shared node is counted once."""
    done: dict[int, tuple[int, int]] = {}  # id(collection) -> (values expanded, depth)
    path: set[int] = set()  # the collections entered and not yet left
    written = 1
    stack: list[tuple[Node, list[Node] | None]] = [(root, None)]
    while stack:
        node, nested = stack.pop()
        key = id(node)
        if nested is None:  # entering the node
            if key in done:
                continue
            if key in path:
                raise SpecError(
                    source,
                    Problem(
                        _where(node.start_mark), "an alias refers to a list or mapping it is in"
                    ),
                )
            if isinstance(node, MappingNode):
                kids: list[Node] = [n for pair in node.value for n in pair]
            elif isinstance(node, SequenceNode):
                kids = node.value
            else:  # a document that is one scalar
                continue
            written += len(kids)
            nested = [k for k in kids if not isinstance(k, ScalarNode)]
            if nested:
                path.add(key)
                stack.append((node, nested))
                stack.extend((k, None) for k in nested)
            else:
                done[key] = (1 + len(kids), 1)
            continue
        path.discard(key)  # leaving it: every nested list and mapping is done
        size = 1 + len(node.value) * (2 if isinstance(node, MappingNode) else 1) - len(nested)
        depth = 1
        for kid in nested:
            s, d = done[id(kid)]
            size += s
            depth = max(depth, d + 1)
        done[key] = (size, depth)
        if depth > MAX_YAML_DEPTH:
            raise SpecError(
                source,
                Problem(
                    _where(node.start_mark),
                    f"lists and mappings nest deeper than {MAX_YAML_DEPTH} levels",
                ),
            )
        if size > MAX_YAML_NODES:
            raise SpecError(
                source,
                Problem(
                    _where(node.start_mark),
                    f"aliases expand this value to {size:,} values, more than the "
                    f"{MAX_YAML_NODES:,} a file may hold",
                ),
            )
    total = done[id(root)][0] if id(root) in done else 1
    if total > ALIAS_FACTOR * written + ALIAS_EXTRA:
        raise SpecError(
            source,
            Problem(
                "",
                f"aliases expand the file from {written:,} to {total:,} values (at most "
                f"{ALIAS_FACTOR} times the values written plus {ALIAS_EXTRA:,})",
            ),
        )


def _read_text(path: Path) -> str:
    source = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(source, Problem("", "file not found")) from None
    except IsADirectoryError:
        raise SpecError(source, Problem("", "a directory, not a file")) from None
    except OSError as exc:
        raise SpecError(
            source, Problem("", f"cannot read the file ({exc.strerror or exc})")
        ) from None
    if len(raw) > MAX_YAML_BYTES:
        raise SpecError(
            source,
            Problem(
                "",
                f"larger than {MAX_YAML_BYTES // 2**20} MiB: give a large pool as a loan tape "
                "(pool: {tape: loans.csv})",
            ),
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            source,
            Problem(
                f"line {line}",
                f"not UTF-8 text (byte {raw[exc.start]:#04x} cannot start a character here)",
            ),
        ) from None


def _yaml_problem(exc: yaml.YAMLError, text: str) -> Problem:
    """Where and why PyYAML refused the text, in a user's words."""
    if isinstance(exc, ReaderError):
        # libyaml counts bytes of the UTF-8 text, the Python reader characters
        pos = int(exc.position)
        head = text[:pos] if _LOADER is _PyLoader else text.encode()[:pos].decode(errors="ignore")
        line = head.count("\n") + 1
        column = len(head) - head.rfind("\n")
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else _shown(char)
        return Problem(
            f"line {line}, column {column}", f"not valid YAML: character {shown} is not allowed"
        )
    if isinstance(exc, _TooDeep) or (
        isinstance(exc, MarkedYAMLError) and "maximum nesting depth" in str(exc.problem)
    ):  # ours, or libyaml's own limit of 1,000 levels
        return Problem(
            _where(exc.problem_mark), f"lists and mappings nest deeper than {MAX_YAML_DEPTH} levels"
        )
    if isinstance(exc, MarkedYAMLError):
        reason = exc.problem or str(exc)
        if exc.context and exc.problem:
            reason = f"{exc.problem} ({exc.context})"
        return Problem(_where(exc.problem_mark), f"not valid YAML: {reason}")
    return Problem("", f"not valid YAML: {_shown(str(exc), 300)}")


def read_yaml(path: Path) -> Any:
    """The parsed YAML of a file, read with libyaml's C parser where present and PyYAML's safe
    constructor (plain data only).

    A missing or unreadable file, bad YAML, a key given twice in one mapping, or a file past the
    limits (:data:`MAX_YAML_BYTES`, :data:`MAX_YAML_DEPTH`, :data:`MAX_YAML_NODES`,
    :data:`ALIAS_FACTOR`) is a SpecError naming the file, the line and the reason; whatever the
    input, nothing else escapes.
    """
    source = str(path)
    text = _read_text(path)
    gc_was_on = gc.isenabled()
    gc.disable()  # parsing makes millions of small objects and no garbage: 3x faster
    loader = None
    try:
        loader = _LOADER(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(node, source)
        return loader.construct_document(node)
    except SpecError:
        raise
    except yaml.YAMLError as exc:
        raise SpecError(source, _yaml_problem(exc, text)) from None
    except RecursionError:
        raise SpecError(
            source, Problem("", f"lists and mappings nest deeper than {MAX_YAML_DEPTH} levels")
        ) from None
    except Exception as exc:  # whatever the input: a SpecError, never a traceback
        reason = f"{type(exc).__name__}: {exc}"
        raise SpecError(
            source, Problem("", f"cannot read the YAML ({_shown(reason, 300)})")
        ) from None
    finally:
        if loader is not None and hasattr(loader, "dispose"):
            loader.dispose()
        if gc_was_on:
            gc.enable()


_CSV = (".csv", ".txt")
_EXCEL = (".xlsx", ".xlsm", ".xls")
_PARQUET = (".parquet", ".pq")

#: Rows of a Parquet tape read, converted and validated at a time (``load_tape(chunk_rows=)``):
#: the memory a tape takes beyond its assets is about one chunk of Python values.
TAPE_CHUNK_ROWS = 16_384


def _workbook_frame(path: Path) -> pd.DataFrame:
    """The first sheet of a workbook: row 1 the header; the frame's index is the sheet row
    number less 2 (as for CSV).  pandas would turn an error cell (``#DIV/0!``, ``#N/A``) or a
    formula without a saved value into an empty cell, which reads as "not given": here both are
    a DataError naming row and column."""
    from openpyxl import load_workbook

    def cells(data_only: bool) -> list[list[tuple[Any, str]]]:
        wb = load_workbook(path, read_only=True, data_only=data_only)
        try:
            if not wb.worksheets:
                return []
            sheet = wb.worksheets[0]
            sheet.reset_dimensions()  # the size a file claims may be wrong: read every row
            return [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]
        finally:
            wb.close()

    grid = cells(data_only=False)
    if not grid:
        raise DataError(str(path), Problem("", "the tape is empty (no header row)"))
    saved = cells(data_only=True) if any(t == "f" for row in grid for _, t in row) else None
    header = ["" if v is None else str(v).strip() for v, _ in grid[0]]
    width = len(header)
    problems: list[Problem] = []
    rows: list[list[Any]] = []
    for r, row in enumerate(grid[1:], start=2):
        values: list[Any] = []
        for c, (value, kind) in enumerate(row):
            if kind == "f":  # a formula: its value as Excel last saved it, if it did
                line = saved[r - 1] if saved is not None and r - 1 < len(saved) else []
                value, kind = line[c] if c < len(line) else (None, "n")
                if value is None:
                    col = header[c] if c < width else f"#{c + 1}"
                    problems.append(
                        Problem(
                            f"row {r}, column {col}",
                            "a formula with no saved value (open the tape in Excel and save it)",
                        )
                    )
            if kind == "e":
                col = header[c] if c < width else f"#{c + 1}"
                problems.append(
                    Problem(f"row {r}, column {col}", f"an Excel error value {_shown(value)}")
                )
            values.append("" if value is None else value)
        rows.append(values)
    if problems:
        raise DataError(str(path), problems)
    extra = max((len(v) for v in rows), default=0) - width
    if extra > 0:
        if any(v[width:] != [""] * (len(v) - width) for v in rows if len(v) > width):
            header += [f"#{width + i + 1}" for i in range(extra)]
        else:
            rows = [v[:width] for v in rows]
    width = len(header)
    padded = [v + [""] * (width - len(v)) for v in rows]
    keep = [i for i, h in enumerate(header) if h or any(v[i] != "" for v in padded)]
    frame = pd.DataFrame(
        [[v[i] for i in keep] for v in padded],
        columns=[header[i] for i in keep],
        index=range(len(padded)),
        dtype=object,
    )
    return frame


def _tape_frame(path: Path) -> pd.DataFrame:
    """The tape's cells as text or Excel values, "" where empty; rows keep their place in the
    file (blank rows included) so that row numbers match what the user sees."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in _CSV + _EXCEL:
        raise DataError(
            source, Problem("", f"unsupported tape format {suffix!r} (use .csv, .xlsx or .parquet)")
        )
    if path.is_dir():
        raise DataError(source, Problem("", "a directory, not a tape file"))
    try:
        if suffix in _CSV:
            return read_csv_cells(path, skip_blank_lines=False)
        if suffix != ".xls":
            return _workbook_frame(path)
        frame = pd.read_excel(path, dtype=object)  # the old format needs xlrd
        return frame.where(frame.notna(), "")
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(source, Problem("", "tape file not found")) from None
    except pd.errors.ParserError as exc:
        problem = ragged_row_problem(exc)
        if problem is None:
            raise DataError(source, Problem("", f"cannot read the tape ({exc})")) from None
        raise DataError(source, problem) from None
    except pd.errors.EmptyDataError:
        raise DataError(source, Problem("", "the tape is empty (no header row)")) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            source, Problem("", f"not UTF-8 text (byte {exc.start + 1}); save the tape as UTF-8")
        ) from None
    except OSError as exc:
        raise DataError(
            source, Problem("", f"cannot read the tape ({exc.strerror or exc})")
        ) from None
    except Exception as exc:  # a broken workbook fails deep in pandas/openpyxl, in many ways
        reason = _shown(str(exc), 300).strip("'\"") or type(exc).__name__
        raise DataError(source, Problem("", f"cannot read the tape ({reason})")) from None


def load_tape(path: str | Path, *, chunk_rows: int = TAPE_CHUNK_ROWS) -> list[AssetSpecBase]:
    """Assets from a loan tape (CSV, Excel or Parquet, one row per asset).

    Columns carry the names of the inline asset fields (``id, type, balance, rate,
    original_term, age, amortization`` and the optional ones); empty cells (nulls in Parquet)
    mean "not given", empty rows are skipped.  Errors name the row as numbered in the file (the
    header is row 1, so the first asset is row 2; in a Parquet tape too, whose record ``i``,
    counted from 0, is row ``i + 2``).

    A Parquet tape (``.parquet`` or ``.pq``) is read, converted and validated ``chunk_rows``
    rows at a time (:data:`TAPE_CHUNK_ROWS` by default), so that only the assets and one chunk
    of the file are in memory; CSV and Excel tapes are read whole.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise SpecError(
            ARGUMENT,
            Problem(
                "chunk_rows",
                f"must be a whole number of rows, at least 1 (got {_shown(chunk_rows)})",
            ),
        )
    p = Path(path)
    gc_was_on = gc.isenabled()
    gc.disable()  # validation makes many small objects and no garbage: 20-30% faster
    try:
        if p.suffix.lower() in _PARQUET:
            return _parquet_tape(p, chunk_rows)
        return _table_tape(p)
    finally:
        if gc_was_on:
            gc.enable()


def _table_tape(p: Path) -> list[AssetSpecBase]:
    """Assets from a CSV or Excel tape, read whole."""
    source = str(p)
    frame = _tape_frame(p)
    names = [str(c).strip() for c in frame.columns]
    frame.columns = names
    _check_columns_once(source, names)
    empty = frame.astype(str).apply(lambda c: c.str.strip().eq(""))
    keep = ~empty.all(axis=1)
    frame, empty = frame[keep], empty[keep]
    if frame.empty:
        raise DataError(source, Problem("", "the tape has no rows"))
    _check_columns_known(source, names)
    types = set(frame["type"].astype(str).str.strip())
    problems = _required_column_problems(names, types)
    if problems:
        raise DataError(source, problems)
    columns = []
    for name in names:  # an empty cell is "not given"
        values = frame[name].tolist()
        for i in np.flatnonzero(empty[name].to_numpy(dtype=bool)):
            values[i] = None
        columns.append(values)
    records, rows = _records(names, columns, [int(i) + 2 for i in frame.index])
    try:
        return _assets_adapter().validate_python(records)
    except ValidationError as exc:
        raise DataError(source, _row_problems(exc, records, rows)) from None


def _records(
    names: list[str], columns: list[list[Any]], rows: Sequence[int]
) -> tuple[list[dict[str, Any]], list[int]]:
    """One record per row from the values of each column (None: not given), and the row
    numbers of those kept: a row with no value at all is skipped."""
    records: list[dict[str, Any]] = []
    kept: list[int] = []
    for row, cells in zip(rows, zip(*columns, strict=True), strict=True):
        record = {k: v for k, v in zip(names, cells, strict=True) if v is not None}
        if record:
            records.append(record)
            kept.append(row)
    return records, kept


def _check_columns_once(source: str, columns: list[str]) -> None:
    """A column named twice is a DataError."""
    twice = sorted(c for c, n in Counter(columns).items() if n > 1)
    if twice:
        raise DataError(source, [Problem(f"column {_shown(c)}", "given twice") for c in twice])


def _check_columns_known(source: str, columns: list[str]) -> None:
    """A column that no asset family has, or no ``id`` or ``type`` column, is a DataError."""
    load_entry_points()
    known = {name for fam in FAMILIES.values() for name in fam.spec.model_fields}
    problems = [
        Problem(f"column {_shown(c)}", f"unknown column (allowed: {', '.join(sorted(known))})")
        for c in columns
        if c not in known
    ]
    for col in ("id", "type"):
        if col not in columns:
            problems.append(Problem(f"column {col!r}", "missing column"))
    if problems:
        raise DataError(source, problems)


def _required_column_problems(columns: list[str], types: set[str]) -> list[Problem]:
    """The columns that the asset types given in the tape require and it lacks."""
    problems = []
    for t in sorted(types & set(FAMILIES)):
        spec = FAMILIES[t].spec
        for name, field in spec.model_fields.items():
            if field.is_required() and name not in columns:
                problems.append(
                    Problem(f"column {name!r}", f"missing column (required for type {t!r})")
                )
    return problems


# ---------------------------------------------------------------------------- Parquet tapes
#
# A Parquet column has one type.  Each asset field takes the column types below ("kinds");
# the values are then validated by the same pydantic models as a CSV tape's text, so a bad
# value is refused with the same message.  A column of a type its field does not take (text in
# ``balance``, a number in ``amortization``) is refused once, at its first value.

_NUMBER = frozenset(("int", "float", "null"))
_TEXT = frozenset(("string", "int_as_text", "null"))  # an integer id is written as its digits
_DATE = frozenset(("date", "timestamp", "string", "null"))  # text: ISO 8601, as in CSV
_ALL = frozenset(("int", "float", "string", "bool", "date", "timestamp", "list", "struct", "map"))


def _field_kinds(annotation: Any) -> frozenset[str]:
    """The kinds of Parquet column that a field of this type takes."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _field_kinds(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        kinds: frozenset[str] = frozenset(("null",))
        for arg in get_args(annotation):
            if arg is not type(None):
                kinds |= _field_kinds(arg)
        return kinds
    if origin is Literal:
        kinds = frozenset(("null",))
        for arg in get_args(annotation):
            kinds |= _choice_kinds(arg)
        return kinds
    if origin in (tuple, list, Sequence, set, frozenset):
        return frozenset(("list", "null"))
    if origin is dict:
        return frozenset(("map", "struct", "null"))
    if not isinstance(annotation, type):
        return _ALL | {"null"}
    if issubclass(annotation, Enum):
        kinds = frozenset(("null",))
        for member in annotation:
            kinds |= _choice_kinds(member.value)
        return kinds
    if issubclass(annotation, bool):
        return frozenset(("bool", "null"))
    if issubclass(annotation, int | float):
        return _NUMBER
    if issubclass(annotation, str):
        return _TEXT
    if issubclass(annotation, date):  # datetime too
        return _DATE
    if issubclass(annotation, BaseModel):
        return frozenset(("struct", "null"))
    return _ALL | {"null"}


def _choice_kinds(value: Any) -> frozenset[str]:
    """The kinds of column that give one choice of a Literal or Enum: its name as text."""
    return frozenset(("string",)) if isinstance(value, str) else _field_kinds(type(value))


def _kind_words(kinds: frozenset[str]) -> str:
    """What a field of these kinds takes, in a user's words."""
    if "date" in kinds:
        return "a date (a date or timestamp column, or ISO text such as 2027-03-31)"
    if "float" in kinds:
        return "a number (an integer or float column)"
    if "bool" in kinds:
        return "true or false (a boolean column)"
    if "string" in kinds:
        return "text (a string column)"
    if "list" in kinds:
        return "a list (a list column)"
    if "struct" in kinds:
        return "a record (a struct column)"
    return "no value"


_ARROW_KINDS = (
    ("null", ("is_null",)),
    ("bool", ("is_boolean",)),
    ("int", ("is_integer",)),
    ("float", ("is_floating", "is_decimal")),
    ("string", ("is_string", "is_large_string", "is_string_view")),
    ("date", ("is_date",)),
    ("timestamp", ("is_timestamp",)),
    (
        "list",
        ("is_list", "is_large_list", "is_fixed_size_list", "is_list_view", "is_large_list_view"),
    ),
    ("struct", ("is_struct",)),
    ("map", ("is_map",)),
)


def _arrow_kind(t: Any) -> str:
    """The kind of an Arrow type ("other" for those no field takes: binary, time, ...)."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _arrow_kind(t.value_type)
    for kind, tests in _ARROW_KINDS:
        # a test that this pyarrow lacks (string and list views came in pyarrow 16) is false
        if any(getattr(pa.types, test, lambda _: False)(t) for test in tests):
            return kind
    return "other"


def _column_kinds(columns: list[str], types: set[str]) -> dict[str, frozenset[str]]:
    """The kinds each column takes: those of its field in the asset types given in the tape
    (in every family that has it, where none of those has it)."""
    present = [FAMILIES[t].spec for t in sorted(types & set(FAMILIES))]
    out = {}
    for name in columns:
        specs = [s for s in present if name in s.model_fields] or [
            fam.spec for fam in FAMILIES.values() if name in fam.spec.model_fields
        ]
        kinds: frozenset[str] = frozenset()
        for spec in specs:
            kinds |= _field_kinds(spec.model_fields[name].annotation)
        out[name] = kinds
    return out


def _arrow_values(arr: Any, kind: str, accepted: frozenset[str]) -> list[Any]:
    """The Python values of one column of a batch, None where missing (nulls, blank text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if kind == "int" and "int" not in accepted:  # an integer id, as text
        arr = arr.cast(pa.string())
    elif kind == "float" and arr.type != pa.float64():  # decimal, float16, float32
        arr = arr.cast(pa.float64())
    if kind == "string":
        blank = pc.equal(pc.utf8_trim_whitespace(arr), "")
        if pc.any(blank).as_py():
            arr = pc.if_else(blank, pa.scalar(None, arr.type), arr)
    values: list[Any] = arr.to_pylist()
    if kind == "map":
        values = [None if v is None else dict(v) for v in values]
    return values


def _first_values(
    pf: Any, names: list[str], wanted: list[str], chunk_rows: int
) -> dict[str, tuple[int, str, Any]]:
    """The first value (row, id, value) of each ``wanted`` column that has one."""
    import pyarrow as pa

    raw = pf.schema_arrow.names
    read = sorted({names.index(n) for n in [*wanted, "id"]})
    at = {names[i]: k for k, i in enumerate(read)}
    found: dict[str, tuple[int, str, Any]] = {}
    start = 0
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=[raw[i] for i in read]):
        ids = batch.column(at["id"])
        ids = ids.dictionary_decode() if pa.types.is_dictionary(ids.type) else ids
        for name in wanted:
            if name in found:
                continue
            for j, v in enumerate(batch.column(at[name]).to_pylist()):
                if v is None or (isinstance(v, str) and not v.strip()):
                    continue
                rid = ids[j].as_py()
                rid = rid if isinstance(rid, str) and len(rid) <= 40 else _shown(rid, 40)
                found[name] = (start + j + 2, rid, v)
                break
        if len(found) == len(wanted):
            break
        start += batch.num_rows
    return found


def _parquet_tape(p: Path, chunk_rows: int) -> list[AssetSpecBase]:
    """Assets from a Parquet tape, read and validated ``chunk_rows`` rows at a time."""
    source = str(p)
    if p.is_dir():
        raise DataError(source, Problem("", "a directory, not a tape file"))
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise DataError(
            source, Problem("", "reading a Parquet tape needs pyarrow (pip install pyarrow)")
        ) from None
    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:
        raise _unreadable(source, exc) from None
    with pf:
        try:
            names, kinds, accepted = _parquet_columns(pf, source, chunk_rows)
        except DataError:
            raise
        except Exception as exc:
            raise _unreadable(source, exc) from None
        adapter = _assets_adapter()
        assets: list[AssetSpecBase] = []
        problems: list[Problem] = []
        for records, rows in _parquet_records(pf, source, names, kinds, accepted, chunk_rows):
            try:
                assets.extend(adapter.validate_python(records))
            except ValidationError as exc:
                problems.extend(_row_problems(exc, records, rows))
    if problems:
        raise DataError(source, problems)
    if not assets:
        raise DataError(source, Problem("", "the tape has no rows"))
    return assets


def _unreadable(source: str, exc: Exception) -> Exception:
    """The DataError of a Parquet file that pyarrow cannot read (MemoryError stays itself)."""
    import pyarrow as pa

    if isinstance(exc, MemoryError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return DataError(source, Problem("", "tape file not found"))
    text = " ".join(str(exc).split())
    if "file size is 0 bytes" in text:
        reason = "the tape is empty (0 bytes, not a Parquet file)"
    elif "magic bytes not found" in text or "smaller than the minimum file footer" in text:
        reason = "not a Parquet file (no Parquet footer: corrupt, or another format)"
    elif "smaller than the size reported by footer" in text:
        reason = "a damaged Parquet file (shorter than its footer says: truncated?)"
    elif isinstance(exc, OSError) and not isinstance(exc, pa.ArrowException) and exc.strerror:
        reason = f"cannot read the tape ({exc.strerror})"
    else:  # a broken file fails deep in pyarrow, in many ways
        reason = f"cannot read the Parquet tape ({text[:300] or type(exc).__name__})"
    return DataError(source, Problem("", reason))


def _parquet_columns(
    pf: Any, source: str, chunk_rows: int
) -> tuple[list[str], list[str], list[frozenset[str]]]:
    """The tape's column names, the kind of each and the kinds its field takes; a column named
    twice, unknown, missing or of a type its field does not take is a DataError (as is a tape
    with no rows)."""
    import pyarrow as pa

    schema = pf.schema_arrow
    names = [str(n).strip() for n in schema.names]
    _check_columns_once(source, names)
    if pf.metadata.num_rows == 0:
        raise DataError(source, Problem("", "the tape has no rows"))
    _check_columns_known(source, names)
    index = {n: i for i, n in enumerate(names)}
    kinds = [_arrow_kind(schema.field(i).type) for i in range(len(names))]
    types: set[str] = set()
    if kinds[index["type"]] == "string":  # a first pass over one column: the types given
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=[schema.names[index["type"]]]):
            arr = batch.column(0)
            arr = arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr
            types.update(str(t).strip() for t in arr.unique().to_pylist() if t is not None)
    problems = _required_column_problems(names, types)
    takes = _column_kinds(names, types)
    wrong = [n for n, k in zip(names, kinds, strict=True) if not _takes(takes[n], k)]
    if wrong:
        first = _first_values(pf, names, wrong, chunk_rows)
        for name in (n for n in wrong if n in first):
            row, rid, value = first[name]
            problems.append(
                Problem(
                    f"row {row} (id {rid}), column {name}",
                    f"{name} takes {_kind_words(takes[name])}, not "
                    f"{schema.field(index[name]).type} values (got {_shown(value)})",
                )
            )
    if problems:
        raise DataError(source, problems)
    return names, kinds, [takes[n] for n in names]


def _parquet_records(
    pf: Any,
    source: str,
    names: list[str],
    kinds: list[str],
    accepted: list[frozenset[str]],
    chunk_rows: int,
) -> Iterator[tuple[list[dict[str, Any]], list[int]]]:
    """The records of each chunk of the tape and their row numbers; a chunk that pyarrow
    cannot read or convert is a DataError."""
    batches = pf.iter_batches(batch_size=chunk_rows)
    start = 0
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            columns = [
                _arrow_values(batch.column(i), kinds[i], accepted[i]) for i in range(len(names))
            ]
        except Exception as exc:
            raise _unreadable(source, exc) from None
        n = batch.num_rows
        del batch
        yield _records(names, columns, range(start + 2, start + 2 + n))
        start += n


def _takes(accepted: frozenset[str], kind: str) -> bool:
    """Whether a field of kinds ``accepted`` takes a column of ``kind``."""
    return kind == "null" or kind in accepted or (kind == "int" and "int_as_text" in accepted)


def _row_problems(
    exc: ValidationError, records: list[dict[str, Any]], rows: list[int]
) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = list(err["loc"])
        row = loc.pop(0) if loc and isinstance(loc[0], int) else None
        if loc and isinstance(loc[0], str) and _is_tag(loc[0]):
            loc.pop(0)
        col = _path(loc)
        if row is None:
            where = col
        else:
            rid = records[int(row)].get("id", "?")
            rid = rid if isinstance(rid, str) and len(rid) <= 40 else _shown(rid, 40)
            where = f"row {rows[int(row)]} (id {rid})" + (f", column {col}" if col else "")
        out.append(Problem(where, error_reason(err)))
    return out


def parse_deal(data: Any, source: str = "argument data", base_dir: Path | None = None) -> DealSpec:
    """A validated deal from already-parsed YAML/JSON data (a mapping)."""
    if not isinstance(data, dict):
        got = (
            "an empty file"
            if data is None
            else {list: "a list", str: "a text", bool: "true/false", int: "a number"}.get(
                type(data), "a number" if isinstance(data, float) else f"a {type(data).__name__}"
            )
        )
        raise SpecError(source, Problem("", f"a deal file must be a mapping of fields (got {got})"))
    pool = data.get("pool")
    if isinstance(pool, dict) and "tape" in pool:
        if "assets" in pool:
            raise SpecError(source, Problem("pool", "give assets or tape, not both"))
        name = pool["tape"]
        if not isinstance(name, str) or not name.strip():
            raise SpecError(
                source,
                Problem(
                    "pool.tape",
                    f"must be the file name of a loan tape, e.g. loans.csv (got {_shown(name)})",
                ),
            )
        tape = Path(name.strip())
        if not tape.is_absolute() and base_dir is not None:
            tape = base_dir / tape
        data = {**data, "pool": {**pool, "assets": load_tape(tape), "tape": name}}
    return validate_model(deal_model(), data, source)


def load_deal(path: str | Path) -> DealSpec:
    """Read and validate a deal file (YAML or JSON); a tape is read relative to it."""
    p = Path(path)
    return parse_deal(read_yaml(p), str(p), p.parent)


def deal_schema() -> dict[str, Any]:
    """JSON Schema of the deal file, for editors (``pool`` takes ``assets`` or ``tape``)."""
    schema = deal_model().model_json_schema()
    pool = schema["$defs"]["PoolSpec"]
    pool["required"] = [r for r in pool.get("required", []) if r != "assets"]
    pool["anyOf"] = [{"required": ["assets"]}, {"required": ["tape"]}]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "greenabs deal file"
    return schema
