"""Collateral projection: a pool of assets under assumptions to monthly pool cash flows.

Pool cash flows do not depend on the tranches, so they are computed once per assumption set
and scenario set and reused by every waterfall run (sizing, triggers, structure comparisons).
Arrays carry a scenario axis from the start: ``flows[field]`` has shape (S, M).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs import curves
from greenabs.assets import (
    FAMILIES,
    AssetSpecBase,
    BlockFlows,
    CollateralBlock,
    CompileContext,
    ProjectionContext,
    RateTable,
    compile_pool,
)
from greenabs.assets.backends import resolve_backend
from greenabs.calendar import add_months
from greenabs.errors import Problem, SpecError
from greenabs.scenarios import Scenarios, generator
from greenabs.spec.deal import AssumptionsSpec, DefaultSpec, PrepaymentSpec

__all__ = [
    "POOL_FIELDS",
    "STOCKS",
    "CompiledPool",
    "PoolCashflows",
    "compile_pool_for",
    "draw_drivers",
    "legs",
    "project",
    "project_pool",
    "rate_tables",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

POOL_FIELDS: tuple[str, ...] = (
    "begin_balance",
    "interest",
    "scheduled_principal",
    "prepayment",
    "default",
    "recovery",
    "loss",
    "end_balance",
    "delinquent",
    "advanced_principal",
    "advanced_interest",
    "writedown",
    "collections",
)
"""Monthly pool fields; ``interest`` is gross interest collected, before servicing.  Balances
count every asset not yet defaulted (loans in foreclosure are not); ``delinquent`` is the part
of it that is delinquent.  ``advanced_principal`` and ``advanced_interest`` are the servicer's
advances on loans in foreclosure (zero without advancing).  ``writedown``: balance written
down without a default (a revenue asset's collections short of the principal its discounted
balance lost; counted in ``loss``).  ``collections``: all cash the pool delivered to the SPV
(interest, principal, prepayments, recoveries and advances), whatever the asset type.  Pools
with revenue assets add a column per revenue leg (``tariff``, ``subsidy``, ...) and ``opex``,
the costs deducted from them (see :mod:`greenabs.assets.revenue`)."""

STOCKS = ("begin_balance", "end_balance", "delinquent")
"""Fields that are balances at a date, not flows over a period."""


@dataclass(frozen=True, eq=False)
class PoolCashflows:
    """Monthly pool cash flows for S scenarios.

    Attributes
    ----------
    month_ends
        End date of each collection month (M).
    flows
        ``field -> (S, M)`` for every field of :data:`POOL_FIELDS`.
    original_balance
        Cut-off balance of the pool.
    ids, loan_level
        Asset ids and ``field -> (N, M)`` flows of scenario 0, when loan level was asked for.
    """

    month_ends: tuple[date, ...]
    flows: dict[str, FloatArray]
    original_balance: float
    ids: tuple[str, ...] = ()
    loan_level: dict[str, FloatArray] | None = None

    @property
    def n_months(self) -> int:
        """Number of months M."""
        return len(self.month_ends)

    def frame(self, scenario: int = 0) -> pd.DataFrame:
        """Monthly pool cash flows of one scenario as a DataFrame."""
        df = pd.DataFrame({k: v[scenario] for k, v in self.flows.items()})
        df.insert(0, "date", list(self.month_ends))
        df.insert(0, "month", np.arange(1, self.n_months + 1))
        return df

    def loan_level_frame(self) -> pd.DataFrame:
        """Loan-level flows (scenario 0) in long form: one row per asset and month."""
        if self.loan_level is None:
            raise ValueError("loan-level flows were not computed (pass loan_level=True)")
        n, m = self.loan_level["begin_balance"].shape
        df = pd.DataFrame({k: v.ravel() for k, v in self.loan_level.items()})
        df.insert(0, "date", np.tile(np.array(self.month_ends, dtype="datetime64[D]"), n))
        df.insert(0, "month", np.tile(np.arange(1, m + 1), n))
        df.insert(0, "asset_id", np.repeat(np.array(self.ids, dtype=object), m))
        return df


def _table(spec: PrepaymentSpec | DefaultSpec, kind: str, max_age: int, n_months: int) -> RateTable:
    """Monthly rates (SMM or MDR) of a curve, by age or by period."""
    ages = np.arange(0, max_age + n_months + 2, dtype=np.float64)
    if isinstance(spec, PrepaymentSpec):
        if spec.cpr is not None:
            return RateTable(np.array([curves.cpr_to_smm(spec.cpr)]), by_age=False)
        if spec.psa is not None:
            return RateTable(curves.cpr_to_smm(curves.psa_cpr(ages, spec.psa)), by_age=True)
    else:
        if spec.cdr is not None:
            return RateTable(np.array([curves.cdr_to_mdr(spec.cdr)]), by_age=False)
        if spec.sda is not None:
            return RateTable(
                curves.cdr_to_mdr(curves.sda_cdr(ages, spec.sda)), by_age=True, zero_tail_months=12
            )
    assert spec.vector is not None, kind
    vec = np.asarray(spec.vector, dtype=np.float64)
    monthly = curves.cpr_to_smm(vec)
    if spec.by == "age":
        # value k applies at age k + 1: shift so that index age reads it
        return RateTable(np.concatenate([[monthly[0]], monthly]), by_age=True)
    return RateTable(monthly, by_age=False)


def rate_tables(
    assumptions: AssumptionsSpec, max_age: int, n_months: int
) -> tuple[RateTable, RateTable]:
    """SMM and MDR tables for the assumptions."""
    return (
        _table(assumptions.prepayment, "prepayment", max_age, n_months),
        _table(assumptions.default, "default", max_age, n_months),
    )


def _pad(a: FloatArray, n: int) -> FloatArray:
    if a.shape[-1] == n:
        return a
    pad = [(0, 0)] * (a.ndim - 1) + [(0, n - a.shape[-1])]
    return np.pad(a, pad)


@dataclass(frozen=True, eq=False)
class CompiledPool:
    """A pool compiled once under a set of assumptions: blocks of arrays, rate tables and the
    monthly grid.  Projecting it for any scenarios reuses all of it.

    ``positions[b]`` are the indices, in the deal's asset order, of block ``b``'s assets and
    ``kinds[b]`` its family.
    """

    blocks: tuple[CollateralBlock, ...]
    positions: tuple[IntArray, ...]
    kinds: tuple[str, ...]
    assumptions: AssumptionsSpec
    cutoff: date
    n_asset_months: int
    n_months: int
    max_age: int
    smm: RateTable
    mdr: RateTable
    balance: float
    n_assets: int
    index_paths: Mapping[str, FloatArray]
    assets: tuple[AssetSpecBase, ...]
    advancing: str = "none"

    @property
    def month_ends(self) -> tuple[date, ...]:
        """End date of each collection month."""
        return tuple(add_months(self.cutoff, m) for m in range(1, self.n_months + 1))


def compile_pool_for(
    assets: Sequence[AssetSpecBase],
    assumptions: AssumptionsSpec,
    cutoff: date,
    advancing: str = "none",
) -> CompiledPool:
    """Compile a pool's assets into blocks and its assumptions into rate tables
    (``advancing``: the servicer's, ``none``, ``interest`` or ``principal_and_interest``)."""
    if advancing != "none":
        if assumptions.recovery.lag_months < 1:
            raise SpecError(
                "<argument>",
                Problem(
                    "assumptions.recovery.lag_months", "advancing needs a liquidation lag >= 1"
                ),
            )
        if assumptions.delinquency is not None and assumptions.delinquency.rate > 0:
            raise SpecError(
                "<argument>",
                Problem("assumptions.delinquency", "delinquency cannot be combined with advancing"),
            )
    index_paths = {
        k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in assumptions.rates.items()
    }
    ctx_c = CompileContext(cutoff=cutoff, index_paths=index_paths, sections=_sections(assumptions))
    order: dict[str, list[int]] = {}  # family -> positions, in order of first appearance
    for i, a in enumerate(assets):
        order.setdefault(a.type, []).append(i)
    blocks = compile_pool(assets, ctx_c)
    dq = assumptions.delinquency
    dq_lag = dq.lag_months if dq is not None and dq.rate > 0 else 0
    # delinquent balance cured after maturity is collected up to dq_lag months later
    n_asset_months = max(b.n_months for b in blocks) + dq_lag
    max_age = max(int(np.max(b.summary()["age"])) for b in blocks)
    smm, mdr = rate_tables(assumptions, max_age, n_asset_months)
    return CompiledPool(
        blocks=tuple(blocks),
        positions=tuple(np.asarray(v, dtype=np.int64) for v in order.values()),
        kinds=tuple(order),
        assumptions=assumptions,
        cutoff=cutoff,
        n_asset_months=n_asset_months,
        n_months=n_asset_months + assumptions.recovery.lag_months,
        max_age=max_age,
        smm=smm,
        mdr=mdr,
        balance=float(sum(b.balance for b in blocks)),
        n_assets=len(assets),
        index_paths=index_paths,
        assets=tuple(assets),
        advancing=advancing,
    )


_ADVANCE = {"none": 0, "interest": 1, "principal_and_interest": 2}


def _sections(assumptions: AssumptionsSpec) -> dict[str, Any]:
    """Each registered family's assumptions section (its defaults when the deal has none)."""
    out: dict[str, Any] = {}
    for name, fam in FAMILIES.items():
        model = getattr(fam, "assumptions", None)
        if model is not None:
            given = getattr(assumptions, name, None)
            out[name] = given if isinstance(given, model) else model()
    return out


def _scenario_context(
    cp: CompiledPool,
    sc: Scenarios,
    first: int,
    backend: str,
    loan_level: bool,
) -> ProjectionContext:
    """The projection context of a block of scenarios."""
    a = cp.assumptions
    dq = a.delinquency
    smm, mdr = cp.smm, cp.mdr
    smm_mult, mdr_mult = sc.smm_mult, sc.mdr_mult
    if sc.cpr_path is not None:
        smm = RateTable(np.ones(1), by_age=False)
        smm_mult = curves.cpr_to_smm(sc.cpr_path)
    if sc.cdr_path is not None:
        mdr = RateTable(np.ones(1), by_age=False)
        mdr_mult = curves.cdr_to_mdr(sc.cdr_path)
    if sc.default_month is not None:
        mdr = RateTable(np.zeros(1), by_age=False)
    return ProjectionContext(
        mdq=0.0 if dq is None else curves.cdr_to_mdr(dq.rate),
        dq_lag=0 if dq is None else dq.lag_months,
        cure=0.0 if dq is None else dq.cure_rate,
        n_months=cp.n_months if cp.advancing != "none" else cp.n_asset_months,
        smm=smm,
        mdr=mdr,
        smm_mult=np.ascontiguousarray(smm_mult),
        mdr_mult=np.ascontiguousarray(mdr_mult),
        backend=backend,
        loan_level=loan_level,
        seed=sc.seed,
        first_scenario=first,
        drivers=sc.drivers,
        bom=a.prepayment_timing == "beginning_of_month",
        advance=_ADVANCE[cp.advancing],
        rec_lag=a.recovery.lag_months,
        severity=1.0 - a.recovery.rate,
    )


def project(
    cp: CompiledPool,
    scenarios: Scenarios | None = None,
    *,
    backend: str = "numpy",
    loan_level: bool = False,
    block_size: int | None = None,
) -> PoolCashflows:
    """Monthly pool flows of a compiled pool for every scenario.

    Scenarios run in blocks of ``block_size`` (all at once when ``None``) so that the
    kernels' state stays bounded; the flows do not depend on the block size.
    """
    sc = Scenarios.build() if scenarios is None else scenarios
    backend = resolve_backend(backend)
    months = cp.n_asset_months if cp.advancing == "none" else cp.n_months
    sc.check(cp.n_assets, months)
    if sc.index_paths:
        unknown = sorted(set(sc.index_paths) - set(cp.index_paths))
        if unknown:
            known = ", ".join(sorted(cp.index_paths)) or "none"
            raise SpecError(
                "<argument>",
                Problem("index_paths", f"unknown index {unknown[0]!r} (known: {known})"),
            )
    _check_random_drivers(cp, sc)
    for kind in cp.kinds:
        for name in getattr(FAMILIES[kind], "drivers", ()):
            if name not in sc.drivers:
                why = f"the {kind} family needs the driver {name!r} (scenarios.drivers)"
                raise SpecError("<argument>", Problem(f"drivers[{name!r}]", why))
    if block_size is not None and (not isinstance(block_size, int) or block_size < 1):
        why = f"expected a whole number of scenarios >= 1, got {block_size!r}"
        raise SpecError("<argument>", Problem("block_size", why))
    size = sc.n if block_size is None else block_size
    parts = []
    level = None
    for start in range(0, sc.n, size):
        stop = min(sc.n, start + size)
        flows, lvl = _project_block(
            cp, sc.take(start, stop), sc.offset + start, backend, loan_level and start == 0
        )
        parts.append(flows)
        if lvl is not None:
            level = lvl
    flows = {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}
    return PoolCashflows(
        month_ends=cp.month_ends,
        flows=flows,
        original_balance=cp.balance,
        ids=tuple(i for b in cp.blocks for i in b.ids) if loan_level else (),
        loan_level=level,
    )


def draw_drivers(cp: CompiledPool, n: int, seed: int, first: int = 0) -> dict[str, FloatArray]:
    """Sample every random driver the pool's families declare
    (:class:`~greenabs.assets.RandomDriver`) for scenarios ``first .. first + n - 1``, ready
    for ``Scenarios.build(drivers=...)``.  Scenario ``s`` draws each driver from
    ``generator(seed, s, driver name)``, so its values do not depend on ``n`` or ``first``."""
    n_years = -(-cp.n_months // 12)
    out: dict[str, FloatArray] = {}
    for block, pos, kind in zip(cp.blocks, cp.positions, cp.kinds, strict=True):
        for d in getattr(FAMILIES[kind], "random", ()):
            hazards = None
            if d.distribution == "default_month":
                hazard = getattr(block, "hazards", None)
                hazards = np.zeros(cp.n_assets)
                if hazard is not None:
                    hazards[pos] = hazard(d)
            rows = [
                d.sample(generator(seed, first + s, d.name), n_years, cp.n_assets, hazards)
                for s in range(n)
            ]
            out[d.name] = np.asarray(rows, dtype=np.float64).reshape(n, *np.shape(rows[0]))
    return out


def legs(pool: PoolCashflows) -> tuple[str, ...]:
    """The revenue-leg columns of a pool's flows (beyond :data:`POOL_FIELDS`), in order."""
    return tuple(k for k in pool.flows if k not in POOL_FIELDS)


def _check_random_drivers(cp: CompiledPool, sc: Scenarios) -> None:
    """The shapes and values of the declared random drivers a run gives."""
    for kind in cp.kinds:
        for d in getattr(FAMILIES[kind], "random", ()):
            if d.name not in sc.drivers:
                continue
            v = np.asarray(sc.drivers[d.name])
            where = f"drivers[{d.name!r}]"
            want = {"scenario": 1, "year": 2, "asset": 2}[d.per]
            if v.ndim != want or (d.per == "year" and v.shape[1] < 1):
                shape = {"scenario": "(S,)", "year": "(S, years)", "asset": "(S, assets)"}
                raise SpecError("<argument>", Problem(where, f"expected shape {shape[d.per]}"))
            if d.per == "asset" and v.shape[1] != cp.n_assets:
                why = f"has {v.shape[1]} assets, the deal has {cp.n_assets}"
                raise SpecError("<argument>", Problem(where, why))
            if d.distribution == "default_month" and (np.any(v < 0) or np.any(v != np.floor(v))):
                why = "months are whole numbers >= 1 (0: never)"
                raise SpecError("<argument>", Problem(where, why))


def _varying(cp: CompiledPool, sc: Scenarios) -> list[bool]:
    """Per block: whether a floating asset of it reads an index whose path varies by scenario
    (the block is then compiled again for each scenario)."""
    names = set(sc.index_paths)
    return [
        bool(names) and bool({getattr(cp.assets[int(i)], "index", None) for i in pos} & names)
        for pos in cp.positions
    ]


def _complete(
    flows: dict[str, FloatArray], cp: CompiledPool, recovery: float | FloatArray | None = None
) -> dict[str, FloatArray]:
    """Every pool field, in order, then the revenue legs: without advancing, recoveries and
    losses are the defaults shifted by the recovery lag, at the deal's recovery rate or a
    rate per row (``recovery``, (S, 1)); writedowns are losses; a field no block produced
    is zero; collections are all the cash the pool delivered."""
    a = cp.assumptions
    shape = flows["default"].shape
    zero = np.zeros(shape)
    if cp.advancing == "none":
        lag = a.recovery.lag_months
        rr: Any = a.recovery.rate if recovery is None else recovery
        shifted = np.zeros_like(flows["default"])
        shifted[:, lag:] = flows["default"][:, : shifted.shape[1] - lag]
        flows = {**flows, "recovery": shifted * rr, "loss": shifted * (1.0 - rr)}
    flows = {**flows, "loss": flows.get("loss", zero) + flows.get("writedown", zero)}
    out = {k: flows[k] if k in flows else zero.copy() for k in POOL_FIELDS}
    out["collections"] = (
        out["interest"]
        + out["scheduled_principal"]
        + out["prepayment"]
        + out["recovery"]
        + out["advanced_interest"]
        + out["advanced_principal"]
    )
    out.update({k: v for k, v in flows.items() if k not in out})
    return out


def _project_block(
    cp: CompiledPool, sc: Scenarios, first: int, backend: str, loan_level: bool
) -> tuple[dict[str, FloatArray], dict[str, FloatArray] | None]:
    a = cp.assumptions
    ctx = _scenario_context(cp, sc, first, backend, loan_level)
    n_months = cp.n_months
    results: list[BlockFlows] = []
    sections = _sections(a)
    varying = _varying(cp, sc)
    for block, pos, kind, recompile in zip(cp.blocks, cp.positions, cp.kinds, varying, strict=True):
        ctx = replace(ctx, assumptions=sections.get(kind), positions=pos)
        dm = (
            None if sc.default_month is None else np.ascontiguousarray(sc.default_month[:, pos] - 1)
        )
        if not recompile:
            results.append(block.project(replace(ctx, default_month=dm)))
            continue
        # the block's floating coupons follow each scenario's index path
        per: list[BlockFlows] = []
        for s in range(sc.n):
            paths = dict(cp.index_paths)
            paths.update({k: v[s] for k, v in sc.index_paths.items()})
            ctx_c = CompileContext(cutoff=cp.cutoff, index_paths=paths, sections=sections)
            one = compile_pool([cp.assets[int(i)] for i in pos], ctx_c)[0]
            one_sc = sc.take(s, s + 1)
            per.append(
                one.project(
                    replace(
                        _scenario_context(cp, one_sc, first + s, backend, loan_level and s == 0),
                        default_month=None if dm is None else dm[s : s + 1],
                        assumptions=sections.get(kind),
                    )
                )
            )
        results.append(
            BlockFlows(
                pool={k: np.vstack([_pad(p.pool[k], n_months) for p in per]) for k in per[0].pool},
                ids=per[0].ids,
                loan_level=per[0].loan_level,
            )
        )
    n_s = sc.n
    keys = set().union(*(r.pool for r in results))
    flows = {
        k: sum(
            (_pad(r.pool[k], n_months) for r in results if k in r.pool), np.zeros((n_s, n_months))
        )
        for k in keys
    }
    if sc.recovery_rate is not None and cp.advancing != "none":
        why = "recoveries per scenario cannot be combined with advancing"
        raise SpecError("<argument>", Problem("recovery_rate", why))
    rr = None if sc.recovery_rate is None else sc.recovery_rate[:, None]
    flows = _complete(flows, cp, rr)
    level = None
    if loan_level:
        with_level = [r.loan_level for r in results if r.loan_level is not None]
        level = _complete(
            {
                k: np.vstack(
                    [
                        _pad(lv[k], n_months)
                        if k in lv
                        else np.zeros((next(iter(lv.values())).shape[0], n_months))
                        for lv in with_level
                    ]
                )
                for k in dict.fromkeys(k for lv in with_level for k in lv)
            },
            cp,
            None if sc.recovery_rate is None else float(sc.recovery_rate[0]),
        )
    return flows, level


def project_pool(
    assets: Sequence[AssetSpecBase],
    assumptions: AssumptionsSpec,
    cutoff: date,
    *,
    smm_mult: FloatArray | None = None,
    mdr_mult: FloatArray | None = None,
    scenarios: Scenarios | None = None,
    backend: str = "numpy",
    loan_level: bool = False,
    advancing: str = "none",
) -> PoolCashflows:
    """Project a pool month by month for one or more scenarios (compile, then project).

    Parameters
    ----------
    assets
        Validated asset specs of any registered family.
    assumptions
        Prepayment, default and recovery assumptions and index paths.
    cutoff
        Cut-off date; month ``m`` ends ``m`` months after it.
    smm_mult, mdr_mult
        Shorthand for ``Scenarios.build(smm_mult=..., mdr_mult=...)``.
    scenarios
        Scenario drivers (:class:`~greenabs.scenarios.Scenarios`); not with the multipliers.
    backend
        ``numpy`` (reference), ``numba``, ``cupy`` or ``auto``.
    loan_level
        Also return per-asset flows of scenario 0.
    """
    return project(
        compile_pool_for(assets, assumptions, cutoff, advancing),
        Scenarios.resolve(scenarios, smm_mult, mdr_mult),
        backend=backend,
        loan_level=loan_level,
    )
