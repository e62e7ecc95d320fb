"""RMSProp, as ``torch.optim.RMSprop`` computes it."""

from __future__ import annotations

from paralens.learning.optimisers._build import check_nonneg, named
from paralens.learning.optimisers.base import Optimiser
from paralens.learning.optimisers.transforms import add_weight_decay, scale_by_learning_rate, scale_by_rms, trace
from paralens.learning.schedules import ScalarOrSchedule


def rmsprop(
    lr: ScalarOrSchedule = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> Optimiser:
    """RMSProp as ``torch.optim.RMSprop`` computes it (defaults as there).

    .. math::

        d = p' + wd\\,p, \\quad r' = \\alpha r + (1 - \\alpha) d^2, \\quad
        \\bar d' = \\alpha \\bar d + (1 - \\alpha) d, \\quad
        q = \\frac{d}{\\sqrt{r' - \\bar d'^2} + \\epsilon}, \\quad b' = \\mu b + q,

        U^*(s, p, p') = (s', p - lr_t\\, b'), \\qquad U(s, p) = p

    (``bar d`` only when ``centered``, otherwise ``sqrt(r')``; ``b' = q`` when
    ``momentum = 0``; the buffer ``b`` does not include ``lr``, as in PyTorch.)

    Convention: the library's (``p' = grad L``).  ``eps`` is outside the square
    root (PyTorch; Optax's ``rmsprop`` puts it inside by default).  The paper has
    no RMSProp example; as a lens it is ``S = P x P (x P)``, get the identity.

    Args:
      lr: the step size, a float or a schedule.
      alpha: the decay of the running averages.
      eps: added to the denominator.
      weight_decay: coupled L2 decay ``wd``.
      momentum: ``mu`` of the momentum buffer (0: none).
      centered: divide by the estimated standard deviation instead of the RMS.

    State: ``{"scale_by_rms": {"square_avg"[, "grad_avg"]}[, "trace": ...], ...}``.

    >>> import numpy as np
    >>> opt = rmsprop(lr=0.01)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})
    >>> params["w"].round(4)
    array([ 0.78  , -1.7753])

    Reference: Tieleman and Hinton, Lecture 6.5 of "Neural Networks for Machine
    Learning" (Coursera), 2012; Graves, "Generating Sequences With Recurrent Neural
    Networks", 2013 (centered); PyTorch ``torch.optim.RMSprop``.
    """
    check_nonneg("rmsprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
    parts = [
        add_weight_decay(weight_decay) if weight_decay else None,
        scale_by_rms(alpha, eps, centered=centered),
        trace(momentum) if momentum else None,
        scale_by_learning_rate(lr),
    ]
    return named("rmsprop", parts, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                 momentum=momentum, centered=centered)


__all__ = ["rmsprop"]
