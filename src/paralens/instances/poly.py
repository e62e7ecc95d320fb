"""Polynomial circuits over Z_p, and Boolean circuits (p = 2), with their reverse derivatives.

The category Poly_{Z_p} (paper Ex 2.9, [Thesis] Ex 6.24): a map ``Z_p^n -> Z_p^m``
is an m-tuple of polynomials in n variables, and its reverse derivative is the
transposed Jacobian of *formal* partial derivatives,
``R[f](x, dy)_i = sum_j (d f_j / d x_i)(x) dy_j`` mod p.  Over Z2 polynomials
are Boolean circuits: ``+`` is XOR, ``*`` is AND, and the change ``dy`` says which
output bits should flip ([Thesis] Box 6.3.1).

Values are integer arrays (int64) with entries in ``0 .. p-1`` and a leading batch
dimension; types are ``ArrayType(shape, Zp(p))`` (:func:`zp`, :func:`bits`).

=============  ===========================  =====================================
map            get                          put (reverse derivative)
=============  ===========================  =====================================
add            (x, y) -> x + y              ((x, y), d) -> (d, d)        (copy)
multiply       (x, y) -> x y                ((x, y), d) -> (d y, d x)
negate         x -> -x                      (x, d) -> -d
scale(c)       x -> c x                     (x, d) -> c d
constant(c)    () -> c            (1 -> A)  ((), d) -> ()
fill(c)        x -> c             (A -> A)  (x, d) -> 0       (= delete ; constant(c))
=============  ===========================  =====================================

Boolean gates are composites of these, so their reverse derivatives come from
the chain rule (the functor R), and agree with the formal partial derivatives::

    xor(x, y)  = x + y              R = (d, d)
    and(x, y)  = x y                R = (d y, d x)
    not(x)     = 1 + x              R = d
    or(x, y)   = x + y + x y        R = (d (1 + y), d (1 + x))
    nand(x, y) = 1 + x y            R = (d y, d x)
    nor(x, y)  = 1 + x + y + x y    R = (d (1 + y), d (1 + x))
    xnor(x, y) = 1 + x + y          R = (d, d)

    >>> import numpy as np
    >>> g = or_()
    >>> x, y = np.array([[0, 0, 1, 1]]), np.array([[0, 1, 0, 1]])
    >>> g.get((x, y))
    array([[0, 1, 1, 1]])
    >>> dx, dy = g.put((x, y), np.ones_like(x))
    >>> dx  # flipping x changes x OR y exactly where y = 0
    array([[1, 0, 1, 0]])

Every map here passes :func:`paralens.laws.check_laws` (exhaustively over small domains).
"""

from __future__ import annotations

from paralens.categories.cartesian import copy_map
from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.types import UNIT, ArrayType, Product, Type, Zp

__all__ = [
    "add",
    "add_map",
    "and_",
    "and_map",
    "bits",
    "constant",
    "constant_map",
    "fill",
    "fill_map",
    "identity_map",
    "multiply",
    "multiply_map",
    "nand",
    "nand_map",
    "negate",
    "negate_map",
    "nor",
    "nor_map",
    "not_",
    "not_map",
    "or_",
    "or_map",
    "scale",
    "scale_map",
    "xnor",
    "xnor_map",
    "xor",
    "xor_map",
    "zp",
]


def zp(p: int, *shape: int) -> ArrayType:
    """``zp(3, 4)`` is the type of a batch of vectors in Z_3^4; ``zp(3)`` any shape."""
    return ArrayType(tuple(shape) if shape else None, Zp(p))


def bits(*shape: int) -> ArrayType:
    """``bits(8)`` is the type of a batch of 8-bit vectors (Z2^8)."""
    return zp(2, *shape)


def _type(p: int, shape) -> ArrayType:
    if isinstance(shape, ArrayType):
        if shape.field.p != p:
            raise ValueError(f"expected a Z_{p} type, got {shape}")
        return shape
    if isinstance(shape, int):
        shape = (shape,)
    return ArrayType(None if shape is None else tuple(shape), Zp(p))


def _p(t: ArrayType) -> int:
    return t.field.p


def _same(name):
    def infer(dom: Type) -> Type:
        if isinstance(dom, Product):
            unified = dom.factors[0].unify(dom.factors[1])
            if unified is None:
                from paralens.categories.errors import CompositionError

                raise CompositionError(f"{name} needs two inputs of one type, got {dom}")
            return unified
        return dom

    return infer


# -- primitive maps -----------------------------------------------------------------------------


def add_map(p: int = 2, shape=None) -> Map:
    """``(x, y) -> x + y`` mod p (XOR for p = 2); R: ``((x, y), d) -> (d, d)``."""
    t = _type(p, shape)
    return Map(lambda a: (a[0] + a[1]) % p, lambda a, d: (d, d), Product((t, t)), t,
               "xor" if p == 2 else f"add_Z{p}", linear=True, infer=_same("add"))


def multiply_map(p: int = 2, shape=None) -> Map:
    """``(x, y) -> x y`` mod p (AND for p = 2); R: ``((x, y), d) -> (d y, d x)`` mod p."""
    t = _type(p, shape)
    return Map(lambda a: (a[0] * a[1]) % p, lambda a, d: ((d * a[1]) % p, (d * a[0]) % p), Product((t, t)), t,
               "and" if p == 2 else f"multiply_Z{p}", infer=_same("multiply"))


def negate_map(p: int = 2, shape=None) -> Map:
    """``x -> -x`` mod p (the identity for p = 2); R: ``(x, d) -> -d`` mod p."""
    t = _type(p, shape)
    return Map(lambda a: (-a) % p, lambda a, d: (-d) % p, t, t, f"negate_Z{p}", linear=True,
               infer=lambda dom: dom)


def scale_map(c: int, p: int = 2, shape=None) -> Map:
    """``x -> c x`` mod p; R: ``(x, d) -> c d`` mod p."""
    t = _type(p, shape)
    c = int(c) % p
    return Map(lambda a: (c * a) % p, lambda a, d: (c * d) % p, t, t, f"scale_Z{p}({c})", linear=True,
               infer=lambda dom: dom)


def identity_map(p: int = 2, shape=None) -> Map:
    """``x -> x``; R: ``(x, d) -> d``."""
    t = _type(p, shape)
    return Map(lambda a: a, lambda a, d: d, t, t, "id", linear=True, infer=lambda dom: dom)


def constant_map(c: int, p: int = 2, shape=(1,)) -> Map:
    """The constant ``c : 1 -> Z_p^shape``; R: ``((), d) -> ()``.

    Like :func:`paralens.zero`, its value has batch size 1 and broadcasts against any batch.
    """
    t = _type(p, shape)
    if t.shape is None:
        raise ValueError("constant needs a concrete shape: constant(1, p, (3,)); fill(c) is shape-polymorphic")
    c = int(c) % p

    def fn(_):
        import numpy as np

        return np.full((1,) + t.shape, c, dtype=np.int64)

    return Map(fn, lambda a, d: (), UNIT, t, f"constant({c})", linear=(c == 0))


def fill_map(c: int, p: int = 2, shape=None) -> Map:
    """``x -> c`` (every entry), the composite ``delete ; constant(c)`` fused so it is shape-polymorphic.

    R: ``(x, d) -> 0``.
    """
    t = _type(p, shape)
    c = int(c) % p

    def fn(a):
        from paralens.backend import backend_of

        return backend_of(a).xp.full_like(a, c)

    def rev(a, d):
        from paralens.backend import backend_of

        return backend_of(a).xp.zeros_like(a)

    return Map(fn, rev, t, t, f"fill({c})", linear=(c == 0), infer=lambda dom: dom)


# -- Boolean gates, as composites (their R is the chain rule) -------------------------------------


def _pair_type(t: ArrayType) -> Product:
    return Product((t, t))


def _named(m: Map, name: str) -> Map:
    m.name = name
    return m


def xor_map(shape=None) -> Map:
    """``x + y`` over Z2."""
    return _named(add_map(2, shape), "xor")


def and_map(shape=None) -> Map:
    """``x y`` over Z2."""
    return _named(multiply_map(2, shape), "and")


def not_map(shape=None) -> Map:
    """``1 + x``: ``copy ; (fill(1) x id) ; xor``."""
    t = _type(2, shape)
    return _named(copy_map(t) >> (fill_map(1, 2, t) @ identity_map(2, t)) >> add_map(2, t), "not")


def or_map(shape=None) -> Map:
    """``x + y + x y``: ``copy ; (xor x and) ; xor``."""
    t = _type(2, shape)
    return _named(copy_map(_pair_type(t)) >> (add_map(2, t) @ multiply_map(2, t)) >> add_map(2, t), "or")


def nand_map(shape=None) -> Map:
    """``1 + x y``: ``and ; not``."""
    t = _type(2, shape)
    return _named(multiply_map(2, t) >> not_map(t), "nand")


def nor_map(shape=None) -> Map:
    """``1 + x + y + x y``: ``or ; not``."""
    t = _type(2, shape)
    return _named(or_map(t) >> not_map(t), "nor")


def xnor_map(shape=None) -> Map:
    """``1 + x + y``: ``xor ; not``."""
    t = _type(2, shape)
    return _named(add_map(2, t) >> not_map(t), "xnor")


# -- lenses (through the functor R) -----------------------------------------------------------------


def _lens(m: Map) -> Lens:
    lens = R(m)
    lens.name = m.name  # print a gate as its name, not as its circuit
    return lens


def add(p: int = 2, shape=None) -> Lens:
    """Addition mod p as a lens (XOR for p = 2); put copies the change."""
    return _lens(add_map(p, shape))


def multiply(p: int = 2, shape=None) -> Lens:
    """Multiplication mod p as a lens (AND for p = 2)."""
    return _lens(multiply_map(p, shape))


def negate(p: int = 2, shape=None) -> Lens:
    """Negation mod p."""
    return _lens(negate_map(p, shape))


def scale(c: int, p: int = 2, shape=None) -> Lens:
    """Multiplication by the constant c mod p."""
    return _lens(scale_map(c, p, shape))


def constant(c: int, p: int = 2, shape=(1,)) -> Lens:
    """The constant ``c : 1 -> Z_p^shape``."""
    return _lens(constant_map(c, p, shape))


def fill(c: int, p: int = 2, shape=None) -> Lens:
    """``x -> c``, i.e. ``delete ; constant(c)``, shape-polymorphic."""
    return _lens(fill_map(c, p, shape))


def xor(shape=None) -> Lens:
    """XOR gate ``x + y``; put ``d -> (d, d)``."""
    return _lens(xor_map(shape))


def and_(shape=None) -> Lens:
    """AND gate ``x y``; put ``d -> (d y, d x)``."""
    return _lens(and_map(shape))


def not_(shape=None) -> Lens:
    """NOT gate ``1 + x``; put ``d -> d``."""
    return _lens(not_map(shape))


def or_(shape=None) -> Lens:
    """OR gate ``x + y + x y``; put ``d -> (d (1 + y), d (1 + x))``."""
    return _lens(or_map(shape))


def nand(shape=None) -> Lens:
    """NAND gate ``1 + x y``; put ``d -> (d y, d x)``."""
    return _lens(nand_map(shape))


def nor(shape=None) -> Lens:
    """NOR gate ``1 + x + y + x y``; put ``d -> (d (1 + y), d (1 + x))``."""
    return _lens(nor_map(shape))


def xnor(shape=None) -> Lens:
    """XNOR gate ``1 + x + y``; put ``d -> (d, d)``."""
    return _lens(xnor_map(shape))



def mask(n: int, p: int = 2):
    """A parametric circuit ``Z_p^n -> Z_p^n``: ``y = w * x`` elementwise, with learned ``w`` (parameter ``"w"``).

    Over Z2 this is ``w AND x``, a learned bit mask.  get ``(w, x) -> w x``;
    put ``(w, x, dy) -> (sum over the batch of dy x, dy w)`` (mod p).
    """
    from paralens.categories.para import ParaLens, ParamSpec

    t = zp(p, n)

    def fn(a):
        (w,), x = a
        return (w * x) % p

    def rev(a, d):
        (w,), x = a
        return ((d * x).sum(axis=0) % p,), (d * w) % p

    return ParaLens(R(Map(fn, rev, Product((Product((t,)), t)), t, f"mask({n})")),
                    {"w": ParamSpec((n,), lambda rng, s, dt: rng.integers(0, p, s), Zp(p))})
