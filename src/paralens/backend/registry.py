"""Finding a backend: by name (:func:`get_backend`) or from the arrays at hand (:func:`backend_of`).

The backends are made here, once each, on first use; the backend modules import only
:mod:`paralens.backend.base`, so lookup and backends import one way.
"""

from __future__ import annotations

import numpy as _np

from paralens.backend.base import Backend

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
