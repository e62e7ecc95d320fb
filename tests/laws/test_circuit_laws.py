"""The CRDC laws on polynomial circuits: every generator and Boolean gate exhaustively, random circuits
(hypothesis) over small, extension and 61-bit prime fields, a wrong reverse rule caught, and a gate
defined in sympy that passes the laws and trains."""

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import support
from paralens.circuits import BOOLEAN_GATES, Circuit, Gate, gate_from_sympy, trace
from paralens.errors import LawViolation
from paralens.fields import GF, REALS
from paralens.laws import check_circuit_category_laws, check_circuit_laws, check_laws

SMALL_FIELDS = [2, 3, 4, 5, 8]
x, y, z = sympy.symbols("x y z")
MAJ = gate_from_sympy("maj", x * y + y * z + x * z, [x, y, z])
HALF = gate_from_sympy("half", [x + y, x * y, x**2 * y + 1], [x, y])  # three outputs


def assert_all_ran(report):
    """ok, and not vacuously: every law ran checks, none was skipped."""
    assert report.ok, str(report)
    skipped = [r.law for r in report if r.checks == 0]
    assert not skipped, f"skipped or empty: {skipped}\n{report}"
    assert report.checks > 0


# -- every generator and Boolean gate, exhaustively ---------------------------------------------------------


@pytest.mark.parametrize("order", SMALL_FIELDS)
def test_generators_and_boolean_gates_exhaustively(order):
    F = GF(order)
    for name in ["add", "mul", "neg", *BOOLEAN_GATES]:
        c = Circuit.generator(F, name)
        report = check_circuit_laws(c)
        assert_all_ran(report)
        q, k = F.order, c.n_inputs + c.n_outputs
        # exhaustive: one check per point of F^(n + m)
        assert report["reverse-vs-symbolic"].checks == q**k
        assert report["reverse-vs-reference"].checks >= q**k
        assert "exhaustive" in report["reverse-vs-symbolic"].detail
    for c in (Circuit.constant(F, [1, F.order - 1]), Circuit.generator(F, MAJ), Circuit.copy(F, 2),
              Circuit.discard(F, 1) @ Circuit.identity(F, 1)):
        assert check_circuit_laws(c).ok


def test_gf2_reference_includes_the_boolean_difference():
    report = check_circuit_laws(Circuit.generator(GF(2), "mux"))
    assert "Boolean difference" in report["reverse-vs-reference"].detail
    # x * x is not multilinear: R is the formal derivative 0, not the Boolean difference 1, and the laws pass
    report = check_circuit_laws(trace(GF(2), 1, lambda v: v * v))
    assert report.ok and "not multilinear" in report["reverse-vs-reference"].detail


def test_check_laws_dispatches_circuits():
    c = trace(GF(5), 2, lambda a, b: [a * b + 2 * a, b * b * b])
    report = check_laws(c)
    assert_all_ran(report)
    assert {"reverse-vs-symbolic", "reverse-vs-reference", "RD.1 sum", "RD.2 additivity", "RD.4 pairing",
            "RD.5 chain rule", "RD.6 linearity", "RD.6 R[R[R[f]]]", "RD.7 symmetry",
            "RD.7 D[D[f]] exchange", "RD.3 R[1] = pi_1", "RD.3 R[copy] = add"} <= set(report.laws)
    # a linear circuit also has its adjoint checked
    assert "RD.6 linear map adjoint" in check_laws(trace(GF(5), 2, lambda a, b: [a + 3 * b, -a])).laws


def test_over_the_reals():
    c = trace(REALS, 2, lambda a, b: [a * b + 2 * a, b**3, BOOLEAN_GATES["or"](a, b)])
    assert_all_ran(check_circuit_laws(c, samples=16))


def test_large_circuits_skip_sympy_with_a_reason():
    c = trace(GF(3), 4, lambda *v: [sum(v[i] * v[j] for i in range(4) for j in range(4))])
    report = check_circuit_laws(c, max_gates=3, samples=8, exhaustive=False)
    assert report.ok
    assert "skipped" in report["reverse-vs-symbolic"].detail and "max_gates" in report["reverse-vs-symbolic"].detail
    assert report["RD.5 chain rule"].checks > 0 and report.checks > 0


# -- a wrong reverse rule is caught -------------------------------------------------------------------------


def test_a_wrong_reverse_rule_is_caught():
    bad = Gate("bad_and", 2, lambda a, b: a * b,
               reverse_rule=lambda b, xs, dys: [b.mul(xs[0], dys[0]), b.mul(xs[1], dys[0])])  # (x d, y d)
    report = check_circuit_laws(Circuit.generator(GF(2), bad))
    assert not report.ok
    failed = {r.law for r in report.failures}
    assert {"reverse-vs-symbolic", "reverse-vs-reference"} <= failed
    r = report["reverse-vs-reference"]
    assert set(r.counterexample) >= {"x", "dy", "expected", "got"}
    assert list(r.counterexample["expected"]) != list(r.counterexample["got"])
    with pytest.raises(LawViolation, match="reverse-vs-symbolic"):
        report.raise_if_failed()
    # inside a larger circuit over another field, too
    c = trace(GF(3), 3, lambda a, b, d: [bad(a, b) * d + a, b * b * b])
    assert {"reverse-vs-symbolic", "reverse-vs-reference"} <= {r.law for r in check_circuit_laws(c).failures}


def test_category_laws():
    F = GF(3)
    f = trace(F, 2, lambda a, b: [a * b, a + 1, b * b])
    g = trace(F, 3, lambda a, b, d: [a * b * d, a - d])
    h = trace(F, 2, lambda a, b: [a * a * b])
    report = check_circuit_category_laws(f, g, h)
    assert_all_ran(report)
    assert report.laws == ["category: associativity", "category: left identity", "category: right identity",
                           "category: interchange"]
    F = GF(2**8)
    f = Circuit.generator(F, "mux")
    g = trace(F, 1, lambda a: [a * a, a + 7])
    h = Circuit.generator(F, "xor")
    assert_all_ran(check_circuit_category_laws(f, g, h, samples=16))


# -- random circuits ------------------------------------------------------------------------------------


RANDOM_FIELDS = [2, 5, 2**8, 3**5, 2**61 - 1]
for _order in RANDOM_FIELDS:  # trace the sympy gates' definitions up front, not inside the strategy
    MAJ.definition(GF(_order))
    HALF.definition(GF(_order))


def random_circuits():
    """Up to 12 operations, constants, powers to x^4, the Boolean gates and sympy-defined gates
    (one with three outputs), over :data:`RANDOM_FIELDS`, bundled or not."""
    return support.random_circuits(RANDOM_FIELDS, max_ops=12, powers=(2, 4), constants=True,
                                   gates=[*BOOLEAN_GATES.values(), MAJ, HALF], bundle=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_circuits(), st.integers(0, 2**16))
def test_random_circuits_satisfy_the_laws(c, seed):
    report = check_circuit_laws(c, seed=seed, samples=24)
    assert report.ok, str(report)
    assert report.checks > 0 and report["RD.5 chain rule"].checks > 0
    if c.field.order ** (c.n_inputs + c.n_outputs) > 20_000:
        assert "random" in report["RD.5 chain rule"].detail or "random" in report["RD.1 sum"].detail


# -- a sympy gate trains -----------------------------------------------------------------------------------


def test_a_sympy_gate_passes_the_laws_and_trains():
    from paralens.circuits import parametric
    from paralens.learning import learning_rates, losses, optimisers
    from paralens.learning.supervised import Learner
    from paralens.training.fit import fit

    F = GF(2)
    assert_all_ran(check_circuit_laws(Circuit.generator(F, MAJ)))
    # y_j = maj(x_j, x_{j+1}, w_j): w_j = 1 makes output j an OR, w_j = 0 an AND
    c = trace(F, 9, lambda *v: [MAJ(v[4 + j], v[5 + j], v[j]) for j in range(4)])
    assert check_circuit_laws(c, samples=32).ok
    target = np.array([1, 0, 1, 1])
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (64, 5))
    Y = np.where(target == 1, X[:, :4] | X[:, 1:], X[:, :4] & X[:, 1:])
    learner = Learner(parametric(c, params={"w": 4}), losses.xor(4), optimisers.gradient_update(modulus=2),
                      learning_rates.identity())
    state = learner.init(0)
    assert not np.array_equal(state.params["w"], target)
    state, hist = fit(learner, X, Y, epochs=2, batch_size=1, seed=0, progress=False, dtype="int64", state=state)
    np.testing.assert_array_equal(state.params["w"], target)
    assert hist["loss"][-1] == 0.0
