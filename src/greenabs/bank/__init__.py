"""The commercial bank: balance sheet, ratios, securitisation capital, and what a deal does.

Public functions::

    bank = greenabs.bank.load_bank("examples/bank_mid_sized.yaml")
    greenabs.bank.ratios(bank)                       # every ratio of the balance sheet
    greenabs.bank.securitise(bank, greenabs.run(deal))   # before/after, explained
    greenabs.bank.project(bank, greenabs.run(deal), quarters=20)  # OTH versus OTD
    greenabs.bank.sec_sa_risk_weight(0.09, 0.06, 0.05, 0.25)        # decimals: 9.5 = 950%
"""

from greenabs.bank.capital import (
    effective_number,
    largest_share_held,
    position_risk_weights,
    sec_erba_risk_weight,
    sec_irba_risk_weight,
    sec_sa_risk_weight,
    ssfa_capital,
)
from greenabs.bank.io import load_bank, parse_bank
from greenabs.bank.projection import MECHANISMS, Projection, project
from greenabs.bank.ratios import IRRBB_SCENARIOS, Ratios, irr_gap, irrbb, irrbb_shock, ratios
from greenabs.bank.spec import BankSpec
from greenabs.bank.transaction import (
    RetainedPiece,
    Sale,
    TransactionImpact,
    apply_sale,
    loss_bands,
    sale_from_deal,
    securitise,
)

__all__ = [
    "IRRBB_SCENARIOS",
    "MECHANISMS",
    "BankSpec",
    "Projection",
    "Ratios",
    "RetainedPiece",
    "Sale",
    "TransactionImpact",
    "apply_sale",
    "effective_number",
    "irr_gap",
    "irrbb",
    "irrbb_shock",
    "largest_share_held",
    "load_bank",
    "loss_bands",
    "parse_bank",
    "position_risk_weights",
    "project",
    "ratios",
    "sale_from_deal",
    "sec_erba_risk_weight",
    "sec_irba_risk_weight",
    "sec_sa_risk_weight",
    "securitise",
    "ssfa_capital",
]
