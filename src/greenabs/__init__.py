"""greenabs: securitisation of eco-environmental (green) industry assets.

Quick start::

    import greenabs
    deal = greenabs.load_deal("examples/green_loans_2026_1.yaml")
    result = greenabs.run(deal)
    result.tranches()            # WAL, yield, duration, losses per tranche (DataFrame)
    result.pool_cashflows()      # pool collections per payment period
    result.tranche_cashflows("A")
    greenabs.analyse_pool(deal)  # securitisability screening, green label, impact
"""

from greenabs.compile import CompiledDeal, compile_deal
from greenabs.engine import run, simulate, with_assumptions
from greenabs.errors import ConservationError, DataError, GreenabsError, SpecError
from greenabs.pool_analytics import analyse_pool
from greenabs.results import RunResult
from greenabs.scenarios import Scenarios
from greenabs.spec import DealSpec, deal_schema, load_deal, load_tape, parse_deal

__version__ = "0.1.0"

__all__ = [
    "CompiledDeal",
    "ConservationError",
    "DataError",
    "DealSpec",
    "GreenabsError",
    "RunResult",
    "Scenarios",
    "SpecError",
    "__version__",
    "analyse_pool",
    "compile_deal",
    "deal_schema",
    "load_deal",
    "load_tape",
    "parse_deal",
    "run",
    "simulate",
    "with_assumptions",
]
