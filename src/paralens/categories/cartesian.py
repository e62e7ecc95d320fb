"""The Cartesian (left-additive) structure, as maps of C and, through R, as lenses.

=========  =================  ==========================================
map        get                put (its reverse derivative)
=========  =================  ==========================================
copy       a -> (a, a)        (a, (da1, da2)) -> da1 + da2      (add)
delete     a -> ()            (a, ()) -> 0                      (zero)
add        (a, b) -> a + b    ((a, b), dc) -> (dc, dc)          (copy)
zero       () -> 0            ((), db) -> ()                    (delete)
proj0      (a, b) -> a        ((a, b), da) -> (da, 0)           (RD.3)
proj1      (a, b) -> b        ((a, b), db) -> (0, db)           (RD.3)
swap       (a, b) -> (b, a)   ((a, b), (db, da)) -> (da, db)
=========  =================  ==========================================

``pair(f, g) = copy >> (f @ g)`` is the pairing <f, g> (RD.4), and weight tying
is reparametrisation by copy (:meth:`paralens.Para.tie`).
"""

from __future__ import annotations

from paralens.backend import backend_of
from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.types import UNIT, ArrayType, Product, Type, as_type


def _t(t) -> Type:
    return ArrayType() if t is None else as_type(t)


def _plus(t: Type, x, y):
    """``x + y`` for values of type ``t``: componentwise on tuples, modulo p over Z_p."""
    if isinstance(x, tuple):
        ts = t.factors if isinstance(t, Product) else (t,) * len(x)
        return tuple(_plus(ti, xi, yi) for ti, xi, yi in zip(ts, x, y))
    s = x + y
    p = t.field.p if isinstance(t, ArrayType) else None
    return s if p is None else s % p


def _zeros_like(x):
    """The zero change of a value (tuples componentwise)."""
    if isinstance(x, tuple):
        return tuple(_zeros_like(v) for v in x)
    return backend_of(x).xp.zeros_like(x)


def _zeros(t: Type):
    """The zero of type ``t`` with batch size 1 (it broadcasts against any batch)."""
    import numpy as np

    if isinstance(t, Product):
        return tuple(_zeros(f) for f in t.factors)
    if t.shape is None:
        raise ValueError("zero needs a concrete type: zero(reals(3)) or zero((3,))")
    return np.zeros((1,) + t.shape, dtype=t.dtype or ("float64" if t.field.p is None else "int64"))


def copy_map(t=None) -> Map:
    t = _t(t)
    return Map(
        lambda a: (a, a),
        lambda a, d: _plus(t, d[0], d[1]),
        t,
        Product((t, t)),
        "copy",
        linear=True,
        infer=lambda dom: Product((dom, dom)),
    )


def delete_map(t=None) -> Map:
    t = _t(t)
    return Map(
        lambda a: (),
        lambda a, d: _zeros_like(a),
        t,
        UNIT,
        "delete",
        linear=True,
    )


def add_map(t=None) -> Map:
    t = _t(t)
    return Map(
        lambda a: _plus(t, a[0], a[1]),
        lambda a, d: (d, d),
        Product((t, t)),
        t,
        "add",
        linear=True,
        infer=lambda dom: dom.factors[0].unify(dom.factors[1]) or _mismatch("add", dom),
    )


def zero_map(t) -> Map:
    """The zero map ``1 -> A``; its value has batch size 1 and broadcasts against any batch."""
    t = as_type(t)
    _zeros(t)  # raises now, not at run time, when t is not concrete
    return Map(lambda _: _zeros(t), lambda a, d: (), UNIT, t, "zero", linear=True)


def proj_map(i: int, a=None, b=None) -> Map:
    ta, tb = _t(a), _t(b)

    def rev(x, d):
        return (d, _zeros_like(x[1])) if i == 0 else (_zeros_like(x[0]), d)

    return Map(
        lambda x: x[i],
        rev,
        Product((ta, tb)),
        (ta, tb)[i],
        f"proj{i}",
        linear=True,
        infer=lambda dom: dom.factors[i],
    )


def swap_map(a=None, b=None) -> Map:
    ta, tb = _t(a), _t(b)
    return Map(
        lambda x: (x[1], x[0]),
        lambda x, d: (d[1], d[0]),
        Product((ta, tb)),
        Product((tb, ta)),
        "swap",
        linear=True,
        infer=lambda dom: Product((dom.factors[1], dom.factors[0])),
    )


def _mismatch(name, dom):
    from paralens.errors import CompositionError

    raise CompositionError(f"{name} needs two inputs of one type, got {dom}")


def copy(t=None) -> Lens:
    """Copy ``A -> A x A``; put adds the two changes."""
    return R(copy_map(t))


def delete(t=None) -> Lens:
    """Delete ``A -> 1``; put returns the zero change."""
    return R(delete_map(t))


def add(t=None) -> Lens:
    """Addition ``A x A -> A``; put copies the change."""
    return R(add_map(t))


def zero(t) -> Lens:
    """Zero ``1 -> A``; put deletes."""
    return R(zero_map(t))


def proj0(a=None, b=None) -> Lens:
    """First projection ``A x B -> A``."""
    return R(proj_map(0, a, b))


def proj1(a=None, b=None) -> Lens:
    """Second projection ``A x B -> B``."""
    return R(proj_map(1, a, b))


def swap(a=None, b=None) -> Lens:
    """The symmetry ``A x B -> B x A``."""
    return R(swap_map(a, b))


def pair(f, g):
    """The pairing ``<f, g> = copy >> (f @ g) : A -> B x C`` (lenses or parametric lenses)."""
    return copy(getattr(f, "dom", None) if isinstance(getattr(f, "dom", None), Type) else None) >> (f @ g)


def pair_map(f: Map, g: Map) -> Map:
    """The pairing ``<f, g>`` in C."""
    return copy_map(f.dom) >> (f @ g)
