"""Hardware export of classifiers: pipelined designs (``to_pyrtl(..., pipeline=K)``, ``paralens export
--pipeline K``) and the figures and formal check of ``paralens export --stats``.

References: ``circuit.evaluate`` and ``paralens predict``; Icarus Verilog runs the exports and Yosys
proves the PyRTL export equal to paralens' own gate-level Verilog.  Tests that need a tool skip
cleanly without it.

Latency, as defined by ``to_pyrtl``: with the logic levels of ``wire_levels`` (``circuit.depth()``
over the outputs), one register stage closes every K levels and the outputs are registered, so
``latency = ceil(depth / K)`` clock cycles (0 for a circuit of depth 0, which stays combinational).
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from paralens.boolean.classifier import class_from_bits, classifier_circuit
from paralens.boolean.presets import load_integer_data, train_preset
from paralens.circuits import Circuit, trace
from paralens.cli import main
from paralens.fields import GF
from paralens.synth import (
    equivalence_check,
    icarus_outputs,
    run_icarus,
    simulate,
    to_pyrtl,
    to_verilog,
    write_gate_verilog,
    write_testbench,
)
from paralens.synth.pyrtl_design import wire_levels
from support import icarus_as_in_readme, ints, needs_icarus, needs_yosys, random_gf2_circuit

KS = [1, 2, 5]


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    """A small learned gate network on Iris (the iris-gates preset, 20 epochs), saved."""
    clf, _ = train_preset("iris-gates", epochs=20, seed=0)
    path = tmp_path_factory.mktemp("export") / "iris.plc"
    clf.save(path)
    fb = int(clf.info.get("feature_bits", 8))
    return clf, path, classifier_circuit(clf), fb


@pytest.fixture(scope="module")
def random_circuit():
    return random_gf2_circuit(24, 300, 16, 3)


def register_depths(design) -> dict:
    """For every output port, the set of register counts on the paths reaching it from the inputs
    (from the PyRTL netlist itself, independently of how the pipeline was built)."""
    import pyrtl

    block = design.block
    depth: dict = {w: {0} for w in design.inputs}
    nets = list(block.logic)
    changed = True
    while changed:
        changed = False
        for net in nets:
            s = set()
            for a in net.args:
                if not isinstance(a, pyrtl.Const):
                    s |= depth.get(a, set())
            if net.op == "r":
                s = {d + 1 for d in s}
            for w in net.dests:
                if not s <= depth.get(w, set()):
                    depth[w] = depth.get(w, set()) | s
                    changed = True
    return {w.name: depth.get(w, set()) for w in design.outputs}


# -- pipelined designs -----------------------------------------------------------------------------

@pytest.mark.parametrize("k", KS)
def test_pipelined_random_circuit_simulates_like_evaluate(random_circuit, k):
    c = random_circuit
    assert int(wire_levels(c)[c.outputs].max()) == c.depth()
    d = to_pyrtl(c, pipeline=k)
    assert d.latency == math.ceil(c.depth() / k) and d.latency >= 1 and not d.is_combinational
    assert d.meta["stages"] == d.latency and d.meta["register_bits"] == sum(len(r) for r in d.registers)
    # every path from an input to an output crosses exactly `latency` registers
    for name, ds in register_depths(d).items():
        assert ds <= {d.latency}, name
    X = np.random.default_rng(k).integers(0, 2, (200, c.n_inputs))  # a new row every cycle
    want = ints(c.evaluate(X))
    np.testing.assert_array_equal(simulate(d, X), want)
    np.testing.assert_array_equal(simulate(d, X[:7], simulator="fast"), want[:7])
    np.testing.assert_array_equal(simulate(d, X[:0]), want[:0])


def test_pipeline_registers_fewer_bits_with_longer_stages(random_circuit):
    bits = [to_pyrtl(random_circuit, pipeline=k).meta["register_bits"] for k in (1, 2, 5, 10 ** 6)]
    assert bits == sorted(bits, reverse=True)
    # one stage: only the outputs are registered (constant outputs are not; shared wires once)
    assert 0 < bits[-1] <= random_circuit.n_outputs


def test_pipelining_over_other_fields_and_edge_cases():
    for F in (GF(5), GF(2 ** 3)):
        q = F.order
        c = trace(F, 3, lambda a, b, s: [a * b + s, (a + 1) * (b + s) * a, s, s * s * s * b + a])
        X = np.random.default_rng(q).integers(0, q, (60, 3))
        for k in (1, 2):
            d = to_pyrtl(c, pipeline=k)
            assert d.latency == math.ceil(c.depth() / k)
            np.testing.assert_array_equal(simulate(d, X), ints(c.evaluate(X)), err_msg=f"{F.name} K={k}")
    # depth 0: nothing to pipeline, a combinational design of latency 0
    c = trace(GF(2), 2, lambda a, b: [b, a]) @ Circuit.constant(GF(2), [1])
    d = to_pyrtl(c, pipeline=3)
    assert d.latency == 0 and d.is_combinational
    X = np.array([[0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(simulate(d, X), ints(c.evaluate(X)))
    assert to_pyrtl(c).latency is None
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="pipeline"):
            to_pyrtl(c, pipeline=bad)


@pytest.mark.parametrize("k", KS)
def test_pipelined_iris_classifier_simulates_like_predict(iris, k):
    clf, _, c, fb = iris
    _, _, Xte, _ = load_integer_data("iris", seed=clf.info.get("seed", 0))
    d = to_pyrtl(c, name=clf.name, word_inputs=fb, word_outputs=c.n_outputs, pipeline=k)
    assert d.latency == math.ceil(c.depth() / k)
    assert all(ds <= {d.latency} for ds in register_depths(d).values())
    bits = clf.input_bits(Xte)
    out = simulate(d, bits)
    np.testing.assert_array_equal(out, ints(c.evaluate(bits)))
    np.testing.assert_array_equal(class_from_bits(out), clf.predict(Xte))


# -- Icarus Verilog ---------------------------------------------------------------------------------

@needs_icarus
@pytest.mark.parametrize("k", KS)
def test_pipelined_random_circuit_runs_in_icarus(random_circuit, k, tmp_path):
    c = random_circuit
    d = to_pyrtl(c, pipeline=k)
    X = np.random.default_rng(10 + k).integers(0, 2, (40, c.n_inputs))
    want = ints(c.evaluate(X))
    text = to_verilog(d, tmp_path / "p.v") and (tmp_path / "p.v").read_text()
    assert re.search(r"input clk", text) and re.search(r"input rst", text)
    np.testing.assert_array_equal(icarus_outputs(d, X, workdir=tmp_path), want)
    np.testing.assert_array_equal(icarus_outputs(d, X, workdir=tmp_path, memory=True), want)
    # sampled after the clock edge: the same rows, one line each
    write_testbench(d, X, tmp_path / "after_tb.v", sample="after", tb_name="after_tb")
    lines = run_icarus(tmp_path / "p.v", tmp_path / "after_tb.v")
    assert len(lines) == len(X)
    got = d.ports.unpack_outputs(list(zip(*[[int(t) for t in s.split()] for s in lines])), d.n_outputs)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("k", KS)
def test_cli_export_pipeline(iris, k, tmp_path, capsys):
    clf, path, c, _ = iris
    assert main(["predict", str(path)]) == 0
    software = capsys.readouterr().out.split()
    v, tb = tmp_path / "p.v", tmp_path / "tb.v"
    assert main(["export", str(path), "--pipeline", str(k), "--verilog", str(v), "--testbench", str(tb),
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["latency_cycles"] == math.ceil(c.depth() / k) == math.ceil(r["classifier_depth"] / k)
    assert r["pipeline"] == k and r["pipeline_register_bits"] > 0 and r["verilog_bytes"] == v.stat().st_size
    assert r["testbench_samples"] == len(software)
    hardware = icarus_as_in_readme(v, tb, tmp_path)
    assert hardware == software


def test_cli_export_rejects_a_bad_pipeline(iris, capsys):
    _, path, _, _ = iris
    assert main(["export", str(path), "--pipeline", "0", "--json"]) == 2
    assert "--pipeline" in capsys.readouterr().err


def test_cli_export_without_pipeline_is_combinational(iris, tmp_path, capsys):
    _, path, _, _ = iris
    assert main(["export", str(path), "--verilog", str(tmp_path / "c.v"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["latency_cycles"] == 0 and r["clocked"] is False and "formal_equivalence" not in r
    text = (tmp_path / "c.v").read_text()
    assert "input rst" not in text and not re.search(r"\bclk\b", text)  # combinational: no clock


# -- --stats: figures and the formal check ----------------------------------------------------------

def test_cli_export_stats_without_yosys(iris, capsys):
    clf, path, c, _ = iris
    assert main(["export", str(path), "--stats", "--no-yosys", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["formal_equivalence"] == "skipped" and r["formal_note"] == "--no-yosys"
    assert "yosys_cells" not in r and "lut6" not in r
    assert r["depth"] == c.depth() and sum(r["by_kind"].values()) == c.n_gates and r["classifier_depth"] == c.depth()
    assert r["max_delay_ps"] > 0 and r["max_freq_mhz"] > 0 and r["area_mm2"]["logic"] > 0
    assert r["verilog_bytes"] > 0 and r["seconds"] > 0 and r["registers"] == 0
    assert main(["export", str(path), "--stats", "--no-formal", "--no-yosys", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["formal_note"] == "--no-formal"
    # a pipelined export: registers, and a shorter critical path than the combinational one
    assert main(["export", str(path), "--stats", "--no-yosys", "--pipeline", "2", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    assert p["registers"] == p["pipeline_register_bits"] > 0 and p["max_delay_ps"] < r["max_delay_ps"]


@needs_yosys
def test_cli_export_stats_proves_the_export(iris, capsys):
    _, path, c, _ = iris
    assert main(["export", str(path), "--stats", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["formal_equivalence"] == "proved", r
    assert r["formal_seconds"] > 0 and "sat" in r["formal_method"]
    assert r["yosys_cells"] > 0 and 0 < r["lut6"] <= r["lut4"] and r["yosys"]["cells"] == r["yosys_cells"]
    assert r["depth"] == c.depth() and r["verilog_bytes"] > 0


@needs_yosys
def test_presimplified_equivalence_still_finds_a_difference(tmp_path):
    c = random_gf2_circuit(16, 200, 8, 41)
    d = to_pyrtl(c, name="eqp")
    a, b, bad = tmp_path / "pyrtl.v", tmp_path / "gates.v", tmp_path / "bad.v"
    top = to_verilog(d, a)
    write_gate_verilog(d, b)
    assert equivalence_check(a, b, top, presimplify=True)["proved"]
    text = b.read_text()
    net = re.search(r"assign y\d+ = (n\d+);", text).group(1)
    bad.write_text(re.sub(rf"assign {net} = (.*);", rf"assign {net} = ~(\1);", text, count=1))
    r = equivalence_check(a, bad, top, presimplify=True)
    assert not r["proved"] and r["counterexample"]
