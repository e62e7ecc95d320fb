"""A map, lens or Para seen as a sampled function ``x -> y`` with its reverse derivative, the options of
the law checks, and how a check compares two values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paralens.categories.functor import Map
from paralens.categories.lens import Lens
from paralens.categories.para import Para
from paralens.categories.types import Type, as_type
from paralens.laws.reports import _Worst
from paralens.laws.sampling import _concrete, _describe, _diff, _fields, _same_structure, sample_value


@dataclass
class _Opts:
    shape: tuple = (3,)
    dom: Type | None = None
    batch: int | None = None
    seed: int = 0
    sample: Callable | None = None
    sample_params: Callable | None = None
    trials: int = 3
    rtol: float = 1e-5
    atol: float = 1e-6
    eps: float = 1e-6
    ctx: Any = None
    max_points: int = 512
    jacobian_max: int = 40
    reduced: bool | None = None
    leaves: bool | None = None


def _opts(kw: dict) -> _Opts:
    unknown = set(kw) - set(_Opts.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; the options are {sorted(_Opts.__dataclass_fields__)}")
    o = _Opts(**kw)
    o.shape = tuple(o.shape)
    if o.dom is not None:
        o.dom = as_type(o.dom)
    return o


def _label(f) -> str:
    return f.label() if hasattr(f, "label") else repr(f)


class _Target:
    """``f`` as ``get(x) -> y`` and ``put(x, dy) -> dx``; for a Para, ``x = (params, a)``."""

    def __init__(self, f, o: _Opts):
        if isinstance(f, Para):
            self.kind = "para"
        elif isinstance(f, Lens):
            self.kind = "lens"
        elif isinstance(f, Map):
            self.kind = "map"
        else:
            raise TypeError(f"the law checker takes a Map, a Lens or a Para, not {type(f).__name__}")
        self.f, self.o = f, o
        self.label = _label(f)
        self.dom = o.dom if o.dom is not None else _concrete(f.dom, o.shape)
        fields = _fields(self.dom)
        if self.kind == "para":
            fields |= {s.field.p for s in f.params.values()}
        if not fields:  # a map out of the terminal object: its field is its codomain's
            fields = _fields(f.cod)
        if len(fields) > 1:
            raise ValueError(f"{self.label} mixes fields {sorted(map(str, fields))}; the checker needs one field")
        self.p = next(iter(fields)) if fields else None
        self.batch = o.batch if o.batch is not None else (2 if self.p is None else 1)

    # the function and its reverse derivative
    def get(self, x):
        f = self.f
        if self.kind == "para":
            return f.get(x[0], x[1], self.o.ctx)
        if self.kind == "lens":
            return f.get(x, self.o.ctx)
        return f.fn(x)

    def put(self, x, dy):
        f = self.f
        if self.kind == "para":
            return f.put(x[0], x[1], dy, self.o.ctx)
        if self.kind == "lens":
            return f.put(x, dy, self.o.ctx)
        return f.reverse(x, dy)

    # sampling
    def sample_input(self, rng):
        if self.o.sample is not None:
            return self.o.sample(rng)
        return sample_value(self.dom, rng, self.batch)

    def sample(self, rng):
        a = self.sample_input(rng)
        if self.kind != "para":
            return a
        if self.o.sample_params is not None:
            ps = self.o.sample_params(rng)
        else:
            ps = {n: sample_value(s.type, rng, None) for n, s in self.f.params.items()}
        return (ps, a)

    def points(self, rng, trials: int):
        """``trials`` pairs ``(a, f(a))``: the first checked by :meth:`first`, the rest fresh samples."""
        x, y = self.first(rng)
        for trial in range(trials):
            if trial:
                x = self.sample(rng)
                y = self.get(x)
            yield x, y

    def first(self, rng):
        """A sample and its image, raising a clear error when ``f`` cannot even run on it."""
        x = self.sample(rng)
        try:
            if self.o.sample is None and self.o.dom is None:
                self.f.output_type(self.dom)  # a type error says more than a failed run
            y = self.get(x)
        except Exception as exc:
            raise ValueError(
                f"cannot run {self.label} on a sample of type {self.dom} ({_describe(x)}): "
                f"{type(exc).__name__}: {exc}\n  give the input type with shape=(...) or dom=..., "
                f"or a sampler sample=lambda rng: ..."
            ) from exc
        return x, y

    def example(self, x, **more) -> dict:
        if self.kind == "para":
            ex = {"params": x[0], "a": x[1]}
        else:
            ex = {"a": x}
        ex.update(more)
        return ex


def _safe(acc: _Worst, example: dict, *calls):
    """Run each call ``(fn, *args)``; an exception becomes a failed check with its counterexample.

    Returns the single result, a tuple of results for several calls, or None after an exception.
    """
    try:
        out = tuple(c[0](*c[1:]) for c in calls)
    except Exception as exc:  # noqa: BLE001 - a law checker reports, it does not crash
        acc.fail(f"raised {type(exc).__name__}: {exc}", example)
        return None
    return out[0] if len(calls) == 1 else out


def _tol(o: _Opts, scale: float, p) -> float:
    return 0.0 if p is not None else o.atol + o.rtol * scale


def _compare(acc, t, x, got, want, p, o, detail, **more):
    bad = _same_structure(got, want)
    if bad:
        acc.fail(f"{detail}: {bad}", t.example(x, **more))
        return
    err, scale = _diff(got, want, p)
    acc.add(err, _tol(o, scale, p), t.example(x, **more), detail)


def _cmp_para(acc, ex, got, want, p, o, detail):
    bad = _same_structure(got, want)
    if bad:
        acc.fail(f"{detail}: {bad}", ex)
        return
    err, scale = _diff(got, want, p)
    acc.add(err, _tol(o, scale, p), ex, detail)
