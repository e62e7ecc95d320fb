"""Independent references for a circuit's derivatives: galois' formal derivative of the univariate
restrictions, and the gates' polynomials on truncated dual numbers (jets), which scale to any size."""

from __future__ import annotations

import numpy as np

from paralens.laws.reports import _Worst
from paralens.laws.rows import _CField


def _galois_jacobian(cf: _CField, R, polys, X):
    """``J[r, j, i] = d f_j / d x_i`` at row ``r`` of ``X``: each ``f_j`` made a univariate polynomial
    in ``x_i`` by substituting the row's other coordinates into its formal terms, and differentiated
    by galois (``galois.Poly(...).derivative()``), independently of ``reverse``."""
    import galois

    F = cf.F
    GFc = F.galois
    p, n, rows = F.characteristic, R.n, len(X)
    one = cf.arr(np.ones(rows, dtype=np.int64))
    powers: dict = {}

    def power(l, e):
        if (l, e) not in powers:
            powers[(l, e)] = X[:, l] ** e
        return powers[(l, e)]


    def el(v):  # one element, in the dtype of F.array (galois compiles its ufuncs per dtype)
        return F.array(np.array(int(v), dtype=object if F.order > 2**62 else np.int64))

    gen = el(p) if R.ext else None
    derivs: dict = {}
    J = cf.zeros((rows, len(polys), n))
    for j, f in enumerate(polys):
        for i in range(n):
            coefs: dict = {}
            for mon, c in f.terms():
                d = mon[i]
                if d == 0:
                    continue
                coeff = el(int(c) % p)
                if R.ext and mon[n]:
                    coeff = coeff * gen ** mon[n]
                val = one * coeff
                for l in range(n):
                    if l != i and mon[l]:
                        val = val * power(l, mon[l])
                coefs[d] = coefs[d] + val if d in coefs else val
            total = cf.zeros(rows)
            for d, cd in coefs.items():
                if d not in derivs:  # (t^d)' by galois, read back as (coefficient, degree) terms
                    dp = galois.Poly.Degrees([d], field=GFc).derivative()
                    derivs[d] = [(el(int(k)), int(e)) for k, e in zip(dp.nonzero_coeffs, dp.nonzero_degrees)
                                 if int(k)]
                for k, e in derivs[d]:
                    total = total + cd * (one * k if e == 0 else X[:, i] ** e * k)
            J[:, j, i] = total
    return J


def _apply_jacobian_t(cf: _CField, J, DY):
    """``dx_i = sum_j J[:, j, i] dy_j`` row by row."""
    rows, m, n = J.shape
    out = cf.zeros((rows, n))
    for i in range(n):
        acc = cf.zeros(rows)
        for j in range(m):
            acc = acc + J[:, j, i] * DY[:, j]
        out[:, i] = acc
    return out


# -- an independent reference that scales: the gates' polynomials on truncated dual numbers ---------------
# A jet over k infinitesimals e_1 .. e_k (e_i^2 = 0, k <= 3) is a list of 2^k coefficients, one per subset
# S of {e_1 .. e_k} (bit i of the index: e_(i+1) is in S).  A polynomial evaluated at a + e_1 u_1 + ... +
# e_k u_k multiplies out exactly, so the coefficient of e_1 is J(a) u_1, of e_1 e_2 the formal second
# derivative d2f(a)[u_1, u_2], of e_1 e_2 e_3 the third: *formal* derivatives (x^p gives p x^(p-1) = 0),
# from the field's arithmetic alone.  Gates are read by their definitions (circuits of add, mul, neg and
# constants), never by their own evaluate or reverse rules, so this reference is independent of
# ``reverse`` and costs one vectorised step per operation: it runs on circuits of any size.

_JET_MAX_VALUES = 2**24  # field elements per coefficient array (wires x rows); fewer rows beyond it
_UNIT_PROBES = 8  # vectors of F^n, n up to this, are compared entry by entry (along the unit vectors)
_RANDOM_PROBES = 4  # longer ones along this many random directions per row


def _jet_mul(a: list, b: list) -> list:
    """``a * b`` in ``F[e_1 .. e_k] / (e_i^2)``: the coefficient of ``S`` is the sum over ``T`` in ``S``
    of ``a_T b_(S - T)``."""
    out = []
    for S in range(len(a)):
        T, acc = S, a[S] * b[0]
        while T:
            T = (T - 1) & S
            acc = acc + a[T] * b[S ^ T]
        out.append(acc)
    return out


def _jet_eval(cf: _CField, c, xs: list) -> list:
    """``c`` on jets: ``xs[S]`` holds the coefficient of ``S`` of every input, an array ``(n_inputs, *B)``;
    returns the outputs' coefficients, arrays ``(n_outputs, *B)``.  Gates run by their definitions."""
    from paralens.circuits import generators as G

    n_coef, batch = len(xs), xs[0].shape[1:]
    V = [cf.zeros((c.n_wires,) + batch) for _ in range(n_coef)]
    for S in range(n_coef):
        V[S][: c.n_inputs] = xs[S]
    for op in c.ops:
        if op.gen is G.CONST:
            V[0][op.out: op.out + op.k] = cf.arr(np.asarray(op.data)).reshape((op.k,) + (1,) * len(batch))
            continue
        args = [[V[S][a] for S in range(n_coef)] for a in op.args]
        if op.gen is G.ADD:
            outs = [[x + y for x, y in zip(*args)]]
        elif op.gen is G.MUL:
            outs = [_jet_mul(*args)]
        elif op.gen is G.NEG:
            outs = [[-x for x in args[0]]]
        elif isinstance(op.gen, G.Gate):
            ins = [_stacked(cf, [arg[S] for arg in args]) if args else cf.zeros((0, op.k) + batch)
                   for S in range(n_coef)]
            res = _jet_eval(cf, op.gen.definition(c.field), ins)
            outs = [[res[S][j] for S in range(n_coef)] for j in range(op.gen.n_out)]
        else:
            raise TypeError(f"no polynomial for generator {op.gen.name!r}: the reference knows add, mul, neg, "
                            f"const and gates with definitions")
        for j, o in enumerate(outs):
            for S in range(n_coef):
                V[S][op.out + j * op.k: op.out + (j + 1) * op.k] = o[S]
    return [V[S][c.outputs] for S in range(n_coef)]


def _taylor(cf: _CField, c, seeds: list[dict]) -> list[list]:
    """For each ``seed`` (subset -> rows ``(r, n)``; subset 0 is the point), the coefficients of
    ``c(sum_S e_S seed[S])`` as rows ``(r, m)``, indexed by subset; all seeds in one evaluation."""
    k = max(max(sd) for sd in seeds).bit_length()
    sizes = [len(sd[0]) for sd in seeds]
    cols = [_rows_of(cf, [sd[S] if S in sd else cf.zeros((len(sd[0]), c.n_inputs)) for sd in seeds]).T
            for S in range(2**k)]
    out = [y.T for y in _jet_eval(cf, c, cols)]
    cuts = np.cumsum(sizes)[:-1]
    return [list(parts) for parts in zip(*[np.split(y, cuts, axis=0) for y in out])]


def _stacked(cf: _CField, arrays: list):
    """``np.stack`` for field elements (through their integers, so the result is a FieldArray again)."""
    out = np.stack([cf.ints(a) for a in arrays])
    if cf.finite and out.dtype != object:
        out = out.astype(np.int64)
    return cf.arr(out)


def _rows_of(cf: _CField, blocks: list):
    """Blocks of rows ``(r_i, k)`` stacked into one ``(sum r_i, k)``."""
    parts = [cf.ints(b).reshape(len(b), -1) for b in blocks]
    out = np.concatenate(parts, axis=0)
    if cf.finite and out.dtype != object:
        out = out.astype(np.int64)
    return cf.arr(out)


def _jet_rows(c, k: int, rows: int, probes: int) -> int:
    """How many rows a jet evaluation over ``k`` infinitesimals with ``probes`` directions keeps."""
    return max(1, min(rows, _JET_MAX_VALUES // max(1, c.n_wires * probes * 2**k)))


def _probes(cf: _CField, rng, rows: int, n: int) -> tuple[list, str]:
    """Directions ``u`` that read a vector ``g`` of ``F^n`` as ``<g, u>``: the unit vectors when ``n`` is
    small (so every entry is compared), else a few random directions per row."""
    if n <= _UNIT_PROBES:
        units = []
        for i in range(n):
            e = np.zeros((rows, n), dtype=np.int64)
            e[:, i] = 1
            units.append(cf.arr(e))
        return units, "entry by entry"
    return [cf.random(rng, (rows, n)) for _ in range(_RANDOM_PROBES)], f"along {_RANDOM_PROBES} random directions"


def _along(cf: _CField, g, probes: list):
    """``<g, u>`` for each probe ``u``, as columns ``(rows, len(probes))``."""
    if not probes:
        return cf.zeros((len(g), 0))
    return cf.cat(*[cf.inner(g, u) for u in probes])


def _jet_first_order(cf: _CField, c, X, DY, RX, probes, acc_eval: _Worst, acc_rev: _Worst) -> None:
    """``c(x)`` against its gates' definitions, and ``<R[c](x, dy), u> = <dy, J(x) u>`` with ``J u`` from
    dual numbers, for each probe ``u``."""
    if probes:
        coefs = _taylor(cf, c, [{0: X, 1: u} for u in probes])
    else:
        coefs = _taylor(cf, c, [{0: X}])
    cf.compare(acc_eval, cf.eval(c, X), coefs[0][0], {"x": X},
               "c(x) differs from its gates' definitions evaluated generator by generator")
    want = cf.cat(*[cf.inner(DY, co[1]) for co in coefs]) if probes else cf.zeros((len(X), 0))
    cf.compare(acc_rev, _along(cf, RX, probes), want, {"x": X, "dy": DY},
               "reverse(c)(x, dy) differs from J(x)^T dy with J by dual numbers on the gates' polynomials")


def _jet_second_order(cf: _CField, c, RR, A, B, Vv, probes, acc_fwd: _Worst, acc_sym: _Worst) -> None:
    """``R[R[c]]((a, b), v) = (b^T H(a)[-, v], J(a) v)`` against hyper-dual numbers: ``pi_1`` entry by
    entry, ``pi_0`` along each probe ``u`` as ``<b, H(a)[u, v]>`` (formal, hence symmetric, ``H``)."""
    n = c.n_inputs
    out = cf.eval(RR, cf.cat(A, B, Vv))
    ex = {"a": A, "b": B, "v": Vv}
    Jv = _taylor(cf, c, [{0: A, 1: Vv}])[0][1]
    cf.compare(acc_fwd, out[:, n:], Jv, ex,
               "pi_1 R[R[f]]((a, b), v) differs from J(a) v by dual numbers on the gates' polynomials")
    want = cf.cat(*[cf.inner(B, co[3]) for co in _taylor(cf, c, [{0: A, 1: u, 2: Vv} for u in probes])]) \
        if probes else cf.zeros((len(A), 0))
    cf.compare(acc_sym, _along(cf, out[:, :n], probes), want, ex,
               "pi_0 R[R[f]]((a, b), v) differs from b^T H(a)[-, v], H the formal second derivative "
               "by hyper-dual numbers")


def _jet_third_order(cf: _CField, c, RRR, P, probes, acc: _Worst) -> None:
    """``R[R[R[c]]](((a, b), v), (p, q))`` against third-order dual numbers: the three blocks are
    ``b^T T(a)[-, p, v] + q^T H(a)[-, v]``, ``H(a)[p, v]`` and ``b^T H(a)[p, -] + J(a)^T q``."""
    n, m = c.n_inputs, c.n_outputs
    a, b, v, p, q = (P[:, s:e] for s, e in _cuts([n, m, n, n, m]))
    out = cf.eval(RRR, P)
    da, db, dv = out[:, :n], out[:, n: n + m], out[:, n + m:]
    ex = {"a": a, "b": b, "v": v, "p": p, "q": q}
    cf.compare(acc, db, _taylor(cf, c, [{0: a, 1: p, 2: v}])[0][3], ex,
               "the b block of R[R[R[f]]] differs from H(a)[p, v] by hyper-dual numbers")
    if not probes:
        return
    coefs = _taylor(cf, c, [{0: a, 1: u, 2: p, 4: v} for u in probes])
    want_a = cf.cat(*[cf.inner(b, co[7]) + cf.inner(q, co[5]) for co in coefs])
    want_v = cf.cat(*[cf.inner(b, co[3]) + cf.inner(q, co[1]) for co in coefs])
    cf.compare(acc, _along(cf, da, probes), want_a, ex,
               "the a block of R[R[R[f]]] differs from b^T T(a)[-, p, v] + q^T H(a)[-, v] (third-order dual numbers)")
    cf.compare(acc, _along(cf, dv, probes), want_v, ex,
               "the v block of R[R[R[f]]] differs from b^T H(a)[p, -] + J(a)^T q (third-order dual numbers)")


def _cuts(sizes: list[int]) -> list[tuple[int, int]]:
    ends = np.cumsum(sizes)
    return [(int(e - s), int(e)) for s, e in zip(sizes, ends)]
