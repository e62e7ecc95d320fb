"""Hardware checked by independent tools: Icarus Verilog runs the exports, Yosys proves them equivalent
and counts cells and LUTs.  Each test skips cleanly when its tool is not installed.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from paralens.circuits import Circuit, trace
from paralens.fields import GF
from paralens.synth import (
    equivalence_check,
    gf2_netlist,
    hardware_stats,
    icarus_outputs,
    rda_learner,
    rda_reference,
    run_icarus,
    simulate_learner,
    synth_stats,
    to_pyrtl,
    to_verilog,
    write_blif,
    write_gate_verilog,
    write_testbench,
)
from support import ints, lut2, needs_icarus, needs_yosys, random_gf2_circuit

F2 = GF(2)


# -- Icarus Verilog ----------------------------------------------------------------------------------

@needs_icarus
def test_icarus_runs_the_pyrtl_export_of_a_500_gate_circuit(tmp_path):
    c = random_gf2_circuit(32, 500, 16, 30)
    d = to_pyrtl(c, name="rand500")
    X = np.random.default_rng(0).integers(0, 2, (300, 32))
    want = ints(c.evaluate(X))
    np.testing.assert_array_equal(icarus_outputs(d, X, workdir=tmp_path), want)
    # the same vectors from a $readmemh file, and the outputs printed as one word a line
    words = icarus_outputs(d, X, workdir=tmp_path, memory=True, word=True)
    assert (tmp_path / "tb_vectors.hex").exists()
    np.testing.assert_array_equal(words.astype(np.int64), want @ (1 << np.arange(16)))


@needs_icarus
def test_icarus_runs_word_ports(tmp_path):
    c = random_gf2_circuit(24, 150, 4, 31)
    d = to_pyrtl(c, word_inputs=8, word_outputs=4, name="clf")  # 3 inputs of 8 bits, a 4-bit class
    X = np.random.default_rng(1).integers(0, 2, (100, 24))
    to_verilog(d, tmp_path / "clf.v")
    write_testbench(d, X, tmp_path / "clf_tb.v", word=True)
    lines = run_icarus(tmp_path / "clf.v", tmp_path / "clf_tb.v")
    assert [int(s) for s in lines] == (ints(c.evaluate(X)) @ (1 << np.arange(4))).tolist()


@needs_icarus
def test_icarus_runs_a_gf8_circuit(tmp_path):
    F = GF(8)
    c = trace(F, 3, lambda a, b, s: [a * b + 3 * s, (a + 5) * (b + s) * b, s * s * s + a, 6 * b])
    d = to_pyrtl(c, name="gf8 poly")
    X = np.random.default_rng(2).integers(0, 8, (300, 3))
    np.testing.assert_array_equal(icarus_outputs(d, X, workdir=tmp_path), ints(c.evaluate(X)))


@needs_icarus
def test_icarus_runs_the_gate_level_export(tmp_path):
    c = random_gf2_circuit(16, 200, 8, 32)
    d = to_pyrtl(c, name="gates")
    X = np.random.default_rng(3).integers(0, 2, (100, 16))
    write_gate_verilog(d, tmp_path / "gates.v")  # paralens' writer, the design's ports
    write_testbench(d, X, tmp_path / "tb.v")
    lines = run_icarus(tmp_path / "gates.v", tmp_path / "tb.v")
    got = np.array([[int(t) for t in s.split()] for s in lines])
    np.testing.assert_array_equal(got, ints(c.evaluate(X)))


@needs_icarus
def test_the_learner_runs_in_icarus(tmp_path):
    c = trace(F2, 6, lut2)
    rng = np.random.default_rng(4)
    X = rng.integers(0, 2, (24, 2))
    Y = (X[:, :1] | X[:, 1:])  # learn OR
    init = [1, 0, 0, 1]
    d = rda_learner(c, 4, init_params=init, name="lut_learner")
    v = tmp_path / "learner.v"
    to_verilog(d, v)
    text = v.read_text()
    assert "always @(posedge clk)" in text and "params_reg" in text
    write_testbench(d, np.hstack([X, Y]), tmp_path / "tb.v")  # one example a clock cycle
    lines = run_icarus(v, tmp_path / "tb.v")
    got = np.array([[int(t) for t in s.split()] for s in lines])  # params, pred, params_next
    ref = rda_reference(c, 4, init, X, Y)
    bits = (got[:, 2:3] >> np.arange(4)) & 1
    np.testing.assert_array_equal(bits, ref)
    np.testing.assert_array_equal(bits, simulate_learner(d, X, Y))
    np.testing.assert_array_equal(ref[-1], [0, 1, 1, 1])
    np.testing.assert_array_equal((got[:, 0:1] >> np.arange(4)) & 1, np.vstack([init, ref[:-1]]))


def test_run_icarus_says_when_icarus_is_missing(monkeypatch, tmp_path):
    from paralens.synth import ToolNotFound

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ToolNotFound, match="iverilog"):
        run_icarus(tmp_path / "a.v", tmp_path / "tb.v")


# -- Yosys -------------------------------------------------------------------------------------------

def _flip_one_gate(text: str) -> str:
    """The gate-level Verilog with the gate driving the first output negated (AND -> NAND, ...):
    a change every input sees."""
    net = re.search(r"assign y\d+ = (n\d+);", text).group(1)
    new, n = re.subn(rf"assign {net} = (.*);", rf"assign {net} = ~(\1);", text, count=1)
    assert n == 1
    return new


@needs_yosys
def test_yosys_proves_the_pyrtl_export_equals_paralens_gate_level_export(tmp_path):
    c = random_gf2_circuit(16, 200, 8, 40)
    d = to_pyrtl(c, name="eq200")
    a, b = tmp_path / "pyrtl.v", tmp_path / "gates.v"
    top = to_verilog(d, a)
    write_gate_verilog(d, b)
    r = equivalence_check(a, b, top, top)
    assert r["proved"], r["log"][-2000:]
    # a deliberately altered independent export is caught, with a counterexample
    bad = tmp_path / "bad.v"
    bad.write_text(_flip_one_gate(b.read_text()))
    r = equivalence_check(a, bad, top, top)
    assert not r["proved"]
    cex = r["counterexample"]
    x = [cex[f"in_x{i}"] for i in range(16)]
    y = ints(c.evaluate([x]))[0]
    assert [cex[f"gold_y{j}"] for j in range(8)] == y.tolist()
    assert [cex[f"gate_y{j}"] for j in range(8)] != y.tolist()


@needs_yosys
def test_yosys_reads_the_blif_back_and_proves_it_equal(tmp_path):
    c = random_gf2_circuit(12, 120, 6, 41)
    d = to_pyrtl(c, name="blif")
    a, b = tmp_path / "pyrtl.v", tmp_path / "c.blif"
    top = to_verilog(d, a)
    write_blif(c, b, model="blif")  # the ports of the combinational export: no clk
    assert equivalence_check(a, b, top, "blif")["proved"]
    st = synth_stats(b, "blif", luts=(4,))
    assert st["lut4"] > 0


@needs_yosys
def test_yosys_cell_and_lut_counts(tmp_path):
    c = random_gf2_circuit(16, 200, 8, 42)
    d = to_pyrtl(c, name="stats")
    v = tmp_path / "stats.v"
    top = to_verilog(d, v)
    st = synth_stats(v, top, ice40=True)
    n_gates = len(gf2_netlist(c).gates)
    assert 0 < st["cells"] <= n_gates
    assert 0 < st["lut6"] <= st["lut4"] <= st["cells"]
    assert st["ice40_lut4"] > 0
    hs = hardware_stats(d, yosys=True)
    assert hs["yosys"]["lut6"] == st["lut6"] and hs["yosys"]["cells"] == st["cells"]


@needs_yosys
def test_fast_abc_scripts_count_close_to_the_defaults(tmp_path):
    """The fast ABC scripts (for designs too large for the default SAT sweeping) map the same
    design to a comparable number of LUTs; the choice follows the gate count."""
    from paralens.synth.yosys import FAST_ABOVE, abc_effort

    c = random_gf2_circuit(16, 300, 8, 43)
    v = tmp_path / "fast.v"
    top = to_verilog(to_pyrtl(c, name="fast"), v)
    default, fast = synth_stats(v, top), synth_stats(v, top, effort="fast")
    assert fast["effort"] == "fast" and default["effort"] == "default"
    assert 0 < fast["lut6"] <= fast["lut4"] <= fast["cells"]
    for k in ("lut6", "lut4"):
        assert abs(fast[k] - default[k]) <= 0.25 * default[k], (k, fast[k], default[k])
    assert abc_effort(FAST_ABOVE) == "default" and abc_effort(FAST_ABOVE + 1) == "fast"
    with pytest.raises(ValueError, match="effort"):
        synth_stats(v, top, effort="quick")


@needs_yosys
def test_yosys_synthesises_the_learner(tmp_path):
    c = trace(F2, 6, lut2)
    d = rda_learner(c, 4, init_params=[0, 0, 0, 0])
    v = tmp_path / "learner.v"
    top = to_verilog(d, v)
    st = synth_stats(v, top, luts=(6,))
    assert any("DFF" in k.upper() for k in st["cells_by_type"]) and st["lut6"] > 0


@needs_yosys
def test_gf8_exports_synthesise(tmp_path):
    d = to_pyrtl(Circuit.generator(GF(8), "mul"), name="gf8mul")
    v = tmp_path / "m.v"
    top = to_verilog(d, v)
    st = synth_stats(v, top, luts=(6,))
    assert st["lut6"] >= 3  # three output bits, each a function of 6 inputs
