"""The JAX program of bit-packed inference (paralens.boolean.packed_jax) gives exactly what the CPU kernel gives,
on every sample: random circuits of every gate kind, a classifier of mixed inputs, iris-gates trained here, the
bundled MNIST test split on a gate network, the command line; and without JAX, one clear error."""

import functools
import sys

import numpy as np
import pytest

import support
from paralens.boolean.classifier import CircuitClassifier
from paralens.boolean.encoders import GroupSumDecoder, ThermometerEncoder
from paralens.boolean.inputs import FeatureFormat, InputFormat
from paralens.boolean.packed import PackedCircuit
from paralens.boolean.packed import pack_bits as fast_pack_bits
from paralens.boolean.packed_compiler import compile_circuit
from paralens.boolean.packed_jax import JaxUnavailable, schedule
from paralens.circuits import generators as G
from paralens.circuits.evaluate import evaluate_ints
from paralens.circuits.syntax import Builder, Circuit
from paralens.cli import main
from paralens.errors import ParalensError, ShapeError
from paralens.fields import GF

F = GF(2)
try:
    import jax  # noqa: F401

    HAVE_JAX = True
except ImportError:  # pragma: no cover - jax is an extra
    HAVE_JAX = False
needs_jax = pytest.mark.skipif(not HAVE_JAX, reason="needs jax (pip install paralens[jax])")

# user gates: expanded from their definitions (one with two outputs, one with a constant in it)
MAJ = G.Gate("test_jax_maj3", 3, lambda x, y, z: x * y + y * z + x * z)
HALF = G.Gate("test_jax_half_adder", 2, lambda x, y: [x + y, x * y], n_out=2)
IMPL = G.Gate("test_jax_implies", 2, lambda x, y: 1 - x + x * y)
GENS = [G.ADD, G.MUL, G.NEG, *G.BOOLEAN_GATES.values(), MAJ, HALF, IMPL]
random_circuit = functools.partial(support.random_circuit, field=F, n_inputs=12, n_ops=40, n_outputs=30,
                                   kinds=[*GENS, "const"], bundle=19)


def bits_of(N, n, seed):
    return np.random.default_rng(seed).integers(0, 2, (N, n)).astype(np.uint8)


def jax_circuit(c, **kw):
    from paralens.boolean.packed_jax import JaxPackedCircuit

    return JaxPackedCircuit(c, **kw)


# -- the schedule, without JAX: a NumPy run of the levels equals the interpreter ------------------------------


def run_levels_numpy(P, bits):
    """An independent reading of a LevelProgram: one row of uint32 words per value, rows filled level by level
    with the opcode's bitwise rule, the outputs read through their negation masks, unpacked to (N, n_out)."""
    N = len(bits)
    W = -(-N // 32)
    x = np.zeros((32 * W, bits.shape[1]), np.uint32)
    x[:N] = bits
    words = (x.reshape(W, 32, -1) << np.arange(32, dtype=np.uint32)[None, :, None]).sum(axis=1, dtype=np.uint32).T
    rows = np.zeros((P.n_rows, W), np.uint32)
    rows[1: 1 + P.n_read] = words[P.inputs]
    rules = [lambda a, b, c: a & b, lambda a, b, c: a & ~b, lambda a, b, c: a ^ b, lambda a, b, c: a | b,
             lambda a, b, c: b ^ ((b ^ c) & a), lambda a, b, c: ~a]
    for (first, counts), (a0, a1, b0, b1, c0, c1) in zip(P.levels, P.spans):
        A, B, C = rows[P.a[a0:a1]], rows[P.b[b0:b1]], rows[P.c[c0:c1]]
        assert max(P.a[a0:a1].max(initial=0), P.b[b0:b1].max(initial=0), P.c[c0:c1].max(initial=0)) < first
        i = mi = 0
        for kind, k in enumerate(counts):
            b = B[i: i + k] if kind < 5 else None
            c = C[mi: mi + k] if kind == 4 else None
            rows[first + i: first + i + k] = rules[kind](A[i: i + k], b, c)
            mi += k if kind == 4 else 0
            i += k
    out = rows[P.out_rows] ^ P.out_neg[:, None]
    return ((out[:, :, None] >> np.arange(32, dtype=np.uint32)) & 1).reshape(len(out), -1)[:, :N].T.astype(np.uint8)


@pytest.mark.parametrize("seed", range(8))
def test_schedule_equals_the_interpreter(seed):
    """The levels read only earlier rows, hold every instruction but the copies, and compute the circuit."""
    c = random_circuit(seed)
    p = compile_circuit(c)
    P = schedule(p)
    assert P.n_instructions == p.n_instructions - p.counts().get("copy", 0)
    assert P.counts() == {k: v for k, v in p.counts().items() if k != "copy"}
    assert P.depth >= 2  # a random circuit of 40 bundles is more than one level deep
    x = bits_of(100, c.n_inputs, seed)
    np.testing.assert_array_equal(run_levels_numpy(P, x), evaluate_ints(c, x.astype(np.int64)))


# -- equal to the CPU kernel ----------------------------------------------------------------------------------


@needs_jax
@pytest.mark.parametrize("seed", range(4))
def test_random_circuits_all_gate_kinds(seed):
    """Every gate kind (primitives, the Boolean gates, user gates: mux, not, copies, constants, repeated
    outputs); odd sample counts; 4,097 samples cross two calls of at most 2,048 (the last one padded)."""
    c = random_circuit(seed)
    pc, jc = PackedCircuit(c), jax_circuit(c, max_batch=2048)
    for N in (1, 65, 4097):
        x = bits_of(N, c.n_inputs, seed * 7 + N)
        ref = evaluate_ints(c, x.astype(np.int64))
        got = jc.evaluate_bits(x)
        assert got.dtype == np.uint8 and got.shape == (N, 30)
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(got, pc.evaluate_bits(x))
        for n_classes, m in ((30, 1), (3, 10), (2, 15)):
            np.testing.assert_array_equal(jc.predict_groups(x, n_classes, m), pc.predict_groups(x, n_classes, m))


@needs_jax
@pytest.mark.parametrize("seed", range(2))
def test_large_groups_and_ties(seed):
    """Groups of 16 to 240 outputs (the adder tree of many rounds, odd group sizes), many ties (constant
    outputs): the classes of the CPU kernel's Harley-Seal head, ties to the lowest class."""
    c = random_circuit(100 + seed, n_inputs=20, n_ops=60, n_outputs=240)
    pc, jc = PackedCircuit(c), jax_circuit(c)
    x = bits_of(1001, c.n_inputs, seed)
    ref = evaluate_ints(c, x.astype(np.int64))
    ties = 0
    for n_classes, m in ((15, 16), (3, 80), (1, 240), (16, 15), (10, 24), (48, 5)):
        want = pc.predict_groups(x, n_classes, m)
        np.testing.assert_array_equal(want, GroupSumDecoder(n_classes, m).predict(ref))
        np.testing.assert_array_equal(jc.predict_groups(x, n_classes, m), want)
        s = ref.reshape(len(ref), n_classes, m).sum(axis=2)
        ties += int(np.sum((s == s.max(axis=1, keepdims=True)).sum(axis=1) > 1))
    assert ties > 0  # the tie rule was exercised


@needs_jax
def test_edge_cases_and_refusals():
    # no gates: outputs are inputs, constants and repeats
    c = Circuit.wiring(F, 3, [2, 0, 0, 1])
    x = bits_of(65, 3, 0)
    np.testing.assert_array_equal(jax_circuit(c).evaluate_bits(x), x[:, [2, 0, 0, 1]])
    k = Circuit.constant(F, [1, 0, 1])
    np.testing.assert_array_equal(jax_circuit(k).evaluate_bits(np.zeros((5, 0), np.uint8)), np.tile([1, 0, 1], (5, 1)))
    # a negated output of a gate read twice
    b = Builder(F, 2)
    nand = b.op(G.NAND, np.array([0]), np.array([1]))[0]
    c2 = b.build(np.concatenate([nand, nand, b.op(G.NOT, nand)[0]]))
    xs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(jax_circuit(c2).evaluate_bits(xs), evaluate_ints(c2, xs))
    # no samples; bool input; one sample as a vector
    jc = jax_circuit(random_circuit(3))
    assert jc.evaluate_bits(np.zeros((0, 12), np.uint8)).shape == (0, 30)
    assert jc.predict_groups(np.zeros((0, 12), np.uint8), 3, 10).shape == (0,)
    x = bits_of(10, 12, 1)
    np.testing.assert_array_equal(jc.evaluate_bits(x.astype(bool)), jc.evaluate_bits(x))
    np.testing.assert_array_equal(jc.evaluate_bits(x[0]), jc.evaluate_bits(x[:1]))
    # refusals, each naming what is wrong
    with pytest.raises(ValueError, match="0 or 1"):
        jc.evaluate_bits(x * 2)
    with pytest.raises(ShapeError, match=r"\(batch, 12\)"):
        jc.evaluate_bits(x[:, :5])
    with pytest.raises(ShapeError, match="4 classes x 10 bits"):
        jc.predict_groups(x, 4, 10)
    with pytest.raises(ShapeError, match="predict_words"):
        jc.predict_words(np.zeros((12, 3), np.uint64), 10, 3, 10)
    with pytest.raises(ValueError, match="max_batch"):
        jax_circuit(c, max_batch=64)
    with pytest.raises(ValueError, match="GF\\(2\\)"):
        jax_circuit(Circuit.generator(GF(3), "mul"))


# -- classifiers --------------------------------------------------------------------------------------------


def _mixed():
    """Three features: signed tenths (4 bits), unsigned integers (3 bits), a category of three values (one-hot:
    its bits are not comparisons, so they are encoded on the host)."""
    inputs = InputFormat((FeatureFormat("t", "number", 1, 4, True), FeatureFormat("n", "number", 0, 3, False),
                          FeatureFormat("c", "category", 0, 2, False, ("a", "b", "c"))))
    return support.mixed_classifier(inputs, ((-3.5, 0.0, 2.0), (1.0, 5.5)), ("p", "q", "r"))


def _mixed_rows():
    """Every port integer (16 x 8 x 4, the unseen category code 3 too) as raw features."""
    t, n, c = np.meshgrid(np.arange(-8, 8), np.arange(8), np.arange(4), indexing="ij")
    cats = np.array(["a", "b", "c", "zz"], dtype=object)
    X = np.empty((t.size, 3), dtype=object)
    X[:, 0], X[:, 1], X[:, 2] = t.ravel() / 10, n.ravel().astype(float), cats[c.ravel()]
    return X


@needs_jax
def test_mixed_classifier_every_port_value():
    from paralens.boolean.packed_jax import JaxPackedClassifier, predict, predict_labels

    clf, X = _mixed(), _mixed_rows()
    want = clf.predict(X, packed=True)
    np.testing.assert_array_equal(want, clf.predict(X, packed=False))
    jclf = JaxPackedClassifier(clf)
    np.testing.assert_array_equal(jclf.predict(X), want)
    np.testing.assert_array_equal(jclf.predict(X[:77]), want[:77])
    assert set(want.tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(predict(clf, X, backend="jax"), want)
    assert predict_labels(clf, X, backend="jax").tolist() == predict_labels(clf, X).tolist() == \
        clf.predict_labels(X).tolist()
    with pytest.raises(ValueError, match="'numpy', 'jax'"):
        predict(clf, X, backend="cuda")


@pytest.fixture(scope="module")
def iris():
    from paralens.boolean.presets import load_integer_data, train_preset

    clf, result = train_preset("iris-gates")
    Xtr, ytr, Xte, yte = load_integer_data("iris", None, 0)
    return clf, result, (Xtr, ytr, Xte, yte)


@needs_jax
def test_iris_gates_whole_splits(iris):
    """iris-gates trained here: the JAX program's classes are the classifier's on every sample of both splits
    (120 and 30 samples: not multiples of 32), from integer features and from bytes."""
    from paralens.boolean.packed_jax import JaxPackedClassifier

    clf, result, (Xtr, ytr, Xte, yte) = iris
    jclf = JaxPackedClassifier(clf)
    for X in (Xtr, Xte, np.concatenate([Xtr, Xte])):
        want = clf.predict(X, packed=True)
        np.testing.assert_array_equal(want, clf.predict(X, packed=False))
        np.testing.assert_array_equal(jclf.predict(X), want)
        np.testing.assert_array_equal(jclf.predict(X.astype(np.uint8)), want)
    assert float(np.mean(jclf.predict(Xte) == yte)) == pytest.approx(result["test_accuracy"])
    assert result["test_accuracy"] > 0.8


def _mnist_network(widths=(600, 600, 500), seed=0):
    """A hardened random gate network on 784 x 3 thermometer bits, each gate's argmax one of the 10 functions
    of both inputs (so that hardening keeps it), and the classifier of it (bundled MNIST pixel bytes in)."""
    from paralens import data
    from paralens.boolean.gatenet import GATE_NAMES, GateNetwork, harden

    train = data.load_mnist(data.mnist_subset(), "train", flat=True)
    test = data.load_mnist(data.mnist_subset(), "test", flat=True)
    px_train = np.rint(train.features * 255).astype(np.uint8)
    px_test = np.rint(test.features * 255).astype(np.uint8)
    enc = ThermometerEncoder(3, method="uniform").fit(px_train)
    net = GateNetwork(784 * 3, list(widths), 10, seed=seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 22]))
    two = [i for i, n in enumerate(GATE_NAMES) if n not in ("false", "true", "a", "b", "not_a", "not_b")]
    params = {}
    for name, layer in zip(net.param_names(), net.layers):
        z = rng.standard_normal((layer.n_out, 16)).astype(np.float32)
        z[np.arange(layer.n_out), rng.choice(two, layer.n_out)] += 8.0
        params[name] = z
    circuit = harden(params, net)
    clf = CircuitClassifier(enc, circuit, GroupSumDecoder(10, widths[-1] // 10), name="mnist-random")
    return clf, px_test, test.labels


@needs_jax
def test_mnist_test_split_on_a_gate_network():
    """The bundled MNIST test split (2,000 images) through a 1,700-gate network: pixel bytes encoded on the
    device, encoded bits, pre-packed words (uint64 and uint32) and pixels already on the device all give the
    CPU kernel's classes on every image; odd counts too."""
    import jax

    from paralens.boolean.packed_jax import JaxPackedClassifier

    clf, X, _ = _mnist_network()
    assert clf.circuit.n_gates >= 1700
    want = clf.predict(X)  # the fused CPU kernel
    jclf = JaxPackedClassifier(clf, max_batch=1024)
    np.testing.assert_array_equal(jclf.predict(X), want)
    assert len(set(want.tolist())) >= 5  # many classes occur: the head is exercised
    for N in (1, 33, 1999):
        np.testing.assert_array_equal(jclf.predict(X[:N]), want[:N])
    jc, d = jclf.kernel, clf.decoder
    bits = clf.encoder.transform(X)
    np.testing.assert_array_equal(jc.predict_groups(bits, 10, d.bits_per_class), want)
    words = fast_pack_bits(bits)
    np.testing.assert_array_equal(jc.predict_words(words, len(X), 10, d.bits_per_class), want)
    np.testing.assert_array_equal(jc.predict_words(words[:, :16], 1001, 10, d.bits_per_class), want[:1001])
    np.testing.assert_array_equal(jc.predict_words(words.view(np.uint32)[:, :63], 2000, 10, d.bits_per_class), want)
    np.testing.assert_array_equal(jclf.predict(jax.device_put(X)), want)


# -- the command line ---------------------------------------------------------------------------------------


def _cli(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@needs_jax
def test_cli_predict_backend_jax(capsys, tmp_path, iris):
    """``paralens predict MODEL --backend jax`` prints what ``--backend numpy`` (the default) prints: a preset's
    split, and a user's CSV of mixed inputs."""
    model = str(tmp_path / "iris.plc")
    iris[0].save(model)
    outs = {}
    for extra in ([], ["--backend", "numpy"], ["--backend", "jax"]):
        code, out, err = _cli(capsys, ["predict", model, "--split", "train", *extra])
        assert code == 0, err
        outs[tuple(extra)] = out
    assert len(outs[()].split()) == 120 and len(set(outs.values())) == 1
    mixed = str(tmp_path / "mixed.plc")
    _mixed().save(mixed)
    csv = tmp_path / "mixed.csv"
    X = _mixed_rows()[::3]
    csv.write_text("t,n,c\n" + "".join(f"{a},{int(b)},{c}\n" for a, b, c in X))
    code, out_np, err = _cli(capsys, ["predict", mixed, "--data", str(csv)])
    assert code == 0, err
    code, out_jax, err = _cli(capsys, ["predict", mixed, "--data", str(csv), "--backend", "jax"])
    assert code == 0, err
    assert out_jax == out_np and len(out_np.split()) == len(X) and set(out_np.split()) == {"p", "q", "r"}


def test_without_jax_one_clear_error(capsys, tmp_path, monkeypatch):
    """Without JAX: --backend jax is one line on stderr naming the install command (status 2); the Python API
    raises JaxUnavailable (an ImportError and a ParalensError); the numpy backend still works."""
    from paralens.boolean.packed_jax import JaxPackedCircuit, predict

    model = str(tmp_path / "mixed.plc")
    clf = _mixed()
    clf.save(model)
    csv = tmp_path / "mixed.csv"
    csv.write_text("t,n,c\n0.1,3,a\n-0.4,7,c\n")
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax raises ImportError
    code, out, err = _cli(capsys, ["predict", model, "--data", str(csv), "--backend", "jax"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and 'pip install "paralens[jax]"' in err
    with pytest.raises(JaxUnavailable, match=r'pip install "paralens\[jax\]"') as e:
        JaxPackedCircuit(clf.circuit)
    assert isinstance(e.value, ImportError) and isinstance(e.value, ParalensError)
    with pytest.raises(JaxUnavailable):
        predict(clf, _mixed_rows(), backend="jax")
    np.testing.assert_array_equal(predict(clf, _mixed_rows(), backend="numpy"), clf.predict(_mixed_rows()))
    code, out, err = _cli(capsys, ["predict", model, "--data", str(csv)])
    assert code == 0 and len(out.split()) == 2, err
