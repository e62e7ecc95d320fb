"""The laws of several morphisms: RD.1 sum, RD.3 identity and projections, RD.4 pairing, and the category
laws (associativity, identities, interchange) for lenses, maps and Paras."""

from __future__ import annotations

import numpy as np

from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.para import Para
from paralens.categories.types import ArrayType, Product, Type, as_type
from paralens.laws.reports import LawReport, _Worst
from paralens.laws.sampling import _axpy, _concrete, _like, _zeros_like, sample_value
from paralens.laws.targets import _cmp_para, _compare, _label, _Opts, _opts, _safe, _Target

# -- RD.1, RD.3, RD.4: the Cartesian left-additive structure ------------------------------------------


def _as_lens(f):
    return R(f) if isinstance(f, Map) else f


def _cod_type(f, dom: Type) -> Type:
    return _as_lens(f).output_type(dom)


def check_rd1(f, g, **options) -> LawReport:
    """RD.1: ``R[f + g] = R[f] + R[g]`` where ``f + g = <f, g> ; +``, and ``R[0] = 0``.

    ``f, g : A -> B`` are maps or lenses with one domain; the zero map is ``! ; 0``.
    """
    from paralens.categories import cartesian

    o = _opts(options)
    lf, lg = _as_lens(f), _as_lens(g)
    t = _Target(lf, o)
    cod = _concrete(_cod_type(lf, t.dom), o.shape)
    fg = cartesian.pair(lf, lg) >> cartesian.add(cod)
    zero_map = cartesian.delete(t.dom) >> cartesian.zero(cod)
    tfg = _Target(fg, _opts({**options, "dom": t.dom}))
    label = f"{t.label} + {_label(lg)}"
    tfg.label = label
    p = t.p
    rng = np.random.default_rng(o.seed + 7)
    acc = _Worst("RD.1 sum", label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        res = _safe(acc, t.example(x, db=d), (fg.get, x), (fg.put, x, d), (lf.get, x), (lg.get, x), (lf.put, x, d),
                    (lg.put, x, d), (zero_map.put, x, d))
        if res is None:
            continue
        s, sput, fx, gx, fput, gput, zput = res
        _compare(acc, t, x, s, _axpy(1, fx, gx, p), p, o, "(f + g)(a) != f(a) + g(a)", db=d)
        _compare(acc, t, x, sput, _axpy(1, fput, gput, p), p, o, "R[f + g](a, db) != R[f](a, db) + R[g](a, db)", db=d)
        _compare(acc, t, x, zput, _zeros_like(x, p), p, o, "R[0](a, db) != 0", db=d)
    return LawReport(label, [acc.result()])


def check_rd3(t=None, t2=None, *, identity=None, proj0=None, proj1=None, **options) -> LawReport:
    """RD.3: ``R[1] = pi_1``, ``R[pi_0] = pi_1 ; iota_0``, ``R[pi_1] = pi_1 ; iota_1``.

    Checks paralens's identity and projections on ``t`` (and ``t x t2``; default ``reals(3)``,
    any field), exactly, or your own ``identity=``, ``proj0=``, ``proj1=`` lenses or maps.
    """
    from paralens.categories import cartesian
    from paralens.categories.lens import identity as _identity

    o = _opts(options)
    ta = ArrayType((3,)) if t is None else _concrete(as_type(t), o.shape)
    tb = ta if t2 is None else _concrete(as_type(t2), o.shape)
    ident = _as_lens(identity) if identity is not None else _identity(ta)
    pr0 = _as_lens(proj0) if proj0 is not None else cartesian.proj0(ta, tb)
    pr1 = _as_lens(proj1) if proj1 is not None else cartesian.proj1(ta, tb)
    p = ta.field.p
    rng = np.random.default_rng(o.seed + 8)
    batch = o.batch if o.batch is not None else 2
    results = []
    for lens, law, fn in (
        (ident, "RD.3 R[1] = pi_1", lambda a, da, db: (a[0], da)),
        (pr0, "RD.3 R[pi_0] = pi_1 ; iota_0", lambda a, da, db: (a[0], (da, _zeros_like(a[1], p)))),
        (pr1, "RD.3 R[pi_1] = pi_1 ; iota_1", lambda a, da, db: (a[1], (_zeros_like(a[0], p), db))),
    ):
        tgt = _Target(lens, _opts({**options, "dom": ta if lens is ident else Product((ta, tb))}))
        acc = _Worst(law, tgt.label)
        for _ in range(o.trials):
            a = sample_value(ta, rng, batch), sample_value(tb, rng, batch)
            x = a[0] if lens is ident else a
            da, db = sample_value(ta, rng, batch), sample_value(tb, rng, batch)
            dy = da if lens is not pr1 else db
            want_get, want_put = fn(a, da, db)
            res = _safe(acc, tgt.example(x, db=dy), (lens.get, x), (lens.put, x, dy))
            if res is None:
                continue
            _compare(acc, tgt, x, res[0], want_get, p, o, "get is not the identity/projection", db=dy)
            _compare(acc, tgt, x, res[1], want_put, p, o, "put is not the reverse derivative of RD.3", db=dy)
        results.append(acc.result())
    return LawReport("identity and projections", results)


def check_rd4(f, g, **options) -> LawReport:
    """RD.4: ``R[<f, g>](a, (db, dc)) = R[f](a, db) + R[g](a, dc)`` and ``R[!] = 0``.

    ``<f, g> = copy >> (f @ g)`` (:func:`paralens.categories.cartesian.pair`); ``f`` and ``g`` are
    maps or lenses with one domain.  For maps, the map ``pair_map(f, g)`` is checked too.
    """
    from paralens.categories import cartesian

    o = _opts(options)
    lf, lg = _as_lens(f), _as_lens(g)
    t = _Target(lf, o)
    pairs = [cartesian.pair(lf, lg)]
    if isinstance(f, Map) and isinstance(g, Map):
        pairs.append(_MapAsLens(cartesian.pair_map(f, g)))
    bang = cartesian.delete(t.dom)
    label = f"<{t.label}, {_label(lg)}>"
    p = t.p
    rng = np.random.default_rng(o.seed + 9)
    acc = _Worst("RD.4 pairing", label)
    x, _ = t.first(rng)
    for trial in range(o.trials):
        if trial:
            x = t.sample(rng)
        res = _safe(acc, t.example(x), (lf.get, x), (lg.get, x))
        if res is None:
            continue
        fx, gx = res
        db, dc = _like(fx, rng, p), _like(gx, rng, p)
        for pr in pairs:
            res = _safe(acc, t.example(x, db=db, dc=dc), (pr.get, x), (pr.put, x, (db, dc)), (lf.put, x, db),
                        (lg.put, x, dc))
            if res is None:
                continue
            got, put, rf, rg = res
            _compare(acc, t, x, got, (fx, gx), p, o, "<f, g>(a) != (f(a), g(a))", db=db, dc=dc)
            _compare(acc, t, x, put, _axpy(1, rf, rg, p), p, o,
                     "R[<f, g>](a, (db, dc)) != R[f](a, db) + R[g](a, dc)", db=db, dc=dc)
        res = _safe(acc, t.example(x), (bang.put, x, ()))
        if res is not None:
            _compare(acc, t, x, res, _zeros_like(x, p), p, o, "R[!](a, ()) != 0")
    return LawReport(label, [acc.result()])


class _MapAsLens(Lens):
    """A map run as the lens ``(f, R[f])`` without going through R (for comparing the two)."""

    def __init__(self, m: Map):
        self.m, self.dom, self.cod, self.name = m, m.dom, m.cod, m.name

    def forward(self, a, ctx=None):
        return self.m.fn(a), a

    def backward(self, a, db):
        return self.m.reverse(a, db)


# -- the category laws -------------------------------------------------------------------------------


def check_category_laws(f, g, h, **options) -> LawReport:
    """Associativity, identities and interchange, for ``f : A -> B``, ``g : B -> C``, ``h : C -> D``.

    * ``(f >> g) >> h = f >> (g >> h)``, also against the explicit lens composite
      ``get = h(g(f(a)))``, ``put = f*(a, g*(f(a), h*(g(f(a)), dd)))``;
    * ``id >> f = f = f >> id``;
    * interchange ``(f @ g) >> (g @ h) = (f >> g) @ (g >> h)`` on pairs ``(a, b)``.

    Lenses, maps (compared through ``fn``/``reverse`` and through R) or Paras (each given
    distinct parameter names with ``.named`` so both sides share one parameter tree).
    """
    o = _opts(options)
    kinds = {"para" if isinstance(z, Para) else "map" if isinstance(z, Map) else "lens" for z in (f, g, h)}
    if "para" in kinds:
        f, g, h = (Para.lift(z) if not isinstance(z, Para) else z for z in (_as_lens(f), _as_lens(g), _as_lens(h)))
        return _category_para(f, g, h, o)
    if kinds == {"map"}:
        report = _category_lens(R(f), R(g), R(h), o, maps=(f, g, h))
        return report
    return _category_lens(_as_lens(f), _as_lens(g), _as_lens(h), o)


def _category_lens(f, g, h, o: _Opts, maps=None) -> LawReport:
    from paralens.categories.lens import identity as _identity

    tf = _Target(f, o)
    p = tf.p
    rng = np.random.default_rng(o.seed + 10)
    label = f"{tf.label}, {_label(g)}, {_label(h)}"
    assoc, left, right, inter = (_Worst(n, label) for n in (
        "category: associativity", "category: left identity", "category: right identity", "category: interchange"))
    lhs_assoc, rhs_assoc = (f >> g) >> h, f >> (g >> h)
    ident = _identity(tf.dom)
    idf, fid = ident >> f, f >> _identity(_cod_type(f, tf.dom))
    il, ir = (f @ g) >> (g @ h), (f >> g) @ (g >> h)
    map_assoc = None
    if maps is not None:
        mf, mg, mh = maps
        map_assoc = ((mf >> mg) >> mh, mf >> (mg >> mh))
    x, _ = tf.first(rng)
    for trial in range(o.trials):
        if trial:
            x = tf.sample(rng)
        res = _safe(assoc, tf.example(x), (_gets_in_turn, x, f, g, h))
        if res is None:
            continue
        b, c, dd_like = res
        dd = _like(dd_like, rng, p)
        want_put = f.put(x, g.put(b, h.put(c, dd)))
        for name, comp in (("(f >> g) >> h", lhs_assoc), ("f >> (g >> h)", rhs_assoc)):
            got = _safe(assoc, tf.example(x, dd=dd), (comp.get, x), (comp.put, x, dd))
            if got is not None:
                _compare(assoc, tf, x, got[0], dd_like, p, o, f"get of {name} != h(g(f(a)))", dd=dd)
                _compare(assoc, tf, x, got[1], want_put, p, o, f"put of {name} != f*(a, g*(f a, h*(g f a, dd)))",
                         dd=dd)
        if map_assoc is not None:
            for name, m in (("(f ; g) ; h", map_assoc[0]), ("f ; (g ; h)", map_assoc[1])):
                got = _safe(assoc, tf.example(x, dd=dd), (m.fn, x), (m.reverse, x, dd))
                if got is not None:
                    _compare(assoc, tf, x, got[0], dd_like, p, o, f"{name} != h(g(f(a)))", dd=dd)
                    _compare(assoc, tf, x, got[1], want_put, p, o, f"R[{name}] != the chain rule", dd=dd)
        db = _like(b, rng, p)
        fx, fput = f.get(x), f.put(x, db)
        for acc, comp, name in ((left, idf, "id >> f"), (right, fid, "f >> id")):
            got = _safe(acc, tf.example(x, db=db), (comp.get, x), (comp.put, x, db))
            if got is not None:
                _compare(acc, tf, x, got[0], fx, p, o, f"get of {name} != get of f", db=db)
                _compare(acc, tf, x, got[1], fput, p, o, f"put of {name} != put of f", db=db)
        # interchange on pairs (a, b'), b' a value of B
        x2 = tf.sample(rng)
        pair_in = (x, f.get(x2))
        res = _safe(inter, tf.example(pair_in), (_gets_in_turn, pair_in[0], f, g), (_gets_in_turn, pair_in[1], g, h))
        if res is None:
            continue
        res = (res[0][-1], res[1][-1])
        dpair = _like(res, rng, p)
        got = _safe(inter, tf.example(pair_in, db=dpair), (il.get, pair_in), (il.put, pair_in, dpair),
                    (ir.get, pair_in), (ir.put, pair_in, dpair))
        if got is not None:
            _compare(inter, tf, pair_in, got[0], got[2], p, o, "get of (f @ g) >> (g @ h) != get of (f >> g) @ (g >> h)",
                     db=dpair)
            _compare(inter, tf, pair_in, got[1], got[3], p, o, "put of (f @ g) >> (g @ h) != put of (f >> g) @ (g >> h)",
                     db=dpair)
            _compare(inter, tf, pair_in, got[2], res, p, o, "get of (f >> g) @ (g >> h) != (g(f(a)), h(g(b)))",
                     db=dpair)
    return LawReport(label, [a.result() for a in (assoc, left, right, inter)])


def _gets_in_turn(x, *lenses):
    """``[f(x), g(f(x)), ...]`` for lenses ``f, g, ...``."""
    out = []
    for f in lenses:
        x = f.get(x)
        out.append(x)
    return out


def _category_para(f: Para, g: Para, h: Para, o: _Opts) -> LawReport:
    from paralens.categories.lens import identity as _identity

    F, G, G2, H = f.named("f"), g.named("g"), g.named("g2"), h.named("h")
    label = f"{f.label()}, {g.label()}, {h.label()}"
    tf = _Target(F, o)
    p = tf.p
    rng = np.random.default_rng(o.seed + 10)
    assoc, left, right, inter = (_Worst(n, label) for n in (
        "category: associativity", "category: left identity", "category: right identity", "category: interchange"))
    lhs_assoc, rhs_assoc = (F >> G) >> H, F >> (G >> H)
    idf = Para.lift(_identity(tf.dom)) >> F
    fid = F >> Para.lift(_identity(F.output_type(tf.dom)))
    il, ir = (F @ G) >> (G2 @ H), (F >> G2) @ (G >> H)
    every = {**F.params, **G.params, **G2.params, **H.params}

    def sample_params():
        return {n: sample_value(s.type, rng, None) for n, s in every.items()}

    def sub(ps, para):
        return {n: ps[n] for n in para.params}

    for _ in range(o.trials):
        ps = sample_params()
        a = tf.sample_input(rng)
        ex = {"params": ps, "a": a}
        try:
            b = F.get(sub(ps, F), a)
            c = G.get(sub(ps, G), b)
            d = H.get(sub(ps, H), c)
        except Exception as exc:  # noqa: BLE001
            assoc.fail(f"raised {type(exc).__name__}: {exc}", ex)
            continue
        dd = _like(d, rng, p)
        dpH, dc = H.put(sub(ps, H), c, dd)
        dpG, db_ = G.put(sub(ps, G), b, dc)
        dpF, da = F.put(sub(ps, F), a, db_)
        want = ({**dpF, **dpG, **dpH}, da)
        for name, comp in (("(f >> g) >> h", lhs_assoc), ("f >> (g >> h)", rhs_assoc)):
            try:
                got = comp.get(sub(ps, comp), a), comp.put(sub(ps, comp), a, dd)
            except Exception as exc:  # noqa: BLE001
                assoc.fail(f"{name} raised {type(exc).__name__}: {exc}", ex)
                continue
            _cmp_para(assoc, ex, got[0], d, p, o, f"get of {name} != h(g(f(a)))")
            _cmp_para(assoc, ex, got[1], want, p, o, f"put of {name} != the puts of f, g, h in turn")
        dbv = _like(b, rng, p)
        want_f = F.get(sub(ps, F), a), F.put(sub(ps, F), a, dbv)
        for acc, comp, name in ((left, idf, "id >> f"), (right, fid, "f >> id")):
            got = comp.get(sub(ps, comp), a), comp.put(sub(ps, comp), a, dbv)
            _cmp_para(acc, ex, got[0], want_f[0], p, o, f"get of {name} != get of f")
            _cmp_para(acc, ex, got[1], want_f[1], p, o, f"put of {name} != put of f")
        pair_in = (a, F.get(sub(ps, F), tf.sample_input(rng)))
        exi = {"params": ps, "a": pair_in}
        try:
            yl = il.get(sub(ps, il), pair_in)
            dpair = _like(yl, rng, p)
            got = yl, il.put(sub(ps, il), pair_in, dpair), ir.get(sub(ps, ir), pair_in), ir.put(sub(ps, ir), pair_in,
                                                                                                    dpair)
        except Exception as exc:  # noqa: BLE001
            inter.fail(f"raised {type(exc).__name__}: {exc}", exi)
            continue
        _cmp_para(inter, exi, got[0], got[2], p, o, "get of (f @ g) >> (g' @ h) != get of (f >> g') @ (g >> h)")
        _cmp_para(inter, exi, got[1], got[3], p, o, "put of (f @ g) >> (g' @ h) != put of (f >> g') @ (g >> h)")
    return LawReport(label, [a.result() for a in (assoc, left, right, inter)])
