"""greenabs: securitisation of eco-environmental (green) industry assets.

Quick start::

    import greenabs
    deal = greenabs.load_deal("examples/green_loans_2026_1.yaml")
    result = greenabs.run(deal)
    result.tranches()            # WAL, yield, duration, losses per tranche (DataFrame)
    result.pool_cashflows()      # pool collections per payment period
    result.tranche_cashflows("A")
"""

from greenabs.engine import run, with_assumptions
from greenabs.errors import ConservationError, DataError, GreenabsError, SpecError
from greenabs.results import RunResult
from greenabs.spec import DealSpec, deal_schema, load_deal, load_tape, parse_deal

__version__ = "0.1.0"

__all__ = [
    "ConservationError",
    "DataError",
    "DealSpec",
    "GreenabsError",
    "RunResult",
    "SpecError",
    "__version__",
    "deal_schema",
    "load_deal",
    "load_tape",
    "parse_deal",
    "run",
    "with_assumptions",
]
