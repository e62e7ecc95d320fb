"""Circuits on rows of field elements: the options of the circuit laws and ``_CField``, vectorised
arithmetic and row-by-row comparison over a finite field (galois) or the reals (float64)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from paralens.laws.reports import _Worst

_CIRCUIT_MAX_POINTS = 20_000
_SYMBOLIC_MAX_GATES = 200
_SYMBOLIC_MAX_TERMS = 5_000
_REFERENCE_MAX_POINTS = 4_096
_DOUBLE_REVERSE_MAX_OPS = 4_000


@dataclass(frozen=True)
class _COpts:
    exhaustive: bool | None = None
    samples: int = 64
    seed: int = 0
    max_points: int = _CIRCUIT_MAX_POINTS
    max_gates: int = _SYMBOLIC_MAX_GATES
    max_terms: int = _SYMBOLIC_MAX_TERMS
    rtol: float = 1e-6
    atol: float = 1e-8


def _copts(kw: dict) -> _COpts:
    unknown = set(kw) - set(_COpts.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)} for circuits; the options are "
                        f"{sorted(_COpts.__dataclass_fields__)}")
    return _COpts(**kw)


class _CField:
    """Vectorised arithmetic on rows of field elements: galois FieldArrays, or float64 over the reals."""

    def __init__(self, F, o: _COpts):
        self.F, self.o = F, o
        self.finite = F.is_finite

    def arr(self, ints):
        if self.finite:
            return self.F.array(ints)
        return np.asarray(ints, dtype=np.float64)

    def ints(self, x) -> np.ndarray:
        """Plain integers (or floats) for printing and comparing."""
        if self.finite:
            return np.asarray(x.view(np.ndarray))
        return np.asarray(x, dtype=np.float64)

    def zeros(self, shape):
        if self.finite:
            return self.F.array(np.zeros(shape, dtype=np.int64))
        return np.zeros(shape)

    def random(self, rng, shape):
        if self.finite:
            return self.F.array(self.F.random_ints(shape, rng))
        return rng.standard_normal(shape)

    def scalars(self, rng, rows):
        if self.finite:
            return self.F.array(self.F.random_ints((rows, 1), rng))
        return rng.uniform(-3, 3, (rows, 1))

    def cat(self, *xs):
        parts = [self.ints(x) for x in xs]
        rows = next(len(p) for p in parts)
        parts = [p.reshape(rows, -1) for p in parts]
        out = np.concatenate(parts, axis=1) if parts else np.zeros((rows, 0))
        if self.finite and out.dtype != object:
            out = out.astype(np.int64)
        return self.arr(out)

    def inner(self, x, y):
        """Row-wise ``<x, y>``, shape ``(rows, 1)``."""
        if x.shape[1] == 0:
            return self.zeros((x.shape[0], 1))
        return (x * y).sum(axis=1).reshape(-1, 1)

    def rows(self, k: int, rng, what: str):
        """Every point of F^k when there are at most max_points (or exhaustive=True), else samples."""
        F, o = self.F, self.o
        if self.finite and (o.exhaustive or (o.exhaustive is None and F.order ** k <= o.max_points)):
            if F.order ** k > 10**7:
                raise ValueError(f"exhaustive=True over {F.name}^{k}: {F.order ** k} points are too many")
            grid = np.array(list(itertools.product(range(F.order), repeat=k)), dtype=np.int64).reshape(F.order ** k, k)
            return self.arr(grid), f"exhaustive over all {F.order ** k} points of {what}"
        return self.random(rng, (o.samples, k)), f"{o.samples} random points of {what}"

    def eval(self, c, X):
        y = c.evaluate(X)
        if self.finite:
            return y if y.ndim == 2 else y.reshape(len(X), -1)
        return np.asarray(y, dtype=np.float64).reshape(len(X), -1)

    def evals(self, c, *inputs) -> list:
        """``c`` on several blocks of rows, in one evaluation."""
        sizes = np.cumsum([len(a) for a in inputs])[:-1]
        parts = [self.ints(a).reshape(len(a), -1) for a in inputs]
        stacked = np.concatenate(parts, axis=0)
        if self.finite and stacked.dtype != object:
            stacked = stacked.astype(np.int64)
        return np.split(self.eval(c, self.arr(stacked)), sizes, axis=0)

    def compare(self, acc: _Worst, got, want, example: dict, detail: str) -> None:
        """Compare row by row: one check per row, the worst row as the counterexample."""
        rows = len(want)
        if rows == 0:
            return
        g, w = self.ints(got).reshape(rows, -1), self.ints(want).reshape(rows, -1)
        if g.shape != w.shape:
            acc.fail(f"{detail}: shape {g.shape} is not {w.shape}", {})
            return
        if self.finite:
            wrong = (g != w).sum(axis=1) if g.shape[1] else np.zeros(rows, np.int64)
            worst = int(np.argmax(wrong))
            err, tol = float(wrong[worst]), 0.0
            nbad = int(np.count_nonzero(wrong))
        else:
            d = np.abs(g - w).max(axis=1) if g.shape[1] else np.zeros(rows)
            scale = np.maximum(np.abs(g).max(axis=1), np.abs(w).max(axis=1)) if g.shape[1] else np.zeros(rows)
            tols = self.o.atol + self.o.rtol * scale
            d = np.where(np.isnan(d), np.inf, d)
            worst = int(np.argmax(d / tols))
            err, tol = float(d[worst]), float(tols[worst])
            nbad = int(np.count_nonzero(d > tols))
        ex = {k: self.ints(v)[worst] for k, v in example.items()}
        ex.update(expected=w[worst], got=g[worst])
        acc.add(err, tol, ex, f"{detail} ({nbad} of {rows} rows differ)" if nbad else detail, n=rows)
