"""The asset-family interface: how any cash-flow producing asset slots into the engine.

An *asset family* (loans, leases, receivables, a projected vector; next: power plants with
subsidies, fee concessions, tickets, forestry) contributes three things:

* a frozen pydantic **spec** model with a literal ``type`` field (one row of a loan tape, one
  inline asset of a deal file);
* a **compile** function that turns all specs of that family in a pool into one
  :class:`CollateralBlock`: a struct of arrays, never one Python object per asset;
* the block's **project** method, which returns the family's monthly cash flows for every
  scenario as :class:`BlockFlows`.

The collateral engine only sums blocks, so a new family (with its own random drivers, read
from :class:`ProjectionContext`) is one new module registered in :mod:`greenabs.assets` and
nothing else.  Most families reduce to an :class:`AmortisingBlock` (a performing balance with
a schedule, prepayment, default and interest accrual) and reuse its kernels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from greenabs.assets import kernels
from greenabs.assets.backends import run_kernel
from greenabs.scenarios import generator
from greenabs.taxonomy import resolve_category

__all__ = [
    "FLOW_FIELDS",
    "MAX_AMOUNT",
    "AmortisingBlock",
    "AssetFamily",
    "AssetSpecBase",
    "BlockFlows",
    "CollateralBlock",
    "CompileContext",
    "LoanSchedule",
    "ProjectionContext",
    "RandomDriver",
    "RateTable",
    "TabulatedSchedule",
]

MAX_AMOUNT = 1e15
"""Largest amount an input may carry (a balance, a cash flow, a fee): double precision keeps
cents exact to about 1e13 and a deal's audit to 1e-12 of its cash beyond that."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FLOW_FIELDS: tuple[str, ...] = kernels.FIELDS
"""Fields every block produces per (scenario, month); recovery and loss follow from defaults."""


class AssetSpecBase(BaseModel):
    """Fields shared by every asset: an identifier, a type tag and descriptive fields used for
    stratification and eligibility (never by the cash-flow engine; ``rating`` by the Monte
    Carlo's default times)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False
    )

    id: str
    type: str
    obligor: str | None = None
    industry: str | None = None
    region: str | None = None
    green_category: str | None = None
    rating: str | None = Field(
        None,
        min_length=1,
        max_length=8,
        description="The obligor's rating, a symbol of the rating table (AAA, AA+, ...): in "
        "the Monte Carlo its default time follows that rating's cumulative default rates "
        "instead of the deal's default assumption",
    )
    impact_mwh: float | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT,
        description="Renewable energy generated a year (MWh), "
        "attributable to this asset: for loans and leases that finance a project",
    )
    impact_tco2_avoided: float | None = Field(
        None, ge=0, le=MAX_AMOUNT, description="GHG avoided a year (tCO2e), attributable"
    )
    impact_m3_wastewater: float | None = Field(
        None, ge=0, le=MAX_AMOUNT, description="Wastewater treated a year (m3), attributable"
    )
    impact_t_waste: float | None = Field(
        None, ge=0, le=MAX_AMOUNT, description="Waste treated or recycled a year (t), attributable"
    )
    impact_ha_managed: float | None = Field(
        None, ge=0, le=MAX_AMOUNT, description="Area sustainably managed (ha), attributable"
    )
    impact_tco2_sequestered: float | None = Field(
        None, ge=0, le=MAX_AMOUNT, description="Carbon sequestered a year (tCO2e), attributable"
    )

    @field_validator("green_category")
    @classmethod
    def _known_green_category(cls, value: str | None) -> str | None:
        """A category of the Green Bond Endorsed Projects Catalogue (2021): a code, a name or
        an alias (see :func:`greenabs.taxonomy.resolve_category`); kept as written."""
        if value is not None:
            resolve_category(value)
        return value

    def outstanding(self) -> float:
        """Cut-off balance of the asset (families without a ``balance`` field override it)."""
        return float(getattr(self, "balance", 0.0) or 0.0)


@dataclass(frozen=True, eq=False)
class RateTable:
    """A monthly rate (SMM or MDR) read by asset age or by projection month.

    ``values[offset_i + j]`` is the rate of asset ``i`` in projection month ``j`` (0-based), so a
    curve by age uses ``offset = age0 + 1`` and a vector by period uses ``offset = 0``.
    ``zero_after_age`` switches the rate off past an age (the SDA tail rule).
    """

    values: FloatArray
    by_age: bool
    zero_tail_months: int | None = None

    def offsets(self, age0: IntArray) -> IntArray:
        """Per-asset offsets into ``values``."""
        return (age0 + 1) if self.by_age else np.zeros_like(age0)


@dataclass(frozen=True, eq=False)
class ProjectionContext:
    """What a block needs to project: grid size, scenarios, assumptions, backend.

    ``smm_mult`` and ``mdr_mult`` (shape (S, 1), or (S, M) with a value per month) scale
    prepayment and default per scenario; a deterministic run has S = 1 and multipliers of 1.
    ``default_month`` (S, N) gives, for the block's assets, the 0-based month each defaults in
    each scenario (-1: never); when given, the default curve is not applied.  ``drivers``
    holds named per-family driver arrays with a leading scenario axis; :meth:`rng` gives the
    seeded generator of one scenario (from the run's root ``seed``; ``first_scenario`` is the
    global index of this block's first scenario), for families with random drivers of their
    own.  ``mdq``, ``dq_lag``, ``cure``: monthly delinquency rate, months until a
    delinquent balance cures or defaults, and the share that cures.  ``bom``: prepayments on
    the beginning-of-month balance (Standard Formulas) or after defaults.  ``advance``,
    ``rec_lag``, ``severity``: servicer advancing (0 none, 1 interest, 2 principal and
    interest), the months to liquidation and the loss severity.  ``assumptions`` is the
    family's own assumptions section of the deal file (a validated model or ``None``).
    ``positions`` are the block's assets' indices in the deal's order (to pick a block's
    columns out of per-asset drivers of shape (S, N_deal)).
    """

    n_months: int
    smm: RateTable
    mdr: RateTable
    smm_mult: FloatArray
    mdr_mult: FloatArray
    backend: str = "numpy"
    loan_level: bool = False
    seed: int | None = None
    first_scenario: int = 0
    mdq: float = 0.0
    dq_lag: int = 0
    cure: float = 0.0
    default_month: IntArray | None = None
    drivers: Mapping[str, FloatArray] = field(default_factory=dict)
    bom: bool = True
    advance: int = 0
    rec_lag: int = 0
    severity: float = 1.0
    assumptions: Any = None
    positions: IntArray | None = None

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return int(self.smm_mult.shape[0])

    def rng(self, scenario: int, stream: str) -> np.random.Generator:
        """The generator of scenario ``scenario`` of this block for a named ``stream`` (e.g.
        the family's name): the same numbers whatever the block size or order."""
        if self.seed is None:
            from greenabs.errors import Problem, SpecError

            raise SpecError(
                "<argument>", Problem("seed", f"{stream} draws random drivers: give a seed")
            )
        return generator(self.seed, self.first_scenario + scenario, stream)


DriverShape = Literal["scenario", "year", "asset"]


@dataclass(frozen=True)
class RandomDriver:
    """A random driver an asset family declares: what is random, how it is distributed and how
    it enters the cash flows.

    Drivers are standardised so that one array serves every asset of the family (asset
    parameters scale them): a driver named ``name`` is given to a run as
    ``Scenarios.build(drivers={name: array})`` with shape (S,) for ``per="scenario"``, (S, Y)
    for ``per="year"`` (Y projection years from the cut-off, year ``y`` covering months
    ``12y+1..12y+12``; a shorter array repeats its last year) or (S, N) for ``per="asset"``
    (N assets of the deal, in deal order).  A run without the driver uses its ``expected``
    effect (the deterministic, expected-value cash flows).  :meth:`sample` draws it.
    """

    name: str
    distribution: Literal["normal", "uniform", "default_month"]
    per: DriverShape
    description: str
    params: Mapping[str, float] = field(default_factory=dict)
    adverse: Literal["low", "high"] = "low"
    """Which values hurt the cash flows (low output, prices, a uniform below an event
    probability; high curtailment): the Monte Carlo ties that side to its default factor."""

    def sample(
        self, rng: np.random.Generator, n_years: int, n_assets: int, hazards: FloatArray | None
    ) -> FloatArray:
        """One scenario's values: a scalar, (Y,) or (N,) array.  ``default_month`` drivers
        need the assets' monthly ``hazards`` (N,) (0 for assets without the risk) and give
        each asset's first default month (1-based, 0 never) within ``n_years``."""
        size = {"scenario": (), "year": (n_years,), "asset": (n_assets,)}[self.per]
        if self.distribution == "normal":
            return np.asarray(rng.standard_normal(size), dtype=np.float64)
        if self.distribution == "uniform":
            return np.asarray(rng.random(size), dtype=np.float64)
        assert hazards is not None, self.name
        u = rng.random(n_assets)
        months = 12 * n_years
        with np.errstate(divide="ignore"):
            t = np.ceil(np.log1p(-u) / np.log1p(-np.minimum(hazards, 1 - 1e-15)))
        return np.where((hazards > 0) & (t >= 1) & (t <= months), np.maximum(t, 1), 0.0)


@dataclass(frozen=True, eq=False)
class BlockFlows:
    """Monthly flows of one block: ``pool[field]`` has shape (S, M).

    ``loan_level[field]`` (shape (N, M), scenario 0) is present only when asked for.
    """

    pool: dict[str, FloatArray]
    ids: tuple[str, ...]
    loan_level: dict[str, FloatArray] | None = None


class CollateralBlock(Protocol):
    """A compiled family of assets: arrays in, monthly flows out."""

    @property
    def ids(self) -> tuple[str, ...]:
        """Asset identifiers, in the order of the block's arrays."""
        ...

    @property
    def n_months(self) -> int:
        """Months until this block's last scheduled cash flow."""
        ...

    @property
    def balance(self) -> float:
        """Current (cut-off) balance of the block."""
        ...

    def project(self, ctx: ProjectionContext) -> BlockFlows:
        """The block's monthly cash flows under ``ctx``."""
        ...

    def summary(self) -> dict[str, FloatArray]:
        """Per-asset stratification columns (balance, rate, remaining term...)."""
        ...


@dataclass(frozen=True)
class CompileContext:
    """What compiling needs beyond the specs: the cut-off, the assumed index paths and each
    family's own assumptions section (``sections[type_name]``, a validated model)."""

    cutoff: date
    index_paths: dict[str, FloatArray] = field(default_factory=dict)
    sections: Mapping[str, Any] = field(default_factory=dict)

    def section(self, type_name: str) -> Any:
        """The assumptions section of a family (its defaults when the deal gives none)."""
        return self.sections.get(type_name)

    def index_path(self, name: str, n_months: int) -> FloatArray:
        """Monthly values of an index over ``n_months`` (last value carried forward)."""
        path = self.index_paths[name]
        if len(path) >= n_months:
            return path[:n_months]
        return np.concatenate([path, np.full(n_months - len(path), path[-1])])


class AssetFamily(Protocol):
    """A registered asset family.

    Optional class attributes: ``assumptions``, a pydantic model of the family's own
    assumptions section (``assumptions.<type_name>`` in a deal file; compile and project read
    it as ``ctx.section(type_name)`` / ``ctx.assumptions``), and ``drivers``, the names of the
    per-scenario driver arrays the family reads from ``ProjectionContext.drivers`` (a run
    without them is refused, naming the driver).
    """

    type_name: ClassVar[str]
    spec: ClassVar[type[AssetSpecBase]]

    @staticmethod
    def compile(specs: Sequence[Any], ctx: CompileContext) -> CollateralBlock:
        """All assets of this family in a pool, as one block."""
        ...


@dataclass(frozen=True, eq=False)
class LoanSchedule:
    """The schedule of standard loans, as per-loan parameters (no month axis).

    ``step`` months between payments, amortisation ``code`` (0 level, 1 linear,
    2 interest-only, 3 bullet) and annual ``rates`` of shape (1, N) when fixed or (M, N) when
    some loans float.  The kernels compute each month's row from these on the fly.
    """

    step: IntArray
    code: IntArray
    rates: FloatArray


@dataclass(frozen=True, eq=False)
class TabulatedSchedule:
    """An arbitrary schedule as (month, asset) matrices.

    ``accrual``: interest accrued in month ``j`` per unit of performing balance; ``pay``:
    whether accrued interest is collected in month ``j``; ``frac``: scheduled principal as a
    fraction of the balance after defaults (1 at maturity).
    """

    accrual: FloatArray
    pay: BoolArray
    frac: FloatArray


@dataclass(frozen=True, eq=False)
class AmortisingBlock:
    """Assets with a performing balance that amortises on a schedule.

    Attributes
    ----------
    ids
        Asset identifiers (N).
    n_months
        Months until the last scheduled payment (M).
    balance0
        Cut-off balances (N,).
    age0
        Ages in months at the cut-off (N,); curves by age read month ``j`` at ``age0 + j + 1``.
    term
        Age at maturity in months (N,), for the SDA tail rule and the loan schedule.
    schedule
        A :class:`LoanSchedule` (parameters) or a :class:`TabulatedSchedule` (matrices).
    prepayable
        Whether voluntary prepayment applies (N,).
    rate0
        Current annual rate of each asset (for stratification).
    kind
        Family name.
    accrued0
        Interest accrued but not yet paid at the cut-off (N,); collected on the next payment.
    """

    ids: tuple[str, ...]
    n_months: int
    balance0: FloatArray
    age0: IntArray
    term: IntArray
    schedule: LoanSchedule | TabulatedSchedule
    prepayable: BoolArray
    rate0: FloatArray
    kind: str
    accrued0: FloatArray | None = None

    @property
    def balance(self) -> float:
        """Cut-off balance."""
        return float(self.balance0.sum())

    def summary(self) -> dict[str, FloatArray]:
        """Per-asset balance, current rate, remaining term and age."""
        if isinstance(self.schedule, TabulatedSchedule):
            months = np.arange(1, self.n_months + 1)[:, None]
            remaining = np.where(self.schedule.frac >= 1.0, months, 0).max(axis=0)
        else:
            remaining = self.term - self.age0
        return {
            "balance": self.balance0,
            "rate": self.rate0,
            "remaining_term": remaining.astype(np.float64),
            "age": self.age0.astype(np.float64),
        }

    def monthly_hazards(self, mdr: RateTable, n_months: int) -> tuple[FloatArray, IntArray]:
        """The assets' monthly default probabilities under the default table ``mdr``, month
        ``j`` (0-based) read as the kernels read it (by age or period, off past the SDA
        tail), as distinct rows (C, ``n_months``) and each asset's row (N,): what the Monte
        Carlo turns into default times.  Rows are computed per distinct (offset, tail)
        pair, never per asset, so a million-asset pool has a handful."""
        off = mdr.offsets(self.age0)
        tail = (
            self.term - mdr.zero_tail_months - self.age0
            if mdr.zero_tail_months is not None
            else np.full_like(off, np.iinfo(np.int64).max // 2)
        )
        keys, row_of = np.unique(np.stack([off, tail], axis=1), axis=0, return_inverse=True)
        j = np.arange(n_months)[None, :]
        idx = np.minimum(keys[:, :1] + j, len(mdr.values) - 1)
        rows: FloatArray = np.where(j + 1 > keys[:, 1:], 0.0, mdr.values[idx])
        return rows, row_of.reshape(-1).astype(np.int64)

    def project(self, ctx: ProjectionContext) -> BlockFlows:
        """Monthly flows for every scenario (see :mod:`greenabs.assets.kernels`)."""
        n = self.balance0.shape[0]
        n_months = (
            ctx.n_months if ctx.advance else self.n_months + (ctx.dq_lag if ctx.mdq > 0 else 0)
        )
        empty_i = np.zeros(n, dtype=np.int64)
        empty_m = np.zeros((1, n))
        sch = self.schedule
        tab = isinstance(sch, TabulatedSchedule)
        if ctx.mdr.zero_tail_months is not None:
            mdr_stop = self.term - ctx.mdr.zero_tail_months
        else:
            mdr_stop = np.full_like(self.term, np.iinfo(np.int64).max // 2)
        tab_frac = sch.frac if tab else empty_m  # type: ignore[union-attr]
        tab_pay = sch.pay if tab else np.zeros((1, n), dtype=np.bool_)  # type: ignore[union-attr]
        if tab:
            # after an asset's last scheduled payment whatever is left (balance cured from
            # delinquency) is due
            done = np.cumsum(tab_frac >= 1.0, axis=0) > 0
            after = np.vstack([np.zeros((1, n), dtype=np.bool_), done[:-1]])
            if after.any():
                tab_frac = np.where(after, 1.0, tab_frac)
                tab_pay = tab_pay | after
        k = kernels.KernelInput(
            n_months=n_months,
            tabulated=tab,
            balance0=self.balance0,
            accrued0=np.zeros(n) if self.accrued0 is None else self.accrued0,
            age0=self.age0,
            term=self.term,
            prepayable=self.prepayable,
            step=empty_i if tab else sch.step,  # type: ignore[union-attr]
            code=empty_i if tab else sch.code,  # type: ignore[union-attr]
            rates=empty_m if tab else sch.rates,  # type: ignore[union-attr]
            tab_accrual=sch.accrual if tab else empty_m,  # type: ignore[union-attr]
            tab_pay=tab_pay,
            tab_frac=tab_frac,
            smm_vals=ctx.smm.values,
            smm_off=ctx.smm.offsets(self.age0),
            mdr_vals=ctx.mdr.values,
            mdr_off=ctx.mdr.offsets(self.age0),
            mdr_stop=mdr_stop,
            smm_mult=ctx.smm_mult,
            mdr_mult=ctx.mdr_mult,
            mdq=ctx.mdq,
            dq_lag=ctx.dq_lag,
            cure=ctx.cure,
            default_month=ctx.default_month,
            bom=1.0 if ctx.bom else 0.0,
            advance=ctx.advance,
            rec_lag=ctx.rec_lag,
            severity=ctx.severity,
        )
        pool, level = run_kernel(k, ctx.backend, ctx.loan_level)
        return BlockFlows(pool=pool, ids=self.ids, loan_level=level)
