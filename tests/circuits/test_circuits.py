"""Circuits: evaluation, reverse derivative, wiring and transformations, against independent references.

References are computed without paralens' interpreter: galois ``FieldArray`` arithmetic on
columns (the same Python function run on arrays instead of traced wires), dual numbers over
galois for formal derivatives, and plain Python / NumPy truth tables.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace

import galois
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paralens.circuits import (
    ADD,
    BOOLEAN_GATES,
    MUL,
    NEG,
    Builder,
    Circuit,
    bundle,
    prune,
    resolve,
    reverse,
    trace,
)
from paralens.errors import CompositionError, ShapeError
from paralens.fields import GF, REALS
from support import random_circuit, random_program

M61 = 2**61 - 1
FIELDS = [2, 5, 2**8, 3**5, M61]


def ints(a) -> list:
    """A FieldArray or array as nested Python ints (works for object arrays of big ints too)."""
    return np.asarray(a.view(np.ndarray) if isinstance(a, galois.FieldArray) else a).tolist()


# -- random polynomial programs, run on traced wires and on galois columns alike --------------------

PROGRAM_KINDS = ["add", "sub", "mul", "mul", "neg", "affine", "pow"]  # mul twice: twice as likely


class Dual:
    """a + b eps with eps^2 = 0 over a galois field: forward-mode formal derivatives."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __add__(self, o):
        return Dual(self.a + o.a, self.b + o.b)

    def __sub__(self, o):
        return Dual(self.a - o.a, self.b - o.b)

    def __mul__(self, o):
        return Dual(self.a * o.a, self.a * o.b + self.b * o.a)

    def __neg__(self):
        return Dual(-self.a, -self.b)

    def __pow__(self, e):
        r = self
        for _ in range(e - 1):
            r = r * self
        return r


def reference_reverse(F, fn, n_inputs, X, DY):
    """``dx_i = sum_j (d f_j / d x_i) dy_j`` from dual numbers, one tangent direction per input."""
    G = F.galois
    zero = G.Zeros(X.shape[0])
    cols = [X[:, i] for i in range(n_inputs)]
    dx = []
    for i in range(n_inputs):
        ds = [Dual(cols[k], G.Ones(X.shape[0]) if k == i else zero) for k in range(n_inputs)]
        outs = fn(ds, lambda c: Dual(G(c), G(0)))
        acc = zero.copy()
        for j, o in enumerate(outs):
            acc = acc + o.b * DY[:, j]
        dx.append(acc)
    return np.stack([np.asarray(d.view(np.ndarray)) for d in dx], axis=1)


@pytest.mark.parametrize("order", FIELDS)
@pytest.mark.parametrize("seed", range(4))
def test_traced_polynomials_evaluate_and_reverse_like_galois(order, seed):
    F = GF(order)
    G = F.galois
    n = 3
    prog = random_program(seed, F, n, 25, kinds=PROGRAM_KINDS, n_outputs=1 + seed % 3)
    outs = prog.outputs
    c = prog.trace()
    X = F.random((40, n), seed=seed)
    got = c.evaluate(X)
    assert type(got) is G and got.shape == (40, len(outs))
    cols = [X[:, i] for i in range(n)]
    ref = prog.run(cols, G)
    ref = np.stack([np.broadcast_to(np.asarray(r.view(np.ndarray)), (40,)) for r in ref], axis=1)
    assert ints(got) == ref.tolist()

    # reverse(c) is the transposed formal Jacobian, as dual numbers compute it
    DY = F.random((40, len(outs)), seed=100 + seed)
    R = reverse(c)
    assert (R.n_inputs, R.n_outputs) == (n + len(outs), n)
    got_r = R.evaluate(np.concatenate([np.asarray(X.view(np.ndarray)), np.asarray(DY.view(np.ndarray))],
                                      axis=1))
    ref_r = reference_reverse(F, prog.run, n, X, DY)
    assert ints(got_r) == ref_r.tolist()


def test_formal_not_functional_derivative_over_gf2():
    # x * x is the function x over GF(2), but its formal derivative 2 x = 0
    c = trace(GF(2), 1, lambda x: x * x)
    assert c.evaluate([[0], [1]]).tolist() == [[0], [1]]
    assert reverse(c).evaluate([[0, 1], [1, 1]]).tolist() == [[0], [0]]


# -- Boolean gates ---------------------------------------------------------------------------------

TRUTH = {
    "xor": lambda a, b: a ^ b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "not": lambda a: 1 - a,
    "nand": lambda a, b: 1 - (a & b),
    "nor": lambda a, b: 1 - (a | b),
    "xnor": lambda a, b: 1 - (a ^ b),
    "mux": lambda s, a, b: b if s else a,
}

# the multilinear extensions, as integer polynomials (reduced mod p by the caller)
MULTILINEAR = {
    "xor": lambda x, y: x + y - 2 * x * y,
    "and": lambda x, y: x * y,
    "or": lambda x, y: x + y - x * y,
    "not": lambda x: 1 - x,
    "nand": lambda x, y: 1 - x * y,
    "nor": lambda x, y: 1 - x - y + x * y,
    "xnor": lambda x, y: 1 - x - y + 2 * x * y,
    "mux": lambda s, x, y: x + s * (y - x),
}


def all_inputs(q, n):
    return np.array(np.meshgrid(*[np.arange(q)] * n, indexing="ij")).reshape(n, -1).T


def test_gate_table_is_complete():
    assert set(BOOLEAN_GATES) == set(TRUTH) == set(MULTILINEAR)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_boolean_truth_tables(name):
    g = BOOLEAN_GATES[name]
    c = Circuit.generator(GF(2), name)
    X = all_inputs(2, g.n_in)
    want = [[TRUTH[name](*map(int, row))] for row in X]
    assert c.evaluate(X).tolist() == want
    assert c.evaluate(X, packed=True).tolist() == want
    # the definition (a composite of add / mul / neg / const) agrees with the fast rule
    assert g.definition(GF(2)).evaluate(X).tolist() == want
    # bundled: 3 gates side by side
    c3 = Circuit.generator(GF(2), name, n=3)
    Y = np.random.default_rng(0).integers(0, 2, (50, 3 * g.n_in))
    ref = [[TRUTH[name](*[int(r[p * 3 + i]) for p in range(g.n_in)]) for i in range(3)] for r in Y]
    assert c3.evaluate(Y).tolist() == ref == c3.evaluate(Y, packed=True).tolist()


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_multilinear_extension_over_gf5(name):
    g = BOOLEAN_GATES[name]
    F = GF(5)
    c = Circuit.generator(F, name)
    X = all_inputs(5, g.n_in)
    want = [[MULTILINEAR[name](*map(int, row)) % 5] for row in X]
    assert c.evaluate(X).tolist() == want
    # and its reverse derivative is the gradient of that polynomial, applied to d
    R = reverse(c)
    D = np.random.default_rng(1).integers(0, 5, (len(X), 1))
    XF, DF = F.array(X), F.array(D)
    ref = reference_reverse(F, lambda xs, const: [MULTILINEAR_DUAL[name](const, *xs)], g.n_in, XF, DF)
    assert R.evaluate(np.concatenate([X, D], axis=1)).tolist() == ref.tolist()


MULTILINEAR_DUAL = {
    "xor": lambda k, x, y: x + y - (x * y + x * y),  # 2xy as xy + xy: "2" is the element a in GF(2^m)
    "and": lambda k, x, y: x * y,
    "or": lambda k, x, y: x + y - x * y,
    "not": lambda k, x: k(1) - x,
    "nand": lambda k, x, y: k(1) - x * y,
    "nor": lambda k, x, y: k(1) - x - y + x * y,
    "xnor": lambda k, x, y: k(1) - x - y + (x * y + x * y),
    "mux": lambda k, s, x, y: x + s * (y - x),
}


# -- packed and unpacked GF(2) ---------------------------------------------------------------------


# random networks: bundles of 1-width gates of the primitives, every Boolean gate and constants, 7 outputs
random_network = functools.partial(random_circuit, kinds=["add", "mul", "neg", *sorted(BOOLEAN_GATES), "const"],
                                   n_outputs=7)


@pytest.mark.parametrize("batch", [1, 63, 64, 65, 1000])
@pytest.mark.parametrize("seed", range(3))
def test_packed_equals_unpacked(batch, seed):
    F = GF(2)
    c = random_network(seed, F, 10, 18, bundle=12)
    X = np.random.default_rng(seed + batch).integers(0, 2, (batch, 10))
    a = c.evaluate(X)
    p = c.evaluate(X, packed=True)
    assert type(p) is F.galois and p.shape == (batch, c.n_outputs)
    assert a.tolist() == p.tolist()
    # and equal to the same network read over GF(2) by galois, op by op (reference interpreter)
    assert a.tolist() == reference_eval(c, X).tolist()


@pytest.mark.parametrize("derivative", ["formal", "functional"])
@pytest.mark.parametrize("batch", [1, 63, 64, 70, 200])
def test_packed_training_passes_equal_unpacked(batch, derivative):
    """A GF(2) parametric circuit runs bit-packed by default; its forward pass, data change and
    parameter change (counts over the batch: popcounts with the last word's padding masked) equal
    the byte-per-example run, also where the batch does not fill the last word."""
    from paralens.circuits import parametric

    c = random_network(batch, GF(2), 12, 15, bundle=10)  # NOT/NAND... turn padding zeros into ones
    rng = np.random.default_rng(batch)
    slow = parametric(c, {"w": 5}, derivative=derivative, packed=False)
    assert not slow._run.packs(batch)
    p = {"w": rng.integers(0, 2, 5)}
    x = rng.integers(0, 2, (batch, 7))
    dy = rng.integers(0, 2, (batch, c.n_outputs))
    ys, rs = slow.forward(p, x)
    dps, dxs = slow.backward(rs, dy)
    assert dps["w"].max() <= batch
    for packed in (None, True):  # the default packs batches of 8 or more; True always packs
        fast = parametric(c, {"w": 5}, derivative=derivative, packed=packed)
        assert fast._run.packs(batch) == (batch >= 8 or packed is True)
        yf, rf = fast.forward(p, x)
        np.testing.assert_array_equal(yf, ys)
        dpf, dxf = fast.backward(rf, dy)
        np.testing.assert_array_equal(dxf, dxs)
        np.testing.assert_array_equal(dpf["w"], dps["w"])
        np.testing.assert_array_equal(fast.backward_params(rf, dy)["w"], dps["w"])
    with pytest.raises(ShapeError, match="forward pass had a batch of"):
        fast.backward(rf, dy[:-1] if batch > 1 else np.zeros((2, c.n_outputs), dtype=np.int64))
    with pytest.raises(ValueError, match="only for GF.2."):
        parametric(random_network(0, GF(3), 4, 6, bundle=3), {"w": 1}, packed=True)


def reference_eval(c, X):
    """A plain interpreter on galois columns, one gate function per generator name."""
    G = c.field.galois
    v = [None] * c.n_wires
    for i in range(c.n_inputs):
        v[i] = G(np.asarray(X)[:, i])
    fns = {
        "add": lambda x, y: x + y,
        "mul": lambda x, y: x * y,
        "neg": lambda x: -x,
        **{k: functools.partial(f, G) for k, f in MULTILINEAR_DUAL.items()},
    }
    for op in c.ops:
        if op.gen.name == "const":
            for i in range(op.k):
                v[op.out + i] = G(np.full(len(X), int(op.data[i])))
            continue
        for i in range(op.k):
            ys = fns[op.gen.name](*[v[int(a[i])] for a in op.args])
            v[op.out + i] = ys
    return G(np.stack([np.asarray(v[o].view(np.ndarray)) for o in c.outputs], axis=1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), batch=st.integers(0, 200), layers=st.integers(1, 5))
def test_packed_equals_unpacked_hypothesis(seed, batch, layers):
    c = random_network(seed, GF(2), 6, 3 * layers, bundle=9)
    X = np.random.default_rng(seed).integers(0, 2, (batch, 6))
    assert c.evaluate(X).tolist() == c.evaluate(X, packed=True).tolist()


@pytest.mark.parametrize("order", [5, 2**8])
def test_random_networks_other_fields(order):
    F = GF(order)
    c = random_network(order, F, 5, 12, bundle=6)
    X = np.random.default_rng(0).integers(0, order, (30, 5))
    assert c.evaluate(X).tolist() == reference_eval(c, X).tolist()


# -- wiring and composition -----------------------------------------------------------------------


def test_composition_and_tensor_semantics():
    F = GF(5)
    f = trace(F, 2, lambda x, y: [x * y, x + 3], name="f")
    g = trace(F, 2, lambda u, v: [u - v, u * u * v], name="g")
    h = trace(F, 1, lambda z: 2 * z + 1, name="h")
    X = F.random((30, 2), seed=0)
    assert (f >> g).evaluate(X).tolist() == g.evaluate(f.evaluate(X)).tolist()
    Y = F.random((30, 3), seed=1)
    fh = (f @ h).evaluate(Y)
    assert fh.tolist() == np.concatenate([f.evaluate(Y[:, :2]), h.evaluate(Y[:, 2:])], axis=1).tolist()
    # associativity and units
    I2 = Circuit.identity(F, 2)
    assert (I2 >> f).evaluate(X).tolist() == f.evaluate(X).tolist() == (f >> I2).evaluate(X).tolist()
    assert (((f >> g) >> g).evaluate(X).tolist() == (f >> (g >> g)).evaluate(X).tolist())
    # interchange: (f @ h) >> (g @ h) = (f >> g) @ (h >> h)
    assert ((f @ h) >> (g @ h)).evaluate(Y).tolist() == ((f >> g) @ (h >> h)).evaluate(Y).tolist()
    assert (f >> g).n_gates == f.n_gates + g.n_gates


def test_wiring_constructors():
    F = GF(5)
    X = np.array([[1, 2, 3], [4, 0, 2]])
    assert Circuit.identity(F, 3).evaluate(X).tolist() == X.tolist()
    assert Circuit.swap(F, 1, 2).evaluate(X).tolist() == [[2, 3, 1], [0, 2, 4]]
    assert Circuit.swap(F, 2, 1).evaluate(X).tolist() == [[3, 1, 2], [2, 4, 0]]
    assert Circuit.permutation(F, [2, 0, 1]).evaluate(X).tolist() == [[3, 1, 2], [2, 4, 0]]
    with pytest.raises(CompositionError, match="not a permutation"):
        Circuit.permutation(F, [0, 0, 1])
    assert Circuit.copy(F, 3, 2).evaluate(X).tolist() == np.tile(X, 2).tolist()
    assert Circuit.copy(F).evaluate([[4]]).tolist() == [[4, 4]]
    d = Circuit.discard(F, 3)
    assert d.n_outputs == 0 and d.evaluate(X).shape == (2, 0)
    w = Circuit.wiring(F, 3, [2, 2, 0])
    assert w.evaluate(X).tolist() == [[3, 3, 1], [2, 2, 4]]
    with pytest.raises(CompositionError, match="input 3 of 3"):
        Circuit.wiring(F, 3, [3])
    k = Circuit.constant(F, [1, 4])
    assert (k.n_inputs, k.n_outputs, k.n_gates) == (0, 2, 0)
    assert k.evaluate(np.zeros((3, 0), dtype=np.int64)).tolist() == [[1, 4]] * 3
    assert Circuit.constant(GF(2), [1, 0]).evaluate(np.zeros((70, 0), np.int64), packed=True).shape == (70, 2)
    # swap >> swap = identity; copy then add = 2x
    s = Circuit.swap(F, 1, 1)
    assert (s >> s).evaluate(X[:, :2]).tolist() == X[:, :2].tolist()
    assert (Circuit.copy(F) >> Circuit.generator(F, "add")).evaluate([[3]]).tolist() == [[1]]
    # these are wiring: no gates at all
    for c in (Circuit.identity(F, 3), s, Circuit.copy(F, 2), d, w):
        assert c.n_gates == 0 and c.ops == ()


def test_reverse_of_wiring():
    F = GF(5)
    # R[copy](x, (d1, d2)) = d1 + d2; R[discard] = 0; R[swap] swaps the changes back
    assert reverse(Circuit.copy(F)).evaluate([[3, 1, 2]]).tolist() == [[3]]
    assert reverse(Circuit.discard(F)).evaluate([[3]]).tolist() == [[0]]
    assert reverse(Circuit.swap(F)).evaluate([[1, 2, 3, 4]]).tolist() == [[4, 3]]


def test_composition_errors_name_both_sides():
    F = GF(5)
    f = Circuit.generator(F, "mul").named("times")
    g = Circuit.generator(F, "mul").named("again")
    with pytest.raises(CompositionError) as e:
        f >> g
    msg = str(e.value)
    assert "times" in msg and "again" in msg and "1 output wires are not 2 input wires" in msg
    assert "2 -> 1 over GF(5)" in msg
    with pytest.raises(CompositionError, match="not a Circuit"):
        f >> 3
    b = Builder(F, 2)
    with pytest.raises(CompositionError, match="mul takes 2 inputs, got 1"):
        b.op(MUL, [0])
    with pytest.raises(CompositionError, match="wire 5 does not exist yet"):
        b.op(MUL, [0], [5])
    with pytest.raises(CompositionError, match="differ in length"):
        b.op(ADD, [0, 1], [1])
    with pytest.raises(KeyError, match="unknown generator"):
        Circuit.generator(F, "frobnicate")
    with pytest.raises(CompositionError, match="Circuit.constant"):
        Circuit.generator(F, "const")


def test_evaluate_shape_errors():
    c = Circuit.generator(GF(5), "mul")
    with pytest.raises(ShapeError, match=r"takes 2 input wires.*got shape \(1, 3\)"):
        c.evaluate([[1, 2, 3]])
    assert c.evaluate([2, 3]).tolist() == [1]  # one sample, no batch axis
    assert c.evaluate(np.zeros((0, 2), np.int64)).shape == (0, 1)


def test_layer():
    F = GF(2)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 16, 40), rng.integers(0, 16, 40)
    c = Circuit.layer(F, "nand", 16, a, b)
    assert len(c.ops) == 1 and c.ops[0].k == 40 and c.n_outputs == 40
    X = rng.integers(0, 2, (100, 16))
    assert c.evaluate(X).tolist() == (1 - (X[:, a] & X[:, b])).tolist()
    assert c.evaluate(X, packed=True).tolist() == (1 - (X[:, a] & X[:, b])).tolist()
    s = rng.integers(0, 16, 40)
    m = Circuit.layer(F, "mux", 16, s, a, b)
    assert m.evaluate(X).tolist() == np.where(X[:, s] == 1, X[:, b], X[:, a]).tolist()
    F5 = GF(5)
    mul = Circuit.layer(F5, MUL, 4, [0, 1, 2], [3, 3, 3])
    Y = rng.integers(0, 5, (10, 4))
    assert mul.evaluate(Y).tolist() == (Y[:, [0, 1, 2]] * Y[:, [3]] % 5).tolist()
    assert Circuit.layer(F5, NEG, 2, [1, 0]).evaluate(Y[:, :2]).tolist() == ((-Y[:, [1, 0]]) % 5).tolist()


# -- reverse at scale ---------------------------------------------------------------------------------


def layered(F, n_in, layers, width, kinds, seed, n_outputs=256):
    """Random layers in which every wire is read by the next layer (port 0 through a permutation),
    the last layer summed down to ``n_outputs`` wires by add trees: every gate reaches an output."""
    rng = np.random.default_rng(seed)
    b = Builder(F, n_in)
    prev = np.arange(n_in)
    per = width // len(kinds)
    for _ in range(layers):
        outs = []
        perm = np.concatenate([rng.permutation(prev) for _ in range(-(-per * len(kinds) // len(prev)))])
        for i, kind in enumerate(kinds):
            g = resolve(kind)
            outs += b.op(g, perm[i * per: (i + 1) * per], *[rng.choice(prev, per) for _ in range(g.n_in - 1)])
        prev = np.concatenate(outs)
    while len(prev) > n_outputs:
        half = min(len(prev) // 2, len(prev) - n_outputs)
        prev = np.concatenate([b.add(prev[:half], prev[half: 2 * half]), prev[2 * half:]])
    return b.build(prev)


def test_reverse_of_100k_gates_is_small_and_linear():
    F = GF(2)
    c = layered(F, 256, 10, 9_000, ["mul", "add", "or"], 0)
    assert c.n_gates >= 98_000 and len(c.ops) <= 40
    assert prune(c).n_gates == c.n_gates  # every gate is live
    t0 = time.perf_counter()
    r = reverse(c)
    dt = time.perf_counter() - t0
    assert dt < 10, dt
    assert r.n_forward_ops == len(c.ops)
    # gates: linear in the gates of c
    assert r.n_gates <= 4 * c.n_gates + c.n_inputs, (r.n_gates, c.n_gates)
    # operations: a bounded number of bundles per op of c, never one per gate.  Each op's fan-out sums
    # take ceil(log2(max fan-out)) add rounds (random layers: fan-out up to ~10, so about 4 rounds).
    assert len(r.ops) <= 6 * len(c.ops) + 20, (len(r.ops), len(c.ops))
    # the op count does not grow with the width of the layers (only with log fan-out)
    small = layered(F, 256, 10, 900, ["mul", "add", "or"], 0)
    assert len(r.ops) <= len(reverse(small).ops) + 3 * len(c.ops)
    # and R[c] evaluates, packed and unpacked alike
    X = np.random.default_rng(1).integers(0, 2, (65, r.n_inputs))
    assert r.evaluate(X).tolist() == r.evaluate(X, packed=True).tolist()


def test_reverse_of_a_gate_does_not_recompute_its_definition():
    # R[or] over GF(2): dx = d + y d, dy = d + x d: two multiplications and two additions, nothing dead
    r = reverse(Circuit.generator(GF(2), "or"))
    # R[c] holds c itself (the forward op, for a lens's forward pass), then the backward part
    assert r.n_forward_ops == 1 and r.ops[0].gen.name == "or"
    assert r.gate_counts() == {"add": 2, "mul": 2, "or": 1}
    assert prune(r).n_gates == r.n_gates - 1  # only the forward or is unread by the backward part
    X = all_inputs(2, 3)
    assert r.evaluate(X).tolist() == [[d * (1 - y), d * (1 - x)] for x, y, d in X.tolist()]


def test_reverse_matches_reference_on_random_networks():
    for order in (2, 5):
        F = GF(order)
        c = random_network(order, F, 5, 9, bundle=5)
        X = F.random((20, 5), seed=1)
        DY = F.random((20, c.n_outputs), seed=2)
        got = reverse(c).evaluate(np.concatenate([ints(X), ints(DY)], axis=1))

        def fn(xs, const, c=c):
            # the network run on dual numbers, op by op
            v = list(xs) + [None] * (c.n_wires - c.n_inputs)
            for op in c.ops:
                for i in range(op.k):
                    if op.gen.name == "const":
                        v[op.out + i] = const(int(op.data[i]))
                        continue
                    a = [v[int(w[i])] for w in op.args]
                    if op.gen.name == "add":
                        v[op.out + i] = a[0] + a[1]
                    elif op.gen.name == "mul":
                        v[op.out + i] = a[0] * a[1]
                    elif op.gen.name == "neg":
                        v[op.out + i] = -a[0]
                    else:
                        v[op.out + i] = MULTILINEAR_DUAL[op.gen.name](const, *a)
            return [v[o] for o in c.outputs]

        ref = reference_reverse(F, fn, 5, X, DY)
        assert got.tolist() == ref.tolist()


# -- transformations and statistics --------------------------------------------------------------------


def test_bundle_a_traced_circuit():
    F = GF(5)
    prog = random_program(3, F, 6, 200, kinds=["add", "mul", "neg"])
    prog = replace(prog, outputs=tuple(range(6, 206)))  # every gate is an output (trace drops dead gates)
    flat = prog.trace(bundle=False)
    bundled = prog.trace()
    assert len(flat.ops) == flat.n_gates == 200
    kinds = len([k for k in flat.gate_counts() if k != "const"])
    assert len(bundled.ops) <= flat.depth() * kinds + 1
    b2 = bundle(flat)
    assert len(b2.ops) == len(bundled.ops) and b2.n_gates == flat.n_gates == bundled.n_gates
    assert b2.depth() == flat.depth()
    X = F.random((50, 6), seed=4)
    assert flat.evaluate(X).tolist() == b2.evaluate(X).tolist() == bundled.evaluate(X).tolist()
    assert bundle(b2) is b2  # already bundled: unchanged


def test_prune_drops_unused_gates():
    F = GF(5)
    b = Builder(F, 3)
    used = b.mul([0], [1])
    b.add([0, 1, 2], [2, 2, 2])  # never read
    b.neg(used)  # never read
    out = b.add(used, [2])
    c = b.build(out)
    assert c.n_gates == 6
    p = prune(c)
    assert p.n_gates == 2 and p.gate_counts() == {"add": 1, "mul": 1}
    assert c.prune().n_gates == 2
    X = F.random((20, 3), seed=0)
    assert p.evaluate(X).tolist() == c.evaluate(X).tolist()
    assert p.n_inputs == 3  # inputs are kept even when unused


def test_stats_on_a_hand_made_circuit():
    F = GF(5)
    b = Builder(F, 3)
    m = b.mul([0], [1])  # depth 1
    a = b.add([m[0], 2], [2, 0])  # depths 2, 1
    n = b.neg(a)  # depths 3, 2
    k = b.const([3])  # depth 0
    o = b.mul(n[:1], k)  # depth 4
    c = b.build([o, a[1:]], name="hand")
    s = c.stats()
    assert s == {
        "field": "GF(5)",
        "inputs": 3,
        "outputs": 2,
        "gates": 6,
        "by_kind": {"add": 2, "mul": 2, "neg": 2},
        "constants": 1,
        "operations": 5,
        "wires": 3 + 1 + 2 + 2 + 1 + 1,
        "depth": 4,
    }
    assert c.gate_counts() == {"add": 2, "mul": 2, "neg": 2, "const": 1}
    assert repr(c) == "<Circuit hand: GF(5): 3 -> 2, 6 gates (add 2, mul 2, neg 2)>"
    # outputs: 3 * (-(x0 x1 + x2)), x2 + x0
    X = np.array([[1, 2, 3], [4, 4, 4]])
    assert c.evaluate(X).tolist() == [[(3 * -(1 * 2 + 3)) % 5, 4], [(3 * -(16 + 4)) % 5, 8 % 5]]


def test_select_named_over_reals():
    F = GF(5)
    c = trace(F, 2, lambda x, y: [x * y, x + y, 2 * x])
    s = c.select([2, 0])
    assert s.evaluate([[3, 4]]).tolist() == [[1, 2]]
    assert c.named("z").name == "z" and str(c.named("z")) == "z"
    r = c.over(REALS)
    assert r.evaluate(np.array([[0.5, 2.0]])).tolist() == [[1.0, 2.5, 1.0]]
    with pytest.raises(CompositionError, match="select"):
        c.select([3])


def test_trace_errors_and_folding():
    F = GF(2)
    # x + y - 2xy folds to a single add over GF(2)
    def xor(x, y):
        v = x * y
        return x + y - (v + v)  # v + v of one wire is the constant 0 in characteristic 2

    c = trace(F, 2, xor)
    assert c.gate_counts() == {"add": 1}
    assert trace(GF(5), 2, xor).gate_counts() == {"add": 3, "mul": 1, "neg": 1}
    c5 = trace(GF(5), 1, lambda x: [x * 0, x * 1, x + 0, x**0])
    assert c5.n_gates == 0
    assert c5.evaluate([[3]]).tolist() == [[0, 3, 3, 1]]
    with pytest.raises(TypeError, match="non-negative integer"):
        trace(GF(5), 1, lambda x: x**-1)
    with pytest.raises(TypeError):
        trace(GF(5), 1, lambda x: x * 0.5)
    with pytest.raises(TypeError, match="returns wires or integers"):
        trace(GF(5), 1, lambda x: "x")
