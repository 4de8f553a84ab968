"""The workbench's deals: the packaged examples, the deals being edited, and their validation.

A deal in the workbench is its YAML text and, when ``pool.tape`` names one, the loan tape
uploaded with it.  Validation reads them through the project's own edge (:func:`read_yaml`:
safe YAML with its size, depth and alias limits; :func:`parse_deal`: the deal model) in a
private temporary folder, so a deal can only read the tape uploaded with it, never a file of
the server.  Each problem is shown next to the line of the YAML it names.
"""

from __future__ import annotations

import functools
import re
import secrets
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from greenabs.errors import Problem, SpecError

__all__ = [
    "DEAL_ID",
    "Deal",
    "DealLibrary",
    "Example",
    "FieldProblem",
    "example_bank",
    "examples",
    "load",
    "problems_of",
    "write_deal",
]

#: What a deal id looks like (ids come from the server, never paths; anything else is a 404).
DEAL_ID = re.compile(r"^d[0-9a-f]{12}$")
#: A loan tape's file name: a plain name with a tape's extension, no folders.
_TAPE_NAME = re.compile(r"^[\w][\w .()-]{0,99}\.(csv|txt|xlsx|xlsm|xls|parquet|pq)$", re.ASCII)
#: Deals kept in a server's memory, and the most bytes of text and tapes they may hold: past
#: either, the deal edited longest ago is forgotten (every deal that ran is in the run store).
MAX_DEALS = 500
MAX_BYTES = 256 * 2**20
#: Problems of a deal listed on its page (the rest are counted).
MAX_PROBLEMS = 200


@dataclass(frozen=True)
class Deal:
    """A deal being edited: its id, file name, YAML text and the tape uploaded with it."""

    id: str
    name: str
    text: str
    tape_name: str | None = None
    tape: bytes | None = None
    updated: str = ""


@dataclass(frozen=True)
class FieldProblem:
    """One problem of a deal: the field path (or line) and reason, and the YAML line it is on."""

    where: str
    reason: str
    line: int | None
    #: on the last line of a list cut short: how many problems are not listed
    more: int = 0


@dataclass(frozen=True)
class Example:
    """A deal packaged with greenabs: file name, the deal's name, and its tape if it has one."""

    file: str
    title: str
    tape: str | None


def _size(deal: Deal) -> int:
    return len(deal.text) + len(deal.tape or b"")


def _examples_dir() -> Path:
    return Path(str(resources.files("greenabs.web") / "examples"))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@functools.cache
def examples() -> tuple[Example, ...]:
    """The example deals packaged with greenabs (every YAML with a ``structure``)."""
    found = []
    for path in sorted(_examples_dir().glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(data, dict) or "structure" not in data:
            continue  # a bank file
        pool = data.get("pool")
        tape = pool.get("tape") if isinstance(pool, dict) else None
        found.append(Example(path.name, str(data.get("name", path.stem)), tape))
    return tuple(found)


def example_bank() -> tuple[str, str]:
    """The packaged example bank file: its file name and text (the bank action's default)."""
    path = _examples_dir() / "bank_mid_sized.yaml"
    return path.name, path.read_text(encoding="utf-8")


class DealLibrary:
    """The deals being edited in this server (thread safe, at most :data:`MAX_DEALS`)."""

    def __init__(self) -> None:
        self._deals: OrderedDict[str, Deal] = OrderedDict()
        self._lock = threading.Lock()

    def add(
        self, name: str, text: str, tape_name: str | None = None, tape: bytes | None = None
    ) -> Deal:
        deal = Deal("d" + secrets.token_hex(6), name, text, tape_name, tape, _now())
        with self._lock:
            self._deals[deal.id] = deal
            while len(self._deals) > 1 and (
                len(self._deals) > MAX_DEALS or sum(map(_size, self._deals.values())) > MAX_BYTES
            ):
                self._deals.popitem(last=False)
        return deal

    def add_example(self, file: str) -> Deal:
        """A new deal from a packaged example; ``file`` must be one of :func:`examples`."""
        chosen = next((e for e in examples() if e.file == file), None)
        if chosen is None:
            raise KeyError(file)
        folder = _examples_dir()
        tape = (folder / chosen.tape).read_bytes() if chosen.tape else None
        text = (folder / chosen.file).read_text(encoding="utf-8")
        return self.add(chosen.file, text, chosen.tape, tape)

    def get(self, deal_id: str) -> Deal | None:
        with self._lock:
            return self._deals.get(deal_id) if DEAL_ID.match(deal_id) else None

    def update(self, deal_id: str, text: str) -> Deal | None:
        with self._lock:
            deal = self._deals.get(deal_id)
            if deal is None:
                return None
            deal = replace(deal, text=text, updated=_now())
            self._deals[deal_id] = deal
            self._deals.move_to_end(deal_id)
            return deal

    def all(self) -> list[Deal]:
        with self._lock:
            return list(reversed(self._deals.values()))


def _last_part(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()


def check_tape_name(name: str) -> str:
    """A tape file name as uploaded, reduced to its last part and checked."""
    base = _last_part(name)
    if not _TAPE_NAME.match(base):
        raise SpecError(
            "tape",
            Problem(
                "file name",
                f"{base[:80]!r} is not a loan tape name (letters, digits, spaces, . _ - ( ) and "
                "an extension .csv, .xlsx, .xls, .xlsm, .parquet or .pq)",
            ),
        )
    return base


def _prepare(deal: Deal, folder: Path) -> Any:
    """The deal's parsed YAML, its tape written into ``folder`` under the tape's own file name
    and ``pool.tape`` made that name.

    ``pool.tape`` must name the tape uploaded with the deal (its last part: a deal the command
    line ran names its tape as its file did, ``tapes/loans.csv`` or an absolute path); the
    tape is only ever written inside ``folder``, whatever a stored deal says.
    """
    from greenabs.spec.io import read_yaml

    path = folder / "deal.yaml"
    path.write_text(deal.text, encoding="utf-8")
    try:
        data = read_yaml(path)
    except SpecError as exc:
        raise SpecError(deal.name, exc.problems) from None
    pool = data.get("pool") if isinstance(data, dict) else None
    if isinstance(pool, dict) and isinstance(pool.get("tape"), str):
        wanted = _last_part(pool["tape"])
        have = _last_part(deal.tape_name) if deal.tape_name else None
        if have is None or deal.tape is None or wanted != have:
            shown = f"the tape uploaded is {have!r}" if have else "no tape"
            raise SpecError(
                deal.name,
                Problem(
                    "pool.tape",
                    f"names {pool['tape'].strip()[:80]!r}, but {shown}: upload the loan tape "
                    "with the deal (the workbench reads only the tape uploaded with the deal)",
                ),
            )
        try:
            name = check_tape_name(have)
        except SpecError as exc:
            problems = [replace(p, where="pool.tape") for p in exc.problems]
            raise SpecError(deal.name, problems) from None
        (folder / name).write_bytes(deal.tape)
        data = {**data, "pool": {**pool, "tape": name}}
    return data


def load(deal: Deal) -> Any:
    """The validated :class:`~greenabs.spec.deal.DealSpec` of a deal, or a SpecError.

    The text and tape are written to a private temporary folder and read by the project's
    loaders; ``pool.tape`` must name the tape uploaded with the deal.
    """
    from greenabs.spec.io import parse_deal

    with tempfile.TemporaryDirectory(prefix="greenabs-web-") as tmp:
        folder = Path(tmp)
        return parse_deal(_prepare(deal, folder), deal.name, folder)


def write_deal(deal: Deal, folder: Path) -> Path:
    """The deal as a file in ``folder`` (a private temporary folder), its tape beside it under
    the tape's own name, for a command to read; ``pool.tape`` names that file."""
    data = _prepare(deal, folder)
    path = folder / "deal.yaml"
    pool = data.get("pool") if isinstance(data, dict) else None
    if isinstance(pool, dict) and pool.get("tape") is not None:
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return path


_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def yaml_tree(text: str) -> yaml.Node | None:
    """The YAML node tree of a deal's text (composed once per page), or None if it is bad."""
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


def field_line(tree: yaml.Node | None, where: str) -> int | None:
    """The 1-based line that a problem's ``where`` names in a deal's :func:`yaml_tree`:
    ``line 3, column 5`` or a field path such as ``structure.tranches[1].balance`` (the
    deepest part found)."""
    m = re.match(r"line (\d+)", where)
    if m:
        return int(m.group(1))
    if not where or tree is None:
        return None
    node: Any = tree
    line = None
    for index, key in _PART.findall(where):
        if isinstance(node, yaml.SequenceNode) and index and int(index) < len(node.value):
            node = node.value[int(index)]
        elif isinstance(node, yaml.MappingNode) and key:
            pair = next((kv for kv in node.value if kv[0].value == key), None)
            if pair is None:
                break
            line = pair[0].start_mark.line + 1
            node = pair[1]
            continue
        else:
            break
        line = node.start_mark.line + 1
    return line


def problems_of(deal: Deal, exc: SpecError) -> list[FieldProblem]:
    """A SpecError's problems, each with the line of the deal's YAML it names: the first
    :data:`MAX_PROBLEMS`, then one saying how many more there are."""
    found = exc.problems
    tree = yaml_tree(deal.text) if any(p.where for p in found[:MAX_PROBLEMS]) else None
    shown = [
        FieldProblem(p.where, p.reason, field_line(tree, p.where)) for p in found[:MAX_PROBLEMS]
    ]
    rest = len(found) - MAX_PROBLEMS
    if rest <= 0:
        return shown
    why = f"and {rest:,} more problems: fix these and check again to see the rest"
    return [*shown, FieldProblem("", why, None, more=rest)]
