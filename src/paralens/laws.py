"""Executable laws: check any map, lens or parametric lens against the axioms of a CRDC.

A primitive is trusted only as far as its reverse derivative is right, so
paralens lets anyone check their own primitives the way it checks its own.
Each ``check_*`` function samples inputs from the morphism's type (seeded),
runs it, and returns a :class:`LawReport`; :func:`check_laws` runs every law
that applies.  The laws (paper section 2.4, Cockett et al. Def 13):

======================  =====================================================================
law                     what is checked
======================  =====================================================================
reverse derivative      over the reals: ``R[f](a, db)`` is ``J[f](a)^T db``, by central finite
                        differences in float64 (directional ``<f(a+hv) - f(a-hv), db> / 2h``
                        against ``<R[f](a, db), v>``, and the whole Jacobian for small sizes);
                        over Z_p: ``R[f](a, db)`` equals the transposed Jacobian of *formal*
                        partial derivatives, at every point of a small domain (see below).
                        For a Para, in the parameters and in the input separately.
RD.1 sum                ``R[f + g] = R[f] + R[g]`` with ``f + g = <f, g> ; +``, and ``R[0] = 0``
RD.2 additivity         ``R[f](a, db1 + db2) = R[f](a, db1) + R[f](a, db2)``, ``R[f](a, 0) = 0``
RD.3 identity/proj      ``R[1] = pi_1``, ``R[pi_0] = pi_1 ; iota_0``, ``R[pi_1] = pi_1 ; iota_1``
RD.4 pairing            ``R[<f, g>](a, (db, dc)) = R[f](a, db) + R[g](a, dc)``, ``R[!] = 0``
RD.5 chain rule         ``R[f ; g](a, dc) = R[f](a, R[g](f(a), dc))`` for composites (lenses,
                        maps and Paras), and ``R(f ; g) = R(f) ; R(g)`` for maps
R preserves @           ``R[f x g]((a, c), (db, dd)) = (R[f](a, db), R[g](c, dd))``
RD.6 linearity          ``R[f](a, c db) = c R[f](a, db)``; for maps flagged ``linear``: f is
                        additive, ``<f(v), w> = <v, R[f](a, w)>`` (the adjoint) for every a
RD.7 symmetry           mixed second derivatives commute: the derivative of
                        ``<R[f](a, db), v>`` along u is symmetric in (u, v) (reals only)
R functor               a lens ``R(f)`` with a faster forward/backward agrees with ``(f, R[f])``
backward_params         a Para's parameter-only backward (used in training) equals put's ``dp``
Z_p closure             over Z_p, get and put return integers in ``0 .. p-1``
category laws           associativity, left/right identity, interchange
                        ``(f @ g) >> (g' @ h) = (f >> g') @ (g >> h)``
circuits                :func:`check_circuit_laws`: ``reverse(c)`` against sympy's formal
                        derivatives and galois' (small circuits) and truncated dual numbers on
                        the gates' polynomials (any size), and RD.1 - RD.7 in their CRDC form (R
                        of a circuit is a circuit, so RD.6 and RD.7 reverse it two and three
                        times), with R[R[c]], R[R[R[c]]] and D[D[c]] against hyper-dual numbers;
                        :func:`check_circuit_category_laws` for >> and @
======================  =====================================================================

Over Z_p a map is a tuple of polynomials, and its reverse derivative is the
transposed Jacobian of their *formal* partial derivatives.  A function
``Z_p^n -> Z_p`` is given by exactly one *reduced* polynomial (degree < p in
each variable); fixing every variable but ``x_i`` at the point ``a`` leaves a
polynomial of degree < p in ``x_i``, which is the Lagrange interpolant of
``t -> f(a[x_i := t])`` over the p nodes ``0 .. p-1``.  The checker computes
that interpolant's derivative at ``a_i`` (``sum_t f(a[x_i := t]) L_t'(a_i)``
mod p; over Z2 this is the Boolean derivative ``f(a[x_i:=0]) + f(a[x_i:=1])``)
and compares it with ``R[f]`` exhaustively when ``p ** n <= max_points``
(otherwise at random points).  The polynomial behind a *composite* need not be
reduced: over Z2, ``copy ; multiply`` is ``x * x``, the function ``x``, but its
formal derivative is ``2x = 0``.  So for a composite over Z_p,
:func:`check_laws` checks each primitive this way and the composite by the chain
rule; pass ``reduced=True`` to check a composite you know to be reduced
(``or``, ``nand``) as a whole.  For the same reason a *primitive* must be given
by a reduced polynomial: one written as ``x^p`` (the function ``x``) with the
formal derivative ``p x^(p-1) = 0`` is reported as failing.

A law that cannot be checked (sympy on a circuit above ``max_gates``, a composite over Z_p
as a whole) is reported as SKIPPED, with why: it is neither passed nor failed, ``report.ok``
means no failure, ``report.complete`` that nothing was skipped, and
``report.raise_if_failed(strict=True)`` raises on skipped laws too.

Inputs are sampled from the domain type: polymorphic array types (shape
``None``) take ``shape`` (default ``(3,)``), or give the whole concrete type
as ``dom``, or pass ``sample(rng) -> a`` for a restricted domain (``log``
needs positive inputs); a Para's parameters are sampled from their specs (or
``sample_params(rng) -> dict``).

    >>> import numpy as np
    >>> from paralens import Map, reals, laws
    >>> from paralens.instances.smooth import sin, log
    >>> laws.check_laws(sin()).ok
    True
    >>> laws.check_laws(log(), sample=lambda rng: rng.uniform(0.5, 2.0, (2, 3))).ok
    True
    >>> bad = Map(np.sin, lambda x, d: 1.01 * np.cos(x) * d, reals(3), reals(3), "bad_sin")
    >>> report = laws.check_laws(bad)
    >>> [r.law for r in report.failures]
    ['reverse derivative']
    >>> report.raise_if_failed()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    paralens.errors.LawViolation: law 'reverse derivative' fails for bad_sin: ...
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from paralens.categories.functor import Map, MapCompose, MapTensor, R
from paralens.categories.lens import Compose, Identity, Lens, Tensor
from paralens.categories.para import Chain, Lifted, Named, Para, ParaLens, ParaTensor, Reparam
from paralens.categories.types import ArrayType, Product, Type, as_type
from paralens.errors import LawViolation

__all__ = [
    "LawReport",
    "LawResult",
    "check_backward_params",
    "check_category_laws",
    "check_chain_rule",
    "check_circuit_category_laws",
    "check_circuit_laws",
    "check_laws",
    "check_lens_matches_map",
    "check_rd1",
    "check_rd2_additivity",
    "check_rd3",
    "check_rd4",
    "check_rd6_linearity",
    "check_rd7_symmetry",
    "check_reverse_derivative",
    "lagrange_derivative_matrix",
    "sample_value",
]

# -- results ---------------------------------------------------------------------------------


@dataclass
class LawResult:
    """One law checked on one morphism.

    ``error`` is the worst error found (over the reals an absolute difference,
    over Z_p the number of wrong entries), ``tolerance`` the tolerance it was
    held to at that point, ``counterexample`` the inputs that gave it.  A
    ``skipped`` law was not checked (``detail`` says why): it is neither passed
    nor failed, and ``passed`` is False for it.
    """

    law: str
    target: str
    passed: bool
    error: float = 0.0
    tolerance: float = 0.0
    counterexample: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    checks: int = 0
    skipped: bool = False

    @property
    def status(self) -> str:
        """``"PASS"``, ``"FAIL"`` or ``"SKIPPED"``."""
        return "SKIPPED" if self.skipped else ("PASS" if self.passed else "FAIL")

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped

    def describe(self, full: bool = False) -> str:
        head = f"{self.status}  {self.law:<{36 - len(self.status)}} {self.target}"  # targets line up
        if self.checks:
            head += f"  [{self.checks} checks, worst error {self.error:.3g}, tolerance {self.tolerance:.3g}]"
        lines = [head]
        if self.detail and (full or not self.passed):
            lines.append(f"      {self.detail}")
        if self.counterexample and (full or not self.passed):
            lines.append("      counterexample: " + _format_example(self.counterexample))
        return "\n".join(lines)


class LawReport:
    """The results of a set of law checks.

    ``ok`` when none failed; ``complete`` when none was skipped either (a skipped law
    is not checked, so ``ok and not complete`` is a partial verdict); ``skipped`` lists
    those; ``raise_if_failed(strict=True)`` raises on skips as well as failures.
    """

    def __init__(self, target: str, results: list[LawResult] | None = None):
        self.target = target
        self.results: list[LawResult] = list(results or [])

    @property
    def ok(self) -> bool:
        """No law failed (skipped laws do not fail; see :attr:`complete`)."""
        return not self.failures

    @property
    def failures(self) -> list[LawResult]:
        return [r for r in self.results if r.failed]

    @property
    def skipped(self) -> list[LawResult]:
        """The laws that were not checked (each ``detail`` says why)."""
        return [r for r in self.results if r.skipped]

    @property
    def complete(self) -> bool:
        """Every law of the report was checked: none skipped."""
        return not self.skipped

    all_checked = complete

    @property
    def laws(self) -> list[str]:
        return [r.law for r in self.results]

    @property
    def checks(self) -> int:
        """How many checks ran in all (a report of skipped laws alone has none)."""
        return sum(r.checks for r in self.results)

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, law: str) -> LawResult:
        """The (first) result of the law called ``law``."""
        for r in self.results:
            if r.law == law:
                return r
        raise KeyError(f"no law {law!r} in this report; it has {self.laws}")

    def extend(self, other: LawReport) -> LawReport:
        self.results.extend(other.results)
        return self

    def __add__(self, other: LawReport) -> LawReport:
        return LawReport(self.target, self.results + other.results)

    def summary(self) -> str:
        """``"19 checked, all passed"`` or ``"19 checked, 16 passed, 2 skipped, 1 FAILED"``."""
        n_fail, n_skip = len(self.failures), len(self.skipped)
        if n_fail == n_skip == 0:
            return f"{len(self.results)} checked, all passed"
        parts = [f"{len(self.results) - n_fail - n_skip} passed"]
        parts += [f"{n_skip} skipped"] if n_skip else []
        parts += [f"{n_fail} FAILED"] if n_fail else []
        return f"{len(self.results)} checked, " + ", ".join(parts)

    def __str__(self) -> str:
        lines = [f"laws of {self.target}: {self.summary()}"]
        lines += ["  " + r.describe() for r in self.results]
        return "\n".join(lines)

    __repr__ = __str__

    def raise_if_failed(self, strict: bool = False) -> LawReport:
        """Raise :class:`~paralens.errors.LawViolation` naming each failed law, its
        morphism and the worst counterexample (with ``strict=True`` each skipped law too, and why);
        return the report otherwise."""
        bad = [r for r in self.results if r.failed or (strict and r.skipped)]
        if not bad:
            return self
        parts = []
        for r in bad:
            if r.skipped:
                parts.append(f"law {r.law!r} was not checked for {r.target}: {r.detail.removeprefix('skipped: ')}")
                continue
            msg = f"law {r.law!r} fails for {r.target}: "
            msg += r.detail or "violated"
            if r.checks:
                msg += f" (worst error {r.error:.3g}, tolerance {r.tolerance:.3g})"
            if r.counterexample:
                msg += "\n  counterexample: " + _format_example(r.counterexample)
            parts.append(msg)
        raise LawViolation("\n".join(parts))


def _format_example(ex: dict) -> str:
    out = []
    for k, v in ex.items():
        out.append(f"{k} = {_fmt(v)}")
    return ", ".join(out)


def _fmt(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, (float, int, np.floating, np.integer)):
        return f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)
    arr = np.asarray(v)
    return np.array2string(arr, precision=4, threshold=24, edgeitems=3, separator=", ").replace("\n", "")


class _Worst:
    """Keeps the worst of many checks of one law (a failing check beats a passing one)."""

    def __init__(self, law: str, target: str):
        self.law, self.target = law, target
        self.key = None
        self.passed = True
        self.error = 0.0
        self.tol = 0.0
        self.example: dict = {}
        self.detail = ""
        self.checks = 0
        self.notes: list[str] = []

    def add(self, err: float, tol: float, example: dict, detail: str = "", n: int = 1) -> None:
        """One check (or ``n`` checks summarised by their worst error and example)."""
        err = float(err)
        self.checks += int(n)
        ok = bool(err <= tol)  # NaN fails
        if math.isnan(err):
            err = math.inf
        key = (not ok, err / tol if tol > 0 else err)
        if self.key is None or key > self.key:
            self.key, self.error, self.tol, self.example = key, err, tol, example
            if not ok:
                self.detail = detail
        if not ok:
            self.passed = False

    def fail(self, detail: str, example: dict) -> None:
        """A check that could not run (an exception, a wrong shape): fails outright."""
        self.checks += 1
        if self.passed or self.key is None or self.key < (True, math.inf):
            self.key, self.error, self.tol, self.example, self.detail = (True, math.inf), math.inf, 0.0, example, detail
        self.passed = False

    def result(self) -> LawResult:
        """The verdict; a law none of whose checks ran (no rows, nothing to compare) is skipped, not passed."""
        if self.checks == 0:
            return _skip(self.law, self.target, "no check ran" + (f" ({'; '.join(self.notes)})" if self.notes else ""))
        return LawResult(self.law, self.target, self.passed, self.error, self.tol, self.example,
                         self.detail if not self.passed else "; ".join(self.notes), self.checks)


def _skip(law: str, target: str, why: str) -> LawResult:
    """A law that was not checked: reported as SKIPPED (with why), never as passed."""
    return LawResult(law, target, False, detail=f"skipped: {why}", skipped=True)


# -- values: trees of arrays -------------------------------------------------------------------


def _flatten(x) -> tuple[list, Any]:
    """Leaves (arrays) and a structure, for nested tuples and dicts (dict keys sorted)."""
    if isinstance(x, (tuple, list)):
        leaves, defs = [], []
        for v in x:
            lv, d = _flatten(v)
            leaves += lv
            defs.append(d)
        return leaves, ("tuple", defs)
    if isinstance(x, dict):
        keys = sorted(x)
        leaves, defs = [], []
        for k in keys:
            lv, d = _flatten(x[k])
            leaves += lv
            defs.append(d)
        return leaves, ("dict", keys, defs)
    return [x], ("leaf",)


def _unflatten(tree, leaves: list):
    it = iter(leaves)

    def build(t):
        if t[0] == "tuple":
            return tuple(build(d) for d in t[1])
        if t[0] == "dict":
            return {k: build(d) for k, d in zip(t[1], t[2])}
        return next(it)

    return build(tree)


def _tmap(fn: Callable, *xs):
    first = xs[0]
    if isinstance(first, (tuple, list)):
        return tuple(_tmap(fn, *parts) for parts in zip(*xs))
    if isinstance(first, dict):
        return {k: _tmap(fn, *(x[k] for x in xs)) for k in first}
    return fn(*xs)


def _same_structure(x, y) -> str | None:
    """None when x and y have the same nesting and leaf shapes, else a description of the difference."""
    lx, tx = _flatten(x)
    ly, ty = _flatten(y)
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
    lx, _ = _flatten(x)
    ly, _ = _flatten(y)
    if p is None:
        return float(sum(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)) for a, b in zip(lx, ly)))
    return int(sum(int(np.sum(np.asarray(a, np.int64) * np.asarray(b, np.int64)) % p) for a, b in zip(lx, ly)) % p)


def _diff(x, y, p=None) -> tuple[float, float]:
    """(max |x - y|, max(|x|, |y|)) over the reals; (number of entries differing mod p, 0) over Z_p."""
    lx, _ = _flatten(x)
    ly, _ = _flatten(y)
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
    lx, _ = _flatten(x)
    bad = 0
    for a in lx:
        a = np.asarray(a)
        if a.size and not np.issubdtype(a.dtype, np.integer):
            bad += int(np.sum(a != np.round(a)))
        bad += int(np.sum((a < 0) | (a >= p)))
    return bad


def _size(x) -> int:
    return int(sum(np.size(a) for a in _flatten(x)[0]))


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
        return _tmap(lambda a: rng.standard_normal(np.shape(a)), x)
    return _tmap(lambda a: rng.integers(0, p, size=np.shape(a), dtype=np.int64), x)


def _zeros_like(x, p):
    return _tmap(lambda a: np.zeros(np.shape(a), np.float64 if p is None else np.int64), x)


def _axpy(c, x, y, p=None):
    """``c x + y`` on trees (mod p over Z_p)."""
    if p is None:
        return _tmap(lambda a, b: c * np.asarray(a, np.float64) + np.asarray(b, np.float64), x, y)
    return _tmap(lambda a, b: (int(c) * np.asarray(a, np.int64) + np.asarray(b, np.int64)) % p, x, y)


def _scale(c, x, p=None):
    if p is None:
        return _tmap(lambda a: c * np.asarray(a, np.float64), x)
    return _tmap(lambda a: (int(c) * np.asarray(a, np.int64)) % p, x)


# -- targets: a map, lens or Para seen as a function x -> y with its reverse derivative ------------


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


# -- the reverse derivative ------------------------------------------------------------------------


def check_reverse_derivative(f, **options) -> LawReport:
    """``R[f]`` is the reverse derivative of ``f``.

    Over the reals: central finite differences in float64, along random
    directions (``trials`` of them) and, when input and output have at most
    ``jacobian_max`` entries, the whole Jacobian.  Over Z_p: the transposed
    Jacobian of formal partial derivatives of the reduced polynomial, at every
    point when ``p ** n <= max_points`` (see the module docstring).  For a Para,
    the parameters and the input are checked separately.
    """
    o = _opts(options)
    t = _Target(f, o)
    if t.p is not None:
        return LawReport(t.label, _rd_zp(t, o))
    return LawReport(t.label, _rd_reals(t, o))


def _rd_reals(t: _Target, o: _Opts) -> list[LawResult]:
    rng = np.random.default_rng(o.seed)
    if t.kind == "para":
        accs = {"parameters": _Worst("reverse derivative in parameters", t.label),
                "input": _Worst("reverse derivative in input", t.label)}
    else:
        accs = {"all": _Worst("reverse derivative", t.label)}
    h = o.eps
    for x, y in t.points(rng, o.trials):
        dy = _like(y, rng, None)
        for part, acc in accs.items():
            v = _like(x, rng, None)
            if part == "parameters":
                v = (v[0], _zeros_like(x[1], None))
            elif part == "input":
                v = (_zeros_like(x[0], None), v[1])
            ex = t.example(x, v=v, db=dy)
            dx = _safe(acc, ex, (t.put, x, dy))
            if dx is None:
                continue
            bad = _same_structure(dx, x)
            if bad:
                acc.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
                continue
            ys = _safe(acc, ex, (t.get, _axpy(h, v, x)), (t.get, _axpy(-h, v, x)))
            if ys is None:
                continue
            lhs = (_inner(ys[0], dy) - _inner(ys[1], dy)) / (2 * h)
            rhs = _inner(dx, v)
            acc.add(abs(lhs - rhs), o.atol + o.rtol * max(abs(lhs), abs(rhs)), ex,
                    f"<f(a + h v) - f(a - h v), db> / 2h = {lhs:.8g} but <R[f](a, db), v> = {rhs:.8g}")
    # the whole Jacobian, for small sizes
    x = t.sample(rng)
    y = t.get(x)
    n, m = _size(x), _size(y)
    if n <= o.jacobian_max and m <= o.jacobian_max:
        jac = _jacobian_fd(t, x, h)
        jrev = np.zeros((m, n))
        ly, ty = _flatten(y)
        for acc in accs.values():
            acc.notes.append(f"Jacobian {m}x{n} checked entrywise")
        ok = True
        for j in range(m):
            e = np.zeros(m)
            e[j] = 1.0
            dy = _unflat_vec(e, ly, ty, None)
            dx = _safe(next(iter(accs.values())), t.example(x, db=dy), (t.put, x, dy))
            if dx is None or _same_structure(dx, x):
                ok = False
                break
            jrev[j] = _flat_vec(dx, None)
        if ok:
            masks = _part_masks(t, x)
            for part, acc in accs.items():
                cols = masks[part]
                d = np.abs(jac[:, cols] - jrev[:, cols])
                if not d.size:
                    continue
                scale = float(np.max(np.abs(jac[:, cols])))
                err = float(np.max(d))
                where = np.unravel_index(int(np.argmax(d)), d.shape)
                acc.add(err, o.atol * 10 + o.rtol * scale, t.example(x),
                        f"Jacobian entry (output {where[0]}, input {np.flatnonzero(cols)[where[1]]}): finite "
                        f"differences give {jac[:, cols][where]:.8g}, R[f] gives {jrev[:, cols][where]:.8g}")
    return [a.result() for a in accs.values()]


def _part_masks(t: _Target, x) -> dict:
    n = _size(x)
    if t.kind != "para":
        return {"all": np.ones(n, bool)}
    npar = _size(x[0])
    m = np.zeros(n, bool)
    m[:npar] = True
    return {"parameters": m, "input": ~m}


def _flat_vec(x, p):
    leaves, _ = _flatten(x)
    if not leaves:
        return np.zeros(0, np.float64 if p is None else np.int64)
    return np.concatenate([_np(a, p).ravel() for a in leaves])


def _unflat_vec(vec, like_leaves, tree, p):
    out, i = [], 0
    for a in like_leaves:
        k = int(np.size(a))
        out.append(_np(vec[i:i + k], p).reshape(np.shape(a)))
        i += k
    return _unflatten(tree, out)


def _jacobian_fd(t: _Target, x, h):
    lx, tx = _flatten(x)
    base = _flat_vec(x, None)
    cols = []
    for i in range(base.size):
        xp, xm = base.copy(), base.copy()
        xp[i] += h
        xm[i] -= h
        yp = _flat_vec(t.get(_unflat_vec(xp, lx, tx, None)), None)
        ym = _flat_vec(t.get(_unflat_vec(xm, lx, tx, None)), None)
        cols.append((yp - ym) / (2 * h))
    m = _size(t.get(x))
    return np.stack(cols, axis=1) if cols else np.zeros((m, 0))


def lagrange_derivative_matrix(p: int) -> np.ndarray:
    """``D[s, t] = L_t'(s)`` mod p, for the Lagrange basis ``L_t`` on the nodes ``0 .. p-1`` of Z_p.

    For a function ``g : Z_p -> Z_p``, ``sum_t g(t) D[s, t]`` is the derivative at ``s`` of the
    unique polynomial of degree < p through g (over Z2, ``g(0) + g(1)`` at either point).
    """
    D = np.zeros((p, p), np.int64)
    for t in range(p):
        denom = 1
        for s in range(p):
            if s != t:
                denom = denom * (t - s) % p
        inv = pow(denom, p - 2, p)
        for r in range(p):
            total = 0
            for k in range(p):
                if k == t:
                    continue
                prod = 1
                for s in range(p):
                    if s != t and s != k:
                        prod = prod * (r - s) % p
                total = (total + prod) % p
            D[r, t] = total * inv % p
    return D


def _rd_zp(t: _Target, o: _Opts) -> list[LawResult]:
    p = t.p
    rng = np.random.default_rng(o.seed)
    x0, y0 = t.first(rng)
    lx, tx = _flatten(x0)
    ly, ty = _flatten(y0)
    n, m = _size(x0), _size(y0)
    acc = _Worst("reverse derivative", t.label)
    closure = _Worst("Z_p closure", t.label)
    D = lagrange_derivative_matrix(p)
    cache: dict = {}

    def F(vec):
        key = vec.tobytes()
        if key not in cache:
            xv = _unflat_vec(vec, lx, tx, p)
            y = t.get(xv)
            closure.add(_out_of_range(y, p), 0, t.example(xv), "get returned values outside 0 .. p-1")
            cache[key] = _flat_vec(y, p) % p
        return cache[key]

    if p**n <= o.max_points:
        points = (np.array(a, np.int64) for a in itertools.product(range(p), repeat=n))
        acc.notes.append(f"exhaustive over all {p ** n} points of Z_{p}^{n}")
    else:
        k = max(1, o.max_points // (n * (p - 1) + 1))
        points = iter(rng.integers(0, p, size=(k, n), dtype=np.int64))
        acc.notes.append(f"{k} random points of Z_{p}^{n} (Z_{p}^{n} has more than max_points={o.max_points})")
    for a in points:
        xa = _unflat_vec(a, lx, tx, p)
        if _safe(acc, t.example(xa), (F, a)) is None:
            continue
        J = np.zeros((m, n), np.int64)
        for i in range(n):
            col = np.zeros(m, np.int64)
            for tv in range(p):
                if D[a[i], tv]:
                    b = a.copy()
                    b[i] = tv
                    col += F(b) * D[a[i], tv]
            J[:, i] = col % p
        dbs = [np.eye(m, dtype=np.int64)[j] for j in range(m)]
        dbs += [rng.integers(0, p, size=m, dtype=np.int64) for _ in range(o.trials)]
        for dbv in dbs:
            db = _unflat_vec(dbv, ly, ty, p)
            ex = t.example(xa, db=db)
            dx = _safe(acc, ex, (t.put, xa, db))
            if dx is None:
                continue
            bad = _same_structure(dx, xa)
            if bad:
                acc.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
                continue
            closure.add(_out_of_range(dx, p), 0, ex, "put returned values outside 0 .. p-1")
            expected = (J.T @ dbv) % p
            got = _flat_vec(dx, p) % p
            wrong = int(np.sum(got != expected))
            acc.add(wrong, 0, {**ex, "expected": _unflat_vec(expected, lx, tx, p)},
                    f"{wrong} entries of R[f](a, db) differ from the formal transposed Jacobian")
    return [acc.result(), closure.result()]


# -- RD.2 and RD.6: linearity in the change ----------------------------------------------------


def check_rd2_additivity(f, **options) -> LawReport:
    """RD.2: ``R[f](a, db1 + db2) = R[f](a, db1) + R[f](a, db2)`` and ``R[f](a, 0) = 0``."""
    o = _opts(options)
    t = _Target(f, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 1)
    acc = _Worst("RD.2 additivity", t.label)
    for x, y in t.points(rng, o.trials):
        d1, d2 = _like(y, rng, p), _like(y, rng, p)
        ex = t.example(x, db1=d1, db2=d2)
        res = _safe(acc, ex, (t.put, x, _axpy(1, d1, d2, p)), (t.put, x, d1), (t.put, x, d2),
                    (t.put, x, _zeros_like(y, p)))
        if res is None:
            continue
        s, r1, r2, r0 = res
        bad = _same_structure(s, x) or _same_structure(r0, x)
        if bad:
            acc.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
            continue
        err, scale = _diff(s, _axpy(1, r1, r2, p), p)
        acc.add(err, _tol(o, scale, p), ex, "R[f](a, db1 + db2) != R[f](a, db1) + R[f](a, db2)")
        err0, _ = _diff(r0, _zeros_like(x, p), p)
        acc.add(err0, _tol(o, 0.0, p), t.example(x), "R[f](a, 0) != 0")
    return LawReport(t.label, [acc.result()])


def _tol(o: _Opts, scale: float, p) -> float:
    return 0.0 if p is not None else o.atol + o.rtol * scale


def _is_linear(f) -> bool:
    if isinstance(f, Map):
        return bool(f.linear)
    m = getattr(f, "map", None)
    if m is not None:
        return bool(m.linear)
    return isinstance(f, Identity)


def check_rd6_linearity(f, **options) -> LawReport:
    """RD.6: ``R[f](a, -)`` is linear in the change (homogeneity ``R[f](a, c db) = c R[f](a, db)``).

    For a map flagged ``linear`` (``Map(..., linear=True)``, or a lens ``R(map)`` of one) also:
    f is additive (``f(u + v) = f(u) + f(v)``, ``f(0) = 0``) and ``R[f](a, -)`` is its adjoint,
    ``<f(v), w> = <v, R[f](a, w)>`` at every point a.
    """
    o = _opts(options)
    t = _Target(f, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 2)
    hom = _Worst("RD.6 linearity", t.label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        c = float(rng.uniform(-3, 3)) if p is None else int(rng.integers(1, p)) if p > 2 else 1
        ex = t.example(x, db=d, c=c)
        res = _safe(hom, ex, (t.put, x, _scale(c, d, p)), (t.put, x, d))
        if res is None:
            continue
        bad = _same_structure(res[0], x)
        if bad:
            hom.fail(f"R[f](a, db) should have the type of a: {bad}", ex)
            continue
        err, scale = _diff(res[0], _scale(c, res[1], p), p)
        hom.add(err, _tol(o, scale, p), ex, "R[f](a, c db) != c R[f](a, db)")
    results = [hom.result()]
    if t.kind != "para" and _is_linear(f):
        results += _linear_map_laws(t, o, rng)
    return LawReport(t.label, results)


def _linear_map_laws(t: _Target, o: _Opts, rng) -> list[LawResult]:
    p = t.p
    add = _Worst("RD.6 linear map is additive", t.label)
    adj = _Worst("RD.6 linear map adjoint", t.label)
    for _ in range(o.trials):
        u, v, a = t.sample(rng), t.sample(rng), t.sample(rng)
        res = _safe(add, {"u": u, "v": v}, (t.get, _axpy(1, u, v, p)), (t.get, u), (t.get, v),
                    (t.get, _zeros_like(u, p)))
        if res is not None:
            s, fu, fv, f0 = res
            err, scale = _diff(s, _axpy(1, fu, fv, p), p)
            add.add(err, _tol(o, scale, p), {"u": u, "v": v}, "f(u + v) != f(u) + f(v)")
            err0, _ = _diff(f0, _zeros_like(f0, p), p)
            add.add(err0, _tol(o, 0.0, p), {"u": u}, "f(0) != 0")
        w = _like(t.get(a), rng, p)
        res = _safe(adj, t.example(a, v=v, w=w), (t.get, v), (t.put, a, w), (t.put, u, w))
        if res is None:
            continue
        fv, ra, ru = res
        lhs, rhs = _inner(fv, w, p), _inner(v, ra, p)
        adj.add(abs(lhs - rhs), _tol(o, max(abs(lhs), abs(rhs)), p), t.example(a, v=v, w=w),
                f"<f(v), w> = {lhs:.8g} but <v, R[f](a, w)> = {rhs:.8g}")
        err, scale = _diff(ra, ru, p)
        adj.add(err, _tol(o, scale, p), {"a1": a, "a2": u, "w": w},
                "R[f](a, w) of a linear map depends on the point a")
    return [add.result(), adj.result()]


# -- RD.7: symmetry of mixed partial derivatives -------------------------------------------------


def check_rd7_symmetry(f, **options) -> LawReport:
    """RD.7 (reals): the derivative of ``a -> <R[f](a, db), v>`` along u is symmetric in u and v.

    That is the symmetry of the Hessian of ``a -> <f(a), db>``; a reverse derivative that is
    not the gradient of anything (a dropped cross term) breaks it.  Skipped over Z_p.
    """
    o = _opts(options)
    t = _Target(f, o)
    if t.p is not None:
        return LawReport(t.label, [_skip("RD.7 symmetry", t.label, "checked over the reals only")])
    rng = np.random.default_rng(o.seed + 3)
    acc = _Worst("RD.7 symmetry", t.label)
    h = math.sqrt(o.eps) * 1e-2  # second differences need a larger step than first ones
    for x, y in t.points(rng, o.trials):
        u, v, dy = _like(x, rng, None), _like(x, rng, None), _like(y, rng, None)
        ex = t.example(x, u=u, v=v, db=dy)
        res = _safe(acc, ex, (_mixed_second, t, x, u, v, dy, h))
        if res is None:
            continue
        s1, s2 = res
        acc.add(abs(s1 - s2), 100 * o.atol + 1e-4 * max(abs(s1), abs(s2)), ex,
                f"d/du <R[f](a, db), v> = {s1:.8g} but d/dv <R[f](a, db), u> = {s2:.8g}")
    return LawReport(t.label, [acc.result()])


def _mixed_second(t: _Target, x, u, v, dy, h):
    pu, mu = t.put(_axpy(h, u, x), dy), t.put(_axpy(-h, u, x), dy)
    pv, mv = t.put(_axpy(h, v, x), dy), t.put(_axpy(-h, v, x), dy)
    return (_inner(pu, v) - _inner(mu, v)) / (2 * h), (_inner(pv, u) - _inner(mv, u)) / (2 * h)


# -- the functor R: a lens agrees with the map it is the image of ---------------------------------


def check_lens_matches_map(f, **options) -> LawReport:
    """``R(map)`` is ``(map, R[map])``: a lens built with a cheaper residual agrees with its map.

    ``f`` is a lens with a ``.map`` (as :func:`~paralens.categories.functor.R` makes), a
    primitive Para whose lens has one, or a :class:`Map` (then ``R(f)`` is compared with it,
    which for a composite map compares ``R(f) ; R(g)`` with the map's own chain rule).
    """
    o = _opts(options)
    law = "R functor: lens = (f, R[f])"
    if isinstance(f, Map):
        m, lens = f, R(f)
    elif isinstance(f, ParaLens) and getattr(f.lens, "map", None) is not None:
        # the map takes (parameters, input): parameters without, the input with a batch dimension
        m, lens = f.lens.map, f.lens
        para = _Target(f, o)
        o = replace(o, sample=_param_tuple_sampler(para),
                    dom=Product((Product(tuple(s.type for s in f.params.values())), para.dom)))
    elif isinstance(f, Lens) and getattr(f, "map", None) is not None:
        m, lens = f.map, f
    else:
        return LawReport(_label(f), [_skip(law, _label(f), "not the image of a map")])
    if m.uses_ctx and o.ctx is not None:
        return LawReport(_label(f), [_skip(law, _label(f), "the map describes evaluation mode; a context was given")])
    tm, tl = _Target(m, o), _Target(lens, o)
    tl.label = tm.label = _label(f)
    p = tm.p
    rng = np.random.default_rng(o.seed + 4)
    acc = _Worst(law, tm.label)
    x, _ = tl.first(rng)
    for trial in range(o.trials):
        if trial:
            x = tm.sample(rng)
        res = _safe(acc, tm.example(x), (tm.get, x), (tl.get, x))
        if res is None:
            continue
        bad = _same_structure(res[0], res[1])
        if bad:
            acc.fail(f"lens get and map differ: {bad}", tm.example(x))
            continue
        err, scale = _diff(res[0], res[1], p)
        acc.add(err, _tol(o, scale, p) * 0.01, tm.example(x), "the lens's get differs from the map")
        d = _like(res[0], rng, p)
        res = _safe(acc, tm.example(x, db=d), (tm.put, x, d), (tl.put, x, d))
        if res is None:
            continue
        bad = _same_structure(res[0], res[1])
        if bad:
            acc.fail(f"lens put and R[f] differ: {bad}", tm.example(x, db=d))
            continue
        err, scale = _diff(res[0], res[1], p)
        acc.add(err, _tol(o, scale, p) * 0.01, tm.example(x, db=d), "the lens's put differs from R[f]")
    return LawReport(tm.label, [acc.result()])


def _param_tuple_sampler(para: _Target):
    names = tuple(para.f.params)

    def sample(rng):
        ps, a = para.sample(rng)
        return tuple(ps[n] for n in names), a

    return sample


def check_backward_params(f: Para, **options) -> LawReport:
    """A Para's ``backward_params`` (the parameter half of put, which training uses so the first
    layer need not compute the input's change) equals the ``dp`` of its full ``backward``."""
    o = _opts(options)
    law = "backward_params = dp of put"
    if not isinstance(f, Para):
        return LawReport(_label(f), [_skip(law, _label(f), "not a Para")])
    t = _Target(f, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 11)
    acc = _Worst(law, t.label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        ex = t.example(x, db=d)
        res = _safe(acc, ex, (_params_both_ways, f, x, d, o.ctx))
        if res is None:
            continue
        _cmp_para(acc, ex, res[0], res[1], p, o, "backward_params(residual, db) != backward(residual, db)[0]")
    return LawReport(t.label, [acc.result()])


def _params_both_ways(f: Para, x, d, ctx):
    _, r1 = f.forward(x[0], x[1], ctx)
    _, r2 = f.forward(x[0], x[1], ctx)
    return f.backward_params(r1, d), f.backward(r2, d)[0]


# -- RD.5: the chain rule, and R preserving the tensor --------------------------------------------


def check_chain_rule(f, g=None, **options) -> LawReport:
    """RD.5: ``R[f ; g](a, dc) = R[f](a, R[g](f(a), dc))``.

    With ``g``, checks the composite ``f >> g`` (maps: also ``R(f >> g) = R(f) >> R(g)``).
    Without, ``f`` must be a composite (a lens ``Compose``, a map ``f >> g``, a Para chain):
    its put is compared with the puts of its parts run one after another, and for tensors
    ``R[f @ g]`` with ``R[f] @ R[g]``.
    """
    o = _opts(options)
    if g is not None:
        if isinstance(f, Map) and isinstance(g, Map):
            h = f >> g
            report = _chain_map(h, o)
            report.extend(_chain_lens(R(h), o))
            return report
        return check_chain_rule(f >> g, **options)
    if isinstance(f, MapCompose):
        return _chain_map(f, o)
    if isinstance(f, MapTensor):
        return _tensor(R(f), o)
    if isinstance(f, Compose):
        return _chain_lens(f, o)
    if isinstance(f, Tensor):
        return _tensor(f, o)
    if isinstance(f, Chain):
        return _chain_para(f, o)
    if isinstance(f, ParaTensor):
        return _tensor(f, o)
    return LawReport(_label(f), [_skip("RD.5 chain rule", _label(f), "not a composite")])


def _compare(acc, t, x, got, want, p, o, detail, **more):
    bad = _same_structure(got, want)
    if bad:
        acc.fail(f"{detail}: {bad}", t.example(x, **more))
        return
    err, scale = _diff(got, want, p)
    acc.add(err, _tol(o, scale, p), t.example(x, **more), detail)


def _chain_map(h: MapCompose, o: _Opts) -> LawReport:
    t = _Target(h, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 5)
    acc = _Worst("RD.5 chain rule", t.label)
    lens = R(h)
    for x, y in t.points(rng, o.trials):
        dc = _like(y, rng, p)
        res = _safe(acc, t.example(x, dc=dc), (_chain_map_run, h, lens, x, dc, o.ctx))
        if res is None:
            continue
        ref, rev, lput, c, lget = res
        _compare(acc, t, x, rev, ref, p, o, "R[f ; g](a, dc) != R[f](a, R[g](f(a), dc))", dc=dc)
        _compare(acc, t, x, lput, ref, p, o, "put of R(f) >> R(g) != R[f](a, R[g](f(a), dc))", dc=dc)
        _compare(acc, t, x, lget, c, p, o, "get of R(f) >> R(g) != g(f(a))", dc=dc)
    return LawReport(t.label, [acc.result()])


def _chain_map_run(h: MapCompose, lens: Lens, x, dc, ctx):
    b = h.f.fn(x)
    ref = h.f.reverse(x, h.g.reverse(b, dc))
    return ref, h.reverse(x, dc), lens.put(x, dc, ctx), h.g.fn(b), lens.get(x, ctx)


def _chain_lens(h: Lens, o: _Opts) -> LawReport:
    if not isinstance(h, Compose):
        label = _label(h)
        return LawReport(label, [_skip("RD.5 chain rule", label, "not a composite")])
    return _chain(h, o, _chain_lens_run, "composite")


def _chain(h, o: _Opts, run, noun: str) -> LawReport:
    """RD.5 for a composite ``h``: its get and put equal its parts' gets and puts taken in turn (``run``)."""
    t = _Target(h, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 5)
    acc = _Worst("RD.5 chain rule", t.label)
    for x, y in t.points(rng, o.trials):
        dc = _like(y, rng, p)
        res = _safe(acc, t.example(x, dc=dc), (run, h, x, dc, o.ctx))
        if res is None:
            continue
        ref, c, put, get = res
        _compare(acc, t, x, put, ref, p, o, f"put of the {noun} != the puts of its parts, in turn", dc=dc)
        _compare(acc, t, x, get, c, p, o, f"get of the {noun} != the gets of its parts, in turn", dc=dc)
    return LawReport(t.label, [acc.result()])


def _child(ctx, i):
    return None if ctx is None else ctx.child(i)


def _chain_lens_run(h: Compose, x, dc, ctx):
    xs = [x]
    for i, part in enumerate(h.parts):
        xs.append(part.get(xs[-1], _child(ctx, i)))
    d = dc
    for i in reversed(range(len(h.parts))):
        d = h.parts[i].put(xs[i], d, _child(ctx, i))
    return d, xs[-1], h.put(x, dc, ctx), h.get(x, ctx)


def _chain_para(h: Chain, o: _Opts) -> LawReport:
    return _chain(h, o, _chain_para_run, "chain")


def _chain_para_run(h: Chain, x, dc, ctx):
    ps, a = x
    subs = [{local: ps[full] for full, local in row} for row in h._table]
    xs = [a]
    for i, part in enumerate(h.parts):
        xs.append(part.get(subs[i], xs[-1], _child(ctx, i)))
    d, dp = dc, {}
    for i in reversed(range(len(h.parts))):
        dsub, d = h.parts[i].put(subs[i], xs[i], d, _child(ctx, i))
        for full, local in h._table[i]:
            dp[full] = dsub[local]
    return (dp, d), xs[-1], h.put(ps, a, dc, ctx), h.get(ps, a, ctx)


def _tensor(h, o: _Opts) -> LawReport:
    t = _Target(h, o)
    p = t.p
    rng = np.random.default_rng(o.seed + 6)
    law = "R preserves @"
    acc = _Worst(law, t.label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        res = _safe(acc, t.example(x, db=d), (_tensor_run, h, t.kind, x, d))
        if res is None:
            continue
        ref, refget = res
        _compare(acc, t, x, t.put(x, d), ref, p, o, "put of f @ g != (put of f, put of g)", db=d)
        _compare(acc, t, x, t.get(x), refget, p, o, "get of f @ g != (get of f, get of g)", db=d)
    return LawReport(t.label, [acc.result()])


def _tensor_run(h, kind, x, d):
    if kind == "para":
        ps, (a0, a1) = x
        t0, t1 = h._table
        s0 = {lo: ps[n] for n, lo in t0}
        s1 = {lo: ps[n] for n, lo in t1}
        dp0, da0 = h.f.put(s0, a0, d[0])
        dp1, da1 = h.g.put(s1, a1, d[1])
        dp = {n: dp0[lo] for n, lo in t0}
        dp.update({n: dp1[lo] for n, lo in t1})
        return (dp, (da0, da1)), (h.f.get(s0, a0), h.g.get(s1, a1))
    return (h.f.put(x[0], d[0]), h.g.put(x[1], d[1])), (h.f.get(x[0]), h.g.get(x[1]))


# -- RD.1, RD.3, RD.4: the Cartesian left-additive structure ------------------------------------------


def _as_lens(f):
    return R(f) if isinstance(f, Map) else f


def _cod_type(f, dom: Type) -> Type:
    return _as_lens(f).output_type(dom)


def check_rd1(f, g, **options) -> LawReport:
    """RD.1: ``R[f + g] = R[f] + R[g]`` where ``f + g = <f, g> ; +``, and ``R[0] = 0``.

    ``f, g : A -> B`` are maps or lenses with one domain; the zero map is ``! ; 0``.
    """
    from paralens.categories import cartesian

    o = _opts(options)
    lf, lg = _as_lens(f), _as_lens(g)
    t = _Target(lf, o)
    cod = _concrete(_cod_type(lf, t.dom), o.shape)
    fg = cartesian.pair(lf, lg) >> cartesian.add(cod)
    zero_map = cartesian.delete(t.dom) >> cartesian.zero(cod)
    tfg = _Target(fg, _opts({**options, "dom": t.dom}))
    label = f"{t.label} + {_label(lg)}"
    tfg.label = label
    p = t.p
    rng = np.random.default_rng(o.seed + 7)
    acc = _Worst("RD.1 sum", label)
    for x, y in t.points(rng, o.trials):
        d = _like(y, rng, p)
        res = _safe(acc, t.example(x, db=d), (fg.get, x), (fg.put, x, d), (lf.get, x), (lg.get, x), (lf.put, x, d),
                    (lg.put, x, d), (zero_map.put, x, d))
        if res is None:
            continue
        s, sput, fx, gx, fput, gput, zput = res
        _compare(acc, t, x, s, _axpy(1, fx, gx, p), p, o, "(f + g)(a) != f(a) + g(a)", db=d)
        _compare(acc, t, x, sput, _axpy(1, fput, gput, p), p, o, "R[f + g](a, db) != R[f](a, db) + R[g](a, db)", db=d)
        _compare(acc, t, x, zput, _zeros_like(x, p), p, o, "R[0](a, db) != 0", db=d)
    return LawReport(label, [acc.result()])


def check_rd3(t=None, t2=None, *, identity=None, proj0=None, proj1=None, **options) -> LawReport:
    """RD.3: ``R[1] = pi_1``, ``R[pi_0] = pi_1 ; iota_0``, ``R[pi_1] = pi_1 ; iota_1``.

    Checks paralens's identity and projections on ``t`` (and ``t x t2``; default ``reals(3)``,
    any field), exactly, or your own ``identity=``, ``proj0=``, ``proj1=`` lenses or maps.
    """
    from paralens.categories import cartesian
    from paralens.categories.lens import identity as _identity

    o = _opts(options)
    ta = ArrayType((3,)) if t is None else _concrete(as_type(t), o.shape)
    tb = ta if t2 is None else _concrete(as_type(t2), o.shape)
    ident = _as_lens(identity) if identity is not None else _identity(ta)
    pr0 = _as_lens(proj0) if proj0 is not None else cartesian.proj0(ta, tb)
    pr1 = _as_lens(proj1) if proj1 is not None else cartesian.proj1(ta, tb)
    p = ta.field.p
    rng = np.random.default_rng(o.seed + 8)
    batch = o.batch if o.batch is not None else 2
    results = []
    for lens, law, fn in (
        (ident, "RD.3 R[1] = pi_1", lambda a, da, db: (a[0], da)),
        (pr0, "RD.3 R[pi_0] = pi_1 ; iota_0", lambda a, da, db: (a[0], (da, _zeros_like(a[1], p)))),
        (pr1, "RD.3 R[pi_1] = pi_1 ; iota_1", lambda a, da, db: (a[1], (_zeros_like(a[0], p), db))),
    ):
        tgt = _Target(lens, _opts({**options, "dom": ta if lens is ident else Product((ta, tb))}))
        acc = _Worst(law, tgt.label)
        for _ in range(o.trials):
            a = sample_value(ta, rng, batch), sample_value(tb, rng, batch)
            x = a[0] if lens is ident else a
            da, db = sample_value(ta, rng, batch), sample_value(tb, rng, batch)
            dy = da if lens is not pr1 else db
            want_get, want_put = fn(a, da, db)
            res = _safe(acc, tgt.example(x, db=dy), (lens.get, x), (lens.put, x, dy))
            if res is None:
                continue
            _compare(acc, tgt, x, res[0], want_get, p, o, "get is not the identity/projection", db=dy)
            _compare(acc, tgt, x, res[1], want_put, p, o, "put is not the reverse derivative of RD.3", db=dy)
        results.append(acc.result())
    return LawReport("identity and projections", results)


def check_rd4(f, g, **options) -> LawReport:
    """RD.4: ``R[<f, g>](a, (db, dc)) = R[f](a, db) + R[g](a, dc)`` and ``R[!] = 0``.

    ``<f, g> = copy >> (f @ g)`` (:func:`paralens.categories.cartesian.pair`); ``f`` and ``g`` are
    maps or lenses with one domain.  For maps, the map ``pair_map(f, g)`` is checked too.
    """
    from paralens.categories import cartesian

    o = _opts(options)
    lf, lg = _as_lens(f), _as_lens(g)
    t = _Target(lf, o)
    pairs = [cartesian.pair(lf, lg)]
    if isinstance(f, Map) and isinstance(g, Map):
        pairs.append(_MapAsLens(cartesian.pair_map(f, g)))
    bang = cartesian.delete(t.dom)
    label = f"<{t.label}, {_label(lg)}>"
    p = t.p
    rng = np.random.default_rng(o.seed + 9)
    acc = _Worst("RD.4 pairing", label)
    x, _ = t.first(rng)
    for trial in range(o.trials):
        if trial:
            x = t.sample(rng)
        res = _safe(acc, t.example(x), (lf.get, x), (lg.get, x))
        if res is None:
            continue
        fx, gx = res
        db, dc = _like(fx, rng, p), _like(gx, rng, p)
        for pr in pairs:
            res = _safe(acc, t.example(x, db=db, dc=dc), (pr.get, x), (pr.put, x, (db, dc)), (lf.put, x, db),
                        (lg.put, x, dc))
            if res is None:
                continue
            got, put, rf, rg = res
            _compare(acc, t, x, got, (fx, gx), p, o, "<f, g>(a) != (f(a), g(a))", db=db, dc=dc)
            _compare(acc, t, x, put, _axpy(1, rf, rg, p), p, o,
                     "R[<f, g>](a, (db, dc)) != R[f](a, db) + R[g](a, dc)", db=db, dc=dc)
        res = _safe(acc, t.example(x), (bang.put, x, ()))
        if res is not None:
            _compare(acc, t, x, res, _zeros_like(x, p), p, o, "R[!](a, ()) != 0")
    return LawReport(label, [acc.result()])


class _MapAsLens(Lens):
    """A map run as the lens ``(f, R[f])`` without going through R (for comparing the two)."""

    def __init__(self, m: Map):
        self.m, self.dom, self.cod, self.name = m, m.dom, m.cod, m.name

    def forward(self, a, ctx=None):
        return self.m.fn(a), a

    def backward(self, a, db):
        return self.m.reverse(a, db)


# -- the category laws -------------------------------------------------------------------------------


def check_category_laws(f, g, h, **options) -> LawReport:
    """Associativity, identities and interchange, for ``f : A -> B``, ``g : B -> C``, ``h : C -> D``.

    * ``(f >> g) >> h = f >> (g >> h)``, also against the explicit lens composite
      ``get = h(g(f(a)))``, ``put = f*(a, g*(f(a), h*(g(f(a)), dd)))``;
    * ``id >> f = f = f >> id``;
    * interchange ``(f @ g) >> (g @ h) = (f >> g) @ (g >> h)`` on pairs ``(a, b)``.

    Lenses, maps (compared through ``fn``/``reverse`` and through R) or Paras (each given
    distinct parameter names with ``.named`` so both sides share one parameter tree).
    """
    o = _opts(options)
    kinds = {"para" if isinstance(z, Para) else "map" if isinstance(z, Map) else "lens" for z in (f, g, h)}
    if "para" in kinds:
        f, g, h = (Para.lift(z) if not isinstance(z, Para) else z for z in (_as_lens(f), _as_lens(g), _as_lens(h)))
        return _category_para(f, g, h, o)
    if kinds == {"map"}:
        report = _category_lens(R(f), R(g), R(h), o, maps=(f, g, h))
        return report
    return _category_lens(_as_lens(f), _as_lens(g), _as_lens(h), o)


def _category_lens(f, g, h, o: _Opts, maps=None) -> LawReport:
    from paralens.categories.lens import identity as _identity

    tf = _Target(f, o)
    p = tf.p
    rng = np.random.default_rng(o.seed + 10)
    label = f"{tf.label}, {_label(g)}, {_label(h)}"
    assoc, left, right, inter = (_Worst(n, label) for n in (
        "category: associativity", "category: left identity", "category: right identity", "category: interchange"))
    lhs_assoc, rhs_assoc = (f >> g) >> h, f >> (g >> h)
    ident = _identity(tf.dom)
    idf, fid = ident >> f, f >> _identity(_cod_type(f, tf.dom))
    il, ir = (f @ g) >> (g @ h), (f >> g) @ (g >> h)
    map_assoc = None
    if maps is not None:
        mf, mg, mh = maps
        map_assoc = ((mf >> mg) >> mh, mf >> (mg >> mh))
    x, _ = tf.first(rng)
    for trial in range(o.trials):
        if trial:
            x = tf.sample(rng)
        res = _safe(assoc, tf.example(x), (_gets_in_turn, x, f, g, h))
        if res is None:
            continue
        b, c, dd_like = res
        dd = _like(dd_like, rng, p)
        want_put = f.put(x, g.put(b, h.put(c, dd)))
        for name, comp in (("(f >> g) >> h", lhs_assoc), ("f >> (g >> h)", rhs_assoc)):
            got = _safe(assoc, tf.example(x, dd=dd), (comp.get, x), (comp.put, x, dd))
            if got is not None:
                _compare(assoc, tf, x, got[0], dd_like, p, o, f"get of {name} != h(g(f(a)))", dd=dd)
                _compare(assoc, tf, x, got[1], want_put, p, o, f"put of {name} != f*(a, g*(f a, h*(g f a, dd)))",
                         dd=dd)
        if map_assoc is not None:
            for name, m in (("(f ; g) ; h", map_assoc[0]), ("f ; (g ; h)", map_assoc[1])):
                got = _safe(assoc, tf.example(x, dd=dd), (m.fn, x), (m.reverse, x, dd))
                if got is not None:
                    _compare(assoc, tf, x, got[0], dd_like, p, o, f"{name} != h(g(f(a)))", dd=dd)
                    _compare(assoc, tf, x, got[1], want_put, p, o, f"R[{name}] != the chain rule", dd=dd)
        db = _like(b, rng, p)
        fx, fput = f.get(x), f.put(x, db)
        for acc, comp, name in ((left, idf, "id >> f"), (right, fid, "f >> id")):
            got = _safe(acc, tf.example(x, db=db), (comp.get, x), (comp.put, x, db))
            if got is not None:
                _compare(acc, tf, x, got[0], fx, p, o, f"get of {name} != get of f", db=db)
                _compare(acc, tf, x, got[1], fput, p, o, f"put of {name} != put of f", db=db)
        # interchange on pairs (a, b'), b' a value of B
        x2 = tf.sample(rng)
        pair_in = (x, f.get(x2))
        res = _safe(inter, tf.example(pair_in), (_gets_in_turn, pair_in[0], f, g), (_gets_in_turn, pair_in[1], g, h))
        if res is None:
            continue
        res = (res[0][-1], res[1][-1])
        dpair = _like(res, rng, p)
        got = _safe(inter, tf.example(pair_in, db=dpair), (il.get, pair_in), (il.put, pair_in, dpair),
                    (ir.get, pair_in), (ir.put, pair_in, dpair))
        if got is not None:
            _compare(inter, tf, pair_in, got[0], got[2], p, o, "get of (f @ g) >> (g @ h) != get of (f >> g) @ (g >> h)",
                     db=dpair)
            _compare(inter, tf, pair_in, got[1], got[3], p, o, "put of (f @ g) >> (g @ h) != put of (f >> g) @ (g >> h)",
                     db=dpair)
            _compare(inter, tf, pair_in, got[2], res, p, o, "get of (f >> g) @ (g >> h) != (g(f(a)), h(g(b)))",
                     db=dpair)
    return LawReport(label, [a.result() for a in (assoc, left, right, inter)])


def _gets_in_turn(x, *lenses):
    """``[f(x), g(f(x)), ...]`` for lenses ``f, g, ...``."""
    out = []
    for f in lenses:
        x = f.get(x)
        out.append(x)
    return out


def _category_para(f: Para, g: Para, h: Para, o: _Opts) -> LawReport:
    from paralens.categories.lens import identity as _identity

    F, G, G2, H = f.named("f"), g.named("g"), g.named("g2"), h.named("h")
    label = f"{f.label()}, {g.label()}, {h.label()}"
    tf = _Target(F, o)
    p = tf.p
    rng = np.random.default_rng(o.seed + 10)
    assoc, left, right, inter = (_Worst(n, label) for n in (
        "category: associativity", "category: left identity", "category: right identity", "category: interchange"))
    lhs_assoc, rhs_assoc = (F >> G) >> H, F >> (G >> H)
    idf = Para.lift(_identity(tf.dom)) >> F
    fid = F >> Para.lift(_identity(F.output_type(tf.dom)))
    il, ir = (F @ G) >> (G2 @ H), (F >> G2) @ (G >> H)
    every = {**F.params, **G.params, **G2.params, **H.params}

    def sample_params():
        return {n: sample_value(s.type, rng, None) for n, s in every.items()}

    def sub(ps, para):
        return {n: ps[n] for n in para.params}

    for _ in range(o.trials):
        ps = sample_params()
        a = tf.sample_input(rng)
        ex = {"params": ps, "a": a}
        try:
            b = F.get(sub(ps, F), a)
            c = G.get(sub(ps, G), b)
            d = H.get(sub(ps, H), c)
        except Exception as exc:  # noqa: BLE001
            assoc.fail(f"raised {type(exc).__name__}: {exc}", ex)
            continue
        dd = _like(d, rng, p)
        dpH, dc = H.put(sub(ps, H), c, dd)
        dpG, db_ = G.put(sub(ps, G), b, dc)
        dpF, da = F.put(sub(ps, F), a, db_)
        want = ({**dpF, **dpG, **dpH}, da)
        for name, comp in (("(f >> g) >> h", lhs_assoc), ("f >> (g >> h)", rhs_assoc)):
            try:
                got = comp.get(sub(ps, comp), a), comp.put(sub(ps, comp), a, dd)
            except Exception as exc:  # noqa: BLE001
                assoc.fail(f"{name} raised {type(exc).__name__}: {exc}", ex)
                continue
            _cmp_para(assoc, ex, got[0], d, p, o, f"get of {name} != h(g(f(a)))")
            _cmp_para(assoc, ex, got[1], want, p, o, f"put of {name} != the puts of f, g, h in turn")
        dbv = _like(b, rng, p)
        want_f = F.get(sub(ps, F), a), F.put(sub(ps, F), a, dbv)
        for acc, comp, name in ((left, idf, "id >> f"), (right, fid, "f >> id")):
            got = comp.get(sub(ps, comp), a), comp.put(sub(ps, comp), a, dbv)
            _cmp_para(acc, ex, got[0], want_f[0], p, o, f"get of {name} != get of f")
            _cmp_para(acc, ex, got[1], want_f[1], p, o, f"put of {name} != put of f")
        pair_in = (a, F.get(sub(ps, F), tf.sample_input(rng)))
        exi = {"params": ps, "a": pair_in}
        try:
            yl = il.get(sub(ps, il), pair_in)
            dpair = _like(yl, rng, p)
            got = yl, il.put(sub(ps, il), pair_in, dpair), ir.get(sub(ps, ir), pair_in), ir.put(sub(ps, ir), pair_in,
                                                                                                    dpair)
        except Exception as exc:  # noqa: BLE001
            inter.fail(f"raised {type(exc).__name__}: {exc}", exi)
            continue
        _cmp_para(inter, exi, got[0], got[2], p, o, "get of (f @ g) >> (g' @ h) != get of (f >> g') @ (g >> h)")
        _cmp_para(inter, exi, got[1], got[3], p, o, "put of (f @ g) >> (g' @ h) != put of (f >> g') @ (g >> h)")
    return LawReport(label, [a.result() for a in (assoc, left, right, inter)])


def _cmp_para(acc, ex, got, want, p, o, detail):
    bad = _same_structure(got, want)
    if bad:
        acc.fail(f"{detail}: {bad}", ex)
        return
    err, scale = _diff(got, want, p)
    acc.add(err, _tol(o, scale, p), ex, detail)


# -- circuits: the laws on polynomial circuits, where R of a circuit is a circuit -----------------------
#
# A circuit ``c : F^n -> F^m`` over a field is checked with its reverse derivative ``reverse(c)`` (a
# circuit ``F^n x F^m -> F^n``), which can be reversed again: the CRDC axioms RD.6 and RD.7 are checked
# in their own form, on ``R[R[R[c]]]`` and on the forward derivative ``D[c] = (iota_0 x 1) R[R[c]] pi_1``.
# Self-consistency cannot see a rule that is right as a function but formally wrong, so R[c], R[R[c]],
# R[R[R[c]]] and D[D[c]] are also compared with truncated dual numbers on the gates' definitions (below),
# which scale to any size; sympy is used up to ``max_gates`` and its laws are SKIPPED beyond.
# Rows are every point of ``F^(n + m)`` (``F^(2n + m)``, ``F^(3n + 2m)`` for the second and third
# derivatives) when there are at most ``max_points`` of them, else ``samples`` random ones; each
# comparison is one vectorised check per row, so ``checks`` counts rows.

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


def _square_layer(F, m: int):
    """``y -> y * y`` on each of ``m`` wires (a nonlinear partner circuit)."""
    return _C().layer(F, "mul", m, np.arange(m), np.arange(m)) if m else _C().identity(F, 0)


def _mix(F, n: int):
    """``x_i -> x_i x_{i+1} + x_i`` (cyclically), ``n -> n``: a nonlinear circuit that mixes wires."""
    if n == 0:
        return _C().identity(F, 0)
    from paralens.circuits.syntax import Builder

    b = Builder(F, n)
    x = b.inputs()
    return b.build(b.add(b.mul(x, np.roll(x, -1)), x), name=f"mix{n}")


def _circuit_sum(f, g):
    """``f + g = <f, g> ; +`` as a circuit: ``copy >> (f @ g) >> add``."""
    F, n, m = f.field, f.n_inputs, f.n_outputs
    add = _C().layer(F, "add", 2 * m, np.arange(m), np.arange(m, 2 * m)) if m else _C().identity(F, 0)
    return _C().copy(F, n) >> (f @ g) >> add


def _circuit_pair(f, g):
    """``<f, g> = copy >> (f @ g)``."""
    return _C().copy(f.field, f.n_inputs) >> (f @ g)


def _zero_circuit(F, n: int, m: int):
    from paralens.circuits.syntax import Builder

    b = Builder(F, n)
    return b.build(b.const(np.zeros(m, dtype=np.int64)) if m else np.zeros(0, dtype=np.int64))


def _split(c, at: int):
    """``c = c1 >> c2`` cut after its first ``at`` operations (the wires crossing the cut pass on)."""
    from paralens.circuits.syntax import Builder, Circuit

    ops1, ops2 = c.ops[:at], c.ops[at:]
    boundary = c.n_inputs + sum(op.n_wires for op in ops1)
    used = set(int(w) for op in ops2 for a in op.args for w in a if w < boundary)
    used |= set(int(w) for w in c.outputs if w < boundary)
    W = np.array(sorted(used), dtype=np.int64)
    c1 = Circuit(c.field, c.n_inputs, ops1, W)
    wmap = np.full(c.n_wires, -1, dtype=np.int64)
    wmap[W] = np.arange(len(W))
    b = Builder(c.field, len(W))
    for op in ops2:
        outs = b.op(op.gen, *[wmap[a] for a in op.args], data=op.data)
        for j, o in enumerate(outs):
            wmap[op.out + j * op.k: op.out + (j + 1) * op.k] = o
    return c1, b.build(wmap[c.outputs])


def _forward_derivative(c, rr=None):
    """``D[c] = (iota_0 x 1) ; R[R[c]] ; pi_1 : (a, v) -> J(a) v`` as a circuit ``2n -> m``."""
    from paralens.circuits.syntax import Builder

    rr = rr if rr is not None else _rev(_rev(c))
    n, m = c.n_inputs, c.n_outputs
    b = Builder(c.field, 2 * n)
    zeros = b.const(np.zeros(m, dtype=np.int64)) if m else np.zeros(0, dtype=np.int64)
    blocks = [np.array([i]) for i in range(n)] + [zeros[j: j + 1] for j in range(m)] + \
             [np.array([n + i]) for i in range(n)]
    outs = b.inline(rr, blocks)
    return b.build(np.concatenate([o.reshape(-1) for o in outs[n:]]) if m else np.zeros(0, np.int64)).prune()


def _is_multilinear(R, polys) -> bool:
    return all(max(mon[: R.n], default=0) <= 1 for f in polys for mon in f.monoms())


def _is_linear_polys(R, polys) -> bool:
    return all(sum(mon[: R.n]) == 1 for f in polys for mon in f.monoms())


def _galois_jacobian(cf: _CField, R, polys, X):
    """``J[r, j, i] = d f_j / d x_i`` at row ``r`` of ``X``: each ``f_j`` made a univariate polynomial
    in ``x_i`` by substituting the row's other coordinates into its formal terms, and differentiated
    by galois (``galois.Poly(...).derivative()``), independently of ``reverse``."""
    import galois

    F = cf.F
    GFc = F.galois
    p, n, rows = F.characteristic, R.n, len(X)
    one = cf.arr(np.ones(rows, dtype=np.int64))
    powers: dict = {}

    def power(l, e):
        if (l, e) not in powers:
            powers[(l, e)] = X[:, l] ** e
        return powers[(l, e)]


    def el(v):  # one element, in the dtype of F.array (galois compiles its ufuncs per dtype)
        return F.array(np.array(int(v), dtype=object if F.order > 2**62 else np.int64))

    gen = el(p) if R.ext else None
    derivs: dict = {}
    J = cf.zeros((rows, len(polys), n))
    for j, f in enumerate(polys):
        for i in range(n):
            coefs: dict = {}
            for mon, c in f.terms():
                d = mon[i]
                if d == 0:
                    continue
                coeff = el(int(c) % p)
                if R.ext and mon[n]:
                    coeff = coeff * gen ** mon[n]
                val = one * coeff
                for l in range(n):
                    if l != i and mon[l]:
                        val = val * power(l, mon[l])
                coefs[d] = coefs[d] + val if d in coefs else val
            total = cf.zeros(rows)
            for d, cd in coefs.items():
                if d not in derivs:  # (t^d)' by galois, read back as (coefficient, degree) terms
                    dp = galois.Poly.Degrees([d], field=GFc).derivative()
                    derivs[d] = [(el(int(k)), int(e)) for k, e in zip(dp.nonzero_coeffs, dp.nonzero_degrees)
                                 if int(k)]
                for k, e in derivs[d]:
                    total = total + cd * (one * k if e == 0 else X[:, i] ** e * k)
            J[:, j, i] = total
    return J


def _apply_jacobian_t(cf: _CField, J, DY):
    """``dx_i = sum_j J[:, j, i] dy_j`` row by row."""
    rows, m, n = J.shape
    out = cf.zeros((rows, n))
    for i in range(n):
        acc = cf.zeros(rows)
        for j in range(m):
            acc = acc + J[:, j, i] * DY[:, j]
        out[:, i] = acc
    return out


# -- an independent reference that scales: the gates' polynomials on truncated dual numbers ---------------
# A jet over k infinitesimals e_1 .. e_k (e_i^2 = 0, k <= 3) is a list of 2^k coefficients, one per subset
# S of {e_1 .. e_k} (bit i of the index: e_(i+1) is in S).  A polynomial evaluated at a + e_1 u_1 + ... +
# e_k u_k multiplies out exactly, so the coefficient of e_1 is J(a) u_1, of e_1 e_2 the formal second
# derivative d2f(a)[u_1, u_2], of e_1 e_2 e_3 the third: *formal* derivatives (x^p gives p x^(p-1) = 0),
# from the field's arithmetic alone.  Gates are read by their definitions (circuits of add, mul, neg and
# constants), never by their own evaluate or reverse rules, so this reference is independent of
# ``reverse`` and costs one vectorised step per operation: it runs on circuits of any size.

_JET_MAX_VALUES = 2**24  # field elements per coefficient array (wires x rows); fewer rows beyond it
_UNIT_PROBES = 8  # vectors of F^n, n up to this, are compared entry by entry (along the unit vectors)
_RANDOM_PROBES = 4  # longer ones along this many random directions per row


def _jet_mul(a: list, b: list) -> list:
    """``a * b`` in ``F[e_1 .. e_k] / (e_i^2)``: the coefficient of ``S`` is the sum over ``T`` in ``S``
    of ``a_T b_(S - T)``."""
    out = []
    for S in range(len(a)):
        T, acc = S, a[S] * b[0]
        while T:
            T = (T - 1) & S
            acc = acc + a[T] * b[S ^ T]
        out.append(acc)
    return out


def _jet_eval(cf: _CField, c, xs: list) -> list:
    """``c`` on jets: ``xs[S]`` holds the coefficient of ``S`` of every input, an array ``(n_inputs, *B)``;
    returns the outputs' coefficients, arrays ``(n_outputs, *B)``.  Gates run by their definitions."""
    from paralens.circuits import generators as G

    n_coef, batch = len(xs), xs[0].shape[1:]
    V = [cf.zeros((c.n_wires,) + batch) for _ in range(n_coef)]
    for S in range(n_coef):
        V[S][: c.n_inputs] = xs[S]
    for op in c.ops:
        if op.gen is G.CONST:
            V[0][op.out: op.out + op.k] = cf.arr(np.asarray(op.data)).reshape((op.k,) + (1,) * len(batch))
            continue
        args = [[V[S][a] for S in range(n_coef)] for a in op.args]
        if op.gen is G.ADD:
            outs = [[x + y for x, y in zip(*args)]]
        elif op.gen is G.MUL:
            outs = [_jet_mul(*args)]
        elif op.gen is G.NEG:
            outs = [[-x for x in args[0]]]
        elif isinstance(op.gen, G.Gate):
            ins = [_stacked(cf, [arg[S] for arg in args]) if args else cf.zeros((0, op.k) + batch)
                   for S in range(n_coef)]
            res = _jet_eval(cf, op.gen.definition(c.field), ins)
            outs = [[res[S][j] for S in range(n_coef)] for j in range(op.gen.n_out)]
        else:
            raise TypeError(f"no polynomial for generator {op.gen.name!r}: the reference knows add, mul, neg, "
                            f"const and gates with definitions")
        for j, o in enumerate(outs):
            for S in range(n_coef):
                V[S][op.out + j * op.k: op.out + (j + 1) * op.k] = o[S]
    return [V[S][c.outputs] for S in range(n_coef)]


def _taylor(cf: _CField, c, seeds: list[dict]) -> list[list]:
    """For each ``seed`` (subset -> rows ``(r, n)``; subset 0 is the point), the coefficients of
    ``c(sum_S e_S seed[S])`` as rows ``(r, m)``, indexed by subset; all seeds in one evaluation."""
    k = max(max(sd) for sd in seeds).bit_length()
    sizes = [len(sd[0]) for sd in seeds]
    cols = [_rows_of(cf, [sd[S] if S in sd else cf.zeros((len(sd[0]), c.n_inputs)) for sd in seeds]).T
            for S in range(2**k)]
    out = [y.T for y in _jet_eval(cf, c, cols)]
    cuts = np.cumsum(sizes)[:-1]
    return [list(parts) for parts in zip(*[np.split(y, cuts, axis=0) for y in out])]


def _stacked(cf: _CField, arrays: list):
    """``np.stack`` for field elements (through their integers, so the result is a FieldArray again)."""
    out = np.stack([cf.ints(a) for a in arrays])
    if cf.finite and out.dtype != object:
        out = out.astype(np.int64)
    return cf.arr(out)


def _rows_of(cf: _CField, blocks: list):
    """Blocks of rows ``(r_i, k)`` stacked into one ``(sum r_i, k)``."""
    parts = [cf.ints(b).reshape(len(b), -1) for b in blocks]
    out = np.concatenate(parts, axis=0)
    if cf.finite and out.dtype != object:
        out = out.astype(np.int64)
    return cf.arr(out)


def _jet_rows(c, k: int, rows: int, probes: int) -> int:
    """How many rows a jet evaluation over ``k`` infinitesimals with ``probes`` directions keeps."""
    return max(1, min(rows, _JET_MAX_VALUES // max(1, c.n_wires * probes * 2**k)))


def _probes(cf: _CField, rng, rows: int, n: int) -> tuple[list, str]:
    """Directions ``u`` that read a vector ``g`` of ``F^n`` as ``<g, u>``: the unit vectors when ``n`` is
    small (so every entry is compared), else a few random directions per row."""
    if n <= _UNIT_PROBES:
        units = []
        for i in range(n):
            e = np.zeros((rows, n), dtype=np.int64)
            e[:, i] = 1
            units.append(cf.arr(e))
        return units, "entry by entry"
    return [cf.random(rng, (rows, n)) for _ in range(_RANDOM_PROBES)], f"along {_RANDOM_PROBES} random directions"


def _along(cf: _CField, g, probes: list):
    """``<g, u>`` for each probe ``u``, as columns ``(rows, len(probes))``."""
    if not probes:
        return cf.zeros((len(g), 0))
    return cf.cat(*[cf.inner(g, u) for u in probes])


def _jet_first_order(cf: _CField, c, X, DY, RX, probes, acc_eval: _Worst, acc_rev: _Worst) -> None:
    """``c(x)`` against its gates' definitions, and ``<R[c](x, dy), u> = <dy, J(x) u>`` with ``J u`` from
    dual numbers, for each probe ``u``."""
    if probes:
        coefs = _taylor(cf, c, [{0: X, 1: u} for u in probes])
    else:
        coefs = _taylor(cf, c, [{0: X}])
    cf.compare(acc_eval, cf.eval(c, X), coefs[0][0], {"x": X},
               "c(x) differs from its gates' definitions evaluated generator by generator")
    want = cf.cat(*[cf.inner(DY, co[1]) for co in coefs]) if probes else cf.zeros((len(X), 0))
    cf.compare(acc_rev, _along(cf, RX, probes), want, {"x": X, "dy": DY},
               "reverse(c)(x, dy) differs from J(x)^T dy with J by dual numbers on the gates' polynomials")


def _jet_second_order(cf: _CField, c, RR, A, B, Vv, probes, acc_fwd: _Worst, acc_sym: _Worst) -> None:
    """``R[R[c]]((a, b), v) = (b^T H(a)[-, v], J(a) v)`` against hyper-dual numbers: ``pi_1`` entry by
    entry, ``pi_0`` along each probe ``u`` as ``<b, H(a)[u, v]>`` (formal, hence symmetric, ``H``)."""
    n = c.n_inputs
    out = cf.eval(RR, cf.cat(A, B, Vv))
    ex = {"a": A, "b": B, "v": Vv}
    Jv = _taylor(cf, c, [{0: A, 1: Vv}])[0][1]
    cf.compare(acc_fwd, out[:, n:], Jv, ex,
               "pi_1 R[R[f]]((a, b), v) differs from J(a) v by dual numbers on the gates' polynomials")
    want = cf.cat(*[cf.inner(B, co[3]) for co in _taylor(cf, c, [{0: A, 1: u, 2: Vv} for u in probes])]) \
        if probes else cf.zeros((len(A), 0))
    cf.compare(acc_sym, _along(cf, out[:, :n], probes), want, ex,
               "pi_0 R[R[f]]((a, b), v) differs from b^T H(a)[-, v], H the formal second derivative "
               "by hyper-dual numbers")


def _jet_third_order(cf: _CField, c, RRR, P, probes, acc: _Worst) -> None:
    """``R[R[R[c]]](((a, b), v), (p, q))`` against third-order dual numbers: the three blocks are
    ``b^T T(a)[-, p, v] + q^T H(a)[-, v]``, ``H(a)[p, v]`` and ``b^T H(a)[p, -] + J(a)^T q``."""
    n, m = c.n_inputs, c.n_outputs
    a, b, v, p, q = (P[:, s:e] for s, e in _cuts([n, m, n, n, m]))
    out = cf.eval(RRR, P)
    da, db, dv = out[:, :n], out[:, n: n + m], out[:, n + m:]
    ex = {"a": a, "b": b, "v": v, "p": p, "q": q}
    cf.compare(acc, db, _taylor(cf, c, [{0: a, 1: p, 2: v}])[0][3], ex,
               "the b block of R[R[R[f]]] differs from H(a)[p, v] by hyper-dual numbers")
    if not probes:
        return
    coefs = _taylor(cf, c, [{0: a, 1: u, 2: p, 4: v} for u in probes])
    want_a = cf.cat(*[cf.inner(b, co[7]) + cf.inner(q, co[5]) for co in coefs])
    want_v = cf.cat(*[cf.inner(b, co[3]) + cf.inner(q, co[1]) for co in coefs])
    cf.compare(acc, _along(cf, da, probes), want_a, ex,
               "the a block of R[R[R[f]]] differs from b^T T(a)[-, p, v] + q^T H(a)[-, v] (third-order dual numbers)")
    cf.compare(acc, _along(cf, dv, probes), want_v, ex,
               "the v block of R[R[R[f]]] differs from b^T H(a)[p, -] + J(a)^T q (third-order dual numbers)")


def _cuts(sizes: list[int]) -> list[tuple[int, int]]:
    ends = np.cumsum(sizes)
    return [(int(e - s), int(e)) for s, e in zip(sizes, ends)]


def check_circuit_laws(c, **options) -> LawReport:
    """Check a :class:`~paralens.circuits.Circuit` and its reverse derivative against the CRDC laws.

    Options: ``exhaustive`` (None: every point of ``F^(n+m)`` when there are at most
    ``max_points``, default 20,000; True/False force it), ``samples`` (random rows otherwise,
    default 64), ``seed``, ``max_gates`` (larger circuits skip the sympy checks, default 200),
    ``max_terms`` (so do circuits whose polynomials grow beyond it), ``rtol``/``atol`` (reals).

    Laws: ``evaluate-vs-symbolic`` and ``reverse-vs-symbolic`` (against :mod:`paralens.circuits.symbolic`);
    ``evaluate-vs-reference`` and ``reverse-vs-reference`` (truncated dual numbers on the gates'
    definitions, at any size; and galois' formal derivative of the univariate restrictions, over GF(2)
    for multilinear circuits also the Boolean difference, over the reals finite differences);
    RD.1 .. RD.7 in their CRDC form on circuits (R of a circuit is a circuit, reversed again for
    RD.6 and RD.7), ``R preserves @``, the chain rule on a cut of ``c`` and on composites; and the
    second and third derivatives ``R[R[c]]``, ``R[R[R[c]]]`` and ``D[D[c]]`` against hyper-dual
    numbers (``... vs reference``: the formal Hessian and third derivative of the gates' polynomials,
    never the gates' reverse rules), exhaustively over their inputs when there are at most
    ``max_points`` of them.  Each result counts its checks (one per row); a failure names the law and
    the worst row; a check that cannot run (sympy on a large circuit) is SKIPPED, with why.

        >>> from paralens.fields import GF
        >>> from paralens.circuits import Circuit
        >>> report = check_circuit_laws(Circuit.generator(GF(3), "mul"))
        >>> report.ok, report.complete, report["RD.7 R[R[f]] Hessian vs reference"].checks  # all of GF(3)^5
        (True, True, 243)
        >>> big = check_circuit_laws(Circuit.generator(GF(3), "mul"), max_gates=0)
        >>> [r.law for r in big.skipped], big.ok, big.complete
        (['evaluate-vs-symbolic', 'reverse-vs-symbolic'], True, False)
        >>> big.summary()
        '24 checked, 22 passed, 2 skipped'
    """
    from paralens.circuits.symbolic import (
        SymbolicTooLarge,
        _circuit_ring_polys,
        _reverse_exprs,
        change_symbols,
        evaluate_sympy,
        input_symbols,
    )

    o = _copts(options)
    F = c.field
    cf = _CField(F, o)
    label = c.label()
    n, m = c.n_inputs, c.n_outputs
    rng = np.random.default_rng(o.seed)
    results: list[LawResult] = []
    XD, how = cf.rows(n + m, rng, f"{F.name}^{n + m} (x, dy)")
    rows = len(XD)
    X, DY = XD[:, :n], XD[:, n:]
    ex = {"x": X, "dy": DY}
    # the random values every law below uses, drawn once
    X2, V, U = (cf.random(rng, (rows, n)) for _ in range(3))
    DZ, D2, B1, B2 = (cf.random(rng, (rows, m)) for _ in range(4))
    s = cf.scalars(rng, rows)
    zn, zm = cf.zeros((rows, n)), cf.zeros((rows, m))
    # c, R[c] and R[R[c]], each evaluated once on all the rows the laws need
    Rc = _rev(c)
    RR = _rev(Rc)
    Y, Y2, YV = cf.evals(c, X, X2, V)
    RX, R_sum, R_2, R_0, R_s, R_at2 = cf.evals(Rc, XD, cf.cat(X, DY + D2), cf.cat(X, D2), cf.cat(X, zm),
                                               cf.cat(X, s * DY), cf.cat(X2, DY))
    RR_b1, RR_b2, RR_v, RR_u = cf.evals(RR, cf.cat(X, B1, V), cf.cat(X, B2, V), cf.cat(X, DY, V), cf.cat(X, DY, U))

    # -- against the symbolic meaning ------------------------------------------------------------
    polys = R = None
    why = None
    if c.n_gates > o.max_gates:
        why = f"{c.n_gates} gates, more than max_gates={o.max_gates} for sympy"
    else:
        try:
            R, polys = _circuit_ring_polys(c, o.max_terms)
        except SymbolicTooLarge as e:
            why = str(e)
    if polys is None:
        results += [_skip("evaluate-vs-symbolic", label, why), _skip("reverse-vs-symbolic", label, why)]
    else:
        xs, dys = input_symbols(n), change_symbols(m)
        acc = _Worst("evaluate-vs-symbolic", label)
        acc.notes.append(how)
        cf.compare(acc, Y, evaluate_sympy([R.to_expr(f) for f in polys], F, X, symbols=xs), {"x": X},
                   "c(x) differs from its polynomials (to_sympy)")
        results.append(acc.result())
        acc = _Worst("reverse-vs-symbolic", label)
        acc.notes.append(how)
        cf.compare(acc, RX, evaluate_sympy(_reverse_exprs(R, polys, dys), F, XD, symbols=xs + dys), ex,
                   "reverse(c)(x, dy) differs from symbolic_reverse(c) (formal partial derivatives)")
        results.append(acc.result())

    # -- against an independent reference -----------------------------------------------------------
    # dual numbers on the gates' polynomials (any size), and galois / the Boolean difference / finite
    # differences where they apply
    ref_rng = np.random.default_rng(o.seed + 17)
    acc_ev = _Worst("evaluate-vs-reference", label)
    acc = _Worst("reverse-vs-reference", label)
    probes, probe_how = _probes(cf, ref_rng, rows, n)
    keep = _jet_rows(c, 1, rows, max(len(probes), 1))
    _jet_first_order(cf, c, X[:keep], DY[:keep], RX[:keep], [u[:keep] for u in probes], acc_ev, acc)
    jet_how = how if keep == rows else f"the first {keep} of {how}"
    acc_ev.notes.append(f"the gates' definitions generator by generator; {jet_how}")
    acc.notes.append(f"dual numbers on the gates' polynomials, {probe_how}; {jet_how}")
    if F.is_finite and polys is not None:
        keep = min(rows, _REFERENCE_MAX_POINTS)
        Xr, DYr = X[:keep], DY[:keep]
        J = _galois_jacobian(cf, R, polys, Xr)
        cf.compare(acc, RX[:keep], _apply_jacobian_t(cf, J, DYr), {"x": Xr, "dy": DYr},
                   "reverse(c) differs from galois' formal derivative of the univariate restrictions")
        acc.notes.append(f"galois Poly.derivative at {keep} points")
        if F.is_binary:
            if _is_multilinear(R, polys):
                ones = cf.arr(np.ones(rows, dtype=np.int64))
                flips = []
                for i in range(n):
                    Xi = X.copy()
                    Xi[:, i] = Xi[:, i] + ones
                    flips.append(Xi)
                JB = cf.zeros((rows, m, n))
                for i, Yi in enumerate(cf.evals(c, *flips) if n else []):
                    JB[:, :, i] = Y + Yi
                cf.compare(acc, RX, _apply_jacobian_t(cf, JB, DY), ex,
                           "reverse(c) differs from the Boolean difference f(x) xor f(x xor e_i) (multilinear c)")
                acc.notes.append("and the Boolean difference (multilinear)")
            else:
                acc.notes.append("not multilinear: the Boolean difference is the functional, not the formal, derivative")
    elif not F.is_finite:
        JF = np.zeros((rows, m, n))
        for i in range(n):
            e = np.zeros(n)
            e[i] = 1e-6 * max(1.0, float(np.abs(X[:, i]).mean()))
            yp, ym = cf.evals(c, X + e, X - e)
            JF[:, :, i] = (yp - ym) / (2 * e[i])
        _CField(F, replace(o, rtol=1e-4, atol=1e-5)).compare(
            acc, RX, np.einsum("rji,rj->ri", JF, DY), ex, "reverse(c) differs from central finite differences")
        acc.notes.append("and central finite differences")
    results += [acc_ev.result(), acc.result()]

    # -- RD.1 sum, RD.4 pairing, R preserves @, with the partner g = c >> square ------------------------
    g = c >> _square_layer(F, m)
    Rg = _rev(g)
    GX, GX2 = cf.evals(g, X, X2)
    RG, RGz, RGz2 = cf.evals(Rg, cf.cat(X, DY), cf.cat(X, DZ), cf.cat(X2, DZ))
    acc = _Worst("RD.1 sum", label)
    fg = _circuit_sum(c, g)
    cf.compare(acc, cf.eval(fg, X), Y + GX, {"x": X}, "(f + g)(x) != f(x) + g(x)")
    cf.compare(acc, cf.eval(_rev(fg), XD), RX + RG, ex, "R[f + g](x, dy) != R[f](x, dy) + R[g](x, dy)")
    cf.compare(acc, cf.eval(_rev(_zero_circuit(F, n, m)), XD), zn, ex, "R[0](x, dy) != 0")
    acc.notes.append(f"g = c >> square; {how}")
    results.append(acc.result())

    acc = _Worst("RD.4 pairing", label)
    pair = _circuit_pair(c, g)
    cf.compare(acc, cf.eval(pair, X), cf.cat(Y, GX), {"x": X}, "<f, g>(x) != (f(x), g(x))")
    cf.compare(acc, cf.eval(_rev(pair), cf.cat(X, DY, DZ)), RX + RGz, {"x": X, "dy": DY, "dz": DZ},
               "R[<f, g>](x, (dy, dz)) != R[f](x, dy) + R[g](x, dz)")
    cf.compare(acc, cf.eval(_rev(_C().discard(F, n)), X), zn, {"x": X}, "R[!](x) != 0")
    results.append(acc.result())

    acc = _Worst("R preserves @", label)
    T = c @ g
    cf.compare(acc, cf.eval(T, cf.cat(X, X2)), cf.cat(Y, GX2), {"x": X, "x2": X2}, "(f @ g)(x, x2) != (f(x), g(x2))")
    cf.compare(acc, cf.eval(_rev(T), cf.cat(X, X2, DY, DZ)), cf.cat(RX, RGz2), {"x": X, "x2": X2, "dy": DY, "dz": DZ},
               "R[f @ g]((x, x2), (dy, dz)) != (R[f](x, dy), R[g](x2, dz))")
    results.append(acc.result())

    # -- RD.2 additivity, RD.6 homogeneity --------------------------------------------------------------
    acc = _Worst("RD.2 additivity", label)
    cf.compare(acc, R_sum, RX + R_2, {"x": X, "dy1": DY, "dy2": D2}, "R[f](x, dy1 + dy2) != R[f](x, dy1) + R[f](x, dy2)")
    cf.compare(acc, R_0, zn, {"x": X}, "R[f](x, 0) != 0")
    results.append(acc.result())

    acc = _Worst("RD.6 linearity", label)
    cf.compare(acc, R_s, s * RX, {"x": X, "dy": DY, "s": s}, "R[f](x, s dy) != s R[f](x, dy)")
    results.append(acc.result())

    # -- RD.3: identity, projections, copy, add, discard ----------------------------------------------
    results += _circuit_rd3(F, max(n, 1), max(m, 1), o)

    # -- RD.5 chain rule: a cut of c, and composites with a mixing circuit --------------------------------
    acc = _Worst("RD.5 chain rule", label)
    pieces = []
    if len(c.ops) >= 2:
        pieces.append(("a cut of c", *_split(c, len(c.ops) // 2)))
    pieces.append(("c >> mix", c, _mix(F, m)))
    pieces.append(("mix >> c", _mix(F, n), c))
    if n == m:
        pieces.append(("c >> c", c, c))
    for name, f1, f2 in pieces:
        h = f1 >> f2
        A = cf.eval(f1, X)
        inner = cf.eval(_rev(f2), cf.cat(A, DY))
        want = cf.eval(_rev(f1), cf.cat(X, inner))
        cf.compare(acc, cf.eval(h, X), cf.eval(f2, A), {"x": X}, f"{name}: (f >> g)(x) != g(f(x))")
        cf.compare(acc, cf.eval(_rev(h), XD), want, {"x": X, "dz": DY},
                   f"{name}: R[f >> g](x, dz) != R[f](x, R[g](f(x), dz))")
    acc.notes.append(", ".join(p[0] for p in pieces))
    results.append(acc.result())

    # -- RD.6 and RD.7 through R[R[c]] and R[R[R[c]]]: self-consistency, then against dual numbers -----
    # R[R[f]]((a, b), v) = (b^T H(a)[-, v], J(a) v): the second half is the forward derivative, free of b
    acc = _Worst("RD.6 R[R[f]] forward derivative", label)
    Dv = RR_b1[:, n:]
    cf.compare(acc, Dv, RR_b2[:, n:], {"x": X, "b1": B1, "b2": B2, "v": V},
               "pi_1 R[R[f]]((a, b), v) depends on b (it is J(a) v)")
    cf.compare(acc, cf.inner(Dv, DY), cf.inner(V, RX), {"x": X, "v": V, "dy": DY},
               "<pi_1 R[R[f]]((a, 0), v), dy> != <v, R[f](a, dy)> (forward and reverse derivative are not adjoint)")
    results.append(acc.result())

    # the same, and the Hessian, against hyper-dual numbers on the gates' polynomials at (a, b, v)
    fwd, hess = _Worst("RD.6 R[R[f]] forward vs reference", label), _Worst("RD.7 R[R[f]] Hessian vs reference", label)
    Z, zhow = cf.rows(2 * n + m, ref_rng, f"{F.name}^{2 * n + m} (a, b, v)")
    zprobes, zprobe_how = _probes(cf, ref_rng, len(Z), n)
    keep = _jet_rows(c, 2, len(Z), max(len(zprobes), 1))
    _jet_second_order(cf, c, RR, Z[:keep, :n], Z[:keep, n: n + m], Z[:keep, n + m:], [u[:keep] for u in zprobes],
                      fwd, hess)
    zhow = zhow if keep == len(Z) else f"the first {keep} of {zhow}"
    fwd.notes.append(f"dual numbers on {zhow}")
    hess.notes.append(f"hyper-dual numbers, {zprobe_how}, on {zhow}")
    results += [fwd.result(), hess.result()]

    law = "RD.6 R[R[R[f]]]"
    if len(RR.ops) <= _DOUBLE_REVERSE_MAX_OPS:
        acc = _Worst(law, label)
        RRR = _rev(RR)
        out = cf.eval(RRR, cf.cat(X, B1, zn, zn, DY))
        cf.compare(acc, out[:, n + m:], RX, {"a": X, "b": B1, "dy": DY},
                   "pi_1 R[R[R[f]]](((a, b), 0), (0, dy)) != R[f](a, dy)")
        results.append(acc.result())
        acc = _Worst(law + " vs reference", label)
        P, phow = cf.rows(3 * n + 2 * m, ref_rng, f"{F.name}^{3 * n + 2 * m} (a, b, v, p, q)")
        pprobes, pprobe_how = _probes(cf, ref_rng, len(P), n)
        keep = _jet_rows(c, 3, len(P), max(len(pprobes), 1))
        _jet_third_order(cf, c, RRR, P[:keep], [u[:keep] for u in pprobes], acc)
        phow = phow if keep == len(P) else f"the first {keep} of {phow}"
        acc.notes.append(f"third-order dual numbers, {pprobe_how}, on {phow}")
        results.append(acc.result())
    else:
        why = f"R[R[c]] has {len(RR.ops)} operations, more than {_DOUBLE_REVERSE_MAX_OPS} to reverse again"
        results += [_skip(law, label, why), _skip(law + " vs reference", label, why)]

    # RD.7, as laws.py checks it for maps: d/du <R[f](a, dy), v> is symmetric in (u, v); on circuits the
    # gradient of a -> <R[f](a, dy), v> is the first half of R[R[f]]((a, dy), v)
    acc = _Worst("RD.7 symmetry", label)
    cf.compare(acc, cf.inner(RR_v[:, :n], U), cf.inner(RR_u[:, :n], V), {"a": X, "dy": DY, "u": U, "v": V},
               "<pi_0 R[R[f]]((a, dy), v), u> != <pi_0 R[R[f]]((a, dy), u), v> (the Hessian is not symmetric)")
    results.append(acc.result())

    # RD.7 in CRDC form: D[D[f]]((a, b), (c, d)) = D[D[f]]((a, c), (b, d)); and it is H(a)[c, b] + J(a) d
    law = "RD.7 D[D[f]] exchange"
    Df = _forward_derivative(c, RR)
    if len(Df.ops) <= _DOUBLE_REVERSE_MAX_OPS // 2:
        acc = _Worst(law, label)
        DDf = _forward_derivative(Df)
        Bv, Cv, Dd = X2, U, V
        cf.compare(acc, cf.eval(Df, cf.cat(X, V)), Dv, {"a": X, "v": V}, "D[f] != pi_1 R[R[f]]((a, 0), v)")
        left, right = cf.evals(DDf, cf.cat(X, Bv, Cv, Dd), cf.cat(X, Cv, Bv, Dd))
        cf.compare(acc, left, right, {"a": X, "b": Bv, "c": Cv, "d": Dd},
                   "D[D[f]]((a, b), (c, d)) != D[D[f]]((a, c), (b, d))")
        results.append(acc.result())
        acc = _Worst("RD.7 D[D[f]] vs reference", label)
        keep = _jet_rows(c, 2, rows, 1)
        cut = {"a": X[:keep], "b": Bv[:keep], "c": Cv[:keep], "d": Dd[:keep]}
        want = _taylor(cf, c, [{0: cut["a"], 1: cut["c"], 2: cut["b"], 3: cut["d"]}])[0][3]
        cf.compare(acc, left[:keep], want, cut,
                   "D[D[f]]((a, b), (c, d)) differs from H(a)[c, b] + J(a) d by hyper-dual numbers")
        acc.notes.append(f"hyper-dual numbers on {how if keep == rows else f'the first {keep} of {how}'}")
        results.append(acc.result())
    else:
        why = f"D[c] has {len(Df.ops)} operations, more than {_DOUBLE_REVERSE_MAX_OPS // 2} to differentiate again"
        results += [_skip(law, label, why), _skip("RD.7 D[D[f]] vs reference", label, why)]

    # -- linear circuits: additive, and R[f](a, -) is the adjoint of f at every a -------------------------
    linear = _is_linear_polys(R, polys) if polys is not None else \
        all(op.gen.name in ("add", "neg") for op in c.ops)
    if linear:
        acc = _Worst("RD.6 linear map adjoint", label)
        cf.compare(acc, cf.eval(c, X + X2), Y + Y2, {"u": X, "v": X2}, "f(u + v) != f(u) + f(v)")
        cf.compare(acc, cf.inner(YV, DY), cf.inner(V, RX), {"a": X, "v": V, "w": DY}, "<f(v), w> != <v, R[f](a, w)>")
        cf.compare(acc, R_at2, RX, {"a1": X, "a2": X2, "w": DY}, "R[f](a, w) of a linear circuit depends on the point a")
        results.append(acc.result())
    return LawReport(label, results)


@functools.lru_cache(maxsize=64)
def _circuit_rd3_cached(F, n: int, m: int, o: _COpts) -> tuple:
    cf = _CField(F, o)
    rng = np.random.default_rng(o.seed + 8)
    A, how = cf.rows(n + m, rng, f"{F.name}^{n + m}")
    rows = len(A)
    a = A[:, :n]
    da, db, d2 = cf.random(rng, (rows, n)), cf.random(rng, (rows, m)), cf.random(rng, (rows, n))
    zn, zm = cf.zeros((rows, n)), cf.zeros((rows, m))
    C = _C()
    cases = [
        ("RD.3 R[1] = pi_1", C.identity(F, n), a, da, da),
        ("RD.3 R[pi_0] = pi_1 ; iota_0", C.wiring(F, n + m, np.arange(n)), A, da, cf.cat(da, zm)),
        ("RD.3 R[pi_1] = pi_1 ; iota_1", C.wiring(F, n + m, np.arange(n, n + m)), A, db, cf.cat(zn, db)),
        ("RD.3 R[copy] = add", C.copy(F, n), a, cf.cat(da, d2), da + d2),
        ("RD.3 R[add] = copy", C.generator(F, "add", n), cf.cat(a, d2), da, cf.cat(da, da)),
        ("RD.3 R[!] = 0", C.discard(F, n), a, cf.zeros((rows, 0)), zn),
    ]
    out = []
    for law, circ, x, d, want in cases:
        acc = _Worst(law, f"{F.name}^{n}")
        cf.compare(acc, cf.eval(_rev(circ), cf.cat(x, d)), want, {"x": x, "d": d}, f"{law} fails")
        acc.notes.append(how)
        out.append(acc.result())
    return tuple(out)


def _circuit_rd3(F, n: int, m: int, o: _COpts) -> list[LawResult]:
    """RD.3 and the wiring: ``R[1] = pi_1``, ``R[pi_0] = pi_1 ; iota_0``, ``R[pi_1] = pi_1 ; iota_1``,
    ``R[copy] = add``, ``R[add] = copy``, ``R[!] = 0``, on circuits over the field (they do not depend
    on the circuit checked, only on its field and arity: computed once for each)."""
    return [replace(r, counterexample=dict(r.counterexample)) for r in _circuit_rd3_cached(F, n, m, o)]


def check_circuit_category_laws(f, g, h, **options) -> LawReport:
    """Associativity, identities and interchange for circuits ``f : A -> B``, ``g : B -> C``, ``h : C -> D``.

    * ``(f >> g) >> h = f >> (g >> h)``: both compute ``h(g(f(a)))`` and reverse to
      ``R[f](a, R[g](f a, R[h](g f a, dd)))``;
    * ``id >> f = f = f >> id``, values and reverse derivatives;
    * interchange ``(f @ g) >> (g @ h) = (f >> g) @ (g >> h)`` on pairs ``(a, b)``.

    Options as :func:`check_circuit_laws` (rows: exhaustive when small, else samples).
    """
    o = _copts(options)
    F = f.field
    cf = _CField(F, o)
    label = f"{f.label()}, {g.label()}, {h.label()}"
    rng = np.random.default_rng(o.seed + 10)
    na, nb, nc, nd = f.n_inputs, f.n_outputs, g.n_outputs, h.n_outputs
    assoc, left, right, inter = (_Worst(n, label) for n in (
        "category: associativity", "category: left identity", "category: right identity", "category: interchange"))
    XD, how = cf.rows(na + nd, rng, f"{F.name}^{na + nd}")
    rows = len(XD)
    X, DD = XD[:, :na], XD[:, na:]
    B = cf.eval(f, X)
    C = cf.eval(g, B)
    Dv = cf.eval(h, C)
    want_put = cf.eval(_rev(f), cf.cat(X, cf.eval(_rev(g), cf.cat(B, cf.eval(_rev(h), cf.cat(C, DD))))))
    for name, comp in (("(f >> g) >> h", (f >> g) >> h), ("f >> (g >> h)", f >> (g >> h))):
        cf.compare(assoc, cf.eval(comp, X), Dv, {"x": X}, f"{name} != h(g(f(x)))")
        cf.compare(assoc, cf.eval(_rev(comp), XD), want_put, {"x": X, "dd": DD},
                   f"R[{name}] != R[f](x, R[g](f x, R[h](g f x, dd)))")
    assoc.notes.append(how)
    DB = cf.random(rng, (rows, nb))
    RF = cf.eval(_rev(f), cf.cat(X, DB))
    for acc, comp, name in ((left, _C().identity(F, na) >> f, "id >> f"),
                            (right, f >> _C().identity(F, nb), "f >> id")):
        cf.compare(acc, cf.eval(comp, X), B, {"x": X}, f"{name} != f")
        cf.compare(acc, cf.eval(_rev(comp), cf.cat(X, DB)), RF, {"x": X, "db": DB}, f"R[{name}] != R[f]")
    Xb = cf.eval(f, cf.random(rng, (rows, na)))
    il, ir = (f @ g) >> (g @ h), (f >> g) @ (g >> h)
    P = cf.cat(X, Xb)
    want = cf.cat(C, cf.eval(h, cf.eval(g, Xb)))
    cf.compare(inter, cf.eval(il, P), want, {"a": X, "b": Xb}, "(f @ g) >> (g @ h) != (g f a, h g b)")
    cf.compare(inter, cf.eval(ir, P), want, {"a": X, "b": Xb}, "(f >> g) @ (g >> h) != (g f a, h g b)")
    DP = cf.random(rng, (rows, nc + nd))
    cf.compare(inter, cf.eval(_rev(il), cf.cat(P, DP)), cf.eval(_rev(ir), cf.cat(P, DP)),
               {"a": X, "b": Xb, "d": DP}, "R[(f @ g) >> (g @ h)] != R[(f >> g) @ (g >> h)]")
    return LawReport(label, [a.result() for a in (assoc, left, right, inter)])


def _C():
    """The Circuit class (imported lazily: paralens.laws does not need the circuits to load)."""
    from paralens.circuits.syntax import Circuit

    return Circuit


def _rev(c):
    from paralens.circuits.reverse import reverse

    return reverse(c)


# -- everything at once ----------------------------------------------------------------------------------


def _is_composite(f) -> bool:
    return isinstance(f, (MapCompose, MapTensor, Compose, Tensor, Chain, ParaTensor, Named, Reparam, Lifted)) or (
        isinstance(f, ParaLens) and isinstance(f.lens, (Compose, Tensor)))


def _primitives(f, dom: Type):
    """The primitive parts of a composite with the concrete domain each one is used at."""
    if isinstance(f, Map):
        if isinstance(f, (MapCompose, MapTensor)):
            yield from _primitives(R(f), dom)
        else:
            yield f, dom
    elif isinstance(f, Compose):
        for part in f.parts:
            yield from _primitives(part, dom)
            dom = part.output_type(dom)
    elif isinstance(f, Tensor):
        yield from _primitives(f.f, dom.factors[0])
        yield from _primitives(f.g, dom.factors[1])
    elif isinstance(f, Chain):
        for part in f.parts:
            yield from _primitives(part, dom)
            dom = part.output_type(dom)
    elif isinstance(f, ParaTensor):
        yield from _primitives(f.f, dom.factors[0])
        yield from _primitives(f.g, dom.factors[1])
    elif isinstance(f, (Named, Reparam)):
        yield from _primitives(f.inner, dom)
    elif isinstance(f, Lifted):
        yield from _primitives(f.lens, dom)
    elif isinstance(f, Identity):
        return
    else:
        yield f, dom


def _is_circuit(f) -> bool:
    import sys

    syntax = sys.modules.get("paralens.circuits.syntax")  # loaded if f can be a Circuit at all
    return syntax is not None and isinstance(f, syntax.Circuit)


def check_laws(f, **options) -> LawReport:
    """Run every law that applies to ``f`` (a :class:`Map`, a :class:`Lens` or a :class:`Para`).

    A :class:`~paralens.circuits.Circuit` is checked by :func:`check_circuit_laws` (its options).

    Options (all keyword): ``shape`` (for shape-polymorphic types, default ``(3,)``), ``dom``
    (the whole concrete input type), ``batch`` (2 over the reals, 1 over Z_p), ``seed``,
    ``sample(rng) -> a`` and ``sample_params(rng) -> dict`` (restricted domains), ``trials``,
    ``rtol``/``atol``/``eps`` (finite differences), ``ctx`` (a :class:`Context`, e.g. training
    mode), ``max_points`` (Z_p exhaustive limit), ``jacobian_max``, ``reduced`` (over Z_p, check
    a composite as a whole against its formal Jacobian too), ``leaves`` (also check every
    primitive part of a composite; the default is yes over Z_p, no over the reals).

    Checks: the reverse derivative, RD.2, RD.6 (and the adjoint for linear maps), RD.7 (reals),
    that a lens agrees with its map, the chain rule RD.5 / tensor for composites, a Para's
    ``backward_params`` against its put; the other
    laws (:func:`check_rd1`, :func:`check_rd3`, :func:`check_rd4`,
    :func:`check_category_laws`) take several morphisms and are run on their own.
    """
    if _is_circuit(f):
        return check_circuit_laws(f, **options)
    o = _opts(options)
    t = _Target(f, o)
    report = LawReport(t.label)
    composite = _is_composite(f)
    whole = True
    if t.p is not None and composite and not o.reduced:
        whole = False
        report.results.append(_skip("reverse derivative", t.label,
                                    "a composite over Z_p need not be a reduced polynomial; its primitives are "
                                    "checked one by one and it by the chain rule (reduced=True checks it whole)"))
    if whole:
        report.extend(check_reverse_derivative(f, **options))
    report.extend(check_rd2_additivity(f, **options))
    report.extend(check_rd6_linearity(f, **options))
    if t.p is None:
        report.extend(check_rd7_symmetry(f, **options))
    if isinstance(f, Map) or getattr(f, "map", None) is not None or (
            isinstance(f, ParaLens) and getattr(f.lens, "map", None) is not None):
        report.extend(check_lens_matches_map(f, **options))
    if isinstance(f, (MapCompose, MapTensor, Compose, Tensor, Chain, ParaTensor)):
        report.extend(check_chain_rule(f, **options))
    if isinstance(f, Para) and f.params:
        report.extend(check_backward_params(f, **options))
    leaves = o.leaves if o.leaves is not None else (t.p is not None)
    if leaves and composite:
        seen = set()
        for part, dom in _primitives(f, t.dom):
            if id(part) in seen:
                continue
            seen.add(id(part))
            sub = {k: v for k, v in options.items() if k not in ("dom", "sample", "sample_params", "leaves")}
            report.extend(check_laws(part, dom=dom, leaves=False, **sub))
    return report

