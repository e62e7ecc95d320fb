"""Lens(C): bimorphic lenses with get ``A -> B`` and put ``A x B' -> A'``.

At run time a lens is the pair

* ``forward(a, ctx=None) -> (b, residual)`` (get, keeping what put will need), and
* ``backward(residual, db) -> da`` (put),

so that ``put(a, db) = backward(forward(a)[1], db)``.  Keeping the residual is
what lets composites run each forward pass once: a chain of n lenses costs n
forward and n backward calls.

Composition ``f >> g`` is diagrammatic (first f, then g), paper Def 2.4:
``get = f ; g`` and ``put(a, c') = f*(a, g*(f(a), c'))``.  The tensor ``f @ g``
acts on pairs: ``get(a, c) = (f(a), g(c))`` and ``put((a, c), (b', d')) =
(f*(a, b'), g*(c, d'))``.  The identity is ``(1_A, pi_1)``.

Laws (checked by :mod:`paralens.laws`)::

    >>> import numpy as np
    >>> from paralens.instances.smooth import sigmoid, scale
    >>> f, g, h = sigmoid(), scale(2.0), sigmoid()
    >>> a = np.array([[0.5, -1.0]])
    >>> bool(np.allclose(((f >> g) >> h).get(a), (f >> (g >> h)).get(a)))
    True
    >>> bool(np.allclose((identity() >> f).put(a, a), f.put(a, a)))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paralens.categories.types import ArrayType, Product, Type, as_type
from paralens.errors import CompositionError, compose_mismatch


class Context:
    """What a forward pass may need besides its input: training mode and a random key.

    ``None`` in place of a context means evaluation (dropout off).  ``child(i)``
    derives the context of the i-th part of a composite, so that every random
    lens in a model draws from its own stream.
    """

    __slots__ = ("training", "key", "backend")

    def __init__(self, training: bool, key, backend):
        self.training = training
        self.key = key
        self.backend = backend

    def child(self, i: int) -> Context:
        return Context(self.training, self.backend.fold_in(self.key, i), self.backend)


def child_ctx(ctx: Context | None, i: int) -> Context | None:
    return None if ctx is None else ctx.child(i)


class Lens:
    """A morphism ``(A, A') -> (B, B')`` of Lens(C); subclasses implement forward and backward."""

    dom: Type
    cod: Type
    name: str = "lens"

    # -- running ----------------------------------------------------------
    def forward(self, a, ctx: Context | None = None) -> tuple[Any, Any]:  # pragma: no cover
        raise NotImplementedError

    def backward(self, residual, db):  # pragma: no cover
        raise NotImplementedError

    def get(self, a, ctx: Context | None = None):
        """The forward map ``A -> B``."""
        return self.forward(a, ctx)[0]

    def put(self, a, db, ctx: Context | None = None):
        """The backward map ``A x B' -> A'``."""
        return self.backward(self.forward(a, ctx)[1], db)

    __call__ = get

    # -- types --------------------------------------------------------------
    def output_type(self, dom: Type) -> Type:
        """The codomain this lens has when fed inputs of type ``dom`` (raises on mismatch)."""
        if self.dom.unify(dom) is None:
            raise CompositionError(
                f"{self.label()} cannot take input {dom}: its domain is {self.dom}"
            )
        return self.cod

    # -- structure ----------------------------------------------------------
    def label(self) -> str:
        return self.name

    def children(self) -> tuple[Lens, ...]:
        return ()

    def __str__(self) -> str:
        return self.label()

    def __repr__(self) -> str:
        return f"<Lens {self.label()} : {self.dom} -> {self.cod}>"

    # -- operators ------------------------------------------------------------
    # A parametrised map (paralens.categories.para, the layer above this module) composes with a lens by
    # lifting it; it says so through ``_lens_then`` / ``_lens_tensor``, so this module need not import it.
    def then(self, other):
        hook = None if isinstance(other, Lens) else getattr(other, "_lens_then", None)
        if hook is not None:
            return hook(self)
        return compose(self, other)

    def tensor(self, other):
        hook = None if isinstance(other, Lens) else getattr(other, "_lens_tensor", None)
        if hook is not None:
            return hook(self)
        return Tensor(self, other)

    def __rshift__(self, other):
        return self.then(other)

    def __matmul__(self, other):
        return self.tensor(other)


class PrimitiveLens(Lens):
    """A lens given directly by its forward and backward functions.

    ``forward(a) -> (b, residual)`` and ``backward(residual, db) -> da``; ``infer``
    maps a domain type to a codomain type for shape-polymorphic lenses.
    """

    def __init__(
        self,
        forward: Callable,
        backward: Callable,
        dom,
        cod,
        name: str = "lens",
        *,
        infer: Callable[[Type], Type] | None = None,
        uses_ctx: bool = False,
    ):
        self._forward = forward
        self._backward = backward
        self.dom = as_type(dom)
        self.cod = as_type(cod)
        self.name = name
        self._infer = infer
        self._uses_ctx = uses_ctx

    def forward(self, a, ctx=None):
        if self._uses_ctx:
            return self._forward(a, ctx)
        return self._forward(a)

    def backward(self, residual, db):
        return self._backward(residual, db)

    def output_type(self, dom: Type) -> Type:
        unified = self.dom.unify(dom)
        if unified is None:
            raise CompositionError(f"{self.label()} cannot take input {dom}: its domain is {self.dom}")
        return self._infer(unified) if self._infer is not None else self.cod


class Identity(Lens):
    """The identity lens ``(1_A, pi_1)``: get a = a, put(a, da) = da."""

    def __init__(self, t: Type | None = None):
        self.dom = self.cod = ArrayType() if t is None else as_type(t)
        self.name = "id"

    def forward(self, a, ctx=None):
        return a, None

    def backward(self, residual, db):
        return db

    def output_type(self, dom: Type) -> Type:
        unified = self.dom.unify(dom)
        if unified is None:
            raise CompositionError(f"id cannot take input {dom}: its domain is {self.dom}")
        return unified


def identity(t=None) -> Identity:
    """The identity lens on ``t`` (any real array when omitted)."""
    return Identity(t)


class Compose(Lens):
    """The composite ``f_0 >> f_1 >> ... >> f_{n-1}`` (kept flat: composition is associative)."""

    def __init__(self, parts: list[Lens], dom: Type, cod: Type):
        self.parts = tuple(parts)
        self.dom = dom
        self.cod = cod
        self.name = " >> ".join(_paren(p, Tensor) for p in parts)

    def children(self):
        return self.parts

    def forward(self, a, ctx=None):
        residuals = []
        for i, f in enumerate(self.parts):
            a, r = f.forward(a, None if ctx is None else ctx.child(i))
            residuals.append(r)
        return a, residuals

    def backward(self, residuals, db):
        for f, r in zip(reversed(self.parts), reversed(residuals)):
            db = f.backward(r, db)
        return db

    def output_type(self, dom: Type) -> Type:
        for f in self.parts:
            dom = f.output_type(dom)
        return dom


def _paren(f, kind) -> str:
    s = f.label()
    return f"({s})" if isinstance(f, kind) or isinstance(f, Compose) and kind is Compose else s


def compose(*lenses: Lens) -> Lens:
    """``compose(f, g, h) = f >> g >> h``, checking each boundary when built."""
    parts: list[Lens] = []
    for f in lenses:
        if isinstance(f, Identity) and parts:
            # unit law: keep the composite flat, but still check the boundary
            _check_boundary(parts, f)
            continue
        if parts:
            _check_boundary(parts, f)
        parts.extend(f.parts if isinstance(f, Compose) else [f])
    if len(parts) == 1:
        return parts[0]
    dom = parts[0].dom
    cod = dom
    for f in parts:
        cod = f.output_type(cod)
    return Compose(parts, dom, cod)


def _check_boundary(parts: list[Lens], g: Lens) -> None:
    cod = parts[0].dom
    for f in parts:
        cod = f.output_type(cod)
    if cod.unify(g.dom) is None:
        # name the two pieces that meet at the broken boundary
        right = g.parts[0] if isinstance(g, Compose) else g
        raise compose_mismatch(parts[-1], right, cod, g.dom)
    g.output_type(cod.unify(g.dom))


class Tensor(Lens):
    """The monoidal product ``f @ g : (A x C, A' x C') -> (B x D, B' x D')``."""

    def __init__(self, f: Lens, g: Lens):
        self.f, self.g = f, g
        self.dom = Product((f.dom, g.dom))
        self.cod = Product((f.cod, g.cod))
        self.name = f"{_paren(f, Compose)} @ {_paren(g, Compose)}"

    def children(self):
        return (self.f, self.g)

    def forward(self, a, ctx=None):
        a0, a1 = a
        b0, r0 = self.f.forward(a0, None if ctx is None else ctx.child(0))
        b1, r1 = self.g.forward(a1, None if ctx is None else ctx.child(1))
        return (b0, b1), (r0, r1)

    def backward(self, residual, db):
        r0, r1 = residual
        db0, db1 = db
        return (self.f.backward(r0, db0), self.g.backward(r1, db1))

    def output_type(self, dom: Type) -> Type:
        if not isinstance(dom, Product) or len(dom.factors) != 2:
            raise CompositionError(f"{self.label()} takes a pair, not {dom}")
        return Product((self.f.output_type(dom.factors[0]), self.g.output_type(dom.factors[1])))
