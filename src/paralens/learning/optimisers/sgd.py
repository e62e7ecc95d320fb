"""Stochastic gradient descent with momentum, as ``torch.optim.SGD`` computes it.

Convention: the library's (``p' = grad L``, learning-rate lens the unit).  For the
paper's own momentum and Nesterov lenses (Ex 3.15, 3.16), which take
``p' = -eps grad L`` from the learning rate ``alpha = -eps``, see
:mod:`paralens.learning.optimisers.momentum`.
"""

from __future__ import annotations

from paralens.learning.optimisers._build import check_nonneg, named
from paralens.learning.optimisers.base import Optimiser
from paralens.learning.optimisers.transforms import add_weight_decay, scale_by_learning_rate, trace
from paralens.learning.schedules import ScalarOrSchedule


def sgd(
    lr: ScalarOrSchedule = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Optimiser:
    """Stochastic gradient descent: ``torch.optim.SGD`` (defaults as there).

    .. math::

        d = p' + wd\\, p, \\qquad
        b' = \\begin{cases} d & t = 0 \\\\ \\mu b + (1 - \\tau) d & t > 0 \\end{cases}, \\qquad
        U^*(s, p, p') = p - lr_t \\cdot \\begin{cases} d & \\mu = 0 \\\\ b' & \\text{(heavy ball)} \\\\
        d + \\mu b' & \\text{(nesterov)} \\end{cases}

    and ``U(s, p) = p``.  (``mu`` = ``momentum``, ``tau`` = ``dampening``, ``wd`` =
    ``weight_decay``; ``t`` the number of updates done.)  With ``momentum = 0`` it is
    ``p - lr (p' + wd p)``, the thesis' gradient descent (Def 8.8) when ``wd = 0``.

    Convention: the library's (``p' = grad L``).  PyTorch's momentum ``mu > 0`` is
    the paper's momentum (Ex 3.15) with ``gamma = -mu``; PyTorch's Nesterov stores
    the looked-ahead point (see :func:`nesterov`).

    Args:
      lr: the step size, a float or a schedule ``step -> lr``.
      momentum: ``mu``; 0 for plain SGD.
      dampening: ``tau``, the dampening of the gradient in the buffer.
      nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening = 0``).
      weight_decay: coupled L2 decay ``wd`` (added to the gradient).

    State: ``{}`` (plain), or the momentum buffer and step count
    (``{"trace": {"count", "momentum_buffer"}}``), plus ``{"count"}`` for a scheduled ``lr``.

    >>> import numpy as np
    >>> opt = sgd(lr=0.1)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})  # grad of |w|^2 / 2
    >>> params["w"]
    array([ 0.729, -1.458])

    Reference: Robbins and Monro, "A Stochastic Approximation Method", 1951;
    Polyak, "Some methods of speeding up the convergence of iteration methods", 1964;
    PyTorch ``torch.optim.SGD``.
    """
    check_nonneg("sgd", lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("sgd: Nesterov momentum needs momentum > 0 and dampening = 0")
    parts = [
        add_weight_decay(weight_decay) if weight_decay else None,
        trace(momentum, dampening, nesterov) if momentum else None,
        scale_by_learning_rate(lr),
    ]
    name = "nesterov" if nesterov else ("momentum" if momentum else "sgd")
    return named(
        name, parts, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay
    )


def momentum(
    lr: ScalarOrSchedule = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Optimiser:
    """SGD with (heavy-ball) momentum, ``torch.optim.SGD(momentum=0.9)`` by default.

    .. math::

        b' = \\mu b + (1 - \\tau)(p' + wd\\, p) \\;(b' = p' + wd\\,p \\text{ at the first step}), \\qquad
        U^*(s, p, p') = p - lr_t \\, b', \\qquad U(s, p) = p

    Convention: the library's (``p' = grad L``).  The paper's momentum (Ex 3.15)
    ``s' = -gamma s + p'``, ``p + s'`` with ``alpha = -eps`` is this with
    ``mu = -gamma``, ``lr = eps``, ``tau = 0`` and ``s = -eps b`` (see
    :func:`~paralens.learning.optimisers.paper_momentum`).

    Args: as :func:`sgd` (with ``momentum = 0.9`` by default).

    State: ``{"trace": {"count", "momentum_buffer"}, ...}``.

    >>> import numpy as np
    >>> opt = momentum(lr=0.1, momentum=0.5)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})
    >>> params["w"].round(4)
    array([ 0.614, -1.228])

    Reference: Polyak 1964; Sutskever et al., "On the importance of initialization
    and momentum in deep learning", ICML 2013.
    """
    return sgd(lr, momentum, dampening, nesterov, weight_decay)


def nesterov(
    lr: ScalarOrSchedule = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
) -> Optimiser:
    """Nesterov momentum as PyTorch computes it: ``torch.optim.SGD(momentum, nesterov=True)``.

    .. math::

        b' = \\mu b + d, \\quad d = p' + wd\\, p, \\qquad U^*(s, p, p') = p - lr (d + \\mu b'), \\qquad U(s, p) = p

    PyTorch's form keeps the *looked-ahead* point as the parameters, so its get is
    the identity and the gradient is taken at the stored point.  The paper's form
    (Ex 3.16) keeps the un-looked-ahead point ``theta`` and evaluates at
    ``U(s, theta) = theta + mu v``: that is
    :func:`~paralens.learning.optimisers.nesterov_lookahead`, and the two agree
    through ``p = theta + mu v``, ``b = -v / lr`` (derived there).

    Convention: the library's (``p' = grad L``).

    Args: as :func:`sgd` (``dampening`` must be 0, as in PyTorch).

    >>> import numpy as np
    >>> opt = nesterov(lr=0.1, momentum=0.5)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})
    >>> params["w"].round(4)
    array([ 0.5591, -1.1182])

    Reference: Nesterov, "A method for solving the convex programming problem with
    convergence rate O(1/k^2)", 1983; Sutskever et al. 2013; PyTorch ``torch.optim.SGD``.
    """
    return sgd(lr, momentum, dampening, True, weight_decay)


__all__ = ["momentum", "nesterov", "sgd"]
