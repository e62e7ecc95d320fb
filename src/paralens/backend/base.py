"""The backend protocol and backend lookup."""

from __future__ import annotations

from typing import Any

import numpy as _np


class Backend:
    """Arrays of one array library plus the kernels the lenses need.

    Attributes:
      name: ``"numpy"`` or ``"jax"``.
      xp: the NumPy-compatible namespace (``numpy`` or ``jax.numpy``).

    Kernels (each a pure function of its inputs; batch dimension first):

    * ``conv2d(x, w, stride, padding)``: cross-correlation, ``x`` of shape
      ``(N, C, H, W)``, ``w`` of shape ``(F, C, KH, KW)``, result ``(N, F, OH, OW)``;
      ``conv2d_backward(x, w, dy, stride, padding) -> (dx, dw)`` its reverse derivative.
    * ``pool2d(x, kind, size, stride)`` and ``pool2d_backward``: max or average
      pooling over windows.
    * ``bernoulli_mask(key, p_keep, shape, dtype)``: random numbers from a key.
    * ``asarray``, ``to_numpy``.
    """

    name: str = "abstract"
    xp: Any = None

    def conv2d_forward(self, x, w, stride: int = 1, padding: int = 0):
        """``(y, residual)`` for :meth:`conv2d_backward_residual`; by default the residual is ``(x, w)``."""
        return self.conv2d(x, w, stride, padding), (x, w)

    def conv2d_backward_residual(self, residual, dy, stride: int = 1, padding: int = 0, need_dx: bool = True):
        x, w = residual
        return self.conv2d_backward(x, w, dy, stride, padding, need_dx=need_dx)

    def asarray(self, x, dtype=None):
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x):
        import numpy as np

        return np.asarray(x)

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


_REGISTRY: dict[str, Backend] = {}


def _numpy() -> Backend:
    if "numpy" not in _REGISTRY:
        from paralens.backend.numpy_backend import NumpyBackend

        _REGISTRY["numpy"] = NumpyBackend()
    return _REGISTRY["numpy"]


def _jax() -> Backend:
    if "jax" not in _REGISTRY:
        try:
            from paralens.backend.jax_backend import JaxBackend
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise ImportError(
                "the JAX backend needs JAX: install it with `pip install paralens[jax]`"
            ) from exc
        _REGISTRY["jax"] = JaxBackend()
    return _REGISTRY["jax"]


def get_backend(name: str | Backend = "numpy") -> Backend:
    """The backend called ``name`` (``"numpy"`` or ``"jax"``), or ``name`` itself if a Backend."""
    if isinstance(name, Backend):
        return name
    if name == "numpy":
        return _numpy()
    if name == "jax":
        return _jax()
    raise ValueError(f"unknown backend {name!r}: choose one of 'numpy', 'jax'")


def available_backends() -> list[str]:
    """Names of the backends that can be used here (JAX only when installed)."""
    names = ["numpy"]
    try:
        import jax  # noqa: F401

        names.append("jax")
    except ImportError:
        pass
    return names


def _is_jax_array(x) -> bool:
    mod = type(x).__module__
    return mod.startswith("jax") or mod.startswith("jaxlib")


def backend_of(*values) -> Backend:
    """The backend of the first array found in ``values`` (nested tuples, dicts allowed).

    NumPy arrays, Python numbers and empty values give the NumPy backend; JAX
    arrays and JAX tracers give the JAX backend.
    """
    if values and type(values[0]) is _np.ndarray:  # the common case, kept cheap
        return _REGISTRY.get("numpy") or _numpy()
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, (tuple, list)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif v is None or isinstance(v, (int, float, bool)):
            continue
        elif _is_jax_array(v):
            return _jax()
        else:
            return _numpy()
    return _numpy()
