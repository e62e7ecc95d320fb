"""The laws on polynomial circuits, where R of a circuit is a circuit: :func:`check_circuit_laws` and
:func:`check_circuit_category_laws`.

A circuit ``c : F^n -> F^m`` over a field is checked with its reverse derivative ``reverse(c)`` (a
circuit ``F^n x F^m -> F^n``), which can be reversed again: the CRDC axioms RD.6 and RD.7 are checked
in their own form, on ``R[R[R[c]]]`` and on the forward derivative ``D[c] = (iota_0 x 1) R[R[c]] pi_1``.
Self-consistency cannot see a rule that is right as a function but formally wrong, so R[c], R[R[c]],
R[R[R[c]]] and D[D[c]] are also compared with truncated dual numbers on the gates' definitions
(:mod:`paralens.laws.reference`),
which scale to any size; sympy is used up to ``max_gates`` and its laws are SKIPPED beyond.
Rows are every point of ``F^(n + m)`` (``F^(2n + m)``, ``F^(3n + 2m)`` for the second and third
derivatives) when there are at most ``max_points`` of them, else ``samples`` random ones; each
comparison is one vectorised check per row, so ``checks`` counts rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from paralens.laws.reference import (
    _apply_jacobian_t,
    _galois_jacobian,
    _jet_first_order,
    _jet_rows,
    _jet_second_order,
    _jet_third_order,
    _probes,
    _taylor,
)
from paralens.laws.reports import LawReport, LawResult, _skip, _Worst
from paralens.laws.rows import _DOUBLE_REVERSE_MAX_OPS, _REFERENCE_MAX_POINTS, _CField, _COpts, _copts


def _square_layer(F, m: int):
    """``y -> y * y`` on each of ``m`` wires (a nonlinear partner circuit)."""
    return _C().layer(F, "mul", m, np.arange(m), np.arange(m)) if m else _C().identity(F, 0)


def _mix(F, n: int):
    """``x_i -> x_i x_{i+1} + x_i`` (cyclically), ``n -> n``: a nonlinear circuit that mixes wires."""
    if n == 0:
        return _C().identity(F, 0)
    from paralens.circuits.syntax import Builder

    b = Builder(F, n)
    x = b.inputs()
    return b.build(b.add(b.mul(x, np.roll(x, -1)), x), name=f"mix{n}")


def _circuit_sum(f, g):
    """``f + g = <f, g> ; +`` as a circuit: ``copy >> (f @ g) >> add``."""
    F, n, m = f.field, f.n_inputs, f.n_outputs
    add = _C().layer(F, "add", 2 * m, np.arange(m), np.arange(m, 2 * m)) if m else _C().identity(F, 0)
    return _C().copy(F, n) >> (f @ g) >> add


def _circuit_pair(f, g):
    """``<f, g> = copy >> (f @ g)``."""
    return _C().copy(f.field, f.n_inputs) >> (f @ g)


def _zero_circuit(F, n: int, m: int):
    from paralens.circuits.syntax import Builder

    b = Builder(F, n)
    return b.build(b.const(np.zeros(m, dtype=np.int64)) if m else np.zeros(0, dtype=np.int64))


def _split(c, at: int):
    """``c = c1 >> c2`` cut after its first ``at`` operations (the wires crossing the cut pass on)."""
    from paralens.circuits.syntax import Builder, Circuit

    ops1, ops2 = c.ops[:at], c.ops[at:]
    boundary = c.n_inputs + sum(op.n_wires for op in ops1)
    used = set(int(w) for op in ops2 for a in op.args for w in a if w < boundary)
    used |= set(int(w) for w in c.outputs if w < boundary)
    W = np.array(sorted(used), dtype=np.int64)
    c1 = Circuit(c.field, c.n_inputs, ops1, W)
    wmap = np.full(c.n_wires, -1, dtype=np.int64)
    wmap[W] = np.arange(len(W))
    b = Builder(c.field, len(W))
    for op in ops2:
        outs = b.op(op.gen, *[wmap[a] for a in op.args], data=op.data)
        for j, o in enumerate(outs):
            wmap[op.out + j * op.k: op.out + (j + 1) * op.k] = o
    return c1, b.build(wmap[c.outputs])


def _forward_derivative(c, rr=None):
    """``D[c] = (iota_0 x 1) ; R[R[c]] ; pi_1 : (a, v) -> J(a) v`` as a circuit ``2n -> m``."""
    from paralens.circuits.syntax import Builder

    rr = rr if rr is not None else _rev(_rev(c))
    n, m = c.n_inputs, c.n_outputs
    b = Builder(c.field, 2 * n)
    zeros = b.const(np.zeros(m, dtype=np.int64)) if m else np.zeros(0, dtype=np.int64)
    blocks = [np.array([i]) for i in range(n)] + [zeros[j: j + 1] for j in range(m)] + \
             [np.array([n + i]) for i in range(n)]
    outs = b.inline(rr, blocks)
    return b.build(np.concatenate([o.reshape(-1) for o in outs[n:]]) if m else np.zeros(0, np.int64)).prune()


def _is_multilinear(R, polys) -> bool:
    return all(max(mon[: R.n], default=0) <= 1 for f in polys for mon in f.monoms())


def _is_linear_polys(R, polys) -> bool:
    return all(sum(mon[: R.n]) == 1 for f in polys for mon in f.monoms())


# -- the case: a circuit, its reverse derivatives, the rows and the references, computed once ------------


@dataclass
class _Case:
    """Everything the circuit laws look at, computed once by :func:`_circuit_case`.

    The rows are ``XD = (X, DY)`` (every point of ``F^(n + m)`` when small, else samples); the other
    random blocks are drawn once from the same generator, in a fixed order, and every circuit (``c``,
    ``R[c]``, ``R[R[c]]``, the partner ``g``) is evaluated on all the rows its laws need at once.
    """

    c: Any
    o: _COpts
    cf: _CField
    label: str
    n: int
    m: int
    how: str  # how the rows were chosen
    XD: Any
    X: Any
    DY: Any
    # random blocks: X2, V, U of F^n; DZ, D2, B1, B2 of F^m; a scalar s per row; zeros
    X2: Any
    V: Any
    U: Any
    DZ: Any
    D2: Any
    B1: Any
    B2: Any
    s: Any
    zn: Any
    zm: Any
    # the circuit and its derivatives
    Rc: Any
    RR: Any
    RRR: Any  # None when R[R[c]] is too large to reverse again
    Df: Any  # D[c], the forward derivative
    DDf: Any  # None when D[c] is too large to differentiate again
    # c, R[c] and R[R[c]] on the rows
    Y: Any = None
    Y2: Any = None
    YV: Any = None
    RX: Any = None
    R_sum: Any = None
    R_2: Any = None
    R_0: Any = None
    R_s: Any = None
    R_at2: Any = None
    RR_b1: Any = None
    RR_b2: Any = None
    RR_v: Any = None
    RR_u: Any = None
    # the symbolic meaning (None, with why, when sympy is not used)
    ring: Any = None
    polys: Any = None
    why: str | None = None
    # the partner g = c >> square, R[g], on the rows
    g: Any = None
    GX: Any = None
    GX2: Any = None
    RG: Any = None
    RGz: Any = None
    RGz2: Any = None
    # the reference rows and probes (drawn from their own generator, in this order)
    probes: list = field(default_factory=list)
    probe_how: str = ""
    Z: Any = None  # rows (a, b, v) of F^(2n + m) for R[R[c]]
    zhow: str = ""
    zprobes: list = field(default_factory=list)
    zprobe_how: str = ""
    P: Any = None  # rows (a, b, v, p, q) of F^(3n + 2m) for R[R[R[c]]] (None when it is not built)
    phow: str = ""
    pprobes: list = field(default_factory=list)
    pprobe_how: str = ""

    @property
    def F(self):
        return self.c.field

    @property
    def ex(self) -> dict:
        return {"x": self.X, "dy": self.DY}

    @property
    def Dv(self):
        """``pi_1 R[R[c]]((x, b1), v)``: the forward derivative ``J(x) v``."""
        return self.RR_b1[:, self.n:]

    def worst(self, law: str) -> _Worst:
        return _Worst(law, self.label)


def _circuit_case(c, o: _COpts) -> _Case:
    """The circuit, its reverse derivatives, the rows and the reference points, computed once."""
    F, cf = c.field, _CField(c.field, o)
    n, m = c.n_inputs, c.n_outputs
    rng = np.random.default_rng(o.seed)
    XD, how = cf.rows(n + m, rng, f"{F.name}^{n + m} (x, dy)")
    rows = len(XD)
    # the random values every law uses, drawn once
    X2, V, U = (cf.random(rng, (rows, n)) for _ in range(3))
    DZ, D2, B1, B2 = (cf.random(rng, (rows, m)) for _ in range(4))
    s = cf.scalars(rng, rows)
    Rc = _rev(c)
    RR = _rev(Rc)
    Df = _forward_derivative(c, RR)
    k = _Case(c, o, cf, c.label(), n, m, how, XD, XD[:, :n], XD[:, n:], X2, V, U, DZ, D2, B1, B2, s,
              cf.zeros((rows, n)), cf.zeros((rows, m)), Rc, RR,
              _rev(RR) if len(RR.ops) <= _DOUBLE_REVERSE_MAX_OPS else None,
              Df, _forward_derivative(Df) if len(Df.ops) <= _DOUBLE_REVERSE_MAX_OPS // 2 else None)
    _evaluate_case(k)
    k.ring, k.polys, k.why = _symbolic_polys(c, o)
    _reference_rows(k, np.random.default_rng(o.seed + 17))
    return k


def _evaluate_case(k: _Case) -> None:
    """``c``, ``R[c]``, ``R[R[c]]`` and the partner ``g = c >> square`` on the rows, each in one evaluation."""
    cf, X, DY, X2 = k.cf, k.X, k.DY, k.X2
    k.Y, k.Y2, k.YV = cf.evals(k.c, X, X2, k.V)
    k.RX, k.R_sum, k.R_2, k.R_0, k.R_s, k.R_at2 = cf.evals(
        k.Rc, k.XD, cf.cat(X, DY + k.D2), cf.cat(X, k.D2), cf.cat(X, k.zm), cf.cat(X, k.s * DY), cf.cat(X2, DY))
    k.RR_b1, k.RR_b2, k.RR_v, k.RR_u = cf.evals(k.RR, cf.cat(X, k.B1, k.V), cf.cat(X, k.B2, k.V),
                                                cf.cat(X, DY, k.V), cf.cat(X, DY, k.U))
    k.g = k.c >> _square_layer(k.F, k.m)
    k.GX, k.GX2 = cf.evals(k.g, X, X2)
    k.RG, k.RGz, k.RGz2 = cf.evals(_rev(k.g), cf.cat(X, DY), cf.cat(X, k.DZ), cf.cat(X2, k.DZ))


def _symbolic_polys(c, o: _COpts) -> tuple:
    """``(ring, polys, None)`` by sympy, or ``(None, None, why)`` when the circuit is too large for it."""
    from paralens.circuits.symbolic import SymbolicTooLarge, _circuit_ring_polys

    if c.n_gates > o.max_gates:
        return None, None, f"{c.n_gates} gates, more than max_gates={o.max_gates} for sympy"
    try:
        ring, polys = _circuit_ring_polys(c, o.max_terms)
    except SymbolicTooLarge as e:
        return None, None, str(e)
    return ring, polys, None


def _reference_rows(k: _Case, ref_rng) -> None:
    """The probes and the rows of the dual-number references, drawn from ``ref_rng`` in a fixed order."""
    cf, F, n, m = k.cf, k.F, k.n, k.m
    k.probes, k.probe_how = _probes(cf, ref_rng, len(k.XD), n)
    k.Z, k.zhow = cf.rows(2 * n + m, ref_rng, f"{F.name}^{2 * n + m} (a, b, v)")
    k.zprobes, k.zprobe_how = _probes(cf, ref_rng, len(k.Z), n)
    if k.RRR is not None:
        k.P, k.phow = cf.rows(3 * n + 2 * m, ref_rng, f"{F.name}^{3 * n + 2 * m} (a, b, v, p, q)")
        k.pprobes, k.pprobe_how = _probes(cf, ref_rng, len(k.P), n)


def _first(keep: int, rows: int, how: str) -> str:
    return how if keep == rows else f"the first {keep} of {how}"


# -- the laws, each a function of the case -------------------------------------------------------------


def _law_symbolic(k: _Case) -> list[LawResult]:
    """``evaluate-vs-symbolic`` and ``reverse-vs-symbolic``: against :mod:`paralens.circuits.symbolic`."""
    from paralens.circuits.symbolic import _reverse_exprs, change_symbols, evaluate_sympy, input_symbols

    if k.polys is None:
        return [_skip("evaluate-vs-symbolic", k.label, k.why), _skip("reverse-vs-symbolic", k.label, k.why)]
    cf, F, R, polys = k.cf, k.F, k.ring, k.polys
    xs, dys = input_symbols(k.n), change_symbols(k.m)
    acc = k.worst("evaluate-vs-symbolic")
    acc.notes.append(k.how)
    cf.compare(acc, k.Y, evaluate_sympy([R.to_expr(f) for f in polys], F, k.X, symbols=xs), {"x": k.X},
               "c(x) differs from its polynomials (to_sympy)")
    rev = k.worst("reverse-vs-symbolic")
    rev.notes.append(k.how)
    cf.compare(rev, k.RX, evaluate_sympy(_reverse_exprs(R, polys, dys), F, k.XD, symbols=xs + dys), k.ex,
               "reverse(c)(x, dy) differs from symbolic_reverse(c) (formal partial derivatives)")
    return [acc.result(), rev.result()]


def _law_reference(k: _Case) -> list[LawResult]:
    """``evaluate-vs-reference`` and ``reverse-vs-reference``: dual numbers on the gates' polynomials (any
    size), and galois / the Boolean difference / finite differences where they apply."""
    rows = len(k.XD)
    acc_ev, acc = k.worst("evaluate-vs-reference"), k.worst("reverse-vs-reference")
    keep = _jet_rows(k.c, 1, rows, max(len(k.probes), 1))
    _jet_first_order(k.cf, k.c, k.X[:keep], k.DY[:keep], k.RX[:keep], [u[:keep] for u in k.probes], acc_ev, acc)
    jet_how = _first(keep, rows, k.how)
    acc_ev.notes.append(f"the gates' definitions generator by generator; {jet_how}")
    acc.notes.append(f"dual numbers on the gates' polynomials, {k.probe_how}; {jet_how}")
    if k.F.is_finite and k.polys is not None:
        _reverse_vs_galois(k, acc)
        if k.F.is_binary:
            _reverse_vs_boolean_difference(k, acc)
    elif not k.F.is_finite:
        _reverse_vs_finite_differences(k, acc)
    return [acc_ev.result(), acc.result()]


def _reverse_vs_galois(k: _Case, acc: _Worst) -> None:
    keep = min(len(k.XD), _REFERENCE_MAX_POINTS)
    Xr, DYr = k.X[:keep], k.DY[:keep]
    J = _galois_jacobian(k.cf, k.ring, k.polys, Xr)
    k.cf.compare(acc, k.RX[:keep], _apply_jacobian_t(k.cf, J, DYr), {"x": Xr, "dy": DYr},
                 "reverse(c) differs from galois' formal derivative of the univariate restrictions")
    acc.notes.append(f"galois Poly.derivative at {keep} points")


def _reverse_vs_boolean_difference(k: _Case, acc: _Worst) -> None:
    if not _is_multilinear(k.ring, k.polys):
        acc.notes.append("not multilinear: the Boolean difference is the functional, not the formal, derivative")
        return
    cf, X, rows = k.cf, k.X, len(k.XD)
    ones = cf.arr(np.ones(rows, dtype=np.int64))
    flips = []
    for i in range(k.n):
        Xi = X.copy()
        Xi[:, i] = Xi[:, i] + ones
        flips.append(Xi)
    JB = cf.zeros((rows, k.m, k.n))
    for i, Yi in enumerate(cf.evals(k.c, *flips) if k.n else []):
        JB[:, :, i] = k.Y + Yi
    cf.compare(acc, k.RX, _apply_jacobian_t(cf, JB, k.DY), k.ex,
               "reverse(c) differs from the Boolean difference f(x) xor f(x xor e_i) (multilinear c)")
    acc.notes.append("and the Boolean difference (multilinear)")


def _reverse_vs_finite_differences(k: _Case, acc: _Worst) -> None:
    cf, X, n = k.cf, k.X, k.n
    JF = np.zeros((len(X), k.m, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1e-6 * max(1.0, float(np.abs(X[:, i]).mean()))
        yp, ym = cf.evals(k.c, X + e, X - e)
        JF[:, :, i] = (yp - ym) / (2 * e[i])
    _CField(k.F, replace(k.o, rtol=1e-4, atol=1e-5)).compare(
        acc, k.RX, np.einsum("rji,rj->ri", JF, k.DY), k.ex, "reverse(c) differs from central finite differences")
    acc.notes.append("and central finite differences")


def _law_rd1_sum(k: _Case) -> LawResult:
    """RD.1 with the partner ``g = c >> square``: ``R[f + g] = R[f] + R[g]``, ``R[0] = 0``."""
    cf, X = k.cf, k.X
    acc = k.worst("RD.1 sum")
    fg = _circuit_sum(k.c, k.g)
    cf.compare(acc, cf.eval(fg, X), k.Y + k.GX, {"x": X}, "(f + g)(x) != f(x) + g(x)")
    cf.compare(acc, cf.eval(_rev(fg), k.XD), k.RX + k.RG, k.ex, "R[f + g](x, dy) != R[f](x, dy) + R[g](x, dy)")
    cf.compare(acc, cf.eval(_rev(_zero_circuit(k.F, k.n, k.m)), k.XD), k.zn, k.ex, "R[0](x, dy) != 0")
    acc.notes.append(f"g = c >> square; {k.how}")
    return acc.result()


def _law_rd4_pairing(k: _Case) -> LawResult:
    """RD.4: ``R[<f, g>](x, (dy, dz)) = R[f](x, dy) + R[g](x, dz)`` and ``R[!] = 0``."""
    cf, X = k.cf, k.X
    acc = k.worst("RD.4 pairing")
    pair = _circuit_pair(k.c, k.g)
    cf.compare(acc, cf.eval(pair, X), cf.cat(k.Y, k.GX), {"x": X}, "<f, g>(x) != (f(x), g(x))")
    cf.compare(acc, cf.eval(_rev(pair), cf.cat(X, k.DY, k.DZ)), k.RX + k.RGz, {"x": X, "dy": k.DY, "dz": k.DZ},
               "R[<f, g>](x, (dy, dz)) != R[f](x, dy) + R[g](x, dz)")
    cf.compare(acc, cf.eval(_rev(_C().discard(k.F, k.n)), X), k.zn, {"x": X}, "R[!](x) != 0")
    return acc.result()


def _law_tensor(k: _Case) -> LawResult:
    """``R preserves @``: ``R[f @ g]((x, x2), (dy, dz)) = (R[f](x, dy), R[g](x2, dz))``."""
    cf, X, X2 = k.cf, k.X, k.X2
    acc = k.worst("R preserves @")
    T = k.c @ k.g
    cf.compare(acc, cf.eval(T, cf.cat(X, X2)), cf.cat(k.Y, k.GX2), {"x": X, "x2": X2},
               "(f @ g)(x, x2) != (f(x), g(x2))")
    cf.compare(acc, cf.eval(_rev(T), cf.cat(X, X2, k.DY, k.DZ)), cf.cat(k.RX, k.RGz2),
               {"x": X, "x2": X2, "dy": k.DY, "dz": k.DZ}, "R[f @ g]((x, x2), (dy, dz)) != (R[f](x, dy), R[g](x2, dz))")
    return acc.result()


def _law_rd2_additivity(k: _Case) -> LawResult:
    acc = k.worst("RD.2 additivity")
    k.cf.compare(acc, k.R_sum, k.RX + k.R_2, {"x": k.X, "dy1": k.DY, "dy2": k.D2},
                 "R[f](x, dy1 + dy2) != R[f](x, dy1) + R[f](x, dy2)")
    k.cf.compare(acc, k.R_0, k.zn, {"x": k.X}, "R[f](x, 0) != 0")
    return acc.result()


def _law_rd6_homogeneity(k: _Case) -> LawResult:
    acc = k.worst("RD.6 linearity")
    k.cf.compare(acc, k.R_s, k.s * k.RX, {"x": k.X, "dy": k.DY, "s": k.s}, "R[f](x, s dy) != s R[f](x, dy)")
    return acc.result()


def _law_rd3(k: _Case) -> list[LawResult]:
    """RD.3: identity, projections, copy, add, discard (on the field and arity of c)."""
    return _circuit_rd3(k.F, max(k.n, 1), max(k.m, 1), k.o)


def _law_rd5_chain_rule(k: _Case) -> LawResult:
    """RD.5 on a cut of c, and on composites with a mixing circuit."""
    cf, X, F, c = k.cf, k.X, k.F, k.c
    acc = k.worst("RD.5 chain rule")
    pieces = []
    if len(c.ops) >= 2:
        pieces.append(("a cut of c", *_split(c, len(c.ops) // 2)))
    pieces.append(("c >> mix", c, _mix(F, k.m)))
    pieces.append(("mix >> c", _mix(F, k.n), c))
    if k.n == k.m:
        pieces.append(("c >> c", c, c))
    for name, f1, f2 in pieces:
        h = f1 >> f2
        A = cf.eval(f1, X)
        inner = cf.eval(_rev(f2), cf.cat(A, k.DY))
        want = cf.eval(_rev(f1), cf.cat(X, inner))
        cf.compare(acc, cf.eval(h, X), cf.eval(f2, A), {"x": X}, f"{name}: (f >> g)(x) != g(f(x))")
        cf.compare(acc, cf.eval(_rev(h), k.XD), want, {"x": X, "dz": k.DY},
                   f"{name}: R[f >> g](x, dz) != R[f](x, R[g](f(x), dz))")
    acc.notes.append(", ".join(p[0] for p in pieces))
    return acc.result()


def _law_rd6_forward_derivative(k: _Case) -> LawResult:
    """``R[R[f]]((a, b), v) = (b^T H(a)[-, v], J(a) v)``: the second half is the forward derivative, free
    of b, and adjoint to ``R[f]``."""
    acc = k.worst("RD.6 R[R[f]] forward derivative")
    k.cf.compare(acc, k.Dv, k.RR_b2[:, k.n:], {"x": k.X, "b1": k.B1, "b2": k.B2, "v": k.V},
                 "pi_1 R[R[f]]((a, b), v) depends on b (it is J(a) v)")
    k.cf.compare(acc, k.cf.inner(k.Dv, k.DY), k.cf.inner(k.V, k.RX), {"x": k.X, "v": k.V, "dy": k.DY},
                 "<pi_1 R[R[f]]((a, 0), v), dy> != <v, R[f](a, dy)> (forward and reverse derivative are not adjoint)")
    return acc.result()


def _law_second_vs_reference(k: _Case) -> list[LawResult]:
    """The forward derivative and the Hessian in ``R[R[f]]`` against hyper-dual numbers at ``(a, b, v)``."""
    n, m, Z = k.n, k.m, k.Z
    fwd, hess = k.worst("RD.6 R[R[f]] forward vs reference"), k.worst("RD.7 R[R[f]] Hessian vs reference")
    keep = _jet_rows(k.c, 2, len(Z), max(len(k.zprobes), 1))
    _jet_second_order(k.cf, k.c, k.RR, Z[:keep, :n], Z[:keep, n: n + m], Z[:keep, n + m:],
                      [u[:keep] for u in k.zprobes], fwd, hess)
    zhow = _first(keep, len(Z), k.zhow)
    fwd.notes.append(f"dual numbers on {zhow}")
    hess.notes.append(f"hyper-dual numbers, {k.zprobe_how}, on {zhow}")
    return [fwd.result(), hess.result()]


def _law_third(k: _Case) -> list[LawResult]:
    """RD.6 through ``R[R[R[f]]]``: self-consistency, then against third-order dual numbers."""
    law = "RD.6 R[R[R[f]]]"
    if k.RRR is None:
        why = f"R[R[c]] has {len(k.RR.ops)} operations, more than {_DOUBLE_REVERSE_MAX_OPS} to reverse again"
        return [_skip(law, k.label, why), _skip(law + " vs reference", k.label, why)]
    cf, n, m = k.cf, k.n, k.m
    acc = k.worst(law)
    out = cf.eval(k.RRR, cf.cat(k.X, k.B1, k.zn, k.zn, k.DY))
    cf.compare(acc, out[:, n + m:], k.RX, {"a": k.X, "b": k.B1, "dy": k.DY},
               "pi_1 R[R[R[f]]](((a, b), 0), (0, dy)) != R[f](a, dy)")
    ref = k.worst(law + " vs reference")
    keep = _jet_rows(k.c, 3, len(k.P), max(len(k.pprobes), 1))
    _jet_third_order(cf, k.c, k.RRR, k.P[:keep], [u[:keep] for u in k.pprobes], ref)
    ref.notes.append(f"third-order dual numbers, {k.pprobe_how}, on {_first(keep, len(k.P), k.phow)}")
    return [acc.result(), ref.result()]


def _law_rd7_symmetry(k: _Case) -> LawResult:
    """RD.7 as for maps: ``d/du <R[f](a, dy), v>`` is symmetric in ``(u, v)``; on circuits the gradient of
    ``a -> <R[f](a, dy), v>`` is the first half of ``R[R[f]]((a, dy), v)``."""
    cf, n = k.cf, k.n
    acc = k.worst("RD.7 symmetry")
    cf.compare(acc, cf.inner(k.RR_v[:, :n], k.U), cf.inner(k.RR_u[:, :n], k.V),
               {"a": k.X, "dy": k.DY, "u": k.U, "v": k.V},
               "<pi_0 R[R[f]]((a, dy), v), u> != <pi_0 R[R[f]]((a, dy), u), v> (the Hessian is not symmetric)")
    return acc.result()


def _law_rd7_exchange(k: _Case) -> list[LawResult]:
    """RD.7 in CRDC form: ``D[D[f]]((a, b), (c, d)) = D[D[f]]((a, c), (b, d))``, and it is
    ``H(a)[c, b] + J(a) d`` by hyper-dual numbers."""
    law = "RD.7 D[D[f]] exchange"
    if k.DDf is None:
        why = f"D[c] has {len(k.Df.ops)} operations, more than {_DOUBLE_REVERSE_MAX_OPS // 2} to differentiate again"
        return [_skip(law, k.label, why), _skip("RD.7 D[D[f]] vs reference", k.label, why)]
    cf, X, rows = k.cf, k.X, len(k.XD)
    acc = k.worst(law)
    Bv, Cv, Dd = k.X2, k.U, k.V
    cf.compare(acc, cf.eval(k.Df, cf.cat(X, k.V)), k.Dv, {"a": X, "v": k.V}, "D[f] != pi_1 R[R[f]]((a, 0), v)")
    left, right = cf.evals(k.DDf, cf.cat(X, Bv, Cv, Dd), cf.cat(X, Cv, Bv, Dd))
    cf.compare(acc, left, right, {"a": X, "b": Bv, "c": Cv, "d": Dd},
               "D[D[f]]((a, b), (c, d)) != D[D[f]]((a, c), (b, d))")
    ref = k.worst("RD.7 D[D[f]] vs reference")
    keep = _jet_rows(k.c, 2, rows, 1)
    cut = {"a": X[:keep], "b": Bv[:keep], "c": Cv[:keep], "d": Dd[:keep]}
    want = _taylor(cf, k.c, [{0: cut["a"], 1: cut["c"], 2: cut["b"], 3: cut["d"]}])[0][3]
    cf.compare(ref, left[:keep], want, cut,
               "D[D[f]]((a, b), (c, d)) differs from H(a)[c, b] + J(a) d by hyper-dual numbers")
    ref.notes.append(f"hyper-dual numbers on {_first(keep, rows, k.how)}")
    return [acc.result(), ref.result()]


def _law_linear_adjoint(k: _Case) -> list[LawResult]:
    """For a linear circuit: additive, and ``R[f](a, -)`` is the adjoint of f at every a (no result otherwise)."""
    linear = _is_linear_polys(k.ring, k.polys) if k.polys is not None else \
        all(op.gen.name in ("add", "neg") for op in k.c.ops)
    if not linear:
        return []
    cf, X, X2 = k.cf, k.X, k.X2
    acc = k.worst("RD.6 linear map adjoint")
    cf.compare(acc, cf.eval(k.c, X + X2), k.Y + k.Y2, {"u": X, "v": X2}, "f(u + v) != f(u) + f(v)")
    cf.compare(acc, cf.inner(k.YV, k.DY), cf.inner(k.V, k.RX), {"a": X, "v": k.V, "w": k.DY},
               "<f(v), w> != <v, R[f](a, w)>")
    cf.compare(acc, k.R_at2, k.RX, {"a1": X, "a2": X2, "w": k.DY},
               "R[f](a, w) of a linear circuit depends on the point a")
    return [acc.result()]


# the laws of check_circuit_laws, in the order of its report: each takes the case and returns a result, or a
# list of results (none when it does not apply)
_CIRCUIT_LAWS: tuple[Callable[[_Case], LawResult | list[LawResult]], ...] = (
    _law_symbolic,
    _law_reference,
    _law_rd1_sum,
    _law_rd4_pairing,
    _law_tensor,
    _law_rd2_additivity,
    _law_rd6_homogeneity,
    _law_rd3,
    _law_rd5_chain_rule,
    _law_rd6_forward_derivative,
    _law_second_vs_reference,
    _law_third,
    _law_rd7_symmetry,
    _law_rd7_exchange,
    _law_linear_adjoint,
)


def check_circuit_laws(c, **options) -> LawReport:
    """Check a :class:`~paralens.circuits.Circuit` and its reverse derivative against the CRDC laws.

    Options: ``exhaustive`` (None: every point of ``F^(n+m)`` when there are at most
    ``max_points``, default 20,000; True/False force it), ``samples`` (random rows otherwise,
    default 64), ``seed``, ``max_gates`` (larger circuits skip the sympy checks, default 200),
    ``max_terms`` (so do circuits whose polynomials grow beyond it), ``rtol``/``atol`` (reals).

    Laws: ``evaluate-vs-symbolic`` and ``reverse-vs-symbolic`` (against :mod:`paralens.circuits.symbolic`);
    ``evaluate-vs-reference`` and ``reverse-vs-reference`` (truncated dual numbers on the gates'
    definitions, at any size; and galois' formal derivative of the univariate restrictions, over GF(2)
    for multilinear circuits also the Boolean difference, over the reals finite differences);
    RD.1 .. RD.7 in their CRDC form on circuits (R of a circuit is a circuit, reversed again for
    RD.6 and RD.7), ``R preserves @``, the chain rule on a cut of ``c`` and on composites; and the
    second and third derivatives ``R[R[c]]``, ``R[R[R[c]]]`` and ``D[D[c]]`` against hyper-dual
    numbers (``... vs reference``: the formal Hessian and third derivative of the gates' polynomials,
    never the gates' reverse rules), exhaustively over their inputs when there are at most
    ``max_points`` of them.  Each result counts its checks (one per row); a failure names the law and
    the worst row; a check that cannot run (sympy on a large circuit) is SKIPPED, with why.

        >>> from paralens.fields import GF
        >>> from paralens.circuits import Circuit
        >>> report = check_circuit_laws(Circuit.generator(GF(3), "mul"))
        >>> report.ok, report.complete, report["RD.7 R[R[f]] Hessian vs reference"].checks  # all of GF(3)^5
        (True, True, 243)
        >>> big = check_circuit_laws(Circuit.generator(GF(3), "mul"), max_gates=0)
        >>> [r.law for r in big.skipped], big.ok, big.complete
        (['evaluate-vs-symbolic', 'reverse-vs-symbolic'], True, False)
        >>> big.summary()
        '24 checked, 22 passed, 2 skipped'
    """
    o = _copts(options)
    case = _circuit_case(c, o)
    results: list[LawResult] = []
    for law in _CIRCUIT_LAWS:
        out = law(case)
        results += [out] if isinstance(out, LawResult) else out
    return LawReport(case.label, results)


@functools.lru_cache(maxsize=64)
def _circuit_rd3_cached(F, n: int, m: int, o: _COpts) -> tuple:
    cf = _CField(F, o)
    rng = np.random.default_rng(o.seed + 8)
    A, how = cf.rows(n + m, rng, f"{F.name}^{n + m}")
    rows = len(A)
    a = A[:, :n]
    da, db, d2 = cf.random(rng, (rows, n)), cf.random(rng, (rows, m)), cf.random(rng, (rows, n))
    zn, zm = cf.zeros((rows, n)), cf.zeros((rows, m))
    C = _C()
    cases = [
        ("RD.3 R[1] = pi_1", C.identity(F, n), a, da, da),
        ("RD.3 R[pi_0] = pi_1 ; iota_0", C.wiring(F, n + m, np.arange(n)), A, da, cf.cat(da, zm)),
        ("RD.3 R[pi_1] = pi_1 ; iota_1", C.wiring(F, n + m, np.arange(n, n + m)), A, db, cf.cat(zn, db)),
        ("RD.3 R[copy] = add", C.copy(F, n), a, cf.cat(da, d2), da + d2),
        ("RD.3 R[add] = copy", C.generator(F, "add", n), cf.cat(a, d2), da, cf.cat(da, da)),
        ("RD.3 R[!] = 0", C.discard(F, n), a, cf.zeros((rows, 0)), zn),
    ]
    out = []
    for law, circ, x, d, want in cases:
        acc = _Worst(law, f"{F.name}^{n}")
        cf.compare(acc, cf.eval(_rev(circ), cf.cat(x, d)), want, {"x": x, "d": d}, f"{law} fails")
        acc.notes.append(how)
        out.append(acc.result())
    return tuple(out)


def _circuit_rd3(F, n: int, m: int, o: _COpts) -> list[LawResult]:
    """RD.3 and the wiring: ``R[1] = pi_1``, ``R[pi_0] = pi_1 ; iota_0``, ``R[pi_1] = pi_1 ; iota_1``,
    ``R[copy] = add``, ``R[add] = copy``, ``R[!] = 0``, on circuits over the field (they do not depend
    on the circuit checked, only on its field and arity: computed once for each)."""
    return [replace(r, counterexample=dict(r.counterexample)) for r in _circuit_rd3_cached(F, n, m, o)]


def check_circuit_category_laws(f, g, h, **options) -> LawReport:
    """Associativity, identities and interchange for circuits ``f : A -> B``, ``g : B -> C``, ``h : C -> D``.

    * ``(f >> g) >> h = f >> (g >> h)``: both compute ``h(g(f(a)))`` and reverse to
      ``R[f](a, R[g](f a, R[h](g f a, dd)))``;
    * ``id >> f = f = f >> id``, values and reverse derivatives;
    * interchange ``(f @ g) >> (g @ h) = (f >> g) @ (g >> h)`` on pairs ``(a, b)``.

    Options as :func:`check_circuit_laws` (rows: exhaustive when small, else samples).
    """
    o = _copts(options)
    F = f.field
    cf = _CField(F, o)
    label = f"{f.label()}, {g.label()}, {h.label()}"
    rng = np.random.default_rng(o.seed + 10)
    na, nb, nc, nd = f.n_inputs, f.n_outputs, g.n_outputs, h.n_outputs
    assoc, left, right, inter = (_Worst(n, label) for n in (
        "category: associativity", "category: left identity", "category: right identity", "category: interchange"))
    XD, how = cf.rows(na + nd, rng, f"{F.name}^{na + nd}")
    rows = len(XD)
    X, DD = XD[:, :na], XD[:, na:]
    B = cf.eval(f, X)
    C = cf.eval(g, B)
    Dv = cf.eval(h, C)
    want_put = cf.eval(_rev(f), cf.cat(X, cf.eval(_rev(g), cf.cat(B, cf.eval(_rev(h), cf.cat(C, DD))))))
    for name, comp in (("(f >> g) >> h", (f >> g) >> h), ("f >> (g >> h)", f >> (g >> h))):
        cf.compare(assoc, cf.eval(comp, X), Dv, {"x": X}, f"{name} != h(g(f(x)))")
        cf.compare(assoc, cf.eval(_rev(comp), XD), want_put, {"x": X, "dd": DD},
                   f"R[{name}] != R[f](x, R[g](f x, R[h](g f x, dd)))")
    assoc.notes.append(how)
    DB = cf.random(rng, (rows, nb))
    RF = cf.eval(_rev(f), cf.cat(X, DB))
    for acc, comp, name in ((left, _C().identity(F, na) >> f, "id >> f"),
                            (right, f >> _C().identity(F, nb), "f >> id")):
        cf.compare(acc, cf.eval(comp, X), B, {"x": X}, f"{name} != f")
        cf.compare(acc, cf.eval(_rev(comp), cf.cat(X, DB)), RF, {"x": X, "db": DB}, f"R[{name}] != R[f]")
    Xb = cf.eval(f, cf.random(rng, (rows, na)))
    il, ir = (f @ g) >> (g @ h), (f >> g) @ (g >> h)
    P = cf.cat(X, Xb)
    want = cf.cat(C, cf.eval(h, cf.eval(g, Xb)))
    cf.compare(inter, cf.eval(il, P), want, {"a": X, "b": Xb}, "(f @ g) >> (g @ h) != (g f a, h g b)")
    cf.compare(inter, cf.eval(ir, P), want, {"a": X, "b": Xb}, "(f >> g) @ (g >> h) != (g f a, h g b)")
    DP = cf.random(rng, (rows, nc + nd))
    cf.compare(inter, cf.eval(_rev(il), cf.cat(P, DP)), cf.eval(_rev(ir), cf.cat(P, DP)),
               {"a": X, "b": Xb, "d": DP}, "R[(f @ g) >> (g @ h)] != R[(f >> g) @ (g >> h)]")
    return LawReport(label, [a.result() for a in (assoc, left, right, inter)])


def _C():
    """The Circuit class (imported lazily: paralens.laws does not need the circuits to load)."""
    from paralens.circuits.syntax import Circuit

    return Circuit


def _rev(c):
    from paralens.circuits.reverse import reverse

    return reverse(c)
