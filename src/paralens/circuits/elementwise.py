"""Elementwise polynomial maps over Z_p and Boolean gates (p = 2), as views of circuits.

Each primitive here is one generator of the circuit syntax (:class:`~paralens.circuits.Circuit`)
on a single wire, applied entry by entry: ``get`` is ``circuit.evaluate`` and ``put``
is ``reverse(circuit).evaluate`` -- there is no second arithmetic implementation.
They are wrapped as :class:`~paralens.categories.functor.Map` objects (and lenses
``R(map)``) acting on integer arrays of any shape with a leading batch dimension,
with the two-input primitives acting on pairs ``(x, y)``, so that they compose
with the cartesian structure of :mod:`paralens.categories.cartesian` and pass
:func:`paralens.laws.check_laws`.  Types are ``ArrayType(shape, Zp(p))``
(:func:`zp`, :func:`bits`).

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

Boolean gates are composites of these (their reverse derivatives come from the
chain rule)::

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

:func:`mask` is a parametric circuit (:func:`~paralens.circuits.parametric`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from paralens.categories.cartesian import copy_map
from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.types import UNIT, ArrayType, Product, Type, Zp
from paralens.circuits.evaluate import evaluate_ints
from paralens.circuits.lens import ParaCircuit
from paralens.circuits.reverse import reverse
from paralens.circuits.syntax import Circuit
from paralens.circuits.trace import trace
from paralens.fields import GF

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
    "mask",
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


def _same(name):
    def infer(dom: Type) -> Type:
        if isinstance(dom, Product):
            unified = dom.factors[0].unify(dom.factors[1])
            if unified is None:
                from paralens.errors import CompositionError

                raise CompositionError(f"{name} needs two inputs of one type, got {dom}")
            return unified
        return dom

    return infer


# -- running a one-wire circuit entry by entry -------------------------------------------------------


@lru_cache(maxsize=None)
def _cell(p: int, kind: str, c: int = 0) -> tuple[Circuit, Circuit]:
    """The circuit of one entry of a primitive over GF(p), and its reverse derivative."""
    F = GF(p)
    if kind in ("add", "mul", "neg"):
        circ = Circuit.generator(F, kind, 1)
    elif kind == "scale":
        circ = trace(F, 1, lambda x: c * x)
    elif kind == "fill":
        circ = Circuit.discard(F, 1) >> Circuit.constant(F, [c])
    elif kind == "id":
        circ = Circuit.identity(F, 1)
    else:  # pragma: no cover
        raise KeyError(kind)
    return circ, reverse(circ)


def _run(circ: Circuit, *arrays) -> list[np.ndarray]:
    """Evaluate a circuit with one output per entry: each input array feeds one input wire."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in arrays))
    shape = arrays[0].shape
    x = np.stack([a.reshape(-1) for a in arrays], axis=1)
    y = evaluate_ints(circ, x)
    return [np.ascontiguousarray(y[:, j]).reshape(shape).astype(np.int64, copy=False) for j in range(y.shape[1])]


def _unary(p: int, kind: str, c: int = 0):
    circ, rc = _cell(p, kind, c)
    return (lambda a: _run(circ, a)[0]), (lambda a, d: _run(rc, a, d)[0])


# -- primitive maps -----------------------------------------------------------------------------


def add_map(p: int = 2, shape=None) -> Map:
    """``(x, y) -> x + y`` mod p (XOR for p = 2); R: ``((x, y), d) -> (d, d)``."""
    t = _type(p, shape)
    circ, rc = _cell(p, "add")
    return Map(lambda a: _run(circ, a[0], a[1])[0], lambda a, d: tuple(_run(rc, a[0], a[1], d)),
               Product((t, t)), t, "xor" if p == 2 else f"add_Z{p}", linear=True, infer=_same("add"))


def multiply_map(p: int = 2, shape=None) -> Map:
    """``(x, y) -> x y`` mod p (AND for p = 2); R: ``((x, y), d) -> (d y, d x)`` mod p."""
    t = _type(p, shape)
    circ, rc = _cell(p, "mul")
    return Map(lambda a: _run(circ, a[0], a[1])[0], lambda a, d: tuple(_run(rc, a[0], a[1], d)),
               Product((t, t)), t, "and" if p == 2 else f"multiply_Z{p}", infer=_same("multiply"))


def negate_map(p: int = 2, shape=None) -> Map:
    """``x -> -x`` mod p (the identity for p = 2); R: ``(x, d) -> -d`` mod p."""
    t = _type(p, shape)
    fn, rev = _unary(p, "neg")
    return Map(fn, rev, t, t, f"negate_Z{p}", linear=True, infer=lambda dom: dom)


def scale_map(c: int, p: int = 2, shape=None) -> Map:
    """``x -> c x`` mod p; R: ``(x, d) -> c d`` mod p."""
    t = _type(p, shape)
    c = int(c) % p
    fn, rev = _unary(p, "scale", c)
    return Map(fn, rev, t, t, f"scale_Z{p}({c})", linear=True, infer=lambda dom: dom)


def identity_map(p: int = 2, shape=None) -> Map:
    """``x -> x``; R: ``(x, d) -> d``."""
    t = _type(p, shape)
    fn, rev = _unary(p, "id")
    return Map(fn, rev, t, t, "id", linear=True, infer=lambda dom: dom)


def constant_map(c: int, p: int = 2, shape=(1,)) -> Map:
    """The constant ``c : 1 -> Z_p^shape`` (``Circuit.constant``); R: ``((), d) -> ()``.

    Like :func:`paralens.zero`, its value has batch size 1 and broadcasts against any batch.
    """
    t = _type(p, shape)
    if t.shape is None:
        raise ValueError("constant needs a concrete shape: constant(1, p, (3,)); fill(c) is shape-polymorphic")
    c = int(c) % p
    size = int(np.prod(t.shape))
    circ = Circuit.constant(GF(p), [c] * size)

    def fn(_):
        return evaluate_ints(circ, np.zeros((1, 0), dtype=np.int64)).astype(np.int64).reshape((1,) + t.shape)

    return Map(fn, lambda a, d: (), UNIT, t, f"constant({c})", linear=(c == 0))


def fill_map(c: int, p: int = 2, shape=None) -> Map:
    """``x -> c`` (every entry): the circuit ``discard ; constant(c)`` on each entry, so shape-polymorphic.

    R: ``(x, d) -> 0``.
    """
    t = _type(p, shape)
    c = int(c) % p
    fn, rev = _unary(p, "fill", c)
    return Map(fn, rev, t, t, f"fill({c})", linear=(c == 0), infer=lambda dom: dom)


# -- Boolean gates, as composites (their R is the chain rule) -------------------------------------


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
    return _named(copy_map(Product((t, t))) >> (add_map(2, t) @ multiply_map(2, t)) >> add_map(2, t), "or")


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


class _ModP(ParaCircuit):
    """A parametric circuit over GF(p) whose parameter change is reduced mod p (an element of GF(p)^n),
    rather than the integer sum over the batch that :class:`ParaCircuit` returns."""

    def _dparams(self, dx, batch: int) -> dict:
        p = self.circuit.field.characteristic
        return {k: v % p for k, v in super()._dparams(dx, batch).items()}


def mask(n: int, p: int = 2) -> ParaCircuit:
    """A parametric circuit ``Z_p^n -> Z_p^n``: ``y = w * x`` elementwise, with learned ``w`` (parameter ``"w"``).

    Over Z2 this is ``w AND x``, a learned bit mask.  It is ``parametric(trace(...), {"w": n})``
    with get ``(w, x) -> w x`` and put ``(w, x, dy) -> (sum over the batch of dy x, dy w)``,
    the sum taken in GF(p) (reduced mod p).
    """
    c = trace(GF(p), 2 * n, lambda *wx: [w * x for w, x in zip(wx[:n], wx[n:])]).named(f"mask({n})")
    return _ModP(c, {"w": n})
