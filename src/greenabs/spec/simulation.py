"""The ``simulation`` section of a deal file: how the Monte Carlo draws its scenarios.

Every model is documented in docs/montecarlo.md; the defaults give a one-factor Gaussian
copula at 20% asset correlation, fixed recoveries, prepayments and rates, and the eco-asset
drivers the pool's families declare.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_SCENARIOS",
    "DefaultModelSpec",
    "PrepaymentModelSpec",
    "RateModelSpec",
    "RecoveryModelSpec",
    "RepLinesSpec",
    "SimulationSpec",
]

MAX_SCENARIOS = 10_000_000
"""Largest number of scenarios a run accepts."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DefaultModelSpec(_Frozen):
    """Correlated default times of the pool's assets.

    Asset ``i`` has defaulted by month ``t`` when its latent variable
    ``X_i = sqrt(rho) Z + sqrt(rho_g - rho) Z_g(i) + sqrt(1 - rho_g) e_i`` (divided by
    ``sqrt(W / nu)`` under the t copula) is at most the quantile of its cumulative default
    probability ``PD_i(t)`` from the deal's default assumption.
    """

    copula: Literal["gaussian", "t"] = Field(
        "gaussian", description="Gaussian or Student-t copula of the latent variables"
    )
    asset_correlation: float = Field(
        0.20, ge=0.0, lt=1.0, description="Correlation of any two assets' latent variables"
    )
    group_by: Literal["obligor", "industry", "region", "green_category", "type"] | None = Field(
        None,
        description="Asset field whose values form groups with a factor of their own (sector, "
        "region); assets without a value form one group",
    )
    group_correlation: float | None = Field(
        None,
        ge=0.0,
        lt=1.0,
        description="Correlation of two assets of the same group (>= asset_correlation)",
    )
    degrees_of_freedom: float = Field(
        5.0, gt=2.0, le=1000.0, description="Degrees of freedom of the t copula"
    )
    periods: Literal["one", "annual"] = Field(
        "one",
        description="one: one draw of the factors per scenario; annual: new factors every "
        "year, each year's default probability conditional on that year's factor (defaults "
        "cluster in bad years)",
    )
    large_pool: bool = Field(
        False,
        description="Drive the pool's monthly default rate by the factor instead of drawing "
        "asset-level default times (very granular pools)",
    )

    @model_validator(mode="after")
    def _groups(self) -> Self:
        if self.group_correlation is not None:
            if self.group_by is None:
                raise ValueError("group_correlation needs group_by")
            if self.group_correlation < self.asset_correlation:
                raise ValueError(
                    f"group_correlation ({self.group_correlation}) must be at least "
                    f"asset_correlation ({self.asset_correlation})"
                )
        if self.large_pool and (self.group_by is not None or self.copula != "gaussian"):
            raise ValueError("large_pool works with one Gaussian factor (no group_by, no t copula)")
        return self


class RecoveryModelSpec(_Frozen):
    """Random recovery rate per scenario:
    ``R = Phi(Phi^-1(R0) + volatility (sqrt(c) Z + sqrt(1 - c) eta))``, ``R0`` the deal's
    recovery rate; ``c`` > 0 ties recoveries to the default factor (low in bad scenarios)."""

    volatility: float = Field(0.0, ge=0.0, le=5.0, description="0: the deal's fixed recovery")
    factor_correlation: float = Field(0.5, ge=0.0, le=1.0)


class PrepaymentModelSpec(_Frozen):
    """Prepayment speed per scenario: the deal's curve times
    ``exp(volatility eta - volatility^2 / 2)`` (mean 1), times ``exp(-rate_sensitivity
    (r_t - r_0))`` when a rate model moves the index (prepayments rise when rates fall)."""

    volatility: float = Field(0.0, ge=0.0, le=3.0)
    rate_sensitivity: float = Field(0.0, ge=0.0, le=500.0, description="Per unit of rate")


class RateModelSpec(_Frozen):
    """One-factor Hull-White paths of the deal's index rates: the index is its path in the
    assumptions (the expected path) plus an Ornstein-Uhlenbeck deviation
    ``dx = -a x dt + sigma dW``, ``x(0) = 0``, drawn exactly month by month."""

    indices: tuple[str, ...] | None = Field(
        None, description="Indices of assumptions.rates to simulate (all when not given)"
    )
    mean_reversion: float = Field(0.10, ge=0.0, le=5.0, description="a, per year")
    volatility: float = Field(0.01, ge=0.0, le=0.2, description="sigma, per year")


class RepLinesSpec(_Frozen):
    """Aggregate the pool's loans into representative lines before simulating
    (:mod:`greenabs.replines`): loans alike in everything the engine reads exactly, within a
    rate (margin) bucket and a remaining-term bucket, become one line."""

    rate_step: float = Field(0.0025, gt=0.0, le=0.05, description="Rate bucket width (decimal)")
    term_step: int = Field(12, ge=1, le=120, description="Remaining-term bucket width (months)")


class SimulationSpec(_Frozen):
    """Monte Carlo settings of a deal (each can be overridden on the command line)."""

    scenarios: int = Field(1000, ge=1, le=MAX_SCENARIOS)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    block_size: int = Field(
        1000, ge=1, le=MAX_SCENARIOS, description="Scenarios per block (memory bound)"
    )
    default_model: DefaultModelSpec = DefaultModelSpec()
    recovery_model: RecoveryModelSpec = RecoveryModelSpec()
    prepayment_model: PrepaymentModelSpec = PrepaymentModelSpec()
    rate_model: RateModelSpec | None = None
    drivers: bool = Field(
        True, description="Draw the random drivers the pool's asset families declare"
    )
    revenue_correlation: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Correlation of the eco-asset drivers with the default factor (adverse "
        "direction: low output, high curtailment)",
    )
    stress_level: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Stress level (e.g. of the systemic-risk index): shifts the factor by "
        "Phi^-1(level) standard deviations in the adverse direction (0.5: none)",
    )
    factor_shift: float = Field(
        0.0, ge=-6.0, le=6.0, description="Adverse shift of the factor in standard deviations"
    )
    rep_lines: RepLinesSpec | None = Field(
        None,
        description="Simulate representative lines of the loans instead of each loan (very "
        "large pools); needs default_model.large_pool: a line stands for many obligors",
    )

    @model_validator(mode="after")
    def _one_shift(self) -> Self:
        if self.stress_level is not None and self.factor_shift != 0.0:
            raise ValueError("give stress_level or factor_shift, not both")
        return self

    @field_validator("rep_lines")
    @classmethod
    def _lines_large_pool(cls, value: RepLinesSpec | None, info: ValidationInfo) -> Any:
        model = info.data.get("default_model")
        if value is not None and model is not None and not model.large_pool:
            raise ValueError(
                "needs default_model.large_pool: true (a line stands for many obligors, so "
                "its defaults follow the pool's conditional default rate)"
            )
        return value
