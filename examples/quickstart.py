# %% [markdown]
# # greenabs quick start
# Run a deal, read its tables, stress it, and price a class. This file is a plain script
# (CI runs it) and opens as a notebook with jupytext (`# %%` cells).

# %%
from pathlib import Path

import greenabs
from greenabs.reports import figures

HERE = Path(__file__).resolve().parent
deal = greenabs.load_deal(HERE / "ib_green_2014.yaml")
result = greenabs.run(deal)
print(result.tranches()[["name", "original_balance", "wal", "yield", "principal_loss"]])

# %% Pool cash flows per payment date, and the deal-level flows
print(result.pool_cashflows().head())
print(result.deal_flows()[["date", "available_funds", "excess_spread_rate", "pool_factor"]].head())

# %% A default stress: the same deal at four times the CDR, all classes at once
stressed = greenabs.run(greenabs.with_assumptions(deal, default={"cdr": 0.02}))
print(stressed.tranches()[["name", "wal", "principal_loss"]])

# %% Several scenarios in one run (a scenario axis over default multipliers)
many = greenabs.run(deal, mdr_mult=[1.0, 5.0, 20.0], smm_mult=[1.0, 1.0, 1.0])
for s in range(many.n_scenarios):
    losses = many.tranches(scenario=s).set_index("name")["principal_loss"]
    print(f"default x{[1, 5, 20][s]}: losses {losses.to_dict()}")

# %% Price class A at a 4.8% yield (per 100 of face)
print(f"A at 4.80%: {result.price('A', 0.048):.4f}")

# %% Charts (plotly figures; in a notebook, display them)
charts = figures("run", result.to_dict())
print(sorted(charts))
