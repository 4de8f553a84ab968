"""How a command says what produced its output and keeps its run in the run store.

A command takes the Typer context (``ctx: typer.Context``) and starts a :class:`Recording`
first (it notes the time and reads the command's flags from the context: which were given,
which inputs are files), :meth:`Recording.stamp`
puts ``meta`` (:func:`greenabs.meta.run_meta`) into the payload before any output is
written, and :meth:`Recording.save` keeps the run in the store (unless ``--no-store``) and
prints one line with the run id and the assumptions in force::

    rec = Recording(ctx, "run")
    ...
    data = rec.stamp(data, deal=deal, backend=backend)
    ... write --json, --report ...
    rec.save()
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from greenabs.cli.common import clip, out, styled
from greenabs.meta import run_meta

__all__ = ["NoStoreOpt", "Recording"]

NoStoreOpt = Annotated[
    bool,
    typer.Option("--no-store", help="Do not keep this run in the run store (docs/store.md)"),
]

#: Flags that only say where output goes or how it is shown: not assumptions, not parameters.
_OUTPUTS = frozenset(
    {
        "json_file",
        "report",
        "csv_dir",
        "xlsx",
        "chart",
        "html",
        "quiet",
        "wide",
        "no_store",
        "output",
    }
)
#: Flags whose value is an input file, by the role meta names it with.
_INPUTS = ("deal_file", "bank_file", "data_file", "deal", "bank", "rating_table", "ahp_matrix")
_DEAL_INPUTS = ("deal_file", "deal")


def _value(v: Any) -> Any:
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, list | tuple):
        return [_value(x) for x in v]
    return v


def _china_sample(frequency: str | None) -> Path | None:
    """The file of the shipped China sample (``greenabs systemic china``) of a frequency."""
    from importlib import resources

    from greenabs.systemic.data import SAMPLES

    name = SAMPLES.get(frequency or "annual")
    return None if name is None else Path(str(resources.files("greenabs.data").joinpath(name)))


def _shown(v: Any) -> str:
    """An assumption's value, short: ``0.05``, ``A=AA, B=A``, ``rate 0.4 lag_months 12``."""
    if isinstance(v, Mapping):
        return " ".join(f"{k} {_shown(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_shown(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


#: Input files up to this size are read when the command starts, so that ``meta`` hashes and
#: the store keeps the bytes the command read, even if a file is edited during a long run;
#: larger ones (a big tape) are hashed when the run is stamped.
_CAPTURE_BYTES = 16 * 1024 * 1024


class Recording:
    """One command's run: its flags, inputs, ``meta`` and its place in the run store."""

    def __init__(self, ctx: typer.Context, kind: str) -> None:
        self.kind = kind
        self.started = time.perf_counter()
        flags = {p.name: p for p in ctx.command.params if p.name}
        self.no_store = bool(ctx.params.get("no_store"))
        self.quiet = bool(ctx.params.get("quiet"))
        #: every flag but outputs, as JSON data
        self.params: dict[str, Any] = {
            k: _value(v) for k, v in ctx.params.items() if k not in _OUTPUTS
        }
        #: the flags given (not defaults), by their name on the command line
        self.assumptions: dict[str, Any] = {}
        for name, value in self.params.items():
            source = ctx.get_parameter_source(name)
            param = flags.get(name)
            if (
                param is None
                or getattr(source, "name", "DEFAULT") == "DEFAULT"
                or param.param_type_name != "option"
                or name in _INPUTS
            ):
                continue
            off = getattr(param, "secondary_opts", None)
            if value is False and off:  # --loan-level, the off side of --large-pool
                self.assumptions[off[0]] = True
            else:
                self.assumptions[max(param.opts, key=len)] = value
        self.inputs: dict[str, Path] = {}
        for name in _INPUTS:
            v = ctx.params.get(name)
            if v == "china" and name == "data_file":
                v = _china_sample(ctx.params.get("frequency"))
            if isinstance(v, str | Path) and Path(v).is_file():
                self.inputs[name] = Path(v)
        self.deal_file = next((self.inputs[n] for n in _DEAL_INPUTS if n in self.inputs), None)
        self.read: dict[str, bytes] = {}  # the inputs' bytes as the command starts
        for name, path in self.inputs.items():
            with contextlib.suppress(OSError):  # unreadable: the command says so itself
                if path.stat().st_size <= _CAPTURE_BYTES:
                    self.read[name] = path.read_bytes()
        self.payload: dict[str, Any] | None = None
        self.deal: Any = None

    def _tape(self, deal: Any) -> Path | None:
        name = getattr(getattr(deal, "pool", None), "tape", None)
        if not name or self.deal_file is None:
            return None
        tape = Path(str(name).strip())
        return tape if tape.is_absolute() else self.deal_file.parent / tape

    def stamp(
        self,
        payload: Mapping[str, Any],
        *,
        deal: Any = None,
        seed: int | None = None,
        backend: str | None = None,
    ) -> dict[str, Any]:
        """``payload`` with ``meta`` (merged over a ``meta`` it has): what produced it.

        ``deal`` is the deal as run (after overrides): its name, tape and assumptions are
        recorded."""
        # what the command read as it started, not the file now
        inputs: dict[str, Path | bytes | tuple[Path, bytes]] = {
            name: (path, self.read[name]) if name in self.read else path
            for name, path in self.inputs.items()
        }
        tape = self._tape(deal)
        if tape is not None and tape.is_file():
            inputs["tape"] = tape
        meta = run_meta(
            self.kind, inputs=inputs, assumptions=self.assumptions, seed=seed, backend=backend
        )
        if deal is not None:
            meta["deal"] = deal.name
            meta["deal_assumptions"] = deal.assumptions.model_dump(
                mode="json", exclude_defaults=True
            )
        old = payload.get("meta")
        stamped = {**payload, "meta": {**(old if isinstance(old, Mapping) else {}), **meta}}
        self.payload, self.deal = stamped, deal
        return stamped

    def line(self, run_id: str | None) -> str:
        """What the terminal shows: the run id and the assumptions in force."""
        meta = (self.payload or {}).get("meta", {})
        given = ", ".join(
            name if value is True else f"{name} {clip(_shown(value), 40)}"
            for name, value in self.assumptions.items()
        )
        parts = [f"flags {given}" if given else "no flags"]
        deal_assumptions = meta.get("deal_assumptions")
        if deal_assumptions:
            text = ", ".join(f"{k} {_shown(v)}" for k, v in deal_assumptions.items())
            parts.insert(0, "deal " + clip(text, 100))
        for key in ("seed", "backend"):
            if meta.get(key) is not None:
                parts.append(f"{key} {meta[key]}")
        head = f"run {run_id}" if run_id else "run not stored"
        return f"{head}; assumptions: " + "; ".join(parts)

    def save(self, status: str = "ok") -> str | None:
        """Keep the stamped run in the store (unless ``--no-store``: then a command need not
        have stamped a payload) and print its line; returns the run id."""
        from greenabs.store import RunStore, StoreError

        run_id = None
        if not self.no_store:
            if self.payload is None:
                raise RuntimeError("Recording.save before Recording.stamp")
            text = tape = tape_name = None
            if self.deal is not None and self.deal_file is not None:
                key = next(n for n in _DEAL_INPUTS if self.inputs.get(n) == self.deal_file)
                data = self.read.get(key)
                text = (
                    data.decode("utf-8")
                    if data is not None
                    else self.deal_file.read_text(encoding="utf-8")
                )
                path = self._tape(self.deal)
                if path is not None and path.is_file():
                    # the file's own name: the deal text keeps the path it gave
                    tape, tape_name = path.read_bytes(), path.name
            meta = self.payload["meta"]
            try:
                run_id = RunStore.open().record(
                    self.kind,
                    self.payload,
                    deal_text=text,
                    tape=tape,
                    tape_name=tape_name,
                    deal_name=self.deal.name if self.deal is not None else None,
                    params=self.params,
                    seed=meta.get("seed"),
                    backend=meta.get("backend"),
                    timings={"seconds": round(time.perf_counter() - self.started, 3)},
                    status=status,
                )
            except StoreError as exc:
                raise StoreError(
                    f"{exc} (the run's outputs were written; the run was not stored)"
                ) from None
        if not self.quiet:
            out.print(styled((self.line(run_id), "dim")))
        return run_id
