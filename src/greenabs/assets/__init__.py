"""Asset families and their registry.

Each family module defines a spec model (with a literal ``type``) and a family class with a
``compile`` function; :func:`register` adds it here.  The pool's asset union, the loan-tape
columns and the JSON Schema are all derived from this registry, so a new family needs no
change anywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Union

from pydantic import Field

from greenabs.assets.base import (
    AmortisingBlock,
    AssetFamily,
    AssetSpecBase,
    BlockFlows,
    CollateralBlock,
    CompileContext,
    LoanSchedule,
    ProjectionContext,
    RateTable,
    TabulatedSchedule,
)
from greenabs.assets.leases import LeaseFamily, LeaseSpec
from greenabs.assets.loans import Amortization, LoanFamily, LoanSpec
from greenabs.assets.projected import CashflowRow, ProjectedFamily, ProjectedSpec
from greenabs.assets.receivables import ReceivableFamily, ReceivableSpec

__all__ = [
    "FAMILIES",
    "AmortisingBlock",
    "Amortization",
    "AssetFamily",
    "AssetSpec",
    "AssetSpecBase",
    "BlockFlows",
    "CashflowRow",
    "CollateralBlock",
    "CompileContext",
    "LeaseSpec",
    "LoanSchedule",
    "LoanSpec",
    "ProjectedSpec",
    "ProjectionContext",
    "RateTable",
    "ReceivableSpec",
    "TabulatedSchedule",
    "compile_pool",
    "register",
]

FAMILIES: dict[str, type[AssetFamily]] = {}


def register(family: type[AssetFamily]) -> type[AssetFamily]:
    """Add an asset family to the registry (usable as a class decorator)."""
    FAMILIES[family.type_name] = family
    return family


_BUILT_IN: tuple[type[AssetFamily], ...] = (
    LoanFamily,
    LeaseFamily,
    ReceivableFamily,
    ProjectedFamily,
)
for _family in _BUILT_IN:
    register(_family)


def _union() -> Any:
    specs = tuple(f.spec for f in FAMILIES.values())
    return Annotated[Union[specs], Field(discriminator="type")]  # noqa: UP007


AssetSpec = _union()
"""Any registered asset spec, discriminated by its ``type`` field."""


def compile_pool(assets: Sequence[AssetSpecBase], ctx: CompileContext) -> list[CollateralBlock]:
    """One block per family present in the pool, in order of first appearance."""
    groups: dict[str, list[AssetSpecBase]] = {}
    for a in assets:
        groups.setdefault(a.type, []).append(a)
    return [FAMILIES[t].compile(g, ctx) for t, g in groups.items()]
