"""Parameter initialisers: ``init(rng, shape, dtype) -> numpy array``, seeded by the caller.

Fan-in and fan-out follow PyTorch: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``.
"""

from __future__ import annotations

import math

import numpy as np


def _fans(shape) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def zeros():
    """All zeros."""
    return lambda rng, shape, dtype: np.zeros(shape, dtype)


def ones():
    """All ones."""
    return lambda rng, shape, dtype: np.ones(shape, dtype)


def constant(value: float):
    """Every entry ``value``."""
    return lambda rng, shape, dtype: np.full(shape, value, dtype)


def normal(std: float = 0.01, mean: float = 0.0):
    """Gaussian N(mean, std^2); the paper's prototype uses std 0.01."""
    return lambda rng, shape, dtype: rng.normal(mean, std, shape).astype(dtype)


def uniform(low: float = -0.05, high: float = 0.05):
    """Uniform on [low, high)."""
    return lambda rng, shape, dtype: rng.uniform(low, high, shape).astype(dtype)


def glorot_uniform(gain: float = 1.0):
    """Xavier/Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""

    def init(rng, shape, dtype):
        fi, fo = _fans(shape)
        b = gain * math.sqrt(6.0 / (fi + fo))
        return rng.uniform(-b, b, shape).astype(dtype)

    return init


def glorot_normal(gain: float = 1.0):
    """Xavier/Glorot normal: N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))."""

    def init(rng, shape, dtype):
        fi, fo = _fans(shape)
        return rng.normal(0.0, gain * math.sqrt(2.0 / (fi + fo)), shape).astype(dtype)

    return init


def he_uniform(gain: float = math.sqrt(2.0)):
    """He/Kaiming uniform (fan-in): U(-b, b), b = gain * sqrt(3 / fan_in); gain sqrt(2) for ReLU."""

    def init(rng, shape, dtype):
        fi, _ = _fans(shape)
        b = gain * math.sqrt(3.0 / fi)
        return rng.uniform(-b, b, shape).astype(dtype)

    return init


def he_normal(gain: float = math.sqrt(2.0)):
    """He/Kaiming normal (fan-in): N(0, s^2), s = gain / sqrt(fan_in)."""

    def init(rng, shape, dtype):
        fi, _ = _fans(shape)
        return rng.normal(0.0, gain / math.sqrt(fi), shape).astype(dtype)

    return init


def torch_default():
    """PyTorch's default for Linear and Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    For a bias, pass the fan-in explicitly with :func:`uniform_fan_in`.
    """
    return he_uniform(gain=1.0 / math.sqrt(3.0))


def uniform_fan_in(fan_in: int):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default bias initialiser."""
    b = 1.0 / math.sqrt(fan_in)
    return uniform(-b, b)


INITIALISERS = {
    "zeros": zeros,
    "ones": ones,
    "normal": normal,
    "uniform": uniform,
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "kaiming_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_normal": he_normal,
}


def get(init) -> callable:
    """An initialiser from a name (``"he_normal"``) or itself."""
    if callable(init) and not isinstance(init, str):
        # a factory (e.g. `he_normal`) or an initialiser (e.g. `he_normal()`)
        try:
            import inspect

            if len(inspect.signature(init).parameters) == 3:
                return init
        except (TypeError, ValueError):
            return init
        return init()
    if init not in INITIALISERS:
        raise ValueError(f"unknown initialiser {init!r}; choose one of {sorted(INITIALISERS)}")
    return INITIALISERS[init]()
