"""External credit enhancement: guarantees and shortfall undertakings as support sources of
the waterfall, their records and outputs, and the originating bank's exposure.

The hand-computed deal: a projected asset paying 2,000 of interest a month for four months and
its 1,000,000 of principal in the fourth; class A 900,000 at 4% on 30/360 owes 3,000 a month
(900,000 x 0.04 / 12), so each of the first three dates leaves 1,000 of its interest unpaid.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import greenabs
from greenabs import waterfall
from greenabs.bank import RetainedPiece, Sale, apply_sale, load_bank, parse_bank, ratios, securitise
from greenabs.errors import ConservationError, SpecError
from greenabs.scenarios import Scenarios
from greenabs.spec.deal import SupportSpec
from tests.conftest import EXAMPLES, deal_dict
from tests.test_bank import WORKED

INTEREST = {"tranche": "A", "what": "interest"}
PRINCIPAL = {"tranche": "A", "what": "principal"}


def support(**changes: Any) -> dict[str, Any]:
    """A shortfall undertaking on A's interest with a limit of 2,500 (changes merged in)."""
    return {
        "name": "u",
        "kind": "shortfall_undertaking",
        "provider": "Example Green Energy Co.",
        "limit": {"amount": 2_500},
        "covers": [INTEREST],
        **changes,
    }


def small_deal(
    supports: list[dict[str, Any]] | None = None,
    *,
    legal_final: str | None = None,
    fees: list[dict[str, Any]] | None = None,
    sub: float = 100_000.0,
) -> dict[str, Any]:
    a: dict[str, Any] = {"name": "A", "balance": 900_000, "coupon": {"fixed": 0.04}}
    if legal_final is not None:
        a["legal_final"] = legal_final
    steps: list[dict[str, Any]] = [{"pay_fees": [f["name"] for f in fees]}] if fees else []
    steps += [{"pay_interest": "A"}, {"pay_principal": ["A"]}, {"pay_residual": "Sub"}]
    rows = [{"date": d, "interest": 2_000} for d in ("2026-04-30", "2026-05-31", "2026-06-30")]
    rows.append({"date": "2026-07-31", "interest": 2_000, "principal": 1_000_000})
    return {
        "name": "support test",
        "dates": {
            "cutoff": "2026-03-31",
            "closing": "2026-04-15",
            "first_payment": "2026-05-15",
            "frequency": "monthly",
            "day_count": "30/360",
        },
        "pool": {"assets": [{"id": "P", "type": "projected", "cashflows": rows}]},
        "structure": {
            "fees": fees or [],
            "tranches": [a, {"name": "Sub", "balance": sub, "residual": True}],
            "supports": supports or [],
            "waterfall": steps,
        },
    }


def run(d: dict[str, Any], **kwargs: Any) -> greenabs.RunResult:
    return greenabs.run(greenabs.parse_deal(d), **kwargs)


# ----------------------------------------------------------------- interest
def test_support_pays_exactly_the_interest_shortfall_up_to_its_limit() -> None:
    r = run(small_deal([support()]))
    assert list(r.calendar.accrual) == pytest.approx([1 / 12] * 4)
    a = r.waterfall.tranches["A"]
    u = r.waterfall.supports["u"]
    # 1,000 short on each of the first three dates; the limit of 2,500 runs out on the third
    np.testing.assert_allclose(u["draw_interest"][0], [1_000, 1_000, 500, 0])
    np.testing.assert_allclose(u["draw_principal"][0], [0, 0, 0, 0])
    np.testing.assert_allclose(u["draw"][0], [1_000, 1_000, 500, 0])
    np.testing.assert_allclose(u["limit_left"][0], [1_500, 500, 0, 0])
    np.testing.assert_allclose(a["interest_paid"][0], [3_000, 3_000, 2_500, 3_500])
    np.testing.assert_allclose(a["support_paid"][0], [1_000, 1_000, 500, 0])
    # the 500 the support could not pay is carried to the last date and paid from principal
    np.testing.assert_allclose(a["interest_shortfall"][0], [0, 0, 500, 0])
    np.testing.assert_allclose(r.waterfall.deal["support_draws"][0], [1_000, 1_000, 500, 0])
    assert r.summary()["support_draws:u"] == pytest.approx(2_500)
    np.testing.assert_allclose(r.support_draws()["u"], [2_500])


def test_without_a_support_the_interest_stays_unpaid() -> None:
    r = run(small_deal())
    np.testing.assert_allclose(
        r.waterfall.tranches["A"]["interest_paid"][0], [2_000, 2_000, 2_000, 6_000]
    )
    assert r.waterfall.supports == {}
    assert not [k for k in r.summary() if k.startswith("support")]
    assert "supports" not in r.tables()
    assert r.supports().empty


def test_several_tranches_of_a_step_share_the_limit_pro_rata() -> None:
    d = small_deal([support(limit={"amount": 600}, covers=[INTEREST, PRINCIPAL])])
    d["structure"]["tranches"].insert(
        1, {"name": "B", "balance": 50_000, "coupon": {"fixed": 0.12}}
    )
    d["structure"]["tranches"][2]["balance"] = 50_000
    d["structure"]["supports"][0]["covers"].append({"tranche": "B", "what": "interest"})
    d["structure"]["waterfall"] = [
        {"pay_interest": ["A", "B"]},
        {"pay_principal": ["A", "B"]},
        {"pay_residual": "Sub"},
    ]
    r = run(d)
    # due 3,000 (A) and 500 (B = 50,000 x 12% / 12); 2,000 paid pro rata leaves 1,500 and 250
    # owed; the 600 of limit is shared 6:1, all of it on the first date
    a, b = r.waterfall.tranches["A"], r.waterfall.tranches["B"]
    assert a["support_paid"][0, 0] == pytest.approx(600 * 1_500 / 1_750)
    assert b["support_paid"][0, 0] == pytest.approx(600 * 250 / 1_750)
    assert r.waterfall.supports["u"]["limit_left"][0, 0] == pytest.approx(0)
    np.testing.assert_allclose(r.waterfall.supports["u"]["draw"][0, 1:], 0)


# ----------------------------------------------------------------- principal
def test_support_pays_principal_on_the_legal_final_date_within_what_is_left() -> None:
    # A's legal final is the third date (2026-07-15): interest draws of 1,000 on each of the
    # three dates leave 497,000 of the 500,000 limit for its 900,000 of principal
    d = small_deal(
        [support(limit={"amount": 500_000}, covers=[INTEREST, PRINCIPAL])],
        legal_final="2026-07-15",
    )
    r = run(d)
    a, sub = r.waterfall.tranches["A"], r.waterfall.tranches["Sub"]
    u = r.waterfall.supports["u"]
    np.testing.assert_allclose(u["draw_interest"][0], [1_000, 1_000, 1_000, 0])
    np.testing.assert_allclose(u["draw_principal"][0], [0, 0, 497_000, 0])
    np.testing.assert_allclose(u["limit_left"][0], [499_000, 498_000, 0, 0])
    np.testing.assert_allclose(a["principal_paid"][0], [0, 0, 497_000, 403_000])
    np.testing.assert_allclose(a["legal_final_shortfall"][0], [0, 0, 403_000, 0])
    np.testing.assert_allclose(a["writedown"][0], 0)
    # the last date: A's interest on 403,000, then its principal; Sub takes the rest (draws
    # are not repaid to the provider)
    assert a["interest_paid"][0, 3] == pytest.approx(403_000 * 0.04 / 12)
    assert sub["residual_paid"][0, 3] == pytest.approx(1_002_000 - 403_000 * 0.04 / 12 - 503_000)
    np.testing.assert_allclose(sub["legal_final_shortfall"][0], 0)
    m = r.scenario_metrics().set_index("name")
    assert m.loc["A", "legal_final_shortfall"] == pytest.approx(403_000)
    assert m.loc["A", "support_paid"] == pytest.approx(500_000)
    assert m.loc["Sub", "support_paid"] == 0


@pytest.mark.parametrize(
    ("of", "limit"), [("original_notes", 0.2 * 950_000), ("original_pool_balance", 200_000.0)]
)
def test_principal_cover_at_the_last_date_and_a_share_of_a_base(of: str, limit: float) -> None:
    # an arranger fee of 300,000 takes the pool's interest on the first three dates; on the
    # last one 1,002,000 pays the fee's 294,000 left, A's 12,000 of interest and 696,000 of
    # principal: 204,000 of A is left for the support at the deal's last date
    fee = [{"name": "arranger", "once": 300_000}]
    lim = {"share": 0.2, "of": of}
    r = run(small_deal([support(limit=lim, covers=[PRINCIPAL])], fees=fee, sub=50_000))
    a = r.waterfall.tranches["A"]
    u = r.waterfall.supports["u"]
    np.testing.assert_allclose(u["draw_principal"][0], [0, 0, 0, limit])
    np.testing.assert_allclose(a["principal_paid"][0], [0, 0, 0, 696_000 + limit])
    np.testing.assert_allclose(a["legal_final_shortfall"][0], [0, 0, 0, 204_000 - limit])
    np.testing.assert_allclose(a["writedown"][0], [0, 0, 0, 204_000 - limit])
    # interest is not covered here: 3,000 a date carried, all paid on the last date
    np.testing.assert_allclose(a["interest_paid"][0], [0, 0, 0, 12_000])


def test_a_clean_up_call_is_the_legal_final() -> None:
    d = deal_dict()
    d["structure"]["call"] = {"pool_factor": 0.5, "price": 0.5}
    d["structure"]["supports"] = [support(limit={"amount": 1e6}, covers=[PRINCIPAL])]
    r = greenabs.run(greenabs.parse_deal(d))
    called = int(np.nonzero(r.waterfall.deal["called"][0])[0][0])
    a = r.waterfall.tranches["A"]
    u = r.waterfall.supports["u"]["draw_principal"][0]
    # the call at half the pool's balance leaves A short: the support pays on the call date
    assert u[called] == pytest.approx(1e6)
    assert u.sum() == pytest.approx(1e6)
    assert a["legal_final_shortfall"][0, called] == pytest.approx(a["writedown"][0, called])
    assert a["writedown"][0, called] > 0
    assert np.count_nonzero(a["legal_final_shortfall"][0]) == 1


# ----------------------------------------------------------------- provider default
def test_a_defaulted_provider_pays_nothing_from_then_on() -> None:
    # month 2 ends 2026-05-31 and is paid on the second date: from that date on, nothing;
    # month 1 stops it before the first date; month 99 is after the deal; 0 never defaults
    months = [0, 2, 1, 99]
    sc = Scenarios.build(drivers={"support:u": months})
    r = run(small_deal([support()]), scenarios=sc)
    draws = r.waterfall.supports["u"]["draw"]
    np.testing.assert_allclose(draws[0], [1_000, 1_000, 500, 0])
    np.testing.assert_allclose(draws[1], [1_000, 0, 0, 0])
    np.testing.assert_allclose(draws[2], [0, 0, 0, 0])
    np.testing.assert_allclose(draws[3], [1_000, 1_000, 500, 0])
    np.testing.assert_allclose(r.support_draws()["u"], [2_500, 1_000, 0, 2_500])
    sums = r.scenario_metrics().query("name == 'A'")["support_paid"].to_numpy()
    np.testing.assert_allclose(sums, [2_500, 1_000, 0, 2_500])
    np.testing.assert_allclose(r.waterfall.deal["audit_difference"], 0, atol=1e-9)


@pytest.mark.parametrize(
    ("drivers", "why"),
    [
        ({"support:u": [1.5]}, "whole numbers"),
        ({"support:u": [-1.0]}, "whole numbers"),
        ({"support:u": [[1.0, 2.0]]}, "shape (1,)"),
        ({"support:other": [1.0]}, "no support is called 'other'"),
    ],
)
def test_bad_provider_drivers_are_refused_by_name(drivers: dict[str, Any], why: str) -> None:
    with pytest.raises(SpecError) as exc:
        run(small_deal([support()]), scenarios=Scenarios.build(drivers=drivers))
    assert f"drivers[{next(iter(drivers))!r}]" in str(exc.value)
    assert why in str(exc.value)


def test_nan_default_month_is_refused() -> None:
    # refused when the scenarios are built, and by the waterfall for scenarios made otherwise
    with pytest.raises(SpecError, match=r"drivers\['support:u'\]"):
        Scenarios.build(drivers={"support:u": [np.nan]})
    made = dataclasses.replace(Scenarios.build(), drivers={"support:u": np.array([np.nan])})
    with pytest.raises(SpecError, match=r"drivers\['support:u'\]: default months are whole"):
        run(small_deal([support()]), scenarios=made)


# ----------------------------------------------------------------- with and without
def test_supports_false_equals_the_deal_without_supports() -> None:
    covered = small_deal(
        [support(limit={"amount": 500_000}, covers=[INTEREST, PRINCIPAL])],
        legal_final="2026-07-15",
    )
    bare = copy.deepcopy(covered)
    bare["structure"]["supports"] = []
    sc = Scenarios.build(drivers={"support:u": [0, 2]})
    ignored = run(covered, supports=False, scenarios=sc)
    plain = run(bare, scenarios=Scenarios.build(smm_mult=[1.0, 1.0]))
    assert ignored.waterfall.supports == {}
    for name in ("A", "Sub"):
        for f in waterfall.TRANCHE_FIELDS:
            np.testing.assert_array_equal(
                ignored.waterfall.tranches[name][f], plain.waterfall.tranches[name][f]
            )
    for f in waterfall.DEAL_FIELDS:
        np.testing.assert_array_equal(ignored.waterfall.deal[f], plain.waterfall.deal[f])
    pd.testing.assert_frame_equal(ignored.scenario_metrics(), plain.scenario_metrics())
    # and with the support the class is better off
    used = run(covered, scenarios=sc)
    assert used.scenario_metrics()["support_paid"].sum() > 0
    assert not np.array_equal(
        used.waterfall.tranches["A"]["interest_paid"],
        plain.waterfall.tranches["A"]["interest_paid"],
    )


def test_compiled_supports_and_other_structures() -> None:
    d = small_deal([support(limit={"share": 0.1}, covers=[INTEREST, PRINCIPAL])])
    d["structure"]["tranches"][0]["legal_final"] = "2026-07-20"  # rolls back to 2026-07-15
    compiled = greenabs.compile_deal(greenabs.parse_deal(d))
    (u,) = compiled.structure.supports
    assert (u.name, u.kind) == ("u", "shortfall_undertaking")
    assert u.limit == pytest.approx(100_000)
    assert (u.interest, u.principal) == (("A",), ("A",))
    assert dict(compiled.structure.legal_final) == {"A": 2, "Sub": 3}
    # a share of the notes follows the notes of another structure
    smaller = compiled.with_structure(balances={"A": 800_000})
    assert smaller.structure.supports[0].limit == pytest.approx(90_000)
    assert dict(smaller.structure.legal_final) == {"A": 2, "Sub": 3}


# ----------------------------------------------------------------- conservation
def test_draws_are_cash_in_for_the_audit() -> None:
    r = run(
        small_deal(
            [support(limit={"amount": 500_000}, covers=[INTEREST, PRINCIPAL])],
            legal_final="2026-07-15",
        )
    )
    d = r.waterfall.deal
    paid = sum(
        r.waterfall.tranches[t][f][0]
        for t in ("A", "Sub")
        for f in ("interest_paid", "principal_paid", "residual_paid")
    )
    collected = d["interest_collected"][0] + d["principal_collected"][0]
    # no accounts, no fees: what the tranches got beyond the collections is exactly the draws,
    # so an audit of collections alone would be off by them on every date with a draw
    np.testing.assert_allclose(paid - collected, d["support_draws"][0], atol=1e-9)
    assert (d["support_draws"][0] > waterfall.TOLERANCE).sum() == 3
    np.testing.assert_allclose(d["audit_difference"][0], 0, atol=1e-9)


def test_the_audit_fails_when_a_draw_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    counted = waterfall._draw_support

    def uncounted(s: Any, sup: Any, need: Any, mask: Any, what: str) -> Any:
        draw = counted(s, sup, need, mask, what)
        s.sup_draws -= draw  # paid to the tranche but left out of the cash in
        return draw

    monkeypatch.setattr(waterfall, "_draw_support", uncounted)
    with pytest.raises(ConservationError, match="support draws"):
        run(small_deal([support()]))


# ----------------------------------------------------------------- outputs
def test_json_csv_and_excel_carry_the_supports_table(tmp_path: Path) -> None:
    r = run(small_deal([support()]))
    table = r.supports()
    assert list(table.columns) == [
        "support",
        "period",
        "date",
        "draw_interest",
        "draw_principal",
        "draw",
        "limit_left",
    ]
    assert table["draw"].tolist() == pytest.approx([1_000, 1_000, 500, 0])
    data = r.to_dict()
    assert [row["draw"] for row in data["supports"]] == pytest.approx([1_000, 1_000, 500, 0])
    assert data["deal"]["support_draws:u"] == 2_500
    assert [row["support_draws"] for row in data["deal_cashflows"]] == [1_000, 1_000, 500, 0]
    assert data["tranches"][0]["support_paid"] == 2_500
    json.loads(json.dumps(data))
    files = r.to_csv_dir(tmp_path / "csv")
    assert tmp_path / "csv" / "supports.csv" in files
    back = pd.read_csv(tmp_path / "csv" / "supports.csv")
    assert back["limit_left"].tolist() == pytest.approx([1_500, 500, 0, 0])
    book = pd.read_excel(r.to_excel(tmp_path / "r.xlsx"), sheet_name=None)
    assert book["supports"]["draw_interest"].tolist() == pytest.approx([1_000, 1_000, 500, 0])
    tranche = book["tranche_A"]
    assert tranche["support_paid"].tolist() == pytest.approx([1_000, 1_000, 500, 0])


def test_the_example_deal_runs_and_draws_under_a_late_subsidy(tmp_path: Path) -> None:
    path = EXAMPLES / "wind_guaranteed_2026.yaml"
    proc = _cli("run", str(path), "--json", str(tmp_path / "r.json"), "-q")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["deal"]["support_draws:sponsor_undertaking"] == 0.0
    deal = greenabs.load_deal(path)
    (sup,) = deal.structure.supports
    assert (sup.kind, sup.rating, sup.originator) == ("shortfall_undertaking", "AA", False)
    late = greenabs.with_assumptions(
        deal, wind_farm={"subsidy_delay_months": 12}, receivable={"delay_months": 12}
    )
    r = greenabs.run(late)
    limit = 0.10 * sum(t.balance for t in deal.structure.tranches)
    assert r.support_draws()["sponsor_undertaking"][0] == pytest.approx(limit)
    without = greenabs.run(late, supports=False)
    short = r.waterfall.tranches["Senior"]["legal_final_shortfall"].sum()
    assert short < without.waterfall.tranches["Senior"]["legal_final_shortfall"].sum()
    assert without.support_draws() == {}


# ----------------------------------------------------------------- bad input
def _edit(d: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path (list items by index)."""
    *head, last = path.split(".")
    node: Any = d
    for key in head:
        node = node[int(key)] if key.isdigit() else node[key]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


BAD: list[tuple[str, Any, str, str]] = [
    ("name", "", "structure.supports[0].name", "at least 1 character"),
    ("kind", "insurance", "structure.supports[0].kind", "'guarantee' or 'shortfall_undertaking'"),
    ("provider", "", "structure.supports[0].provider", "at least 1 character"),
    ("originator", "maybe", "structure.supports[0].originator", "boolean"),
    ("limit", {}, "structure.supports[0].limit", "give amount, or share"),
    ("limit", {"amount": 1, "share": 0.1}, "structure.supports[0].limit", "give amount, or share"),
    ("limit", {"amount": 0}, "structure.supports[0].limit.amount", "greater than 0"),
    ("limit", {"amount": -5}, "structure.supports[0].limit.amount", "greater than 0"),
    ("limit", {"amount": 2e15}, "structure.supports[0].limit.amount", "less than or equal"),
    ("limit", {"share": 0}, "structure.supports[0].limit.share", "greater than 0"),
    ("limit", {"share": 1.5}, "structure.supports[0].limit.share", "less than or equal to 1"),
    ("limit", {"share": 0.1, "of": "pool"}, "structure.supports[0].limit.of", "original_notes"),
    ("limit", {"amount": 9, "of": "original_notes"}, "structure.supports[0].limit", "of goes"),
    ("covers", [], "structure.supports[0].covers", "at least one shortfall"),
    ("covers", [{"tranche": "C", "what": "interest"}], "covers[0].tranche", "unknown tranche"),
    ("covers", [{"tranche": "A", "what": "fees"}], "covers[0].what", "'interest' or 'principal'"),
    ("covers", [{"tranche": "A"}], "structure.supports[0].covers[0].what", "required"),
    ("covers", [{"tranche": "Sub", "what": "principal"}], "covers[0].tranche", "is residual"),
    ("covers", [INTEREST, INTEREST], "structure.supports[0].covers[1]", "listed twice"),
    ("default_probability", 1.0, "supports[0].default_probability", "less than 1"),
    ("default_probability", -0.1, "supports[0].default_probability", "greater than or equal"),
    ("default_probability", "high", "supports[0].default_probability", "valid number"),
    ("rating", "", "structure.supports[0].rating", "at least 1 character"),
    ("factor_correlation", 1.0, "supports[0].factor_correlation", "less than 1"),
    ("factor_correlation", -0.2, "supports[0].factor_correlation", "greater than or equal"),
    ("guarantor", "X", "structure.supports[0].guarantor", "unknown field"),
]


@pytest.mark.parametrize(("field", "value", "where", "why"), BAD)
def test_each_support_field_is_checked_by_name(
    field: str, value: Any, where: str, why: str
) -> None:
    d = small_deal([support()])
    d["structure"]["supports"][0][field] = value
    with pytest.raises(SpecError) as exc:
        greenabs.parse_deal(d)
    text = str(exc.value)
    assert where in text
    assert why in text


@pytest.mark.parametrize(
    ("path", "value", "where", "why"),
    [
        ("structure.supports.1", support(), "structure.supports", "name 'u' is used twice"),
        ("structure.supports.0.rating", "AA", "structure.supports[0]", "not both"),
        ("structure.tranches.0.legal_final", "2026-05-15", "tranches[0].legal_final", "after"),
        ("structure.tranches.0.legal_final", "2026-02-30", "tranches[0].legal_final", "date"),
        ("structure.tranches.1.legal_final", "2026-07-15", "tranches[1].legal_final", "residual"),
        ("structure.waterfall.0", {"pay_interest": "Sub"}, "covers[0]", "no pay_interest step"),
    ],
)
def test_cross_checks_name_the_field(path: str, value: Any, where: str, why: str) -> None:
    d = small_deal([support(default_probability=0.01)])
    if path.startswith("structure.waterfall"):
        d["structure"]["waterfall"] = [{"pay_principal": ["A"]}, {"pay_residual": "Sub"}]
        d["structure"]["tranches"][0]["coupon"] = {"fixed": 0.04}
        d["structure"]["waterfall_after_default"] = [{"pay_principal": ["A"]}]
        d["structure"]["waterfall_after_default"].append({"pay_residual": "Sub"})
    elif path == "structure.supports.1":
        d["structure"]["supports"].append(value)
    else:
        _edit(d, path, value)
    with pytest.raises(SpecError) as exc:
        greenabs.parse_deal(d)
    assert where in str(exc.value)
    assert why in str(exc.value)


def test_a_legal_final_after_the_last_payment_date_is_refused_when_compiled() -> None:
    deal = greenabs.parse_deal(small_deal(legal_final="2026-09-15"))  # valid as a file
    with pytest.raises(SpecError) as exc:
        greenabs.compile_deal(deal)
    text = str(exc.value)
    assert "structure.tranches[0].legal_final" in text
    assert "after the deal's last payment date 2026-08-15" in text
    ok = greenabs.compile_deal(greenabs.parse_deal(small_deal(legal_final="2026-08-15")))
    assert ok.structure.legal_final["A"] == 3


def test_the_schema_describes_supports() -> None:
    from greenabs.spec.io import deal_schema

    text = json.dumps(deal_schema())
    for name in ("SupportSpec", "SupportLimitSpec", "factor_correlation", "legal_final"):
        assert name in text
    assert SupportSpec.model_json_schema()["properties"]["covers"]["minItems"] == 1


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenabs.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_validate_refuses_a_bad_support_with_exit_code_1(tmp_path: Path) -> None:
    d = small_deal([support(limit={"share": 1.5}, covers=[{"tranche": "C", "what": "interest"}])])
    f = tmp_path / "deal.yaml"
    f.write_text(yaml.safe_dump(d), encoding="utf-8")
    proc = _cli("validate", str(f))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "structure.supports[0].limit.share" in proc.stderr
    good = _cli("validate", str(EXAMPLES / "wind_guaranteed_2026.yaml"))
    assert good.returncode == 0, good.stderr


# ----------------------------------------------------------------- the originating bank
def test_an_off_balance_sheet_support_adds_its_rwa_by_hand() -> None:
    # the shared reference's worked example, case B (vertical 5% at 100%: RWA 610), plus a
    # guarantee of 20 the bank gives at a 50% risk weight: 10 more RWA, no asset, no gain
    bank = parse_bank(WORKED)
    piece = RetainedPiece("retained", 10, 10, 0.12, 1.0)
    guarantee = RetainedPiece("support:g", 20, 0.0, 0.0, 0.5, on_balance_sheet=False)
    assert guarantee.rwa == 10
    for srt, rwa in ((True, 620), (False, 800)):
        sale = Sale(
            book="green",
            pool=200,
            proceeds=192,
            retained=(piece, guarantee),
            servicing_fee_rate=0.95 / 200,
            srt=srt,
        )
        after, amounts = apply_sale(bank, sale, proceeds_to="hqla", hqla_yield=0.02)
        r = ratios(after)
        assert r.rwa == pytest.approx(rwa)
        assert r.total_assets == pytest.approx(1002)
        assert r.equity == pytest.approx(82)
        assert amounts["gain"] == pytest.approx(192 + 10 - 200)
        assert [p.name for p in after.retained_securitisations] == ["retained retained"]


def _ib_with_support(originator: bool) -> greenabs.RunResult:
    deal = greenabs.load_deal(EXAMPLES / "ib_green_2014.yaml")
    sup = SupportSpec.model_validate(
        support(
            name="bank_undertaking",
            provider="Industrial Bank",
            originator=originator,
            limit={"share": 0.05},
            covers=[INTEREST, PRINCIPAL],
        )
    )
    st = deal.structure.model_copy(update={"supports": (sup,)})
    return greenabs.run(deal.model_copy(update={"structure": st}))


def test_the_originators_support_is_a_retained_exposure_at_its_limit() -> None:
    bank = load_bank(EXAMPLES / "bank_mid_sized.yaml")
    plain = securitise(bank, greenabs.run(greenabs.load_deal(EXAMPLES / "ib_green_2014.yaml")))
    third = securitise(bank, _ib_with_support(originator=False))
    own = securitise(bank, _ib_with_support(originator=True))
    # a third party's support is none of the bank's business
    assert third.sale.retained == plain.sale.retained
    assert third.after_ratios.rwa == pytest.approx(plain.after_ratios.rwa)
    # the bank's own: an off-balance-sheet piece at the limit, 5% of the notes
    (piece,) = [p for p in own.sale.retained if not p.on_balance_sheet]
    assert piece.tranche == "support:bank_undertaking"
    assert piece.face == pytest.approx(0.05 * 3.494e9)
    assert piece.fair_value == 0
    assert piece.risk_weight >= 0.15
    info = own.sale.details["originator_supports"]["bank_undertaking"]
    # just below class A: it attaches where A does, as thick as the limit over the pool
    pool = own.sale.pool
    assert info["attachment"] == pytest.approx((pool - 2.76e9) / pool)
    assert info["detachment"] - info["attachment"] == pytest.approx(0.05 * 3.494e9 / pool)
    # it counts in the risk-transfer test: ranked just below class A and held whole, it is a
    # mezzanine position (senior to the first-loss class Sub, CRR Art. 242), so the bank keeps
    # more than half of the mezzanine RWA and transfers no significant risk (Art. 244(2));
    # the pool's RWA stay, the support's included (before the mezzanine definition was fixed,
    # Sub at 1189% counted as mezzanine and hid this)
    assert own.sale.details["mezzanine"] == ["B", "support:bank_undertaking"]
    assert own.sale.details["srt_measure"] > 0.5 > plain.sale.details["srt_measure"]
    assert not own.sale.srt
    assert plain.sale.srt
    assert own.after_ratios.rwa == pytest.approx(own.before_ratios.rwa)
    # held whole, it makes P = 1 in the maximum capital requirement P x K_P (CRE40)
    assert own.sale.details["largest_share"] == 1
    assert plain.sale.details["largest_share"] == pytest.approx(0.05)
    # no asset is booked for it
    assert own.after_ratios.total_assets == pytest.approx(plain.after_ratios.total_assets)


def test_run_command_and_report_show_the_support_draws(tmp_path: Path) -> None:
    from tests.test_cli import cli

    html = tmp_path / "w.html"
    deal = EXAMPLES / "wind_guaranteed_2026.yaml"
    proc = cli("run", str(deal), "--receivable-delay", "24", "--report", str(html))
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # the line wraps on a narrow terminal
    found = re.search(
        r"Support sponsor_undertaking .*?: drew ([\d,.]+), limit left ([\d,.]+)", text
    )
    assert found is not None, proc.stdout
    drawn, left = (float(g.replace(",", "")) for g in found.groups())
    assert drawn > 0
    assert drawn + left == pytest.approx(69_000_000)  # 10% of the notes
    assert "External supports" in html.read_text()
