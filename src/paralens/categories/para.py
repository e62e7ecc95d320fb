"""Para(Lens(C)): parametric lenses (paper Def 2.5).

A parametric lens ``(A, A') -> (B, B')`` with parameter ``(P, P')`` is a lens
``(P x A, P' x A') -> (B, B')``.  Here the parameter port carries a *named*
parameter tree (a flat dict ``{"0.weight": array, ...}``), and at run time

* ``forward(p, a, ctx=None) -> (b, residual)`` (get ``P x A -> B``), and
* ``backward(residual, db) -> (dp, da)`` (put ``P x A x B' -> P' x A'``).

``f >> g`` composes (paper Def 2.1: the composite's parameter is ``Q x P``; here
the union of both named trees), ``f @ g`` tensors, :meth:`Para.reparametrise`
stacks a lens on the parameter wires (paper Def 2.3, eq. 7; how optimisers
attach), :meth:`Para.lift` sees a plain lens as a parametric lens with the unit
parameter, and :meth:`Para.init` draws a parameter tree from a seed.

Parameter names: a primitive layer names its own parameters (``"weight"``,
``"bias"``).  In a composite, names are kept as they are when no two parts
share one; otherwise each part is prefixed by its position (``"0.weight"``,
``"2.weight"``).  ``f.named("enc")`` prefixes all of f's names with ``"enc."``.

    >>> from paralens.instances.smooth import linear, bias, relu
    >>> model = linear(4, 8) >> bias(8) >> relu() >> linear(8, 3) >> bias(3)
    >>> sorted(model.params)
    ['0.weight', '1.bias', '3.weight', '4.bias']
    >>> p = model.init(seed=0)
    >>> p["0.weight"].shape
    (8, 4)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from paralens.categories.lens import Context, Lens
from paralens.categories.types import REALS, ArrayType, Field, Product, Type
from paralens.errors import CompositionError, ParameterError, compose_mismatch


@dataclass(frozen=True)
class ParamSpec:
    """One named parameter: its shape, initialiser and field.

    ``init(rng, shape, dtype) -> numpy array`` draws it from a NumPy Generator
    (always on the host, so every backend starts from the same numbers).
    """

    shape: tuple[int, ...]
    init: Callable[[np.random.Generator, tuple, Any], np.ndarray]
    field: Field = REALS

    @property
    def type(self) -> ArrayType:
        return ArrayType(self.shape, self.field)


def _merge_names(parts: list[Para]) -> list[list[tuple[str, str]]]:
    """For each part, the (full name, part's name) pairs, prefixing by position on a clash."""
    seen: dict[str, int] = {}
    clash = False
    for i, part in enumerate(parts):
        for n in part.params:
            if n in seen:
                clash = True
            seen[n] = i
    table = []
    for i, part in enumerate(parts):
        pre = f"{i}." if clash else ""
        table.append([(pre + n, n) for n in part.params])
    full = [f for row in table for f, _ in row]
    if len(set(full)) != len(full):
        dup = sorted({f for f in full if full.count(f) > 1})
        raise ParameterError(f"parameter names clash in a composite: {dup}; give the parts distinct names")
    return table


class Para:
    """A parametric lens; subclasses implement forward, backward and the parameter table."""

    dom: Type
    cod: Type
    params: dict[str, ParamSpec]
    name: str = "para"

    # -- running --------------------------------------------------------------
    def forward(self, p: dict, a, ctx: Context | None = None):  # pragma: no cover
        raise NotImplementedError

    def backward(self, residual, db):  # pragma: no cover
        raise NotImplementedError

    def backward_params(self, residual, db) -> dict:
        """The parameter half of backward, ``dp``, for callers that discard ``da``.

        The closed lens of supervised learning discards the change of the input
        (paper §4.1), so the first layer need not compute it.
        """
        return self.backward(residual, db)[0]

    def get(self, p: dict, a, ctx: Context | None = None):
        return self.forward(p, a, ctx)[0]

    def put(self, p: dict, a, db, ctx: Context | None = None):
        return self.backward(self.forward(p, a, ctx)[1], db)

    def __call__(self, p: dict, a):
        return self.get(p, a)

    def output_type(self, dom: Type) -> Type:  # pragma: no cover
        raise NotImplementedError

    # -- parameters -------------------------------------------------------------
    def init(self, seed: int, dtype="float32", backend="numpy") -> dict:
        """A named parameter tree drawn from ``seed`` (each parameter from its own stream)."""
        from paralens.backend import get_backend

        B = get_backend(backend)
        out = {}
        for i, (name, spec) in enumerate(self.params.items()):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), i]))
            dt = dtype if spec.field.p is None else "int64"
            out[name] = B.asarray(np.asarray(spec.init(rng, spec.shape, dt), dtype=dt))
        return out

    def uses_randomness(self) -> bool:
        """Whether some part draws random numbers in training (dropout): then the step needs a key."""
        return _random(self)

    def num_params(self) -> int:
        return int(sum(np.prod(s.shape, dtype=np.int64) for s in self.params.values()))

    # -- structure ----------------------------------------------------------------
    def label(self) -> str:
        return self.name

    def children(self) -> tuple[Para, ...]:
        return ()

    def __str__(self) -> str:
        return self.label()

    def __repr__(self) -> str:
        return f"<Para {self.label()} : {self.dom} -> {self.cod}, params {list(self.params)}>"

    def summary(self) -> str:
        """A table of the parts, parameter names and shapes, like ``print(model)`` in other libraries."""
        lines = [f"{self.label()}", f"  : {self.dom} -> {self.cod}"]
        for n, s in self.params.items():
            lines.append(f"  {n:<24} {s.field.name}{list(s.shape)}")
        lines.append(f"  total parameters: {self.num_params()}")
        return "\n".join(lines)

    # -- operators ------------------------------------------------------------------
    @staticmethod
    def lift(lens: Lens) -> Para:
        """A lens as a parametric lens with the unit parameter (no parameters)."""
        if isinstance(lens, Para):
            return lens
        return Lifted(lens)

    def then(self, other) -> Para:
        return chain(self, other)

    def tensor(self, other) -> Para:
        return ParaTensor(self, Para.lift(other))

    def __rshift__(self, other):
        return self.then(other)

    def __rrshift__(self, other):
        return chain(other, self)

    def __matmul__(self, other):
        return self.tensor(other)

    def __rmatmul__(self, other):
        return ParaTensor(Para.lift(other), self)

    # ``lens.then(para)`` and ``lens.tensor(para)``: the lens asks the parametrised map (see Lens.then)
    def _lens_then(self, lens: Lens) -> Para:
        return Para.lift(lens).then(self)

    def _lens_tensor(self, lens: Lens) -> Para:
        return Para.lift(lens).tensor(self)

    def named(self, name: str) -> Para:
        """The same parametric lens with every parameter name prefixed by ``name + "."``."""
        return Named(self, name)

    def reparametrise(self, alpha) -> Para:
        """Stack a lens on the parameter wires (paper Def 2.3).

        ``alpha`` is either a :class:`ParamLens` (named tree ``Q`` to named tree
        ``P``) or a dict ``{param name: Lens}`` reparametrising single parameters
        (e.g. ``{"weight": exp_lens}`` to keep a weight positive).
        """
        if isinstance(alpha, dict):
            alpha = per_parameter(self.params, alpha)
        return Reparam(self, alpha)

    def tie(self, groups: dict[str, list[str]]) -> Para:
        """Weight tying: reparametrise by copy, so that the named parameters share one value.

        ``groups`` maps a new name to the parameters it replaces; their changes are summed
        (copy's reverse derivative is addition).
        """
        return Reparam(self, tying(self.params, groups))


class ParaLens(Para):
    """A primitive parametric lens: a lens ``(P_1 x ... x P_k) x A -> B`` with named P_i."""

    def __init__(self, lens: Lens, params: dict[str, ParamSpec], name: str | None = None,
                 backward_params=None):
        dom = lens.dom
        self._backward_params = backward_params
        if not (isinstance(dom, Product) and len(dom.factors) == 2):
            raise CompositionError(f"{lens.label()} must take (parameters, input), not {dom}")
        self.lens = lens
        self.params = dict(params)
        self._names = tuple(self.params)
        self.dom = dom.factors[1]
        self.cod = lens.cod
        self.name = name or lens.label()

    def forward(self, p, a, ctx=None):
        try:
            ps = tuple(p[n] for n in self._names)
        except KeyError as exc:
            raise ParameterError(f"{self.label()} needs parameter {exc.args[0]!r}; got {sorted(p)}") from None
        return self.lens.forward((ps, a), ctx)

    def backward(self, residual, db):
        dps, da = self.lens.backward(residual, db)
        return dict(zip(self._names, dps)), da

    def backward_params(self, residual, db):
        if self._backward_params is None:
            return self.backward(residual, db)[0]
        return dict(zip(self._names, self._backward_params(residual, db)))

    def output_type(self, dom):
        ptype = Product(tuple(s.type for s in self.params.values()))
        return self.lens.output_type(Product((ptype, dom)))


class Lifted(Para):
    """A plain lens seen as a parametric lens with no parameters."""

    def __init__(self, lens: Lens):
        self.lens = lens
        self.params = {}
        self.dom, self.cod, self.name = lens.dom, lens.cod, lens.label()

    def forward(self, p, a, ctx=None):
        return self.lens.forward(a, ctx)

    def backward(self, residual, db):
        return {}, self.lens.backward(residual, db)

    def output_type(self, dom):
        return self.lens.output_type(dom)

    def label(self):
        return self.lens.label()


class Chain(Para):
    """The composite ``f_0 >> ... >> f_{n-1}`` in Para(Lens(C)).

    A chain with a ``label`` is a block (a layer such as ``dense``): it prints as
    its label and is not flattened into the chains it is composed into.
    """

    def __init__(self, parts: list[Para], label: str | None = None):
        self.parts = tuple(parts)
        self.block_label = label
        self._table = _merge_names(list(parts))
        self.params = {}
        for part, row in zip(parts, self._table):
            for full, local in row:
                self.params[full] = part.params[local]
        self.dom = parts[0].dom
        cod = self.dom
        for i, f in enumerate(parts):
            if i and cod.unify(f.dom) is None:
                first = f.parts[0] if isinstance(f, Chain) and f.block_label is None else f
                raise compose_mismatch(parts[i - 1], first, cod, f.dom)
            cod = f.output_type(cod)
        self.cod = cod
        self.name = label or " >> ".join(
            f"({p.label()})" if isinstance(p, ParaTensor) else p.label() for p in parts
        )

    def children(self):
        return self.parts

    def forward(self, p, a, ctx=None):
        residuals = []
        for i, (f, row) in enumerate(zip(self.parts, self._table)):
            sub = {local: p[full] for full, local in row} if row else {}
            a, r = f.forward(sub, a, None if ctx is None else ctx.child(i))
            residuals.append(r)
        return a, residuals

    def backward(self, residuals, db):
        dp = {}
        for f, row, r in zip(reversed(self.parts), reversed(self._table), reversed(residuals)):
            dsub, db = f.backward(r, db)
            for full, local in row:
                dp[full] = dsub[local]
        return dp, db

    def backward_params(self, residuals, db):
        # parts before the first one with parameters only produce changes of the input,
        # which the caller discards: stop at that first part, and ask it for dp alone
        first = next((i for i, row in enumerate(self._table) if row), None)
        dp = {}
        if first is None:
            return dp
        for i in range(len(self.parts) - 1, first - 1, -1):
            f, row, r = self.parts[i], self._table[i], residuals[i]
            if i == first:
                dsub = f.backward_params(r, db)
            else:
                dsub, db = f.backward(r, db)
            for full, local in row:
                dp[full] = dsub[local]
        return dp

    def output_type(self, dom):
        for f in self.parts:
            dom = f.output_type(dom)
        return dom


def chain(*parts, label: str | None = None) -> Para:
    """``chain(f, g, h) = f >> g >> h``; lenses are lifted, unlabelled chains flattened."""
    flat: list[Para] = []
    for f in parts:
        f = Para.lift(f)
        if isinstance(f, Chain) and f.block_label is None and label is None:
            flat.extend(f.parts)
        else:
            flat.append(f)
    if len(flat) == 1 and label is None:
        return flat[0]
    return Chain(flat, label)


class ParaTensor(Para):
    """``f @ g``: parallel parametric lenses on pairs ``(a, c)``; parameters are the union."""

    def __init__(self, f: Para, g: Para):
        self.f, self.g = f, g
        self._table = _merge_names([f, g])
        self.params = {}
        for part, row in zip((f, g), self._table):
            for full, local in row:
                self.params[full] = part.params[local]
        self.dom = Product((f.dom, g.dom))
        self.cod = Product((f.cod, g.cod))
        self.name = f"{_wrap(f)} @ {_wrap(g)}"

    def children(self):
        return (self.f, self.g)

    def forward(self, p, a, ctx=None):
        (t0, t1), (a0, a1) = self._table, a
        b0, r0 = self.f.forward({l: p[n] for n, l in t0}, a0, None if ctx is None else ctx.child(0))
        b1, r1 = self.g.forward({l: p[n] for n, l in t1}, a1, None if ctx is None else ctx.child(1))
        return (b0, b1), (r0, r1)

    def backward(self, residual, db):
        (t0, t1) = self._table
        dp0, da0 = self.f.backward(residual[0], db[0])
        dp1, da1 = self.g.backward(residual[1], db[1])
        dp = {n: dp0[l] for n, l in t0}
        dp.update({n: dp1[l] for n, l in t1})
        return dp, (da0, da1)

    def output_type(self, dom):
        if not isinstance(dom, Product) or len(dom.factors) != 2:
            raise CompositionError(f"{self.label()} takes a pair, not {dom}")
        return Product((self.f.output_type(dom.factors[0]), self.g.output_type(dom.factors[1])))


def _wrap(f: Para) -> str:
    return f"({f.label()})" if isinstance(f, (Chain, ParaTensor)) and not getattr(f, "block_label", None) else f.label()


class Named(Para):
    """A parametric lens whose parameter names are prefixed by ``name.``."""

    def __init__(self, inner: Para, name: str):
        self.inner, self.prefix = inner, name
        self.params = {f"{name}.{n}": s for n, s in inner.params.items()}
        self._pairs = [(f"{name}.{n}", n) for n in inner.params]
        self.dom, self.cod = inner.dom, inner.cod
        self.name = f"{name}: {inner.label()}"

    def children(self):
        return (self.inner,)

    def forward(self, p, a, ctx=None):
        return self.inner.forward({l: p[n] for n, l in self._pairs}, a, ctx)

    def backward(self, residual, db):
        dp, da = self.inner.backward(residual, db)
        return {n: dp[l] for n, l in self._pairs}, da

    def backward_params(self, residual, db):
        dp = self.inner.backward_params(residual, db)
        return {n: dp[l] for n, l in self._pairs}

    def output_type(self, dom):
        return self.inner.output_type(dom)


# -- reparametrisation -------------------------------------------------------------


class ParamLens:
    """A lens on parameter wires, ``(Q, Q') -> (P, P')``, over named trees.

    ``forward(q) -> (p, residual)`` and ``backward(residual, dp) -> dq``;
    ``params`` are the specs of Q.  Optimisers are such lenses with Q = S x P
    (their put returns the *new* state and parameters, paper Def 3.14).
    """

    params: dict[str, ParamSpec]
    name = "alpha"

    def forward(self, q: dict):  # pragma: no cover
        raise NotImplementedError

    def backward(self, residual, dp: dict):  # pragma: no cover
        raise NotImplementedError


class FunctionParamLens(ParamLens):
    def __init__(self, params, forward, backward, name):
        self.params, self._f, self._b, self.name = params, forward, backward, name

    def forward(self, q):
        return self._f(q)

    def backward(self, residual, dp):
        return self._b(residual, dp)


def per_parameter(specs: dict[str, ParamSpec], lenses: dict[str, Lens]) -> ParamLens:
    """Reparametrise single parameters by lenses ``Q_i -> P_i`` (others pass through)."""
    unknown = sorted(set(lenses) - set(specs))
    if unknown:
        raise ParameterError(f"cannot reparametrise {unknown}: the parameters are {sorted(specs)}")
    new = {}
    for n, s in specs.items():
        if n in lenses:
            lens = lenses[n]
            qtype = lens.dom if getattr(lens.dom, "shape", None) is not None else s.type
            if lens.output_type(qtype).unify(s.type) is None:
                raise CompositionError(f"{lens.label()} does not produce parameter {n!r} of type {s.type}")
            new[n] = ParamSpec(qtype.shape, s.init, qtype.field)
        else:
            new[n] = s

    def fwd(q):
        p, res = {}, {}
        for n, v in q.items():
            if n in lenses:
                # parameters have no batch axis: run the lens on a batch of one
                b, r = lenses[n].forward(v[None])
                p[n], res[n] = b[0], r
            else:
                p[n] = v
        return p, res

    def bwd(res, dp):
        return {n: (lenses[n].backward(res[n], d[None])[0] if n in lenses else d) for n, d in dp.items()}

    return FunctionParamLens(new, fwd, bwd, "per-parameter(" + ", ".join(f"{n}: {l.label()}" for n, l in lenses.items()) + ")")


def tying(specs: dict[str, ParamSpec], groups: dict[str, list[str]]) -> ParamLens:
    """The copy lens on parameter wires: one new parameter feeds several old ones."""
    replaced = {}
    for new, olds in groups.items():
        missing = [o for o in olds if o not in specs]
        if missing:
            raise ParameterError(f"cannot tie {missing}: the parameters are {sorted(specs)}")
        shapes = {specs[o].shape for o in olds}
        if len(shapes) != 1:
            raise ParameterError(f"cannot tie {olds} into {new!r}: their shapes differ {sorted(shapes)}")
        for o in olds:
            replaced[o] = new
    q = {}
    for n, s in specs.items():
        if n in replaced:
            q.setdefault(replaced[n], s)
        else:
            q[n] = s

    def fwd(qv):
        return {n: qv[replaced.get(n, n)] for n in specs}, None

    def bwd(_, dp):
        dq: dict = {}
        for n, d in dp.items():
            k = replaced.get(n, n)
            dq[k] = d if k not in dq else dq[k] + d  # copy's reverse is addition
        return dq

    return FunctionParamLens(q, fwd, bwd, "tie(" + ", ".join(f"{k}<-{v}" for k, v in groups.items()) + ")")


class Reparam(Para):
    """``f`` reparametrised by ``alpha : Q -> P`` (paper Def 2.3): parameter Q."""

    def __init__(self, inner: Para, alpha: ParamLens):
        self.inner, self.alpha = inner, alpha
        self.params = dict(alpha.params)
        self.dom, self.cod = inner.dom, inner.cod
        self.name = f"{_wrap(inner)} reparametrised by {alpha.name}"

    def children(self):
        return (self.inner,)

    def forward(self, q, a, ctx=None):
        p, r_alpha = self.alpha.forward(q)
        b, r_inner = self.inner.forward(p, a, ctx)
        return b, (r_alpha, r_inner)

    def backward(self, residual, db):
        r_alpha, r_inner = residual
        dp, da = self.inner.backward(r_inner, db)
        return self.alpha.backward(r_alpha, dp), da

    def backward_params(self, residual, db):
        r_alpha, r_inner = residual
        return self.alpha.backward(r_alpha, self.inner.backward_params(r_inner, db))

    def output_type(self, dom):
        return self.inner.output_type(dom)


def _random(node) -> bool:
    if getattr(node, "_uses_ctx", False):
        return True
    kids = list(node.children())
    for attr in ("lens", "inner"):
        if hasattr(node, attr):
            kids.append(getattr(node, attr))
    return any(_random(k) for k in kids)
