"""Fields of order near and above 2^63: constants and inputs stay exact end to end.

Every array of field elements keeps an exact dtype (``int64`` up to 2^62 elements, Python ints
in object arrays above; never float64, never uint64 mixed with int64), through tracing,
bundling, pruning, evaluation, the reverse derivative, sympy, files and hardware.  Results are
checked against an independent reference: Python integers mod p for prime fields, schoolbook
polynomial arithmetic over GF(p) modulo the field's irreducible polynomial for GF(p^m).
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from paralens.circuits import (
    Builder,
    Circuit,
    Op,
    bundle,
    evaluate_sympy,
    load_circuit,
    prune,
    reverse,
    save_circuit,
    symbolic_reverse,
    to_sympy,
    trace,
)
from paralens.circuits import generators as G
from paralens.fields import GF, REALS, FieldError

# a prime just below 2^64, GF(2^64), GF(3^41) (about 2^65), the Mersenne prime 2^127 - 1,
# a prime between 2^62 and 2^63, and GF(2^63) (which galois keeps in int64)
ORDERS = [2**64 - 59, 2**64, 3**41, 2**127 - 1, 2**63 - 25, 2**63]
IDS = ["p=2^64-59", "2^64", "3^41", "p=2^127-1", "p=2^63-25", "2^63"]
B1 = 2**63 + 12345  # the constant of the review: float64 makes it 2^63 + 12288


class Ref:
    """Independent field arithmetic on Python ints (galois' integer representation)."""

    def __init__(self, F):
        self.p, self.m, self.q = F.characteristic, F.degree, F.order
        self.f = [int(c) for c in reversed(F.irreducible)] if self.m > 1 else None  # lowest degree first

    def digits(self, a):
        d = []
        for _ in range(self.m):
            a, r = divmod(a, self.p)
            d.append(r)
        return d

    def undigits(self, d):
        v = 0
        for c in reversed(d):
            v = v * self.p + c % self.p
        return v

    def add(self, a, b):
        if self.m == 1:
            return (a + b) % self.p
        return self.undigits([x + y for x, y in zip(self.digits(a), self.digits(b))])

    def neg(self, a):
        return (-a) % self.p if self.m == 1 else self.undigits([-x for x in self.digits(a)])

    def mul(self, a, b):
        if self.m == 1:
            return a * b % self.p
        x, y, m, p = self.digits(a), self.digits(b), self.m, self.p
        r = [0] * (2 * m - 1)
        for i, xi in enumerate(x):
            if xi:
                for j, yj in enumerate(y):
                    r[i + j] += xi * yj
        r = [c % p for c in r]
        for k in range(2 * m - 2, m - 1, -1):  # reduce by the monic irreducible polynomial
            c = r[k]
            if c:
                for j, fj in enumerate(self.f):
                    r[k - m + j] = (r[k - m + j] - c * fj) % p
        return self.undigits(r[:m])


def constants(F):
    """Five constants: big ones near and above 2^63 and a small one (so bundling mixes them)."""
    q = F.order
    big = []
    for v in (B1, 2**63 - 1, q - 1, 2**62 + 3, 2**63 - 12345, 2**64 - 1, 2**63 - 99):
        if v < q and v not in big:
            big.append(v)
    c1, c2, c4, c5 = big[:4]
    return c1, c2, 3, c4, c5


def make(F):
    c1, c2, c3, c4, c5 = constants(F)
    return trace(F, 2, lambda x, y: [c1 * x + c2 * y + c3, c4 * (x * y) + c5, x**3])


def reference(F, rows):
    R, (c1, c2, c3, c4, c5) = Ref(F), constants(F)
    out = []
    for x, y in rows:
        xy = R.mul(x, y)
        out.append([R.add(R.add(R.mul(c1, x), R.mul(c2, y)), c3), R.add(R.mul(c4, xy), c5),
                    R.mul(R.mul(x, x), x)])
    return out


def reference_reverse(F, rows):
    """R[f](x, y; d0, d1, d2) = (c1 d0 + c4 y d1 + 3 x^2 d2, c2 d0 + c4 x d1)."""
    R, (c1, c2, _, c4, _) = Ref(F), constants(F)
    out = []
    for x, y, d0, d1, d2 in rows:
        xx = R.mul(x, x)
        three_xx = R.add(R.add(xx, xx), xx)
        dx = R.add(R.add(R.mul(c1, d0), R.mul(R.mul(c4, y), d1)), R.mul(three_xx, d2))
        dy = R.add(R.mul(c2, d0), R.mul(R.mul(c4, x), d1))
        out.append([dx, dy])
    return out


def inputs(F, n_cols, n_random=3, seed=0):
    q = F.order
    special = [0, 1, 2, 2**63 - 1, 2**63, 2**63 + 5, B1, 2**64 - 1, q - 1, q - 2, 2**62 + 7]
    special = [v % q for v in special]
    rng = random.Random(seed)
    rows = []
    for i in range(len(special) + n_random):
        rows.append([special[(i + 3 * j) % len(special)] if i < len(special) else rng.randrange(q)
                     for j in range(n_cols)])
    return rows


def obj(rows):
    a = np.empty((len(rows), len(rows[0])), dtype=object)
    a[:] = rows
    return a


def ints(a):
    """A result as nested Python ints, checking that no float crept in."""
    a = np.asarray(a.view(np.ndarray) if hasattr(a, "view") else a)
    assert a.dtype.kind in "iuO", a.dtype
    return [[int(v) for v in row] for row in a]


@pytest.fixture(scope="module", params=ORDERS, ids=IDS)
def field(request):
    return GF(request.param)


def test_bundled_constants_keep_an_exact_dtype(field):
    F = field
    c = make(F)
    consts = [op for op in c.ops if op.gen is G.CONST]
    assert len(consts) == 1  # big and small constants bundled into one op
    data = consts[0].data
    assert data.dtype == F.element_dtype == np.dtype(object)
    assert all(type(v) is int for v in data)
    assert sorted(data.tolist()) == sorted(set(constants(F)))
    assert B1 not in constants(F) or B1 in data.tolist()


def test_evaluate_is_exact(field):
    F = field
    rows = inputs(F, 2)
    out = make(F).evaluate(obj(rows))
    assert ints(out) == reference(F, rows)
    assert ints(F.to_ints(out)) == reference(F, rows)
    assert F.to_ints(out).dtype == object


def test_reverse_is_exact(field):
    F = field
    rows = inputs(F, 5, n_random=2)
    assert ints(reverse(make(F)).evaluate(obj(rows))) == reference_reverse(F, rows)


def test_sympy_is_exact(field):
    F = field
    c = make(F)
    exprs = to_sympy(c)
    c1, c2, c3, c4, c5 = constants(F)
    import sympy

    x0, x1 = sympy.symbols("x0 x1")
    p0 = sympy.Poly(exprs[0], x0, x1, *([F.sympy_generator()] if F.degree > 1 else []))
    if F.degree == 1:
        assert p0.coeff_monomial(x0) == c1 and p0.coeff_monomial(x1) == c2  # not 2^63 + 12288
    else:
        assert F.from_sympy(sympy.expand(exprs[0]).coeff(x0)) == c1
        assert F.from_sympy(sympy.expand(exprs[0]).coeff(x1)) == c2
    rows = inputs(F, 2, n_random=1)
    assert ints(evaluate_sympy(exprs, F, obj(rows))) == reference(F, rows)
    rrows = inputs(F, 5, n_random=1)
    syms = ["x0", "x1", "dy0", "dy1", "dy2"]  # dy2 drops out over GF(3^41) (3 x^2 = 0): name the columns
    assert ints(evaluate_sympy(symbolic_reverse(c), F, obj(rrows), symbols=syms)) == reference_reverse(F, rrows)


def test_save_and_load_are_exact(field, tmp_path):
    F = field
    c = make(F)
    path = tmp_path / "c.json"
    save_circuit(c, path)
    text = path.read_text()
    for v in set(constants(F)):
        assert f'"{v}"' in text  # decimal strings, not floats
    d = load_circuit(path)
    (a,), (b,) = ([op.data for op in x.ops if op.data is not None] for x in (c, d))
    assert b.dtype == F.element_dtype and a.tolist() == b.tolist()
    rows = inputs(F, 2, n_random=1)
    assert ints(d.evaluate(obj(rows))) == reference(F, rows)
    assert json.loads(text)["ops"][0]["data"] == [str(v) for v in a.tolist()]


@pytest.mark.parametrize("order", [2**64 - 59, 2**64, 2**127 - 1], ids=["p=2^64-59", "2^64", "p=2^127-1"])
def test_input_forms_agree(order):
    """Python lists, object arrays, uint64 arrays and FieldArrays of the same inputs."""
    F = GF(order)
    rows = [r for r in inputs(F, 2) if max(r) < 2**64]
    c = make(F)
    want = reference(F, rows)
    assert ints(c.evaluate(rows)) == want
    assert ints(c.evaluate(obj(rows))) == want
    assert ints(c.evaluate(np.array(rows, dtype=np.uint64))) == want
    assert ints(c.evaluate(F.array(obj(rows)))) == want
    # a list mixing a big int and an integral float is read element by element, exactly
    assert ints(c.evaluate([[B1, 1.0]])) == reference(F, [[B1, 1]])


@pytest.mark.parametrize("order", [2**64 - 59, 2**64], ids=["p=2^64-59", "2^64"])
def test_bundle_and_prune_join_uint64_and_int64_exactly(order):
    """The review's case: a uint64 constant array and an int64 one, joined by bundling."""
    F = GF(order)
    b = Builder(F, 1)
    big = b.const(np.array([B1], dtype=np.uint64))
    small = b.const(np.array([3], dtype=np.int64))
    y = b.add(b.mul(b.inputs(), big), small)
    b.const(np.array([order - 1], dtype=np.uint64))  # dead: pruned away
    c = Circuit(F, 1, tuple(b.ops), np.concatenate([y, y]))
    for t, want in ((bundle(c), [3, B1, order - 1]), (prune(c), [3, B1]), (bundle(prune(c)), [3, B1]),
                    (prune(bundle(c)), [3, B1])):
        datas = [op.data for op in t.ops if op.data is not None]
        assert all(d.dtype == object for d in datas)
        assert sorted(v for d in datas for v in d.tolist()) == want
        R = Ref(F)
        assert ints(t.evaluate([[1], [2]])) == [[R.add(B1, 3)] * 2, [R.add(R.mul(B1, 2), 3)] * 2]
    # ops made by hand with raw NumPy constants (not through Builder) are joined exactly too
    raw = Circuit(F, 0, (Op(G.CONST, (), 0, 1, np.array([B1], dtype=np.uint64)),
                         Op(G.CONST, (), 1, 1, np.array([3], dtype=np.int64))), [0, 1])
    (data,) = [op.data for op in bundle(raw).ops]
    assert data.dtype == object and data.tolist() == [B1, 3]


def test_floats_are_refused_not_rounded():
    F = GF(2**64)
    with pytest.raises(FieldError, match=r"float 9\.2233720368\d+e\+18 cannot stand for an element exactly"):
        F.check_ints(np.array([float(B1)]))
    with pytest.raises(FieldError, match="cannot stand for an element exactly"):
        Builder(F, 0).const([float(B1)])
    with pytest.raises(FieldError, match="cannot stand for an element exactly"):
        make(F).evaluate(np.array([[2.0**63, 1.0]]))
    with pytest.raises(FieldError, match="cannot stand for an element exactly"):
        F.element(9.3e18)
    with pytest.raises(FieldError, match="non-integer floats"):
        F.check_ints([B1, 1.5])
    with pytest.raises(TypeError, match="not float"):
        trace(F, 1, lambda x: x * float(B1))
    # a small field keeps int64, and still refuses floats that may be rounded
    M61 = GF(2**61 - 1)
    assert M61.element_dtype == np.int64 and M61.as_elements(np.array([5], dtype=np.uint64)).dtype == np.int64
    with pytest.raises(FieldError, match="cannot stand for an element exactly"):
        M61.check_ints(np.array([2.0**60]))
    assert M61.check_ints(np.array([4.0])).tolist() == [4]
    # raw float constants in an op are refused when it is bundled or saved, not rounded
    raw = Circuit(F, 0, (Op(G.CONST, (), 0, 1, np.array([float(B1)])),
                         Op(G.CONST, (), 1, 1, np.array([3]))), [0, 1])
    with pytest.raises(FieldError, match="cannot stand for an element exactly"):
        bundle(raw)


def test_reading_over_another_field_keeps_or_refuses():
    c = make(GF(2**64 - 59))
    d = c.over(GF(2**127 - 1))
    (data,) = [op.data for op in d.ops if op.data is not None]
    assert data.dtype == object and B1 in data.tolist()
    with pytest.raises(FieldError, match="must lie in"):
        c.over(GF(2**61 - 1))
    with pytest.raises(FieldError, match=f"the integer {B1} has no exact float64"):
        c.over(REALS)
    small = trace(GF(2**61 - 1), 1, lambda x: 5 * x + 2**60)
    (data,) = [op.data for op in small.over(GF(2**64)).ops if op.data is not None]
    assert data.dtype == object and sorted(data.tolist()) == [5, 2**60]


@pytest.mark.parametrize("order", [2**64 - 59, 2**127 - 1, 2**64], ids=["p=2^64-59", "p=2^127-1", "2^64"])
def test_hardware_is_exact(order):
    from paralens.synth import simulate, to_pyrtl

    F = GF(order)
    c = make(F)
    rows = inputs(F, 2, n_random=1)
    design = to_pyrtl(c)
    out = simulate(design, obj(rows), simulator="fast")
    assert ints(out) == reference(F, rows)


def test_hardware_over_a_big_odd_extension_field_is_refused():
    from paralens.synth import to_pyrtl

    with pytest.raises(NotImplementedError, match=r"GF\(3\^41\).*lookup tables"):
        to_pyrtl(make(GF(3**41)))


@pytest.mark.parametrize("order", [2**62, 3**39, 2**61 - 1], ids=["2^62", "3^39", "p=2^61-1"])
def test_fields_at_the_int64_threshold_keep_int64(order):
    """Up to 2^62 elements constants stay int64 (galois may still compute on Python ints), exactly."""
    F = GF(order)
    C = order - 5
    c = trace(F, 2, lambda x, y: [C * x + 3 * y, x * y])
    (data,) = [op.data for op in c.ops if op.data is not None]
    assert F.element_dtype == np.int64 and data.dtype == np.int64 and sorted(data.tolist()) == [3, C]
    rows = [[order - 1, order - 2], [2**40 + 3, 5], [order - 3, 2**61 - 7]]
    R = Ref(F)
    assert ints(c.evaluate(np.array(rows, dtype=np.uint64))) == \
        [[R.add(R.mul(C, x), R.mul(3, y)), R.mul(x, y)] for x, y in rows]
    assert F.to_ints(c.evaluate(rows)).dtype == np.int64
