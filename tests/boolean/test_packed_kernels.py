"""The vector kernels of the bit-packed evaluator: every block width and thread count gives what the NumPy
interpreter gives (random circuits of every gate kind, batches that are not whole blocks, whole MNIST splits),
the cache schedule is a valid order, and the C reference of the benchmark computes the same gates."""

import functools
import os
import shutil
import sys

import numpy as np
import pytest

import support
from paralens.boolean import packed_compiler as PC
from paralens.boolean.classifier import CircuitClassifier
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder
from paralens.boolean.packed import PackedCircuit, ThreadsError, resolve_threads
from paralens.circuits import generators as G
from paralens.circuits.evaluate import evaluate_ints
from paralens.fields import GF, pack_bits

F = GF(2)
MAJ = G.Gate("test_kmaj3", 3, lambda x, y, z: x * y + y * z + x * z)
KINDS = [G.ADD, G.MUL, G.NEG, *G.BOOLEAN_GATES.values(), MAJ, "const"]  # every opcode: mux, not and copy too
random_circuit = functools.partial(support.random_circuit, field=F, n_inputs=14, n_ops=40, n_outputs=32,
                                   kinds=KINDS, bundle=19)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("block_words", [4, 8, 16])
def test_block_widths_threads_and_odd_batches(seed, block_words):
    c = random_circuit(seed)
    pc = PackedCircuit(c, block_words=block_words, threads=1)
    ops = set(pc.stats["by_op"])
    for N in (1, 511, 64 * block_words + 1, 3 * 64 * block_words - 7):
        x = np.random.default_rng(seed * 31 + N).integers(0, 2, (N, c.n_inputs)).astype(np.uint8)
        ref = evaluate_ints(c, x.astype(np.int64))
        classes = GroupSumDecoder(4, 8).predict(ref)
        for threads in (1, 2, 3):
            k = pc.with_threads(threads)
            np.testing.assert_array_equal(k.evaluate_bits(x), ref)
            np.testing.assert_array_equal(k.predict_groups(x, 4, 8), classes)
            np.testing.assert_array_equal(k.predict_words(pack_bits(x), N, 4, 8), classes)
    assert ops <= {"and", "andn", "xor", "or", "not", "mux", "copy"}


def test_every_opcode_is_exercised():
    """Over the random circuits of these tests, the kernel runs every one of its opcodes."""
    seen = set()
    for seed in range(3):
        seen |= set(PackedCircuit(random_circuit(seed), threads=1).stats["by_op"])
    assert seen == {"and", "andn", "xor", "or", "not", "mux", "copy"}, seen


@pytest.mark.parametrize("seed", range(4))
def test_schedule_is_a_valid_order(seed):
    """Every instruction reads only inputs and values written before it; the same instructions, permuted."""
    c = random_circuit(10 + seed)
    code, ob, on, n_values = PC.lower(c)
    zero = n_values
    outs = np.where(ob < 0, zero, ob)
    code = PC.drop_dead(code, n_values + 1, outs)
    code, out_val, n_values = PC.place_outputs(code, outs, n_values + 1)
    new = PC.schedule(code, out_val, zero, n_values, chunk=8)
    assert sorted(new.out.tolist()) == sorted(code.out.tolist())
    ready = np.zeros(n_values, dtype=bool)
    ready[: c.n_inputs] = True
    ready[zero] = True
    for i in range(len(new.op)):
        assert ready[new.a[i]] and ready[new.b[i]] and ready[new.c[i]]
        ready[new.out[i]] = True


def test_threads_option():
    assert resolve_threads(None) == len(os.sched_getaffinity(0))
    assert resolve_threads(3) == 3
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ThreadsError, match="positive integer"):
            resolve_threads(bad)
    c = random_circuit(0)
    assert PackedCircuit(c).threads == len(os.sched_getaffinity(0))
    with pytest.raises(ThreadsError):
        PackedCircuit(c, threads=0)


def _mnist_classifier(widths=(500, 400, 300), seed=3):
    """A hardened gate network on 784 x 3 thermometer bits of the bundled MNIST pixels (random logits whose
    argmax reads both inputs, so hardening keeps every gate), and both splits' pixel bytes."""
    from paralens import data
    from paralens.boolean.gatenet import GATE_NAMES, GateNetwork, harden

    train = data.load_mnist(data.mnist_subset(), "train", flat=True)
    test = data.load_mnist(data.mnist_subset(), "test", flat=True)
    px = [np.rint(s.features * 255).astype(np.uint8) for s in (train, test)]
    enc = ThermometerEncoder(3, method="uniform").fit(px[0])
    net = GateNetwork(784 * 3, list(widths), 10, seed=seed)
    rng = np.random.default_rng(seed)
    two = [i for i, n in enumerate(GATE_NAMES) if n not in ("false", "true", "a", "b", "not_a", "not_b")]
    params = {}
    for name, layer in zip(net.param_names(), net.layers):
        z = rng.standard_normal((layer.n_out, 16)).astype(np.float32)
        z[np.arange(layer.n_out), rng.choice(two, layer.n_out)] += 8.0
        params[name] = z
    return CircuitClassifier(enc, harden(params, net), GroupSumDecoder(10, widths[-1] // 10)), px


def test_mnist_whole_splits_any_thread_count():
    """Both bundled MNIST splits from pixel bytes (the fused encoder) in 1, 2 and 3 threads: the classes of the
    NumPy interpreter on the encoder's bits, on every image."""
    clf, splits = _mnist_classifier()
    for X in splits:
        want = clf.predict(X[:600], packed=False)
        got = {t: clf.predict(X, threads=t) for t in (1, 2, 3)}
        np.testing.assert_array_equal(got[1][:600], want)
        for t in (2, 3):
            np.testing.assert_array_equal(got[t], got[1])
    with pytest.raises(ValueError, match="threads"):
        clf.predict(splits[1][:10], packed=False, threads=2)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="the C reference needs gcc (apt-get install gcc)")
@pytest.mark.parametrize("seed", range(3))
def test_c_reference_equals_the_interpreter(seed, tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
    from c_reference import CReference

    c = random_circuit(20 + seed)
    lib = CReference.build(c, cache=str(tmp_path), say=lambda *a: None)
    x = np.random.default_rng(seed).integers(0, 2, (200, c.n_inputs)).astype(np.uint8)
    from paralens.fields.kernels import unpack_bits

    np.testing.assert_array_equal(unpack_bits(lib.run(pack_bits(x)), 200), evaluate_ints(c, x.astype(np.int64)))
    assert CReference.build(c, cache=str(tmp_path), say=lambda *a: None).cached
