"""Learning rates: lenses ``(L, L') -> (1, 1)`` that cap the loss (paper Def 3.8).

A lens into the terminal object ``(1, 1)`` has no choice of get (the unique map
``L -> 1``), so it is determined by its put ``L x 1 -> L'``, a map
``alpha : L -> L'`` (a costate): given the loss values it says which change of
the loss is sent back into the loss's reverse derivative.

Here ``alpha`` acts on the per-example loss values, an array of shape
``(batch,)``, and returns an array of the same shape and dtype; summing or
averaging over the batch is the loss's and the training step's business.  A
scheduled learning rate has a state (its step count), so the interface is
stateful like the optimisers':

* ``lr.init() -> state`` (``{}``, or ``{"step": 0-d int32 array}``);
* ``lr.get(state, loss_values) -> ()``: the unique map to the terminal object;
* ``lr.put(state, loss_values) -> (dloss, new_state)``: ``alpha``.

Which learning rate goes with which optimiser (see
:mod:`paralens.learning.optimisers`):

* :func:`unit` (``alpha(l) = 1``), the library's default: ``p'`` is the gradient
  and the optimiser (``sgd(lr)``, ``adam(lr)``...) carries the step size and the sign;
* :func:`constant` ``(-eps)``, the paper's Ex 3.9: ``p' = -eps grad L``, for
  ``gradient_update`` and the ``paper_*`` optimisers;
* :func:`identity` (``alpha(l) = l``), the paper's Ex 3.10 for Boolean circuits (Z2);
* :func:`loss_scaled` ``(c)`` (``alpha(l) = c l``), the variant after Ex 3.10;
* :func:`scheduled` (``alpha_t(l) = sign * schedule(t)``).

    >>> import numpy as np
    >>> lr = constant(-0.01)
    >>> dloss, state = lr.put(lr.init(), np.array([0.3, 1.2]))
    >>> dloss
    array([-0.01, -0.01])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from paralens.backend import backend_of
from paralens.learning.schedules import ScalarOrSchedule, as_schedule


@dataclass(frozen=True, eq=False)
class LearningRate:
    """A learning rate ``alpha : L -> L'``, the put of a lens ``(L, L') -> (1, 1)``.

    Attributes:
      name: printed name.
      init_fn: ``() -> state``.
      put_fn: ``(state, loss_values) -> (dloss, new_state)``.
      hyperparams: the arguments it was built with.
    """

    name: str
    init_fn: Callable[[], dict]
    put_fn: Callable[[dict, object], tuple[object, dict]]
    hyperparams: dict = field(default_factory=dict)

    def init(self, backend="numpy") -> dict:
        """A fresh state (``{}`` unless the learning rate is scheduled), arrays of ``backend``."""
        return self.init_fn(backend)

    def get(self, state: dict, loss_values) -> tuple:
        """The unique map ``L -> 1``: the value ``()``."""
        return ()

    def put(self, state: dict, loss_values) -> tuple[object, dict]:
        """``(alpha(loss_values), new_state)``; ``alpha(l)`` has the shape and dtype of ``l``."""
        if state is None:
            raise ValueError(f"learning rate {self.name}: no state; call state = lr.init() first")
        return self.put_fn(state, loss_values)

    def __call__(self, loss_values, state: dict | None = None):
        """``alpha(loss_values)`` for a stateless learning rate (or with ``state`` given)."""
        return self.put(self.init() if state is None else state, loss_values)[0]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"<LearningRate {self.name}({args})>"


def _no_state(backend="numpy") -> dict:
    return {}


def _full(loss, value):
    xp = backend_of(loss).xp
    loss = xp.asarray(loss)
    return xp.full(loss.shape, value, dtype=loss.dtype)


def constant(value: float) -> LearningRate:
    """The constant learning rate ``alpha(l) = value`` (paper Ex 3.9 with ``value = -eps``).

    Lens ``(L, L') -> (1, 1)``: get ``l -> ()``, put ``(l, ()) -> value``
    (an array of ``value`` shaped like ``l``).  State: ``{}``.

    Convention: with ``value = -eps`` this is the paper's: the descent sign and the
    step size live here, and the optimiser is ``gradient_update`` (``p + p'``) or
    another ``paper_*`` optimiser.  With the library's named optimisers use
    :func:`unit` instead (or they would take ``-eps`` times their own step).

    Args:
      value: the change sent back for every example (``-0.01`` in Ex 3.9).

    >>> import numpy as np
    >>> constant(-0.01)(np.array([2.0, 5.0], dtype=np.float32))
    array([-0.01, -0.01], dtype=float32)
    """
    value = float(value)
    return LearningRate("constant", _no_state, lambda s, l: (_full(l, value), s), {"value": value})


def unit() -> LearningRate:
    """The unit learning rate ``alpha(l) = 1``: the library's default (``constant(1.0)``).

    Lens: get ``l -> ()``, put ``(l, ()) -> 1``.  Then ``p'`` is the gradient of the
    loss, and the optimiser (``sgd(lr)``, ``adam(lr)``...) carries the step size and
    the descent sign, as in PyTorch and Optax.  State: ``{}``.

    >>> import numpy as np
    >>> unit()(np.array([0.5, 0.25]))
    array([1., 1.])
    """
    return replace(constant(1.0), name="unit", hyperparams={})


def identity() -> LearningRate:
    """The identity learning rate ``alpha(l) = l`` (paper Ex 3.10, for Poly over Z2).

    Lens: get ``l -> ()``, put ``(l, ()) -> l``.  With the XOR loss (Ex 3.5) and
    ``gradient_update(modulus=2)`` this is reverse derivative ascent: the change
    sent back is 1 exactly where the prediction is wrong.  State: ``{}``.

    >>> import numpy as np
    >>> identity()(np.array([0, 1, 1]))
    array([0, 1, 1])
    """
    return LearningRate("identity", _no_state, lambda s, l: (backend_of(l).xp.asarray(l), s))


def loss_scaled(c: float) -> LearningRate:
    """The loss-scaled learning rate ``alpha(l) = c * l`` (the paper's variant ``-eps l``, after Ex 3.10).

    Lens: get ``l -> ()``, put ``(l, ()) -> c l``: examples with a larger loss push
    harder.  The paper's repository calls it ``rda_learning_rate``.  State: ``{}``.

    Args:
      c: the factor (``-eps`` in the paper's convention).

    >>> import numpy as np
    >>> loss_scaled(-0.1)(np.array([1.0, 3.0]))
    array([-0.1, -0.3])
    """
    c = float(c)

    def put(state, loss):
        xp = backend_of(loss).xp
        loss = xp.asarray(loss)
        return loss * xp.asarray(c, dtype=loss.dtype), state

    return LearningRate("loss_scaled", _no_state, put, {"c": c})


def scheduled(schedule: ScalarOrSchedule, sign: float = -1.0) -> LearningRate:
    """A learning rate that changes with the step: ``alpha_t(l) = sign * schedule(t)``.

    Lens (one per step ``t``): get ``l -> ()``, put ``(l, ()) -> sign * schedule(t)``.
    State: ``{"step": t}`` (0-d int32, the number of puts done), advanced by each put.

    Convention: with ``sign = -1`` (the default) this is the paper's, a scheduled
    ``alpha = -eps_t`` for ``gradient_update``; with ``sign = +1`` it scales the
    gradient fed to a library optimiser.  (For the library's convention it is
    usually simpler to give the schedule to the optimiser's ``lr``.)

    Args:
      schedule: a schedule ``step -> value`` (or a float, constant).
      sign: multiplies the schedule's value.

    >>> import numpy as np
    >>> from paralens.learning.schedules import step_decay
    >>> lr = scheduled(step_decay(0.1, step_size=1, gamma=0.5))
    >>> state = lr.init()
    >>> for _ in range(3):
    ...     dloss, state = lr.put(state, np.array([1.0]))
    ...     print(dloss, int(state["step"]))
    [-0.1] 1
    [-0.05] 2
    [-0.025] 3
    """
    sched = as_schedule(schedule)
    sign = float(sign)

    def init(backend="numpy"):
        from paralens.backend import get_backend

        xp = get_backend(backend).xp
        return {"step": xp.zeros((), dtype=xp.int32)}

    def put(state, loss):
        step = state["step"]
        xp = backend_of(loss).xp
        loss = xp.asarray(loss)
        value = sign * sched(step)
        dloss = xp.zeros_like(loss) + xp.asarray(value, dtype=loss.dtype)
        return dloss, {"step": step + 1}

    return LearningRate("scheduled", init, put, {"schedule": schedule, "sign": sign})


LEARNING_RATES = {
    "constant": constant,
    "unit": unit,
    "identity": identity,
    "loss_scaled": loss_scaled,
    "scheduled": scheduled,
}
"""``name -> factory``."""


__all__ = ["LEARNING_RATES", "LearningRate", "constant", "identity", "loss_scaled", "scheduled", "unit"]
