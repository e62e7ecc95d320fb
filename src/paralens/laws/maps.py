"""The laws of one map, lens or Para: its reverse derivative (over the reals and over Z_p), RD.2, RD.6,
RD.7, the functor R (a lens agrees with its map), a Para's ``backward_params`` and the chain rule RD.5."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np

from paralens.categories.functor import Map, MapCompose, MapTensor, R
from paralens.categories.lens import Compose, Identity, Lens, Tensor
from paralens.categories.para import Chain, Para, ParaLens, ParaTensor
from paralens.categories.pytree import flatten, tree_leaves, unflatten
from paralens.categories.types import Product
from paralens.laws.reports import LawReport, LawResult, _skip, _Worst
from paralens.laws.sampling import (
    _axpy,
    _diff,
    _inner,
    _like,
    _np,
    _out_of_range,
    _same_structure,
    _scale,
    _size,
    _zeros_like,
)
from paralens.laws.targets import _cmp_para, _compare, _label, _Opts, _opts, _safe, _Target, _tol

# -- the reverse derivative ------------------------------------------------------------------------


def check_reverse_derivative(f, **options) -> LawReport:
    """``R[f]`` is the reverse derivative of ``f``.

    Over the reals: central finite differences in float64, along random
    directions (``trials`` of them) and, when input and output have at most
    ``jacobian_max`` entries, the whole Jacobian.  Over Z_p: the transposed
    Jacobian of formal partial derivatives of the reduced polynomial, at every
    point when ``p ** n <= max_points`` (see the module docstring).  For a Para,
    the parameters and the input are checked separately.
    """
    o = _opts(options)
    t = _Target(f, o)
    if t.p is not None:
        return LawReport(t.label, _rd_zp(t, o))
    return LawReport(t.label, _rd_reals(t, o))


def _rd_reals(t: _Target, o: _Opts) -> list[LawResult]:
    rng = np.random.default_rng(o.seed)
    if t.kind == "para":
        accs = {"parameters": _Worst("reverse derivative in parameters", t.label),
                "input": _Worst("reverse derivative in input", t.label)}
    else:
        accs = {"all": _Worst("reverse derivative", t.label)}
    h = o.eps
    for x, y in t.points(rng, o.trials):
        dy = _like(y, rng, None)
        for part, acc in accs.items():
            v = _like(x, rng, None)
            if part == "parameters":
                v = (v[0], _zeros_like(x[1], None))
            elif part == "input":
                v = (_zeros_like(x[0], None), v[1])
            ex = t.example(x, v=v, db=dy)
            dx = _safe(acc, ex, (t.put, x, dy))
            if dx is None:
                continue
            bad = _same_structure(dx, x)
            if bad:
                acc.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
                continue
            ys = _safe(acc, ex, (t.get, _axpy(h, v, x)), (t.get, _axpy(-h, v, x)))
            if ys is None:
                continue
            lhs = (_inner(ys[0], dy) - _inner(ys[1], dy)) / (2 * h)
            rhs = _inner(dx, v)
            acc.add(abs(lhs - rhs), o.atol + o.rtol * max(abs(lhs), abs(rhs)), ex,
                    f"<f(a + h v) - f(a - h v), db> / 2h = {lhs:.8g} but <R[f](a, db), v> = {rhs:.8g}")
    # the whole Jacobian, for small sizes
    x = t.sample(rng)
    y = t.get(x)
    n, m = _size(x), _size(y)
    if n <= o.jacobian_max and m <= o.jacobian_max:
        jac = _jacobian_fd(t, x, h)
        jrev = np.zeros((m, n))
        ly, ty = flatten(y, sort_keys=True)
        for acc in accs.values():
            acc.notes.append(f"Jacobian {m}x{n} checked entrywise")
        ok = True
        for j in range(m):
            e = np.zeros(m)
            e[j] = 1.0
            dy = _unflat_vec(e, ly, ty, None)
            dx = _safe(next(iter(accs.values())), t.example(x, db=dy), (t.put, x, dy))
            if dx is None or _same_structure(dx, x):
                ok = False
                break
            jrev[j] = _flat_vec(dx, None)
        if ok:
            masks = _part_masks(t, x)
            for part, acc in accs.items():
                cols = masks[part]
                d = np.abs(jac[:, cols] - jrev[:, cols])
                if not d.size:
                    continue
                scale = float(np.max(np.abs(jac[:, cols])))
                err = float(np.max(d))
                where = np.unravel_index(int(np.argmax(d)), d.shape)
                acc.add(err, o.atol * 10 + o.rtol * scale, t.example(x),
                        f"Jacobian entry (output {where[0]}, input {np.flatnonzero(cols)[where[1]]}): finite "
                        f"differences give {jac[:, cols][where]:.8g}, R[f] gives {jrev[:, cols][where]:.8g}")
    return [a.result() for a in accs.values()]


def _part_masks(t: _Target, x) -> dict:
    n = _size(x)
    if t.kind != "para":
        return {"all": np.ones(n, bool)}
    npar = _size(x[0])
    m = np.zeros(n, bool)
    m[:npar] = True
    return {"parameters": m, "input": ~m}


def _flat_vec(x, p):
    leaves = tree_leaves(x, sort_keys=True)
    if not leaves:
        return np.zeros(0, np.float64 if p is None else np.int64)
    return np.concatenate([_np(a, p).ravel() for a in leaves])


def _unflat_vec(vec, like_leaves, tree, p):
    out, i = [], 0
    for a in like_leaves:
        k = int(np.size(a))
        out.append(_np(vec[i:i + k], p).reshape(np.shape(a)))
        i += k
    return unflatten(tree, out)


def _jacobian_fd(t: _Target, x, h):
    lx, tx = flatten(x, sort_keys=True)
    base = _flat_vec(x, None)
    cols = []
    for i in range(base.size):
        xp, xm = base.copy(), base.copy()
        xp[i] += h
        xm[i] -= h
        yp = _flat_vec(t.get(_unflat_vec(xp, lx, tx, None)), None)
        ym = _flat_vec(t.get(_unflat_vec(xm, lx, tx, None)), None)
        cols.append((yp - ym) / (2 * h))
    m = _size(t.get(x))
    return np.stack(cols, axis=1) if cols else np.zeros((m, 0))


def lagrange_derivative_matrix(p: int) -> np.ndarray:
    """``D[s, t] = L_t'(s)`` mod p, for the Lagrange basis ``L_t`` on the nodes ``0 .. p-1`` of Z_p.

    For a function ``g : Z_p -> Z_p``, ``sum_t g(t) D[s, t]`` is the derivative at ``s`` of the
    unique polynomial of degree < p through g (over Z2, ``g(0) + g(1)`` at either point).
    """
    D = np.zeros((p, p), np.int64)
    for t in range(p):
        denom = 1
        for s in range(p):
            if s != t:
                denom = denom * (t - s) % p
        inv = pow(denom, p - 2, p)
        for r in range(p):
            total = 0
            for k in range(p):
                if k == t:
                    continue
                prod = 1
                for s in range(p):
                    if s != t and s != k:
                        prod = prod * (r - s) % p
                total = (total + prod) % p
            D[r, t] = total * inv % p
    return D


def _rd_zp(t: _Target, o: _Opts) -> list[LawResult]:
    p = t.p
    rng = np.random.default_rng(o.seed)
    x0, y0 = t.first(rng)
    lx, tx = flatten(x0, sort_keys=True)
    ly, ty = flatten(y0, sort_keys=True)
    n, m = _size(x0), _size(y0)
    acc = _Worst("reverse derivative", t.label)
    closure = _Worst("Z_p closure", t.label)
    D = lagrange_derivative_matrix(p)
    cache: dict = {}

    def F(vec):
        key = vec.tobytes()
        if key not in cache:
            xv = _unflat_vec(vec, lx, tx, p)
            y = t.get(xv)
            closure.add(_out_of_range(y, p), 0, t.example(xv), "get returned values outside 0 .. p-1")
            cache[key] = _flat_vec(y, p) % p
        return cache[key]

    if p**n <= o.max_points:
        points = (np.array(a, np.int64) for a in itertools.product(range(p), repeat=n))
        acc.notes.append(f"exhaustive over all {p ** n} points of Z_{p}^{n}")
    else:
        k = max(1, o.max_points // (n * (p - 1) + 1))
        points = iter(rng.integers(0, p, size=(k, n), dtype=np.int64))
        acc.notes.append(f"{k} random points of Z_{p}^{n} (Z_{p}^{n} has more than max_points={o.max_points})")
    for a in points:
        xa = _unflat_vec(a, lx, tx, p)
        if _safe(acc, t.example(xa), (F, a)) is None:
            continue
        J = np.zeros((m, n), np.int64)
        for i in range(n):
            col = np.zeros(m, np.int64)
            for tv in range(p):
                if D[a[i], tv]:
                    b = a.copy()
                    b[i] = tv
                    col += F(b) * D[a[i], tv]
            J[:, i] = col % p
        dbs = [np.eye(m, dtype=np.int64)[j] for j in range(m)]
        dbs += [rng.integers(0, p, size=m, dtype=np.int64) for _ in range(o.trials)]
        for dbv in dbs:
            db = _unflat_vec(dbv, ly, ty, p)
            ex = t.example(xa, db=db)
            dx = _safe(acc, ex, (t.put, xa, db))
            if dx is None:
                continue
            bad = _same_structure(dx, xa)
            if bad:
                acc.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
                continue
            closure.add(_out_of_range(dx, p), 0, ex, "put returned values outside 0 .. p-1")
            expected = (J.T @ dbv) % p
            got = _flat_vec(dx, p) % p
            wrong = int(np.sum(got != expected))
            acc.add(wrong, 0, {**ex, "expected": _unflat_vec(expected, lx, tx, p)},
                    f"{wrong} entries of R[f](a, db) differ from the formal transposed Jacobian")
    return [acc.result(), closure.result()]


# -- RD.2 and RD.6: linearity in the change ----------------------------------------------------


def check_rd2_additivity(f, **options) -> LawReport:
    """RD.2: ``R[f](a, db1 + db2) = R[f](a, db1) + R[f](a, db2)`` and ``R[f](a, 0) = 0``."""
    o = _opts(options)
    t = _Target(f, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 1)
    acc = _Worst("RD.2 additivity", t.label)
    for x, y in t.points(rng, o.trials):
        d1, d2 = _like(y, rng, p), _like(y, rng, p)
        ex = t.example(x, db1=d1, db2=d2)
        res = _safe(acc, ex, (t.put, x, _axpy(1, d1, d2, p)), (t.put, x, d1), (t.put, x, d2),
                    (t.put, x, _zeros_like(y, p)))
        if res is None:
            continue
        s, r1, r2, r0 = res
        bad = _same_structure(s, x) or _same_structure(r0, x)
        if bad:
            acc.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
            continue
        err, scale = _diff(s, _axpy(1, r1, r2, p), p)
        acc.add(err, _tol(o, scale, p), ex, "R[f](a, db1 + db2) != R[f](a, db1) + R[f](a, db2)")
        err0, _ = _diff(r0, _zeros_like(x, p), p)
        acc.add(err0, _tol(o, 0.0, p), t.example(x), "R[f](a, 0) != 0")
    return LawReport(t.label, [acc.result()])


def _is_linear(f) -> bool:
    if isinstance(f, Map):
        return bool(f.linear)
    m = getattr(f, "map", None)
    if m is not None:
        return bool(m.linear)
    return isinstance(f, Identity)


def check_rd6_linearity(f, **options) -> LawReport:
    """RD.6: ``R[f](a, -)`` is linear in the change (homogeneity ``R[f](a, c db) = c R[f](a, db)``).

    For a map flagged ``linear`` (``Map(..., linear=True)``, or a lens ``R(map)`` of one) also:
    f is additive (``f(u + v) = f(u) + f(v)``, ``f(0) = 0``) and ``R[f](a, -)`` is its adjoint,
    ``<f(v), w> = <v, R[f](a, w)>`` at every point a.
    """
    o = _opts(options)
    t = _Target(f, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 2)
    hom = _Worst("RD.6 linearity", t.label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        c = float(rng.uniform(-3, 3)) if p is None else int(rng.integers(1, p)) if p > 2 else 1
        ex = t.example(x, db=d, c=c)
        res = _safe(hom, ex, (t.put, x, _scale(c, d, p)), (t.put, x, d))
        if res is None:
            continue
        bad = _same_structure(res[0], x)
        if bad:
            hom.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
            continue
        err, scale = _diff(res[0], _scale(c, res[1], p), p)
        hom.add(err, _tol(o, scale, p), ex, "R[f](a, c db) != c R[f](a, db)")
    results = [hom.result()]
    if t.kind != "para" and _is_linear(f):
        results += _linear_map_laws(t, o, rng)
    return LawReport(t.label, results)


def _linear_map_laws(t: _Target, o: _Opts, rng) -> list[LawResult]:
    p = t.p
    add = _Worst("RD.6 linear map is additive", t.label)
    adj = _Worst("RD.6 linear map adjoint", t.label)
    for _ in range(o.trials):
        u, v, a = t.sample(rng), t.sample(rng), t.sample(rng)
        res = _safe(add, {"u": u, "v": v}, (t.get, _axpy(1, u, v, p)), (t.get, u), (t.get, v),
                    (t.get, _zeros_like(u, p)))
        if res is not None:
            s, fu, fv, f0 = res
            err, scale = _diff(s, _axpy(1, fu, fv, p), p)
            add.add(err, _tol(o, scale, p), {"u": u, "v": v}, "f(u + v) != f(u) + f(v)")
            err0, _ = _diff(f0, _zeros_like(f0, p), p)
            add.add(err0, _tol(o, 0.0, p), {"u": u}, "f(0) != 0")
        w = _like(t.get(a), rng, p)
        res = _safe(adj, t.example(a, v=v, w=w), (t.get, v), (t.put, a, w), (t.put, u, w))
        if res is None:
            continue
        fv, ra, ru = res
        lhs, rhs = _inner(fv, w, p), _inner(v, ra, p)
        adj.add(abs(lhs - rhs), _tol(o, max(abs(lhs), abs(rhs)), p), t.example(a, v=v, w=w),
                f"<f(v), w> = {lhs:.8g} but <v, R[f](a, w)> = {rhs:.8g}")
        err, scale = _diff(ra, ru, p)
        adj.add(err, _tol(o, scale, p), {"a1": a, "a2": u, "w": w},
                "R[f](a, w) of a linear map depends on the point a")
    return [add.result(), adj.result()]


# -- RD.7: symmetry of mixed partial derivatives -------------------------------------------------


def check_rd7_symmetry(f, **options) -> LawReport:
    """RD.7 (reals): the derivative of ``a -> <R[f](a, db), v>`` along u is symmetric in u and v.

    That is the symmetry of the Hessian of ``a -> <f(a), db>``; a reverse derivative that is
    not the gradient of anything (a dropped cross term) breaks it.  Skipped over Z_p.
    """
    o = _opts(options)
    t = _Target(f, o)
    if t.p is not None:
        return LawReport(t.label, [_skip("RD.7 symmetry", t.label, "checked over the reals only")])
    rng = np.random.default_rng(o.seed + 3)
    acc = _Worst("RD.7 symmetry", t.label)
    h = math.sqrt(o.eps) * 1e-2  # second differences need a larger step than first ones
    for x, y in t.points(rng, o.trials):
        u, v, dy = _like(x, rng, None), _like(x, rng, None), _like(y, rng, None)
        ex = t.example(x, u=u, v=v, db=dy)
        res = _safe(acc, ex, (_mixed_second, t, x, u, v, dy, h))
        if res is None:
            continue
        s1, s2 = res
        acc.add(abs(s1 - s2), 100 * o.atol + 1e-4 * max(abs(s1), abs(s2)), ex,
                f"d/du <R[f](a, db), v> = {s1:.8g} but d/dv <R[f](a, db), u> = {s2:.8g}")
    return LawReport(t.label, [acc.result()])


def _mixed_second(t: _Target, x, u, v, dy, h):
    pu, mu = t.put(_axpy(h, u, x), dy), t.put(_axpy(-h, u, x), dy)
    pv, mv = t.put(_axpy(h, v, x), dy), t.put(_axpy(-h, v, x), dy)
    return (_inner(pu, v) - _inner(mu, v)) / (2 * h), (_inner(pv, u) - _inner(mv, u)) / (2 * h)


# -- the functor R: a lens agrees with the map it is the image of ---------------------------------


def check_lens_matches_map(f, **options) -> LawReport:
    """``R(map)`` is ``(map, R[map])``: a lens built with a cheaper residual agrees with its map.

    ``f`` is a lens with a ``.map`` (as :func:`~paralens.categories.functor.R` makes), a
    primitive Para whose lens has one, or a :class:`Map` (then ``R(f)`` is compared with it,
    which for a composite map compares ``R(f) ; R(g)`` with the map's own chain rule).
    """
    o = _opts(options)
    law = "R functor: lens = (f, R[f])"
    if isinstance(f, Map):
        m, lens = f, R(f)
    elif isinstance(f, ParaLens) and getattr(f.lens, "map", None) is not None:
        # the map takes (parameters, input): parameters without, the input with a batch dimension
        m, lens = f.lens.map, f.lens
        para = _Target(f, o)
        o = replace(o, sample=_param_tuple_sampler(para),
                    dom=Product((Product(tuple(s.type for s in f.params.values())), para.dom)))
    elif isinstance(f, Lens) and getattr(f, "map", None) is not None:
        m, lens = f.map, f
    else:
        return LawReport(_label(f), [_skip(law, _label(f), "not the image of a map")])
    if m.uses_ctx and o.ctx is not None:
        return LawReport(_label(f), [_skip(law, _label(f), "the map describes evaluation mode; a context was given")])
    tm, tl = _Target(m, o), _Target(lens, o)
    tl.label = tm.label = _label(f)
    p = tm.p
    rng = np.random.default_rng(o.seed + 4)
    acc = _Worst(law, tm.label)
    x, _ = tl.first(rng)
    for trial in range(o.trials):
        if trial:
            x = tm.sample(rng)
        res = _safe(acc, tm.example(x), (tm.get, x), (tl.get, x))
        if res is None:
            continue
        bad = _same_structure(res[0], res[1])
        if bad:
            acc.fail(f"lens get and map differ: {bad}", tm.example(x))
            continue
        err, scale = _diff(res[0], res[1], p)
        acc.add(err, _tol(o, scale, p) * 0.01, tm.example(x), "the lens's get differs from the map")
        d = _like(res[0], rng, p)
        res = _safe(acc, tm.example(x, db=d), (tm.put, x, d), (tl.put, x, d))
        if res is None:
            continue
        bad = _same_structure(res[0], res[1])
        if bad:
            acc.fail(f"lens put and R[f] differ: {bad}", tm.example(x, db=d))
            continue
        err, scale = _diff(res[0], res[1], p)
        acc.add(err, _tol(o, scale, p) * 0.01, tm.example(x, db=d), "the lens's put differs from R[f]")
    return LawReport(tm.label, [acc.result()])


def _param_tuple_sampler(para: _Target):
    names = tuple(para.f.params)

    def sample(rng):
        ps, a = para.sample(rng)
        return tuple(ps[n] for n in names), a

    return sample


def check_backward_params(f: Para, **options) -> LawReport:
    """A Para's ``backward_params`` (the parameter half of put, which training uses so the first
    layer need not compute the input's change) equals the ``dp`` of its full ``backward``."""
    o = _opts(options)
    law = "backward_params = dp of put"
    if not isinstance(f, Para):
        return LawReport(_label(f), [_skip(law, _label(f), "not a Para")])
    t = _Target(f, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 11)
    acc = _Worst(law, t.label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        ex = t.example(x, db=d)
        res = _safe(acc, ex, (_params_both_ways, f, x, d, o.ctx))
        if res is None:
            continue
        _cmp_para(acc, ex, res[0], res[1], p, o, "backward_params(residual, db) != backward(residual, db)[0]")
    return LawReport(t.label, [acc.result()])


def _params_both_ways(f: Para, x, d, ctx):
    _, r1 = f.forward(x[0], x[1], ctx)
    _, r2 = f.forward(x[0], x[1], ctx)
    return f.backward_params(r1, d), f.backward(r2, d)[0]


# -- RD.5: the chain rule, and R preserving the tensor --------------------------------------------


def check_chain_rule(f, g=None, **options) -> LawReport:
    """RD.5: ``R[f ; g](a, dc) = R[f](a, R[g](f(a), dc))``.

    With ``g``, checks the composite ``f >> g`` (maps: also ``R(f >> g) = R(f) >> R(g)``).
    Without, ``f`` must be a composite (a lens ``Compose``, a map ``f >> g``, a Para chain):
    its put is compared with the puts of its parts run one after another, and for tensors
    ``R[f @ g]`` with ``R[f] @ R[g]``.
    """
    o = _opts(options)
    if g is not None:
        if isinstance(f, Map) and isinstance(g, Map):
            h = f >> g
            report = _chain_map(h, o)
            report.extend(_chain_lens(R(h), o))
            return report
        return check_chain_rule(f >> g, **options)
    if isinstance(f, MapCompose):
        return _chain_map(f, o)
    if isinstance(f, MapTensor):
        return _tensor(R(f), o)
    if isinstance(f, Compose):
        return _chain_lens(f, o)
    if isinstance(f, Tensor):
        return _tensor(f, o)
    if isinstance(f, Chain):
        return _chain_para(f, o)
    if isinstance(f, ParaTensor):
        return _tensor(f, o)
    return LawReport(_label(f), [_skip("RD.5 chain rule", _label(f), "not a composite")])


def _chain_map(h: MapCompose, o: _Opts) -> LawReport:
    t = _Target(h, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 5)
    acc = _Worst("RD.5 chain rule", t.label)
    lens = R(h)
    for x, y in t.points(rng, o.trials):
        dc = _like(y, rng, p)
        res = _safe(acc, t.example(x, dc=dc), (_chain_map_run, h, lens, x, dc, o.ctx))
        if res is None:
            continue
        ref, rev, lput, c, lget = res
        _compare(acc, t, x, rev, ref, p, o, "R[f ; g](a, dc) != R[f](a, R[g](f(a), dc))", dc=dc)
        _compare(acc, t, x, lput, ref, p, o, "put of R(f) >> R(g) != R[f](a, R[g](f(a), dc))", dc=dc)
        _compare(acc, t, x, lget, c, p, o, "get of R(f) >> R(g) != g(f(a))", dc=dc)
    return LawReport(t.label, [acc.result()])


def _chain_map_run(h: MapCompose, lens: Lens, x, dc, ctx):
    b = h.f.fn(x)
    ref = h.f.reverse(x, h.g.reverse(b, dc))
    return ref, h.reverse(x, dc), lens.put(x, dc, ctx), h.g.fn(b), lens.get(x, ctx)


def _chain_lens(h: Lens, o: _Opts) -> LawReport:
    if not isinstance(h, Compose):
        label = _label(h)
        return LawReport(label, [_skip("RD.5 chain rule", label, "not a composite")])
    return _chain(h, o, _chain_lens_run, "composite")


def _chain(h, o: _Opts, run, noun: str) -> LawReport:
    """RD.5 for a composite ``h``: its get and put equal its parts' gets and puts taken in turn (``run``)."""
    t = _Target(h, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 5)
    acc = _Worst("RD.5 chain rule", t.label)
    for x, y in t.points(rng, o.trials):
        dc = _like(y, rng, p)
        res = _safe(acc, t.example(x, dc=dc), (run, h, x, dc, o.ctx))
        if res is None:
            continue
        ref, c, put, get = res
        _compare(acc, t, x, put, ref, p, o, f"put of the {noun} != the puts of its parts, in turn", dc=dc)
        _compare(acc, t, x, get, c, p, o, f"get of the {noun} != the gets of its parts, in turn", dc=dc)
    return LawReport(t.label, [acc.result()])


def _child(ctx, i):
    return None if ctx is None else ctx.child(i)


def _chain_lens_run(h: Compose, x, dc, ctx):
    xs = [x]
    for i, part in enumerate(h.parts):
        xs.append(part.get(xs[-1], _child(ctx, i)))
    d = dc
    for i in reversed(range(len(h.parts))):
        d = h.parts[i].put(xs[i], d, _child(ctx, i))
    return d, xs[-1], h.put(x, dc, ctx), h.get(x, ctx)


def _chain_para(h: Chain, o: _Opts) -> LawReport:
    return _chain(h, o, _chain_para_run, "chain")


def _chain_para_run(h: Chain, x, dc, ctx):
    ps, a = x
    subs = [{local: ps[full] for full, local in row} for row in h._table]
    xs = [a]
    for i, part in enumerate(h.parts):
        xs.append(part.get(subs[i], xs[-1], _child(ctx, i)))
    d, dp = dc, {}
    for i in reversed(range(len(h.parts))):
        dsub, d = h.parts[i].put(subs[i], xs[i], d, _child(ctx, i))
        for full, local in h._table[i]:
            dp[full] = dsub[local]
    return (dp, d), xs[-1], h.put(ps, a, dc, ctx), h.get(ps, a, ctx)


def _tensor(h, o: _Opts) -> LawReport:
    t = _Target(h, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 6)
    law = "R preserves @"
    acc = _Worst(law, t.label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        res = _safe(acc, t.example(x, db=d), (_tensor_run, h, t.kind, x, d))
        if res is None:
            continue
        ref, refget = res
        _compare(acc, t, x, t.put(x, d), ref, p, o, "put of f @ g != (put of f, put of g)", db=d)
        _compare(acc, t, x, t.get(x), refget, p, o, "get of f @ g != (get of f, get of g)", db=d)
    return LawReport(t.label, [acc.result()])


def _tensor_run(h, kind, x, d):
    if kind == "para":
        ps, (a0, a1) = x
        t0, t1 = h._table
        s0 = {lo: ps[n] for n, lo in t0}
        s1 = {lo: ps[n] for n, lo in t1}
        dp0, da0 = h.f.put(s0, a0, d[0])
        dp1, da1 = h.g.put(s1, a1, d[1])
        dp = {n: dp0[lo] for n, lo in t0}
        dp.update({n: dp1[lo] for n, lo in t1})
        return (dp, (da0, da1)), (h.f.get(s0, a0), h.g.get(s1, a1))
    return (h.f.put(x[0], d[0]), h.g.put(x[1], d[1])), (h.f.get(x[0]), h.g.get(x[1]))
