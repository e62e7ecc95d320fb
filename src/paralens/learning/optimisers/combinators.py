"""Composing optimisers: in sequence (``chain``), side by side on named
parameters (``partition``), and holding parameters fixed (``freeze``).

``chain`` is sequential composition of the update maps; ``partition`` is the
tensor (parallel composition) of optimisers on a split of the parameter space
``P = P_1 x ... x P_k`` (the thesis' gradient descent-ascent, Def 8.14, is
``partition({"d": sgd(lr), "a": gradient_ascent(lr)}, labels)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from paralens.errors import ParameterError
from paralens.learning.optimisers.base import (
    NameSpec,
    Optimiser,
    check_patterns,
    name_matcher,
    tree_zeros_like,
)
from paralens.learning.optimisers.transforms import set_to_zero


def _state_keys(parts) -> list[str]:
    names = [p.name for p in parts]
    return [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]


def chain(*transforms: Optimiser, name: str | None = None) -> Optimiser:
    """Apply ``transforms`` one after the other: each one's updates are the next one's input.

    .. math::

        u = T_n(\\dots T_2(T_1(g, s_1, p), s_2, p) \\dots, s_n, p), \\qquad
        \\mathrm{get}(s, p) = G_n(s_n, \\dots G_1(s_1, p))

    State: a dict keyed by the parts' names (``"scale_by_adam"``), suffixed by
    their position (``"scale_1"``) when two parts share a name.  The get is the
    composite of the parts' gets (the identity unless a part looks ahead).

    Args:
      *transforms: the blocks, first applied first.
      name: the printed name (by default ``chain(a, b, ...)``).

    Example: PyTorch's ``clip_grad_norm_(params, 1.0)`` then ``SGD(lr=0.1)``:

    >>> import numpy as np
    >>> from paralens.learning.optimisers import clip_by_global_norm, sgd
    >>> opt = chain(clip_by_global_norm(1.0), sgd(0.1))
    >>> params = {"w": np.array([3.0, 4.0])}
    >>> state, params = opt.put(opt.init(params), params, {"w": np.array([3.0, 4.0])})
    >>> params["w"].round(4)
    array([2.94, 3.92])
    """
    parts = tuple(transforms)
    if not all(isinstance(t, Optimiser) for t in parts):
        bad = [type(t).__name__ for t in parts if not isinstance(t, Optimiser)]
        raise TypeError(f"chain takes optimisers (gradient transformations), got {bad}")
    keys = _state_keys(parts)

    def init(params):
        return {k: t.init(params) for k, t in zip(keys, parts)}

    def update(grads, state, params):
        new_state = {}
        for k, t in zip(keys, parts):
            grads, new_state[k] = t.update(grads, state[k], params)
        return grads, new_state

    get = None
    if any(t.has_lookahead for t in parts):

        def get(state, params):
            for k, t in zip(keys, parts):
                params = t.get(state[k], params)
            return params

    label = name or "chain(" + ", ".join(t.name for t in parts) + ")"
    return Optimiser(label, init, update, get, {"parts": [t.name for t in parts]})


LabelSpec = Mapping[str, str] | Callable[[str], str]


def _labeller(labels: LabelSpec, default: str | None) -> Callable[[str], str]:
    if callable(labels) and not isinstance(labels, Mapping):
        return labels
    from fnmatch import fnmatchcase

    table = list(labels.items())

    def label(name: str) -> str:
        for pattern, lab in table:
            if fnmatchcase(name, pattern):
                return lab
        if default is not None:
            return default
        raise ParameterError(
            f"partition: parameter {name!r} has no label; patterns are {[p for p, _ in table]} "
            "(add a pattern, or pass default=...)"
        )

    return label


def partition(
    optimisers: Mapping[str, Optimiser],
    labels: LabelSpec,
    *,
    default: str | None = None,
) -> Optimiser:
    """Different optimisers on different named parameters (Optax's ``multi_transform``;
    PyTorch's parameter groups).

    The parameters are split by label; ``optimisers[label]`` sees only (and its
    state covers only) the parameters with that label.  As a lens this is the
    tensor of the parts on ``P = P_1 x ... x P_k``.

    Args:
      optimisers: ``label -> optimiser``.
      labels: ``name -> label`` as a dict, whose keys may be exact names or glob
        patterns (``{"*.bias": "no_decay", "*": "decay"}``; the first pattern that
        matches wins), or a function ``name -> label``.
      default: the label of parameters no pattern matches (otherwise an error).

    State: ``{label: that optimiser's state}``.

    >>> import numpy as np
    >>> from paralens.learning.optimisers import sgd, adam
    >>> opt = partition({"fast": sgd(1.0), "slow": sgd(0.1)}, {"a": "fast", "b": "slow"})
    >>> params = {"a": np.array([1.0]), "b": np.array([1.0])}
    >>> _, new = opt.put(opt.init(params), params, {"a": np.array([1.0]), "b": np.array([1.0])})
    >>> new["a"], new["b"]
    (array([0.]), array([0.9]))
    """
    optimisers = dict(optimisers)
    label_of = _labeller(labels, default)

    def split(tree, names):
        groups = {lab: {} for lab in optimisers}
        for n in names:
            lab = label_of(n)
            if lab not in groups:
                raise ParameterError(
                    f"partition: parameter {n!r} has label {lab!r}, which has no optimiser; "
                    f"labels with optimisers are {sorted(optimisers)}"
                )
            groups[lab][n] = None if tree is None else tree[n]
        return groups

    def init(params):
        if isinstance(labels, Mapping) and default is None:
            check_patterns("partition", list(labels), params)
        groups = split(params, params)
        return {lab: opt.init(groups[lab]) for lab, opt in optimisers.items()}

    def update(grads, state, params):
        g = split(grads, grads)
        p = split(params, grads) if params is not None else {lab: None for lab in optimisers}
        out, new_state = {}, {}
        for lab, opt in optimisers.items():
            u, new_state[lab] = opt.update(g[lab], state[lab], p[lab])
            out.update(u)
        return {n: out[n] for n in grads}, new_state

    get = None
    if any(o.has_lookahead for o in optimisers.values()):

        def get(state, params):
            groups = split(params, params)
            out = {}
            for lab, opt in optimisers.items():
                out.update(opt.get(state[lab], groups[lab]))
            return {n: out[n] for n in params}

    return Optimiser(
        "partition(" + ", ".join(f"{k}={o.name}" for k, o in optimisers.items()) + ")",
        init,
        update,
        get,
        {"optimisers": {k: o.name for k, o in optimisers.items()}},
    )


multi_optimiser = partition
"""Another name for :func:`partition`."""


def freeze(names: NameSpec, optimiser: Optimiser | None = None) -> Optimiser:
    """Hold the parameters ``names`` fixed: their gradients are ignored.

    * ``freeze(names, opt)`` runs ``opt`` on the other parameters only (its state
      does not cover the frozen ones);
    * ``freeze(names)`` alone is a block that zeroes the updates of ``names``:
      place it last in a :func:`chain`, e.g. ``chain(adam(1e-3), freeze("enc.*"))``
      (earlier blocks still see those gradients, but nothing moves them).

    Args:
      names: names, glob patterns or a predicate ``name -> bool`` (see :data:`NameSpec`).
      optimiser: the optimiser for the parameters that are not frozen.

    >>> import numpy as np
    >>> from paralens.learning.optimisers import sgd
    >>> opt = freeze(["b"], sgd(1.0))
    >>> params = {"a": np.array([1.0]), "b": np.array([1.0])}
    >>> _, new = opt.put(opt.init(params), params, {"a": np.array([1.0]), "b": np.array([1.0])})
    >>> new["a"], new["b"]
    (array([0.]), array([1.]))
    """
    match, patterns = name_matcher(names)
    if optimiser is not None:
        inner = partition(
            {"trainable": optimiser, "frozen": set_to_zero()},
            lambda n: "frozen" if match(n) else "trainable",
        )
        base_init = inner.init_fn

        def init_checked(params):
            check_patterns("freeze", patterns, params)
            return base_init(params)

        return Optimiser(
            f"freeze({optimiser.name})", init_checked, inner.update_fn, inner.get_fn, {"names": names}
        )

    def init(params):
        check_patterns("freeze", patterns, params)
        return {}

    def update(grads, state, params):
        return {n: (tree_zeros_like(g) if match(n) else g) for n, g in grads.items()}, state

    return Optimiser("freeze", init, update, None, {"names": names})


__all__ = ["LabelSpec", "chain", "freeze", "multi_optimiser", "partition"]
