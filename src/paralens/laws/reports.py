"""Law results and reports: :class:`LawResult`, :class:`LawReport`, and ``_Worst``, which keeps the worst
of many checks of one law."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paralens.errors import LawViolation


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
