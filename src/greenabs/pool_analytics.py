"""Pool analytics: is this pool securitisable, how is it made up, how green is it, what does it do.

:func:`analyse_pool` measures a deal's pool (before any waterfall) and returns a frozen
:class:`PoolAnalytics`:

* ``screening``: the paper's three securitisability conditions as measured tests with
  thresholds (:class:`Thresholds`): a separable, stable **cash flow** (share of expected
  collections that is contracted or guaranteed; coefficient of variation of projected total
  collections over sampled random drivers), enough **scale** (pool balance; effective number
  of obligors ``(sum b)^2 / sum b^2`` with each obligor's assets consolidated) and
  **homogeneity** (balance-weighted dispersion of remaining term, credit quality and rate);
  each row has a result ``pass`` / ``warn`` / ``fail`` and its reason in words;
* ``negative_list``: assets the exchange negative list (AMAC 2014, items 1-4) would flag: a
  local government or a local financing platform as debtor, highly uncertain cash flow
  (collections' coefficient of variation above a bound), mining-right or land-transfer income,
  real-estate rents;
* ``stratification`` and ``concentration``: balance by asset type, region, obligor, industry,
  remaining-term bucket, rate bucket and rating; top obligors, HHI of obligors and industries;
* ``green``: each asset's Catalogue (2021) and ICMA category (:mod:`greenabs.taxonomy`), the
  green share by balance and by expected collections, and a labelling test;
* ``impact``: ICMA Harmonised Framework core indicators over the pool's life, per year and per
  10,000 of securities issued, with the grid emission factor used;
* ``defaults``: the defaults each revenue asset used (fields the deal left out).

Formulas, thresholds and sources: docs/pool.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from greenabs import collateral
from greenabs.assets import FAMILIES, AssetSpecBase
from greenabs.assets.revenue import PHYSICAL, RevenueSpecBase
from greenabs.collateral import CompiledPool
from greenabs.compile import CompiledDeal, compile_deal
from greenabs.errors import Problem, SpecError
from greenabs.rating import SYMBOLS
from greenabs.results import json_safe
from greenabs.scenarios import Scenarios
from greenabs.spec.deal import DealSpec
from greenabs.taxonomy import (
    DEFAULT_BY_TYPE,
    Category,
    EmissionFactor,
    category_for,
    resolve_category,
)
from greenabs.taxonomy import (
    emission_factor as pick_factor,
)

__all__ = [
    "CONTRACTED_TYPES",
    "IMPACT_KEYS",
    "PoolAnalytics",
    "Thresholds",
    "analyse_pool",
]

FloatArray = npt.NDArray[np.float64]

CONTRACTED_TYPES = frozenset({"loan", "lease", "receivable", "projected"})
"""Families whose cash flows are contractual claims on an obligor (as is a revenue asset sold
as a receivable, ``transfer: receivable``); income rights are not."""

IMPACT_KEYS = (
    "mwh",
    "tco2_avoided",
    "m3_wastewater",
    "t_waste",
    "ha_managed",
    "tco2_sequestered",
)
"""ICMA core indicators reported (``ha_managed`` is an area, the others annual flows)."""

_AREA = ("ha_managed",)


# words that point to a debtor of the negative list (AMAC 2014 items 1-4), matched in the
# obligor, payer, operator and industry texts (lower case)
_LOCAL_GOV = (
    "local government",
    "municipal",
    "government",
    "bureau",
    "county",
    "政府",
    "财政",
    "管委会",
    "住建局",
    "水务局",
)
_PLATFORM = ("financing platform", "lgfv", "urban investment", "城投", "城建", "融资平台")
_MINING_LAND = ("mining", "land transfer", "land-transfer", "采矿", "矿权", "土地出让")
_REAL_ESTATE = ("real estate", "property rent", "rental income", "房地产", "租金")


class Thresholds(BaseModel):
    """Bounds of the screening tests (illustrative defaults: no rule sets them; docs/pool.md).

    A measure where more is better passes at ``*_pass`` or above and fails below ``*_fail``;
    one where less is better passes at ``*_pass`` or below and fails above ``*_fail``; in
    between it is a warning.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    contracted_share_pass: float = Field(
        0.5, ge=0, le=1, description="Share of expected collections contracted or guaranteed"
    )
    contracted_share_fail: float = Field(
        0.0, ge=0, le=1, description="Below it the cash-flow test fails (0: never)"
    )
    collections_cv_pass: float = Field(
        0.10, ge=0, description="Coefficient of variation of total collections across draws"
    )
    collections_cv_fail: float = Field(0.25, ge=0)
    pool_balance_pass: float = Field(1e8, ge=0, description="Pool balance (deal currency)")
    pool_balance_fail: float = Field(1e7, ge=0)
    effective_obligors_pass: float = Field(10.0, ge=0, description="(sum b)^2 / sum b^2")
    effective_obligors_fail: float = Field(3.0, ge=0)
    term_cv_pass: float = Field(0.6, ge=0, description="Balance-weighted CV of remaining term")
    term_cv_fail: float = Field(1.2, ge=0)
    pd_cv_pass: float = Field(1.0, ge=0, description="Balance-weighted CV of annual PDs")
    pd_cv_fail: float = Field(2.0, ge=0)
    rating_iqr_pass: float = Field(
        3.0, ge=0, description="Interquartile range of ratings (notches)"
    )
    rating_iqr_fail: float = Field(6.0, ge=0)
    rate_cv_pass: float = Field(0.3, ge=0, description="Balance-weighted CV of rates / yields")
    rate_cv_fail: float = Field(0.6, ge=0)
    uncertain_cv: float = Field(
        0.25, ge=0, description="An asset whose collections' CV is above it is flagged (list 3)"
    )
    green_share_label: float = Field(
        0.7, ge=0, le=1, description="Green share (balance and collections) for a green label"
    )
    green_share_pure: float = Field(
        1.0, ge=0, le=1, description="Green share for a pure-green label"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        more = ("contracted_share", "pool_balance", "effective_obligors")
        less = ("collections_cv", "term_cv", "pd_cv", "rating_iqr", "rate_cv")
        for name in more:
            if getattr(self, f"{name}_fail") > getattr(self, f"{name}_pass"):
                raise ValueError(f"{name}_fail is above {name}_pass")
        for name in less:
            if getattr(self, f"{name}_fail") < getattr(self, f"{name}_pass"):
                raise ValueError(f"{name}_fail is below {name}_pass")
        return self


@dataclass(frozen=True, eq=False)
class PoolAnalytics:
    """What :func:`analyse_pool` measured (see the module docstring); :meth:`to_dict` is the
    JSON form (the ``pool_analytics`` key of ``greenabs run --json``)."""

    name: str
    currency: str
    cutoff: date
    thresholds: Thresholds
    assets: pd.DataFrame
    screening: pd.DataFrame
    criteria: Mapping[str, str]
    negative_list: pd.DataFrame
    stratification: Mapping[str, pd.DataFrame]
    concentration: Mapping[str, Any]
    green: Mapping[str, Any]
    green_assets: pd.DataFrame
    impact: Mapping[str, Any]
    impact_per_year: pd.DataFrame
    collections: pd.DataFrame
    defaults: Mapping[str, Mapping[str, Any]]
    notes_balance: float
    draws: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every table and figure as plain JSON-ready data."""
        out: dict[str, Any] = json_safe(
            {
                "name": self.name,
                "currency": self.currency,
                "cutoff": self.cutoff,
                "thresholds": self.thresholds.model_dump(),
                "criteria": dict(self.criteria),
                "screening": _records(self.screening),
                "negative_list": _records(self.negative_list),
                "stratification": {k: _records(v) for k, v in self.stratification.items()},
                "concentration": dict(self.concentration),
                "green": {**self.green, "assets": _records(self.green_assets)},
                "impact": {**self.impact, "per_year": _records(self.impact_per_year)},
                "defaults": {k: dict(v) for k, v in self.defaults.items()},
                "draws": dict(self.draws),
                "collections": _records(self.collections),
            }
        )
        return out


# ---------------------------------------------------------------------- helpers
def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [json_safe(r) for r in df.to_dict(orient="records")]


def _wcv(x: FloatArray, w: FloatArray) -> float:
    """Balance-weighted coefficient of variation ``sqrt(sum w (x - m)^2 / sum w) / m``."""
    if len(x) == 0 or w.sum() <= 0:
        return math.nan
    m = float(np.average(x, weights=w))
    sd = math.sqrt(float(np.average((x - m) ** 2, weights=w)))
    if m == 0:
        return 0.0 if sd == 0 else math.inf
    return sd / abs(m)


def _grade(value: float, good: float, bad: float, more_is_better: bool) -> str:
    if math.isnan(value):
        return "warn"
    if more_is_better:
        return "pass" if value >= good else ("fail" if value < bad else "warn")
    return "pass" if value <= good else ("fail" if value > bad else "warn")


def _texts(spec: AssetSpecBase) -> str:
    parts = [
        getattr(spec, name, None)
        for name in ("obligor", "payer", "payer_name", "operator", "industry")
    ]
    return " ".join(str(p) for p in parts if isinstance(p, str)).lower()


def _obligor(spec: AssetSpecBase) -> str:
    """Whose credit the asset's cash depends on: the obligor, else the operator of an income
    right, else the asset itself."""
    if spec.obligor:
        return spec.obligor.strip()
    op = getattr(spec, "operator", None)
    if isinstance(spec, RevenueSpecBase) and spec.transfer == "income_right" and op:
        return str(op).strip()
    return f"({spec.id})"


def _pd(spec: AssetSpecBase) -> float:
    """Annual default probability behind the asset's cash (NaN when the asset gives none)."""
    own = getattr(spec, "pd", None)
    if isinstance(own, int | float):
        return float(own)
    if isinstance(spec, RevenueSpecBase):
        op = spec.operator_pd if spec.transfer == "income_right" else 0.0
        return 1.0 - (1.0 - spec.payer_pd) * (1.0 - op)
    return math.nan


def _category(spec: AssetSpecBase) -> tuple[Category | None, str]:
    """The asset's Catalogue item and where it came from (``given`` / ``type default``)."""
    if spec.green_category:
        return resolve_category(spec.green_category), "given"
    code = DEFAULT_BY_TYPE.get(spec.type)
    if code is None:
        return None, "none"
    return category_for(code), "type default"


def _contracted(spec: AssetSpecBase) -> bool:
    if bool(getattr(spec, "guaranteed", False)) or getattr(spec, "guarantor", None):
        return True
    if isinstance(spec, RevenueSpecBase):
        return spec.transfer == "receivable"
    return spec.type in CONTRACTED_TYPES or not hasattr(FAMILIES.get(spec.type), "random")


def _with_drivers(cp: CompiledPool) -> bool:
    return any(getattr(FAMILIES[k], "random", ()) for k in cp.kinds)


def _draw(cp: CompiledPool, n: int, seed: int) -> FloatArray:
    """Total collections (S,) of the pool over sampled random drivers."""
    drivers = collateral.draw_drivers(cp, n, seed)
    flows = collateral.project(cp, Scenarios.build(drivers=drivers, seed=seed))
    out: FloatArray = flows.flows["collections"].sum(axis=1)
    return out


def _cv(total: FloatArray) -> float:
    m = float(total.mean())
    if len(total) < 2:
        return 0.0
    sd = float(total.std(ddof=1))
    return 0.0 if sd == 0 else (sd / abs(m) if m != 0 else math.inf)


# ---------------------------------------------------------------------- the analysis
def _check_args(n_scenarios: Any, seed: Any) -> None:
    if isinstance(n_scenarios, bool) or not isinstance(n_scenarios, int) or n_scenarios < 2:
        why = f"expected a whole number of draws >= 2, got {n_scenarios!r}"
        raise SpecError("<argument>", Problem("n_scenarios", why))
    if n_scenarios > 100_000:
        why = f"at most 100,000 draws, got {n_scenarios}"
        raise SpecError("<argument>", Problem("n_scenarios", why))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(
            "<argument>", Problem("seed", f"expected a whole number >= 0, got {seed!r}")
        )


def _thresholds(value: Thresholds | Mapping[str, Any] | None) -> Thresholds:
    if value is None:
        return Thresholds()
    if isinstance(value, Thresholds):
        return value
    try:
        return Thresholds.model_validate(dict(value))
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            probs = [
                Problem(
                    "thresholds." + ".".join(str(x) for x in e["loc"])
                    if e["loc"]
                    else "thresholds",
                    e["msg"],
                )
                for e in exc.errors()
            ]
        else:
            probs = [Problem("thresholds", str(exc))]
        raise SpecError("<argument>", probs) from None


def _factor(value: EmissionFactor | float | Mapping[str, Any] | None) -> EmissionFactor:
    if value is None:
        return pick_factor(names=("emission_factor.region", "emission_factor.year", "scope"))
    if isinstance(value, EmissionFactor):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not (math.isfinite(value) and 0 <= value <= 5):
            why = f"a factor in tCO2/MWh is between 0 and 5, got {value!r}"
            raise SpecError("<argument>", Problem("emission_factor", why))
        return EmissionFactor(float(value), "user", 0, "user", "given by the user")
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"region", "year", "scope"})
        if unknown:
            why = f"unknown key {unknown[0]!r} (known: region, year, scope)"
            raise SpecError("<argument>", Problem("emission_factor", why))
        year = value.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            why = f"expected a year such as 2022, got {year!r}"
            raise SpecError("<argument>", Problem("emission_factor.year", why))
        return pick_factor(
            value.get("region"),
            year,
            value.get("scope"),
            names=("emission_factor.region", "emission_factor.year", "emission_factor.scope"),
        )
    why = "give an EmissionFactor, a number (tCO2/MWh) or {region, year, scope}"
    raise SpecError("<argument>", Problem("emission_factor", why))


def analyse_pool(
    deal_or_compiled: DealSpec | CompiledDeal,
    *,
    thresholds: Thresholds | Mapping[str, Any] | None = None,
    emission_factor: EmissionFactor | float | Mapping[str, Any] | None = None,
    n_scenarios: int = 200,
    seed: int = 20240601,
) -> PoolAnalytics:
    """Measure a deal's pool (see the module docstring).

    Parameters
    ----------
    deal_or_compiled
        A validated deal or a compiled one.
    thresholds
        A :class:`Thresholds` (or a mapping of its fields); the documented defaults if None.
    emission_factor
        The grid factor that turns MWh into tCO2 avoided: an
        :class:`~greenabs.taxonomy.EmissionFactor`, a number (tCO2/MWh) or a mapping
        ``{region, year, scope}`` looked up in the MEE/NBS table; default the latest national
        average.  An unknown region or year is a :class:`~greenabs.errors.SpecError` naming it.
    n_scenarios, seed
        Draws of the pool's random drivers for the stability test (and the seed they come
        from; the same seed gives the same numbers).
    """
    _check_args(n_scenarios, seed)
    th = _thresholds(thresholds)
    factor = _factor(emission_factor)
    if isinstance(deal_or_compiled, CompiledDeal):
        compiled = deal_or_compiled
    elif isinstance(deal_or_compiled, DealSpec):
        compiled = compile_deal(deal_or_compiled)
    else:
        why = f"expected a DealSpec or a CompiledDeal, got {type(deal_or_compiled).__name__}"
        raise SpecError("<argument>", Problem("deal_or_compiled", why))
    deal, cp = compiled.deal, compiled.pool
    specs = {s.id: s for s in cp.assets}

    # per-asset columns: stratification fields, expected collections, categories
    rows = []
    for block in cp.blocks:
        summ = block.summary()
        for k, aid in enumerate(block.ids):
            rows.append(
                {
                    "id": aid,
                    "balance": float(summ["balance"][k]),
                    "rate": float(summ["rate"][k]),
                    "remaining_term": float(summ["remaining_term"][k]),
                    "age": float(summ["age"][k]),
                }
            )
    assets = pd.DataFrame(rows).set_index("id").loc[[s.id for s in cp.assets]].reset_index()
    expected = collateral.project(cp, None, loan_level=True)
    level = expected.loan_level
    assert level is not None
    coll = dict(zip(expected.ids, level["collections"].sum(axis=1), strict=True))
    cats = {s.id: _category(s) for s in cp.assets}
    assets["type"] = [specs[i].type for i in assets["id"]]
    assets["obligor"] = [_obligor(specs[i]) for i in assets["id"]]
    assets["industry"] = [specs[i].industry or "-" for i in assets["id"]]
    assets["region"] = [specs[i].region or "-" for i in assets["id"]]
    assets["rating"] = [specs[i].rating or "-" for i in assets["id"]]
    assets["pd"] = [_pd(specs[i]) for i in assets["id"]]
    assets["contracted"] = [_contracted(specs[i]) for i in assets["id"]]
    assets["expected_collections"] = [float(coll[i]) for i in assets["id"]]
    assets["category"] = [c.code if c else "-" for c, _ in (cats[i] for i in assets["id"])]
    assets["icma"] = [c.icma if c else "" for c, _ in (cats[i] for i in assets["id"])]
    assets["green"] = [c is not None for c, _ in (cats[i] for i in assets["id"])]

    # draws: pool and per-asset stability
    draws: dict[str, Any] = {"n": 0, "seed": seed}
    if _with_drivers(cp):
        total = _draw(cp, n_scenarios, seed)
        draws.update(
            n=n_scenarios,
            mean=float(total.mean()),
            p5=float(np.percentile(total, 5)),
            p95=float(np.percentile(total, 95)),
        )
        pool_cv = _cv(total)
    else:
        pool_cv = 0.0
    asset_cv = _asset_cvs(cp, n_scenarios, seed)
    assets["collections_cv"] = [asset_cv.get(i, 0.0) for i in assets["id"]]

    screening = _screening(assets, th, pool_cv, _with_drivers(cp), cp.balance)
    criteria = {
        c: _worst(screening.loc[screening["criterion"] == c, "result"])
        for c in ("cash_flow", "scale", "homogeneity")
    }
    notes = float(sum(t.balance for t in deal.structure.tranches))
    strat, conc = _stratification(assets)
    green, green_assets = _green(assets, cats, th)
    impact, per_year = _impact(cp, assets, factor, notes)
    flows = expected.frame()
    keep = ["month", "date", "collections", *collateral.legs(expected)]
    defaults = {s.id: s.defaults_used() for s in cp.assets if isinstance(s, RevenueSpecBase)}
    return PoolAnalytics(
        name=deal.name,
        currency=deal.currency,
        cutoff=deal.dates.cutoff,
        thresholds=th,
        assets=assets,
        screening=screening,
        criteria=criteria,
        negative_list=_negative_list(cp.assets, assets, th),
        stratification=strat,
        concentration=conc,
        green=green,
        green_assets=green_assets,
        impact=impact,
        impact_per_year=per_year,
        collections=flows[[c for c in keep if c in flows.columns]],
        defaults={k: v for k, v in defaults.items() if v},
        notes_balance=notes,
        draws=draws,
    )


MAX_ASSET_DRAWS = 200
"""Assets with random drivers whose own collections' CV is measured (one projection each);
beyond this many, each is given its family's CV."""


def _asset_cvs(cp: CompiledPool, n: int, seed: int) -> dict[str, float]:
    """CV of each asset's total collections over draws, for assets of families with random
    drivers (the others' is 0: their risk is in the deal's default assumptions)."""
    out: dict[str, float] = {}
    random = [s for s in cp.assets if getattr(FAMILIES[s.type], "random", ())]
    if not random:
        return out
    groups: Sequence[Sequence[AssetSpecBase]]
    if len(random) <= MAX_ASSET_DRAWS:
        groups = [[s] for s in random]
    else:
        by_type: dict[str, list[AssetSpecBase]] = {}
        for s in random:
            by_type.setdefault(s.type, []).append(s)
        groups = list(by_type.values())
    for g in groups:
        sub = collateral.compile_pool_for(g, cp.assumptions, cp.cutoff, cp.advancing)
        cv = _cv(_draw(sub, n, seed))
        out.update({s.id: cv for s in g})
    return out


def _worst(results: pd.Series) -> str:
    order = {"pass": 0, "warn": 1, "fail": 2}
    return max(results, key=lambda r: order[r]) if len(results) else "pass"


def _row(
    criterion: str, measure: str, value: float, good: float, bad: float, more: bool, what: str
) -> dict[str, Any]:
    result = _grade(value, good, bad, more)
    sign = ">=" if more else "<="
    if math.isnan(value):
        reason = f"{what}: not measurable"
    elif result == "pass":
        reason = f"{what} {value:,.4g} {sign} {good:,.4g}"
    elif result == "fail":
        worse = "<" if more else ">"
        reason = f"{what} {value:,.4g} {worse} {bad:,.4g}"
    else:
        reason = f"{what} {value:,.4g} between {bad:,.4g} and {good:,.4g}"
    return {
        "criterion": criterion,
        "measure": measure,
        "value": value,
        "threshold": f"pass {sign} {good:g}; fail {'<' if more else '>'} {bad:g}",
        "result": result,
        "reason": reason,
    }


def _screening(
    assets: pd.DataFrame, th: Thresholds, pool_cv: float, drawn: bool, balance: float
) -> pd.DataFrame:
    exp = assets["expected_collections"].to_numpy(dtype=np.float64)
    share = float(exp[assets["contracted"].to_numpy()].sum() / exp.sum()) if exp.sum() else 0.0
    rows = [
        _row(
            "cash_flow",
            "contracted_share",
            share,
            th.contracted_share_pass,
            th.contracted_share_fail,
            True,
            "share of expected collections contracted or guaranteed (loans, leases, "
            "receivables, revenue sold as receivables; income rights are not)",
        ),
        _row(
            "cash_flow",
            "collections_cv",
            pool_cv,
            th.collections_cv_pass,
            th.collections_cv_fail,
            False,
            "coefficient of variation of total collections over sampled drivers"
            if drawn
            else "coefficient of variation of total collections (no random drivers: "
            "loans' defaults follow the deal's assumptions)",
        ),
        _row(
            "scale",
            "pool_balance",
            balance,
            th.pool_balance_pass,
            th.pool_balance_fail,
            True,
            "pool balance",
        ),
    ]
    by_obligor = assets.groupby("obligor")["balance"].sum().to_numpy(dtype=np.float64)
    n_eff = float(by_obligor.sum() ** 2 / (by_obligor**2).sum()) if by_obligor.sum() else 0.0
    rows.append(
        _row(
            "scale",
            "effective_obligors",
            n_eff,
            th.effective_obligors_pass,
            th.effective_obligors_fail,
            True,
            f"effective number of obligors (sum b)^2/sum b^2 over {len(by_obligor)} obligors",
        )
    )
    w = assets["balance"].to_numpy(dtype=np.float64)
    term = assets["remaining_term"].to_numpy(dtype=np.float64)
    rows.append(
        _row(
            "homogeneity",
            "term_cv",
            _wcv(term, w),
            th.term_cv_pass,
            th.term_cv_fail,
            False,
            "balance-weighted CV of remaining term",
        )
    )
    pds = assets["pd"].to_numpy(dtype=np.float64)
    ratings = [SYMBOLS.index(r.upper()) for r in assets["rating"] if r.upper() in SYMBOLS]
    if ratings:
        q1, q3 = np.percentile(ratings, [25, 75])
        rows.append(
            _row(
                "homogeneity",
                "rating_iqr",
                float(q3 - q1),
                th.rating_iqr_pass,
                th.rating_iqr_fail,
                False,
                f"interquartile range of ratings in notches ({len(ratings)} rated assets)",
            )
        )
    has_pd = ~np.isnan(pds)
    if has_pd.any() or not ratings:
        value = _wcv(pds[has_pd], w[has_pd]) if has_pd.any() else math.nan
        what = (
            f"balance-weighted CV of annual default probabilities ({int(has_pd.sum())} of "
            f"{len(pds)} assets give one)"
            if has_pd.any()
            else "credit quality (no asset gives a default probability or a rating)"
        )
        rows.append(_row("homogeneity", "pd_cv", value, th.pd_cv_pass, th.pd_cv_fail, False, what))
    rows.append(
        _row(
            "homogeneity",
            "rate_cv",
            _wcv(assets["rate"].to_numpy(dtype=np.float64), w),
            th.rate_cv_pass,
            th.rate_cv_fail,
            False,
            "balance-weighted CV of rates (discount rates of revenue assets)",
        )
    )
    return pd.DataFrame(rows)


def _negative_list(
    specs: Sequence[AssetSpecBase], assets: pd.DataFrame, th: Thresholds
) -> pd.DataFrame:
    hits: dict[tuple[int, str], list[str]] = {}

    def flag(item: int, rule: str, aid: str) -> None:
        hits.setdefault((item, rule), []).append(aid)

    cv = dict(zip(assets["id"], assets["collections_cv"], strict=True))
    for s in specs:
        text = _texts(s)
        own = getattr(s, "local_government", None)
        payer_type = str(getattr(s, "payer_type", "") or "").lower()
        ppp = "ppp" in text or bool(getattr(s, "ppp", False))
        if (
            own is True
            or "government" in payer_type
            or "municipal" in payer_type
            or (any(w in text for w in _LOCAL_GOV))
        ) and not ppp:
            flag(1, "local government as direct or indirect debtor", s.id)
        if any(w in text for w in _PLATFORM):
            flag(2, "local financing platform as debtor", s.id)
        if cv.get(s.id, 0.0) > th.uncertain_cv:
            flag(3, f"highly uncertain cash flow (collections' CV above {th.uncertain_cv:g})", s.id)
        if any(w in text for w in _MINING_LAND):
            flag(3, "mining-right or land-transfer income", s.id)
        if any(w in text for w in _REAL_ESTATE):
            flag(4, "real-estate rents or property", s.id)
    rows = []
    for (item, rule), ids in sorted(hits.items()):
        why = {
            1: "obligor, payer, operator or industry names a local government body (or the "
            "asset's local_government / payer_type says so); PPP fiscal subsidies excepted",
            2: "obligor or payer text names a local financing platform (城投, LGFV)",
            3: "cash flow whose size is highly uncertain",
            4: "rents that vacancy makes unstable",
        }[item]
        rows.append(
            {
                "item": item,
                "rule": rule,
                "n_assets": len(ids),
                "asset_ids": ids,
                "reason": f"AMAC negative list (2014) item {item}: {why}",
            }
        )
    cols = ["item", "rule", "n_assets", "asset_ids", "reason"]
    return pd.DataFrame(rows, columns=cols)


_TERM_EDGES = (0, 12, 24, 36, 60, 120, 240, np.inf)
_RATE_EDGES = (-np.inf, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, np.inf)


def _bucket_labels(edges: Sequence[float], fmt: str) -> list[str]:
    out = []
    for lo, hi in itertools.pairwise(edges):
        if lo == -np.inf:
            out.append(f"< {fmt.format(hi)}")
        elif hi == np.inf:
            out.append(f">= {fmt.format(lo)}")
        else:
            out.append(f"{fmt.format(lo)} - {fmt.format(hi)}")
    return out


def _strat(assets: pd.DataFrame, by: str, order: Sequence[str] | None = None) -> pd.DataFrame:
    total = float(assets["balance"].sum()) or 1.0
    g = assets.groupby(by, sort=False, observed=True)
    df = pd.DataFrame(
        {
            "n": g.size(),
            "balance": g["balance"].sum(),
            "share": g["balance"].sum() / total,
            "wa_rate": _wavg(assets, by, "rate"),
            "wa_remaining_term": _wavg(assets, by, "remaining_term"),
        }
    ).reset_index()
    df = df.rename(columns={by: "group"})
    df["group"] = df["group"].astype(str)
    if order is not None:
        df = df.set_index("group").reindex([o for o in order if o in set(df["group"])])
        return df.reset_index()
    return df.sort_values("balance", ascending=False, kind="stable").reset_index(drop=True)


def _wavg(assets: pd.DataFrame, by: str, col: str) -> pd.Series:
    """Balance-weighted average of ``col`` per group of ``by`` (NaN for a group without
    balance, or with a missing value, as ``np.average`` gives)."""
    w = assets["balance"].astype(np.float64)
    x = assets[col].astype(np.float64)
    keys = assets[by]
    num = (w * x.fillna(0.0)).groupby(keys, sort=False, observed=True).sum()
    den = w.groupby(keys, sort=False, observed=True).sum()
    missing = x.isna().groupby(keys, sort=False, observed=True).any()
    return (num / den).where((den > 0) & ~missing)


def _stratification(assets: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    a = assets.copy()
    term_labels = _bucket_labels(_TERM_EDGES, "{:g}m")
    rate_labels = _bucket_labels(_RATE_EDGES, "{:.0%}")
    a["term_bucket"] = pd.cut(
        a["remaining_term"], list(_TERM_EDGES), labels=term_labels, right=True, include_lowest=True
    ).astype(str)
    a["rate_bucket"] = pd.cut(a["rate"], list(_RATE_EDGES), labels=rate_labels, right=False).astype(
        str
    )
    out = {
        "type": _strat(a, "type"),
        "region": _strat(a, "region"),
        "industry": _strat(a, "industry"),
        "obligor": _strat(a, "obligor"),
        "remaining_term": _strat(a, "term_bucket", term_labels),
        "rate": _strat(a, "rate_bucket", rate_labels),
        "category": _strat(a, "category"),
    }
    if (a["rating"] != "-").any():
        out["rating"] = _strat(a, "rating", [*SYMBOLS, "-"])
    ob = out["obligor"]["share"].to_numpy(dtype=np.float64)
    ind = out["industry"]["share"].to_numpy(dtype=np.float64)
    reg = out["region"]["share"].to_numpy(dtype=np.float64)
    conc = {
        "n_assets": len(a),
        "n_obligors": len(ob),
        "top1_obligor_share": float(ob[:1].sum()),
        "top5_obligor_share": float(ob[:5].sum()),
        "top10_obligor_share": float(ob[:10].sum()),
        "hhi_obligor": float((ob**2).sum()),
        "hhi_industry": float((ind**2).sum()),
        "hhi_region": float((reg**2).sum()),
        "effective_obligors": float(1.0 / (ob**2).sum()) if (ob**2).sum() > 0 else 0.0,
        "top_obligors": [
            {"obligor": r["group"], "balance": r["balance"], "share": r["share"]}
            for _, r in out["obligor"].head(10).iterrows()
        ],
    }
    return out, conc


def _green(
    assets: pd.DataFrame, cats: Mapping[str, tuple[Category | None, str]], th: Thresholds
) -> tuple[dict[str, Any], pd.DataFrame]:
    found = [cats[i] for i in assets["id"]]
    df = pd.DataFrame(
        {
            "id": assets["id"].to_numpy(),
            "type": assets["type"].to_numpy(),
            "label": ["-" if c is None else f"{c.code} {c.name_en}" for c, _ in found],
            "category": ["-" if c is None else c.code for c, _ in found],
            "name_en": ["" if c is None else c.name_en for c, _ in found],
            "name_zh": ["" if c is None else c.name_zh for c, _ in found],
            "icma": ["" if c is None else c.icma for c, _ in found],
            "icma_name": ["" if c is None else c.icma_name for c, _ in found],
            "source": [source for _, source in found],
            "balance": assets["balance"].to_numpy(),
            "expected_collections": assets["expected_collections"].to_numpy(),
            "green": [c is not None for c, _ in found],
        }
    )
    bal = df["balance"].to_numpy(dtype=np.float64)
    exp = df["expected_collections"].to_numpy(dtype=np.float64)
    g = df["green"].to_numpy(dtype=np.bool_)
    by_bal = float(bal[g].sum() / bal.sum()) if bal.sum() > 0 else 0.0
    by_coll = float(exp[g].sum() / exp.sum()) if exp.sum() > 0 else 0.0
    low = min(by_bal, by_coll)
    if low >= th.green_share_pure:
        label, result = "pure green", "pass"
    elif low >= th.green_share_label:
        label, result = "green", "pass"
    else:
        label, result = "not green", "fail"
    reason = (
        f"green share {by_bal:.1%} of balance and {by_coll:.1%} of expected collections; a "
        f"green label needs {th.green_share_label:.0%} of both, a pure-green one "
        f"{th.green_share_pure:.0%}"
    )
    if result == "fail":
        missing = df.loc[~g, "id"].tolist()
        reason += f"; {len(missing)} assets have no Catalogue category: {', '.join(missing[:10])}"
        if len(missing) > 10:
            reason += ", ..."
    icma = (
        df[g].groupby("icma")["balance"].sum().sort_values(ascending=False) / bal.sum()
        if bal.sum() > 0
        else pd.Series(dtype=float)
    )
    level1 = df[g].assign(l1=df.loc[g, "category"].str.split(".").str[0])
    by_l1 = level1.groupby("l1")["balance"].sum() / (bal.sum() or 1.0)
    out = {
        "share_by_balance": by_bal,
        "share_by_collections": by_coll,
        "label": label,
        "result": result,
        "reason": reason,
        "by_icma": {str(k) or "none": float(v) for k, v in icma.items()},
        "by_catalogue_level1": {
            f"{k} {category_for(str(k)).name_en}": float(v) for k, v in by_l1.items()
        },
    }
    return out, df


def _impact(
    cp: CompiledPool, assets: pd.DataFrame, factor: EmissionFactor, notes: float
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Physical quantities by month of activity (month ``j`` from the cut-off is in year
    ``j // 12``): revenue blocks' expected quantities, and the annual ``impact_*`` fields of
    other assets spread evenly over their remaining term."""
    names = (*[k for k in IMPACT_KEYS if k != "tco2_avoided"], "tco2_given")
    extra = [p for p in PHYSICAL if p not in IMPACT_KEYS]
    n_months = max(cp.n_months, 1)
    monthly = {k: np.zeros(n_months) for k in (*names, *extra)}
    per_asset: dict[str, dict[str, float]] = {}
    term = dict(zip(assets["id"], assets["remaining_term"], strict=True))
    reported: dict[str, set[str]] = {}
    for block in cp.blocks:
        phys = getattr(block, "physical", None)
        if phys is None:
            continue
        for name, q in phys().items():
            q = np.asarray(q, dtype=np.float64)
            if name not in monthly:
                monthly[name] = np.zeros(n_months)
            g = min(q.shape[0], n_months)
            monthly[name][:g] += q[:g].sum(axis=1)
            for j, aid in enumerate(block.ids):
                reported.setdefault(aid, set()).add(name)
                total = float(q[:, j].max() if name in _AREA else q[:, j].sum())
                per_asset.setdefault(aid, {})[name] = total
    for s in cp.assets:
        months = int(min(max(term.get(s.id, 0.0), 0.0), n_months))
        for name in (*IMPACT_KEYS,):
            annual = getattr(s, f"impact_{name}", None)
            if annual is None or name in reported.get(s.id, set()) or months == 0:
                continue
            key = "tco2_given" if name == "tco2_avoided" else name
            per_month = annual if name in _AREA else annual / 12.0
            monthly[key][:months] += per_month
            per_asset.setdefault(s.id, {})[name] = (
                annual if name in _AREA else annual * months / 12.0
            )
    monthly["tco2_avoided"] = monthly["mwh"] * factor.value + monthly.pop("tco2_given")
    for d in per_asset.values():
        d["tco2_avoided"] = d.get("mwh", 0.0) * factor.value + d.get("tco2_avoided", 0.0)
    n_years = -(-n_months // 12)
    year = np.arange(n_months) // 12
    rows = []
    keys = [*IMPACT_KEYS, *[p for p in extra if monthly[p].any()]]
    for y in range(n_years):
        sel = year == y
        row: dict[str, Any] = {"year": y + 1, "months": int(sel.sum())}
        for k in keys:
            v = monthly[k][sel]
            row[k] = float(v.mean()) if k in _AREA else float(v.sum())
        rows.append(row)
    per_year = pd.DataFrame(rows, columns=["year", "months", *keys])
    per_year = per_year.loc[(per_year[keys] != 0).any(axis=1) | (per_year["year"] == 1)]
    totals = {
        k: (float(per_year[k].max()) if k in _AREA else float(monthly[k].sum()))
        if len(per_year)
        else 0.0
        for k in keys
    }
    per_10k = {k: (v / notes * 10_000.0 if notes > 0 else math.nan) for k, v in totals.items()}
    out = {
        "totals": totals,
        "per_10k_issued": per_10k,
        "notes_balance": notes,
        "emission_factor": factor.to_dict(),
        "by_asset": per_asset,
        "note": "flows are summed over the pool's life from the cut-off; ha_managed is an "
        "area: per_year is the average area managed in the year, the total the largest "
        "year's",
    }
    return out, per_year.reset_index(drop=True)
