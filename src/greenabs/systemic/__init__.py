"""Systemic risk of commercial banks: the seed paper's fourteen indicators in four dimensions
as a composite index, with early warning and a link to deal and bank stress.

Quick start::

    from greenabs import systemic
    data = systemic.china_sample()              # or systemic.load_indicators("my.csv")
    result = systemic.build_index(data, "entropy")
    result.frame()                              # composite and the four sub-indices
    systemic.markov_switching(result.composite)
    quarterly = systemic.china_sample("quarterly")   # the quarterly companion

Pure functions on a matrix (periods x indicators, oriented so that higher is riskier):
:func:`entropy_weights`, :func:`critic_weights`, :func:`ecdf`, and more in :mod:`.core`.
"""

from greenabs.systemic.core import (
    ahp_weights,
    ciss,
    combine_weights,
    critic_weights,
    ecdf,
    entropy_weights,
    ewma_correlations,
    minmax,
    pca_weights,
    zscore,
)
from greenabs.systemic.data import (
    CATALOGUE,
    DIMENSIONS,
    FILLS,
    HP_LAMBDA,
    Indicator,
    IndicatorData,
    annualised_volatility,
    china_sample,
    hp_gap,
    load_ahp_matrix,
    load_indicators,
)
from greenabs.systemic.index import METHODS, NORMALISATIONS, IndexResult, build_index, prepare
from greenabs.systemic.link import StressMapping, stress_level
from greenabs.systemic.warning import (
    CompositeSignal,
    SignalResult,
    composite_signal,
    markov_switching,
    signal_extraction,
    threshold_flags,
)

__all__ = [
    "CATALOGUE",
    "DIMENSIONS",
    "FILLS",
    "HP_LAMBDA",
    "METHODS",
    "NORMALISATIONS",
    "CompositeSignal",
    "IndexResult",
    "Indicator",
    "IndicatorData",
    "SignalResult",
    "StressMapping",
    "ahp_weights",
    "annualised_volatility",
    "build_index",
    "china_sample",
    "ciss",
    "combine_weights",
    "composite_signal",
    "critic_weights",
    "ecdf",
    "entropy_weights",
    "ewma_correlations",
    "hp_gap",
    "load_ahp_matrix",
    "load_indicators",
    "markov_switching",
    "minmax",
    "pca_weights",
    "prepare",
    "signal_extraction",
    "stress_level",
    "threshold_flags",
    "zscore",
]
