"""Stateless gradient updates: the paper's ``p + p'`` (Def 3.11), descent and ascent.

Which convention each follows (see :mod:`paralens.learning.optimisers`):

* :func:`gradient_update` is the paper's: the learning-rate lens carries the step
  size and the sign (``alpha(l) = -eps``), so ``p'`` is already ``-eps grad L``.
* :func:`gradient_descent` and :func:`gradient_ascent` are the library's (PyTorch,
  Optax): the learning-rate lens is the unit, ``p'`` is ``grad L``, and the
  optimiser carries ``lr`` and the sign.
"""

from __future__ import annotations

from paralens.backend import backend_of
from paralens.learning.optimisers._build import check_nonneg, named
from paralens.learning.optimisers.base import Optimiser, stateless, tree_map
from paralens.learning.optimisers.transforms import scale_by_learning_rate
from paralens.learning.schedules import ScalarOrSchedule


def gradient_update(*, modulus: int | None = None) -> Optimiser:
    """The paper's gradient update (Def 3.11): add the requested change to the parameters.

    .. math::

        S = 1, \\qquad U(p) = p, \\qquad U^*(p, p') = p + p'

    Convention: the paper's.  The descent sign and the step size come from the
    learning-rate lens ``alpha(l) = -eps`` (Ex 3.9 / Ex 3.12), so ``p' = -eps grad L``
    and ``p + p'`` descends.  With the library's unit learning rate it would
    *ascend*; use :func:`gradient_descent` there.

    In Poly over Z_p pass ``modulus=p``: ``U*(p, p') = (p + p') mod p``; over Z2 this
    is XOR, reverse derivative ascent (Ex 3.13, Wilson and Zanasi 2020), where
    ascent and descent coincide.

    Args:
      modulus: reduce modulo this integer (integer parameters), or ``None`` for the reals.

    State: ``{}``.

    >>> import numpy as np
    >>> opt = gradient_update()
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> eps = 0.1
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     dp = {"w": -eps * params["w"]}  # p' = alpha * grad(|w|^2 / 2), alpha = -eps
    ...     state, params = opt.put(state, params, dp)
    >>> params["w"]
    array([ 0.729, -1.458])
    >>> xor = gradient_update(modulus=2)
    >>> xor.put({}, {"b": np.array([0, 1, 1])}, {"b": np.array([1, 1, 0])})[1]["b"]
    array([1, 0, 1])

    Reference: Cruttwell et al., "Categorical Foundations of Gradient-Based
    Learning", Def 3.11 (arXiv 2103.01931).
    """
    if modulus is None:
        return stateless("gradient_update", lambda g, p: g)
    m = int(modulus)
    if m < 2:
        raise ValueError(f"gradient_update: modulus must be an integer >= 2, got {modulus}")

    def update(grads, params):
        if params is None:
            raise ValueError("gradient_update(modulus=...) needs the parameters: call update(grads, state, params)")
        # the update u with p + u = (p + p') mod m, exactly, in integers
        return tree_map(lambda g, p: backend_of(p).xp.remainder(p + g, m) - p, grads, params)

    return stateless("gradient_update", update, modulus=m)


def gradient_descent(lr: ScalarOrSchedule = 1.0) -> Optimiser:
    """Gradient descent: ``U*(p, p') = p - lr * p'`` (thesis Def 8.8 with ``lr = 1``).

    .. math::

        S = 1 \\;(\\text{or the step count when } lr \\text{ is a schedule}), \\qquad
        U(p) = p, \\qquad U^*(p, p') = p - lr_t \\, p'

    Convention: the library's (PyTorch, Optax): the learning-rate lens is the unit
    ``alpha(l) = 1``, ``p' = grad L``.  The paper's ``gradient_update`` with
    ``alpha = -eps`` is the same map with ``lr = eps``.

    Args:
      lr: the step size, a float or a schedule ``step -> lr``.

    >>> import numpy as np
    >>> opt = gradient_descent(0.1)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})  # grad of |w|^2 / 2
    >>> params["w"]
    array([ 0.729, -1.458])

    Reference: Cauchy, "Méthode générale pour la résolution des systèmes
    d'équations simultanées", 1847.
    """
    check_nonneg("gradient_descent", lr=lr)
    return named("gradient_descent", [scale_by_learning_rate(lr)], lr=lr)


def gradient_ascent(lr: ScalarOrSchedule = 1.0) -> Optimiser:
    """Gradient ascent: ``U*(p, p') = p + lr * p'`` (thesis Def 8.5 with ``lr = 1``).

    Convention: the library's (``p' = grad L``): this *maximises* ``L`` (e.g. the
    discriminator of a GAN).  ``gradient_ascent(1.0)`` is :func:`gradient_update`.

    Args:
      lr: the step size, a float or a schedule.

    State: ``{}`` (or ``{"count"}`` when ``lr`` is a schedule).

    >>> import numpy as np
    >>> opt = gradient_ascent(0.5)
    >>> opt.put({}, {"w": np.array([1.0])}, {"w": np.array([2.0])})[1]
    {'w': array([2.])}
    """
    check_nonneg("gradient_ascent", lr=lr)
    return named("gradient_ascent", [scale_by_learning_rate(lr, flip_sign=False)], lr=lr)


__all__ = ["gradient_ascent", "gradient_descent", "gradient_update"]
