"""Pool analytics: securitisability screening, negative list, stratification, green label,
impact indicators, the taxonomy, the charts and ``greenabs pool``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

import greenabs
from greenabs import SpecError
from greenabs.pool_analytics import PoolAnalytics, Thresholds, analyse_pool
from greenabs.reports.pool import pool_figures
from greenabs.taxonomy import DEFAULT_BY_TYPE, category_for, emission_factor, resolve_category
from tests.conftest import EXAMPLES

CUTOFF = "2026-01-31"


def deal(assets: list[dict[str, Any]], notes: float = 1e6) -> dict[str, Any]:
    return {
        "name": "Pool test",
        "dates": {"cutoff": CUTOFF, "closing": "2026-02-10", "first_payment": "2026-02-28"},
        "pool": {"assets": assets},
        "structure": {
            "tranches": [
                {"name": "A", "balance": notes, "coupon": {"fixed": 0.03}},
                {"name": "E", "balance": 1.0, "residual": True},
            ],
            "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}, {"pay_residual": "E"}],
        },
    }


def loan(i: str, balance: float = 1e7, **kw: Any) -> dict[str, Any]:
    return {
        "id": i,
        "type": "loan",
        "balance": balance,
        "rate": 0.05,
        "original_term": 36,
        "obligor": f"Obligor {i}",
        **kw,
    }


def plant(i: str, kind: str = "solar_plant", **kw: Any) -> dict[str, Any]:
    return {
        "id": i,
        "type": kind,
        "capacity_mw": 20,
        "cod": "2020-06-30",
        "term_months": 60,
        "p50_hours": 1400,
        "tariff": 0.35,
        **kw,
    }


def analyse(assets: list[dict[str, Any]], notes: float = 1e6, **kw: Any) -> PoolAnalytics:
    return analyse_pool(greenabs.parse_deal(deal(assets, notes)), n_scenarios=60, seed=7, **kw)


def row(a: PoolAnalytics, measure: str) -> dict[str, Any]:
    rows = a.screening.loc[a.screening["measure"] == measure]
    assert len(rows) == 1, measure
    out: dict[str, Any] = {str(k): v for k, v in rows.iloc[0].to_dict().items()}
    return out


# ------------------------------------------------------------------------ screening
def test_a_diversified_pool_of_contracted_plants_passes_every_criterion() -> None:
    plants = [
        plant(f"P{k}", transfer="receivable", payer_pd=0.01, obligor=f"Operator {k}")
        for k in range(12)
    ]
    a = analyse(plants)
    assert dict(a.criteria) == {"cash_flow": "pass", "scale": "pass", "homogeneity": "pass"}
    assert row(a, "contracted_share")["value"] == pytest.approx(1.0)
    assert 0 < row(a, "collections_cv")["value"] < 0.10  # the year's resource is random
    assert row(a, "effective_obligors")["value"] == pytest.approx(12.0)
    assert row(a, "term_cv")["value"] == pytest.approx(0.0, abs=1e-12)
    assert row(a, "pd_cv")["value"] == pytest.approx(0.0, abs=1e-12)
    assert len(a.negative_list) == 0


def test_a_small_single_obligor_pool_fails_scale_for_that_reason() -> None:
    a = analyse([loan("L1", 1e6, obligor="Same Co"), loan("L2", 2e6, obligor=" Same Co ")])
    assert a.criteria["scale"] == "fail"
    n_eff = row(a, "effective_obligors")
    assert n_eff["value"] == pytest.approx(1.0)  # one obligor's assets are consolidated
    assert n_eff["result"] == "fail"
    assert "effective number of obligors" in n_eff["reason"]
    bal = row(a, "pool_balance")
    assert bal["result"] == "fail"
    assert bal["value"] == pytest.approx(3e6)
    assert "pool balance" in bal["reason"]
    assert "< 1e+07" in bal["reason"]


def test_an_income_right_with_volatile_resource_fails_the_cash_flow_test() -> None:
    # P90 at half the P50: a year's energy has a standard deviation of 39% of P50
    a = analyse([plant("V1", term_months=12, p90_hours=700)])
    cv = row(a, "collections_cv")
    assert cv["result"] == "fail"
    assert cv["value"] > 0.25
    assert "coefficient of variation" in cv["reason"]
    assert row(a, "contracted_share")["value"] == 0.0  # an income right is not contracted
    assert row(a, "contracted_share")["result"] == "warn"  # by default never a failure
    assert a.criteria["cash_flow"] == "fail"
    flagged = a.negative_list.loc[a.negative_list["item"] == 3]
    assert list(flagged["asset_ids"].iloc[0]) == ["V1"]
    assert "uncertain" in flagged["rule"].iloc[0]


def test_dispersed_terms_and_rates_fail_homogeneity() -> None:
    a = analyse(
        [
            loan("L1", original_term=1, rate=0.01),
            loan("L2", original_term=1, rate=0.01),
            loan("L3", original_term=360, rate=0.20),
        ]
    )
    # equal balances: terms 1, 1, 360 -> mean 120.67, sd 169.2 -> CV 1.40
    mean = (1 + 1 + 360) / 3
    sd = math.sqrt(((1 - mean) ** 2 * 2 + (360 - mean) ** 2) / 3)
    assert row(a, "term_cv")["value"] == pytest.approx(sd / mean)
    assert row(a, "term_cv")["result"] == "fail"
    assert row(a, "rate_cv")["result"] == "fail"
    assert "remaining term" in row(a, "term_cv")["reason"]
    assert a.criteria["homogeneity"] == "fail"
    # loans give no PD or rating: credit quality is a warning, not a silent pass
    assert row(a, "pd_cv")["result"] == "warn"
    assert "not measurable" in row(a, "pd_cv")["reason"]


def test_thresholds_are_configurable_and_checked() -> None:
    assets = [loan("L1", original_term=12), loan("L2", original_term=48)]
    base = analyse(assets)
    assert row(base, "term_cv")["result"] == "pass"
    strict = analyse(assets, thresholds={"term_cv_pass": 0.1, "term_cv_fail": 0.2})
    assert row(strict, "term_cv")["result"] == "fail"
    with pytest.raises(ValidationError, match="term_cv_fail is below term_cv_pass"):
        Thresholds(term_cv_pass=2.0, term_cv_fail=1.0)
    with pytest.raises(SpecError) as info:
        analyse(assets, thresholds={"bogus": 1})
    assert info.value.problems[0].where == "thresholds.bogus"


def test_effective_obligors_and_hhi_by_hand() -> None:
    a = analyse(
        [
            loan("L1", 10e6, obligor="A", industry="x"),
            loan("L2", 20e6, obligor="A", industry="y"),
            loan("L3", 30e6, obligor="B", industry="x"),
            loan("L4", 40e6, obligor="C", industry="y"),
        ]
    )
    # obligors A 30, B 30, C 40 (of 100): (sum b)^2 / sum b^2 = 100^2 / (30^2 + 30^2 + 40^2)
    assert row(a, "effective_obligors")["value"] == pytest.approx(10_000 / 3_400)
    c = a.concentration
    assert c["hhi_obligor"] == pytest.approx(0.3**2 + 0.3**2 + 0.4**2)
    assert c["effective_obligors"] == pytest.approx(10_000 / 3_400)
    assert c["hhi_industry"] == pytest.approx(0.4**2 + 0.6**2)  # x 40, y 60
    assert c["top1_obligor_share"] == pytest.approx(0.4)
    by_obligor = a.stratification["obligor"].set_index("group")
    assert by_obligor.loc["A", "n"] == 2
    assert by_obligor.loc["A", "balance"] == pytest.approx(30e6)


def test_stratification_weighted_averages_by_hand() -> None:
    """Balance-weighted rate and remaining term per group: A holds 10m at 4% for 36 months
    and 30m at 6% for 24 months (36 less 12 seasoned)."""
    a = analyse(
        [
            loan("L1", 10e6, obligor="A", rate=0.04),
            loan("L2", 30e6, obligor="A", rate=0.06, age=12),
            loan("L3", 20e6, obligor="B", rate=0.05),
        ]
    )
    by_obligor = a.stratification["obligor"].set_index("group")
    assert by_obligor.loc["A", "wa_rate"] == pytest.approx((10 * 0.04 + 30 * 0.06) / 40)
    assert by_obligor.loc["A", "wa_remaining_term"] == pytest.approx((10 * 36 + 30 * 24) / 40)
    assert by_obligor.loc["B", "wa_rate"] == pytest.approx(0.05)


def test_negative_list_flags_a_local_government_debtor_but_not_a_ppp_subsidy() -> None:
    a = analyse(
        [
            loan("G1", obligor="Xinyang Municipal Water Bureau"),
            loan("G2", obligor="Xinyang Municipal Water Bureau (PPP fiscal subsidy)"),
            loan("P1", obligor="Xinyang Urban Investment Co"),
            loan("M1", industry="mining right income"),
            loan("OK", obligor="Wind Co"),
        ]
    )
    items = {int(r["item"]): list(r["asset_ids"]) for _, r in a.negative_list.iterrows()}
    assert items[1] == ["G1"]
    assert items[2] == ["P1"]
    assert items[3] == ["M1"]
    assert all("OK" not in ids for ids in items.values())
    assert a.negative_list["reason"].str.contains("AMAC negative list").all()


# ------------------------------------------------------------------------ green
def test_green_label_passes_and_fails_on_the_share() -> None:
    assets = [loan("G", 8e6, green_category="clean energy"), loan("N", 2e6)]
    a = analyse(assets)
    assert a.green["share_by_balance"] == pytest.approx(0.8)
    assert a.green["label"] == "green"
    assert a.green["result"] == "pass"
    strict = analyse(assets, thresholds={"green_share_label": 0.9})
    assert strict.green["result"] == "fail"
    assert strict.green["label"] == "not green"
    assert "N" in strict.green["reason"]
    assert "no Catalogue category" in strict.green["reason"]
    pure = analyse([loan("G", 8e6, green_category="3.2.2"), plant("S")])
    assert pure.green["label"] == "pure green"
    g = pure.green_assets.set_index("id")
    assert g.loc["S", "category"] == DEFAULT_BY_TYPE["solar_plant"] == "3.2.2.2"
    assert g.loc["S", "source"] == "type default"
    assert g.loc["S", "icma"] == "renewable_energy"


def test_taxonomy_resolves_labels_and_refuses_unknown_ones() -> None:
    assert resolve_category("clean energy").code == "3.2"
    assert resolve_category("Green_Infrastructure").code == "5"
    assert resolve_category("3.2.2").name_zh == "清洁能源设施建设和运营"
    assert resolve_category("清洁能源设施建设和运营").code == "3.2.2"
    for label in ("pollution prevention", "ecological protection", "energy saving"):
        resolve_category(label)
    with pytest.raises(ValueError, match="close matches: 'clean energy'"):
        resolve_category("clean enrgy")
    with pytest.raises(ValueError, match="several Catalogue items"):
        resolve_category("能效提升")
    for code in DEFAULT_BY_TYPE.values():
        assert category_for(code).icma


def test_every_label_in_the_shipped_tapes_resolves() -> None:
    for tape in EXAMPLES.glob("*.csv"):
        text = tape.read_text(encoding="utf-8").splitlines()
        head = text[0].split(",")
        if "green_category" not in head:
            continue
        col = head.index("green_category")
        for line in text[1:]:
            label = line.split(",")[col]
            if label:
                resolve_category(label)


def test_an_unknown_green_category_is_refused_naming_the_field() -> None:
    with pytest.raises(SpecError) as info:
        greenabs.parse_deal(deal([loan("L1", green_category="brown coal")]))
    p = info.value.problems[0]
    assert p.where.endswith("green_category")
    assert "unknown green category 'brown coal'" in p.reason


# ------------------------------------------------------------------------ impact
FLAT: dict[str, Any] = {
    "capacity_mw": 10,
    "p50_hours": 1200,
    "seasonality": [1.0] * 12,
    "degradation": 0.0,
    "curtailment": 0.0,
    "availability": 1.0,
    "cod": "2015-01-01",
    "term_months": 24,
}


def test_impact_of_one_solar_plant_from_first_principles() -> None:
    assets = [
        plant("S1", **FLAT),
        loan("L1", original_term=18, impact_mwh=1200.0, impact_tco2_avoided=50.0),
    ]
    a = analyse(assets, notes=5e6, emission_factor={"region": "East", "year": 2022})
    ef = 0.5617  # East grid 2022 (MEE/NBS), tCO2/MWh
    # the plant: 10 MW x 1,200 h x 1/12 (flat seasonality) x (1 - 0 curtailment) x 1
    # availability x (1 - 0)^t degradation = 1,000 MWh a month, for 24 months
    plant_mwh = 10 * 1200 / 12 * 24
    # the loan: 1,200 MWh and 50 tCO2 a year over its 18 remaining months
    loan_mwh, loan_tco2 = 1200 * 18 / 12, 50 * 18 / 12
    t = a.impact["totals"]
    assert t["mwh"] == pytest.approx(plant_mwh + loan_mwh)
    assert t["tco2_avoided"] == pytest.approx((plant_mwh + loan_mwh) * ef + loan_tco2)
    assert a.impact["emission_factor"]["value"] == ef
    per_year = a.impact_per_year.set_index("year")
    assert per_year.loc[1, "mwh"] == pytest.approx(12_000 + 1_200)
    assert per_year.loc[2, "mwh"] == pytest.approx(12_000 + 600)
    notes = 5e6 + 1.0  # class A and the residual class
    assert a.impact["per_10k_issued"]["mwh"] == pytest.approx(t["mwh"] / notes * 10_000)
    assert a.impact["by_asset"]["S1"]["mwh"] == pytest.approx(plant_mwh)


def test_area_managed_is_an_area_not_a_sum_over_months() -> None:
    a = analyse([loan("F1", original_term=36, impact_ha_managed=500.0)])
    assert a.impact["totals"]["ha_managed"] == pytest.approx(500.0)
    assert list(a.impact_per_year["ha_managed"]) == pytest.approx([500.0] * 3)


def test_emission_factor_choice_and_errors() -> None:
    default = emission_factor()
    assert (default.region, default.year, default.scope) == ("China", 2023, "national_average")
    assert default.value == 0.5306
    assert emission_factor("north", 2022).value == 0.6776
    assert emission_factor("China", 2021, "fossil_fuel_power_only").value == 0.8426
    a = analyse([plant("S1", **FLAT)])
    assert a.impact["emission_factor"]["year"] == 2023
    with pytest.raises(SpecError) as info:
        analyse([plant("S1", **FLAT)], emission_factor={"region": "Atlantis"})
    assert info.value.problems[0].where == "emission_factor.region"
    assert "known: Central, China" in info.value.problems[0].reason
    with pytest.raises(SpecError) as info:
        analyse([plant("S1", **FLAT)], emission_factor={"region": "South", "year": 2023})
    assert info.value.problems[0].where == "emission_factor.year"
    assert "known years: 2022" in info.value.problems[0].reason
    with pytest.raises(SpecError):
        analyse([plant("S1", **FLAT)], emission_factor=-1.0)


def test_defaults_of_revenue_assets_are_reported() -> None:
    a = analyse([plant("S1"), loan("L1")])
    assert a.defaults["S1"]["degradation"] == 0.005
    assert "L1" not in a.defaults


# ------------------------------------------------------------------------ charts and JSON
def test_charts_draw_the_pool() -> None:
    a = analyse([plant("S1", **FLAT, subsidy=0.2, subsidy_lag_months=6), loan("L1")])
    figs = pool_figures(a.to_dict())
    assert set(figs) == {"composition", "stratification", "collections_by_leg", "impact_per_year"}
    legs = {t.name: t for t in figs["collections_by_leg"].data}
    assert {"tariff", "subsidy", "loans, leases, receivables", "collections"} <= set(legs)
    assert list(legs["tariff"].y) == pytest.approx(list(a.collections["tariff"]))
    assert sum(legs["subsidy"].y) == pytest.approx(a.collections["subsidy"].sum())
    comp = figs["composition"].data[0]
    assert set(comp.labels) == {"solar_plant", "loan"}
    impact = {t.name: t for t in figs["impact_per_year"].data}
    assert list(impact["Renewable energy (MWh)"].y) == pytest.approx([12_000.0, 12_000.0])
    strat = figs["stratification"].data
    assert sum(strat[0].y) == pytest.approx(1.0)  # remaining-term shares


def test_to_dict_is_json() -> None:
    a = analyse([plant("S1"), loan("L1", green_category="green building")])
    data = json.loads(json.dumps(a.to_dict()))
    for key in (
        "screening",
        "criteria",
        "negative_list",
        "stratification",
        "concentration",
        "green",
        "impact",
        "defaults",
        "collections",
    ):
        assert key in data
    assert set(data["impact"]["totals"]) == {
        "mwh",
        "tco2_avoided",
        "m3_wastewater",
        "t_waste",
        "ha_managed",
        "tco2_sequestered",
    }
    assert {r["criterion"] for r in data["screening"]} == {"cash_flow", "scale", "homogeneity"}


def test_arguments_are_checked() -> None:
    d = greenabs.parse_deal(deal([loan("L1")]))
    with pytest.raises(SpecError, match="n_scenarios"):
        analyse_pool(d, n_scenarios=1)
    with pytest.raises(SpecError, match="seed"):
        analyse_pool(d, seed=-1)
    compiled = greenabs.compile_deal(d)
    assert analyse_pool(compiled).criteria == analyse_pool(d).criteria


# ------------------------------------------------------------------------ command line
def test_pool_command_prints_tables_that_fit_80_columns(tmp_path: Path) -> None:
    from greenabs.cli import app
    from greenabs.cli.common import out

    path = tmp_path / "deal.yaml"
    path.write_text(
        yaml.safe_dump(deal([plant("S1", subsidy=0.2), loan("L1", industry="wind power")])),
        encoding="utf-8",
    )
    old = out.width
    out.width = 80
    try:
        res = CliRunner().invoke(
            app, ["pool", str(path), "--json", str(tmp_path / "p.json"), "--scenarios", "20"]
        )
    finally:
        out.width = old
    assert res.exit_code == 0, res.output
    assert "Securitisability screening" in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["green"]["assets"][0]["category"] == "3.2.2.2"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "greenabs.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_pool_command_on_the_ib_replica(tmp_path: Path) -> None:
    ib = str(EXAMPLES / "ib_green_2014.yaml")
    proc = cli(
        "pool", ib, "--emission-region", "North", "--emission-year", "2022", "--json",
        str(tmp_path / "p.json"), "--html", str(tmp_path / "p.html"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["green"]["label"] == "pure green"
    assert data["impact"]["emission_factor"]["value"] == 0.6776
    assert data["impact"]["totals"]["mwh"] > 0
    assert data["impact"]["totals"]["t_waste"] > 0
    assert data["concentration"]["n_obligors"] == 38
    assert "collections_by_leg" not in data  # charts are in the HTML, not the JSON
    html = (tmp_path / "p.html").read_text()
    assert "<h2>Collections by revenue leg</h2>" in html
    from greenabs.reports.html import page_data

    titles = [f["layout"]["title"]["text"] for f in page_data(html)["figures"].values()]
    assert "Expected collections by revenue leg (monthly)" in titles
    bad = cli("pool", ib, "--emission-region", "Mars", "-q")
    assert bad.returncode == 1
    assert "--emission-region: unknown region 'Mars'" in bad.stderr
    bad = cli("pool", ib, "--emission-year", "1999", "-q")
    assert bad.returncode == 1
    assert "--emission-year" in bad.stderr


def test_run_json_carries_the_pool_analytics(tmp_path: Path) -> None:
    proc = cli(
        "run", str(EXAMPLES / "ib_green_2014.yaml"), "-q", "--json", str(tmp_path / "r.json")
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    pa = data["pool_analytics"]
    assert pa["criteria"]["scale"] == "pass"
    assert pa["green"]["share_by_balance"] == pytest.approx(1.0)
    assert data["deal"]["max_audit_difference"] < 0.01
