"""``greenabs rate`` and ``greenabs size`` end to end, the rating report and its charts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import greenabs
from greenabs.errors import SpecError
from greenabs.montecarlo import monte_carlo, settings
from greenabs.reports import figures
from tests.conftest import EXAMPLES
from tests.test_cli import cli

IB = EXAMPLES / "ib_green_2014.yaml"
LOANS = EXAMPLES / "green_loans_2026_1.yaml"


def test_rate_writes_the_ratings_and_the_report(tmp_path: Path) -> None:
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    proc = cli(
        "rate",
        str(IB),
        "--scenarios",
        "400",
        "--seed",
        "3",
        "--json",
        str(out),
        "--report",
        str(html),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Tranche ratings" in proc.stdout
    assert "Pool: expected loss" in proc.stdout
    data = json.loads(out.read_text())
    assert (data["meta"]["scenarios"], data["meta"]["seed"]) == (400, 3)
    assert data["simulation"]["default_model"]["group_by"] == "industry"  # the deal's section
    names = [r["name"] for r in data["rating"]]
    assert names == ["A", "B", "Sub"]
    for r in data["rating"]:
        for key in ("expected_loss", "default_probability", "rating", "wal_mean"):
            assert key in r
        q = r["loss_quantiles"]
        assert list(q) == ["0.5", "0.9", "0.95", "0.99", "0.995", "0.999"]
        assert all(0.0 <= v <= 1.0 for v in q.values())
        assert list(q.values()) == sorted(q.values())
    assert data["rating"][2]["rating"] == "NR"  # residual: not rated
    assert data["rating"][0]["rating"] in ("AAA", "AA+", "AA")
    text = html.read_text()
    assert "Monte Carlo rating" in text
    assert "<h2>Loss distributions</h2>" in text
    assert "Tranche ratings and loss measures" in text  # the table beside the chart


def test_rate_is_reproducible_and_seeded(tmp_path: Path) -> None:
    runs = []
    for seed in ("5", "5", "6"):
        out = tmp_path / f"r{len(runs)}.json"
        proc = cli("rate", str(IB), "--scenarios", "300", "--seed", seed, "--json", str(out), "-q")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""
        runs.append(json.loads(out.read_text()))
    assert runs[0]["rating"] == runs[1]["rating"]
    assert runs[0]["pool"] == runs[1]["pool"]
    assert runs[0]["pool"] != runs[2]["pool"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--scenarios", "0"], "--scenarios"),
        (["--scenarios", "-5"], "--scenarios"),
        (["--correlation", "1"], "--correlation"),
        (["--correlation", "-0.1"], "--correlation"),
        (["--correlation", "nan"], "--correlation"),
        (["--copula", "clayton"], "--copula"),
        (["--backend", "gpu9"], "--backend"),
        (["--periods", "weekly"], "--periods"),
        (["--stress-level", "1.5"], "--stress-level"),
        (["--stress-level", "0.9", "--factor-shift", "1"], "--stress-level/--factor-shift"),
        (["--group-correlation", "0.1", "--correlation", "0.3"], "--correlation/--group-by"),
    ],
)
def test_rate_bad_flags_name_the_flag(args: list[str], flag: str) -> None:
    proc = cli("rate", str(IB), "-q", *args)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {flag}"), proc.stderr


def test_size_finds_sizes_and_refuses_unreachable_targets(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    proc = cli(
        "size",
        str(LOANS),
        "--target",
        "A=AAA",
        "--target",
        "B=A",
        "--scenarios",
        "800",
        "--correlation",
        "0.3",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    a, b = data["sizing"]
    assert (a["tranche"], a["status"], b["tranche"], b["status"]) == (
        "A",
        "achieved",
        "B",
        "achieved",
    )
    bal = data["balances"]
    assert sum(bal.values()) == pytest.approx(100_000_000)  # the notes' total is kept
    assert a["balance"] < 80_000_000  # AAA needs more subordination than the deal has
    proc = cli(
        "size", str(LOANS), "--target", "B=AAA", "--scenarios", "300", "--correlation", "0.9"
    )
    assert proc.returncode == 1
    assert "not achievable: the best achievable rating is" in proc.stderr


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("A=ZZZ", "unknown rating 'ZZZ'"),
        ("Sub=AAA", "residual"),
        ("X=AAA", "unknown tranche 'X'"),
        ("A", "expected TRANCHE=RATING"),
    ],
)
def test_size_bad_targets_are_refused_before_simulating(target: str, why: str) -> None:
    proc = cli("size", str(LOANS), "--target", target, "-q")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: --target"), proc.stderr
    assert why in proc.stderr


def test_loss_charts_draw_each_tranche_and_the_pool() -> None:
    """The rate report's loss charts, drawn from the JSON alone (its loss histograms)."""
    deal = greenabs.load_deal(IB)
    mc = monte_carlo(deal, settings(deal, scenarios=300, seed=2))
    data = json.loads(json.dumps(mc.to_dict()))
    figs = figures("rate", data)
    lines = [t for t in figs["loss_distribution"].data if t.type == "scatter"]
    assert [t.name.split(":")[0] for t in lines] == ["A", "B", "Sub"]
    sub = mc.tranches[mc.tranches["name"] == "Sub"]
    loss = np.sort(sub["principal_loss"].to_numpy() / deal.tranche("Sub").balance)
    assert loss[-1] > 0  # the test needs a loss to draw
    x = np.asarray(lines[2].x)
    y = np.asarray(lines[2].y)
    # exceedance at each inner bin edge (50 bins from 0 to the largest loss): the share of
    # scenarios losing at least that much
    edges = np.linspace(0.0, loss[-1], 51)[1:-1]
    share = 1 - np.searchsorted(loss, edges, side="left") / loss.size
    assert np.allclose(x, edges[share > 0])
    assert np.allclose(y, share[share > 0])
    assert np.all(np.diff(x) > 0)
    bars = next(t for t in figs["loss_distribution"].data if t.type == "bar")
    counts, _ = np.histogram(mc.pool["loss_rate"], bins=50, range=(0, mc.pool["loss_rate"].max()))
    assert np.allclose(bars.y, counts / counts.sum())
    wal = figs["wal"].data[0]
    assert list(wal.x) == ["A", "B", "Sub"]
    rows = {r["name"]: r for r in data["rating"]}
    assert list(wal.y) == pytest.approx([rows[n]["wal_mean"] for n in ("A", "B", "Sub")])


def test_sizing_needs_kept_flows() -> None:
    from greenabs.montecarlo.sizing import size_tranches

    deal = greenabs.load_deal(LOANS)
    mc = monte_carlo(deal, settings(deal, scenarios=20))
    with pytest.raises(SpecError, match="keep_flows"):
        size_tranches(mc, {"A": "AAA"})
