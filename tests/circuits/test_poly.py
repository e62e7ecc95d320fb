"""Polynomial circuits over Z_p and Boolean circuits: values, reverse derivatives, laws."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paralens import Map, Para, R, laws
from paralens.categories import cartesian as C
from paralens.categories.types import ArrayType, Product, Zp
from paralens.circuits import elementwise as P

FAST = settings(max_examples=6, deadline=None, derandomize=True)
primes = st.sampled_from([2, 3, 5])
seeds = st.integers(0, 2**16)


def assert_ok(report, *must_have):
    assert report.ok, str(report)
    ran = {r.law for r in report if r.checks > 0}
    for law in must_have:
        assert law in ran, f"law {law!r} was not checked: {report}"


ALL_BITS = np.array(list(itertools.product([0, 1], repeat=2))).T  # x = [0 0 1 1], y = [0 1 0 1]
X, Y = ALL_BITS[0][None, :], ALL_BITS[1][None, :]

GATES = {  # name: (lens factory, truth function on Python bools, formal dx, formal dy given x, y, d)
    "xor": (P.xor, lambda x, y: x != y, lambda x, y, d: d, lambda x, y, d: d),
    "and": (P.and_, lambda x, y: x and y, lambda x, y, d: d * y, lambda x, y, d: d * x),
    "or": (P.or_, lambda x, y: x or y, lambda x, y, d: d * (1 + y), lambda x, y, d: d * (1 + x)),
    "nand": (P.nand, lambda x, y: not (x and y), lambda x, y, d: d * y, lambda x, y, d: d * x),
    "nor": (P.nor, lambda x, y: not (x or y), lambda x, y, d: d * (1 + y), lambda x, y, d: d * (1 + x)),
    "xnor": (P.xnor, lambda x, y: x == y, lambda x, y, d: d, lambda x, y, d: d),
}


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_truth_tables_and_reverse_derivatives(name):
    make, truth, ddx, ddy = GATES[name]
    gate = make()
    out = gate.get((X, Y))
    want = np.array([[int(truth(bool(x), bool(y))) for x, y in zip(X[0], Y[0])]])
    np.testing.assert_array_equal(out, want)
    assert out.dtype.kind == "i"
    for d in (0, 1):
        dv = np.full_like(X, d)
        dx, dy = gate.put((X, Y), dv)
        np.testing.assert_array_equal(dx, [[ddx(x, y, d) % 2 for x, y in zip(X[0], Y[0])]])
        np.testing.assert_array_equal(dy, [[ddy(x, y, d) % 2 for x, y in zip(X[0], Y[0])]])
    # over Z2 the formal derivative of a reduced polynomial is the Boolean derivative: "does flipping x flip f?"
    d1 = np.ones_like(X)
    dx, dy = gate.put((X, Y), d1)
    np.testing.assert_array_equal(dx, gate.get((1 - X, Y)) ^ out)
    np.testing.assert_array_equal(dy, gate.get((X, 1 - Y)) ^ out)
    assert str(gate) == name


def test_not_gate():
    g = P.not_()
    x = np.array([[0, 1, 1, 0]])
    np.testing.assert_array_equal(g.get(x), 1 - x)
    np.testing.assert_array_equal(g.put(x, np.array([[1, 1, 0, 0]])), [[1, 1, 0, 0]])
    assert str(g) == "not"


@FAST
@given(p=primes, seed=seeds, n=st.integers(1, 3))
def test_zp_arithmetic_values(p, seed, n):
    rng = np.random.default_rng(seed)
    x, y, d = (rng.integers(0, p, (4, n)) for _ in range(3))
    np.testing.assert_array_equal(P.add(p).get((x, y)), (x + y) % p)
    np.testing.assert_array_equal(P.multiply(p).get((x, y)), (x * y) % p)
    dx, dy = P.multiply(p).put((x, y), d)
    np.testing.assert_array_equal(dx, (d * y) % p)
    np.testing.assert_array_equal(dy, (d * x) % p)
    np.testing.assert_array_equal(P.negate(p).get(x), (p - x) % p)
    np.testing.assert_array_equal(P.negate(p).put(x, d), (p - d) % p)
    np.testing.assert_array_equal(P.scale(p + 2, p).get(x), (2 * x) % p)
    c = P.constant(p - 1, p, (n,)).get(())
    assert c.shape == (1, n) and (c == p - 1).all()
    np.testing.assert_array_equal(P.fill(1, p).get(x), np.ones_like(x))


@pytest.mark.parametrize("p", [2, 3, 5])
def test_every_poly_primitive_passes_the_laws(p):
    shape = (2,) if p == 2 else (1,)
    prims = [P.add(p), P.multiply(p), P.negate(p), P.scale(2 % p or 1, p), P.constant(1, p, shape), P.fill(1, p),
             R(P.identity_map(p))]
    for lens in prims:
        report = laws.check_laws(lens, shape=shape)
        assert_ok(report, "Z_p closure", "RD.2 additivity", "RD.6 linearity")
        assert "exhaustive over all" in report["reverse derivative"].detail, str(report)
    for m in (P.add_map(p), P.multiply_map(p), P.negate_map(p)):
        assert_ok(laws.check_laws(m, shape=shape), "reverse derivative", "R functor: lens = (f, R[f])")
    assert_ok(laws.check_laws(P.add(p), shape=shape), "RD.6 linear map adjoint", "RD.6 linear map is additive")


@FAST
@given(p=primes, seed=seeds, size=st.integers(1, 2))
def test_poly_laws_property(p, seed, size):
    shape = (size,)
    for lens in (P.add(p), P.multiply(p), P.negate(p), P.scale(seed % p, p)):
        assert_ok(laws.check_laws(lens, shape=shape, seed=seed), "reverse derivative", "Z_p closure")


@pytest.mark.parametrize("name", ["xor", "and", "or", "nand", "nor", "xnor", "not"])
def test_gates_pass_the_laws(name):
    make = P.not_ if name == "not" else GATES[name][0]
    gate = make()
    report = laws.check_laws(gate, shape=(2,))
    assert_ok(report, "RD.2 additivity", "Z_p closure")
    if name in ("or", "nand", "nor", "xnor", "not"):  # composites: the chain rule and every part
        assert "RD.5 chain rule" in {r.law for r in report if r.checks}
    # the gates are reduced polynomials, so they also pass as a whole
    assert_ok(laws.check_laws(gate, shape=(2,), reduced=True), "reverse derivative")


def test_composite_need_not_be_reduced():
    """Over Z2, copy ; and is x*x: the function x, with formal derivative 2x = 0, not 1."""
    t = P.bits(2)
    sq = C.copy(t) >> P.and_(t)
    x = np.array([[0, 1]])
    np.testing.assert_array_equal(sq.get(x), x)
    np.testing.assert_array_equal(sq.put(x, np.ones_like(x)), [[0, 0]])
    default = laws.check_laws(sq)
    assert_ok(default, "RD.5 chain rule")
    assert "skipped" in default["reverse derivative"].detail
    whole = laws.check_laws(sq, reduced=True)
    assert [r.law for r in whole.failures] == ["reverse derivative"]


def test_wrong_gate_derivative_is_caught():
    t = P.bits(2)
    # or with the reverse derivative of xor: misses the x y term
    bad_or = Map(lambda a: (a[0] + a[1] + a[0] * a[1]) % 2, lambda a, d: (d, d), Product((t, t)), t, "bad_or")
    report = laws.check_laws(bad_or)
    assert [r.law for r in report.failures] == ["reverse derivative"]
    assert report["reverse derivative"].error >= 1
    with pytest.raises(Exception, match="law 'reverse derivative' fails for bad_or"):
        report.raise_if_failed()
    # a Z_3 multiply whose reverse derivative forgets to reduce: out of range
    t3 = P.zp(3, 1)
    unreduced = Map(lambda a: (a[0] * a[1]) % 3, lambda a, d: (d * a[1], d * a[0]), Product((t3, t3)), t3, "mul_unred")
    report = laws.check_laws(unreduced)
    assert [r.law for r in report.failures] == ["Z_p closure"]


def test_cartesian_structure_over_zp():
    t = P.zp(3, 2)
    a, b = np.array([[1, 2]]), np.array([[2, 2]])
    np.testing.assert_array_equal(C.copy(t).put(a, (a, b)), (a + b) % 3)
    np.testing.assert_array_equal(C.add(t).get((a, b)), (a + b) % 3)
    z = C.zero(t).get(())
    assert z.dtype == np.int64 and z.shape == (1, 2) and not z.any()
    np.testing.assert_array_equal(C.delete(t).put(a, ()), np.zeros_like(a))
    # copy on a product type adds componentwise (tuples are not concatenated)
    pt = Product((t, t))
    got = C.copy(pt).put((a, b), ((a, b), (b, b)))  # the changes of the two copies, each a pair
    assert isinstance(got, tuple) and len(got) == 2
    np.testing.assert_array_equal(got[0], (a + b) % 3)
    np.testing.assert_array_equal(got[1], (2 * b) % 3)
    assert_ok(laws.check_rd3(t, P.zp(3, 1)), "RD.3 R[pi_0] = pi_1 ; iota_0")
    for lens in (C.copy(t), C.delete(t), C.add(t), C.zero(t), C.proj0(t, t), C.proj1(t, t), C.swap(t, P.zp(3, 1)),
                 C.copy(pt)):
        assert_ok(laws.check_laws(lens), "reverse derivative", "Z_p closure", "RD.6 linear map adjoint")
    assert_ok(laws.check_rd4(P.negate(3, t), P.scale(2, 3, t)), "RD.4 pairing")
    assert_ok(laws.check_rd1(P.negate(3, t), P.fill(1, 3, t)), "RD.1 sum")


def test_fill_is_delete_then_constant():
    t = P.bits(3)
    composite = C.delete(t) >> P.constant(1, 2, (3,))
    rng = np.random.default_rng(0)
    x, d = rng.integers(0, 2, (4, 3)), rng.integers(0, 2, (4, 3))
    np.testing.assert_array_equal(np.broadcast_to(composite.get(x), x.shape), P.fill(1).get(x))
    np.testing.assert_array_equal(composite.put(x, d), P.fill(1).put(x, d))
    with pytest.raises(ValueError, match="concrete shape"):
        P.constant(1, 2, None)


def test_category_laws_over_z2():
    t = P.bits(2)
    assert_ok(laws.check_category_laws(P.not_(t), P.negate(2, t), P.fill(1, 2, t)), "category: interchange",
              "category: associativity")
    assert_ok(laws.check_category_laws(P.or_map(t), P.not_map(t), P.negate_map(2, t)), "category: associativity")


def test_types():
    assert P.bits(8) == ArrayType((8,), Zp(2))
    assert P.zp(5) == ArrayType(None, Zp(5))
    assert P.add(3).dom == Product((P.zp(3), P.zp(3)))
    with pytest.raises(ValueError, match="Z_2 type"):
        P.add(2, P.zp(3, 1))


def test_parametric_boolean_circuit():
    """A Para over Z2: y = w AND x with a bit mask w; dw sums d x over the batch mod 2."""
    t = P.bits(3)
    gate = P.mask(3)
    model = gate >> P.not_(t)
    assert isinstance(model, Para) and list(model.params) == ["w"]
    assert model.init(0)["w"].dtype == np.int64
    w, x = np.array([1, 0, 1]), np.array([[1, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(model.get({"w": w}, x), 1 - (w * x))
    dp, dx = model.put({"w": w}, x, np.ones_like(x))
    np.testing.assert_array_equal(dp["w"], x.sum(0) % 2)
    np.testing.assert_array_equal(dx, np.broadcast_to(w, x.shape))
    assert_ok(laws.check_laws(gate), "reverse derivative", "Z_p closure")
    # the lens is (c, R[c]) of one circuit (no separate Map): check R[c] against the formal Jacobian instead
    assert_ok(laws.check_laws(gate.circuit), "evaluate-vs-symbolic", "reverse-vs-symbolic", "RD.5 chain rule")
    assert_ok(laws.check_laws(gate, batch=2), "reverse derivative")
    assert_ok(laws.check_laws(model), "RD.5 chain rule")
