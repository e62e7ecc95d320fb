"""AdaGrad: per-coordinate step sizes from the sum of squared gradients (paper Ex 3.17)."""

from __future__ import annotations

from paralens.learning.optimisers._build import check_nonneg, named
from paralens.learning.optimisers.base import Optimiser
from paralens.learning.optimisers.transforms import add_weight_decay, scale, scale_by_adagrad, scale_by_learning_rate
from paralens.learning.schedules import ScalarOrSchedule, as_schedule


def adagrad(
    lr: ScalarOrSchedule = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> Optimiser:
    """AdaGrad as ``torch.optim.Adagrad`` computes it (defaults as there).

    .. math::

        d = p' + wd\\,p, \\quad G' = G + d \\odot d, \\qquad
        U^*(G, p, p') = \\Big(G', \\; p - \\frac{lr_t}{1 + t\\, \\delta_{lr}} \\frac{d}{\\sqrt{G'} + \\epsilon}\\Big),
        \\qquad U(G, p) = p

    (``delta_lr`` = ``lr_decay``, ``t`` the number of updates done so far.)

    Convention: the library's (``p' = grad L``).  The paper's Ex 3.17,
    ``G' = G + p' ⊙ p'``, ``p + eps/(delta + sqrt(G')) ⊙ p'``, puts the step size in
    the optimiser *and* expects ``p'`` from its learning rate: it is this optimiser
    when the learning-rate lens is ``alpha = -1`` (see :func:`paper_adagrad`).

    Args:
      lr: the step size, a float or a schedule.
      lr_decay: PyTorch's ``lr_decay``: the step size at step ``t`` is ``lr / (1 + t lr_decay)``.
      weight_decay: coupled L2 decay ``wd``.
      initial_accumulator_value: the starting value of ``G``.
      eps: added to ``sqrt(G')`` (outside the square root, as PyTorch).

    State: ``{"scale_by_adagrad": {"sum": G}, ...}`` (plus ``{"count"}`` when the step
    size varies).

    >>> import numpy as np
    >>> opt = adagrad(lr=0.5)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})
    >>> params["w"].round(4)
    array([ 0.1564, -0.9836])

    Reference: Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online
    Learning and Stochastic Optimization", JMLR 2011; PyTorch ``torch.optim.Adagrad``.
    """
    check_nonneg("adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                 initial_accumulator_value=initial_accumulator_value, eps=eps)
    step_size = lr
    if lr_decay:
        base, decay = as_schedule(lr), float(lr_decay)
        step_size = lambda t: base(t) / (1.0 + decay * t)
    parts = [
        add_weight_decay(weight_decay) if weight_decay else None,
        scale_by_adagrad(eps, initial_accumulator_value),
        scale_by_learning_rate(step_size),
    ]
    return named("adagrad", parts, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                 initial_accumulator_value=initial_accumulator_value, eps=eps)


def paper_adagrad(eps: float = 1e-2, delta: float = 1e-7) -> Optimiser:
    """AdaGrad exactly as the paper prints it (Ex 3.17).

    .. math::

        S = P, \\qquad U(G, p) = p, \\qquad
        U^*(G, p, p') = \\Big(G', \\; p + \\frac{\\epsilon}{\\delta + \\sqrt{G'}} \\odot p'\\Big),
        \\quad G' = G + p' \\odot p'

    Convention: the paper's (``p + ...``: the sign comes from the learning-rate
    lens).  With ``alpha = -1`` (``p' = -grad L``) it is ``torch.optim.Adagrad(lr=eps,
    eps=delta)``; with ``alpha = -c`` the accumulator sees ``c^2 G``, which is
    ``Adagrad(lr=eps, eps=delta / c)``.

    Args:
      eps: the step size ``epsilon``.
      delta: the small constant ``delta`` added to ``sqrt(G')``.

    State: ``{"scale_by_adagrad": {"sum": G}, "scale": {}}``, ``G`` zero at first.

    >>> import numpy as np
    >>> opt = paper_adagrad(eps=0.5)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": -params["w"]})   # alpha = -1
    >>> params["w"].round(4)
    array([ 0.1564, -0.9836])

    Reference: Cruttwell et al., Ex 3.17 (arXiv 2103.01931); Duchi et al. 2011.
    """
    check_nonneg("paper_adagrad", eps=eps, delta=delta)
    return named("paper_adagrad", [scale_by_adagrad(delta), scale(float(eps))], eps=float(eps), delta=float(delta))


__all__ = ["adagrad", "paper_adagrad"]
