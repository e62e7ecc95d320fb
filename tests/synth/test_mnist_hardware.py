"""The MNIST gate network as hardware: PyRTL simulation and Icarus Verilog equal `paralens predict`
on the whole bundled test split (2,000 digits).  Slow (minutes): a 35,000-gate network plus the encoder's
comparators, popcounts and argmax; CI runs it."""


import numpy as np
import pytest

from paralens.boolean.classifier import CircuitClassifier, class_from_bits, classifier_circuit
from paralens.boolean.presets import load_integer_data
from paralens.cli import main
from support import icarus_as_in_readme, needs_icarus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("mnist_hw")
    path = d / "mnist.plc"
    # one epoch of the mnist-gates recipe: the same network size, enough to classify (about 90%)
    assert main(["train", "--model", "mnist-gates", "--epochs", "1", "--save", str(path), "--no-progress"]) == 0
    return CircuitClassifier.load(path), path, d


def test_pyrtl_simulation_equals_predict_on_the_test_split(mnist_model):
    from paralens.synth import simulate, to_pyrtl

    clf, _, _ = mnist_model
    _, _, Xte, yte = load_integer_data("mnist")
    circuit = classifier_circuit(clf)
    bits = clf.input_bits(Xte)
    software = clf.predict(Xte)
    np.testing.assert_array_equal(class_from_bits(np.asarray(circuit.evaluate(bits))), software)
    design = to_pyrtl(circuit, name="mnist_gates", word_inputs=8, word_outputs=circuit.n_outputs)
    hardware = class_from_bits(simulate(design, bits))
    np.testing.assert_array_equal(hardware, software)
    assert np.mean(software == yte) > 0.8


@needs_icarus
def test_icarus_prints_what_paralens_predict_prints(mnist_model, capsys):
    _, path, d = mnist_model
    assert main(["predict", str(path)]) == 0
    software = capsys.readouterr().out.split()
    v, tb = d / "mnist.v", d / "tb.v"
    assert main(["export", str(path), "--verilog", str(v), "--testbench", str(tb)]) == 0
    capsys.readouterr()
    hardware = icarus_as_in_readme(v, tb, d)
    assert len(software) == 2000
    assert hardware == software
