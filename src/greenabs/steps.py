"""The registry of waterfall steps.

A step is written in a deal file as a mapping with one key, its action (``pay_fees: [a, b]``).
Each registered :class:`StepType` carries:

* ``model``: the frozen pydantic model of that one-key mapping (the deal file's syntax; the
  deal model's step union and JSON Schema are built from the registry when used);
* ``check``: cross checks against the whole deal (names it refers to), returning problems
  as ``"field.path: reason"`` strings;
* ``apply``: the vectorised action on the waterfall state (None for the built-in steps, which
  :mod:`greenabs.waterfall` runs itself).

Third-party packages add steps with :func:`register_step` or through the entry point group
``greenabs.steps`` (each entry point loads a :class:`StepType`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from greenabs.errors import Problem, SpecError

if TYPE_CHECKING:
    from greenabs.spec.deal import DealSpec, StructureSpec

__all__ = [
    "STEPS",
    "ResolvedStep",
    "StepType",
    "default_acceleration",
    "load_entry_points",
    "register_step",
    "resolve_steps",
    "step_args",
    "step_kind",
    "unregister_step",
]

ResolvedStep = tuple[str, Any]
"""A step resolved once before the period loop: (action, arguments model)."""


@dataclass(frozen=True)
class StepType:
    """A registered waterfall step (see the module docstring)."""

    name: str
    model: type[BaseModel]
    check: Callable[[str, Any, DealSpec], list[str]] | None = None
    apply: Callable[..., Any] | None = None


STEPS: dict[str, StepType] = {}


def register_step(step: StepType) -> StepType:
    """Add a step type; its model must have exactly one field, named like the step."""
    fields = list(step.model.model_fields)
    if fields != [step.name]:
        why = f"the model of step {step.name!r} must have one field named {step.name!r}"
        raise SpecError("<argument>", Problem("step", why))
    STEPS[step.name] = step
    return step


def unregister_step(name: str) -> None:
    """Remove a step type from the registry (a plug-in's tests clean up with it)."""
    STEPS.pop(name, None)


_loaded = [False]


def load_entry_points() -> None:
    """Register the steps that installed packages declare (group ``greenabs.steps``), once."""
    if _loaded[0]:
        return
    _loaded[0] = True
    for ep in entry_points(group="greenabs.steps"):
        obj = ep.load()
        register_step(obj if isinstance(obj, StepType) else obj())


def step_kind(step: BaseModel) -> str:
    """The action name of a step (its single field)."""
    return next(iter(type(step).model_fields))


def step_args(step: BaseModel) -> Any:
    """The arguments model of a step."""
    return getattr(step, step_kind(step))


def resolve_steps(steps: Iterable[BaseModel]) -> tuple[ResolvedStep, ...]:
    """Steps as (action, arguments) pairs, resolved once before the period loop."""
    return tuple((step_kind(s), step_args(s)) for s in steps)


def default_acceleration(st: StructureSpec) -> tuple[BaseModel, ...]:
    """Post-acceleration order: all fees, then interest and principal class by class in
    seniority, then the residual class."""
    steps: list[BaseModel] = []
    if st.fees:
        steps.append(
            STEPS["pay_fees"].model.model_validate({"pay_fees": [f.name for f in st.fees]})
        )
    residual = None
    for t in st.tranches:
        if t.residual:
            residual = t.name
            continue
        steps.append(STEPS["pay_interest"].model.model_validate({"pay_interest": t.name}))
        steps.append(STEPS["pay_principal"].model.model_validate({"pay_principal": t.name}))
    if residual is not None:
        steps.append(STEPS["pay_residual"].model.model_validate({"pay_residual": residual}))
    return tuple(steps)
