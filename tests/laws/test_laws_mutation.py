"""Planted bugs the circuit law checker must catch (review finding 4).

* a skipped check says SKIPPED and is not counted as passed; ``complete`` and ``strict`` expose it;
* above the sympy limit (200 gates) a wrong reverse rule still fails, against dual numbers;
* a reverse rule that is right as a function but formally wrong (``y^p`` for ``y``) fails the
  second-derivative laws over GF(2), GF(3) and GF(5), on exactly the points where its R[R[c]] is
  wrong, counted here by brute force;
* correct circuits (random ones over several fields) still pass, with every reference law run.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import support
from paralens.circuits import BOOLEAN_GATES, Circuit, Gate, reverse, trace
from paralens.errors import LawViolation
from paralens.fields import GF, REALS
from paralens.laws import check_circuit_laws

REFERENCE_LAWS = ("evaluate-vs-reference", "reverse-vs-reference", "RD.6 R[R[f]] forward vs reference",
                  "RD.7 R[R[f]] Hessian vs reference", "RD.6 R[R[R[f]]] vs reference", "RD.7 D[D[f]] vs reference")
SYMPY_LAWS = ["evaluate-vs-symbolic", "reverse-vs-symbolic"]
# the self-consistency laws: what the checker had before the reference laws (a symmetric mutant passes them)
SELF_CONSISTENCY = ("RD.6 R[R[f]] forward derivative", "RD.6 R[R[R[f]]]", "RD.7 symmetry", "RD.7 D[D[f]] exchange")


def _power(b, w, e: int):
    out = w
    for _ in range(e - 1):
        out = b.mul(out, w)
    return out


def asymmetric_mutant(p: int) -> Gate:
    """``x y`` whose reverse rule is ``(y^p d, x d)``: right as a function (``y^p = y`` on GF(p)) but
    formally wrong, since ``d/dy (y^p d) = p y^(p-1) d = 0``, not ``d``."""
    return Gate(f"mul_yp{p}", 2, lambda x, y: x * y,
                reverse_rule=lambda b, xs, dys: [b.mul(_power(b, xs[1], p), dys[0]), b.mul(xs[0], dys[0])])


def symmetric_mutant(p: int) -> Gate:
    """``x y`` whose reverse rule is ``((2y - y^p) d, (2x - x^p) d)``: functionally ``(y d, x d)``, formally
    ``R`` plus the gradient of ``-(x^p - x)(y^p - y) d``, so its Hessian is ``2`` off the diagonal, not ``1``:
    symmetric, and invisible to every first-order and self-consistency law."""

    def rule(b, xs, dys):
        x, y = xs
        return [b.mul(b.sub(b.add(y, y), _power(b, y, p)), dys[0]),
                b.mul(b.sub(b.add(x, x), _power(b, x, p)), dys[0])]

    return Gate(f"mul_sym{p}", 2, lambda x, y: x * y, reverse_rule=rule)


BAD_AND = Gate("bad_and", 2, lambda a, b: a * b,
               reverse_rule=lambda b, xs, dys: [b.mul(xs[0], dys[0]), b.mul(xs[1], dys[0])])  # (x d, y d)


def rows_differ(result) -> tuple[int, int]:
    """``(wrong, total)`` from a failure's detail ``"... (8 of 32 rows differ)"``."""
    found = re.search(r"\((\d+) of (\d+) rows differ\)", result.detail)
    assert found, result.detail
    return int(found.group(1)), int(found.group(2))


def hessian_wrong_points(p: int, mutant_pi0) -> int:
    """Points ``(x, y, b, v1, v2)`` of GF(p)^5 where ``pi_0 R[R[c]]((x, y, b), v)`` of the mutant differs from
    the formal ``b H v = (b v2, b v1)`` of ``x y``, by brute force on integers."""
    wrong = 0
    for x, y, b, v1, v2 in itertools.product(range(p), repeat=5):
        want = ((b * v2) % p, (b * v1) % p)
        wrong += mutant_pi0(p, x, y, b, v1, v2) != want
    return wrong


def asymmetric_pi0(p, x, y, b, v1, v2):
    # gradient in (x, y) of y^p b v1 + x b v2, formally: (b v2, p y^(p-1) b v1) = (b v2, 0)
    return ((b * v2) % p, (p * y ** (p - 1) * b * v1) % p)


def symmetric_pi0(p, x, y, b, v1, v2):
    # gradient in (x, y) of (2y - y^p) b v1 + (2x - x^p) b v2, formally: ((2 - p x^(p-1)) b v2, (2 - p y^(p-1)) b v1)
    return (((2 - p * x ** (p - 1)) * b * v2) % p, ((2 - p * y ** (p - 1)) * b * v1) % p)


# -- (a) skipped is not passed ---------------------------------------------------------------------------------


def test_a_skipped_law_says_skipped_and_is_not_passed():
    c = trace(GF(3), 2, lambda a, b: [a * b + a])
    report = check_circuit_laws(c, max_gates=0)  # sympy "too slow" for any circuit
    assert [r.law for r in report.skipped] == SYMPY_LAWS
    for r in report.skipped:
        assert r.status == "SKIPPED" and not r.passed and not r.failed and r.checks == 0
        assert "max_gates=0" in r.detail
    assert report.ok and not report.complete and not report.all_checked
    text = str(report)
    n = len(report)
    assert text.startswith(f"laws of {c.label()}: {n} checked, {n - 2} passed, 2 skipped")
    assert "SKIPPED  evaluate-vs-symbolic" in text and "SKIPPED  reverse-vs-symbolic" in text
    assert "PASS  reverse-vs-reference" in text
    assert report.raise_if_failed() is report  # skips are not failures ...
    with pytest.raises(LawViolation, match="law 'reverse-vs-symbolic' was not checked .*max_gates=0"):
        report.raise_if_failed(strict=True)  # ... unless strict
    full = check_circuit_laws(c)
    assert full.complete and not full.skipped and full.raise_if_failed(strict=True) is full
    assert str(full).startswith(f"laws of {c.label()}: {len(full)} checked, all passed")


def big_circuit(F, extra=None, n: int = 4, terms: int = 60):
    """More than 200 gates (sympy's limit): ``sum_k x_i (x_j (x_l + x_r))`` over index quadruples
    cycling through the inputs, plus ``extra(x_0, x_1)`` as an output of its own (nothing masks its rule)."""

    def fn(*v):
        acc = v[0]
        for k in range(terms):
            i, j, l, r = k % n, (k + 1) % n, (k + 2) % n, (k + 3) % n
            acc = acc + v[i] * (v[j] * (v[l] + v[r]))
        return [acc, extra(v[0], v[1])] if extra is not None else [acc, BOOLEAN_GATES["or"](v[2], v[3])]

    c = trace(F, n, fn)
    assert c.n_gates > 200
    return c


@pytest.mark.parametrize("order", [2, 5])
def test_a_wrong_rule_above_the_sympy_limit_fails(order):
    c = big_circuit(GF(order), BAD_AND)
    report = check_circuit_laws(c, samples=32, exhaustive=False)
    failed = {r.law for r in report.failures}
    assert "reverse-vs-reference" in failed, str(report)
    assert [r.law for r in report.skipped] == SYMPY_LAWS  # sympy is still skipped, and says so
    assert report["evaluate-vs-reference"].passed  # the values are right: only R is wrong
    assert "FAILED" in str(report).splitlines()[0] and "FAIL  reverse-vs-reference" in str(report)
    with pytest.raises(LawViolation, match="reverse-vs-reference"):
        report.raise_if_failed()
    # the counterexample is a real one: R of the planted gate is (x d, y d) where (y d, x d) is right
    ex = report["reverse-vs-reference"].counterexample
    assert list(ex["expected"]) != list(ex["got"])


def test_a_large_correct_circuit_passes_and_marks_what_it_skipped():
    c = big_circuit(GF(3))
    report = check_circuit_laws(c, samples=32, exhaustive=False)
    assert report.ok, str(report)
    assert [r.law for r in report.skipped] == SYMPY_LAWS and not report.complete
    for law in REFERENCE_LAWS:
        assert report[law].passed and report[law].checks >= 32, law
    assert all(r.checks > 0 for r in report if not r.skipped)
    text = str(report)
    assert text.splitlines()[0].endswith(f"{len(report)} checked, {len(report) - 2} passed, 2 skipped")
    assert text.count("SKIPPED  ") == 2 and "sympy" in report["reverse-vs-symbolic"].detail


def test_a_formally_wrong_rule_in_a_large_circuit_with_many_inputs_fails():
    """Above the sympy limit and with 10 inputs (so vectors in F^n are read along random directions)."""
    F = GF(3)
    bad = asymmetric_mutant(3)
    c = big_circuit(F, lambda a, b: bad(a, b), n=10)
    report = check_circuit_laws(c, samples=48, exhaustive=False)
    failed = {r.law for r in report.failures}
    assert "RD.7 R[R[f]] Hessian vs reference" in failed, str(report)
    assert {"reverse-vs-reference", "evaluate-vs-reference"}.isdisjoint(failed)  # first order is right
    assert "random directions" in report["reverse-vs-reference"].detail


# -- (b) right as a function, formally wrong -----------------------------------------------------------------------

ISSUE_COUNTS = {2: (8, 32), 3: (108, 243), 5: (2000, 3125)}  # R[R[c]] wrong at these points (the review)


@pytest.mark.parametrize("p", [2, 3, 5])
def test_a_functionally_right_formally_wrong_rule_is_caught(p):
    c = Circuit.generator(GF(p), asymmetric_mutant(p))
    # right as a function: R[c](x, y, d) = (y d, x d) at every point
    pts = np.array(list(itertools.product(range(p), repeat=3)))
    got = np.asarray(reverse(c).evaluate(pts).view(np.ndarray), dtype=np.int64)
    np.testing.assert_array_equal(got, np.stack([pts[:, 1] * pts[:, 2] % p, pts[:, 0] * pts[:, 2] % p], axis=1))
    report = check_circuit_laws(c)
    failed = {r.law for r in report.failures}
    assert {"reverse-vs-symbolic", "reverse-vs-reference", "evaluate-vs-reference", "RD.2 additivity"}.isdisjoint(failed)
    assert "RD.7 R[R[f]] Hessian vs reference" in failed and "RD.6 R[R[R[f]]] vs reference" in failed
    wrong, total = rows_differ(report["RD.7 R[R[f]] Hessian vs reference"])
    assert (wrong, total) == (hessian_wrong_points(p, asymmetric_pi0), p**5) == ISSUE_COUNTS[p]
    with pytest.raises(LawViolation, match=re.escape(f"law 'RD.7 R[R[f]] Hessian vs reference' fails for {c.label()}")):
        report.raise_if_failed()


@pytest.mark.parametrize("p", [2, 3, 5])
def test_a_symmetric_formally_wrong_rule_is_caught_only_by_the_reference(p):
    """Its Hessian is symmetric and R is right as a function, so only the reference laws can see it."""
    c = Circuit.generator(GF(p), symmetric_mutant(p))
    report = check_circuit_laws(c)
    failed = {r.law for r in report.failures}
    assert failed == {"RD.7 R[R[f]] Hessian vs reference", "RD.6 R[R[R[f]]] vs reference",
                      "RD.7 D[D[f]] vs reference"}, str(report)
    for law in SELF_CONSISTENCY:
        assert report[law].passed, law
    wrong, total = rows_differ(report["RD.7 R[R[f]] Hessian vs reference"])
    assert total == p**5 and wrong == hessian_wrong_points(p, symmetric_pi0) == p**2 * (p - 1) * (p**2 - 1)


def test_the_dual_number_reference_reads_definitions_not_rules():
    """With sympy (and galois, which reads sympy's polynomials) skipped, a gate whose rule is wrong (``x d``
    for ``3 x^2 d``) still fails, against dual numbers on its definition; the polynomial traced from
    generators passes; the failing rows are exactly those where ``x d != 3 x^2 d`` mod 5."""
    F = GF(5)
    wrong = Gate("cube_bad", 1, lambda x: x * x * x, reverse_rule=lambda b, xs, dys: [b.mul(xs[0], dys[0])])
    right = check_circuit_laws(trace(F, 1, lambda x: [x * x * x]), max_gates=0)
    assert right.ok and [r.law for r in right.skipped] == SYMPY_LAWS
    bad = check_circuit_laws(Circuit.generator(F, wrong), max_gates=0)
    r = bad["reverse-vs-reference"]
    assert r.failed and "dual numbers" in r.detail
    want = sum((x * d - 3 * x * x * d) % 5 != 0 for x, d in itertools.product(range(5), repeat=2))
    assert rows_differ(r) == (want, 25) == (12, 25)
    assert "RD.6 R[R[f]] forward vs reference" in {f.law for f in bad.failures}


# -- (c) correct circuits pass -------------------------------------------------------------------------------------

FIELDS = [GF(2), GF(3), GF(5), GF(4), REALS]


def random_circuits():
    """Up to 8 operations, powers to x^6 (beyond p), the Boolean gates, over :data:`FIELDS`."""
    return support.random_circuits(FIELDS, max_ops=8, powers=(2, 6), constants=False)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_circuits(), st.integers(0, 2**16))
def test_correct_circuits_pass_every_reference_law(c, seed):
    report = check_circuit_laws(c, seed=seed, samples=16)
    assert report.ok and report.complete, str(report)
    for law in REFERENCE_LAWS:
        assert report[law].checks > 0, law
