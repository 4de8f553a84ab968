"""Reports (greenabs.reports): the workbook, the HTML page, the charts and the paper's two
diagrams, each kind of run, from the payload its command writes with --json."""

from __future__ import annotations

import html
import json
import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

import greenabs
from greenabs import reports
from greenabs.cli import app
from greenabs.errors import SpecError
from greenabs.reports.rate import exceedance
from tests.conftest import EXAMPLES

IB = EXAMPLES / "ib_green_2014.yaml"
LOANS = EXAMPLES / "green_loans_2026_1.yaml"
WIND = EXAMPLES / "wind_guaranteed_2026.yaml"
BANK = EXAMPLES / "bank_mid_sized.yaml"
LIMIT = 1_500_000  # bytes: the ceiling for one HTML report


def _json(tmp: Path, *args: str) -> dict[str, Any]:
    """A command's --json payload (run in process, not stored)."""
    out = tmp / "out.json"
    res = CliRunner().invoke(app, [*args, "--json", str(out), "--no-store", "-q"])
    assert res.exit_code == 0, res.output
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("payloads")
    sim = ["--scenarios", "200", "--seed", "3", "--backend", "numpy"]
    bank = CliRunner().invoke(
        app,
        [
            "bank",
            str(BANK),
            "--deal",
            str(LOANS),
            "--horizon-quarters",
            "4",
            "--no-store",
            "--json",
            str(tmp / "bank.json"),
        ],
    )
    assert bank.exit_code == 0, bank.output
    systemic = CliRunner().invoke(
        app,
        [
            "systemic",
            "china",
            "--crisis",
            "2015",
            "--stress-period",
            "2015",
            "--deal",
            str(LOANS),
            "--bank",
            str(BANK),
            "--no-store",
            "--json",
            str(tmp / "sys.json"),
        ],
    )
    assert systemic.exit_code == 0, systemic.output
    return {
        "run": _json(tmp, "run", str(IB), "--cdr", "0.25"),
        "pool": _json(tmp, "pool", str(WIND), "--scenarios", "20"),
        "rate": _json(tmp, "rate", str(IB), *sim),
        "size": _json(tmp, "size", str(LOANS), "--target", "A=AA", *sim),
        "breakeven": _json(tmp, "breakeven", str(LOANS), "--tranche", "B"),
        "bank": json.loads((tmp / "bank.json").read_text()),
        "systemic": json.loads((tmp / "sys.json").read_text()),
    }


# ------------------------------------------------------------------------------ workbook
def _cells(ws: Any) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows()]


@pytest.mark.parametrize("kind", reports.KINDS)
def test_workbook_has_a_formatted_sheet_per_table(
    kind: str, payloads: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    payload = payloads[kind]
    tables = reports.tables(kind, payload)
    book = openpyxl.load_workbook(reports.write_xlsx(kind, payload, tmp_path / "r.xlsx"))
    assert book.sheetnames[-1] == "meta"
    assert len(book.sheetnames) == len(tables) + 1
    for (name, df), ws in zip(tables.items(), book.worksheets, strict=False):
        rows = _cells(ws)
        assert [c.value for c in rows[0]] == [str(c) for c in df.columns], name
        assert all(c.font.bold for c in rows[0])
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(df.columns)).column_letter}{len(df) + 1}"
        assert len(rows) == len(df) + 1
        kinds = df.attrs["formats"]
        row_kinds = df.attrs.get("row_kinds", [])
        for i, row in enumerate(rows[1:]):
            for col, c in zip(df.columns, row, strict=True):
                k = kinds[col] if kinds[col] != "row" else row_kinds[i]
                if k in ("text", "date") or c.value is None:
                    continue
                # numbers are numbers, with a number format: never text
                assert isinstance(c.value, int | float), (name, c.coordinate, c.value)
                assert c.number_format != "General", (name, c.coordinate)
    meta = {r[0].value: r[1].value for r in _cells(book["meta"])[1:]}
    assert meta["kind"] == kind
    assert meta["greenabs_version"]


def test_workbook_formats_money_rates_dates(
    payloads: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    payload = payloads["run"]
    book = openpyxl.load_workbook(reports.write_xlsx("run", payload, tmp_path / "r.xlsx"))
    tr = book["tranches"]
    head = [c.value for c in tr[1]]
    a = {h: c for h, c in zip(head, tr[2], strict=True)}
    assert a["name"].value == "A"
    assert a["original_balance"].value == payload["tranches"][0]["original_balance"]
    assert a["original_balance"].number_format == "#,##0.00"
    assert a["coupon"].value == pytest.approx(0.051)
    assert a["coupon"].number_format == "0.00%"
    assert a["yield"].number_format == "0.00%"
    assert isinstance(a["principal_window_start"].value, datetime)
    assert a["principal_window_start"].number_format == "yyyy-mm-dd"
    deal = {r[0].value: r[1] for r in book["deal"].iter_rows(min_row=2)}
    assert deal["pool_balance"].value == pytest.approx(3_494_000_000.0)
    assert deal["pool_balance"].number_format == "#,##0.00"
    assert deal["cumulative_loss_rate"].number_format == "0.00%"
    assert deal["n_assets"].value == 48
    assert deal["cutoff"].value == datetime(2014, 8, 31)
    flows = book["deal_cashflows"]
    assert flows.auto_filter.ref == f"A1:{flows.cell(1, flows.max_column).column_letter}14"
    assert flows.column_dimensions["A"].width >= len("period")


def test_bank_ratios_sheet_formats_each_row_by_its_metric(
    payloads: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    book = openpyxl.load_workbook(reports.write_xlsx("bank", payloads["bank"], tmp_path / "b.xlsx"))
    rows = {r[0].value: r for r in book["ratios"].iter_rows(min_row=2)}
    assert rows["cet1_ratio"][1].number_format == "0.00%"
    assert rows["total_assets"][1].number_format == "#,##0.00"
    assert rows["z_score"][1].number_format == "#,##0.0000"


# ------------------------------------------------------------------------------ HTML
@pytest.mark.parametrize("kind", reports.KINDS)
def test_html_is_small_self_contained_and_holds_the_tables(
    kind: str, payloads: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    payload = payloads[kind]
    path = reports.write_html(kind, payload, tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < LIMIT
    assert "<script src" not in text
    assert "http://" not in text.replace("http://www.w3", "")
    for name, df in reports.tables(kind, payload).items():
        assert html.escape(str(df.attrs["title"])) in text, name
    figs = reports.figures(kind, payload)
    assert text.count("<div class=chart ") == len(figs)
    assert text.count("id=plotly-gz>") == (1 if figs else 0)
    assert str(payload["meta"]["greenabs_version"]) in text
    for item in payload["meta"]["inputs"].values():  # what produced it, shown at the top
        assert f"(sha256 {item['sha256'][:12]}…)" in text


def test_html_tables_show_the_payload_numbers(
    payloads: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    payload = payloads["run"]
    text = reports.write_html("run", payload, tmp_path / "r.html").read_text()
    a = payload["tranches"][0]
    assert f"<td>{a['original_balance']:,.2f}</td>" in text
    assert f"<td>{a['coupon']:.2%}</td>" in text


def test_bad_kind_or_payload_is_refused_by_name() -> None:
    with pytest.raises(SpecError, match="unknown report kind 'nope'"):
        reports.tables("nope", {})
    with pytest.raises(SpecError, match="not a bank result: it lacks bank"):
        reports.figures("bank", {"ratios": {}})


# ------------------------------------------------------------------------------ charts
def _trace(fig: Any, name: str) -> Any:
    return next(t for t in fig.data if t.name == name)


def test_run_charts_draw_the_payload(payloads: dict[str, dict[str, Any]]) -> None:
    p = payloads["run"]
    figs = reports.figures("run", p)
    assert {
        "structure",
        "timeline",
        "cash_waterfall",
        "collections",
        "tranche_balances",
        "losses",
        "composition",
        "stratification",
        "collections_by_leg",
        "impact_per_year",
    } <= set(figs)
    balances = figs["tranche_balances"]
    for name, rows in p["tranche_cashflows"].items():
        assert list(_trace(balances, name).y) == [r["end_balance"] for r in rows]
    # the waterfall: each period's uses add up to what the classes, fees and accounts got
    uses = figs["cash_waterfall"]
    bars = [t for t in uses.data if t.type == "bar"]
    for k, row in enumerate(p["deal_cashflows"]):
        paid = sum(
            r[c]
            for rows in p["tranche_cashflows"].values()
            for r in [rows[k]]
            for c in ("interest_paid", "principal_paid", "residual_paid")
        )
        fees = sum(f["paid"] for f in p["fees"] if f["period"] == row["period"])
        deposits = sum(a["deposit"] for a in p["accounts"] if a["period"] == row["period"])
        total = paid + fees + deposits + row["residual_released"]
        assert sum(b.y[k] for b in bars) == pytest.approx(total)
    assert list(_trace(uses, "A principal").y) == [
        r["principal_paid"] for r in p["tranche_cashflows"]["A"]
    ]
    col = figs["collections"]
    assert list(_trace(col, "interest").y) == [r["interest"] for r in p["pool_cashflows"]]
    assert list(_trace(col, "default").y) == [-r["default"] for r in p["pool_cashflows"]]
    losses = figs["losses"]
    assert list(_trace(losses, "cumulative loss / pool").y) == [
        r["cumulative_loss_rate"] for r in p["deal_cashflows"]
    ]
    assert losses.layout.yaxis.range == (0, 1.05)
    impact = figs["impact_per_year"]
    per_year = p["pool_analytics"]["impact"]["per_year"]
    if impact.data:
        assert list(impact.data[0].x) == [r["year"] for r in per_year]


def test_bank_ratios_each_on_its_own_axis(payloads: dict[str, dict[str, Any]]) -> None:
    p = payloads["bank"]
    fig = reports.figures("bank", p)["ratios"]
    bars = [t for t in fig.data if t.type == "bar"]
    axes = [t.yaxis for t in bars]
    assert len(set(axes)) == len(bars) == 9  # one y-axis per ratio
    by = {t.name: t for t in bars}
    before, after = p["ratios"], p["transaction"]["after_ratios"]
    for key in ("cet1_ratio", "lcr"):
        assert list(by[key].x) == ["before", "after"]
        assert list(by[key].y) == [before[key], after[key]]
    layout = fig.layout
    cet1 = layout["yaxis" + by["cet1_ratio"].yaxis[1:]].range
    lcr = layout["yaxis" + by["lcr"].yaxis[1:]].range
    # each range starts at 0 and fits its own values: CET1 (8%) is not drawn on LCR's 0-100%+
    assert cet1[0] == 0
    assert lcr[0] == 0
    assert max(before["cet1_ratio"], after["cet1_ratio"]) < cet1[1] < 0.2
    assert max(before["lcr"], after["lcr"]) < lcr[1]
    # the CET1 minimum is drawn on its panel
    assert any(s.y0 == before["cet1_requirement"] for s in layout.shapes)
    proj = reports.figures("bank", p)["projection"]
    oth = [r for r in p["projection"] if r["model"] == "OTH"]
    first = next(t for t in proj.data if t.name == "OTH")
    assert list(first.x) == [r["quarter"] for r in oth]
    assert list(first.y) == [r["cet1_ratio"] for r in oth]


def test_rate_charts_draw_the_histograms(payloads: dict[str, dict[str, Any]]) -> None:
    p = payloads["rate"]
    h = p["loss_histograms"]
    assert sum(h["pool"]["counts"]) == h["pool"]["scenarios"] == 200
    fig = reports.figures("rate", p)["loss_distribution"]
    bars = next(t for t in fig.data if t.type == "bar")
    assert sum(bars.y) == pytest.approx(1.0)
    sub = next(t for t in fig.data if t.name == "Sub")
    assert (list(sub.x), list(sub.y)) == exceedance(h["tranches"]["Sub"])
    assert fig.layout.yaxis.type == "log"
    lossless = [n for n, x in h["tranches"].items() if x["edges"] == [0.0, 0.0]]
    assert lossless == ["A", "B"]  # senior classes lose nothing in 200 scenarios: said so
    notes = [a.text for a in fig.layout.annotations]
    assert "no loss in any scenario: A, B" in notes
    # exceedance by hand: counts 3, 1, 0, 2 over edges 0..4 of 10 scenarios (4 with no loss
    # fall in the first bin): at least 1 -> 3/10, at least 2 -> 2/10, at least 3 -> 2/10
    assert exceedance({"edges": [0, 1, 2, 3, 4], "counts": [7, 1, 0, 2], "scenarios": 10}) == (
        [1.0, 2.0, 3.0],
        [0.3, 0.2, 0.2],
    )


def test_systemic_chart_is_the_index(payloads: dict[str, dict[str, Any]]) -> None:
    p = payloads["systemic"]
    fig = reports.figures("systemic", p)["index"]
    composite = _trace(fig, "composite")
    got = [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in composite.y
    ]
    assert got == pytest.approx(p["index"]["composite"])
    assert len(composite.x) == len(p["index"]["periods"])


# ------------------------------------------------------------------------------ diagrams
def _texts(fig: Any) -> str:
    parts = [a.text or "" for a in fig.layout.annotations]
    parts += [str(t) for tr in fig.data for t in (tr.text or [])]
    return "\n".join(parts)


def test_structure_diagram_names_the_parties_and_amounts(
    payloads: dict[str, dict[str, Any]],
) -> None:
    p = payloads["run"]
    text = _texts(reports.figures("run", p)["structure"])
    assert "Industrial Bank" in text  # the originator (the retention holder)
    assert "Xingyuan 2014-2" in text  # the SPV
    assert "3,494,000,000" in text  # the pool sold
    for t, share in (("A", "79.0%"), ("B", "9.6%"), ("Sub", "11.4%")):
        assert f"<b>{t}</b>" in text
        assert share in text
    assert "2,760,000,000" in text
    assert "AAA" in text
    assert "A+" in text
    assert "CE 21.0%" in text  # 335m + 399m below A, of a 3,494m pool
    assert "retained 138,000,000" in text  # 5% vertical retention of A
    for fee in ("servicing", "trustee", "custody", "rating"):
        assert fee in text


def test_structure_diagram_shows_supports(tmp_path: Path) -> None:
    p = _json(tmp_path, "run", str(WIND))
    text = _texts(reports.figures("run", p)["structure"]).replace("<br>", " ")
    assert "Example Wind Power Group Co., Ltd." in text
    assert "69,000,000" in text  # 10% of the 690m notes


def test_timeline_shows_the_life_cycle_and_the_run_events(
    payloads: dict[str, dict[str, Any]],
) -> None:
    p = payloads["run"]
    t = p["timeline"]
    assert t["cutoff"] == "2014-08-31"
    assert t["closing"] == "2014-09-24"
    assert t["triggers"], "a CDR of 25% breaches the cumulative-loss trigger"
    fig = reports.figures("run", p)["timeline"]
    text = _texts(fig)
    for label in (
        "cut-off",
        "closing: transfer to the SPV, rating, issuance",
        "first payment date",
        "last payment date",
        "origination",
    ):
        assert label in text
    for g in t["triggers"]:
        assert f"trigger breached: {g['name']}<br>{g['date']}" in text
    ticks = _trace(fig, "payment dates")
    assert list(ticks.x) == [r["date"] for r in p["deal_cashflows"]]
    lo, hi = fig.layout.xaxis.range
    assert lo < t["origination"]
    assert hi > t["last_payment"]
    assert date.fromisoformat(t["origination"]) < date.fromisoformat(t["cutoff"])


# ------------------------------------------------------------------------------ CLI
def test_report_command_writes_a_stored_runs_documents(tmp_path: Path) -> None:
    runner = CliRunner()
    html, book = tmp_path / "a.html", tmp_path / "a.xlsx"
    made = runner.invoke(app, ["run", str(LOANS), "-q", "--report", str(html), "--xlsx", str(book)])
    assert made.exit_code == 0, made.output
    from greenabs.store import RunStore

    (run,) = RunStore.open().list()
    again = runner.invoke(
        app,
        ["report", run.id, "--html", str(tmp_path / "b.html"), "--xlsx", str(tmp_path / "b.xlsx")],
    )
    assert again.exit_code == 0, again.output
    a = openpyxl.load_workbook(book)
    b = openpyxl.load_workbook(tmp_path / "b.xlsx")
    assert a.sheetnames == b.sheetnames
    assert [c.value for c in a["tranches"]["B"]] == [c.value for c in b["tranches"]["B"]]
    size = (tmp_path / "b.html").stat().st_size
    assert size < LIMIT
    missing = runner.invoke(app, ["report", "nothing-like-it"])
    assert missing.exit_code == 1
    assert "nothing-like-it" in str(missing.exception) or "nothing-like-it" in missing.output


def test_the_guide_example_runs() -> None:
    """docs/reports.md's Python example runs as written."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    proc = subprocess.run(
        [sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "rate"


def test_a_long_deal_stays_small_and_keeps_every_row(tmp_path: Path) -> None:
    """30 years of monthly payments and five classes: the per-period tables are folded and
    packed with the charts, so the page stays under the limit and holds every row."""
    from greenabs.pool_analytics import analyse_pool
    from greenabs.reports.html import page_data
    from tests.conftest import make_deal

    classes = (("A1", 20e6), ("A2", 15e6), ("B", 8e6), ("C", 4e6))
    loans = [
        {"id": f"L{i}", "type": "loan", "balance": 1e6, "rate": 0.05, "original_term": 360}
        for i in range(50)
    ]
    deal = make_deal(
        pool={"assets": loans},
        structure={
            "fees": [{"name": "trustee", "rate": 0.0002, "base": "pool_balance"}],
            "tranches": [
                *({"name": n, "balance": b, "coupon": {"fixed": 0.03}} for n, b in classes),
                {"name": "Sub", "balance": 3e6, "residual": True},
            ],
            "waterfall": [
                {"pay_fees": ["trustee"]},
                *({"pay_interest": n} for n, _ in classes),
                {"pay_principal": {"tranches": [n for n, _ in classes], "mode": "sequential"}},
                {"pay_residual": "Sub"},
            ],
        },
    )
    payload = greenabs.run(deal).to_dict()
    payload["pool_analytics"] = analyse_pool(deal, n_scenarios=10).to_dict()
    assert len(payload["deal_cashflows"]) >= 360
    text = reports.write_html("run", payload, tmp_path / "r.html").read_text()
    assert len(text.encode()) < LIMIT
    data = page_data(text)
    assert len(data["figures"]) == len(reports.figures("run", payload))
    tables = reports.tables("run", payload)
    flows = next(t for t in data["tables"].values() if t["head"] == list(tables["deal_cashflows"]))
    assert len(flows["rows"]) == len(payload["deal_cashflows"])
    last = payload["deal_cashflows"][-1]
    row = dict(zip(flows["head"], flows["rows"][-1], strict=True))
    assert row["date"] == last["date"]
    assert row["available_funds"] == f"{last['available_funds']:,.2f}"


@pytest.mark.parametrize("kind", reports.KINDS)
def test_charts_use_only_what_the_shipped_bundle_draws(
    kind: str, payloads: dict[str, dict[str, Any]]
) -> None:
    """The page embeds plotly.js's basic bundle: bar, pie and scatter traces only."""
    from greenabs.reports.html import plotly_js, plotly_notice

    assert "plotly.js (basic - minified) v4" in plotly_notice()
    assert "MIT" in plotly_js()[:400]
    for name, fig in reports.figures(kind, payloads[kind]).items():
        assert {t.type for t in fig.data} <= {"bar", "pie", "scatter"}, name


def test_workbook_text_is_never_a_formula(tmp_path: Path) -> None:
    """A deal name beginning with '=' stays text (no formula runs when the workbook opens)."""
    from tests.conftest import make_deal

    payload = greenabs.run(make_deal(name='=HYPERLINK("http://x","y")')).to_dict()
    book = openpyxl.load_workbook(reports.write_xlsx("run", payload, tmp_path / "r.xlsx"))
    name = next(r[1] for r in book["deal"].iter_rows(min_row=2) if r[0].value == "name")
    assert name.value == '=HYPERLINK("http://x","y")'
    assert name.data_type == "s"


def test_diagram_labels_show_names_as_text() -> None:
    """A name with markup is shown as written, not read as HTML by the chart."""
    from tests.conftest import make_deal

    payload = greenabs.run(make_deal(name="<a href='javascript:x'>Deal</a> & Co")).to_dict()
    text = _texts(reports.figures("run", payload)["structure"])
    assert "&lt;a href='javascript:x'&gt;Deal&lt;/a&gt; &amp; Co" in text.replace("<br>", " ")
    assert "<a " not in text


def test_timeline_shows_the_call_when_exercised() -> None:
    import copy

    from tests.conftest import BASE, make_deal

    structure = copy.deepcopy(BASE["structure"])
    structure["call"] = {"pool_factor": 0.3}
    payload = greenabs.run(make_deal(structure=structure)).to_dict()
    called = payload["deal"]["call_date"]
    assert called is not None
    assert payload["timeline"]["call"] == called
    text = _texts(reports.figures("run", payload)["timeline"])
    assert f"clean-up call exercised<br>{called}" in text
    rows = reports.tables("run", payload)["timeline"]
    assert date.fromisoformat(called) in set(rows["date"])


@pytest.mark.parametrize(
    ("args", "title"),
    [
        (["breakeven", str(LOANS), "--tranche", "B", "-q"], "breakeven default"),
        (["bank", str(BANK), "--deal", str(LOANS), "--no-store"], "Example City Commercial Bank"),
        (["pool", str(LOANS), "--scenarios", "10", "-q"], "pool analytics"),
        (["size", str(LOANS), "--target", "A=AA", "--scenarios", "100", "--backend", "numpy",
          "-q"], "tranche sizing"),
    ],
)  # fmt: skip
def test_each_command_writes_both_documents(args: list[str], title: str, tmp_path: Path) -> None:
    html_file, book = tmp_path / "r.html", tmp_path / "r.xlsx"
    res = CliRunner().invoke(app, [*args, "--report", str(html_file), "--xlsx", str(book)])
    assert res.exit_code == 0, res.output
    sheets = openpyxl.load_workbook(book).sheetnames
    assert sheets[-1] == "meta"
    assert len(sheets) >= 2
    assert title in html_file.read_text(encoding="utf-8")


# ------------------------------------------------------------------------ review fixes
def test_bank_ratio_missing_after_the_deal_reads_n_a(
    payloads: dict[str, dict[str, Any]],
) -> None:
    """A ratio that is not a number after the deal (NaN, None in the payload) is drawn as no
    bar labelled "n/a", not a crash; its panel still fits the value before."""
    import copy

    p = copy.deepcopy(payloads["bank"])
    p["transaction"]["after_ratios"]["lcr"] = None
    fig = reports.figures("bank", p)["ratios"]
    lcr = _trace(fig, "lcr")
    assert list(lcr.y) == [p["ratios"]["lcr"], None]
    assert list(lcr.text) == [f"{p['ratios']['lcr']:.2%}", "n/a"]
    assert fig.layout["yaxis" + lcr.yaxis[1:]].range[1] > p["ratios"]["lcr"]


def test_wal_error_bars_never_reach_backwards(payloads: dict[str, dict[str, Any]]) -> None:
    """The 5%-95% bars reach from the mean to each quantile, never a negative length: a
    stored run had a mean of 1.4927 with every quantile 1.4870 (the mean, pulled up by a few
    long scenarios, above the 95% quantile: no bar above, 0.0057 below); a quantile of 0.0
    is a value, not a missing one."""
    import copy

    p = copy.deepcopy(payloads["rate"])
    first, second = p["rating"][:2]
    first["wal_mean"] = 1.4927
    first["wal_quantiles"] = {"0.05": 1.487, "0.5": 1.487, "0.95": 1.487}
    second["wal_mean"] = 0.5
    second["wal_quantiles"] = {"0.05": 0.0, "0.5": 0.4, "0.95": 1.25}
    bars = reports.figures("rate", p)["wal"].data[0].error_y
    assert list(bars.array[:2]) == pytest.approx([0.0, 0.75])
    assert list(bars.arrayminus[:2]) == pytest.approx([0.0057, 0.5])
    assert min(bars.array) >= 0
    assert min(bars.arrayminus) >= 0


MARKUP = "<a href='javascript:x'>X</a> & Co"
SHOWN = "&lt;a href='javascript:x'&gt;X&lt;/a&gt; &amp; Co"


def _renamed(obj: Any, names: set[str]) -> Any:
    """``obj`` with every key or text equal to one of ``names`` replaced by that name followed
    by :data:`MARKUP`."""
    if isinstance(obj, dict):
        return {(k + MARKUP if k in names else k): _renamed(v, names) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_renamed(v, names) for v in obj]
    return obj + MARKUP if isinstance(obj, str) and obj in names else obj


def _chart_strings(fig: Any) -> list[str]:
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            found.append(v)

    walk(json.loads(fig.to_json()))
    return found


@pytest.mark.parametrize("kind", [k for k in reports.KINDS if k != "breakeven"])
def test_names_from_the_payload_are_text_in_every_chart(
    kind: str, payloads: dict[str, dict[str, Any]]
) -> None:
    """Tranche, obligor, region, bucket, indicator and dimension names reach legends, axes,
    titles and notes as written: plotly reads those as HTML, where ``<a href>`` is a live
    link; the diagrams and every other chart draw the name escaped."""
    p = payloads[kind]
    if kind == "pool":
        strata = p["stratification"]
        names = {str(strata[s][0]["group"]) for s in ("type", "region", "obligor")}
        names |= {str(p["green"]["assets"][0]["label"])}
    elif kind == "bank":
        names = {p["repricing_gap"][0]["bucket"]}
    elif kind == "systemic":
        names = {next(iter(p["index"]["weights"])), next(iter(p["index"]["sub_indices"]))}
    else:
        names = {"A", "B"}  # tranches of each example deal
    figs = reports.figures(kind, _renamed(p, names))
    text = [s for fig in figs.values() for s in _chart_strings(fig)]
    assert any(SHOWN in s for s in text)
    assert not [s for s in text if "<a " in s or "&lt;a" in s.replace(SHOWN, "")]


def test_a_fee_with_a_rate_and_an_amount_says_both(payloads: dict[str, dict[str, Any]]) -> None:
    """Each part of a fee reads on its own: "0.020% of pool balance and 1,000 a year" (its
    amount is yearly, accrued by day count: FeeSpec.amount)."""
    import copy

    from greenabs.reports.diagrams import structure_diagram

    p = copy.deepcopy(payloads["run"])
    fee = p["structure"]["fees"][0]
    fee.update(rate=0.0002, base="pool_balance", amount=1000.0)
    text = _texts(structure_diagram(p)).replace("<br>", " ")
    assert f"{fee['name']}: 0.020% of pool balance and 1,000 a year" in text


def test_a_one_off_fee_is_in_the_structure_diagram() -> None:
    """A fee paid once (FeeSpec.once, on the first payment date) says how much."""
    import copy

    from tests.conftest import BASE, make_deal

    structure = copy.deepcopy(BASE["structure"])
    structure["fees"].append({"name": "arranger", "once": 250_000})
    structure["waterfall"][0] = {"pay_fees": ["trustee", "arranger"]}
    payload = greenabs.run(make_deal(structure=structure)).to_dict()
    text = _texts(reports.figures("run", payload)["structure"]).replace("<br>", " ")
    assert "arranger: 250,000 once, on the first payment date" in text


FORMULAS = ('=HYPERLINK("http://x","y")', "+1+2", "-1+2", "@SUM(A1)")


def _formula_deal() -> dict[str, Any]:
    """The test deal with fees named like formulas."""
    import copy

    from tests.conftest import BASE, deal_dict

    structure = copy.deepcopy(BASE["structure"])
    structure["fees"] = [{"name": n, "rate": 0.0001, "base": "pool_balance"} for n in FORMULAS]
    structure["waterfall"][0] = {"pay_fees": list(FORMULAS)}
    return deal_dict(structure=structure)


def _csv_cells(folder: Path) -> list[str]:
    import csv

    return [
        cell
        for f in sorted(folder.glob("*.csv"))
        for row in csv.reader(f.open(encoding="utf-8"))
        for cell in row
    ]


def test_csv_text_is_never_a_formula(tmp_path: Path) -> None:
    """Text that a spreadsheet would run as a formula (OWASP, "CSV Injection": it starts
    with =, +, - or @) is written with a leading ' by both CSV writers, RunResult.to_csv_dir
    and ``greenabs runs export``; numbers, negative ones included, stay numbers."""
    import pandas as pd
    import yaml

    from greenabs.results import cells_for_csv
    from greenabs.spec import parse_deal
    from greenabs.store import RunStore

    table = pd.DataFrame(
        {
            "name": [*FORMULAS, "A-1", None],
            "value": [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0],
            "mixed": pd.Series([-2.0, "-x", "x", None, 1, 0], dtype=object),
        }
    )
    safe = cells_for_csv(table)
    assert safe["name"].tolist()[:5] == [*(f"'{n}" for n in FORMULAS), "A-1"]
    assert safe["value"].tolist() == table["value"].tolist()
    assert safe["mixed"].tolist()[:3] == [-2.0, "'-x", "x"]
    assert table["name"].tolist()[0] == FORMULAS[0]  # the table given is left as it was

    deal = _formula_deal()
    files = greenabs.run(parse_deal(deal)).to_csv_dir(tmp_path / "api")
    assert files
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(deal), encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(path), "-q"])
    assert res.exit_code == 0, res.output
    run_id = RunStore.open().list(kind="run")[0].id
    res = CliRunner().invoke(app, ["runs", "export", run_id, "--out", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    for folder in ("api", "cli"):
        cells = _csv_cells(tmp_path / folder)
        for name in FORMULAS:
            assert f"'{name}" in cells, (folder, name)
        assert not [c for c in cells if c.startswith(("=", "+", "@"))], folder
        assert not [c for c in cells if c.startswith("-") and not _number(c)], folder


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
