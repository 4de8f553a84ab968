"""Plug-ins for real: an asset family and a waterfall step registered from outside the
package (this module plays the third-party package), found by the loader, the tape reader and
the JSON Schema, and run end to end; entry points of installed packages register theirs."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pytest
from pydantic import BaseModel, ConfigDict, Field

import greenabs
from greenabs import assets, steps
from greenabs.assets import AssetSpecBase, BlockFlows, CompileContext, ProjectionContext
from greenabs.errors import SpecError
from greenabs.scenarios import Scenarios
from greenabs.spec.io import deal_schema
from greenabs.waterfall import WaterfallState

FloatArray = npt.NDArray[np.float64]


# ------------------------------------------------------------------ a third party's family
class CarbonSpec(AssetSpecBase):
    """Forward sales of carbon credits: ``tonnes`` a month for ``months`` months; the SPV paid
    ``balance`` for them, repaid in equal parts, the rest of the sales is income."""

    type: Literal["carbon_credit"] = "carbon_credit"
    balance: float = Field(gt=0)
    tonnes: float = Field(gt=0)
    months: int = Field(gt=0, le=120)


class CarbonAssumptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    price: float = Field(60.0, gt=0)


@dataclass(frozen=True, eq=False)
class CarbonBlock:
    ids: tuple[str, ...]
    n_months: int
    bal: FloatArray
    tonnes: FloatArray
    months: npt.NDArray[np.int64]

    @property
    def balance(self) -> float:
        return float(self.bal.sum())

    def summary(self) -> dict[str, FloatArray]:
        return {"balance": self.bal, "age": np.zeros_like(self.bal)}

    def project(self, ctx: ProjectionContext) -> BlockFlows:
        n_s, m = ctx.n_scenarios, self.n_months
        month = np.arange(1, m + 1)[:, None]
        live = (month <= self.months[None, :]).astype(float)  # (M, N)
        principal = (self.bal / self.months)[None, :] * live
        # the price: the family's own assumption x a per-scenario driver x seeded noise
        factor = np.asarray(ctx.drivers["carbon_price_factor"])[:, None]  # (S, 1)
        noise = np.array([ctx.rng(s, "carbon_credit").uniform(0.9, 1.1) for s in range(n_s)])
        price = ctx.assumptions.price * factor * noise[:, None]  # (S, 1)
        sales = (self.tonnes[None, :] * live).sum(axis=1)[None, :] * price  # (S, M)
        prin = np.broadcast_to(principal.sum(axis=1), (n_s, m))
        end = self.balance - np.cumsum(prin, axis=1)
        zero = np.zeros((n_s, m))
        pool = {
            "begin_balance": end + prin,
            "interest": np.maximum(sales - prin, 0.0),
            "scheduled_principal": prin.copy(),
            "prepayment": zero,
            "default": zero,
            "end_balance": np.maximum(end, 0.0),
            "delinquent": zero,
        }
        return BlockFlows(pool=pool, ids=self.ids)


class CarbonFamily:
    type_name: ClassVar[str] = "carbon_credit"
    spec: ClassVar[type[AssetSpecBase]] = CarbonSpec
    assumptions: ClassVar[type[BaseModel]] = CarbonAssumptions
    drivers: ClassVar[tuple[str, ...]] = ("carbon_price_factor",)

    @staticmethod
    def compile(specs: Sequence[Any], ctx: CompileContext) -> CarbonBlock:
        return CarbonBlock(
            ids=tuple(s.id for s in specs),
            n_months=max(s.months for s in specs),
            bal=np.array([s.balance for s in specs]),
            tonnes=np.array([s.tonnes for s in specs]),
            months=np.array([s.months for s in specs]),
        )


# ------------------------------------------------------------------ a third party's step
class TrapArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    account: str
    share: float = Field(gt=0, le=1)


class TrapCash(BaseModel):
    """Move ``share`` of the available funds into an account (cash trap)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    trap_cash: TrapArgs


def _check_trap(path: str, args: TrapArgs, deal: Any) -> list[str]:
    known = [a.name for a in deal.structure.accounts]
    return [] if args.account in known else [f"{path}: unknown account {args.account!r}"]


def _apply_trap(s: WaterfallState, args: TrapArgs, avail: FloatArray, mask: Any) -> FloatArray:
    dep = np.where(mask, np.maximum(avail, 0.0) * args.share, 0.0)
    s.acct[args.account] = s.acct[args.account] + dep
    s.rec_a[args.account]["deposit"][s.k] += dep
    out: FloatArray = avail - dep
    return out


TRAP = steps.StepType("trap_cash", TrapCash, check=_check_trap, apply=_apply_trap)


@pytest.fixture
def plugins() -> Iterator[None]:
    assets.register(CarbonFamily)
    steps.register_step(TRAP)
    try:
        yield
    finally:
        assets.unregister("carbon_credit")
        steps.unregister_step("trap_cash")


DEAL: dict[str, Any] = {
    "name": "Carbon forward 2026-1",
    "dates": {"cutoff": "2026-01-31", "closing": "2026-02-10", "first_payment": "2026-02-28"},
    "pool": {
        "assets": [
            {"id": "C1", "type": "carbon_credit", "balance": 1e6, "tonnes": 2000, "months": 24},
            {"id": "L1", "type": "loan", "balance": 5e5, "rate": 0.05, "original_term": 36},
        ]
    },
    "assumptions": {"carbon_credit": {"price": 55.0}},
    "structure": {
        "accounts": [{"name": "trap"}],
        "tranches": [
            {"name": "A", "balance": 1.2e6, "coupon": {"fixed": 0.04}},
            {"name": "E", "balance": 3e5, "residual": True},
        ],
        "waterfall": [
            {"pay_interest": "A"},
            {"pay_principal": "A"},
            {"trap_cash": {"account": "trap", "share": 0.25}},
            {"pay_residual": "E"},
        ],
    },
}


def test_outside_family_and_step_run_end_to_end(plugins: None) -> None:
    deal = greenabs.parse_deal(DEAL)
    assert deal.assumptions.carbon_credit.price == 55.0  # type: ignore[attr-defined]
    sc = Scenarios.build(drivers={"carbon_price_factor": [1.0, 0.5, 1.5]}, seed=7)
    r = greenabs.run(deal, scenarios=sc)
    assert r.n_scenarios == 3
    trapped = r.waterfall.accounts["trap"]["deposit"]
    assert trapped.sum() > 0
    # the price driver moves the income; the seeded noise repeats
    interest = r.waterfall.deal["interest_collected"].sum(axis=1)
    assert interest[2] > interest[0] > interest[1]
    again = greenabs.run(deal, scenarios=sc)
    np.testing.assert_array_equal(
        again.waterfall.deal["interest_collected"], r.waterfall.deal["interest_collected"]
    )
    one = greenabs.run(deal, scenarios=sc.take(1, 2))
    np.testing.assert_allclose(
        one.waterfall.deal["interest_collected"][0], r.waterfall.deal["interest_collected"][1]
    )


def test_outside_family_and_step_are_in_the_schema(plugins: None) -> None:
    text = str(deal_schema())
    assert "carbon_credit" in text
    assert "trap_cash" in text


def test_outside_plugins_are_checked_like_built_ins(plugins: None) -> None:
    bad = {
        **DEAL,
        "structure": {
            **DEAL["structure"],
            "waterfall": [
                {"pay_interest": "A"},
                {"pay_principal": "A"},
                {"trap_cash": {"account": "nope", "share": 0.2}},
                {"pay_residual": "E"},
            ],
        },
    }
    with pytest.raises(SpecError, match="unknown account 'nope'"):
        greenabs.parse_deal(bad)
    deal = greenabs.parse_deal(DEAL)
    with pytest.raises(SpecError) as err:
        greenabs.run(deal)
    assert err.value.problems[0].where == "drivers['carbon_price_factor']"
    with pytest.raises(SpecError) as err:
        greenabs.run(deal, scenarios=Scenarios.build(drivers={"carbon_price_factor": [1.0]}))
    assert err.value.problems[0].where == "seed"


def test_without_the_plugin_its_type_is_unknown() -> None:
    with pytest.raises(SpecError, match="carbon_credit"):
        greenabs.parse_deal(DEAL)


def test_entry_points_register_installed_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "greenabs_carbon-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: greenabs-carbon\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[greenabs.assets]\ncarbon = tests.test_plugins:CarbonFamily\n\n"
        "[greenabs.steps]\ntrap = tests.test_plugins:TRAP\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(assets, "_loaded", [False])
    monkeypatch.setattr(steps, "_loaded", [False])
    try:
        deal = greenabs.parse_deal(DEAL)  # the loader reads the entry points
        assert "carbon_credit" in assets.FAMILIES
        assert "trap_cash" in steps.STEPS
        assert deal.pool.assets[0].type == "carbon_credit"
    finally:
        assets.unregister("carbon_credit")
        steps.unregister_step("trap_cash")
    assert "greenabs_carbon" not in sys.modules
