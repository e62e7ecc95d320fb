"""The classifier as hardware: header, ports, and the formal check against the independent model of
``predict`` — which must fail for a seeded bug in the port width, a threshold or the tie rule."""

from dataclasses import replace

import numpy as np
import pytest

from paralens.boolean.classifier import CircuitClassifier
from paralens.boolean.hardware import classifier_design, export_verilog, formal_check, verilog_header
from paralens.boolean.inputs import FeatureFormat, InputFormat
from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder
from paralens.fields import GF
from paralens.synth import simulate
from support import mixed_classifier, needs_icarus, needs_yosys


def classifier(thresholds=((-35.0, 0.0, 20.0), (1.0, 700.0)), inputs=None) -> CircuitClassifier:
    """Signed tenths (9 bits), an 11-bit count, a three-valued category; three classes of two bits."""
    inputs = inputs or InputFormat((FeatureFormat("temp (C)", "number", 1, 9, True),
                                    FeatureFormat("count", "number", 0, 11, False),
                                    FeatureFormat("kind", "category", 0, 2, False, ("a", "b", "c"))))
    return mixed_classifier(inputs, thresholds, ("cold", "mild", "hot"), name="hw", target="weather")


def raw_rows(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = np.empty((n, 3), dtype=object)
    X[:, 0] = np.round(rng.uniform(-30, 30, n), 1)
    X[:, 1] = rng.integers(0, 2100, n).astype(float)
    X[:, 2] = rng.choice(["a", "b", "c", "other"], n)
    return X


def test_the_header_says_what_the_ports_mean():
    clf = classifier()
    head = "\n".join(verilog_header(clf))
    assert "temp_C[8:0]  feature 'temp (C)': 9-bit signed integer round(x * 10), saturated to -256 .. 255" in head
    assert "count[10:0]" in head and "2-bit unsigned category index (0=a, 1=b, 2=c; 3 = any other value)" in head
    assert "class_index[1:0]" in head and "0 = cold" in head and "2 = hot" in head and "combinational" in head


def test_pyrtl_simulation_equals_predict():
    clf = classifier()
    X = raw_rows()
    d = classifier_design(clf)
    assert [p.name for p in d.ports.inputs] == ["temp_C", "count", "kind"]
    assert [p.width for p in d.ports.inputs] == [9, 11, 2]
    out = simulate(d, clf.input_bits(X))
    idx = (np.asarray(out) * (1 << np.arange(out.shape[1]))).sum(axis=1)
    np.testing.assert_array_equal(idx, clf.predict(X))


@needs_icarus
@pytest.mark.hardware
def test_icarus_prints_the_labels_predict_gives(tmp_path):
    from paralens.synth.verilog import run_icarus

    clf = classifier()
    X = raw_rows(300, seed=2)
    v, tb = tmp_path / "hw.v", tmp_path / "tb.v"
    export_verilog(clf, v, testbench=tb, X=X)
    assert run_icarus(v, tb) == [str(c) for c in clf.predict_labels(X)]


@needs_yosys
@pytest.mark.hardware
def test_the_formal_check_proves_a_correct_export_and_fails_seeded_bugs(tmp_path):
    clf = classifier()
    good = tmp_path / "good.v"
    top = export_verilog(clf, good)["module"]
    assert formal_check(clf, good, top)["proved"]

    # a threshold off by one (0.0 -> 0.1 in tenths: T = 1 instead of 0)
    off = classifier(thresholds=((-35.0, 1.0, 20.0), (1.0, 700.0)))
    v = tmp_path / "off.v"
    r = formal_check(clf, v, export_verilog(off, v)["module"])
    assert not r["proved"] and r["counterexample"]

    # the count port 8 bits wide where the feature needs 11 (values above 255 are lost)
    narrow = replace(clf.inputs.features[1], width=8)
    short = replace(clf, inputs=InputFormat((clf.inputs.features[0], narrow, clf.inputs.features[2])),
                    encoder=classifier(thresholds=((-35.0, 0.0, 20.0), (1.0, 255.0))).encoder)
    v = tmp_path / "narrow.v"
    top = export_verilog(short, v)["module"]
    from paralens.synth.verilog import ToolFailed

    try:
        proved = formal_check(clf, v, top)["proved"]
    except ToolFailed as e:  # Yosys' miter refuses ports of different widths: the check fails too
        assert "width" in str(e).lower() or "port" in str(e).lower(), e
        proved = False
    assert not proved


@needs_yosys
@pytest.mark.hardware
def test_the_formal_check_sees_the_tie_rule(tmp_path):
    """A design that differs from predict only where classes tie (the higher class wins there) fails."""
    from paralens.boolean.classifier import classifier_circuit
    from paralens.boolean.hardware import port_names
    from paralens.synth import to_pyrtl
    from paralens.synth.verilog import to_verilog

    clf = classifier()
    flipped = replace(clf, circuit=_reversed_classes(clf.circuit))  # index i is class 2 - i
    inner = classifier_circuit(flipped)
    b = Builder(GF(2), inner.n_inputs)
    b0, b1 = b.inline(inner, [np.array([i]) for i in range(inner.n_inputs)])
    hi = b.mul(b.op(G.NOT, b0)[0], b.op(G.NOT, b1)[0])  # 2 - i on two bits: (b0, not b0 and not b1)
    ties_up = b.build(np.concatenate([b0, hi]), name="hw")
    X = raw_rows()
    bits = clf.input_bits(X)
    assert not np.array_equal(np.asarray(ties_up.evaluate(bits)), np.asarray(clf.whole_circuit().evaluate(bits)))
    d = to_pyrtl(ties_up, name="hw", input_names=port_names(clf), word_inputs=clf.inputs.widths,
                 output_names=["class_index"], word_outputs=2)
    v = tmp_path / "ties.v"
    r = formal_check(clf, v, to_verilog(d, v))
    assert not r["proved"]


def _reversed_classes(c):
    """The circuit with its class groups (two bits each, three classes) in reverse order."""
    b = Builder(c.field, c.n_inputs)
    b.ops, b.n_wires = list(c.ops), c.n_wires
    groups = c.outputs.reshape(3, 2)[::-1].reshape(-1)
    return b.build(groups, name=c.name)
