"""Activation functions as lenses (shape-polymorphic, parameterless).

Each states its get and put.  ``sigmoid``, ``tanh`` and ``softmax`` keep their
*output* as the residual (their derivative is a function of it), so they
recompute nothing.
"""

from __future__ import annotations

import math

from paralens.backend import backend_of
from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.types import ArrayType


def _xp(x):
    return backend_of(x).xp


def _poly(name, fn, rev, lens=None, linear=False) -> Map:
    return Map(fn, rev, ArrayType(), ArrayType(), name, infer=lambda dom: dom, lens=lens, linear=linear)


def relu_map() -> Map:
    """get x -> max(x, 0);  put (x, d) -> d * [x > 0]."""
    return _poly(
        "relu",
        lambda x: _xp(x).maximum(x, 0),
        lambda x, d: d * (x > 0),
        lens=(lambda x: (_xp(x).maximum(x, 0), x > 0), lambda m, d: d * m),
    )


def leaky_relu_map(negative_slope: float = 0.01) -> Map:
    """get x -> x if x > 0 else a x;  put (x, d) -> d if x > 0 else a d."""
    a = negative_slope

    def fn(x):
        return _xp(x).where(x > 0, x, a * x)

    def rev(x, d):
        return _xp(x).where(x > 0, d, a * d)

    return _poly(f"leaky_relu({a})", fn, rev)


def _sigmoid(x):
    xp = _xp(x)
    # numerically stable for large |x| in either sign
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_map() -> Map:
    """get x -> s = 1 / (1 + e^-x);  put (x, d) -> d * s (1 - s)."""

    def rev(x, d):
        s = _sigmoid(x)
        return d * s * (1 - s)

    return _poly("sigmoid", _sigmoid, rev, lens=(lambda x: (_sigmoid(x),) * 2, lambda s, d: d * s * (1 - s)))


def tanh_map() -> Map:
    """get x -> t = tanh x;  put (x, d) -> d (1 - t^2)."""

    def fwd(x):
        t = _xp(x).tanh(x)
        return t, t

    return _poly("tanh", lambda x: _xp(x).tanh(x), lambda x, d: d * (1 - _xp(x).tanh(x) ** 2),
                 lens=(fwd, lambda t, d: d * (1 - t * t)))


def gelu_map(approximate: bool = False) -> Map:
    """GELU, exact (PyTorch's default) or tanh-approximated (JAX's default).

    exact: get x -> x Phi(x), put (x, d) -> d (Phi(x) + x phi(x)).
    """
    if approximate:
        c = math.sqrt(2.0 / math.pi)

        def fn(x):
            return 0.5 * x * (1 + _xp(x).tanh(c * (x + 0.044715 * x**3)))

        def rev(x, d):
            xp = _xp(x)
            t = xp.tanh(c * (x + 0.044715 * x**3))
            return d * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))

        return _poly("gelu(tanh)", fn, rev)

    def phi_cdf(x):
        return 0.5 * (1 + backend_of(x).erf(x / math.sqrt(2.0)))

    def fn(x):
        return x * phi_cdf(x)

    def rev(x, d):
        pdf = _xp(x).exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return d * (phi_cdf(x) + x * pdf)

    return _poly("gelu", fn, rev)


def _softmax(x):
    xp = _xp(x)
    z = x - xp.max(x, axis=-1, keepdims=True)
    e = xp.exp(z)
    return e / xp.sum(e, axis=-1, keepdims=True)


def _softmax_rev(s, d):
    return s * (d - _xp(s).sum(d * s, axis=-1, keepdims=True))


def softmax_map() -> Map:
    """Softmax over the last axis: get x -> s = e^x / sum e^x;  put (x, d) -> s (d - <d, s>)."""
    return _poly("softmax", _softmax, lambda x, d: _softmax_rev(_softmax(x), d),
                 lens=(lambda x: (_softmax(x),) * 2, _softmax_rev))


def log_softmax_map() -> Map:
    """get x -> x - logsumexp(x);  put (x, d) -> d - softmax(x) sum(d)."""

    def fn(x):
        xp = _xp(x)
        z = x - xp.max(x, axis=-1, keepdims=True)
        return z - xp.log(xp.sum(xp.exp(z), axis=-1, keepdims=True))

    def rev(x, d):
        return d - _softmax(x) * _xp(d).sum(d, axis=-1, keepdims=True)

    return _poly("log_softmax", fn, rev)


def identity_map() -> Map:
    return _poly("identity", lambda x: x, lambda x, d: d, linear=True)


def relu() -> Lens:
    return R(relu_map())


def leaky_relu(negative_slope: float = 0.01) -> Lens:
    return R(leaky_relu_map(negative_slope))


def sigmoid() -> Lens:
    return R(sigmoid_map())


def tanh() -> Lens:
    return R(tanh_map())


def gelu(approximate: bool = False) -> Lens:
    return R(gelu_map(approximate))


def softmax() -> Lens:
    return R(softmax_map())


def log_softmax() -> Lens:
    return R(log_softmax_map())


def identity_activation() -> Lens:
    return R(identity_map())


ACTIVATIONS = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "gelu": gelu,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "identity": identity_activation,
    "linear": identity_activation,
}


def activation(name) -> Lens:
    """An activation lens by name (``"relu"``) or the lens itself."""
    if isinstance(name, Lens):
        return name
    if name is None:
        return identity_activation()
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
