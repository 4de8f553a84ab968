"""The monthly order of events of an amortising asset, defined once.

Every backend runs these functions and nothing else for the arithmetic of a month: the
NumPy reference calls them on (scenario, asset) arrays, the Numba kernel inlines them on
scalars, and the CUDA kernel runs their C translation (:func:`to_c`, checked against NumPy by a
test that compiles it on the host).  A fast loop may specialise the inputs (no delinquency, no
foreclosure) but cannot change the algebra.

They are written in a small subset of Python that translates to C: one assignment per line to
a plain name, arithmetic, ``minimum`` / ``maximum`` (element-wise for NumPy, the scalar
``min`` / ``max`` for Numba: :func:`scalar`), and a final ``return`` of names.

Order of events of month ``j`` for one asset (SIFMA Standard Formulas, section C.3), on the
performing balance ``b`` at the start of the month:

1. defaults ``D = b * mdr`` leave the performing balance (their accrued interest is lost; an
   asset whose default time is this month has ``mdr = 1``);
   with delinquency, balance that went delinquent ``dq_lag`` months ago comes back
   (``back``): a ``cure`` share to the performing balance, the rest defaults; then ``mdq`` of
   what survived the defaults goes delinquent (its accrued interest is lost);
2. interest accrues on the surviving balance ``b - D`` at ``accr`` (the state keeps interest
   accrued and unpaid per unit of performing balance, so prepaid and defaulted balance take
   their share without a division);
3. scheduled principal ``P = (b - D) * f`` is due (``f`` is the scheduled fraction, 1 - AF);
4. voluntary prepayment: with ``bom = 1`` (the Standard Formulas) ``V = b * (1 - f) * SMM``
   on the same beginning-of-month balance as the defaults; with ``bom = 0`` (the "defaults
   first" option) ``V = (b - D - P) * SMM``; never more than what is left;
5. on payment months (``pw = 1``) the accrued interest is collected; otherwise prepayments
   carry their share of it.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from typing import Any

import numpy as np

__all__ = ["foreclosure_step", "month_step", "performing_step", "scalar", "to_c"]

TINY = 1e-300
minimum = np.minimum
maximum = np.maximum


def scalar(fn: Any) -> Any:
    """``fn`` reading the scalar ``min`` and ``max`` (what Numba compiles to fast, vectorisable
    code; NumPy's ufuncs on scalars are several times slower there)."""
    glob = {**fn.__globals__, "minimum": min, "maximum": max}
    out = types.FunctionType(fn.__code__, glob, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__qualname__ = fn.__qualname__ + "_scalar"
    return out


def month_step(
    b: Any,
    ar: Any,
    dqb: Any,
    back: Any,
    accr: Any,
    pw: Any,
    f: Any,
    smm: Any,
    mdr: Any,
    mdq: Any,
    cure: Any,
    bom: Any,
) -> tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any]:
    """One month of one asset.  State: performing balance ``b``, interest accrued and unpaid
    per unit of it ``ar``, delinquent balance ``dqb``; ``back`` is the delinquent balance
    returning this month.  Returns the new ``(b, ar, dqb)``, the newly delinquent balance
    ``nd`` and the flows ``(begin, interest, scheduled, prepaid, default)``."""
    begin = b + dqb
    d = b * mdr
    b2 = b - d
    d = d + back * (1.0 - cure)
    nd = b2 * mdq
    kept = b2 - nd
    b2 = kept + back * cure
    ar = ar * (kept + TINY) / (b2 + TINY)
    dqb = dqb + nd - back
    r = ar + accr
    sp = b2 * f
    left = b2 - sp
    pp = bom * minimum(b * (1.0 - f) * smm, left) + (1.0 - bom) * left * smm
    it = r * (pw * b2 + (1.0 - pw) * (sp + pp))
    ar = (1.0 - pw) * r
    b = left - pp
    return b, ar, dqb, nd, begin, it, sp, pp, d


def performing_step(
    b: Any, ar: Any, accr: Any, pw: Any, f: Any, smm: Any, mdr: Any, bom: Any
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """:func:`month_step` without delinquency (``dqb = back = mdq = 0``), the common case, in
    a form the compiler vectorises.  Returns ``(b, ar, interest, scheduled, prepaid,
    default)``; a test holds it equal to :func:`month_step`."""
    d = b * mdr
    b2 = b - d
    r = ar + accr
    sp = b2 * f
    left = b2 - sp
    pp = bom * minimum(b * (1.0 - f) * smm, left) + (1.0 - bom) * left * smm
    it = r * (pw * b2 + (1.0 - pw) * (sp + pp))
    ar = (1.0 - pw) * r
    b = left - pp
    return b, ar, it, sp, pp, d


def foreclosure_step(
    units: Any,
    cum: Any,
    u_rel: Any,
    d_rel: Any,
    d: Any,
    f: Any,
    accr: Any,
    sev: Any,
    adv_p: Any,
    adv_i: Any,
) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    """Loans in foreclosure under servicer advancing (Standard Formulas C.3).

    A default ``D`` of month ``t`` enters foreclosure as ``D / cum`` units, ``cum`` being the
    product of the asset's scheduled amortisation factors before month ``t``; while in
    foreclosure its scheduled amortisation is advanced (``adv_p = 1``) and so is the interest
    on it (``adv_i = 1``).  The cohort leaving (``u_rel`` units, defaulted balance ``d_rel``) is
    liquidated at its amortised default balance ``adb``: loss ``min(sev * d_rel, adb)``,
    recovery ``adb - loss``.  Without principal advancing the balance does not amortise
    (``adb = d_rel``).  Returns the new ``(units, cum)``, the units of this month's defaults
    (``u_new``, to release ``rec_lag`` months later) and the month's advanced principal,
    advanced interest, recovery and loss.
    """
    adb = u_rel * cum
    loss = minimum(sev * d_rel, adb)
    rec = adb - loss
    fcl = units * cum + d
    a_int = adv_i * fcl * accr
    u_new = d / maximum(cum, TINY)
    units = units - u_rel + u_new
    cum2 = cum * (1.0 - adv_p * f)
    a_prin = units * (cum - cum2)
    return units, cum2, u_new, a_prin, a_int, rec, loss


def to_c(fn: Any) -> str:
    """The C (CUDA device) translation of a step function: same statements, ``double``
    locals, outputs through pointers named ``out_<name>``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    func = tree.body[0]
    assert isinstance(func, ast.FunctionDef)
    params = [a.arg for a in func.args.args]

    class _C(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> Any:
            names = {"minimum": "fmin", "maximum": "fmax"}
            return ast.Name(id=names.get(node.id, node.id), ctx=node.ctx)

        def visit_Attribute(self, node: ast.Attribute) -> Any:
            raise ValueError(f"{fn.__name__}: attribute {ast.unparse(node)} has no C form")

    def expr(node: ast.expr) -> str:
        return ast.unparse(_C().visit(node))

    declared = set(params)
    lines: list[str] = []
    outputs: list[str] = []
    for stmt in func.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring
        if isinstance(stmt, ast.Assign):
            (target,) = stmt.targets
            assert isinstance(target, ast.Name), "one plain name per assignment"
            prefix = "" if target.id in declared else "double "
            declared.add(target.id)
            lines.append(f"    {prefix}{target.id} = {expr(stmt.value)};")
        elif isinstance(stmt, ast.Return):
            assert isinstance(stmt.value, ast.Tuple)
            for i, el in enumerate(stmt.value.elts):
                assert isinstance(el, ast.Name)
                outputs.append(f"out{i}")
                lines.append(f"    *out{i} = {el.id};")
        else:
            raise ValueError(f"{fn.__name__}: statement {ast.unparse(stmt)} has no C form")
    args = [f"double {p}" for p in params] + [f"double* out{i}" for i in range(len(outputs))]
    body = "\n".join(lines)
    return (
        f"__device__ __host__ static inline void {fn.__name__}({', '.join(args)})\n"
        f"{{\n    const double TINY = {TINY!r};\n{body}\n}}\n"
    )
