"""Fields: GF(2), GF(p), GF(p^m) on galois, checked against galois and plain integer arithmetic."""

from __future__ import annotations

import pickle

import galois
import numpy as np
import pytest

from paralens.circuits import Circuit
from paralens.errors import CompositionError, ParalensError
from paralens.fields import GF, REALS, FieldError, as_field, field_from_description, pack_bits, unpack_bits

M31 = 2**31 - 1
M61 = 2**61 - 1


def _poly_rem(f, g, p):
    """Remainder of f by monic g over GF(p); coefficients highest degree first (plain Python)."""
    f = list(f)
    while len(f) >= len(g):
        c = f[0]
        for i in range(len(g)):
            f[i] = (f[i] - c * g[i]) % p
        f.pop(0)
    return f


def _irreducible(f, p):
    """No monic factor of degree 1 .. deg(f) // 2 over GF(p), by trial division."""
    from itertools import product

    m = len(f) - 1
    for d in range(1, m // 2 + 1):
        for tail in product(range(p), repeat=d):
            if not any(_poly_rem(f, (1,) + tail, p)):
                return False
    return True


def test_irreducible_helper():
    assert _irreducible([1, 1, 1], 2) and not _irreducible([1, 0, 1], 2)  # x^2 + 1 = (x + 1)^2 over GF(2)


@pytest.mark.parametrize(
    "order, p, m, bits",
    [(2, 2, 1, 1), (7, 7, 1, 3), (M31, M31, 1, 31), (M61, M61, 1, 61), (2**8, 2, 8, 8), (3**5, 3, 5, 8)],
)
def test_attributes(order, p, m, bits):
    F = GF(order)
    assert (F.order, F.characteristic, F.degree, F.bits) == (order, p, m, bits)
    assert F.is_finite and F.is_prime == (m == 1) and F.is_binary == (order == 2)
    assert F.galois is galois.GF(order)
    if m == 1:
        assert F.irreducible is None
        assert F.name == f"GF({order})"
        assert F.describe() == {"kind": "finite", "order": order}
    else:
        assert F.name == f"GF({p}^{m})"
        assert len(F.irreducible) == m + 1 and F.irreducible[0] == 1
        assert F.irreducible == tuple(int(c) for c in galois.GF(order).irreducible_poly.coeffs)
        assert _irreducible(list(F.irreducible), p)
        assert F.describe()["irreducible"] == list(F.irreducible)
    assert field_from_description(F.describe()) is F
    assert int(F.zero) == 0 and int(F.one) == 1


def test_known_irreducibles():
    # Conway polynomials, galois' defaults: x^8 + x^4 + x^3 + x^2 + 1 and x^5 + 2x + 1
    assert GF(2**8).irreducible == (1, 0, 0, 0, 1, 1, 1, 0, 1)
    assert GF(3**5).irreducible == (1, 0, 0, 0, 2, 1)


def test_cached_equal_hashable_picklable():
    assert GF(7) is GF(7)
    assert GF(7) == GF(7) and GF(7) != GF(5) and GF(7) != REALS
    assert len({GF(7), GF(7), GF(5)}) == 2
    assert pickle.loads(pickle.dumps(GF(3**5))) is GF(3**5)
    assert as_field(7) is GF(7) and as_field(GF(7)) is GF(7) and as_field("reals") is REALS
    assert as_field(galois.GF(2**8)) is GF(2**8)
    with pytest.raises(FieldError, match="cannot read"):
        as_field(3.5)


@pytest.mark.parametrize("order", [6, 1, 0, -3, 12, 100])
def test_not_a_prime_power(order):
    with pytest.raises(FieldError, match=rf"GF\({order}\).*prime power.*{order} is not"):
        GF(order)


def test_field_error_is_a_value_error():
    assert issubclass(FieldError, ValueError) and issubclass(FieldError, ParalensError)


def test_field_from_description_errors():
    with pytest.raises(FieldError, match="not a field description"):
        field_from_description({"kind": "complex"})
    with pytest.raises(FieldError, match="irreducible polynomial"):
        field_from_description({"kind": "finite", "order": 256, "irreducible": [1, 0, 0, 0, 1, 1, 0, 1, 1]})
    assert field_from_description({"kind": "reals"}) is REALS


# -- elements -------------------------------------------------------------------------------------


def test_arithmetic_is_galois():
    F = GF(2**8)
    a, b = F.array([3, 5, 200]), F.array([7, 7, 255])
    G = galois.GF(2**8)
    assert ((a * b) == G([3, 5, 200]) * G([7, 7, 255])).all()
    assert F.array([[1, 2]]).shape == (1, 2)
    # GF(2^8) multiplication by hand: 3 * 7 = (x + 1)(x^2 + x + 1) = x^3 + 1 = 9 (no reduction)
    assert int((F.array([3]) * F.array([7]))[0]) == 9


@pytest.mark.parametrize("order", [5, 2**8, 3**5, M61])
def test_element_range_errors(order):
    F = GF(order)
    with pytest.raises(FieldError, match=rf"must lie in 0 \.\. {order - 1}, got {order}"):
        F.array([0, order])
    with pytest.raises(FieldError, match="got -1"):
        F.array([-1])
    assert F.element(order - 1) == order - 1
    with pytest.raises(FieldError):
        F.element(order)


def test_floats_and_strings():
    F = GF(5)
    assert F.check_ints(np.array([1.0, 4.0])).tolist() == [1, 4]
    with pytest.raises(FieldError, match="non-integer floats"):
        F.check_ints(np.array([1.5]))
    with pytest.raises(FieldError, match="non-integer floats"):
        F.check_ints(np.array([np.nan]))
    with pytest.raises(FieldError, match="must be integers"):
        F.check_ints(np.array(["a"]))
    assert F.check_ints(np.array([True, False])).tolist() == [1, 0]


def test_big_field_python_ints():
    F = GF(2**127 - 1)
    x = F.array(np.array([2**126, 3], dtype=object))
    assert int((x * x)[1]) == 9
    assert int((x * x)[0]) == pow(2**126, 2, 2**127 - 1)
    with pytest.raises(FieldError, match="must lie in"):
        F.array(np.array([2**127 - 1], dtype=object))


def test_fieldarray_of_another_field_is_refused():
    c = Circuit.generator(GF(5), "mul")
    with pytest.raises(FieldError, match=r"GF\(5\).*elements of GF\(7\)"):
        c.evaluate(GF(7).array([[1, 2]]))
    # the same field's arrays (and galois' own class for it) are accepted
    assert c.evaluate(GF(5).array([[2, 3]])).tolist() == [[1]]
    assert c.evaluate(galois.GF(5)([[2, 3]])).tolist() == [[1]]
    # GF(2^8) with another irreducible polynomial is another field
    other = galois.GF(2**8, irreducible_poly="x^8 + x^4 + x^3 + x + 1")
    m = Circuit.generator(GF(2**8), "mul")
    with pytest.raises(FieldError, match="different field"):
        m.evaluate(other([[3, 7]]))


def test_evaluate_out_of_range_and_non_integers():
    c = Circuit.generator(GF(5), "add")
    with pytest.raises(FieldError, match=r"must lie in 0 \.\. 4, got 5"):
        c.evaluate([[5, 1]])
    with pytest.raises(FieldError, match="non-integer floats"):
        c.evaluate([[1.5, 1]])
    assert c.evaluate(np.array([[1.0, 4.0]])).tolist() == [[0]]


def test_mixing_fields_in_a_circuit():
    f = Circuit.generator(GF(5), "mul").named("f")
    g = Circuit.generator(GF(7), "neg").named("g")
    with pytest.raises(CompositionError, match=r"f over GF\(5\).*g over GF\(7\)"):
        f >> g
    with pytest.raises(CompositionError, match=r"f over GF\(5\).*g over GF\(7\)"):
        f @ g


def test_random_is_seeded():
    for order in (2, 5, 2**8, 3**5, M61, 2**127 - 1):
        F = GF(order)
        a, b = F.random((4, 3), seed=11), F.random((4, 3), seed=11)
        assert type(a) is F.galois and a.shape == (4, 3)
        assert (a == b).all()
        if order > 2:
            assert not (a == F.random((4, 3), seed=12)).all()
    r1 = GF(7).random_ints((50,), np.random.default_rng(3))
    r2 = GF(7).random_ints((50,), np.random.default_rng(3))
    assert (r1 == r2).all() and r1.min() >= 0 and r1.max() < 7
    # roughly uniform over GF(7)
    counts = np.bincount(GF(7).random((7000,), seed=0).view(np.ndarray).astype(np.int64), minlength=7)
    assert counts.min() > 800


def test_sympy_round_trip_gf3_5():
    import sympy

    F = GF(3**5)
    a = F.sympy_generator()
    assert F.to_sympy(0) == 0 and F.to_sympy(1) == 1 and F.to_sympy(3) == a
    assert sympy.expand(F.to_sympy(3**4 + 2 * 3 + 2) - (a**4 + 2 * a + 2)) == 0
    for v in range(F.order):
        assert F.from_sympy(F.to_sympy(v)) == v
    # products reduce by the irreducible polynomial, as galois does
    G = galois.GF(3**5)
    for u, v in [(3, 3**4), (242, 17), (100, 200)]:
        prod = F.from_sympy(F.to_sympy(u) * F.to_sympy(v))
        assert prod == int(G(u) * G(v))
    assert F.from_sympy(a**5) == int(G(3) ** 5)


def test_sympy_prime_field():
    F = GF(7)
    assert F.to_sympy(5) == 5 and F.from_sympy(12) == 5 and F.from_sympy(-1) == 6
    assert F.sympy_generator() is None and F.sympy_modulus() is None


def test_reals():
    assert REALS.describe() == {"kind": "reals"}
    assert REALS.array([1, 2]).dtype == np.float64
    with pytest.raises(FieldError, match="NaN or infinity"):
        REALS.array([np.inf])
    with pytest.raises(FieldError, match="only for GF"):
        REALS.kernel(packed=True)


def test_kernels():
    assert GF(2).kernel().name == "gf2"
    assert GF(2).kernel(packed=True).name == "gf2-packed"
    assert GF(65521).kernel().name == "prime" and GF(M31).kernel().name == "prime"
    assert GF(M61).kernel().name == "galois" and GF(2**8).kernel().name == "galois"
    with pytest.raises(FieldError, match="only for GF"):
        GF(5).kernel(packed=True)


@pytest.mark.parametrize("batch", [0, 1, 63, 64, 65, 200])
def test_pack_unpack(batch):
    bits = np.random.default_rng(batch).integers(0, 2, size=(batch, 5)).astype(np.uint8)
    words = pack_bits(bits)
    assert words.shape == (5, -(-batch // 64)) and words.dtype == np.uint64
    assert (unpack_bits(words, batch) == bits).all()
    if batch >= 2:
        # sample s is bit s % 64 of word s // 64
        assert int(words[0, 0]) & 1 == bits[0, 0] and (int(words[0, 0]) >> 1) & 1 == bits[1, 0]


@pytest.mark.parametrize("order", [2.5, 2.0, "5", True, None])
def test_an_order_that_is_not_an_integer_is_refused_not_rounded(order):
    from paralens.fields.field import FieldError, field_from_description

    with pytest.raises(FieldError, match="integer"):
        GF(order)
    with pytest.raises(FieldError):
        field_from_description({"kind": "finite", "order": order})
