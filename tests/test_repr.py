"""Notebook views: results, deals, bank impacts and indices show a compact summary (a short
repr, a small HTML table of key figures and tranches), not every array they hold."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import pytest

import greenabs
import greenabs.bank
from greenabs import _html, systemic
from tests.conftest import EXAMPLES, deal_dict

MAX_REPR = 300
MAX_HTML = 8_000  # a few kilobytes: the default reprs were 17,000 to 52,000 characters


@pytest.fixture(scope="module")
def objects() -> dict[str, Any]:
    from greenabs.montecarlo import monte_carlo, settings

    deal = greenabs.load_deal(EXAMPLES / "ib_green_2014.yaml")
    result = greenabs.run(deal)
    bank = greenabs.bank.load_bank(EXAMPLES / "bank_mid_sized.yaml")
    return {
        "deal": deal,
        "result": result,
        "mc": monte_carlo(deal, settings(deal, scenarios=100), backend="numpy"),
        "impact": greenabs.bank.securitise(bank, result),
        "projection": greenabs.bank.project(bank, result, quarters=8),
        "index": systemic.build_index(systemic.china_sample(), "critic"),
    }


#: What each view must show: its kind and key figures (tranches, ratios, periods).
EXPECTED = {
    "deal": ["DealSpec", "Xingyuan 2014-2", "2,760,000,000.00", "5.100%", "loan: 48", "Sub"],
    "result": ["RunResult", "Xingyuan 2014-2", "Yield", "2,760,000,000.00", "Sub (residual)"],
    "mc": ["MonteCarloResult", "100", "Rating", "AAA", "Pool expected loss"],
    "impact": ["TransactionImpact", "Example City", "CET1 ratio", "Gain", "3,494,000,000.00"],
    "projection": ["Projection", "OTH", "OTD", "cet1_ratio", "net_income"],
    "index": ["IndexResult", "critic", "2023", "Weights", "banking"],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_repr_is_short_and_names_the_object(objects: dict[str, Any], name: str) -> None:
    text = repr(objects[name])
    assert len(text) <= MAX_REPR, text
    assert text.startswith(EXPECTED[name][0] + "("), text


@pytest.mark.parametrize("name", list(EXPECTED))
def test_html_view_is_a_compact_well_formed_summary(objects: dict[str, Any], name: str) -> None:
    page = objects[name]._repr_html_()
    assert 200 < len(page) <= MAX_HTML, len(page)
    root = ET.fromstring(page)  # well formed: every tag closed, every text escaped
    text = " ".join(root.itertext())
    for expected in EXPECTED[name]:
        assert expected.lower() in text.lower(), (expected, text)
    assert root.findall(".//table")  # key figures (and tranches) as tables


def test_the_summary_numbers_are_the_results(objects: dict[str, Any]) -> None:
    result = objects["result"]
    text = " ".join(ET.fromstring(result._repr_html_()).itertext())
    for _, r in result.tranches().iterrows():
        assert _html.money(r["original_balance"]) in text
        assert _html.pct(r["yield"]) in text
        assert _html.num(r["wal"]) in text
    mc = objects["mc"]
    text = " ".join(ET.fromstring(mc._repr_html_()).itertext())
    for r in mc.rating():
        assert f"{r['name']} {r['rating']} {_html.pct(r['default_probability'], 2)}" in text


def test_names_are_escaped_and_long_lists_are_cut() -> None:
    d = deal_dict()
    d["name"] = "<script>alert(1)</script> & co"
    tranches = d["structure"]["tranches"]
    # thirty classes: the table shows the first MAX_ROWS and counts the others
    senior = tranches[0]
    many = [dict(copy.deepcopy(senior), name=f"A{i}", balance=1_000_000) for i in range(30)]
    d["structure"]["tranches"] = [*many, *tranches[1:]]
    d["structure"]["waterfall"] = [
        step for step in d["structure"]["waterfall"] if step.get("pay_interest") != senior["name"]
    ]
    for step in d["structure"]["waterfall"]:
        if "pay_principal" in step:
            step["pay_principal"]["tranches"] = [
                t["name"] for t in d["structure"]["tranches"] if not t.get("residual")
            ]
    d["structure"]["waterfall"][1:1] = [{"pay_interest": t["name"]} for t in many]
    deal = greenabs.parse_deal(d)
    page = deal._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    text = " ".join(ET.fromstring(page).itertext())
    assert "A0" in text
    assert f"A{_html.MAX_ROWS - 1}" in text
    assert f"A{_html.MAX_ROWS + 1}" not in text
    rows = len(deal.structure.tranches) - _html.MAX_ROWS
    assert f"and {rows} more rows" in text
    assert len(page) <= MAX_HTML
    assert "... (32 in all)" in repr(deal)
    assert len(repr(deal)) <= MAX_REPR


def test_table_aligns_number_columns_right_and_text_left() -> None:
    page = _html.table(("Class", "Balance", "Note"), [("A", "1,000.00", "x"), ("B", "-", "2.5%")])
    root = ET.fromstring(f"<div>{page}</div>")
    align = [c.get("style") for c in root.iter() if c.tag in ("th", "td")]
    left, right = "text-align:left", "text-align:right"
    # the header follows its column; a column with any text in it stays left
    assert align == [left, right, left, left, right, left, left, right, left]
