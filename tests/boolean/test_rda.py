"""The RDA paper's experiments (Wilson & Zanasi, ACT 2020) reproduced: the functional (Boolean-difference)
reverse derivative, the paper's pseudo-linear unit, the faithful presets and the Table 1 script."""

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import support
from paralens.boolean import layers
from paralens.boolean.presets import (
    iris_paper_split,
    label_bits,
    minmax_half_thresholds,
    run_paper_iris,
    run_paper_mnist,
    train_preset,
)
from paralens.circuits import arith, parametric, reverse, trace
from paralens.circuits.reverse import boolean_difference_reverse
from paralens.circuits.symbolic import evaluate_sympy, functional_reduce, symbolic_reverse, to_sympy
from paralens.circuits.syntax import Builder
from paralens.fields import GF

F2 = GF(2)
ROOT = Path(__file__).resolve().parents[2]


# -- the functional reverse derivative ---------------------------------------------------------------------


# small GF(2) circuits: bundles of 1-3 random gates on random earlier wires (copies, constants,
# x * x: not multilinear in general)
random_circuit = functools.partial(support.random_circuit, field=F2, n_inputs=4, n_ops=6, n_outputs=2, bundle=3,
                                   kinds=["add", "mul", "or", "not", "xnor", "mux", "nand", "const"])


def brute_force(c, X, DY):
    """``dx_i = sum_j dy_j (f_j(x) + f_j(x + e_i))`` by evaluating ``c`` n + 1 times (the RDA library's rdiffB)."""
    fx = np.asarray(c.evaluate(X))
    out = np.zeros((len(X), c.n_inputs), dtype=np.int64)
    for i in range(c.n_inputs):
        Xi = X.copy()
        Xi[:, i] ^= 1
        out[:, i] = ((np.asarray(c.evaluate(Xi)) ^ fx) & DY).sum(axis=1) % 2
    return out


def all_rows(width: int) -> np.ndarray:
    v = np.arange(2**width)
    return (v[:, None] >> np.arange(width)) & 1


@pytest.mark.parametrize("seed", range(12))
def test_boolean_difference_reverse_is_the_brute_force_boolean_difference(seed):
    c = random_circuit(seed)
    rows = all_rows(c.n_inputs + c.n_outputs)
    X, DY = rows[:, : c.n_inputs], rows[:, c.n_inputs:]
    want = brute_force(c, X, DY)
    for shared in (True, False):
        rc = boolean_difference_reverse(c, shared=shared)
        assert (rc.n_inputs, rc.n_outputs) == (c.n_inputs + c.n_outputs, c.n_inputs)
        np.testing.assert_array_equal(np.asarray(rc.evaluate(rows)), want)


@pytest.mark.parametrize("seed", range(4))
def test_boolean_difference_reverse_is_the_formal_reverse_of_the_reduced_polynomial(seed):
    c = random_circuit(seed + 100, n_inputs=3, n_ops=5)
    syms = [f"x{i}" for i in range(c.n_inputs)]
    reduced = functional_reduce(to_sympy(c), F2, symbols=syms)
    sr = symbolic_reverse(reduced, field=F2, symbols=syms)
    rows = all_rows(c.n_inputs + c.n_outputs)
    want = np.asarray(evaluate_sympy(sr, F2, rows, symbols=syms + [f"dy{j}" for j in range(c.n_outputs)]))
    np.testing.assert_array_equal(np.asarray(boolean_difference_reverse(c).evaluate(rows)), want)


def test_functional_and_formal_derivatives_differ_where_the_circuit_is_not_multilinear():
    sq = trace(F2, 1, lambda x: x * x)  # the function x; formally 2 x = 0
    rows = np.array([[0, 1], [1, 1]])
    assert np.asarray(reverse(sq).evaluate(rows)).ravel().tolist() == [0, 0]
    assert np.asarray(boolean_difference_reverse(sq).evaluate(rows)).ravel().tolist() == [1, 1]
    # multilinear circuits: the two agree
    c = trace(F2, 3, lambda x, y, z: [x * y + z, x * y * z])
    rows = all_rows(5)
    np.testing.assert_array_equal(np.asarray(reverse(c).evaluate(rows)),
                                  np.asarray(boolean_difference_reverse(c).evaluate(rows)))


def test_boolean_difference_reverse_layout_and_options():
    c = random_circuit(7)
    rc, rf = boolean_difference_reverse(c), reverse(c)
    # the forward part is c's ops laid out as in reverse(c), so one lens residual serves both
    assert rc.n_forward_ops == rf.n_forward_ops == len(c.ops)
    for a, b in zip(rc.ops[: rc.n_forward_ops], rf.ops[: rf.n_forward_ops]):
        assert a.gen is b.gen and a.out == b.out and all(np.array_equal(x, y) for x, y in zip(a.args, b.args))
    # wrt: only those inputs are differentiated; the others get 0
    rows = all_rows(c.n_inputs + c.n_outputs)
    full = np.asarray(rc.evaluate(rows))
    part = np.asarray(boolean_difference_reverse(c, wrt=[1, 3]).evaluate(rows))
    np.testing.assert_array_equal(part[:, [1, 3]], full[:, [1, 3]])
    assert not part[:, [0, 2]].any()
    # sharing the forward values makes it smaller than n whole copies
    big = layers.rda_pseudo_linear(16).circuit
    assert boolean_difference_reverse(big).n_gates < boolean_difference_reverse(big, shared=False).n_gates
    with pytest.raises(ValueError, match="GF\\(2\\)"):
        boolean_difference_reverse(trace(GF(3), 1, lambda x: x * x))


def test_parametric_functional_derivative_in_the_lens():
    f = layers.rda_pseudo_linear(6, 2)
    c = f.circuit
    rng = np.random.default_rng(3)
    p = {"weight": rng.integers(0, 2, 6)}
    x = rng.integers(0, 2, (40, 6))
    dy = rng.integers(0, 2, (40, 1))
    y, V = f.forward(p, x)
    dp, dx = f.backward(V, dy)
    want = brute_force(c, np.hstack([np.tile(p["weight"], (40, 1)), x]), dy)
    np.testing.assert_array_equal(dp["weight"], want[:, :6].sum(axis=0))  # the batch's count per bit
    np.testing.assert_array_equal(dx, want[:, 6:])
    np.testing.assert_array_equal(f.backward_params(V, dy)["weight"], dp["weight"])
    formal = parametric(c, {"weight": 6}, derivative="formal")
    assert not np.array_equal(formal.backward_params(formal.forward(p, x)[1], dy)["weight"], dp["weight"])
    with pytest.raises(ValueError, match="formal' or 'functional"):
        parametric(c, {"weight": 6}, derivative="symbolic")
    # composites keep the functional derivative; mixing the two in one circuit is refused
    g = parametric(trace(F2, 2, lambda w, y: w * y), {"w": 1}, derivative="functional")
    assert (f >> g).derivative == "functional"
    with pytest.raises(Exception, match="derivative"):
        f >> parametric(trace(F2, 2, lambda w, y: w * y), {"w": 1})


# -- the paper's pseudo-linear unit and the comparators ---------------------------------------------------


@pytest.mark.parametrize("n,ratio", [(1, 1), (3, 2), (5, 1), (5, 4), (6, 2), (6, 8), (7, 4)])
def test_rda_pseudo_linear_truth_table(n, ratio):
    f = layers.rda_pseudo_linear(n, ratio)
    rows = all_rows(2 * n)
    p, x = rows[:, :n], rows[:, n:]
    want = ((p & x).sum(axis=1) <= p.sum(axis=1) // ratio).astype(np.int64)
    np.testing.assert_array_equal(np.asarray(f.circuit.evaluate(rows))[:, 0], want)


def test_rda_pseudo_linear_784_against_numpy():
    f = layers.rda_pseudo_linear(784)
    rng = np.random.default_rng(0)
    p = (rng.random((64, 784)) < rng.random((64, 1))).astype(np.int64)
    x = (rng.random((64, 784)) < rng.random((64, 1)) * 0.3).astype(np.int64)
    want = ((p & x).sum(axis=1) <= p.sum(axis=1) // 4).astype(np.int64)
    np.testing.assert_array_equal(np.asarray(f.circuit.evaluate(np.hstack([p, x]), packed=True))[:, 0], want)
    assert f.init(0)["weight"].sum() == 0  # the paper starts at zero
    with pytest.raises(ValueError, match="power of two"):
        layers.rda_pseudo_linear(8, 3)


@pytest.mark.parametrize("tree", [False, True])
@pytest.mark.parametrize("wx,wy", [(1, 1), (3, 3), (4, 2), (2, 5), (5, 5)])
def test_greater_and_carry_save_popcount(wx, wy, tree):
    b = Builder(F2, wx + wy)
    gt = arith.greater(b, [np.array([i]) for i in range(wx)], [np.array([wx + i]) for i in range(wy)], tree=tree)
    c = b.build(gt)
    rows = all_rows(wx + wy)
    xv = (rows[:, :wx] << np.arange(wx)).sum(axis=1)
    yv = (rows[:, wx:] << np.arange(wy)).sum(axis=1)
    np.testing.assert_array_equal(np.asarray(c.evaluate(rows))[:, 0], (xv > yv).astype(np.int64))
    w = max(wx, wy)
    if tree and w > 1:  # the comparator tree is logarithmic: 2 ceil(log2 w) + 2 levels, the ripple 2 w
        assert c.depth() <= 2 * int(np.ceil(np.log2(w))) + 2
    for w in (1, 2, 3, 7, 30):
        b = Builder(F2, 2 * w)
        cnt = arith.carry_save_popcount(b, np.arange(2 * w).reshape(2, w))
        bits = np.random.default_rng(w).integers(0, 2, (50, 2 * w))
        out = np.asarray(b.build(np.concatenate(cnt)).evaluate(bits)).reshape(50, len(cnt), 2)
        np.testing.assert_array_equal((out << np.arange(len(cnt))[None, :, None]).sum(axis=1),
                                      bits.reshape(50, 2, w).sum(axis=2))


# -- the faithful experiments ------------------------------------------------------------------------------


def test_iris_paper_split_and_binarisation():
    Xtr, ytr, Xte, yte = iris_paper_split(False)
    assert ytr.tolist() == [0] * 25 + [1] * 25 + [2] * 25 and yte.tolist() == ytr.tolist()
    X2, y2, _, _ = iris_paper_split(True)
    assert y2.tolist() == [0] * 25 + [1] * 25
    # the paper normalises in doubles: (x - min) / (max - min) > 0.5, from the data in centimetres;
    # the integer thresholds (min + max) / 2 in millimetres give the same bits on every sample
    for two in (True, False):
        for uci in (False, True):
            a, _, b, _ = iris_paper_split(two, uci=uci)
            X = np.concatenate([a, b])
            cm = [[float(f"{v / 10:.1f}") for v in row] for row in X.tolist()]
            lo, hi = np.min(cm, axis=0), np.max(cm, axis=0)
            paper = np.array([[(v - m) / (M - m) > 0.5 for v, m, M in zip(r, lo, hi)] for r in cm])
            np.testing.assert_array_equal(X > minmax_half_thresholds(X), paper)
    assert label_bits(np.array([0, 1, 2]), 3, "binary").tolist() == [[0, 0], [1, 0], [0, 1]]
    assert label_bits(np.array([0, 1]), 2, "binary").tolist() == [[0], [1]]


def test_iris_faithful_figures():
    """The paper's procedure on the bundled (corrected) Iris: 98.0% two-class (as the paper) and 56 of 75 =
    74.7% three-class (the issue's figure); on UCI's copy (the paper's data) 55 of 75 = 73.3%, the paper's."""
    for encoding in ("binary", "one-hot"):
        assert run_paper_iris(True, encoding)["accuracy"] == pytest.approx(49 / 50)
        assert run_paper_iris(True, encoding, uci=True)["accuracy"] == pytest.approx(49 / 50)
        assert run_paper_iris(False, encoding)["accuracy"] == pytest.approx(56 / 75)
        assert run_paper_iris(False, encoding, uci=True)["accuracy"] == pytest.approx(55 / 75)


def test_iris_presets_are_the_paper_procedures():
    clf, r = train_preset("iris-rda")
    assert r["exact_test_accuracy"] == pytest.approx(0.98) and r["test_accuracy"] == pytest.approx(0.98)
    assert clf.info["dataset"] == "iris2-paper"
    clf3, r3 = train_preset("iris3-rda")
    assert r3["exact_test_accuracy"] == pytest.approx(56 / 75)
    assert r3["test_accuracy"] >= r3["exact_test_accuracy"]  # argmax also reads outputs that are not one-hot


@pytest.mark.slow
def test_mnist01_faithful_procedure():
    """The paper's MNIST 0-vs-1 procedure on the bundled subset: 404 of 422 test digits (95.7%)."""
    r = run_paper_mnist()
    assert (r["n_train"], r["n_validation"]) == (1143, 127)
    assert round(r["accuracy"] * 422) == 404
    assert r["best_step"] <= 999


def test_mnist01_vote_preset_reaches_99_percent():
    clf, r = train_preset("mnist01-vote", seed=0)
    assert r["test_accuracy"] >= 0.99
    assert r["seconds"] < 60


def test_table1_script_quick_writes_json(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "experiments" / "rda_table1.py"), "--quick", "--out",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    d = json.loads((tmp_path / "rda_table1_quick.json").read_text())
    assert d["quick"] is True and d["paper"] == {"iris_two_class": 98.0, "iris": 73.3, "mnist_0_vs_1": 99.2}
    rows = {(r["experiment"], r["labels"]): r for r in d["faithful"]}
    assert rows[("Iris", "one-hot")]["accuracy"] == pytest.approx(74.67)
    assert rows[("Iris (UCI copy)", "binary")]["accuracy"] == pytest.approx(73.33)
    assert all(r["seeds"] for r in d["improved"]) and all(r["deterministic"] for r in d["faithful"])
    assert (tmp_path / "rda_table1_quick.md").read_text().startswith("## RDA paper, Table 1")
