"""The paper's momentum and Nesterov lenses (Ex 3.15, 3.16), and Nesterov in look-ahead form.

These keep a velocity ``s`` (state ``S = P``) and add it to the parameters.
:func:`paper_momentum` and :func:`paper_nesterov` follow the paper's convention:
the step size and the descent sign come from the learning rate ``alpha = -eps``,
so ``p' = -eps grad L``.  :func:`nesterov_lookahead` is the same look-ahead lens
in the library's convention (``p' = grad L``, the optimiser carries ``lr``).

A look-ahead optimiser has a non-trivial get: the training step must evaluate the
model (and its gradient) at ``opt.get(state, params)``, not at ``params``.
"""

from __future__ import annotations

from paralens.learning.optimisers._build import check_nonneg, named
from paralens.learning.optimisers.base import Optimiser
from paralens.learning.optimisers.transforms import scale_by_learning_rate, velocity
from paralens.learning.schedules import ScalarOrSchedule


def paper_momentum(gamma: float) -> Optimiser:
    """Momentum exactly as the paper prints it (Ex 3.15; thesis Ex 8.10).

    .. math::

        S = P, \\qquad U(s, p) = p, \\qquad U^*(s, p, p') = (s', p + s'), \\quad s' = -\\gamma s + p'

    State ``{"velocity": s}``, zero at first; ``gamma = 0`` is :func:`gradient_update`.

    Convention: the paper's: use it with the learning rate ``alpha = -eps``
    (``p' = -eps grad L``).  Note the sign: the usual heavy-ball momentum
    ``mu > 0`` (PyTorch, Keras) is ``gamma = -mu`` here; the paper's repository
    trains MNIST with ``gamma = -0.1``.  Precisely, with ``alpha = -eps`` this
    equals ``torch.optim.SGD(lr=eps, momentum=-gamma)``: PyTorch's buffer
    ``b' = mu b + grad L`` is ``b = -s / eps`` (both start at 0, and PyTorch's
    first step ``b = grad L`` is ``mu * 0 + grad L``), and ``p - eps b' = p + s'``.

    Args:
      gamma: the paper's ``gamma`` (the coefficient of ``-s``).

    >>> import numpy as np
    >>> opt, eps = paper_momentum(gamma=-0.5), 0.1
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": -eps * params["w"]})  # alpha = -eps
    >>> params["w"].round(4)
    array([ 0.614, -1.228])

    Reference: Cruttwell et al., "Categorical Foundations of Gradient-Based
    Learning", Ex 3.15 (arXiv 2103.01931); Polyak 1964.
    """
    return named("paper_momentum", [velocity(-float(gamma))], gamma=float(gamma))


def paper_nesterov(gamma: float, *, lookahead: float | None = None) -> Optimiser:
    """Nesterov momentum in the paper's look-ahead form (Ex 3.16).

    .. math::

        S = P, \\qquad U(s, p) = p + \\lambda s, \\qquad
        U^*(s, p, p') = (s', p + s'), \\quad s' = -\\gamma s + p'

    with ``lambda = lookahead``, which defaults to ``gamma`` as printed.  The
    gradient is taken at the looked-ahead point ``U(s, p)``.

    Warning: as printed (``lambda = gamma``) the look-ahead ``+gamma s`` and the
    velocity's ``-gamma s`` have opposite signs, so this is not Nesterov's method
    for either sign of ``gamma`` (PAPER.md §6.4).  The consistent lens is
    ``lookahead = -gamma``: with ``gamma = -mu`` it is Sutskever's Nesterov
    momentum ``v' = mu v - eps grad L(p + mu v)``, ``p + v'``, which
    :func:`nesterov_lookahead` gives in the library's convention and which equals
    ``torch.optim.SGD(lr=eps, momentum=mu, nesterov=True)`` after the change of
    variables derived there.

    Convention: the paper's (``alpha = -eps``, ``p' = -eps grad L(U(s, p))``).

    Args:
      gamma: the paper's ``gamma``.
      lookahead: ``lambda``, the look-ahead coefficient (``gamma`` as printed; ``-gamma`` for Nesterov's method).

    State: ``{"velocity": s}``, zero at first.

    >>> import numpy as np
    >>> opt, eps = paper_nesterov(gamma=-0.5, lookahead=0.5), 0.1
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     at = opt.get(state, params)["w"]         # the looked-ahead point
    ...     state, params = opt.put(state, params, {"w": -eps * at})
    >>> opt.get(state, params)["w"].round(4)     # = torch SGD(nesterov=True)'s parameters
    array([ 0.5591, -1.1182])

    Reference: Cruttwell et al., Ex 3.16 (arXiv 2103.01931); Sutskever et al.,
    "On the importance of initialization and momentum in deep learning", ICML 2013.
    """
    gamma = float(gamma)
    la = gamma if lookahead is None else float(lookahead)
    return named("paper_nesterov", [velocity(-gamma, lookahead=la)], gamma=gamma, lookahead=la)


def nesterov_lookahead(lr: ScalarOrSchedule = 1e-3, momentum: float = 0.9) -> Optimiser:
    """Nesterov momentum in look-ahead form (Sutskever et al. 2013), library convention.

    .. math::

        S = P, \\qquad U(v, \\theta) = \\theta + \\mu v, \\qquad
        U^*(v, \\theta, g) = (v', \\theta + v'), \\quad v' = \\mu v - lr_t\\, g

    where ``g = grad L(U(v, theta))`` is the gradient at the looked-ahead point.
    State: ``{"scale_by_learning_rate": ..., "velocity": {"velocity": v}}``.

    Agreement with PyTorch's ``SGD(lr, momentum=mu, nesterov=True)`` (which keeps
    ``p`` and a buffer ``b``, takes the gradient at ``p``, and does
    ``b' = mu b + g``, ``p' = p - lr (g + mu b')``), for a constant ``lr``: set

    .. math::

        p = \\theta + \\mu v, \\qquad b = -v / lr.

    Both start at ``v = 0`` (``p_0 = theta_0``, ``b_0 = 0``; PyTorch's first
    ``b = g`` is ``mu * 0 + g``) and both take the gradient at the same point
    ``p = U(v, theta)``.  Then ``-v'/lr = mu (-v/lr) + g`` is PyTorch's buffer
    update, and

    .. math::

        \\theta' + \\mu v' = \\theta + (1 + \\mu) v' = p - \\mu v + (1 + \\mu)(\\mu v - lr\\, g)
        = p + \\mu^2 v - (1 + \\mu) lr\\, g
        = p - lr\\, g + \\mu (\\mu v - lr\\, g) = p - lr (g + \\mu b').

    So the trajectories agree: PyTorch's parameters are ``get(state, theta)``.

    Args:
      lr: the step size, a float or a schedule.
      momentum: ``mu``.

    >>> import numpy as np
    >>> opt = nesterov_lookahead(lr=0.1, momentum=0.5)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     grads = {"w": opt.get(state, params)["w"]}   # grad of |w|^2 / 2 at the look-ahead
    ...     state, params = opt.put(state, params, grads)
    >>> opt.get(state, params)["w"].round(4)
    array([ 0.5591, -1.1182])

    Reference: Nesterov 1983; Sutskever et al., ICML 2013.
    """
    check_nonneg("nesterov_lookahead", lr=lr, momentum=momentum)
    mu = float(momentum)
    return named("nesterov_lookahead", [scale_by_learning_rate(lr), velocity(mu, lookahead=mu)], lr=lr, momentum=mu)


__all__ = ["nesterov_lookahead", "paper_momentum", "paper_nesterov"]
