"""Scenario generation: a deal's simulation settings turned into seeded scenario drivers.

:class:`ScenarioModel` is built once per deal (default curves, factor structure, drivers,
rate paths) and gives the :class:`~greenabs.scenarios.Scenarios` of any block of scenarios.
Scenario ``s`` draws from its own streams (``generator(seed, s, "montecarlo")`` in a fixed
order: factors, the obligors' uniforms, recovery, prepayment, rates; each eco-asset driver
from ``generator(seed, s, driver name)``), so a scenario's numbers do not depend on the block
size, the backend or the number of workers.  docs/montecarlo.md describes every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from greenabs.assets import FAMILIES, RandomDriver
from greenabs.compile import CompiledDeal
from greenabs.errors import Problem, SpecError
from greenabs.montecarlo.defaults import (
    FactorDraw,
    ItemSet,
    conditional_curves,
    cumulative,
    default_months,
    large_pool_multipliers,
)
from greenabs.scenarios import Scenarios, generator
from greenabs.spec.simulation import SimulationSpec

__all__ = ["BlockDraw", "ScenarioModel", "support_driver"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
STREAM = "montecarlo"


def support_driver(name: str) -> str:
    """The driver carrying a support provider's default month (``support:NAME``)."""
    return f"support:{name}"


@dataclass(frozen=True, eq=False)
class _Draws:
    """A block's random numbers: factors ``z`` (S, Y) and ``zg`` (S, G, Y), the t copula's
    ``w``, the obligors' uniforms ``u``, the recovery and prepayment shocks, the rate shocks
    ``xi`` (S, indices, months)."""

    z: FloatArray
    zg: FloatArray
    w: FloatArray | None
    u: FloatArray
    rec: FloatArray
    pre: FloatArray
    xi: FloatArray


@dataclass(frozen=True, eq=False)
class BlockDraw:
    """A block's scenarios and what the results report beside them: ``factor`` (S,), the
    standardised systematic factor of each scenario (after the stress shift; low is bad)."""

    scenarios: Scenarios
    factor: FloatArray


def factor_shift(sim: SimulationSpec) -> float:
    """The adverse shift of the factor in standard deviations: ``Phi^-1(stress_level)``
    (0.5: none) or ``factor_shift``."""
    if sim.stress_level is not None:
        level = min(max(sim.stress_level, 1e-6), 1.0 - 1e-6)
        return float(special.ndtri(level))
    return float(sim.factor_shift)


def _groups(deal: CompiledDeal, field: str | None) -> tuple[IntArray, int]:
    """Each asset's group index by ``field`` (assets without a value form one group)."""
    assets = deal.pool.assets
    if field is None:
        return np.full(len(assets), -1, dtype=np.int64), 0
    values = [str(getattr(a, field, None) or "") for a in assets]
    names = sorted(set(values))
    index = {v: i for i, v in enumerate(names)}
    return np.array([index[v] for v in values], dtype=np.int64), len(names)


class _Obligors:
    """Obligors gathered group by group (assets, operators, providers) into an
    :class:`ItemSet`: each group brings its curves and, per obligor, its curve, factor group
    and correlations."""

    def __init__(self) -> None:
        self.curves: list[FloatArray] = []
        self.parts: list[tuple[IntArray, IntArray, FloatArray, FloatArray]] = []
        self.n_curves = 0

    def add(
        self, curves: FloatArray, curve_of: IntArray, group: IntArray, rho: float, rho_g: float
    ) -> None:
        """Obligors with cumulative ``curves`` (C, T), each reading ``curve_of`` of them; an
        obligor of a group (``group >= 0``) has ``rho_g``, the others ``rho``."""
        n = len(curve_of)
        self.curves.append(curves)
        self.parts.append(
            (
                self.n_curves + curve_of.astype(np.int64),
                group.astype(np.int64),
                np.full(n, rho),
                np.where(group >= 0, rho_g, rho),
            )
        )
        self.n_curves += len(curves)

    def build(self) -> ItemSet:
        width = max(c.shape[1] for c in self.curves)
        curves = np.vstack(
            [np.pad(c, ((0, 0), (0, width - c.shape[1])), mode="edge") for c in self.curves]
        )
        cols = [np.concatenate(col) for col in zip(*self.parts, strict=True)]
        return ItemSet.build(curves, cols[0], cols[1], cols[2], cols[3])


class ScenarioModel:
    """A deal's Monte Carlo scenario generator (see the module docstring).

    Obligors, in this order: the pool's assets (their default time; a payer's for revenue
    assets), the operators of income rights (drivers ``<type>.operator_default``), the
    support providers (drivers ``support:NAME``).  Assets naming the same ``obligor`` share
    one uniform (:func:`_uniform_columns`).
    """

    def __init__(
        self, deal: CompiledDeal, sim: SimulationSpec, backend: str = "numpy", table: Any = None
    ) -> None:
        self.deal = deal
        self.sim = sim
        self.backend = backend
        self._table = table
        cp = deal.pool
        dm = sim.default_model
        self.months = cp.n_asset_months if cp.advancing == "none" else cp.n_months
        self.n_years = -(-self.months // 12)
        self.shift = factor_shift(sim)
        self.n_assets = cp.n_assets
        self.weights = np.zeros(cp.n_assets)
        for block, pos in zip(cp.blocks, cp.positions, strict=True):
            self.weights[pos] = block.summary()["balance"]
        group_of, self.n_groups = _groups(deal, dm.group_by)
        rho = dm.asset_correlation
        rho_g = dm.group_correlation if dm.group_correlation is not None else rho
        obligors = _Obligors()
        rows, curve_of = self._asset_curves()
        obligors.add(rows, curve_of, group_of, rho, rho_g)
        # operators of income rights: their default stops the activity
        self.operator_drivers: list[tuple[str, IntArray]] = []
        months_op = 12 * -(-cp.n_months // 12)  # the span of a driver's default months
        for block, pos, kind in zip(cp.blocks, cp.positions, cp.kinds, strict=True):
            for d in getattr(FAMILIES[kind], "random", ()):
                if d.distribution != "default_month" or not sim.drivers:
                    continue
                h = block.hazards(d)  # type: ignore[attr-defined]
                live = np.flatnonzero(h > 0)
                if live.size:
                    rates, of = np.unique(h[live], return_inverse=True)
                    curves = cumulative(np.repeat(rates[:, None], months_op, axis=1))
                    obligors.add(curves, of.reshape(-1), group_of[pos[live]], rho, rho_g)
                    self.operator_drivers.append((d.name, pos[live]))
        # support providers: wrong-way risk through their own factor correlation
        self.supports = deal.deal.structure.supports
        self.support_items: list[str] = []
        none = np.array([-1])
        for sup in self.supports:
            curve = self._support_curve(sup, self.months)
            if curve is not None:
                c = sup.factor_correlation
                obligors.add(curve[None, :], np.zeros(1, dtype=np.int64), none, c, c)
                self.support_items.append(sup.name)
        self.items = obligors.build()
        self.u_of_item, self.n_uniforms = _uniform_columns(
            [a.obligor for a in cp.assets], len(self.items.combo)
        )
        # each declared driver once (a family's driver serves all its blocks)
        drivers: dict[str, RandomDriver] = {}
        for kind in cp.kinds:
            for d in getattr(FAMILIES[kind], "random", ()):
                if d.distribution != "default_month" and sim.drivers:
                    drivers.setdefault(d.name, d)
        self.drivers = list(drivers.values())
        self.rate_names: tuple[str, ...] = ()
        if sim.rate_model is not None:
            self.rate_names = sim.rate_model.indices or tuple(sorted(cp.index_paths))
        self.rate_months = cp.n_months

    def _asset_curves(self) -> tuple[FloatArray, IntArray]:
        """Distinct cumulative default curves (C, months) and each asset's (N,): the deal's
        default assumption (a payer's ``payer_pd``), or the asset's rating's default rates;
        never an (assets x months) matrix."""
        cp = self.deal.pool
        years = np.arange(1, self.months + 1) / 12.0
        parts: list[FloatArray] = [np.zeros((1, self.months))]  # assets without the risk
        curve_of = np.zeros(cp.n_assets, dtype=np.int64)
        count = 1
        for block, pos in zip(cp.blocks, cp.positions, strict=True):
            fn = getattr(block, "monthly_hazards", None)
            if fn is not None:
                rows, row_of = fn(cp.mdr, self.months)
                parts.append(cumulative(rows))
                curve_of[pos] = count + row_of
                count += len(rows)
        for i, a in enumerate(cp.assets):
            if a.rating is not None:
                parts.append(self._rating_curve(a.rating, years, f"pool.assets[{i}].rating")[None])
                curve_of[i] = count
                count += 1
        curves, back = np.unique(np.vstack(parts), axis=0, return_inverse=True)
        return curves, back.reshape(-1)[curve_of]

    def _support_curve(self, sup: Any, t: int) -> FloatArray | None:
        """A provider's cumulative default curve over ``t`` months, from its annual default
        probability or its rating (through the rating table); ``None`` if it never defaults."""
        pd_, rating = sup.default_probability, sup.rating
        years = np.arange(1, t + 1) / 12.0
        if pd_ is not None:
            if pd_ <= 0:
                return None
            out: FloatArray = -np.expm1(years * math.log1p(-min(pd_, 1 - 1e-16)))
            return out
        if rating is not None:
            return self._rating_curve(rating, years, f"structure.supports[{sup.name!r}].rating")
        return None

    def _rating_curve(self, rating: str, years: FloatArray, where: str) -> FloatArray:
        """Cumulative default probabilities of a rating at ``years`` (the rating table's,
        the default table unless one was given)."""
        from greenabs.rating import RatingTable, load_rating_table

        if not isinstance(self._table, RatingTable):
            self._table = load_rating_table(self._table)
        table = self._table
        if rating not in table.scale:
            why = f"unknown rating {rating!r} (the scale is {', '.join(table.scale)})"
            raise SpecError("<argument>", Problem(where, why))
        return np.array([table.pd_at(rating, float(y)) for y in years])

    # ------------------------------------------------------------------ one block
    def block(self, start: int, stop: int) -> BlockDraw:
        """Scenarios ``start .. stop - 1``."""
        n_s = stop - start
        d = self._draw(start, n_s)
        dm = self.sim.default_model
        factors = FactorDraw(z=d.z - self.shift, zg=d.zg, w=d.w, nu=dm.degrees_of_freedom)
        factor = d.z.sum(axis=1) / math.sqrt(d.z.shape[1]) - self.shift
        kw, drivers = self._defaults(d, factors, n_s)
        kw.update(self._recovery(d, factor))
        kw.update(self._prepayment_and_rates(d))
        drivers.update(self._drivers(start, n_s, d.z))
        sc = Scenarios.build(drivers=drivers or None, seed=self.sim.seed, **kw)
        if sc.n != n_s:  # no array given at all: S from the block
            sc = replace(sc, n=n_s)
        return BlockDraw(scenarios=replace(sc, offset=start), factor=factor)

    def _draw(self, start: int, n_s: int) -> _Draws:
        """The block's random numbers, scenario by scenario from its own stream, in a fixed
        order: factors, obligors' uniforms, recovery, prepayment, rate shocks."""
        dm = self.sim.default_model
        n_y = self.n_years if dm.periods == "annual" else 1
        # large pool: the operators and providers alone draw uniforms, the assets' defaults
        # are a pool rate
        n_u = len(self.items.combo) - self.n_assets if dm.large_pool else self.n_uniforms
        n_r = len(self.rate_names)
        d = _Draws(
            z=np.empty((n_s, n_y)),
            zg=np.zeros((n_s, max(self.n_groups, 1), n_y)),
            w=np.empty(n_s) if dm.copula == "t" else None,
            u=np.empty((n_s, n_u)),
            rec=np.empty(n_s),
            pre=np.empty(n_s),
            xi=np.empty((n_s, n_r, self.rate_months)),
        )
        for j in range(n_s):
            rng = generator(self.sim.seed, start + j, STREAM)
            d.z[j] = rng.standard_normal(n_y)
            if self.n_groups:
                d.zg[j] = rng.standard_normal((self.n_groups, n_y))
            if d.w is not None:
                d.w[j] = rng.chisquare(dm.degrees_of_freedom)
            rng.random(n_u, out=d.u[j])
            d.rec[j] = rng.standard_normal()
            d.pre[j] = rng.standard_normal()
            if n_r:
                d.xi[j] = rng.standard_normal((n_r, self.rate_months))
        return d

    def _defaults(
        self, d: _Draws, factors: FactorDraw, n_s: int
    ) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """Default months of the assets (or the large pool's rate multipliers), the
        operators' and the providers' drivers."""
        dm = self.sim.default_model
        n_items = len(self.items.combo)
        kw: dict[str, Any] = {}
        drivers: dict[str, FloatArray] = {}
        if dm.large_pool:  # the operators and providers keep their default times
            assets = _subset(self.items, np.arange(self.n_assets))
            kw["mdr_mult"] = large_pool_multipliers(assets, self.weights, factors, dm.periods)
            items = _subset(self.items, np.arange(self.n_assets, n_items))
            col = 0
        else:
            items = self.items
            col = self.n_assets
        u = d.u
        if not dm.large_pool and self.u_of_item is not None:  # an obligor's loans share its U
            u = d.u[:, self.u_of_item]
        months = default_months(
            conditional_curves(items, factors, dm.periods), u, items.combo, self.backend
        )
        if not dm.large_pool:
            # (an asset's curve is flat past its months: it never defaults later)
            kw["default_month"] = months[:, : self.n_assets]
        for name, pos in self.operator_drivers:
            arr = np.zeros((n_s, self.n_assets))
            arr[:, pos] = months[:, col : col + pos.size]
            drivers[name] = arr
            col += pos.size
        for i, name in enumerate(self.support_items):
            drivers[support_driver(name)] = months[:, col + i].astype(np.float64)
        return kw, drivers

    def _recovery(self, d: _Draws, factor: FloatArray) -> dict[str, Any]:
        """Recovery rates per scenario, tied to the factor (none: the deal's rate)."""
        rm = self.sim.recovery_model
        if rm.volatility == 0:
            return {}
        r0 = self.deal.pool.assumptions.recovery.rate
        c = rm.factor_correlation
        shock = rm.volatility * (math.sqrt(c) * factor + math.sqrt(1 - c) * d.rec)
        with np.errstate(divide="ignore"):
            return {"recovery_rate": special.ndtr(special.ndtri(r0) + shock)}

    def _prepayment_and_rates(self, d: _Draws) -> dict[str, Any]:
        """Index paths and prepayment multipliers (speed scenario, rate sensitivity)."""
        pm = self.sim.prepayment_model
        out: dict[str, Any] = {}
        smm = np.exp(pm.volatility * d.pre - pm.volatility**2 / 2)[:, None]
        if self.rate_names:
            out["index_paths"], dev = self._rates(d.xi)
            if pm.rate_sensitivity > 0:
                smm = smm * np.exp(-pm.rate_sensitivity * dev[:, : self.months])
                out["smm_mult"] = smm
        if pm.volatility > 0:
            out["smm_mult"] = smm
        return out

    def _rates(self, xi: FloatArray) -> tuple[dict[str, FloatArray], FloatArray]:
        """Hull-White index paths (the deal's path plus an exact OU deviation) and the first
        index's deviation (S, M)."""
        rm = self.sim.rate_model
        assert rm is not None
        a, sigma = rm.mean_reversion, rm.volatility
        dt = 1.0 / 12.0
        decay = math.exp(-a * dt)
        sd = sigma * (math.sqrt((1 - math.exp(-2 * a * dt)) / (2 * a)) if a > 0 else math.sqrt(dt))
        n_s, n_r, n_m = xi.shape
        dev = np.empty((n_s, n_r, n_m))
        x = np.zeros((n_s, n_r))
        for m in range(n_m):
            x = x * decay + sd * xi[:, :, m]
            dev[:, :, m] = x
        paths = {}
        for r, name in enumerate(self.rate_names):
            base = self.deal.pool.index_paths[name]
            base = np.concatenate([base, np.full(max(n_m - len(base), 0), base[-1])])[:n_m]
            paths[name] = np.clip(base[None, :] + dev[:, r], -0.1, 1.0)
        return paths, dev[:, 0]

    def _drivers(self, start: int, n_s: int, z_raw: FloatArray) -> dict[str, FloatArray]:
        """The eco-asset drivers, tied to the factor and shifted by the stress."""
        cp = self.deal.pool
        n_years = -(-cp.n_months // 12)
        c = self.sim.revenue_correlation
        out: dict[str, FloatArray] = {}
        for d in self.drivers:
            rows = [
                d.sample(generator(self.sim.seed, start + j, d.name), n_years, cp.n_assets, None)
                for j in range(n_s)
            ]
            eta = np.asarray(rows, dtype=np.float64).reshape(n_s, *np.shape(rows[0]))
            if c == 0 and self.shift == 0:
                out[d.name] = eta
                continue
            sign = 1.0 if d.adverse == "low" else -1.0
            if d.per == "year":
                zf = z_raw[:, np.minimum(np.arange(n_years), z_raw.shape[1] - 1)]
            else:
                zf = z_raw[:, :1] if d.per == "asset" else z_raw[:, 0]
            normal = eta if d.distribution == "normal" else special.ndtri(eta)
            with np.errstate(invalid="ignore"):
                x = sign * (math.sqrt(c) * zf - self.shift) + math.sqrt(1 - c) * normal
            out[d.name] = x if d.distribution == "normal" else special.ndtr(x)
        return out


def _uniform_columns(obligors: list[str | None], n_items: int) -> tuple[IntArray | None, int]:
    """Each item's column of the scenario's uniforms, and the number of columns: the assets
    of one obligor (the same ``obligor`` name) share one uniform, so they default together
    as far as their curves allow (cross-default: one idiosyncratic draw per obligor, each
    loan its own threshold; loans of one obligor in different ``group_by`` groups also load
    their own group factors); other assets, operators and providers have their own.  ``None``
    when no two items share one (the columns are the items)."""
    n_assets = len(obligors)
    cols = np.empty(n_items, dtype=np.int64)
    seen: dict[str, int] = {}
    k = 0
    for i, name in enumerate(obligors):
        if not name:  # no obligor named (or a blank name): the asset alone
            cols[i] = k
            k += 1
        elif name in seen:
            cols[i] = seen[name]
        else:
            seen[name] = cols[i] = k
            k += 1
    cols[n_assets:] = np.arange(k, k + n_items - n_assets)
    n = k + n_items - n_assets
    return (None, n) if n == n_items else (cols, n)


def _subset(items: ItemSet, which: IntArray) -> ItemSet:
    """The items ``which`` alone."""
    k = items.combo[which]
    return ItemSet.build(
        items.curves,
        items.curve[k],
        items.group[k],
        items.rho[k],
        items.rho_g[k],
    )


def check_scenarios(n: Any, where: str = "scenarios") -> int:
    """A number of scenarios from a user: a whole number >= 1."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SpecError("<argument>", Problem(where, f"expected a whole number >= 1, got {n!r}"))
    return int(n)
