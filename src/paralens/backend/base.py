"""The backend protocol (the lookup of backends by name or by array is :mod:`paralens.backend.registry`)."""

from __future__ import annotations

from typing import Any


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
    * ``materialise(x)``: ``x``, computed once into its own buffer (a compiler may otherwise fuse it into
      each consumer and recompute it there; the identity where nothing is fused).
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

    def materialise(self, x):
        return x

    def to_numpy(self, x):
        import numpy as np

        return np.asarray(x)

    def __repr__(self) -> str:
        return f"<backend {self.name}>"
