"""Primitive maps of Smooth: addition, multiplication, scaling, elementwise functions, matrix product.

Each is a :class:`~paralens.categories.functor.Map` (forward + reverse derivative);
the lens is ``R(map)``.
"""

from __future__ import annotations

from collections.abc import Callable

from paralens.backend import backend_of
from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.types import ArrayType, Product, as_type


def _t(t):
    return ArrayType() if t is None else as_type(t)


def add_map(t=None) -> Map:
    """``(x, y) -> x + y``; R: ``((x, y), d) -> (d, d)``."""
    t = _t(t)
    return Map(lambda a: a[0] + a[1], lambda a, d: (d, d), Product((t, t)), t, "add", linear=True,
               infer=lambda dom: dom.factors[0])


def multiply_map(t=None) -> Map:
    """``(x, y) -> x * y`` (elementwise); R: ``((x, y), d) -> (d * y, d * x)``."""
    t = _t(t)
    return Map(lambda a: a[0] * a[1], lambda a, d: (d * a[1], d * a[0]), Product((t, t)), t, "multiply",
               infer=lambda dom: dom.factors[0])


def scale_map(c: float, t=None) -> Map:
    """``x -> c x``; R: ``(x, d) -> c d`` (linear)."""
    t = _t(t)
    return Map(lambda a: c * a, lambda a, d: c * d, t, t, f"scale({c})", linear=True, infer=lambda dom: dom)


def matmul_map(n: int, k: int, m: int) -> Map:
    """``(X, Y) -> X @ Y`` for batched ``X: (n, k)``, ``Y: (k, m)``; R: ``d -> (d Y^T, X^T d)``."""

    def fn(a):
        return a[0] @ a[1]

    def rev(a, d):
        xp = backend_of(d).xp
        return d @ xp.swapaxes(a[1], -1, -2), xp.swapaxes(a[0], -1, -2) @ d

    return Map(fn, rev, Product((ArrayType((n, k)), ArrayType((k, m)))), ArrayType((n, m)), "matmul")


def elementwise_map(name: str, fn: Callable, dfn: Callable) -> Map:
    """An elementwise function with derivative ``dfn``; R: ``(x, d) -> dfn(x) * d``."""
    return Map(fn, lambda x, d: dfn(x) * d, ArrayType(), ArrayType(), name, infer=lambda dom: dom)


def _xp(x):
    return backend_of(x).xp


def add2(t=None) -> Lens:
    return R(add_map(t))


def multiply(t=None) -> Lens:
    return R(multiply_map(t))


def scale(c: float, t=None) -> Lens:
    return R(scale_map(c, t))


def matmul(n: int, k: int, m: int) -> Lens:
    return R(matmul_map(n, k, m))


def elementwise(name: str, fn: Callable, dfn: Callable) -> Lens:
    return R(elementwise_map(name, fn, dfn))


def exp() -> Lens:
    return R(Map(lambda x: _xp(x).exp(x), lambda x, d: _xp(x).exp(x) * d, ArrayType(), ArrayType(), "exp",
                 infer=lambda dom: dom, lens=(lambda x: (_xp(x).exp(x),) * 2, lambda y, d: y * d)))


def log() -> Lens:
    return elementwise("log", lambda x: _xp(x).log(x), lambda x: 1.0 / x)


def sin() -> Lens:
    return elementwise("sin", lambda x: _xp(x).sin(x), lambda x: _xp(x).cos(x))


def square() -> Lens:
    return elementwise("square", lambda x: x * x, lambda x: 2 * x)
