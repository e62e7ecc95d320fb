"""A stateful optimiser for GF(2): vote counters that flip a bit when enough examples ask.

Over GF(2) the reverse derivative of copy is XOR, so the per-example changes of
a parameter shared by a batch cancel in pairs: with plain reverse derivative
ascent (``gradient_update(modulus=2)``) a bit that 6 of 8 examples want flipped is
not flipped (6 is even).  :func:`vote` reads the change of a parametric circuit
as the *count* of examples asking for each flip (the integer lift that
:class:`~paralens.circuits.lens.ParaCircuit` returns) and keeps a counter per bit:

.. math::

    S = \\mathbb{Z}^P, \\qquad U(s, p) = p, \\qquad
    c = \\lfloor \\beta s \\rfloor + p', \\qquad
    f = [c \\ge \\theta], \\qquad
    U^*(s, p, p') = (c (1 - f),\\; p + f \\bmod 2)

With ``threshold = 1`` and ``decay = 0`` and batch size 1 this is exactly reverse
derivative ascent; larger batches with a threshold above half the batch flip a
bit when a majority asks for it.  Convention: the paper's (the change ``p'`` is
added, the learning rate is the identity).

    >>> import numpy as np
    >>> opt = vote(threshold=2)
    >>> s = opt.init({"w": np.array([0, 1, 0])})
    >>> s, p = opt.put(s, {"w": np.array([0, 1, 0])}, {"w": np.array([1, 3, 2])})
    >>> p["w"], s["count"]["w"]
    (array([0, 0, 1]), array([1., 0., 0.]))
"""

from __future__ import annotations

from paralens.backend import backend_of
from paralens.learning.optimisers.base import Optimiser, need_params, tree_map


def vote(threshold: float = 1, *, decay: float = 0.0) -> Optimiser:
    """Counters per parameter bit; flip a bit when its counter reaches ``threshold``.

    Args:
      threshold: the number of requests (examples asking for a flip, summed over steps with
        ``decay``) that flips a bit; for a majority of a batch of B, ``threshold = B / 2``.
      decay: the fraction of an unflipped counter kept to the next step (0: forget; 1: keep all).
    """
    if threshold <= 0:
        raise ValueError(f"vote: threshold must be positive, got {threshold}")
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"vote: decay must lie in [0, 1], got {decay}")

    def init(params):
        return {"count": tree_map(lambda p: backend_of(p).xp.zeros(p.shape, dtype="float64"), params)}

    def update(grads, state, params):
        need_params("vote", params)
        def one(g, s, p):
            xp = backend_of(p).xp
            c = decay * s + xp.abs(g)
            flip = c >= threshold
            return xp.where(flip, 0.0, c), xp.where(flip, (p + 1) % 2 - p, 0).astype(p.dtype)

        pairs = tree_map(one, grads, state["count"], params)
        return _second(pairs), {"count": _first(pairs)}

    return Optimiser("vote", init, update, None, {"threshold": threshold, "decay": decay})


def _is_pair(t) -> bool:
    return isinstance(t, tuple)


def _first(tree):
    return tree_map(lambda t: t[0], tree, is_leaf=_is_pair)


def _second(tree):
    return tree_map(lambda t: t[1], tree, is_leaf=_is_pair)
