"""Backends: arrays and the few kernels that are not in the array API.

Layer 1 of paralens (see DESIGN.md).  Nothing above this package imports an
array library directly: a lens asks :func:`backend_of` for the backend of the
arrays it is handed and computes through ``B.xp`` (a NumPy-compatible array
namespace) and the backend's kernels (convolution, pooling, random numbers).
Because the backend is found from the arrays themselves, the same lens runs on
NumPy arrays and, unchanged, on JAX arrays (also inside ``jax.jit``).
"""

from paralens.backend.base import Backend
from paralens.backend.numpy_backend import NumpyBackend
from paralens.backend.registry import available_backends, backend_of, get_backend

__all__ = ["Backend", "NumpyBackend", "backend_of", "get_backend", "available_backends"]
