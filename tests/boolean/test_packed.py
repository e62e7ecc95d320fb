"""The fused bit-packed kernel (paralens.boolean.packed) gives exactly what the NumPy interpreter gives."""

import functools
from dataclasses import replace

import numpy as np
import pytest

import support
from paralens.boolean.classifier import CircuitClassifier
from paralens.boolean.encoders import (
    ColumnEncoder,
    GroupSumDecoder,
    OneHotEncoder,
    ThermometerEncoder,
    ThresholdEncoder,
)
from paralens.boolean.packed import PackedCircuit
from paralens.boolean.packed import pack_bits as fast_pack_bits
from paralens.circuits import generators as G
from paralens.circuits.evaluate import evaluate_ints
from paralens.circuits.syntax import Builder, Circuit
from paralens.errors import ShapeError
from paralens.fields import GF, pack_bits

F = GF(2)
BATCHES = (1, 63, 64, 65, 1000, 4097)

# user gates: expanded from their definitions (one with two outputs, one with a constant in it)
MAJ = G.Gate("test_maj3", 3, lambda x, y, z: x * y + y * z + x * z)
HALF = G.Gate("test_half_adder", 2, lambda x, y: [x + y, x * y], n_out=2)
IMPL = G.Gate("test_implies", 2, lambda x, y: 1 - x + x * y)
GENS = [G.ADD, G.MUL, G.NEG, *G.BOOLEAN_GATES.values(), MAJ, HALF, IMPL]


# bundles of 1-19 gates of every kind (primitives, all Boolean gates, user gates) and constants; outputs
# anywhere (inputs, constants, repeated wires among them)
random_circuit = functools.partial(support.random_circuit, field=F, n_inputs=12, n_ops=40, n_outputs=30,
                                   kinds=[*GENS, "const"], bundle=19)


def bits_of(N, n, seed):
    return np.random.default_rng(seed).integers(0, 2, (N, n)).astype(np.uint8)


def reference_classes(out, n_classes, m):
    return GroupSumDecoder(n_classes, m).predict(out)


@pytest.mark.parametrize("seed", range(12))
def test_random_circuits_all_gate_kinds(seed):
    c = random_circuit(seed)
    pc = PackedCircuit(c)
    for N in BATCHES:
        x = bits_of(N, c.n_inputs, seed * 7 + N)
        ref = evaluate_ints(c, x.astype(np.int64))
        np.testing.assert_array_equal(pc.evaluate_bits(x), ref)
        for n_classes, m in ((30, 1), (10, 3), (3, 10), (2, 15), (1, 30)):
            np.testing.assert_array_equal(pc.predict_groups(x, n_classes, m), reference_classes(ref, n_classes, m))


@pytest.mark.parametrize("seed", range(4))
def test_class_head_on_large_groups(seed):
    """Groups of 16 and more go through the carry-save (Harley-Seal) counter; many ties (constant outputs)."""
    c = random_circuit(100 + seed, n_inputs=20, n_ops=60, n_outputs=240)
    pc = PackedCircuit(c)
    for N in (1, 65, 4097):
        x = bits_of(N, c.n_inputs, seed + N)
        ref = evaluate_ints(c, x.astype(np.int64), packed=True)
        for n_classes, m in ((15, 16), (5, 48), (3, 80), (1, 240), (12, 20), (2, 120), (16, 15), (10, 24)):
            np.testing.assert_array_equal(pc.predict_groups(x, n_classes, m), reference_classes(ref, n_classes, m))


def test_layered_network_and_packed_words():
    """A gate network shape (every input bit read, a multiple of 8 inputs: rows read 8 bits at a time);
    inputs given already packed give the same classes."""
    from paralens.boolean.gatenet import GateNetwork, harden

    net = GateNetwork(64, [96, 96, 80], 5, seed=1)
    c = harden(net.init(3), net)
    pc = PackedCircuit(c)
    for N in BATCHES:
        x = bits_of(N, 64, N)
        ref = evaluate_ints(c, x.astype(np.int64), packed=True)
        np.testing.assert_array_equal(pc.evaluate_bits(x), ref)
        classes = reference_classes(ref, 5, 16)
        np.testing.assert_array_equal(pc.predict_groups(x, 5, 16), classes)
        np.testing.assert_array_equal(pc.predict_words(pack_bits(x), N, 5, 16), classes)


@pytest.mark.parametrize("block_words,threads", [(1, 1), (3, 1), (32, 1), (2, 3)])
def test_block_sizes_and_threads(block_words, threads):
    c = random_circuit(7, n_inputs=17, n_outputs=48)
    pc = PackedCircuit(c, block_words=block_words, threads=threads)
    x = bits_of(4097, 17, 3)
    ref = evaluate_ints(c, x.astype(np.int64))
    np.testing.assert_array_equal(pc.evaluate_bits(x), ref)
    np.testing.assert_array_equal(pc.predict_groups(x, 3, 16), reference_classes(ref, 3, 16))
    np.testing.assert_array_equal(pc.predict_words(pack_bits(x), 4097, 3, 16), reference_classes(ref, 3, 16))


@pytest.mark.parametrize("encoder", [ThermometerEncoder(3, method="uniform"), ThermometerEncoder(5),
                                     ThresholdEncoder()])
@pytest.mark.parametrize("n_features", [13, 64, 100])
def test_fused_encoding_of_bytes(encoder, n_features):
    """uint8 features are encoded inside the kernel: the same bits as ``encoder.transform``, also for
    thresholds below 0 and at or above 255 (constant bits) and constant features; fewer than 64 features (row
    by row) and 64 or more (64 rows x 64 features in registers, the last chunk overlapping)."""
    rng = np.random.default_rng(n_features)
    X = rng.integers(0, 256, (3000, n_features)).astype(np.uint8)
    X[:, 0] = 0
    X[:, 1] = 255
    enc = encoder.fit(X[:1000])
    t = enc._table().copy()
    t[2, 0], t[3, -1], t[4, 0] = -3.0, 255.0, 254.5
    enc = replace(enc, thresholds=t if t.shape[1] > 1 else t[:, 0])
    n_bits = enc.n_bits
    b = Builder(F, n_bits)
    rng2 = np.random.default_rng(1)
    outs = [b.op(G.BOOLEAN_GATES[k], rng2.integers(0, n_bits, 24), rng2.integers(0, n_bits, 24))[0]
            for k in ("and", "or", "xor", "nand")]
    c = b.build(np.concatenate(outs + [np.arange(min(n_bits, 16))]))
    n_out = c.n_outputs
    m = n_out // 4 if n_out % 4 == 0 else n_out
    n_classes = n_out // m
    pc = PackedCircuit(c)
    for N in (1, 63, 65, 3000):
        bits = enc.transform(X[:N])
        ref = reference_classes(evaluate_ints(c, bits.astype(np.int64)), n_classes, m)
        np.testing.assert_array_equal(pc.predict_features(X[:N], enc, n_classes, m), ref)
        np.testing.assert_array_equal(pc.predict_features(X[:N].astype(np.float64), enc, n_classes, m), ref)


def _net_on(n_bits, n_out=32, seed=0):
    b = Builder(F, n_bits)
    rng = np.random.default_rng(seed)
    outs = [b.op(G.BOOLEAN_GATES[k], rng.integers(0, n_bits, n_out // 4), rng.integers(0, n_bits, n_out // 4))[0]
            for k in ("and", "or", "xor", "nand")]
    return b.build(np.concatenate(outs))


def test_fused_encoding_column_and_one_hot_encoders():
    """A column encoder of comparisons (a column in two groups, one column unused) is fused; a one-hot encoder
    (equalities) goes through its transform; both equal predict_groups(transform(X))."""
    rng = np.random.default_rng(4)
    X = rng.integers(0, 256, (700, 6)).astype(np.uint8)
    X[:, 5] = rng.integers(0, 3, 700)
    col = ColumnEncoder([((0, 2), ThermometerEncoder(3)), ((2, 4), ThresholdEncoder()),
                         ((1,), ThermometerEncoder(2))]).fit(X)
    hot = ColumnEncoder([((0,), ThresholdEncoder()), ((5,), OneHotEncoder())]).fit(X)
    for enc in (col, hot, OneHotEncoder().fit(X[:, 5:])):
        data = X if enc.n_features == 6 else X[:, 5:]
        c = _net_on(enc.n_bits)
        pc = PackedCircuit(c)
        for N in (1, 64, 700):
            bits = enc.transform(data[:N])
            ref = reference_classes(evaluate_ints(c, bits.astype(np.int64)), 4, 8)
            np.testing.assert_array_equal(pc.predict_features(data[:N], enc, 4, 8), ref)
    assert PackedCircuit(_net_on(col.n_bits))._comparators(col) is not None
    assert PackedCircuit(_net_on(hot.n_bits))._comparators(hot) is None


@pytest.mark.parametrize("N,n", [(1, 1), (63, 7), (64, 8), (65, 9), (1000, 100), (4097, 24), (0, 5), (5, 0)])
def test_packer_equals_numpy_packbits(N, n):
    x = bits_of(N, n, N + n)
    np.testing.assert_array_equal(fast_pack_bits(x), pack_bits(x))
    assert fast_pack_bits(x).shape == pack_bits(x).shape


def test_edge_cases():
    # no gates: outputs are inputs, constants and repeats
    c = Circuit.wiring(F, 3, [2, 0, 0, 1])
    x = bits_of(65, 3, 0)
    np.testing.assert_array_equal(PackedCircuit(c).evaluate_bits(x), x[:, [2, 0, 0, 1]])
    k = Circuit.constant(F, [1, 0, 1])
    np.testing.assert_array_equal(PackedCircuit(k).evaluate_bits(np.zeros((5, 0), np.uint8)), np.tile([1, 0, 1], (5, 1)))
    # no samples
    pc = PackedCircuit(random_circuit(3))
    assert pc.evaluate_bits(np.zeros((0, 12), np.uint8)).shape == (0, 30)
    assert pc.predict_groups(np.zeros((0, 12), np.uint8), 3, 10).shape == (0,)
    # bool input and one sample as a vector
    x = bits_of(10, 12, 1)
    np.testing.assert_array_equal(pc.evaluate_bits(x.astype(bool)), pc.evaluate_bits(x))
    np.testing.assert_array_equal(pc.evaluate_bits(x[0]), pc.evaluate_bits(x[:1]))
    # refusals
    with pytest.raises(ValueError, match="0 or 1"):
        pc.evaluate_bits(x * 2)
    with pytest.raises(ShapeError):
        pc.evaluate_bits(x[:, :5])
    with pytest.raises(ShapeError):
        pc.predict_groups(x, 4, 10)
    with pytest.raises(ValueError, match="GF\\(2\\)"):
        PackedCircuit(Circuit.generator(GF(3), "mul"))


def test_negations_are_absorbed():
    """NOT gates (and the inverted inputs of implications) cost no instructions."""
    b = Builder(F, 2)
    x, y = np.array([0]), np.array([1])
    nx = b.op(G.NOT, x)[0]
    nny = b.op(G.NOT, b.op(G.NOT, y)[0])[0]
    out = [b.op(G.AND, nx, y)[0], b.op(G.NAND, nx, nny)[0], b.op(G.XOR, nx, x)[0], nx]
    c = b.build(np.concatenate(out))
    pc = PackedCircuit(c)
    assert pc.stats["by_op"].get("not", 0) == 0
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(pc.evaluate_bits(x), evaluate_ints(c, x))


def test_without_numba_falls_back(monkeypatch):
    import paralens.boolean.packed as packed

    monkeypatch.setitem(packed._NUMBA, "k", None)
    c = random_circuit(2)
    with pytest.warns(RuntimeWarning, match="numba"):
        pc = PackedCircuit(c)
    x = bits_of(70, 12, 2)
    ref = evaluate_ints(c, x.astype(np.int64))
    np.testing.assert_array_equal(pc.evaluate_bits(x), ref)
    np.testing.assert_array_equal(pc.predict_groups(x, 3, 10), reference_classes(ref, 3, 10))


def test_classifier_uses_the_kernel_and_agrees():
    """CircuitClassifier.predict: the fused kernel (packed) and the NumPy byte path give the same classes; the
    compiled circuit is kept on the instance and stays out of the file."""
    from paralens.boolean.gatenet import GateNetwork, harden

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (3000, 16)).astype(np.uint8)
    enc = ThermometerEncoder(4, method="uniform").fit(X[:500])
    net = GateNetwork(64, [120, 90], 3, seed=2)
    c = harden(net.init(1), net)
    clf = CircuitClassifier(enc, c, GroupSumDecoder(3, 30))
    for N in (1, 255, 256, 3000):
        fast = clf.predict(X[:N])
        slow = clf.predict(X[:N], packed=False)
        np.testing.assert_array_equal(fast, slow)
        np.testing.assert_array_equal(clf.predict(X[:N].astype(np.float32), packed=True), slow)
        np.testing.assert_array_equal(clf.output_bits(X[:N], packed=True), clf.output_bits(X[:N], packed=False))
    assert clf.packed_circuit() is clf.packed_circuit()
    assert "_packed" not in clf.to_dict()
    back = CircuitClassifier.from_dict(clf.to_dict())
    np.testing.assert_array_equal(back.predict(X), clf.predict(X, packed=False))
