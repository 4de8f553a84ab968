"""The Python examples of the README and of docs/engine.md run as written (documentation that
is tested stays true)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize(
    "doc", ["README.md", "docs/engine.md", "docs/eco-assets.md", "docs/montecarlo.md"]
)
def test_python_examples_run(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{doc} has a Python example"
    proc = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def test_eco_asset_examples_parse_and_run() -> None:
    """Every list of assets written in docs/eco-assets.md is a valid pool that runs."""
    import yaml

    import greenabs

    text = (ROOT / "docs/eco-assets.md").read_text(encoding="utf-8")
    pools = [
        b
        for b in (yaml.safe_load(x) for x in re.findall(r"```yaml\n(.*?)```", text, flags=re.S))
        if isinstance(b, list) and all(isinstance(a, dict) and "type" in a for a in b)
    ]
    assert len(pools) >= 5, "docs/eco-assets.md shows each family"
    for assets in pools:
        deal = {
            "name": "doc example",
            "dates": {
                "cutoff": "2026-06-30",
                "closing": "2026-07-01",
                "first_payment": "2026-07-31",
            },
            "pool": {"assets": assets},
            "structure": {
                "tranches": [{"name": "E", "balance": 1.0, "residual": True}],
                "waterfall": [{"pay_residual": "E"}],
            },
        }
        result = greenabs.run(greenabs.parse_deal(deal))
        assert result.pool.flows["collections"].sum() > 0
