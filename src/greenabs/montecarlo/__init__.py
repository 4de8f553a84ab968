"""Monte Carlo credit analysis: correlated scenarios through the waterfall, loss
distributions, ratings and tranche sizing (docs/montecarlo.md).

``monte_carlo(deal)`` runs the deal's ``simulation`` settings (or :func:`settings` with
overrides) and returns a :class:`MonteCarloResult`; ``result.rating()`` maps each tranche to a
rating; :func:`size_tranches` finds the largest tranches achieving target ratings.
"""

from greenabs.montecarlo.engine import Progress, monte_carlo, settings
from greenabs.montecarlo.generate import ScenarioModel
from greenabs.montecarlo.results import LOSS_QUANTILES, MonteCarloResult

__all__ = [
    "LOSS_QUANTILES",
    "MonteCarloResult",
    "Progress",
    "ScenarioModel",
    "monte_carlo",
    "settings",
]
