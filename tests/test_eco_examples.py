"""The eco-asset examples run end to end through the command line (``greenabs run`` and
``greenabs pool``), conserve cash and show what each is an example of."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import greenabs
from tests.conftest import EXAMPLES
from tests.test_cli import cli

ECO = ["solar_wind_subsidy_2026.yaml", "sewage_income_right_2026.yaml", "agri_tourism_2026.yaml"]


@pytest.mark.parametrize("name", ECO)
def test_eco_example_runs_and_is_analysed_from_the_command_line(name: str, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = cli("run", str(EXAMPLES / name), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert "pool_analytics" in data
    pool = tmp_path / "pool.json"
    proc = cli("pool", str(EXAMPLES / name), "--json", str(pool))
    assert proc.returncode == 0, proc.stderr
    analytics = json.loads(pool.read_text())
    assert {r["criterion"] for r in analytics["screening"]} == {
        "cash_flow",
        "scale",
        "homogeneity",
    }
    assert analytics["impact"]["totals"]


def test_subsidy_deal_collects_only_the_subsidy_leg() -> None:
    r = greenabs.run(greenabs.load_deal(EXAMPLES / "solar_wind_subsidy_2026.yaml"))
    df = r.pool_cashflows()
    assert "subsidy" in df.columns
    assert "tariff" not in df.columns
    # the plants' subsidy starts a year after the cut-off; the arrears pay before that
    monthly = r.pool.flows["subsidy"][0]
    assert monthly[:12].sum() == 0.0
    assert monthly[12:].sum() > 0.0
    assert r.waterfall.deal["interest_collected"][0, :4].sum() > 0.0


def test_sewage_deal_pays_its_senior_classes_on_schedule() -> None:
    deal = greenabs.load_deal(EXAMPLES / "sewage_income_right_2026.yaml")
    r = greenabs.run(deal)
    dates = r.calendar.payment_dates
    for t in deal.structure.tranches:
        if t.schedule is None:
            continue
        end = r.tranche_cashflows(t.name)["end_balance"].to_numpy()
        due = next(i for i, d in enumerate(dates) if d >= t.schedule[-1].date)
        assert end[due] == pytest.approx(0.0, abs=0.01), t.name


def test_sewage_deal_shows_the_operator_risk_of_an_income_right() -> None:
    deal = greenabs.load_deal(EXAMPLES / "sewage_income_right_2026.yaml")
    sold = deal.model_copy(
        update={
            "pool": deal.pool.model_copy(
                update={
                    "assets": tuple(
                        a.model_copy(update={"transfer": "receivable"}) for a in deal.pool.assets
                    )
                }
            )
        }
    )
    income = greenabs.compile_deal(deal).pool.balance
    receivable = greenabs.compile_deal(sold).pool.balance
    assert income < receivable


def test_agriculture_and_tourism_pool_varies_with_its_drivers() -> None:
    from greenabs.collateral import draw_drivers
    from greenabs.scenarios import Scenarios

    compiled = greenabs.compile_deal(greenabs.load_deal(EXAMPLES / "agri_tourism_2026.yaml"))
    drivers = draw_drivers(compiled.pool, 40, seed=5)
    assert {"tourism_ticket.shock", "agriculture.yield"} <= set(drivers)
    r = greenabs.run(compiled, scenarios=Scenarios.build(drivers=drivers, seed=5))
    totals = r.pool.flows["collections"].sum(axis=1)
    assert np.std(totals) > 0
    assert set(r.pool.flows) >= {"tickets", "sales", "opex"}
