"""The optimiser lens and the named trees it works on.

An optimiser is a lens ``U = (U, U*) : (S x P, S x P) -> (P, P')`` (paper
Def 3.14), attached to a model's parameter wires as a reparametrisation:

* ``init(params) -> state``: a state ``s`` in ``S`` for these parameters;
* ``get(state, params) -> params_bar`` is ``U(s, p)``, the parameters the model
  is run with (``params`` itself except for look-ahead Nesterov);
* ``put(state, params, grads) -> (new_state, new_params)`` is ``U*(s, p, p')``.

Like an Optax gradient transformation, an :class:`Optimiser` is made of pure
functions, and ``put`` is ``update`` followed by adding the update:
``update(grads, state, params) -> (updates, new_state)`` maps the change
``p'`` arriving from the backward pass to the change to add to ``p``, and
``put = (new_state, p + updates)``.  Every block (``scale``,
``clip_by_global_norm``, ``scale_by_adam``...) is an Optimiser in its own right,
so blocks compose with :func:`~paralens.learning.optimisers.chain`.

Trees: parameters, gradients and updates are dicts ``name -> array`` (nesting
allowed); a state is a dict (nesting allowed) whose leaves are arrays, with the
step count a 0-d ``int32`` array.  Nothing here branches on array values, so
``put`` can be compiled by ``jax.jit`` when the arrays are JAX arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from paralens.backend import backend_of
from paralens.categories.pytree import tree_leaves, tree_map  # the one tree module; importable from here too
from paralens.errors import ParameterError

Tree = Any
"""A dict ``name -> array`` (possibly nested)."""


# -- trees (tree_map and tree_leaves: paralens.categories.pytree) ------------


def tree_zeros_like(tree: Tree) -> Tree:
    return tree_map(lambda x: backend_of(x).xp.zeros_like(x), tree)


def tree_full_like(tree: Tree, value: float) -> Tree:
    return tree_map(lambda x: backend_of(x).xp.full_like(x, value), tree)


def apply_updates(params: Tree, updates: Tree) -> Tree:
    """``params + updates`` leafwise, keeping each parameter's dtype."""

    def add(p, u):
        xp = backend_of(p, u).xp
        return xp.asarray(p + u, dtype=p.dtype)

    return tree_map(add, params, updates)


def global_norm(tree: Tree):
    """The Euclidean norm of all the leaves of ``tree`` together."""
    leaves = tree_leaves(tree)
    if not leaves:
        return 0.0
    xp = backend_of(leaves[0]).xp
    return xp.sqrt(sum(xp.sum(x * x) for x in leaves))


def scalar_like(value, like):
    """``value`` (a number or 0-d array) as a 0-d array of ``like``'s backend and dtype."""
    return backend_of(like).xp.asarray(value, dtype=like.dtype)


def zero_count(params: Tree):
    """A step count: the 0-d ``int32`` zero of the parameters' backend."""
    xp = backend_of(params).xp
    return xp.zeros((), dtype=xp.int32)


def _check_keys(what: str, got: Tree, expected: Tree) -> None:
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            raise ParameterError(f"{what} must be a dict name -> array like the parameters, got {type(got).__name__}")
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing or extra:
            raise ParameterError(
                f"{what} do not match the parameters: missing {missing}, unexpected {extra}"
            )
        for k in expected:
            _check_keys(what, got[k], expected[k])


# -- names --------------------------------------------------------------------

NameSpec = str | Iterable[str] | Callable[[str], bool]
"""Which parameters: a name or glob pattern (``"*.bias"``), an iterable of names or
patterns, or a predicate ``name -> bool``."""


def name_matcher(spec: NameSpec) -> tuple[Callable[[str], bool], list[str]]:
    """A predicate for ``spec`` and the list of its patterns (empty for a predicate)."""
    if callable(spec):
        return spec, []
    patterns = [spec] if isinstance(spec, str) else list(spec)
    if not all(isinstance(p, str) for p in patterns):
        raise TypeError(f"parameter names must be strings or glob patterns, got {patterns!r}")
    return (lambda name: any(fnmatchcase(name, p) for p in patterns)), patterns


def check_patterns(who: str, patterns: list[str], names: Iterable[str]) -> None:
    """Raise when an exact name (a pattern without ``*?[``) matches no parameter: almost always a typo.

    A glob pattern may match nothing (``"*.bias"`` on a model without biases).
    """
    names = list(names)
    exact = [p for p in patterns if not any(ch in p for ch in "*?[")]
    unmatched = [p for p in exact if not any(fnmatchcase(n, p) for n in names)]
    if unmatched:
        raise ParameterError(f"{who}: {unmatched} match no parameter; the parameters are {names}")


# -- the lens -------------------------------------------------------------------


def _identity_get(state, params):
    return params


@dataclass(frozen=True, eq=False)
class Optimiser:
    """An optimiser lens ``(S x P, S x P) -> (P, P')`` made of pure functions.

    Attributes:
      name: printed name (``"adam"``, ``"chain(clip_by_global_norm, sgd)"``).
      init_fn: ``params -> state``.
      update_fn: ``(grads, state, params) -> (updates, new_state)``.
      get_fn: ``(state, params) -> params_bar`` (``None``: the identity ``U(s, p) = p``).
      hyperparams: the arguments it was built with, for printing and checkpoints.

    ``put(state, params, grads) = (new_state, params + updates)``.
    """

    name: str
    init_fn: Callable[[Tree], Tree]
    update_fn: Callable[[Tree, Tree, Tree], tuple[Tree, Tree]]
    get_fn: Callable[[Tree, Tree], Tree] | None = None
    hyperparams: dict = field(default_factory=dict)

    def init(self, params: Tree) -> Tree:
        """A fresh state for ``params`` (a dict name -> array)."""
        if not isinstance(params, dict):
            raise ParameterError(f"{self.name}.init takes the parameters as a dict name -> array, got {type(params).__name__}")
        return self.init_fn(params)

    def get(self, state: Tree, params: Tree) -> Tree:
        """``U(s, p)``: the parameters the model is evaluated at."""
        if self.get_fn is None:
            return params
        return self.get_fn(state, params)

    def update(self, grads: Tree, state: Tree, params: Tree | None = None) -> tuple[Tree, Tree]:
        """``(updates, new_state)``: the change to add to the parameters, Optax-style."""
        return self.update_fn(grads, state, params)

    def put(self, state: Tree, params: Tree, grads: Tree) -> tuple[Tree, Tree]:
        """``U*(s, p, p') = (new_state, new_params)``."""
        if state is None:
            raise ValueError(f"{self.name}: no state; call state = opt.init(params) first")
        _check_keys("the gradients", grads, params)
        updates, new_state = self.update_fn(grads, state, params)
        return new_state, apply_updates(params, updates)

    @property
    def has_lookahead(self) -> bool:
        """True when ``get`` is not the identity (the gradient must be taken at ``get(s, p)``)."""
        return self.get_fn is not None

    def renamed(self, name: str, **hyperparams) -> Optimiser:
        return replace(self, name=name, hyperparams=dict(hyperparams))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"<Optimiser {self.name}({args})>"


GradientTransformation = Optimiser
"""Optax's name for the same thing."""


def stateless(name: str, update: Callable[[Tree, Tree], Tree], **hyperparams) -> Optimiser:
    """An optimiser with empty state whose updates are ``update(grads, params)``."""
    return Optimiser(
        name,
        lambda params: {},
        lambda grads, state, params: (update(grads, params), state),
        None,
        hyperparams,
    )


def need_params(who: str, params) -> None:
    if params is None:
        raise ValueError(f"{who} needs the parameters: call update(grads, state, params) with params")
