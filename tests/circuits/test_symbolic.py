"""Circuits as sympy polynomials: to_sympy, symbolic_reverse, exact evaluation, gates from sympy,
and formal versus functional derivatives."""

import itertools

import numpy as np
import pytest
import sympy

from paralens.circuits import (
    AND,
    OR,
    XOR,
    Circuit,
    Gate,
    circuit_polynomials,
    evaluate_sympy,
    functional_reduce,
    gate_from_sympy,
    reverse,
    symbolic_reverse,
    to_sympy,
    trace,
)
from paralens.circuits.symbolic import SymbolicTooLarge, change_symbols, input_symbols
from paralens.fields import GF, REALS
from paralens.fields.field import FieldError
from paralens.laws import lagrange_derivative_matrix

x0, x1, x2 = input_symbols(3)
dy0, dy1 = change_symbols(2)
P61 = 2**61 - 1


def same(a, b):
    return sympy.expand(sympy.sympify(a) - sympy.sympify(b)) == 0


def ints(a):
    return np.asarray(a.view(np.ndarray)).tolist()


def all_rows(q, k):
    return np.array(list(itertools.product(range(q), repeat=k)), dtype=np.int64).reshape(-1, k)


# -- to_sympy and symbolic_reverse --------------------------------------------------------------------


def test_readme_example():
    F = GF(5)
    c = trace(F, 2, lambda x, y: [x * y + 2 * x, y * y * y])
    f = to_sympy(c)
    assert len(f) == 2 and same(f[0], x0 * x1 + 2 * x0) and same(f[1], x1**3)
    assert str(f) == "[x0*x1 + 2*x0, x1**3]"
    r = symbolic_reverse(c)
    assert same(r[0], dy0 * (x1 + 2)) and same(r[1], 3 * x1**2 * dy1 + x0 * dy0)
    assert str(r[0]) == "dy0*(x1 + 2)"
    # evaluates like the circuit R[c], exhaustively over GF(5)^4
    XD = all_rows(5, 4)
    np.testing.assert_array_equal(ints(evaluate_sympy(r, F, XD)), ints(reverse(c).evaluate(XD)))
    np.testing.assert_array_equal(ints(evaluate_sympy(f, F, XD[:, :2])), ints(c.evaluate(XD[:, :2])))


def test_coefficients_are_field_elements_not_symmetric():
    c = trace(GF(7), 2, lambda x, y: [x - y, -x * y - 3])
    f = to_sympy(c)
    assert str(f[0]) == "x0 + 6*x1"
    assert same(f[1], 6 * x0 * x1 + 4)
    assert "-" not in str(f) and "-" not in str(symbolic_reverse(c))
    # the 61-bit prime: p - 1, not -1, and no int64 overflow on evaluation
    F = GF(P61)
    c = trace(F, 2, lambda x, y: [x * y - x, y**5])
    f = to_sympy(c)
    assert same(f[0], x0 * x1 + (P61 - 1) * x0) and "-" not in str(f)
    X = F.random((20, 2), seed=1)
    np.testing.assert_array_equal(ints(evaluate_sympy(f, F, X)), ints(c.evaluate(X)))
    XD = F.random((20, 4), seed=2)
    np.testing.assert_array_equal(ints(evaluate_sympy(symbolic_reverse(c), F, XD)), ints(reverse(c).evaluate(XD)))


def test_extension_fields_reduce_by_the_irreducible_polynomial():
    F = GF(8)
    a = F.sympy_generator()
    c = trace(F, 2, lambda x, y: [x * 2 * 2 * 2, y * 6 + x])  # 2 is a: a^3 reduces; 6 is a^2 + a
    f = to_sympy(c)
    assert sympy.Poly(f[0], a, x0).degree(a) < 3
    assert F.from_sympy(f[0].subs(x0, 1)) == int(F.galois(2) ** 3)
    for e in f + symbolic_reverse(c):  # coefficients are polynomials in a of degree < m, digits in 0..p-1
        poly = sympy.Poly(e, *sorted(e.free_symbols, key=str))
        assert all(0 <= int(k) < 2 for k in poly.coeffs())
        if a in e.free_symbols:
            assert sympy.degree(e, a) < 3
    for order in (8, 9):
        F = GF(order)
        c = trace(F, 3, lambda x, y, z: [x * y * 5 + z ** 4, (x + 3) * (y - z) * x])
        X = F.random((30, 3), seed=order)
        np.testing.assert_array_equal(ints(evaluate_sympy(to_sympy(c), F, X)), ints(c.evaluate(X)))
        XD = F.random((30, 5), seed=order + 1)
        np.testing.assert_array_equal(ints(evaluate_sympy(symbolic_reverse(c), F, XD)), ints(reverse(c).evaluate(XD)))


def test_boolean_gates_are_their_multilinear_polynomials():
    F = GF(2)
    expected = {"or": x0 * x1 + x0 + x1, "and": x0 * x1, "xor": x0 + x1, "nand": x0 * x1 + 1,
                "nor": x0 * x1 + x0 + x1 + 1, "xnor": x0 + x1 + 1, "not": x0 + 1, "mux": x0 * x1 + x0 * x2 + x1}
    for name, want in expected.items():
        (f,) = to_sympy(Circuit.generator(F, name))
        assert same(f, want), name
    # Gate.sympy reads the definition; a traced circuit containing gates is expanded through them
    assert same(OR.sympy([x0, x1], field=GF(3))[0], x0 + x1 - x0 * x1 + 3 * x0 * x1)  # 2 x0 x1 = -x0 x1 mod 3
    c = trace(F, 3, lambda x, y, z: [XOR(AND(x, y), z)])
    assert same(to_sympy(c)[0], x0 * x1 + x2)


def test_circuit_polynomials_substitutes_expressions():
    u, v = sympy.symbols("u v")
    c = trace(GF(3), 2, lambda x, y: [x * y, x - y])
    f = circuit_polynomials(c, [u + 1, v**2])
    assert same(f[0], u * v**2 + v**2) and same(f[1], u + 1 + 2 * v**2)
    with pytest.raises(ValueError, match="2 inputs"):
        circuit_polynomials(c, [u])


def test_max_terms_guards_blow_up():
    c = trace(GF(5), 3, lambda x, y, z: (x + y + z + 1) ** 16)
    with pytest.raises(SymbolicTooLarge):
        to_sympy(c, max_terms=50)


def test_over_the_reals():
    c = trace(GF(5), 2, lambda x, y: [x * y - 3 * x, y**3]).over(REALS)
    f = to_sympy(c)
    assert same(f[0], x0 * x1 - 3 * x0) and same(f[1], x1**3)  # neg stays a generator: -3 x over R
    X = np.array([[0.5, -2.0], [1.5, 3.0]])
    np.testing.assert_allclose(evaluate_sympy(f, REALS, X), c.evaluate(X))
    XD = np.array([[0.5, -2.0, 1.0, 0.25]])
    np.testing.assert_allclose(evaluate_sympy(symbolic_reverse(c), REALS, XD), reverse(c).evaluate(XD))


def test_evaluate_sympy_symbols_and_rationals():
    F = GF(7)
    e = sympy.Rational(1, 2) * x0 + x1**2
    got = ints(evaluate_sympy(e, F, [[2, 3], [4, 0]]))
    assert got == [(1 + 9) % 7, 2]  # 1/2 = 4 in GF(7): 4 * 2 = 1
    assert ints(evaluate_sympy([dy0 * x1], F, [[0, 3, 2]], symbols=["x0", "x1", "dy0"])) == [[6]]
    with pytest.raises(ValueError, match="symbols"):
        evaluate_sympy([x0 * x1], F, [[1, 2, 3]], symbols=[x0, x1])


# -- formal versus functional derivatives ---------------------------------------------------------------


@pytest.mark.parametrize("p", [3, 5])
def test_x_to_the_p_has_formal_derivative_zero(p):
    F = GF(p)
    c = trace(F, 1, lambda x: x**p)
    # the same function as the identity ...
    X = all_rows(p, 1)
    np.testing.assert_array_equal(ints(c.evaluate(X)), X)
    # ... but R follows the formal derivative p x^(p-1) = 0
    assert symbolic_reverse(c) == [0]
    XD = all_rows(p, 2)
    assert not np.any(ints(reverse(c).evaluate(XD)))
    # the functional derivative (the Lagrange interpolant's, as laws.py computes it) is 1
    D = lagrange_derivative_matrix(p)
    values = np.arange(p)  # the function t -> t^p = t
    assert all(int(D[s] @ values % p) == 1 for s in range(p))
    # functional_reduce first: x^p -> x, whose reverse is dy
    red = functional_reduce(to_sympy(c), F)
    assert red == [x0] and symbolic_reverse(red, field=F) == [dy0]
    g = gate_from_sympy(f"reduced_pow{p}", red, ["x0"])
    np.testing.assert_array_equal(ints(reverse(Circuit.generator(F, g)).evaluate(XD)), XD[:, 1:])


def test_gf2_square_and_boolean_difference():
    F = GF(2)
    sq = trace(F, 1, lambda x: x * x)  # copy, then multiply: the function x
    XD = all_rows(2, 2)
    np.testing.assert_array_equal(ints(sq.evaluate(XD[:, :1])), XD[:, :1])
    assert not np.any(ints(reverse(sq).evaluate(XD)))  # 2 x dy = 0
    bdiff = [int(ints(sq.evaluate([[v]]))[0][0] ^ ints(sq.evaluate([[v ^ 1]]))[0][0]) for v in (0, 1)]
    assert bdiff == [1, 1]  # the Boolean difference of x is 1
    red = functional_reduce(to_sympy(sq), F)
    assert red == [x0]
    got = ints(evaluate_sympy(symbolic_reverse(red, field=F), F, XD, symbols=["x0", "dy0"]))
    np.testing.assert_array_equal(np.array(got)[:, 0], XD[:, 1] * np.array(bdiff)[XD[:, 0]])


def test_functional_reduce_gives_the_boolean_difference_of_any_gf2_polynomial():
    F = GF(2)
    c = trace(F, 3, lambda x, y, z: [x * x * y + y**3 * z + x * y * z * z, (x + y) ** 4 + z])
    red = functional_reduce(c, F)
    assert all(max(sympy.Poly(e, x0, x1, x2).degree(v) for v in (x0, x1, x2)) <= 1 for e in red)
    g = gate_from_sympy("reduced", red, ["x0", "x1", "x2"])
    cg = Circuit.generator(F, g, 1)
    X = all_rows(2, 3)
    np.testing.assert_array_equal(ints(cg.evaluate(X)), ints(c.evaluate(X)))  # the same function
    Y = np.array(ints(c.evaluate(X)))
    for dyv in itertools.product((0, 1), repeat=2):
        XD = np.hstack([X, np.tile(dyv, (len(X), 1))])
        got = np.array(ints(reverse(cg).evaluate(XD)))
        for i in range(3):
            Xi = X.copy()
            Xi[:, i] ^= 1
            bd = Y ^ np.array(ints(c.evaluate(Xi)))  # f(x) xor f(x xor e_i)
            np.testing.assert_array_equal(got[:, i], (bd @ np.array(dyv)) % 2)


def test_functional_reduce_exponents():
    F = GF(4)
    red = functional_reduce([x0**4, x0**5, x0**7 * x1**3], F)
    assert red == [x0, x0**2, x0 * x1**3]
    X = GF(4).random((10, 2), seed=0)
    np.testing.assert_array_equal(ints(evaluate_sympy(red, F, X)),
                                  ints(evaluate_sympy([x0**4, x0**5, x0**7 * x1**3], F, X)))


# -- gates from sympy ------------------------------------------------------------------------------------


def test_majority_gate_from_sympy():
    x, y, z = sympy.symbols("x y z")
    maj = gate_from_sympy("maj", x * y + y * z + x * z, [x, y, z])
    assert isinstance(maj, Gate) and maj.n_in == 3 and maj.n_out == 1
    assert maj.source == {"kind": "sympy", "exprs": ["x*y + x*z + y*z"], "symbols": ["x", "y", "z"]}
    X = all_rows(2, 3)
    truth = (X.sum(axis=1) >= 2).astype(int)
    np.testing.assert_array_equal(ints(Circuit.generator(GF(2), maj).evaluate(X))[:], truth[:, None])
    # Gate.from_sympy is the same, from strings too (a file can rebuild it from its source)
    again = Gate.from_sympy("maj", maj.source["exprs"], maj.source["symbols"])
    np.testing.assert_array_equal(ints(Circuit.generator(GF(2), again).evaluate(X)), truth[:, None])
    # used inside a traced circuit, and its reverse derivative is the formal one: (y + z, x + z, x + y)
    c = trace(GF(2), 3, lambda a, b, d: maj(a, b, d))
    XD = all_rows(2, 4)
    want = np.stack([(XD[:, 1] + XD[:, 2]) * XD[:, 3], (XD[:, 0] + XD[:, 2]) * XD[:, 3],
                     (XD[:, 0] + XD[:, 1]) * XD[:, 3]], axis=1) % 2
    np.testing.assert_array_equal(ints(reverse(c).evaluate(XD)), want)


def test_gate_from_sympy_over_extension_fields_and_primes():
    x, y = sympy.symbols("x y")
    a = sympy.Symbol("a")
    g = gate_from_sympy("g", [a * x**2 + sympy.Rational(1, 2) * y, "x*y - 1"], ["x", "y"], field=GF(9))
    assert g.n_out == 2 and g.source["field"]["order"] == 9
    F = GF(9)
    c = Circuit.generator(F, g)
    X = F.random((40, 2), seed=3)
    np.testing.assert_array_equal(ints(c.evaluate(X)),
                                  ints(evaluate_sympy([a * x**2 + sympy.Rational(1, 2) * y, x * y - 1], F, X,
                                                      symbols=[x, y])))
    XD = F.random((40, 4), seed=4)
    np.testing.assert_array_equal(ints(reverse(c).evaluate(XD)),
                                  ints(evaluate_sympy(symbolic_reverse(c), F, XD)))
    # integer coefficients are prime-subfield elements: 2 is 1 + 1, not the generator
    two = gate_from_sympy("two_x", 2 * x, [x])
    assert ints(Circuit.generator(GF(4), two).evaluate([[1], [3]])) == [[0], [0]]
    assert ints(Circuit.generator(GF(5), two).evaluate([[1], [3]])) == [[2], [1]]


def test_gate_from_sympy_errors():
    x, y = sympy.symbols("x y")
    with pytest.raises(ValueError, match="not a polynomial"):
        gate_from_sympy("bad", x / y, [x, y])
    with pytest.raises(ValueError, match="not among the inputs"):
        gate_from_sympy("bad", x * y, [x])
    with pytest.raises(ValueError, match="repeated"):
        gate_from_sympy("bad", x, [x, x])
    with pytest.raises(FieldError, match="generator"):
        Circuit.generator(GF(3), gate_from_sympy("bad", sympy.Symbol("a") * x, [x])).evaluate([[1]])
    with pytest.raises(FieldError, match="divides"):
        Circuit.generator(GF(3), gate_from_sympy("bad", x / 3, [x])).evaluate([[1]])
    with pytest.raises(FieldError, match="integers"):
        Circuit.generator(REALS, gate_from_sympy("bad", x / 2, [x])).evaluate([[1.0]])
    with pytest.raises(FieldError, match="generator"):
        gate_from_sympy("bad", sympy.Symbol("a") * x, [x], field=GF(5))
