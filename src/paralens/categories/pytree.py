"""Trees of arrays: the one implementation of mapping over, flattening and rebuilding nested values.

A *tree* is a leaf or a node holding trees: a ``dict`` (keys in insertion order, or sorted with
``sort_keys=True``), a ``tuple``, a ``list`` or a namedtuple.  ``None`` is an empty node (no
leaves; :func:`tree_map` keeps it), as in JAX.  Everything else -- an array, a number -- is a leaf;
``is_leaf`` makes more things leaves (a pair a function returned, say).

Parameters and optimiser states (named trees ``{"0.weight": array, ...}``, possibly nested),
training states (namedtuples, dataclasses are leaves) and the values the laws sample all use it.

>>> import numpy as np
>>> t = {"w": np.ones(2), "state": (np.zeros(1), None)}
>>> [a.tolist() for a in tree_leaves(t)]
[[1.0, 1.0], [0.0]]
>>> tree_map(lambda a, b: a + b, t, t)["w"].tolist()
[2.0, 2.0]
>>> leaves, treedef = flatten(t)
>>> unflatten(treedef, [2 * a for a in leaves])["state"][0].tolist()
[0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Tree = Any
"""A leaf (an array, a number) or a dict, tuple, list or namedtuple of trees; ``None`` is empty."""


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def tree_map(f: Callable, tree: Tree, *rest: Tree, is_leaf: Callable | None = None) -> Tree:
    """``f`` applied leafwise to ``tree`` and the trees of the same structure in ``rest``."""
    if is_leaf is not None and is_leaf(tree):
        return f(tree, *rest)
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: tree_map(f, v, *(r[k] for r in rest), is_leaf=is_leaf) for k, v in tree.items()}
    if _is_namedtuple(tree):
        return type(tree)(*(tree_map(f, v, *parts, is_leaf=is_leaf) for v, *parts in zip(tree, *rest)))
    if isinstance(tree, (tuple, list)):
        return type(tree)(tree_map(f, v, *parts, is_leaf=is_leaf) for v, *parts in zip(tree, *rest))
    return f(tree, *rest)


def tree_leaves(tree: Tree, *, sort_keys: bool = False) -> list:
    """The leaves of ``tree``, depth first (dict keys in insertion order, or sorted)."""
    return flatten(tree, sort_keys=sort_keys)[0]


def flatten(tree: Tree, *, sort_keys: bool = False) -> tuple[list, Any]:
    """``(leaves, treedef)``: the leaves depth first and the structure, for :func:`unflatten`."""
    leaves: list = []

    def walk(t):
        if t is None:
            return ("none",)
        if isinstance(t, dict):
            keys = sorted(t) if sort_keys else list(t)
            return ("dict", keys, [walk(t[k]) for k in keys])
        if _is_namedtuple(t):
            return ("namedtuple", type(t), [walk(v) for v in t])
        if isinstance(t, (tuple, list)):
            return (type(t).__name__ if type(t) in (tuple, list) else "tuple", None, [walk(v) for v in t])
        leaves.append(t)
        return ("leaf",)

    treedef = walk(tree)
    return leaves, treedef


def unflatten(treedef, leaves) -> Tree:
    """The tree of structure ``treedef`` (from :func:`flatten`) with these leaves, in order."""
    it = iter(leaves)

    def build(d):
        kind = d[0]
        if kind == "leaf":
            return next(it)
        if kind == "none":
            return None
        if kind == "dict":
            return {k: build(s) for k, s in zip(d[1], d[2])}
        items = [build(s) for s in d[2]]
        if kind == "namedtuple":
            return d[1](*items)
        return items if kind == "list" else tuple(items)

    return build(treedef)


__all__ = ["Tree", "flatten", "tree_leaves", "tree_map", "unflatten"]
