"""Scenario drivers: default months, per-month multipliers, rate paths, seeds and blocks; the
one monthly recursion and its backends."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenabs.assets import LeaseSpec, LoanSpec, ProjectedSpec, ReceivableSpec
from greenabs.assets.backends import available_backends
from greenabs.assets.recursion import foreclosure_step, month_step, performing_step, to_c
from greenabs.collateral import compile_pool_for, project
from greenabs.errors import SpecError
from greenabs.scenarios import Scenarios, generator
from tests.test_collateral import CUTOFF, assume, random_loans

LOANS = random_loans(3, 40)
BASE = assume(
    prepayment={"psa": 150}, default={"cdr": 0.03}, recovery={"rate": 0.4, "lag_months": 5}
)
BACKENDS = [b for b in ("numba",) if b in available_backends()]


def _pool(a: Any = BASE, assets: Any = LOANS, advancing: str = "none") -> Any:
    return compile_pool_for(assets, a, CUTOFF, advancing)


def _close(a: Any, b: Any, **kw: Any) -> None:
    for k in a.flows:
        np.testing.assert_allclose(a.flows[k], b.flows[k], rtol=1e-10, atol=1e-6, err_msg=k, **kw)


def test_every_asset_defaulting_in_month_one_leaves_only_recoveries() -> None:
    cp = _pool()
    sc = Scenarios.build(default_month=np.ones((1, len(LOANS))))
    f = project(cp, sc).flows
    total = sum(a.balance for a in LOANS)
    assert f["default"][0, 0] == pytest.approx(total)
    for k in ("interest", "scheduled_principal", "prepayment"):
        assert np.abs(f[k]).max() < 1e-9
    assert f["recovery"][0].sum() == pytest.approx(0.4 * total)
    assert f["recovery"][0, 5] == pytest.approx(0.4 * total)  # after the 5-month lag


def test_no_default_months_equals_the_zero_default_run() -> None:
    cp = _pool()
    never = project(cp, Scenarios.build(default_month=np.zeros((1, len(LOANS)))))
    zero = project(_pool(assume(prepayment={"psa": 150}, recovery={"rate": 0.4, "lag_months": 5})))
    _close(never, zero)


def test_an_asset_defaults_its_performing_balance_in_its_month() -> None:
    cp = _pool()
    i = next(k for k, a in enumerate(LOANS) if a.original_term - a.age > 12)
    months = np.zeros((1, len(LOANS)))
    months[0, i] = 7
    out = project(cp, Scenarios.build(default_month=months), loan_level=True)
    assert out.loan_level is not None
    row = list(out.ids).index(LOANS[i].id)
    level = {k: v[row] for k, v in out.loan_level.items()}
    assert np.flatnonzero(level["default"] > 1e-9).tolist() == [6]
    assert level["default"][6] == pytest.approx(level["begin_balance"][6], rel=1e-12)
    assert np.abs(level["end_balance"][6:]).max() < 1e-9
    assert out.flows["default"][0].sum() == pytest.approx(level["default"][6])


def test_scenarios_together_equal_scenarios_one_at_a_time() -> None:
    cp = _pool()
    rng = np.random.default_rng(5)
    n = len(LOANS)
    months = np.where(rng.random((4, n)) < 0.3, rng.integers(1, 60, (4, n)), 0)
    sc = Scenarios.build(
        default_month=months,
        smm_mult=rng.uniform(0.5, 2.0, (4, cp.n_asset_months)),
    )
    together = project(cp, sc)
    for s in range(4):
        one = project(cp, sc.take(s, s + 1))
        for k in together.flows:
            np.testing.assert_allclose(together.flows[k][s], one.flows[k][0], rtol=1e-12)
    blocked = project(cp, sc, block_size=3)
    _close(together, blocked)


def test_rate_paths_replace_the_curves() -> None:
    cp = _pool()
    m = cp.n_asset_months
    sc = Scenarios.build(cpr_path=np.full((2, m), 0.2), cdr_path=[[0.0] * m, [0.05] * m])
    f = project(cp, sc).flows
    flat = project(
        _pool(
            assume(
                prepayment={"cpr": 0.2},
                default={"cdr": 0.05},
                recovery={"rate": 0.4, "lag_months": 5},
            )
        )
    ).flows
    np.testing.assert_allclose(f["prepayment"][1], flat["prepayment"][0], rtol=1e-12)
    assert f["default"][0].sum() == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_on_every_scenario_input(backend: str) -> None:
    rng = np.random.default_rng(11)
    n = len(LOANS)
    months = np.where(rng.random((3, n)) < 0.4, rng.integers(1, 40, (3, n)), 0)
    cases = [
        (_pool(), Scenarios.build(default_month=months, smm_mult=[0.5, 1.0, 2.0])),
        (
            _pool(assume(prepayment={"cpr": 0.1}, prepayment_timing="after_defaults")),
            Scenarios.build(mdr_mult=rng.uniform(0, 3, (3, 1))),
        ),
        (
            _pool(
                assume(
                    prepayment={"psa": 100},
                    default={"sda": 200},
                    recovery={"rate": 0.7, "lag_months": 6},
                ),
                advancing="principal_and_interest",
            ),
            Scenarios.build(smm_mult=[1.0, 2.0]),
        ),
        (
            _pool(
                assume(default={"cdr": 0.04}, delinquency={"rate": 0.05, "cure_rate": 0.5}),
                assets=[*LOANS[:10], LeaseSpec(id="l", rate=0.05, rental=100, remaining_term=24)],
            ),
            Scenarios.build(smm_mult=[1.0, 3.0]),
        ),
    ]
    for cp, sc in cases:
        ref = project(cp, sc, loan_level=True)
        got = project(cp, sc, loan_level=True, backend=backend)
        _close(ref, got)
        assert ref.loan_level is not None
        assert got.loan_level is not None
        for k in ref.loan_level:
            np.testing.assert_allclose(got.loan_level[k], ref.loan_level[k], rtol=1e-10, atol=1e-6)


def test_delinquent_balance_curing_after_maturity_is_collected() -> None:
    """Two receivables due months apart, all delinquent balance cures: nothing is lost."""
    assets = [
        ReceivableSpec(id="a", balance=50e6, due_date="2026-03-31"),
        ReceivableSpec(id="b", balance=50e6, due_date="2027-12-31"),
    ]
    a = assume(delinquency={"rate": 0.5, "lag_months": 3, "cure_rate": 1.0})
    f = project(compile_pool_for(assets, a, date_(2026, 1, 1))).flows
    principal = f["scheduled_principal"][0].sum() + f["prepayment"][0].sum()
    assert principal == pytest.approx(100e6, abs=1e-4)
    assert f["default"][0].sum() == 0.0


def date_(y: int, m: int, d: int) -> Any:
    from datetime import date

    return date(y, m, d)


def test_projected_assets_take_default_months() -> None:
    proj = ProjectedSpec(
        id="p",
        cashflows=[
            {"date": "2026-06-30", "principal": 100.0, "interest": 5.0},
            {"date": "2026-12-31", "principal": 100.0, "interest": 5.0},
        ],
    )
    cp = _pool(assume(), [proj])
    f = project(cp, Scenarios.build(default_month=[[4]])).flows
    assert f["default"][0, 3] == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"default_month": np.ones((2, 3))}, "default_month"),  # 3 assets, pool has 40
        ({"default_month": np.full((1, 40), 999)}, "default_month"),  # outside the grid
        ({"default_month": np.full((1, 40), 1.5)}, "default_month"),
        ({"smm_mult": np.ones((1, 7))}, "smm_mult"),  # neither 1 nor M months
        ({"smm_mult": [1.0, 2.0], "mdr_mult": [1.0, 2.0, 3.0]}, "scenarios"),
        ({"cpr_path": [[0.1, 0.2]]}, "cpr_path"),  # shorter than the deal
        ({"cdr_path": [[1.5] * 200]}, "cdr_path"),
        ({"smm_mult": [np.nan]}, "smm_mult"),
        ({"index_paths": {"SHIBOR": [[0.02] * 10]}}, "index_paths"),
        ({"seed": -1}, "seed"),
        ({"default_month": np.zeros((1, 40)), "mdr_mult": [2.0]}, "default_month"),
        ({"cpr_path": np.full((1, 200), 0.1), "smm_mult": [2.0]}, "cpr_path"),
    ],
)
def test_bad_scenarios_name_the_argument(kwargs: dict[str, Any], where: str) -> None:
    with pytest.raises(SpecError) as err:
        project(_pool(), Scenarios.build(**kwargs))
    assert err.value.problems[0].where.startswith(where), err.value


def test_seeded_streams_do_not_depend_on_blocks() -> None:
    whole = [generator(42, s, "solar").standard_normal(3) for s in range(6)]
    again = [generator(42, s, "solar").standard_normal(3) for s in range(6)]
    np.testing.assert_array_equal(whole, again)
    assert not np.allclose(whole[0], whole[1])
    assert not np.allclose(generator(42, 0, "wind").standard_normal(3), whole[0])


# ------------------------------------------------------------------ the one recursion
_rate = st.floats(0.0, 1.0)
_amount = st.floats(0.0, 1e9)


@settings(max_examples=200)
@given(
    b=_amount,
    ar=st.floats(0.0, 0.1),
    accr=st.floats(0.0, 0.05),
    pw=st.sampled_from([0.0, 1.0]),
    f=_rate,
    smm=_rate,
    mdr=_rate,
    bom=st.sampled_from([0.0, 1.0]),
)
def test_fast_step_equals_the_general_step(
    b: float, ar: float, accr: float, pw: float, f: float, smm: float, mdr: float, bom: float
) -> None:
    fast = performing_step(b, ar, accr, pw, f, smm, mdr, bom)
    full = month_step(b, ar, 0.0, 0.0, accr, pw, f, smm, mdr, 0.0, 0.0, bom)
    nb, nar, _dq, _nd, begin, it, sp, pp, d = full
    assert begin == b
    np.testing.assert_allclose(fast, (nb, nar, it, sp, pp, d), rtol=1e-12, atol=1e-6)


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_c_translation_equals_numpy(tmp_path: Path) -> None:
    """The CUDA kernel runs :func:`to_c` of the steps; compile that C on the host and hold it
    equal to the Python steps on random inputs."""
    src = (
        "#include <math.h>\n#define __device__\n#define __host__\n#define static\n#define inline\n"
    )
    src += to_c(month_step) + to_c(foreclosure_step)
    (tmp_path / "steps.c").write_text(src)
    lib = tmp_path / "steps.so"
    subprocess.run(
        ["cc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(tmp_path / "steps.c")], check=True
    )
    so = ctypes.CDLL(str(lib))
    rng = np.random.default_rng(0)
    d = ctypes.c_double
    for fn, n_in, n_out in ((month_step, 12, 9), (foreclosure_step, 10, 7)):
        cfn = getattr(so, fn.__name__)
        cfn.restype = None
        cfn.argtypes = [d] * n_in + [ctypes.POINTER(d)] * n_out
        for _ in range(200):
            args = list(rng.uniform(0.0, 1.0, n_in))
            args[0] *= 1e6
            outs = [d() for _ in range(n_out)]
            cfn(*args, *[ctypes.byref(o) for o in outs])
            np.testing.assert_allclose([o.value for o in outs], fn(*args), rtol=1e-13, atol=1e-9)


def test_floating_assets_follow_each_scenarios_index_path() -> None:
    floater = LoanSpec(
        id="F", balance=1e6, index="LPR1Y", margin=0.01, original_term=60, reset_months=12
    )
    a = assume(rates={"LPR1Y": 0.03})
    cp = compile_pool_for([floater, *LOANS[:3]], a, CUTOFF)
    m = cp.n_asset_months
    sc = Scenarios.build(index_paths={"LPR1Y": [[0.03] * m, [0.05] * m]}, seed=1)
    got = project(cp, sc).flows
    for s, level in enumerate((0.03, 0.05)):
        flat = project(
            compile_pool_for([floater, *LOANS[:3]], assume(rates={"LPR1Y": level}), CUTOFF)
        )
        for k in got:
            np.testing.assert_allclose(got[k][s], flat.flows[k][0], rtol=1e-12, atol=1e-9)
