"""Boolean classifiers end to end: train a preset, save, predict, export as Verilog, run Icarus."""

import json

import numpy as np
import pytest

from paralens.boolean.classifier import (
    CircuitClassifier,
    ModelFileError,
    class_from_bits,
    classifier_circuit,
)
from paralens.boolean.presets import load_integer_data, train_preset
from paralens.cli import main
from support import icarus_as_in_readme, needs_icarus


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    clf, result = train_preset("iris3-rda", epochs=3, seed=0)
    path = tmp_path_factory.mktemp("clf") / "iris.plc"
    clf.save(path)
    return clf, result, path


def test_result_reports_accuracy_and_gates(iris):
    clf, result, _ = iris
    Xtr, ytr, Xte, yte = load_integer_data(clf.info["dataset"], seed=0)
    assert result["test_accuracy"] == pytest.approx(float(np.mean(clf.predict(Xte) == yte)))
    assert result["gates"] == clf.gates > 0
    # better than chance (1/3) on three balanced classes: the pseudo-linear units learned something
    assert result["train_accuracy"] > 0.5


def test_saved_classifier_predicts_identically(iris):
    clf, _, path = iris
    back = CircuitClassifier.load(path)
    _, _, Xte, _ = load_integer_data(clf.info["dataset"], seed=0)
    np.testing.assert_array_equal(back.predict(Xte), clf.predict(Xte))
    np.testing.assert_array_equal(back.predict(Xte, packed=True), clf.predict(Xte, packed=False))


def test_whole_classifier_circuit_equals_predict(iris):
    clf, _, _ = iris
    Xtr, _, _, _ = load_integer_data(clf.info["dataset"], seed=0)
    c = classifier_circuit(clf)
    pred = class_from_bits(np.asarray(c.evaluate(clf.input_bits(Xtr))))
    np.testing.assert_array_equal(pred, clf.predict(Xtr))


@pytest.mark.parametrize("n_classes", [1, 2, 3, 5, 8, 10, 11])
def test_argmax_tree_takes_the_first_maximum(n_classes):
    """The classifier circuit's tournament argmax equals ``np.argmax`` (ties to the lower class), on
    counts drawn from 0..3 so that most rows hold ties, and is ceil(log2 n) comparisons deep."""
    from paralens.circuits.arith import argmax_tree
    from paralens.circuits.syntax import Builder
    from paralens.fields import GF

    w, idx_bits = 2, max(1, (n_classes - 1).bit_length())
    b = Builder(GF(2), n_classes * w)
    nums = [[np.array([c * w + j]) for j in range(w)] for c in range(n_classes)]
    idx = [[b.const([(c >> j) & 1])[0:1] for j in range(idx_bits)] for c in range(n_classes)]
    circuit = b.build(np.concatenate(argmax_tree(b, nums, idx)))
    counts = np.random.default_rng(n_classes).integers(0, 4, (500, n_classes))
    bits = ((counts[:, :, None] >> np.arange(w)) & 1).reshape(500, -1)
    np.testing.assert_array_equal(class_from_bits(np.asarray(circuit.evaluate(bits))), counts.argmax(axis=1))
    levels = int(np.ceil(np.log2(n_classes))) if n_classes > 1 else 0
    assert circuit.depth() <= levels * (2 * 1 + 2 + 1)  # a 2-bit comparator tree and a mux per level


def test_bad_files_and_inputs_are_refused(iris, tmp_path):
    clf, _, path = iris
    text = path.read_text()
    (tmp_path / "cut.plc").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="truncated or not JSON"):
        CircuitClassifier.load(tmp_path / "cut.plc")
    d = json.loads(text)
    d["version"] = 99
    (tmp_path / "new.plc").write_text(json.dumps(d))
    with pytest.raises(ModelFileError, match="newer paralens"):
        CircuitClassifier.load(tmp_path / "new.plc")
    (tmp_path / "other.plc").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelFileError, match="not a paralens Boolean classifier"):
        CircuitClassifier.load(tmp_path / "other.plc")
    with pytest.raises(Exception, match="X has 3 features, but the classifier is expecting 4 features"):
        clf.predict(np.zeros((2, 3)))
    with pytest.raises(Exception, match="labels must lie in 0 .. 2"):
        clf.accuracy(np.zeros((2, 4)), np.array([0, 3]))


@needs_icarus
def test_cli_predict_matches_icarus(iris, tmp_path, capsys):
    _, _, path = iris
    assert main(["predict", str(path)]) == 0
    software = capsys.readouterr().out.split()
    v, tb = tmp_path / "m.v", tmp_path / "tb.v"
    assert main(["export", str(path), "--verilog", str(v), "--testbench", str(tb), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verilog"] == str(v) and report["testbench_samples"] == len(software)
    hardware = icarus_as_in_readme(v, tb, tmp_path)
    assert hardware == software


def test_cli_train_json_for_a_boolean_preset(tmp_path, capsys):
    out = tmp_path / "m.plc"
    assert main(["train", "--model", "iris-rda", "--epochs", "1", "--save", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"train_accuracy", "test_accuracy", "network_gates", "classifier_gates", "seconds"} <= set(r)
    assert main(["evaluate", str(out), "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["test_accuracy"] == pytest.approx(r["test_accuracy"])
    assert main(["models", "-v"]) == 0
    assert "iris-rda" in capsys.readouterr().out
