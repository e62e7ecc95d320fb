"""Adam and AdamW (paper Ex 3.18), as PyTorch and Optax compute them."""

from __future__ import annotations

from paralens.learning.optimisers._build import check_beta, check_nonneg, named
from paralens.learning.optimisers.base import Optimiser
from paralens.learning.optimisers.transforms import add_weight_decay, scale_by_adam, scale_by_learning_rate
from paralens.learning.schedules import ScalarOrSchedule


def adam(
    lr: ScalarOrSchedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
) -> Optimiser:
    """Adam as ``torch.optim.Adam`` computes it (defaults as there; ``betas = (b1, b2)``).

    .. math::

        d = p' + wd\\,p, \\quad m' = b_1 m + (1 - b_1) d, \\quad v' = b_2 v + (1 - b_2) d^2,
        \\quad t' = t + 1,

        U^*((t, m, v), p, p') = \\Big((t', m', v'),\\;
            p - lr_t \\frac{m' / (1 - b_1^{t'})}{\\sqrt{v' / (1 - b_2^{t'})} + \\epsilon}\\Big),
        \\qquad U(s, p) = p

    With ``amsgrad`` the denominator uses ``v_max' = max(v_max, v')`` (kept in the state).

    Convention: the library's (``p' = grad L``), and PyTorch's and Optax's state:
    the *raw* moments ``m', v'`` and a step count ``t`` are stored; the bias
    correction is applied only to the update.  The paper (Ex 3.18) writes the
    bias-corrected moments back into the state and has no step count, so its ``t``
    is unspecified; it also puts the sign in the learning-rate lens (``p + eps
    m_hat / (delta + sqrt(v_hat))``).  Storing raw moments is what makes the
    recursion the published algorithm.  ``eps`` is added to ``sqrt(v_hat)``, after
    the bias correction (PyTorch, Optax); TensorFlow's formulation (Kingma and
    Ba's "epsilon hat") adds it before the correction, which differs slightly.

    Args:
      lr: the step size, a float or a schedule.
      b1, b2: the decay rates of the first and second moments, in ``[0, 1)``.
      eps: added to the denominator.
      weight_decay: coupled L2 decay ``wd`` (added to the gradient; for decoupled
        decay use :func:`adamw`).
      amsgrad: use the running maximum of ``v`` (Reddi et al. 2018).

    State: ``{"scale_by_adam": {"count", "mu", "nu"[, "nu_max"]}, ...}``.

    >>> import numpy as np
    >>> opt = adam(lr=0.1)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})
    >>> params["w"].round(4)
    array([ 0.7016, -1.7006])

    Reference: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015;
    Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond", ICLR 2018;
    PyTorch ``torch.optim.Adam``.
    """
    check_nonneg("adam", lr=lr, eps=eps, weight_decay=weight_decay)
    check_beta("adam", b1=b1, b2=b2)
    parts = [
        add_weight_decay(weight_decay) if weight_decay else None,
        scale_by_adam(b1, b2, eps, amsgrad=amsgrad),
        scale_by_learning_rate(lr),
    ]
    return named("adam", parts, lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


def adamw(
    lr: ScalarOrSchedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
) -> Optimiser:
    """AdamW, Adam with decoupled weight decay, as ``torch.optim.AdamW`` (defaults as there).

    .. math::

        U^*(s, p, p') = \\Big(s',\\; p - lr_t \\Big(\\frac{\\hat m'}{\\sqrt{\\hat v'} + \\epsilon} + wd\\, p\\Big)\\Big),
        \\qquad U(s, p) = p

    with ``m_hat'`` and ``v_hat'`` Adam's bias-corrected moments of ``p'`` (no decay
    in them).  PyTorch first shrinks ``p <- p (1 - lr wd)`` and then takes the Adam
    step, which is the same map.  Optax's ``adamw`` is the same too, except that
    its ``weight_decay`` defaults to ``1e-4``.

    Convention: the library's; state as :func:`adam` (raw moments and a step
    count, unlike the paper's Ex 3.18).

    Args:
      lr: the step size, a float or a schedule.
      b1, b2, eps, amsgrad: as :func:`adam`.
      weight_decay: the decoupled decay ``wd`` (scaled by ``lr``, as in PyTorch).

    >>> import numpy as np
    >>> opt = adamw(lr=0.1, weight_decay=0.1)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> for _ in range(3):
    ...     state, params = opt.put(state, params, {"w": params["w"]})
    >>> params["w"].round(4)
    array([ 0.6751, -1.6444])

    Reference: Loshchilov and Hutter, "Decoupled Weight Decay Regularization",
    ICLR 2019; PyTorch ``torch.optim.AdamW``.
    """
    check_nonneg("adamw", lr=lr, eps=eps, weight_decay=weight_decay)
    check_beta("adamw", b1=b1, b2=b2)
    parts = [
        scale_by_adam(b1, b2, eps, amsgrad=amsgrad),
        add_weight_decay(weight_decay) if weight_decay else None,
        scale_by_learning_rate(lr),
    ]
    return named("adamw", parts, lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


__all__ = ["adam", "adamw"]
