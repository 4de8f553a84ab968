"""Monte Carlo credit engine against closed forms.

Every test builds a pool whose loss distribution is known in closed form (the Vasicek
large-pool law, the binomial law of independent defaults, the bivariate normal joint default
probability, the probit-normal mean...) and checks the simulated numbers within a stated
Monte Carlo error.  Seeds are fixed, so each test is deterministic; the tolerances are the
ones a correct engine meets for *any* seed with overwhelming probability (4 standard errors
unless stated), so a change of random streams does not break them but a wrong model does.

Notation: ``p`` the default probability over the horizon, ``c = Phi^-1(p)``, ``rho`` the
asset correlation, ``Z`` the systematic factor, ``N`` the loans, ``S`` the scenarios.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import greenabs
from greenabs.compile import compile_deal
from greenabs.errors import SpecError
from greenabs.montecarlo import ScenarioModel, monte_carlo, settings
from greenabs.montecarlo.sizing import size_tranches
from greenabs.rating import load_rating_table
from tests.conftest import make_deal

BACKEND = "numba" if importlib.util.find_spec("numba") is not None else "numpy"
"""The larger runs use the compiled kernels where Numba is installed (same numbers)."""
POOL = 100e6
Z4 = 4.0
"""Standard errors allowed for a Monte Carlo mean: a correct engine fails with p ~ 6e-5."""


# ------------------------------------------------------------------------------- deals
def bullet_deal(
    n: int,
    cdr: float,
    *,
    term: int = 12,
    recovery: float = 0.0,
    tranches: tuple[tuple[str, float], ...] = (("A", 0.90), ("B", 0.05), ("C", 0.05)),
    industries: tuple[str, ...] | None = None,
) -> greenabs.DealSpec:
    """``n`` identical zero-coupon bullet loans of ``term`` months (100m in all), no
    prepayment, no fees, zero-coupon notes paid sequentially.

    The deal's default assumption ``cdr`` gives each loan PD(t) = 1 - (1 - MDR)^t with
    MDR = 1 - (1 - cdr)^(1/12), so PD over 12 months is ``cdr`` itself.  No interest is earned
    or owed, so there is no excess spread: at maturity the survivors' principal is paid senior
    first and what is missing is written down from the bottom class up (a class's loss is
    min(max(L - K1, 0), K2 - K1) of the pool for attachment K1, detachment K2).
    """
    assets: list[dict[str, Any]] = [
        {
            "id": f"L{i:05d}",
            "type": "loan",
            "balance": POOL / n,
            "rate": 0.0,
            "original_term": term,
            "amortization": "bullet",
        }
        for i in range(n)
    ]
    if industries is not None:
        for i, a in enumerate(assets):
            a["industry"] = industries[i * len(industries) // n]
    names = [t[0] for t in tranches]
    return greenabs.parse_deal(
        {
            "name": "Closed-form pool",
            "currency": "CNY",
            "dates": {
                "cutoff": "2026-03-31",
                "closing": "2026-04-15",
                "first_payment": "2026-05-26",
                "frequency": "monthly",
                "day_count": "ACT/365F",
            },
            "pool": {"assets": assets},
            "assumptions": {
                "prepayment": {"cpr": 0.0},
                "default": {"cdr": cdr},
                "recovery": {"rate": recovery, "lag_months": 0},
            },
            "structure": {
                "fees": [],
                "tranches": [
                    {"name": name, "balance": POOL * share, "coupon": {"fixed": 0.0}}
                    for name, share in tranches
                ],
                "waterfall": [
                    *({"pay_interest": name} for name in names),
                    {"pay_principal": {"tranches": names, "mode": "sequential"}},
                ],
            },
        }
    )


def rich_deal() -> greenabs.DealSpec:
    """30 amortising loans with coupons, prepayments, recoveries after a lag, two industries
    and a fee: every path of the generator and the waterfall has something to do."""
    kinds = ("level", "linear", "interest_only", "bullet")
    assets = [
        {
            "id": f"R{i:02d}",
            "type": "loan",
            "balance": 2e6 + 1e5 * i,
            "rate": 0.04 + 0.001 * i,
            "original_term": 24 + 6 * (i % 5),
            "age": i % 4,
            "amortization": kinds[i % 4],
            "industry": "wind" if i % 2 else "solar",
        }
        for i in range(30)
    ]
    total = sum(a["balance"] for a in assets)
    structure = {
        "fees": [{"name": "trustee", "rate": 0.0002, "base": "pool_balance"}],
        "tranches": [
            {"name": "A", "balance": 0.8 * total, "coupon": {"fixed": 0.03}},
            {"name": "B", "balance": 0.12 * total, "coupon": {"fixed": 0.045}},
            {"name": "Sub", "balance": 0.08 * total, "residual": True},
        ],
        "waterfall": [
            {"pay_fees": ["trustee"]},
            {"pay_interest": "A"},
            {"pay_interest": "B"},
            {"pay_principal": {"tranches": ["A", "B"], "mode": "sequential"}},
            {"pay_residual": "Sub"},
        ],
    }
    return make_deal(
        pool={"assets": assets},
        assumptions={
            "prepayment": {"cpr": 0.08},
            "default": {"cdr": 0.04},
            "recovery": {"rate": 0.45, "lag_months": 6},
        },
        structure=structure,
    )


RICH_MODEL: dict[str, Any] = {
    "default_model": {
        "copula": "t",
        "degrees_of_freedom": 6.0,
        "asset_correlation": 0.15,
        "group_by": "industry",
        "group_correlation": 0.35,
        "periods": "annual",
    },
    "recovery_model": {"volatility": 0.6, "factor_correlation": 0.5},
    "prepayment_model": {"volatility": 0.4},
}


# --------------------------------------------------------------------- closed forms
def vasicek_cdf(x: Any, p: float, rho: float) -> Any:
    """Vasicek (1987, 2002) large-pool law of the default rate L:
    P(L <= x) = Phi((sqrt(1 - rho) Phi^-1(x) - Phi^-1(p)) / sqrt(rho))."""
    x = np.clip(np.asarray(x, dtype=np.float64), 1e-300, 1.0 - 1e-16)
    return special.ndtr((math.sqrt(1 - rho) * special.ndtri(x) - special.ndtri(p)) / math.sqrt(rho))


def vasicek_quantile(a: float, p: float, rho: float) -> float:
    """Inverse of :func:`vasicek_cdf`: Phi((Phi^-1(p) + sqrt(rho) Phi^-1(a)) / sqrt(1 - rho))."""
    c = special.ndtri(p)
    return float(special.ndtr((c + math.sqrt(rho) * special.ndtri(a)) / math.sqrt(1 - rho)))


def vasicek_pdf(x: float, p: float, rho: float) -> float:
    """Density of :func:`vasicek_cdf` (Vasicek 2002, eq. 3)."""
    c, y = special.ndtri(p), special.ndtri(x)
    return float(
        math.sqrt((1 - rho) / rho)
        * math.exp(0.5 * y * y - (math.sqrt(1 - rho) * y - c) ** 2 / (2 * rho))
    )


def conditional_pd(z: Any, p: float, rho: float) -> Any:
    """PD given the factor: p(Z) = Phi((Phi^-1(p) - sqrt(rho) Z) / sqrt(1 - rho))."""
    return special.ndtr((special.ndtri(p) - math.sqrt(rho) * np.asarray(z)) / math.sqrt(1 - rho))


def finite_pool_cdf(k: Any, n: int, p: float, rho: float) -> Any:
    """Exact law of the number of defaults D among ``n`` loans under the one-factor Gaussian
    copula: P(D <= k) = E_Z[Binom(n, p(Z)) cdf at k] (Gauss-Hermite quadrature, 200 nodes).
    Its distance from the Vasicek law is the granularity error (Gordy 2003, "A risk-factor
    model foundation for ratings-based bank capital rules", J. Financial Intermediation 12)."""
    nodes, weights = special.roots_hermitenorm(200)
    weights = weights / weights.sum()
    pz = conditional_pd(nodes, p, rho)
    k = np.atleast_1d(k)
    return (stats.binom.cdf(k[:, None], n, pz[None, :]) * weights[None, :]).sum(axis=1)


def ks_distance(sample: np.ndarray, cdf: Any) -> float:
    """Kolmogorov-Smirnov distance sup |F_S - F| of a sample's empirical law from ``cdf``."""
    x = np.sort(sample)
    f = cdf(x)
    n = x.size
    return float(max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max()))


def bivariate_default(p: float, rho: float) -> float:
    """Joint default probability of two obligors with latent correlation ``rho``:
    Phi_2(Phi^-1(p), Phi^-1(p); rho) (e.g. Gordy 2000, "A comparative anatomy of credit risk
    models", J. Banking & Finance 24, section 2)."""
    c = special.ndtri(p)
    mvn = stats.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]])
    return float(mvn.cdf([c, c]))


def annual_pd(cdr: float, months: int) -> float:
    """The deal's curve: PD(T) = 1 - (1 - MDR)^T, MDR = 1 - (1 - CDR)^(1/12)."""
    mdr = 1 - (1 - cdr) ** (1 / 12)
    return 1 - (1 - mdr) ** months


def run_mc(deal: Any, backend: str = BACKEND, keep_flows: bool = False, **overrides: Any) -> Any:
    return monte_carlo(deal, settings(deal, **overrides), backend=backend, keep_flows=keep_flows)


# ============================================================== 1. Vasicek large pool
N_V, S_V, P_V, RHO_V = 2000, 4000, 0.05, 0.20
K1, K2 = 0.05, 0.10


@pytest.fixture(scope="module")
def vasicek_run() -> Any:
    deal = bullet_deal(N_V, P_V, tranches=(("A", 1 - K2), ("B", K2 - K1), ("C", K1)))
    return run_mc(deal, scenarios=S_V, seed=20021, default_model={"asset_correlation": RHO_V})


def test_vasicek_mean_and_quantiles(vasicek_run: Any) -> None:
    """Default rate of 2,000 identical one-year loans, PD 5%, rho 0.2, against Vasicek (2002,
    "Loan portfolio value", Risk 15(12)): P(L <= x) = Phi((sqrt(1-rho) Phi^-1(x) - Phi^-1(p)) /
    sqrt(rho)).

    * Mean: E[L] = p exactly for any N (granularity does not move the mean); tolerance
      4 standard errors of the sample mean.
    * Quantiles at 50/90/99%: the sample quantile's standard error is
      sqrt(a (1 - a) / S) / f(q_a) (Serfling 1980, "Approximation theorems of mathematical
      statistics", 2.3.3) with f the Vasicek density; the finite pool moves the quantile by
      the granularity error, measured exactly from the mixed binomial law
      (:func:`finite_pool_cdf`), plus one loan (1/N) of discreteness.  Tolerance:
      4 se + |q_N - q_Vasicek| + 1/N.
    """
    x = vasicek_run.pool["default_rate"].to_numpy()
    assert x.size == S_V
    assert np.all((x >= 0) & (x <= 1))
    # each loan is 1/N of the pool: the rate is a whole number of loans
    np.testing.assert_allclose(x * N_V, np.round(x * N_V), atol=1e-6)
    se_mean = x.std(ddof=1) / math.sqrt(S_V)
    assert abs(x.mean() - P_V) <= Z4 * se_mean, (x.mean(), se_mean)
    grid = np.arange(N_V + 1)
    exact = finite_pool_cdf(grid, N_V, P_V, RHO_V)
    for a in (0.5, 0.9, 0.99):
        qv = vasicek_quantile(a, P_V, RHO_V)
        qn = grid[np.searchsorted(exact, a)] / N_V  # the finite pool's exact quantile
        se = math.sqrt(a * (1 - a) / S_V) / vasicek_pdf(qv, P_V, RHO_V)
        tol = Z4 * se + abs(qn - qv) + 1 / N_V
        q_mc = float(np.quantile(x, a))
        assert abs(q_mc - qv) <= tol, (a, q_mc, qv, qn, tol)


def test_vasicek_kolmogorov_smirnov(vasicek_run: Any) -> None:
    """KS distance of the simulated default rates from the Vasicek law at most the 1% critical
    value of the Kolmogorov distribution, 1.63 / sqrt(S) (Massey 1951, JASA 46, table 1), plus
    the granularity distance sup |F_N - F_Vasicek| of the exact 2,000-loan law (a step
    function with steps of one loan).  The test has power: the same sample is beyond the
    bound from the Vasicek law at rho = 0.15 or 0.25."""
    x = vasicek_run.pool["default_rate"].to_numpy()
    grid = np.arange(N_V + 1)
    f_n = finite_pool_cdf(grid, N_V, P_V, RHO_V)
    f_v_at = vasicek_cdf(grid / N_V, P_V, RHO_V)
    f_v_next = vasicek_cdf(np.minimum(grid + 1, N_V) / N_V, P_V, RHO_V)
    # F_N is constant on [k/N, (k+1)/N): its sup distance is at one end of each step
    gran = float(max(np.abs(f_n - f_v_at).max(), np.abs(f_n - f_v_next).max()))
    bound = 1.63 / math.sqrt(S_V) + gran
    d = ks_distance(x, lambda v: vasicek_cdf(v, P_V, RHO_V))
    assert d <= bound, (d, bound, gran)
    for wrong in (0.15, 0.25):
        assert ks_distance(x, lambda v, r=wrong: vasicek_cdf(v, P_V, r)) > bound


def test_vasicek_tranche_expected_loss(vasicek_run: Any) -> None:
    """Mezzanine class B attaching at K1 = 5% and detaching at K2 = 10% of the pool.

    With no recovery, no interest and sequential principal, B's loss in each scenario is
    min(max(L - K1, 0), K2 - K1) / (K2 - K1) exactly (checked per scenario), so its expected
    loss is that of a tranche on the Vasicek law: integral of the payoff times the Vasicek
    density (scipy quad; e.g. Hull & White 2004, "Valuation of a CDO and an n-th to default
    CDS without Monte Carlo simulation", J. Derivatives 12(2), for the large-pool tranche).
    Tolerance: 4 standard errors of the mean tranche loss plus the granularity effect,
    |EL(exact 2,000-loan law) - EL(Vasicek)|."""
    pool = vasicek_run.pool.set_index("scenario")["default_rate"]
    b = vasicek_run.tranches[vasicek_run.tranches["name"] == "B"].set_index("scenario")
    loss_b = (b["principal_loss"] + b["interest_shortfall"]) / b["original_balance"]
    payoff = np.clip(pool - K1, 0.0, K2 - K1) / (K2 - K1)
    np.testing.assert_allclose(loss_b.to_numpy(), payoff.loc[b.index].to_numpy(), atol=1e-9)

    def tranche(x: float) -> float:
        return min(max(x - K1, 0.0), K2 - K1) / (K2 - K1)

    el_v = integrate.quad(
        lambda x: tranche(x) * vasicek_pdf(x, P_V, RHO_V),
        1e-12,
        1 - 1e-12,
        points=[K1, K2],
        limit=200,
    )[0]
    k = np.arange(N_V + 1)
    pmf = np.diff(finite_pool_cdf(k, N_V, P_V, RHO_V), prepend=0.0)
    el_n = float(pmf @ np.array([tranche(v) for v in k / N_V]))
    rated = {r["name"]: r for r in vasicek_run.rating()}
    el_mc = rated["B"]["expected_loss"]
    assert el_mc == pytest.approx(float(loss_b.mean()), rel=1e-12)
    se = float(loss_b.std(ddof=1)) / math.sqrt(S_V)
    assert abs(el_mc - el_v) <= Z4 * se + abs(el_n - el_v), (el_mc, el_v, el_n, se)
    # the senior class: attaches at K2, loses (L - K2) / (1 - K2)
    el_a = integrate.quad(
        lambda x: max(x - K2, 0.0) / (1 - K2) * vasicek_pdf(x, P_V, RHO_V),
        K2,
        1 - 1e-12,
        limit=200,
    )[0]
    a = vasicek_run.tranches[vasicek_run.tranches["name"] == "A"]
    loss_a = (a["principal_loss"] / a["original_balance"]).to_numpy()
    se_a = loss_a.std(ddof=1) / math.sqrt(S_V)
    assert abs(rated["A"]["expected_loss"] - el_a) <= Z4 * se_a + 2e-4


# =============================================================== 2. binomial, rho = 0
def test_independent_defaults_are_binomial() -> None:
    """Zero correlation: defaults among N = 50 identical loans are independent Bernoulli(p),
    so their count is Binomial(50, p).  Pearson chi-square goodness of fit on 20,000
    scenarios (cells pooled to expected counts >= 5), p-value above 0.001; mean and variance
    within 4 standard errors of N p and N p (1 - p).  A correlation leaking in (rho = 0.05)
    inflates the variance by a factor ~2 and fails every one of these."""
    n, s, p = 50, 20_000, 0.10
    deal = bullet_deal(n, p, tranches=(("A", 1.0),))
    mc = run_mc(deal, scenarios=s, seed=50, default_model={"asset_correlation": 0.0})
    count = np.round(mc.pool["default_rate"].to_numpy() * n).astype(int)
    observed = np.bincount(count, minlength=n + 1)
    expected = stats.binom.pmf(np.arange(n + 1), n, p) * s
    # pool the tails into cells with expected count >= 5
    lo = int(np.argmax(expected >= 5))
    hi = int(n - np.argmax(expected[::-1] >= 5))
    obs = np.concatenate([[observed[: lo + 1].sum()], observed[lo + 1 : hi], [observed[hi:].sum()]])
    exp = np.concatenate([[expected[: lo + 1].sum()], expected[lo + 1 : hi], [expected[hi:].sum()]])
    chi2 = stats.chisquare(obs, exp * obs.sum() / exp.sum())
    assert chi2.pvalue > 1e-3, chi2
    var = n * p * (1 - p)
    assert abs(count.mean() - n * p) <= Z4 * math.sqrt(var / s)
    # variance of the sample variance: (mu4 - var^2) / S, mu4 of the binomial
    mu4 = var * (1 + 3 * (n - 2) * p * (1 - p))
    assert abs(count.var(ddof=1) - var) <= Z4 * math.sqrt((mu4 - var**2) / s)


# ===================================================================== 3. no randomness
TRANCHE_COLUMNS = ["principal_loss", "interest_shortfall", "legal_final_shortfall", "wal", "yield"]


def _same_as_deterministic(deal: greenabs.DealSpec, mc: Any) -> None:
    """Every scenario's tranche metrics and pool flows equal the deterministic run's."""
    det = greenabs.run(deal)
    m = det.scenario_metrics()
    for s, rows in mc.tranches.groupby("scenario"):
        rows = rows.reset_index(drop=True)
        assert list(rows["name"]) == list(m["name"]), s
        for col in TRANCHE_COLUMNS:
            np.testing.assert_allclose(
                rows[col].to_numpy(float), m[col].to_numpy(float), rtol=1e-12, atol=0.0
            )
    flows = mc.blocks[0][0].flows
    for key, value in det.pool.flows.items():
        np.testing.assert_array_equal(flows[key], np.broadcast_to(value, flows[key].shape), key)


def test_no_default_no_random_model_equals_deterministic_run() -> None:
    """CDR 0 and every random model off (fixed recovery, prepayment, no rates): each scenario
    is the deterministic projection (``greenabs.run``), whatever the factor draws: no loss,
    all principal paid, the same WAL and yield (to rounding), the same pool flows."""
    deal = make_deal(
        assumptions={
            "prepayment": {"cpr": 0.05},
            "default": {"cdr": 0.0},
            "recovery": {"rate": 0.4, "lag_months": 12},
        }
    )
    mc = run_mc(deal, backend="numpy", keep_flows=True, scenarios=6, seed=3)
    _same_as_deterministic(deal, mc)
    assert (mc.tranches["principal_loss"] == 0).all()
    assert (mc.pool["default_rate"] == 0).all()
    det = greenabs.run(deal).tranches().set_index("name")
    for row in mc.rating():
        assert row["wal_mean"] == pytest.approx(det.loc[row["name"], "wal"], rel=1e-12)
        assert row["expected_loss"] == 0.0
        assert row["default_probability"] == 0.0


def test_no_default_drivers_off_equals_deterministic_run() -> None:
    """A solar plant with CDR 0: with ``drivers=False`` (no resource, curtailment or operator
    draws) every scenario is the deterministic run; with the drivers on the pool flows move
    (the check can fail)."""
    plant = {
        "id": "S1",
        "type": "solar_plant",
        "capacity_mw": 10.0,
        "cod": "2020-01-31",
        "term_months": 24,
        "p50_hours": 1200.0,
        "seasonality": [1.0] * 12,
        "degradation": 0.01,
        "curtailment": 0.05,
        "availability": 1.0,
        "tariff": 0.30,
        "subsidy": 0.20,
        "subsidy_lag_months": 6,
        "subsidy_hours_cap": 1e6,
        "discount_rate": 0.06,
    }
    deal = greenabs.parse_deal(
        {
            "name": "Plant",
            "dates": {
                "cutoff": "2026-01-31",
                "closing": "2026-02-01",
                "first_payment": "2026-02-28",
            },
            "pool": {"assets": [plant]},
            "assumptions": {"default": {"cdr": 0.0}},
            "structure": {
                "tranches": [
                    {"name": "A", "balance": 1e6, "coupon": {"fixed": 0.03}},
                    {"name": "E", "balance": 1000.0, "residual": True},
                ],
                "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}, {"pay_residual": "E"}],
            },
        }
    )
    off = run_mc(deal, backend="numpy", keep_flows=True, scenarios=4, seed=3, drivers=False)
    _same_as_deterministic(deal, off)
    on = run_mc(deal, backend="numpy", keep_flows=True, scenarios=4, seed=3, drivers=True)
    det = greenabs.run(deal).pool.flows["collections"]
    assert not np.allclose(on.blocks[0][0].flows["collections"], det)


# ===================================================================== 4. reproducibility
NUMERIC = {
    "tranches": [
        "original_balance",
        "principal_loss",
        "interest_shortfall",
        "legal_final_shortfall",
        "discounted_loss",
        "wal",
        "yield",
    ],
    "pool": ["factor", "default_rate", "loss_rate", "recovery_rate"],
}


ROUNDED = {"wal", "yield", "discounted_loss"}
"""Measures summed over the payment dates (equal to summation order where another code path,
e.g. the deterministic run, computes them)."""


def _assert_same(a: Any, b: Any, rtol: float = 0.0, rounded: float = 0.0) -> None:
    """Same rows; numeric columns within ``rtol``, the :data:`ROUNDED` ones within
    ``max(rtol, rounded)``."""
    for part, cols in NUMERIC.items():
        x, y = getattr(a, part), getattr(b, part)
        assert list(x["scenario"]) == list(y["scenario"])
        if part == "tranches":
            assert list(x["name"]) == list(y["name"])
        for col in cols:
            tol = max(rtol, rounded) if col in ROUNDED else rtol
            np.testing.assert_allclose(
                x[col].to_numpy(float), y[col].to_numpy(float), rtol=tol, atol=0.0, err_msg=col
            )


@pytest.fixture(scope="module")
def rich_runs() -> dict[str, Any]:
    deal = rich_deal()
    return {
        "deal": deal,
        "base": run_mc(deal, backend="numpy", scenarios=40, seed=11, block_size=1000, **RICH_MODEL),
    }


def test_same_seed_same_numbers(rich_runs: dict[str, Any]) -> None:
    """A rerun with the same seed gives the same rows, bit for bit; the settings and result
    keep the seed."""
    again = run_mc(rich_runs["deal"], backend="numpy", scenarios=40, seed=11, **RICH_MODEL)
    _assert_same(rich_runs["base"], again)
    pd.testing.assert_frame_equal(rich_runs["base"].pool, again.pool)
    assert again.to_dict()["meta"]["seed"] == 11
    # the runs have defaults, losses and random recoveries: the comparison is not vacuous
    assert rich_runs["base"].pool["default_rate"].std() > 0
    assert rich_runs["base"].pool["recovery_rate"].std() > 0


@pytest.mark.parametrize("block_size", [1, 7, 1000])
def test_block_size_does_not_change_numbers(rich_runs: dict[str, Any], block_size: int) -> None:
    """Each scenario draws from its own streams: 40 scenarios in blocks of 1, 7 (a ragged last
    block) or 1,000 give identical draws, pool rates, losses, WAL, yield and discounted
    loss, bit for bit."""
    other = run_mc(
        rich_runs["deal"],
        backend="numpy",
        scenarios=40,
        seed=11,
        block_size=block_size,
        **RICH_MODEL,
    )
    _assert_same(rich_runs["base"], other, rounded=0.0)


def test_block_size_one_wal_bit_identical(rich_runs: dict[str, Any]) -> None:
    """Numbers do not depend on the block size, WAL included, to the last bit (analytics
    sums each row the same way whether it comes alone or with others)."""
    other = run_mc(
        rich_runs["deal"], backend="numpy", scenarios=40, seed=11, block_size=1, **RICH_MODEL
    )
    np.testing.assert_array_equal(
        other.tranches["wal"].to_numpy(float), rich_runs["base"].tranches["wal"].to_numpy(float)
    )


def test_numba_matches_numpy(rich_runs: dict[str, Any]) -> None:
    """The Numba kernels give the NumPy reference's numbers: relative difference at most 1e-9
    on every numeric column of the tranche and pool rows."""
    pytest.importorskip("numba")
    fast = run_mc(rich_runs["deal"], backend="numba", scenarios=40, seed=11, **RICH_MODEL)
    assert fast.backend == "numba"
    _assert_same(rich_runs["base"], fast, rtol=1e-9)


def test_other_seed_other_numbers(rich_runs: dict[str, Any]) -> None:
    """A different seed draws different scenarios."""
    other = run_mc(rich_runs["deal"], backend="numpy", scenarios=40, seed=12, **RICH_MODEL)
    assert not np.allclose(other.pool["factor"], rich_runs["base"].pool["factor"])
    assert not np.allclose(other.pool["default_rate"], rich_runs["base"].pool["default_rate"])


# ======================================================================== 5. t copula
def _t_exceedance(x: float, n: int, p: float, rho: float, nu: float) -> float:
    """P(D / n > x) for ``n`` loans under the one-factor t copula (Frey, McNeil & Nyfeler
    2001, "Copulas and credit models", Risk 14(10); Demarta & McNeil 2005, Int. Stat. Rev.
    73): given Z and W ~ chi2(nu) defaults are independent with probability
    Phi((T_nu^-1(p) sqrt(W / nu) - sqrt(rho) Z) / sqrt(1 - rho)); integrated over Z
    (Gauss-Hermite) and W (chi-square quantile midpoints)."""
    z, wz = special.roots_hermitenorm(120)
    wz = wz / wz.sum()
    w = stats.chi2.ppf((np.arange(400) + 0.5) / 400, nu)
    thr = stats.t.ppf(p, nu) * np.sqrt(w / nu)
    pz = special.ndtr((thr[:, None] - math.sqrt(rho) * z[None, :]) / math.sqrt(1 - rho))
    tail = stats.binom.sf(math.floor(x * n + 1e-9), n, pz)
    return float((tail @ wz).mean())


def test_t_copula_fatter_joint_tail_same_mean() -> None:
    """Same pool (500 one-year loans, PD 5%) and rho = 0.2 under the Gaussian and the t
    copula (nu = 4): the marginal PD is the same (both means within 4 se of p), but the t
    copula's tail dependence puts more scenarios beyond the Gaussian 99.5% quantile of the
    default rate.  Both exceedance probabilities are also pinned to their exact finite-pool
    values (:func:`_t_exceedance`, and the mixed binomial for the Gaussian) within 4
    binomial standard errors."""
    n, s, p, rho, nu = 500, 4000, 0.05, 0.2, 4.0
    deal = bullet_deal(n, p)
    gauss = run_mc(deal, scenarios=s, seed=7, default_model={"asset_correlation": rho})
    t_cop = run_mc(
        deal,
        scenarios=s,
        seed=7,
        default_model={"asset_correlation": rho, "copula": "t", "degrees_of_freedom": nu},
    )
    xg = gauss.pool["default_rate"].to_numpy()
    xt = t_cop.pool["default_rate"].to_numpy()
    for x in (xg, xt):
        assert abs(x.mean() - p) <= Z4 * x.std(ddof=1) / math.sqrt(s)
    level = vasicek_quantile(0.995, p, rho)  # 0.2908
    exact_g = 1 - float(finite_pool_cdf(math.floor(level * n), n, p, rho)[0])
    exact_t = _t_exceedance(level, n, p, rho, nu)
    assert exact_t > 2 * exact_g  # the closed forms: the t tail is fatter
    for x, exact in ((xg, exact_g), (xt, exact_t)):
        share = float((x > level).mean())
        assert abs(share - exact) <= Z4 * math.sqrt(exact * (1 - exact) / s), (share, exact)
    assert (xt > level).mean() > (xg > level).mean()


# =================================================================== 6. annual factors
def test_annual_factors_keep_marginal_pd_and_cluster_by_year() -> None:
    """36-month bullet loans (500), CDR 5%, rho 0.2, a new factor each year.

    * Marginal: the mean default rate is PD(36) = 1 - (1 - MDR)^36 = 1 - 0.95^3 within 4 se
      (years are independent, so the unconditional curve is kept exactly).
    * Year 1: its default rate has the exchangeable-Bernoulli variance
      p1 (1 - p1) / N + (1 - 1/N) (Phi_2(c, c; rho) - p1^2), p1 = 5% (Vasicek 2002), within
      a 15% relative tolerance (the sample variance's error at S = 2,000 is ~6%, more in
      the skewed tail), and well above the independent-defaults variance p1 (1 - p1) / N.
    * Every year's defaults vary more than under independence (same pool at rho = 0), and
      the years' default rates are nearly uncorrelated (independent factors), unlike the
      one-period model where one factor drives all three years.
    """
    n, s, cdr, rho, term = 500, 2000, 0.05, 0.2, 36
    deal = bullet_deal(n, cdr, term=term)
    runs = {
        name: run_mc(
            deal,
            keep_flows=True,
            scenarios=s,
            seed=36,
            default_model={"asset_correlation": r, "periods": periods},
        )
        for name, r, periods in (
            ("annual", rho, "annual"),
            ("one", rho, "one"),
            ("indep", 0, "one"),
        )
    }

    def by_year(mc: Any) -> np.ndarray:
        flows = np.concatenate([f.flows["default"] for f in mc.blocks[0]])
        return flows[:, :term].reshape(s, 3, 12).sum(axis=2) / POOL

    years = {k: by_year(v) for k, v in runs.items()}
    total = runs["annual"].pool["default_rate"].to_numpy()
    np.testing.assert_allclose(years["annual"].sum(axis=1), total, rtol=1e-12)
    pd36 = annual_pd(cdr, term)
    assert pd36 == pytest.approx(1 - 0.95**3, rel=1e-12)
    assert abs(total.mean() - pd36) <= Z4 * total.std(ddof=1) / math.sqrt(s)
    p1 = cdr
    var1 = p1 * (1 - p1) / n + (1 - 1 / n) * (bivariate_default(p1, rho) - p1**2)
    indep1 = p1 * (1 - p1) / n
    assert years["annual"][:, 0].var(ddof=1) == pytest.approx(var1, rel=0.15)
    assert var1 > 10 * indep1
    for y in range(3):
        assert years["annual"][:, y].var() > 5 * years["indep"][:, y].var(), y
        assert abs(years["annual"][:, y].mean() - years["indep"][:, y].mean()) < 0.01
    corr_annual = np.corrcoef(years["annual"].T)
    corr_one = np.corrcoef(years["one"].T)
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(corr_annual[off]) < 0.1), corr_annual
    assert np.all(corr_one[off] > 0.5), corr_one


# ==================================================================== 7. group factors
def test_group_factor_raises_within_group_correlation() -> None:
    """Two industries of 200 one-year loans, rho = 0.1 between any two loans, rho_g = 0.4
    within an industry.  Split each industry in two halves of 100 loans: the covariance of
    two disjoint halves' default rates is Phi_2(c, c; rho) - p^2 (no binomial term: the halves
    share no loan), so the same-industry covariance uses rho_g and the cross-industry one
    rho.  Checked against the closed forms within 4 standard errors of a sample covariance
    (sqrt((var_x var_y + cov^2) / S), normal approximation), and the within-industry
    correlation exceeds the between-industry one.  Read from the generator's default months
    (``ScenarioModel``), which the engine projects."""
    n, s, p, rho, rho_g = 400, 4000, 0.05, 0.1, 0.4
    deal = bullet_deal(n, p, industries=("solar", "wind"))
    sim = settings(
        deal,
        scenarios=s,
        seed=77,
        default_model={
            "asset_correlation": rho,
            "group_by": "industry",
            "group_correlation": rho_g,
        },
    )
    model = ScenarioModel(compile_deal(deal), sim, BACKEND)
    months = model.block(0, s).scenarios.default_month
    assert months is not None
    assert months.shape == (s, n)
    d = (months > 0).astype(float)
    halves = [d[:, i * 100 : (i + 1) * 100].mean(axis=1) for i in range(4)]  # s1 s2 w1 w2
    c = np.cov(np.vstack(halves))
    within = [(0, 1), (2, 3)]
    between = [(0, 2), (0, 3), (1, 2), (1, 3)]
    cov_w = bivariate_default(p, rho_g) - p**2
    cov_b = bivariate_default(p, rho) - p**2
    for pairs, exact in ((within, cov_w), (between, cov_b)):
        for i, j in pairs:
            se = math.sqrt((c[i, i] * c[j, j] + c[i, j] ** 2) / s)
            assert abs(c[i, j] - exact) <= Z4 * se, (i, j, c[i, j], exact, se)
    r = np.corrcoef(np.vstack(halves))
    assert min(r[i, j] for i, j in within) > max(r[i, j] for i, j in between) + 0.1
    # the marginal PD is still p
    assert abs(d.mean() - p) <= Z4 * d.mean(axis=1).std(ddof=1) / math.sqrt(s)
    # the engine runs the same model: its pool default rate is the loans' share defaulted
    mc = run_mc(
        deal,
        scenarios=50,
        seed=77,
        default_model={
            "asset_correlation": rho,
            "group_by": "industry",
            "group_correlation": rho_g,
        },
    )
    np.testing.assert_allclose(mc.pool["default_rate"], d[:50].mean(axis=1), atol=1e-12)


# =================================================================== 8. random recovery
def test_random_recovery_bounds_mean_and_wrong_way() -> None:
    """Recovery R = Phi(Phi^-1(R0) + sigma (sqrt(c) Z + sqrt(1 - c) eta)), R0 = 40%.

    * R lies in [0, 1]; each scenario's loss rate is its default rate times 1 - R (bullet
      pool, recoveries without lag).
    * Its mean is the probit-normal mean E[R] = Phi(Phi^-1(R0) / sqrt(1 + sigma^2)) (Owen
      1980, "A table of normal integrals", Comm. Stat. B9, eq. 10,010.8), within 4 se: close
      to R0 when sigma = 0.05, 0.4289 (not R0) when sigma = 1.
    * With c = 0.5 recoveries fall in scenarios with many defaults (Spearman correlation with
      the default rate clearly negative); with c = 0 they are independent (|corr| < 4 /
      sqrt(S))."""
    n, s, p, r0 = 300, 2000, 0.05, 0.4
    deal = bullet_deal(n, p, recovery=r0)
    out = {}
    for sigma, c in ((0.05, 0.5), (1.0, 0.5), (1.0, 0.0)):
        mc = run_mc(
            deal,
            scenarios=s,
            seed=8,
            recovery_model={"volatility": sigma, "factor_correlation": c},
        )
        pool = mc.pool
        rr = pool["recovery_rate"].to_numpy()
        assert np.all((rr >= 0) & (rr <= 1))
        np.testing.assert_allclose(
            pool["loss_rate"], pool["default_rate"] * (1 - pool["recovery_rate"]), atol=1e-12
        )
        mean = float(special.ndtr(special.ndtri(r0) / math.sqrt(1 + sigma**2)))
        assert abs(rr.mean() - mean) <= Z4 * rr.std(ddof=1) / math.sqrt(s), (sigma, rr.mean())
        out[(sigma, c)] = stats.spearmanr(rr, pool["default_rate"]).statistic
    assert float(special.ndtr(special.ndtri(r0) / math.sqrt(2))) == pytest.approx(0.42891, abs=1e-5)
    assert out[(1.0, 0.5)] < -0.3
    assert out[(0.05, 0.5)] < -0.3  # tied to the factor even when small
    assert abs(out[(1.0, 0.0)]) < Z4 / math.sqrt(s)


# ============================================================================ 9. stress
def test_stress_shifts_factor_and_raises_defaults() -> None:
    """Stress level q shifts the factor by s = Phi^-1(q) standard deviations in the adverse
    direction, so the mean default rate becomes E[Phi((c - sqrt(rho) (Z - s)) /
    sqrt(1 - rho))] = Phi(c + sqrt(rho) s) (the Gaussian integral E[Phi(a + b Z)] =
    Phi(a / sqrt(1 + b^2))).  At q = 0.9 (s = 1.2816) with p = 5%, rho = 0.2: 12.7%, within
    4 se; at q = 0.5 no shift (p); ``factor_shift = Phi^-1(0.9)`` is the same run."""
    n, s, p, rho = 500, 2000, 0.05, 0.2
    deal = bullet_deal(n, p)
    base = {"scenarios": s, "seed": 9, "default_model": {"asset_correlation": rho}}
    runs = {
        "none": run_mc(deal, **base, stress_level=0.5),
        "stress": run_mc(deal, **base, stress_level=0.9),
        "shift": run_mc(deal, **base, factor_shift=float(special.ndtri(0.9))),
    }
    shift = float(special.ndtri(0.9))
    for key, sh in (("none", 0.0), ("stress", shift)):
        x = runs[key].pool["default_rate"].to_numpy()
        exact = float(special.ndtr(special.ndtri(p) + math.sqrt(rho) * sh))
        assert abs(x.mean() - exact) <= Z4 * x.std(ddof=1) / math.sqrt(s), (key, x.mean(), exact)
        f = runs[key].pool["factor"].to_numpy()
        assert abs(f.mean() + sh) <= Z4 / math.sqrt(s)
    assert runs["stress"].pool["default_rate"].mean() > 2 * runs["none"].pool["default_rate"].mean()
    pd.testing.assert_frame_equal(runs["stress"].pool, runs["shift"].pool, rtol=1e-12)


def test_stress_level_and_factor_shift_together_refused() -> None:
    deal = bullet_deal(10, 0.05)
    with pytest.raises(SpecError, match="stress_level or factor_shift") as info:
        settings(deal, stress_level=0.9, factor_shift=1.0)
    assert info.value.problems[0].where == "simulation"


# ======================================================================== 10. large pool
LARGE_POOL_Q99_BOUND = 0.015
"""Bound on |99% quantile (loan level, 1,000 loans) - 99% quantile (large pool)| of the
pool default rate: the granularity adjustment at N = 1,000 (exact mixed binomial 0.2510 vs
Vasicek 0.2496: 0.0014) plus 4 times the Monte Carlo spread of the paired difference of the
two sample quantiles at S = 4,000 (sd ~0.003 over seeds 1-8: 0.013)."""


def test_large_pool_matches_loan_level() -> None:
    """1,000 one-year loans, PD 5%, rho 0.2: the large-pool option drives the pool's monthly
    default rate by the factor, so its default rate in a scenario is exactly the conditional
    PD p(Z) = Phi((c - sqrt(rho) Z) / sqrt(1 - rho)) (checked to 1e-9), and the loan-level
    run (same seed: the same factors) has the same mean within 4 standard errors of the
    paired difference (whose variance is the binomial E[p(Z)(1 - p(Z))] / N).  The 99%
    quantiles differ by the approximation error, below :data:`LARGE_POOL_Q99_BOUND`."""
    n, s, p, rho = 1000, 4000, 0.05, 0.2
    deal = bullet_deal(n, p)
    kw = {"scenarios": s, "seed": 1000}
    loans = run_mc(deal, **kw, default_model={"asset_correlation": rho})
    large = run_mc(deal, **kw, default_model={"asset_correlation": rho, "large_pool": True})
    np.testing.assert_array_equal(loans.pool["factor"], large.pool["factor"])
    z = large.pool["factor"].to_numpy()
    xl = large.pool["default_rate"].to_numpy()
    xn = loans.pool["default_rate"].to_numpy()
    np.testing.assert_allclose(xl, conditional_pd(z, p, rho), rtol=1e-9, atol=1e-12)
    diff = xn - xl
    se = diff.std(ddof=1) / math.sqrt(s)
    assert abs(diff.mean()) <= Z4 * se, (diff.mean(), se)
    assert abs(xl.mean() - p) <= Z4 * xl.std(ddof=1) / math.sqrt(s)
    # the paired difference is the binomial noise of a finite pool
    binom_var = float(np.mean(xl * (1 - xl))) / n
    assert diff.var(ddof=1) == pytest.approx(binom_var, rel=0.1)
    q_err = float(np.quantile(xn, 0.99) - np.quantile(xl, 0.99))
    assert abs(q_err) <= LARGE_POOL_Q99_BOUND, q_err


# ======================================================================= 11. bad input
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"default_model": {"asset_correlation": 1.0}}, "default_model.asset_correlation"),
        ({"default_model": {"asset_correlation": -0.1}}, "default_model.asset_correlation"),
        ({"default_model": {"asset_correlation": float("nan")}}, "asset_correlation"),
        ({"default_model": {"copula": "clayton"}}, "default_model.copula"),
        ({"default_model": {"degrees_of_freedom": 2.0}}, "degrees_of_freedom"),
        ({"default_model": {"periods": "quarterly"}}, "default_model.periods"),
        ({"default_model": {"group_by": "colour"}}, "default_model.group_by"),
        ({"scenarios": 0}, "scenarios"),
        ({"scenarios": -5}, "scenarios"),
        ({"block_size": 0}, "block_size"),
        ({"seed": -1}, "seed"),
        ({"recovery_model": {"volatility": -0.1}}, "recovery_model.volatility"),
        ({"recovery_model": {"factor_correlation": 1.5}}, "recovery_model.factor_correlation"),
        ({"stress_level": 1.5}, "stress_level"),
        ({"revenue_correlation": -0.2}, "revenue_correlation"),
        ({"default_model": {"unknown": 1}}, "default_model.unknown"),
    ],
)
def test_bad_settings_name_the_field(overrides: dict[str, Any], field: str) -> None:
    """Out-of-range or unknown simulation settings are a SpecError naming the field."""
    with pytest.raises(SpecError) as info:
        settings(bullet_deal(10, 0.05), **overrides)
    wheres = [pr.where for pr in info.value.problems]
    assert any(field in w for w in wheres), wheres


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ({"group_correlation": 0.3}, "group_correlation needs group_by"),
        (
            {"asset_correlation": 0.3, "group_by": "industry", "group_correlation": 0.2},
            "must be at least asset_correlation",
        ),
        ({"large_pool": True, "copula": "t"}, "large_pool works with one Gaussian factor"),
    ],
)
def test_inconsistent_default_model_refused(model: dict[str, Any], words: str) -> None:
    with pytest.raises(SpecError, match=words):
        settings(bullet_deal(10, 0.05), default_model=model)


def test_bad_arguments_of_monte_carlo() -> None:
    """A default probability above 1 is refused by the deal model (CDR <= 1); unknown
    backends, settings that are not settings and unvalidated scenario counts are refused by
    ``monte_carlo`` before any work, each naming the argument."""
    with pytest.raises(SpecError) as info:
        bullet_deal(10, 1.5)
    assert [pr.where for pr in info.value.problems] == ["assumptions.default.cdr"]
    deal = bullet_deal(10, 0.05)
    sim = settings(deal, scenarios=5)
    with pytest.raises(SpecError, match="unknown backend 'gpu9'") as info:
        monte_carlo(deal, sim, backend="gpu9")
    assert info.value.problems[0].where == "backend"
    with pytest.raises(SpecError) as info:
        monte_carlo(deal, {"scenarios": 5})  # type: ignore[arg-type]
    assert info.value.problems[0].where == "sim"
    for bad in (0, -3, 2.5, True):
        with pytest.raises(SpecError) as info:
            monte_carlo(deal, sim.model_copy(update={"scenarios": bad}))
        assert info.value.problems[0].where == "scenarios"
    with pytest.raises(SpecError, match="keep_flows=True"):
        size_tranches(monte_carlo(deal, sim), {"A": "AAA"})


# =========================================================================== 12. sizing
@pytest.fixture(scope="module")
def sizing_run() -> Any:
    deal = bullet_deal(200, 0.05, tranches=(("A", 0.80), ("B", 0.10), ("C", 0.10)))
    return run_mc(
        deal, keep_flows=True, scenarios=2000, seed=12, default_model={"asset_correlation": 0.2}
    )


def _rating_at(mc: Any, balances: dict[str, float], name: str) -> str:
    assert mc.compiled is not None
    again = monte_carlo(mc.compiled.with_structure(balances=balances), mc.settings, backend=BACKEND)
    return str(next(r for r in again.rating() if r["name"] == name)["rating"])


def test_sizing_is_monotone_in_the_target(sizing_run: Any) -> None:
    """A stronger target needs more subordination: the senior size for AAA is at most the
    size for A, at most for BBB, at most for BB (the credit enhancement grows with the
    target); every size is achieved."""
    sizes = []
    for target in ("AAA", "A", "BBB", "BB"):
        res = size_tranches(sizing_run, {"A": target})
        row = res.targets[0]
        assert row["status"] == "achieved", row
        assert res.balances["A"] + res.balances["B"] == pytest.approx(0.9 * POOL)
        assert row["credit_enhancement"] == pytest.approx(1 - row["balance"] / POOL)
        sizes.append(row["balance"])
    assert sizes == sorted(sizes), sizes
    assert sizes[0] < sizes[-1]


def test_sized_balance_achieves_target_and_one_step_more_does_not(sizing_run: Any) -> None:
    """The size found for BBB, checked by a fresh Monte Carlo on the deal rebuilt with the
    sized balances (``with_structure``): rated BBB or better; the size plus the search
    tolerance (the class below shrinking by as much) rates worse, unless the size is at the
    top of the range."""
    tol = 1e-4 * POOL
    res = size_tranches(sizing_run, {"A": "BBB"}, tolerance=tol)
    row = res.targets[0]
    assert row["status"] == "achieved"
    table = load_rating_table()
    got = _rating_at(sizing_run, dict(res.balances), "A")
    assert got == row["rating"]
    assert table.index(got) <= table.index("BBB")
    total = res.balances["A"] + res.balances["B"]
    top = total - min(tol, total / 4)
    if row["balance"] < top - 1e-6:
        bigger = {**res.balances, "A": row["balance"] + tol, "B": res.balances["B"] - tol}
        assert table.index(_rating_at(sizing_run, bigger, "A")) > table.index("BBB")


def test_unreachable_target_is_not_achievable() -> None:
    """A pool losing most of its balance (PD 90%) cannot carry an AAA mezzanine class however
    thin: status ``not achievable``, the balance left as it was, a ``best_rating`` worse
    than the target, and the class below untouched."""
    deal = bullet_deal(100, 0.90, tranches=(("A", 0.60), ("B", 0.20), ("C", 0.20)))
    mc = run_mc(deal, keep_flows=True, scenarios=300, seed=5)
    res = size_tranches(mc, {"B": "AAA"})
    row = res.targets[0]
    assert row["status"] == "not achievable"
    assert not res.achieved
    assert row["balance"] == 0.20 * POOL
    assert res.balances == {"A": 0.60 * POOL, "B": 0.20 * POOL, "C": 0.20 * POOL}
    table = load_rating_table()
    assert table.index(row["best_rating"]) > table.index("AAA")
