"""The reverse-derivative functor R : C -> Lens(C) (paper Prop 2.7).

A morphism ``f : A -> B`` of a Cartesian reverse differential category is given
here as a :class:`Map`: its forward function and its reverse derivative
``R[f] : A x B' -> A'``.  :func:`R` sends it to the lens ``(f, R[f])``, whose
forward pass keeps its input as the residual.  Composites and tensors of maps
are lifted functorially::

    R(f >> g) == R(f) >> R(g)        (RD.5, the chain rule)
    R(f @ g)  == R(f) @ R(g)

A user defines a new primitive by giving exactly these two functions::

    >>> import numpy as np
    >>> from paralens.categories.types import reals
    >>> cube = Map(lambda x: x**3, lambda x, dy: 3 * x**2 * dy, reals(2), reals(2), "cube")
    >>> R(cube).put(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]]))
    array([[ 3., 12.]])

For speed a map may also give ``lens=(forward, backward)``, a forward pass
that keeps a cheaper residual (sigmoid keeps its output, not its input);
:mod:`paralens.laws` checks that this lens agrees with ``R[f]``.
"""

from __future__ import annotations

from collections.abc import Callable

from paralens.categories.lens import Lens, PrimitiveLens, compose
from paralens.categories.types import Product, Type, as_type
from paralens.errors import compose_mismatch


class Map:
    """A morphism ``f : A -> B`` of C with its reverse derivative ``R[f] : A x B' -> A'``.

    Args:
      fn: ``a -> b`` (batched: a leading batch dimension on every array).
      reverse: ``(a, db) -> da``, the reverse derivative.
      dom, cod: the types ``A`` and ``B`` (shape without batch; ``None`` shape for polymorphic maps).
      name: used in printed composites and error messages.
      linear: True when f is additive (then R[f](a, -) is its adjoint; checked by RD.6).
      infer: codomain as a function of a concrete domain, for polymorphic maps.
      lens: optional ``(forward, backward)`` with a cheaper residual than the input.
      uses_ctx: True when ``lens[0]`` takes a :class:`Context` (random maps such as dropout).
    """

    def __init__(
        self,
        fn: Callable,
        reverse: Callable,
        dom,
        cod,
        name: str = "f",
        *,
        linear: bool = False,
        infer: Callable[[Type], Type] | None = None,
        lens: tuple[Callable, Callable] | None = None,
        uses_ctx: bool = False,
    ):
        self.fn = fn
        self.reverse = reverse
        self.dom = as_type(dom)
        self.cod = as_type(cod)
        self.name = name
        self.linear = linear
        self.infer = infer
        self.fast_lens = lens
        self.uses_ctx = uses_ctx

    def __call__(self, a):
        return self.fn(a)

    def label(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Map {self.name} : {self.dom} -> {self.cod}>"

    def output_type(self, dom: Type) -> Type:
        return R(self).output_type(dom)

    def __rshift__(self, other: Map) -> Map:
        return MapCompose(self, other)

    def __matmul__(self, other: Map) -> Map:
        return MapTensor(self, other)


class MapCompose(Map):
    """``f ; g`` in C; its reverse derivative is given by the chain rule RD.5."""

    def __init__(self, f: Map, g: Map):
        cod = f.output_type(f.dom)
        if cod.unify(g.dom) is None:
            raise compose_mismatch(f, g, cod, g.dom)
        self.f, self.g = f, g
        super().__init__(
            lambda a: g.fn(f.fn(a)),
            lambda a, dc: f.reverse(a, g.reverse(f.fn(a), dc)),
            f.dom,
            g.output_type(cod),
            f"{f.name} ; {g.name}",
            linear=f.linear and g.linear,
        )


class MapTensor(Map):
    """``f x g`` in C, acting on pairs."""

    def __init__(self, f: Map, g: Map):
        self.f, self.g = f, g
        super().__init__(
            lambda a: (f.fn(a[0]), g.fn(a[1])),
            lambda a, d: (f.reverse(a[0], d[0]), g.reverse(a[1], d[1])),
            Product((f.dom, g.dom)),
            Product((f.cod, g.cod)),
            f"({f.name} x {g.name})",
            linear=f.linear and g.linear,
        )


def R(f: Map) -> Lens:
    """The lens ``(f, R[f])`` of a map; functorial on composites and tensors."""
    if isinstance(f, MapCompose):
        return compose(R(f.f), R(f.g))
    if isinstance(f, MapTensor):
        return R(f.f) @ R(f.g)
    if f.fast_lens is not None:
        fwd, bwd = f.fast_lens
    else:
        fn, rev = f.fn, f.reverse

        def fwd(a):
            return fn(a), a

        bwd = rev
    lens = PrimitiveLens(fwd, bwd, f.dom, f.cod, f.name, infer=f.infer, uses_ctx=f.uses_ctx)
    lens.map = f  # the morphism of C this lens is the image of, for the law checker
    return lens
