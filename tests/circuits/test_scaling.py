"""The linear-time paths of evaluation and reverse, against independent references.

* ``evaluate`` gathers outputs with one fancy index per chunk and hands out a transposed view as a
  FieldArray (``as_ints=True``: plain integers); checked against galois arithmetic on columns, across
  chunk boundaries, bit-packed, and for repeated outputs, inputs as outputs, no outputs, empty batches.
* ``reverse`` reverses small ops (a circuit traced gate by gate) on Python ints; checked against forward
  mode on dual numbers (the formal Jacobian, independent of ``reverse``) and against the bundled path
  (``SMALL = 0``), on circuits mixing small and large ops, gates without reverse rules, a gate with two
  outputs, and constants.

No timings here (the project's tests assert values, never speed): ``benchmarks/bench_circuits.py --only
scaling`` prints the microseconds per gate at each size.
"""

from __future__ import annotations

import gc
import importlib
import random

import numpy as np
import pytest

from paralens.circuits import Builder, Circuit, bundle, resolve, reverse, trace
from paralens.circuits import generators as G
from paralens.fields import GF, REALS
from paralens.fields.kernels import pack_bits, unpack_bits, unpack_words

# the modules (``paralens.circuits`` re-exports functions of the same names)
E = importlib.import_module("paralens.circuits.evaluate")
R = importlib.import_module("paralens.circuits.reverse")

# -- evaluation ---------------------------------------------------------------------------------------


def wide_layer(F, n_inputs, n_gates, seed, kinds=("mul", "add")):
    """One bundled op per kind, every gate reading two random inputs; outputs in a random order,
    with some repeated and some inputs among them."""
    rng = np.random.default_rng(seed)
    b = Builder(F, n_inputs)
    outs, ref = [], []
    for kind in kinds:
        a, c = rng.integers(0, n_inputs, n_gates), rng.integers(0, n_inputs, n_gates)
        outs.append(b.op(resolve(kind), a, c)[0])
        ref.append((kind, a, c))
    wires = np.concatenate(outs)
    order = np.concatenate([rng.permutation(len(wires)), rng.integers(0, len(wires), 5)])
    picked = np.concatenate([wires[order], [0, n_inputs - 1]])
    return b.build(picked), ref, order


def reference_layer(F, X, ref, order):
    """The same outputs by galois arithmetic on columns (no paralens interpreter)."""
    GFc = F.galois
    Xg = GFc(np.asarray(X, dtype=np.int64))
    cols = []
    for kind, a, c in ref:
        x, y = Xg[:, a], Xg[:, c]
        cols.append({"mul": x * y, "add": x + y, "or": x + y - x * y}[kind])
    allc = np.concatenate([np.asarray(v.view(np.ndarray), dtype=np.int64) for v in cols], axis=1)
    X64 = np.asarray(X, dtype=np.int64)
    return np.concatenate([allc[:, order], X64[:, [0]], X64[:, [-1]]], axis=1)


@pytest.mark.parametrize("order", [2, 5, 65521, 2**8])
def test_wide_layer_matches_galois(order):
    F = GF(order)
    c, ref, perm = wide_layer(F, 40, 300, seed=order, kinds=("mul", "add", "or"))
    X = F.random_ints((70, c.n_inputs), np.random.default_rng(1))
    want = reference_layer(F, X, ref, perm)
    y = c.evaluate(X)
    assert isinstance(y, F.galois) and y.shape == (70, c.n_outputs)
    np.testing.assert_array_equal(np.asarray(y.view(np.ndarray), dtype=np.int64), want)
    assert y.tolist() == want.tolist()
    # the FieldArray is a working FieldArray (arithmetic, comparison with one built by galois)
    assert ((y * y + y) == F.galois(want) * F.galois(want) + F.galois(want)).all()
    # integers on request: the same values, plain NumPy, no copy of a FieldArray
    yi = E.evaluate(c, X, as_ints=True)
    assert type(yi) is np.ndarray and yi.tolist() == want.tolist()
    # evaluate_ints keeps its contract: int64
    z = E.evaluate_ints(c, F.check_ints(X))
    assert z.dtype == np.int64 and z.tolist() == want.tolist()
    if order == 2:
        assert c.evaluate(X, packed=True).tolist() == want.tolist()
        assert E.evaluate_ints(c, X, packed=True).tolist() == want.tolist()


@pytest.mark.parametrize("packed", [False, True])
def test_chunks_give_the_same_outputs(monkeypatch, packed):
    F = GF(2)
    c, ref, perm = wide_layer(F, 30, 200, seed=3, kinds=("mul", "add", "or"))
    X = np.random.default_rng(0).integers(0, 2, (333, c.n_inputs))
    want = reference_layer(F, X, ref, perm)
    monkeypatch.setattr(E, "BUDGET", 1)  # one sample (one word, packed) per chunk
    assert c.evaluate(X, packed=packed).tolist() == want.tolist()
    monkeypatch.setattr(E, "BUDGET", c.n_wires * 7)  # uneven chunks
    assert c.evaluate(X, packed=packed).tolist() == want.tolist()


def test_chunks_over_gf_p_and_an_extension_field(monkeypatch):
    for order in (65521, 2**8):
        F = GF(order)
        c, ref, perm = wide_layer(F, 12, 50, seed=order)
        X = F.random_ints((41, c.n_inputs), np.random.default_rng(2))
        want = reference_layer(F, X, ref, perm)
        monkeypatch.setattr(E, "BUDGET", c.n_wires * 8 * 5)
        assert c.evaluate(X).tolist() == want.tolist()
        monkeypatch.undo()


def test_edge_shapes():
    F = GF(5)
    c, ref, perm = wide_layer(F, 6, 4, seed=0)
    x = F.random_ints((c.n_inputs,), np.random.default_rng(0))
    y = c.evaluate(x)  # one sample: one row
    assert y.shape == (c.n_outputs,) and y.tolist() == reference_layer(F, x[None], ref, perm)[0].tolist()
    assert c.evaluate(np.zeros((0, c.n_inputs), dtype=np.int64)).shape == (0, c.n_outputs)
    none = Circuit.discard(F, 3)
    assert c.field.array(np.zeros((2, 0), np.int64)).shape == none.evaluate([[1, 2, 3], [0, 0, 0]]).shape
    consts = Circuit.constant(F, [4, 0, 3])  # no inputs
    assert consts.evaluate(np.zeros((2, 0), dtype=np.int64)).tolist() == [[4, 0, 3], [4, 0, 3]]
    assert Circuit.identity(F, 3).evaluate([[1, 2, 3]]).tolist() == [[1, 2, 3]]
    # GF(2): packed and unpacked on batches that are not a multiple of 64
    b2 = Circuit.generator(GF(2), "nand", 3)
    X = np.random.default_rng(1).integers(0, 2, (65, 6))
    want = (1 - X[:, :3] * X[:, 3:]).tolist()
    assert b2.evaluate(X).tolist() == want and b2.evaluate(X, packed=True).tolist() == want


def test_reals_and_out_of_range_values():
    c = Circuit.generator(REALS, "mul", 2)
    y = c.evaluate([[1.5, 2.0, 2.0, -1.0]])
    assert type(y) is np.ndarray and y.tolist() == [[3.0, -2.0]]
    F = GF(5)
    with pytest.raises(ValueError, match="out of range"):
        E.field_view(F, np.array([[1, 5]], dtype=np.int64))
    v = E.field_view(F, np.array([[1, 4]], dtype=np.int64).T)  # a view, not a copy
    assert isinstance(v, F.galois) and v.tolist() == [[1], [4]]


def test_unpack_words_is_unpack_bits_transposed():
    bits = np.random.default_rng(0).integers(0, 2, (130, 7)).astype(np.uint8)
    w = pack_bits(bits)
    assert unpack_words(w, 130).T.tolist() == bits.tolist() == unpack_bits(w, 130).tolist()


# -- reverse -------------------------------------------------------------------------------------------

HALF_ADD = G.Gate("half_add_test", 2, lambda x, y: [x + y, x * y], n_out=2)


def dual_reverse(c, x, dy):
    """``R[c](x, dy) = J(x)^T dy`` by forward mode on dual numbers over GF(p) (the formal Jacobian), one
    pass per input: independent of :func:`reverse`."""
    F = c.field
    p = F.order

    def run(circ, vals, tans):
        V = list(vals) + [None] * (circ.n_wires - circ.n_inputs)
        T = list(tans) + [None] * (circ.n_wires - circ.n_inputs)
        for op in circ.ops:
            for i in range(op.k):
                a = [int(w[i]) for w in op.args]
                if op.gen is G.CONST:
                    outs = [(int(op.data[i]) % p, 0)]
                elif op.gen is G.ADD:
                    outs = [((V[a[0]] + V[a[1]]) % p, (T[a[0]] + T[a[1]]) % p)]
                elif op.gen is G.MUL:
                    outs = [(V[a[0]] * V[a[1]] % p, (T[a[0]] * V[a[1]] + V[a[0]] * T[a[1]]) % p)]
                elif op.gen is G.NEG:
                    outs = [(-V[a[0]] % p, -T[a[0]] % p)]
                else:
                    vs, ts = run(op.gen.definition(F), [V[w] for w in a], [T[w] for w in a])
                    outs = list(zip(vs, ts))
                for j, (v, t) in enumerate(outs):
                    V[op.out + j * op.k + i], T[op.out + j * op.k + i] = v, t
        return [V[o] for o in circ.outputs], [T[o] for o in circ.outputs]

    dx = []
    for i in range(c.n_inputs):
        _, t = run(c, [int(v) for v in x], [int(j == i) for j in range(c.n_inputs)])
        dx.append(sum(tj * int(d) for tj, d in zip(t, dy)) % p)
    return dx


def gate_by_gate(F, n_inputs, n_gates, seed, big_every=0):
    """A circuit built one op per gate (nothing bundled), mixing primitives, Boolean gates (reversed by
    their inlined definitions), a two-output gate and constants; with ``big_every``, every so often a
    bundled op of 40 gates that reads small ops' wires and is read by later small ops."""
    rng = random.Random(seed)
    b = Builder(F, n_inputs)
    vals = list(range(n_inputs))

    def pick():
        return rng.choice(vals[-12:]) if rng.random() < 0.8 else rng.choice(vals)

    kinds = ["mul", "add", "neg", "or", "nand", "mux", "half", "const", "mul", "add"]
    for g in range(n_gates):
        kind = rng.choice(kinds)
        if big_every and g % big_every == big_every - 1:
            src = vals[-30:]
            xs = [rng.choice(src) for _ in range(40)]
            ys = [rng.choice(src) for _ in range(40)]
            vals += b.op(resolve(rng.choice(["mul", "add", "or"])), xs, ys)[0].tolist()
            continue
        if kind == "const":
            vals.append(int(b.const([rng.randrange(F.order)])[0]))
        elif kind == "half":
            s, t = b.op(HALF_ADD, [pick()], [pick()])
            vals += [int(s[0]), int(t[0])]
        else:
            gen = resolve(kind)
            vals.append(int(b.op(gen, *[[pick()] for _ in range(gen.n_in)])[0][0]))
    outs = sorted(set(rng.sample(vals[n_inputs:], 6) + vals[-3:] + [0]))
    return b.build(outs)


@pytest.mark.parametrize("order", [5, 7, 65521])
def test_gate_by_gate_reverse_matches_dual_numbers(order):
    F = GF(order)
    c = gate_by_gate(F, 4, 120, seed=order)
    assert max(op.k for op in c.ops) == 1
    r = reverse(c)
    assert r.n_forward_ops == len(c.ops) and r.n_inputs == c.n_inputs + c.n_outputs
    rng = np.random.default_rng(order)
    X = F.random_ints((6, c.n_inputs), rng)
    DY = F.random_ints((6, c.n_outputs), rng)
    got = r.evaluate(np.concatenate([X, DY], axis=1)).tolist()
    assert got == [dual_reverse(c, x, dy) for x, dy in zip(X, DY)]


@pytest.mark.parametrize("order,big_every", [(2, 0), (2, 9), (3, 7), (2**4, 11), (65521, 5)])
def test_small_path_equals_the_bundled_path(monkeypatch, order, big_every):
    F = GF(order)
    c = gate_by_gate(F, 5, 300, seed=order + big_every, big_every=big_every)
    r_small = reverse(c)
    monkeypatch.setattr(R, "SMALL", 0)  # every op through the bundled path (the one before)
    r_bundled = reverse(c)
    monkeypatch.undo()
    assert r_small.n_forward_ops == r_bundled.n_forward_ops == len(c.ops)
    assert [op.gen for op in r_small.ops[: len(c.ops)]] == [op.gen for op in c.ops]
    rng = np.random.default_rng(order)
    XR = F.random_ints((50, r_small.n_inputs), rng)
    assert r_small.evaluate(XR).tolist() == r_bundled.evaluate(XR).tolist()
    if order == 2:
        assert r_small.evaluate(XR, packed=True).tolist() == r_bundled.evaluate(XR).tolist()
    # and reversing the bundled circuit computes the same function
    rb = reverse(bundle(c))
    assert rb.evaluate(XR).tolist() == r_small.evaluate(XR).tolist()


def test_traced_chain_reverse_and_gc_state():
    F = GF(5)

    def fn(*xs):
        rng = random.Random(0)
        vals = list(xs)
        for _ in range(1500):  # a chain: depth ~ size, so bundling leaves one op per gate
            a, b = vals[-1], vals[rng.randrange(max(0, len(vals) - 20), len(vals))]
            u = rng.random()
            vals.append(a * b if u < 0.3 else (a + b if u < 0.9 else -a))
        return vals[-4:]

    c = trace(F, 4, fn)
    assert len(c.ops) > 1000 and max(op.k for op in c.ops) <= 2
    assert gc.isenabled()
    r = reverse(c)  # pauses the collector while it builds, and restores it
    assert gc.isenabled()
    gc.disable()
    try:
        reverse(c)
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()
    rng = np.random.default_rng(0)
    X, DY = F.random_ints((3, 4), rng), F.random_ints((3, 4), rng)
    got = r.evaluate(np.concatenate([X, DY], axis=1)).tolist()
    assert got == [dual_reverse(c, x, dy) for x, dy in zip(X, DY)]


def test_a_large_op_reads_a_small_ops_wire():
    # one single-gate op whose output feeds a 50-gate bundle and a later single gate: its change sums
    # contributions that arrive as an index array and as Python ints
    F = GF(7)
    b = Builder(F, 3)
    w = b.mul([0], [1])
    layer = b.op(G.MUL, np.repeat(w, 50), np.arange(50) % 3)[0]
    last = b.add(w, [2])
    c = b.build(np.concatenate([layer, last]))
    r = reverse(c)
    rng = np.random.default_rng(3)
    X, DY = F.random_ints((4, 3), rng), F.random_ints((4, c.n_outputs), rng)
    got = r.evaluate(np.concatenate([X, DY], axis=1)).tolist()
    assert got == [dual_reverse(c, x, dy) for x, dy in zip(X, DY)]
