"""Values as trees of arrays (tuples, dicts, arrays; :mod:`paralens.categories.pytree`, dict keys sorted) and
random values of a type: :func:`sample_value`."""

from __future__ import annotations

import numpy as np

from paralens.categories.pytree import flatten, tree_leaves, tree_map
from paralens.categories.types import ArrayType, Product, Type

# -- values: trees of arrays -------------------------------------------------------------------


def _same_structure(x, y) -> str | None:
    """None when x and y have the same nesting and leaf shapes, else a description of the difference."""
    lx, tx = flatten(x, sort_keys=True)
    ly, ty = flatten(y, sort_keys=True)
    if tx != ty:
        return f"structure {_describe(x)} is not {_describe(y)}"
    for a, b in zip(lx, ly):
        if np.shape(a) != np.shape(b):
            return f"shape {np.shape(a)} is not {np.shape(b)}"
    return None


def _describe(x) -> str:
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(_describe(v) for v in x) + ")"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in sorted(x.items())) + "}"
    return f"array{tuple(np.shape(x))}"


def _np(x, p):
    return np.asarray(x, dtype=np.float64) if p is None else np.asarray(x).astype(np.int64)


def _inner(x, y, p=None):
    lx, ly = tree_leaves(x, sort_keys=True), tree_leaves(y, sort_keys=True)
    if p is None:
        return float(sum(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)) for a, b in zip(lx, ly)))
    return int(sum(int(np.sum(np.asarray(a, np.int64) * np.asarray(b, np.int64)) % p) for a, b in zip(lx, ly)) % p)


def _diff(x, y, p=None) -> tuple[float, float]:
    """(max |x - y|, max(|x|, |y|)) over the reals; (number of entries differing mod p, 0) over Z_p."""
    lx, ly = tree_leaves(x, sort_keys=True), tree_leaves(y, sort_keys=True)
    if p is None:
        err, scale = 0.0, 0.0
        for a, b in zip(lx, ly):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if a.size:
                d = np.abs(a - b)
                err = max(err, float(np.max(np.where(np.isnan(d), np.inf, d))))
                scale = max(scale, float(np.max(np.abs(a))), float(np.max(np.abs(b))))
        return err, scale
    wrong = 0
    for a, b in zip(lx, ly):
        wrong += int(np.sum((np.asarray(a, np.int64) - np.asarray(b, np.int64)) % p != 0))
    return float(wrong), 0.0


def _out_of_range(x, p) -> int:
    bad = 0
    for a in tree_leaves(x):
        a = np.asarray(a)
        if a.size and not np.issubdtype(a.dtype, np.integer):
            bad += int(np.sum(a != np.round(a)))
        bad += int(np.sum((a < 0) | (a >= p)))
    return bad


def _size(x) -> int:
    return int(sum(np.size(a) for a in tree_leaves(x)))


# -- sampling ------------------------------------------------------------------------------------


def _concrete(t: Type, shape) -> Type:
    """``t`` with every shape-polymorphic array type given ``shape``."""
    if isinstance(t, Product):
        return Product(tuple(_concrete(f, shape) for f in t.factors))
    if isinstance(t, ArrayType) and t.shape is None:
        return ArrayType(tuple(shape), t.field, t.dtype)
    return t


def _fields(t: Type) -> set:
    if isinstance(t, Product):
        out: set = set()
        for f in t.factors:
            out |= _fields(f)
        return out
    return {t.field.p} if isinstance(t, ArrayType) else set()


def sample_value(t: Type, rng: np.random.Generator, batch: int | None = 2):
    """A random value of the concrete type ``t`` (a leading batch dimension unless ``batch`` is None).

    Real arrays are standard normal float64, Z_p arrays uniform integers in ``0 .. p-1``
    (int64), products tuples, the terminal object ``()``.
    """
    if isinstance(t, Product):
        return tuple(sample_value(f, rng, batch) for f in t.factors)
    if not isinstance(t, ArrayType):
        raise TypeError(f"cannot sample a value of type {t!r}")
    if t.shape is None:
        raise ValueError(f"cannot sample {t}: its shape is not fixed; pass shape=(...) or dom=...")
    shape = t.shape if batch is None else (batch,) + t.shape
    if t.field.p is None:
        return rng.standard_normal(shape)
    return rng.integers(0, t.field.p, size=shape, dtype=np.int64)


def _like(x, rng, p):
    """A random value with the structure and shapes of ``x`` (normal, or uniform over Z_p)."""
    if p is None:
        return tree_map(lambda a: rng.standard_normal(np.shape(a)), x)
    return tree_map(lambda a: rng.integers(0, p, size=np.shape(a), dtype=np.int64), x)


def _zeros_like(x, p):
    return tree_map(lambda a: np.zeros(np.shape(a), np.float64 if p is None else np.int64), x)


def _axpy(c, x, y, p=None):
    """``c x + y`` on trees (mod p over Z_p)."""
    if p is None:
        return tree_map(lambda a, b: c * np.asarray(a, np.float64) + np.asarray(b, np.float64), x, y)
    return tree_map(lambda a, b: (int(c) * np.asarray(a, np.int64) + np.asarray(b, np.int64)) % p, x, y)


def _scale(c, x, p=None):
    if p is None:
        return tree_map(lambda a: c * np.asarray(a, np.float64), x)
    return tree_map(lambda a: (int(c) * np.asarray(a, np.int64)) % p, x)
