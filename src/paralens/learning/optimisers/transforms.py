"""The small blocks optimisers are made of (Optax's gradient transformations).

Each block is an :class:`~paralens.learning.optimisers.base.Optimiser`: it maps
the incoming change ``g`` (the gradient, or the output of the block before it
in a :func:`~paralens.learning.optimisers.chain`) to an update ``u``; a block
used alone adds ``u`` to the parameters.  The named optimisers (``sgd``,
``adam``...) are chains of these blocks.

=====================================  ============================================  =====================
block                                  update                                        state
=====================================  ============================================  =====================
``scale(c)``                           u = c g                                       {}
``scale_by_schedule(f)``               u = f(t) g                                    {count}
``scale_by_learning_rate(lr)``         u = -lr g  (lr a float or a schedule)         {} or {count}
``add_weight_decay(wd)``               u = g + wd p                                  {}
``clip_by_global_norm(c)``             u = g min(1, c / (|g| + 1e-6))                {}
``trace(mu, dampening, nesterov)``     PyTorch SGD's momentum buffer                 {count, momentum_buffer}
``velocity(decay, lookahead)``         v' = decay v + g, u = v'; get p + lookahead v {velocity}
``scale_by_adagrad(eps)``              G' = G + g^2, u = g / (sqrt(G') + eps)        {sum}
``scale_by_adam(b1, b2, eps)``         Adam's bias-corrected moment ratio            {count, mu, nu}
``scale_by_rms(alpha, eps, centered)`` RMSProp's rescaling                           {square_avg[, grad_avg]}
``set_to_zero()``                      u = 0                                         {}
=====================================  ============================================  =====================
"""

from __future__ import annotations

import math

from paralens.backend import backend_of
from paralens.learning.optimisers.base import (
    NameSpec,
    Optimiser,
    global_norm,
    name_matcher,
    need_params,
    scalar_like,
    stateless,
    tree_full_like,
    tree_leaves,
    tree_map,
    tree_zeros_like,
    zero_count,
)
from paralens.learning.schedules import ScalarOrSchedule, Schedule


def scale(factor: float) -> Optimiser:
    """``u = factor * g``; stateless.

    >>> import numpy as np
    >>> scale(-0.5).update({"w": np.array([2.0])}, {})[0]
    {'w': array([-1.])}
    """
    factor = float(factor)
    return stateless("scale", lambda g, p: tree_map(lambda x: x * scalar_like(factor, x), g), factor=factor)


def scale_by_schedule(schedule: Schedule) -> Optimiser:
    """``u = schedule(t) * g`` with ``t`` the number of updates done so far; state ``{"count"}``."""

    def init(params):
        return {"count": zero_count(params)}

    def update(grads, state, params):
        count = state["count"]
        value = schedule(count)
        updates = tree_map(lambda x: x * scalar_like(value, x), grads)
        return updates, {"count": count + 1}

    return Optimiser("scale_by_schedule", init, update, None, {"schedule": schedule})


def scale_by_learning_rate(lr: ScalarOrSchedule, *, flip_sign: bool = True) -> Optimiser:
    """``u = -lr * g`` (``+lr * g`` with ``flip_sign=False``); ``lr`` a float or a schedule.

    The descent sign lives here, in plain sight (the library's convention: the
    incoming ``g`` is the gradient of the loss).
    """
    sign = -1.0 if flip_sign else 1.0
    if callable(lr):
        opt = scale_by_schedule(lambda t: sign * lr(t))
    else:
        opt = scale(sign * float(lr))
    return opt.renamed("scale_by_learning_rate", lr=lr, flip_sign=flip_sign)


def add_weight_decay(weight_decay: float, mask: NameSpec | None = None) -> Optimiser:
    """``u = g + weight_decay * p`` (for the parameters selected by ``mask``, all by default).

    Placed before a rescaling (first in the chain) it is PyTorch's coupled
    ``weight_decay`` (L2 regularisation); placed after Adam's rescaling and before
    the learning rate it is AdamW's decoupled decay.

    Args:
      weight_decay: the coefficient.
      mask: which parameters decay: names, glob patterns (``"*.weight"``) or a
        predicate ``name -> bool``; ``None`` for all.
    """
    wd = float(weight_decay)
    match = (lambda n: True) if mask is None else name_matcher(mask)[0]

    def update(grads, params):
        need_params("add_weight_decay", params)
        out = {}
        for k, g in grads.items():
            if match(k):
                out[k] = tree_map(lambda x, p: x + scalar_like(wd, x) * p, g, params[k])
            else:
                out[k] = g
        return out

    return stateless("add_weight_decay", update, weight_decay=wd, mask=mask)


def clip_by_global_norm(max_norm: float, *, eps: float = 1e-6) -> Optimiser:
    """Rescale all of ``g`` together so its Euclidean norm is at most ``max_norm``.

    ``u = g * min(1, max_norm / (|g| + eps))`` with ``|g|`` the norm of all leaves
    together: ``torch.nn.utils.clip_grad_norm_`` (which uses ``eps = 1e-6``).
    Optax's ``clip_by_global_norm`` is ``eps = 0`` (it rescales only when
    ``|g| > max_norm``, to exactly ``max_norm``).
    """
    max_norm, eps = float(max_norm), float(eps)
    if max_norm <= 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be positive, got {max_norm}")

    def update(grads, params):
        norm = global_norm(grads)
        xp = backend_of(norm).xp
        coef = xp.minimum(max_norm / (norm + eps), 1.0)
        return tree_map(lambda x: x * scalar_like(coef, x), grads)

    return stateless("clip_by_global_norm", update, max_norm=max_norm, eps=eps)


def trace(momentum: float, dampening: float = 0.0, nesterov: bool = False) -> Optimiser:
    """PyTorch SGD's momentum buffer.

    .. math::

        b_0 = g_0, \\qquad b_{t+1} = \\mu b_t + (1 - \\tau) g_t \\;(t \\ge 1),
        \\qquad u_t = b_{t+1} \\text{ or, with nesterov, } g_t + \\mu b_{t+1}

    (``mu`` = ``momentum``, ``tau`` = ``dampening``; the first step copies the
    gradient undampened, as PyTorch does).  State: ``{"count", "momentum_buffer"}``.
    """
    mu, tau = float(momentum), float(dampening)

    def init(params):
        return {"count": zero_count(params), "momentum_buffer": tree_zeros_like(params)}

    def update(grads, state, params):
        count = state["count"]
        first = count == 0

        def buf(g, b):
            xp = backend_of(g).xp
            return xp.where(first, g, scalar_like(mu, g) * b + scalar_like(1.0 - tau, g) * g)

        new_buf = tree_map(buf, grads, state["momentum_buffer"])
        if nesterov:
            updates = tree_map(lambda g, b: g + scalar_like(mu, g) * b, grads, new_buf)
        else:
            updates = new_buf
        return updates, {"count": count + 1, "momentum_buffer": new_buf}

    return Optimiser("trace", init, update, None, {"momentum": mu, "dampening": tau, "nesterov": nesterov})


def velocity(decay: float, lookahead: float = 0.0) -> Optimiser:
    """The paper's momentum state: ``v' = decay * v + g``, ``u = v'``, ``get = p + lookahead * v``.

    State: ``{"velocity"}``, zero at first.  With ``lookahead != 0`` the model is
    evaluated at the looked-ahead point ``p + lookahead * v`` (Nesterov).
    """
    decay, la = float(decay), float(lookahead)

    def init(params):
        return {"velocity": tree_zeros_like(params)}

    def update(grads, state, params):
        v = tree_map(lambda g, s: scalar_like(decay, g) * s + g, grads, state["velocity"])
        return v, {"velocity": v}

    get = None
    if la != 0.0:

        def get(state, params):
            return tree_map(lambda p, s: p + scalar_like(la, p) * s, params, state["velocity"])

    return Optimiser("velocity", init, update, get, {"decay": decay, "lookahead": la})


def scale_by_adagrad(eps: float = 1e-10, initial_accumulator_value: float = 0.0) -> Optimiser:
    """AdaGrad's rescaling: ``G' = G + g * g``, ``u = g / (sqrt(G') + eps)``; state ``{"sum"}``.

    (Optax's ``scale_by_rss`` puts ``eps`` inside the square root; this follows
    PyTorch, ``eps`` outside.)
    """
    eps, init_acc = float(eps), float(initial_accumulator_value)

    def init(params):
        return {"sum": tree_full_like(params, init_acc)}

    def update(grads, state, params):
        new_sum = tree_map(lambda g, s: s + g * g, grads, state["sum"])
        updates = tree_map(
            lambda g, s: g / (backend_of(s).xp.sqrt(s) + scalar_like(eps, g)), grads, new_sum
        )
        return updates, {"sum": new_sum}

    return Optimiser("scale_by_adagrad", init, update, None, {"eps": eps, "initial_accumulator_value": init_acc})


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, *, amsgrad: bool = False) -> Optimiser:
    """Adam's rescaling, PyTorch's formulation (raw moments and a step count in the state).

    .. math::

        m' = b_1 m + (1 - b_1) g, \\quad v' = b_2 v + (1 - b_2) g^2, \\quad t' = t + 1,
        \\qquad u = \\frac{m' / (1 - b_1^{t'})}{\\sqrt{\\hat v / (1 - b_2^{t'})} + \\epsilon}

    with ``v_hat = v'``, or with ``amsgrad`` ``v_hat = v_max' = max(v_max, v')``.
    State: ``{"count", "mu", "nu"}`` (+ ``"nu_max"`` with ``amsgrad``).
    """
    b1, b2, eps = float(b1), float(b2), float(eps)

    def init(params):
        state = {"count": zero_count(params), "mu": tree_zeros_like(params), "nu": tree_zeros_like(params)}
        if amsgrad:
            state["nu_max"] = tree_zeros_like(params)
        return state

    def update(grads, state, params):
        # Python floats are weak scalars (NumPy 2, JAX): each leaf keeps its own dtype
        count = state["count"] + 1
        mu = tree_map(lambda g, m: b1 * m + (1.0 - b1) * g, grads, state["mu"])
        nu = tree_map(lambda g, v: b2 * v + (1.0 - b2) * (g * g), grads, state["nu"])
        new_state = {"count": count, "mu": mu, "nu": nu}
        nu_hat = nu
        if amsgrad:
            nu_hat = tree_map(lambda a, b: backend_of(a).xp.maximum(a, b), state["nu_max"], nu)
            new_state["nu_max"] = nu_hat
        leaves = tree_leaves(mu)
        if not leaves:
            return mu, new_state
        xp = backend_of(count).xp
        dt = leaves[0].dtype
        # 1 - b**t as -expm1(t log b), log b taken in float64: accurate even in float32 (1 - 0.999**t is not)
        t = xp.asarray(count, dtype=dt)
        inv_bc1 = 1.0 / -xp.expm1(t * xp.asarray(math.log(b1), dtype=dt)) if b1 > 0 else xp.ones_like(t)
        inv_sqrt_bc2 = 1.0 / xp.sqrt(-xp.expm1(t * xp.asarray(math.log(b2), dtype=dt))) if b2 > 0 else xp.ones_like(t)

        def ratio(m, v):
            xp = backend_of(m).xp
            return (m * inv_bc1) / (xp.sqrt(v) * inv_sqrt_bc2 + eps)

        return tree_map(ratio, mu, nu_hat), new_state

    return Optimiser("scale_by_adam", init, update, None, {"b1": b1, "b2": b2, "eps": eps, "amsgrad": amsgrad})


def scale_by_rms(alpha: float = 0.99, eps: float = 1e-8, *, centered: bool = False) -> Optimiser:
    """RMSProp's rescaling, PyTorch's formulation (``eps`` outside the square root).

    .. math::

        r' = \\alpha r + (1 - \\alpha) g^2, \\quad \\bar g' = \\alpha \\bar g + (1 - \\alpha) g, \\qquad
        u = g / (\\sqrt{r' - \\bar g'^2} + \\epsilon)

    (``bar g`` and its square only when ``centered``). State: ``{"square_avg"}``
    (+ ``"grad_avg"`` when centered), zero at first.
    """
    alpha, eps = float(alpha), float(eps)

    def init(params):
        state = {"square_avg": tree_zeros_like(params)}
        if centered:
            state["grad_avg"] = tree_zeros_like(params)
        return state

    def update(grads, state, params):
        a = lambda x: scalar_like(alpha, x)
        sq = tree_map(lambda g, r: a(g) * r + (1 - a(g)) * g * g, grads, state["square_avg"])
        new_state = {"square_avg": sq}
        var = sq
        if centered:
            ga = tree_map(lambda g, m: a(g) * m + (1 - a(g)) * g, grads, state["grad_avg"])
            new_state["grad_avg"] = ga
            var = tree_map(lambda r, m: r - m * m, sq, ga)
        updates = tree_map(lambda g, v: g / (backend_of(v).xp.sqrt(v) + scalar_like(eps, g)), grads, var)
        return updates, new_state

    return Optimiser("scale_by_rms", init, update, None, {"alpha": alpha, "eps": eps, "centered": centered})


def set_to_zero() -> Optimiser:
    """``u = 0``: parameters stay as they are (used by :func:`freeze`)."""
    return stateless("set_to_zero", lambda g, p: tree_zeros_like(g))


__all__ = [
    "add_weight_decay",
    "clip_by_global_norm",
    "scale",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_schedule",
    "set_to_zero",
    "trace",
    "velocity",
]
