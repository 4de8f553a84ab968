"""Shared fixtures: small deals written as dicts, built through the same validator as files."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from greenabs import DealSpec, parse_deal

# CI replays the same examples on every run (reproducible); local runs keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

BASE: dict[str, Any] = {
    "name": "Test deal",
    "currency": "CNY",
    "dates": {
        "cutoff": "2026-03-31",
        "closing": "2026-04-15",
        "first_payment": "2026-05-26",
        "frequency": "monthly",
        "day_count": "ACT/365F",
    },
    "pool": {
        "assets": [
            {
                "id": "L1",
                "type": "loan",
                "balance": 60_000_000,
                "rate": 0.0485,
                "original_term": 60,
                "age": 6,
                "amortization": "level",
            },
            {
                "id": "L2",
                "type": "loan",
                "balance": 40_000_000,
                "rate": 0.052,
                "original_term": 36,
                "age": 0,
                "amortization": "linear",
            },
        ]
    },
    "assumptions": {
        "prepayment": {"cpr": 0.05},
        "default": {"cdr": 0.01},
        "recovery": {"rate": 0.4, "lag_months": 12},
    },
    "structure": {
        "fees": [{"name": "trustee", "rate": 0.0002, "base": "pool_balance"}],
        "tranches": [
            {"name": "A", "balance": 80_000_000, "coupon": {"fixed": 0.032}},
            {"name": "B", "balance": 12_000_000, "coupon": {"fixed": 0.045}},
            {"name": "Sub", "balance": 8_000_000, "residual": True},
        ],
        "waterfall": [
            {"pay_fees": ["trustee"]},
            {"pay_interest": "A"},
            {"pay_interest": "B"},
            {"pay_principal": {"tranches": ["A", "B"], "mode": "sequential"}},
            {"pay_residual": "Sub"},
        ],
    },
}


def deal_dict(**sections: Any) -> dict[str, Any]:
    """A copy of :data:`BASE` with top-level sections replaced or merged (dicts merge one level)."""
    d = copy.deepcopy(BASE)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(d.get(key), dict):
            d[key] = {**d[key], **value}
        else:
            d[key] = value
    return d


def make_deal(**sections: Any) -> DealSpec:
    """A validated deal from :func:`deal_dict`."""
    return parse_deal(deal_dict(**sections))


@pytest.fixture
def base_deal() -> DealSpec:
    return make_deal()


@pytest.fixture(autouse=True)
def greenabs_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test keeps its runs in a store of its own, never in ~/.greenabs."""
    home = tmp_path_factory.mktemp("greenabs_home")
    monkeypatch.setenv("GREENABS_HOME", str(home))
    return home
