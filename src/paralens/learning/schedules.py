"""Learning-rate schedules: pure maps ``step -> value``.

A schedule is any callable ``schedule(step)`` where ``step`` is the 0-based
number of updates done so far (a Python int, or a 0-d integer array, also a
JAX tracer inside ``jax.jit``).  Each schedule here is written with array
operations only (``xp.where``, never a Python ``if`` on the step), so it can be
evaluated inside a compiled training step.  Wherever paralens takes a learning
rate (``lr`` of an optimiser, :func:`paralens.learning.learning_rates.scheduled`)
it takes a float or a schedule.

The semantics follow ``torch.optim.lr_scheduler`` with ``scheduler.step()``
called once after every ``optimizer.step()``: the learning rate used by the
update number ``t`` (0-based) is ``schedule(t)``.

==========================  ===================================================
schedule                    value at step t
==========================  ===================================================
``constant(v)``             v
``step_decay(v, n, g)``     v * g ** (t // n)                     (StepLR)
``multistep_decay(v, m, g)`` v * g ** #{milestones <= t}          (MultiStepLR)
``exponential_decay(v, g)`` v * g ** t                            (ExponentialLR)
``inverse_time_decay(v, d)`` v / (1 + d * t)                      (Adagrad's lr_decay)
``cosine_decay(v, T, e)``   e + (v - e)(1 + cos(pi t / T)) / 2    (CosineAnnealingLR)
``linear_warmup(v, n, s)``  s + (v - s) min(t, n) / n, then v or ``after(t - n)``  (LinearLR)
``join([f, g], [b])``       f(t) for t < b, g(t - b) after
==========================  ===================================================

    >>> s = step_decay(0.1, step_size=2, gamma=0.5)
    >>> [round(float(s(t)), 4) for t in range(5)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from paralens.backend import backend_of

Schedule = Callable[..., object]
"""A map ``step -> value``; see the module docstring."""

ScalarOrSchedule = float | Schedule


def _xp(step):
    return backend_of(step).xp


def _t(step):
    """The step as a float array of the step's backend (Python ints become NumPy scalars)."""
    xp = _xp(step)
    t = xp.asarray(step)
    return xp, t


def constant(value: float) -> Schedule:
    """The schedule ``t -> value``.

    >>> float(constant(0.01)(7))
    0.01
    """
    value = float(value)

    def schedule(step):
        xp = _xp(step)
        return xp.asarray(value) + 0.0 * xp.asarray(step)

    schedule.__qualname__ = f"constant({value})"
    return schedule


def as_schedule(value: ScalarOrSchedule) -> Schedule:
    """A schedule from a float (a :func:`constant`) or a schedule (itself)."""
    if callable(value):
        return value
    try:
        return constant(float(value))
    except (TypeError, ValueError):
        raise TypeError(f"a learning rate must be a number or a schedule (a callable step -> value), got {value!r}") from None


def step_decay(init_value: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``init_value * gamma ** (t // step_size)``: torch ``StepLR(step_size, gamma)``.

    Args:
      init_value: the value for the first ``step_size`` steps.
      step_size: how many steps between two decays (a positive int).
      gamma: the factor applied at each decay.

    >>> [round(float(step_decay(1.0, 3, 0.1)(t)), 6) for t in (0, 2, 3, 6)]
    [1.0, 1.0, 0.1, 0.01]
    """
    if int(step_size) < 1:
        raise ValueError(f"step_decay: step_size must be a positive int, got {step_size}")
    step_size, gamma, init_value = int(step_size), float(gamma), float(init_value)

    def schedule(step):
        xp, t = _t(step)
        return init_value * xp.asarray(gamma) ** (t // step_size)

    return schedule


def multistep_decay(init_value: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """``init_value * gamma ** (number of milestones <= t)``: torch ``MultiStepLR``.

    >>> [round(float(multistep_decay(1.0, [2, 4], 0.5)(t)), 4) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    ms = sorted(int(m) for m in milestones)
    gamma, init_value = float(gamma), float(init_value)

    def schedule(step):
        xp, t = _t(step)
        n = 0 * t
        for m in ms:
            n = n + (t >= m)
        return init_value * xp.asarray(gamma) ** n

    return schedule


def exponential_decay(init_value: float, gamma: float) -> Schedule:
    """``init_value * gamma ** t``: torch ``ExponentialLR(gamma)``.

    (Optax's ``exponential_decay`` has a different signature: ``transition_steps``
    and ``decay_rate``; ``exponential_decay(v, r ** (1 / k))`` is Optax's with
    ``transition_steps=k, decay_rate=r``, without its staircase option.)

    >>> round(float(exponential_decay(1.0, 0.5)(3)), 6)
    0.125
    """
    gamma, init_value = float(gamma), float(init_value)

    def schedule(step):
        xp, t = _t(step)
        return init_value * xp.asarray(gamma) ** t

    return schedule


def inverse_time_decay(init_value: float, decay: float) -> Schedule:
    """``init_value / (1 + decay * t)``: the ``lr_decay`` of torch ``Adagrad``.

    >>> round(float(inverse_time_decay(1.0, 0.5)(2)), 6)
    0.5
    """
    decay, init_value = float(decay), float(init_value)

    def schedule(step):
        _, t = _t(step)
        return init_value / (1.0 + decay * t)

    return schedule


def cosine_decay(init_value: float, T_max: int, eta_min: float = 0.0, *, hold: bool = False) -> Schedule:
    """Cosine annealing: torch ``CosineAnnealingLR(T_max, eta_min)``.

    .. math::

        \\eta_t = \\eta_{min} + (\\eta_0 - \\eta_{min}) \\frac{1 + \\cos(\\pi t / T_{max})}{2}

    Like PyTorch, the formula goes on after ``T_max`` (the value climbs back to
    ``init_value`` at ``2 T_max``: a period of ``2 T_max``); with ``hold=True`` it
    stays at ``eta_min`` from ``T_max`` on (Optax's ``cosine_decay_schedule``).

    Args:
      init_value: the value at step 0 (``eta_0``, torch's base lr).
      T_max: the number of steps to reach ``eta_min``.
      eta_min: the lowest value.
      hold: stay at ``eta_min`` after ``T_max`` instead of going on.

    >>> s = cosine_decay(1.0, T_max=4, eta_min=0.0)
    >>> [round(float(s(t)), 4) for t in range(6)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464]
    """
    if int(T_max) < 1:
        raise ValueError(f"cosine_decay: T_max must be a positive int, got {T_max}")
    T_max, eta_min, init_value = int(T_max), float(eta_min), float(init_value)

    def schedule(step):
        xp, t = _t(step)
        if hold:
            t = xp.minimum(t, T_max)
        return eta_min + (init_value - eta_min) * (1.0 + xp.cos(math.pi * t / T_max)) / 2.0

    return schedule


def linear_warmup(
    peak_value: float,
    warmup_steps: int,
    start_value: float = 0.0,
    after: Schedule | None = None,
) -> Schedule:
    """Linear from ``start_value`` to ``peak_value`` over ``warmup_steps`` steps, then
    ``peak_value`` (or ``after(t - warmup_steps)`` when ``after`` is given).

    With ``after=None`` this is torch ``LinearLR(start_factor=start_value / peak_value,
    end_factor=1.0, total_iters=warmup_steps)`` for a base lr of ``peak_value``.

    Args:
      peak_value: the value reached at step ``warmup_steps``.
      warmup_steps: the number of warm-up steps (0: no warm-up).
      start_value: the value at step 0.
      after: a schedule to follow once warm, counted from 0 at the end of the warm-up.

    >>> s = linear_warmup(1.0, 4, after=exponential_decay(1.0, 0.5))
    >>> [round(float(s(t)), 4) for t in range(7)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 0.5, 0.25]
    """
    n, peak, start = int(warmup_steps), float(peak_value), float(start_value)
    if n < 0:
        raise ValueError(f"linear_warmup: warmup_steps must be >= 0, got {warmup_steps}")

    def ramp(step):
        xp, t = _t(step)
        if n == 0:
            return xp.asarray(peak) + 0.0 * t
        return start + (peak - start) * xp.minimum(t, n) / n

    if after is None:
        return ramp
    return join([ramp, after], [n])


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """One schedule after another: ``schedules[i]`` runs from ``boundaries[i-1]`` on,
    counting its own steps from 0 there (Optax's ``join_schedules``).

    Args:
      schedules: ``k`` schedules.
      boundaries: ``k - 1`` increasing step numbers where the next schedule starts.

    >>> s = join([constant(1.0), constant(2.0), exponential_decay(4.0, 0.5)], [2, 3])
    >>> [round(float(s(t)), 4) for t in range(6)]
    [1.0, 1.0, 2.0, 4.0, 2.0, 1.0]
    """
    schedules = [as_schedule(s) for s in schedules]
    bounds = [int(b) for b in boundaries]
    if len(bounds) != len(schedules) - 1:
        raise ValueError(f"join: {len(schedules)} schedules need {len(schedules) - 1} boundaries, got {len(bounds)}")
    if any(b2 < b1 for b1, b2 in itertools.pairwise(bounds)):
        raise ValueError(f"join: boundaries must increase, got {bounds}")

    def schedule(step):
        xp, t = _t(step)
        out = schedules[0](t)
        for b, s in zip(bounds, schedules[1:]):
            out = xp.where(t >= b, s(xp.maximum(t - b, 0)), out)
        return out

    return schedule


__all__ = [
    "ScalarOrSchedule",
    "Schedule",
    "as_schedule",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "inverse_time_decay",
    "join",
    "linear_warmup",
    "multistep_decay",
    "step_decay",
]
