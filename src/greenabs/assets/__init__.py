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

from greenabs.assets import agriculture, fees, forestry, power, tourism
from greenabs.assets.base import (
    MAX_AMOUNT,
    AmortisingBlock,
    AssetFamily,
    AssetSpecBase,
    BlockFlows,
    CollateralBlock,
    CompileContext,
    LoanSchedule,
    ProjectionContext,
    RandomDriver,
    RateTable,
    TabulatedSchedule,
)
from greenabs.assets.leases import LeaseFamily, LeaseSpec
from greenabs.assets.loans import Amortization, LoanFamily, LoanSpec
from greenabs.assets.projected import CashflowRow, ProjectedFamily, ProjectedSpec
from greenabs.assets.receivables import ReceivableAssumptions, ReceivableFamily, ReceivableSpec

__all__ = [
    "FAMILIES",
    "MAX_AMOUNT",
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
    "RandomDriver",
    "RateTable",
    "ReceivableAssumptions",
    "ReceivableSpec",
    "TabulatedSchedule",
    "asset_union",
    "compile_pool",
    "load_entry_points",
    "register",
    "unregister",
]

FAMILIES: dict[str, type[AssetFamily]] = {}


def register(family: type[AssetFamily]) -> type[AssetFamily]:
    """Add an asset family to the registry (usable as a class decorator).  The deal model, the
    tape columns and the JSON Schema include it from then on."""
    FAMILIES[family.type_name] = family
    return family


def unregister(type_name: str) -> None:
    """Remove a family from the registry (a plug-in's tests clean up with it)."""
    FAMILIES.pop(type_name, None)


_loaded = [False]


def load_entry_points() -> None:
    """Register the families that installed packages declare (group ``greenabs.assets``),
    once."""
    if _loaded[0]:
        return
    _loaded[0] = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="greenabs.assets"):
        register(ep.load())


def asset_union() -> Any:
    """The discriminated union of every registered asset spec (by its ``type`` field)."""
    specs = tuple(f.spec for f in FAMILIES.values())
    return Annotated[Union[specs], Field(discriminator="type")]  # noqa: UP007


_BUILT_IN: tuple[type[AssetFamily], ...] = (
    LoanFamily,
    LeaseFamily,
    ReceivableFamily,
    ProjectedFamily,
    *power.FAMILIES,
    *fees.FAMILIES,
    *tourism.FAMILIES,
    *forestry.FAMILIES,
    *agriculture.FAMILIES,
)
for _family in _BUILT_IN:
    register(_family)


AssetSpec = asset_union()
"""Any built-in asset spec, discriminated by its ``type`` field (the deal model that
:func:`greenabs.spec.deal.deal_model` builds accepts every registered family)."""


def compile_pool(assets: Sequence[AssetSpecBase], ctx: CompileContext) -> list[CollateralBlock]:
    """One block per family present in the pool, in order of first appearance."""
    groups: dict[str, list[AssetSpecBase]] = {}
    for a in assets:
        groups.setdefault(a.type, []).append(a)
    return [FAMILIES[t].compile(g, ctx) for t, g in groups.items()]
