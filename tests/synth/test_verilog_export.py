"""The Verilog writers' contract: header comments, the ports (no ``clk`` on a combinational module,
``clk`` and ``rst`` on a clocked one, the same ports from PyRTL's export and paralens' gate-level
one), testbenches that find their vectors from any folder and fail loudly, and class labels.

References: ``circuit.evaluate``; Icarus Verilog (``vvp`` run by hand and through ``run_icarus``),
Verilator's lint and Yosys' equivalence proof.  Tests that need a tool skip cleanly without it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from paralens.circuits import Circuit
from paralens.fields import GF
from paralens.synth import (
    ToolFailed,
    equivalence_check,
    icarus_outputs,
    run_icarus,
    simulate,
    to_pyrtl,
    to_verilog,
    verilog_text,
    write_gate_verilog,
    write_testbench,
)
from paralens.synth.verilog import _without_clock, control_ports
from support import ints, needs_icarus, needs_yosys, random_gf2_circuit, rows

needs_verilator = pytest.mark.hardware(pytest.mark.skipif(
    shutil.which("verilator") is None, reason="Verilator is not installed (apt-get install -y verilator)"))


def module_ports(text: str, mod: str) -> dict:
    """``{name: (direction, width)}`` of the ports in ``module MOD(...)``, from their declarations."""
    m = re.search(rf"^module {mod}\(([^)]*)\);", text, re.M)
    assert m, f"no module {mod}"
    names = [p.strip() for p in m.group(1).split(",") if p.strip()]
    decls = {nm: (d, int(hi) + 1 if hi else 1) for d, hi, nm in
             re.findall(r"^\s*(input|output)\s*(?:\[(\d+):0\])?\s*(\w+);", text, re.M)}
    assert set(names) <= set(decls), (names, decls)
    return {nm: decls[nm] for nm in names}


@pytest.fixture(scope="module")
def small():
    c = random_gf2_circuit(8, 60, 4, 50)
    return c, to_pyrtl(c, name="little")


# -- header comments ---------------------------------------------------------------------------------

def test_header_lines_come_first_as_comments(small, tmp_path):
    c, d = small
    head = ["model small, 60 gates", "", "trained by paralens"]
    want = "// model small, 60 gates\n//\n// trained by paralens\n"
    assert verilog_text(d, header=head).startswith(want + "// Generated automatically via PyRTL")
    to_verilog(d, tmp_path / "a.v", "renamed", header=head)
    assert (tmp_path / "a.v").read_text().startswith(want) and "module renamed(" in (tmp_path / "a.v").read_text()
    buf = io.StringIO()
    write_gate_verilog(c, buf, "g", header=head)
    assert buf.getvalue().startswith(want + "// ") and "module g(" in buf.getvalue()
    assert not verilog_text(d).startswith("//\n")  # no header: PyRTL's own first line
    assert verilog_text(d, header=[]) == verilog_text(d)


@pytest.mark.parametrize("bad", ["two\nlines", "cr\r", "ends */ a comment", "sep\u2028line"])
def test_a_bad_header_line_is_refused_and_nothing_is_written(small, tmp_path, bad):
    c, d = small
    for write in (lambda p: to_verilog(d, p, header=["fine", bad]),
                  lambda p: write_gate_verilog(c, p, header=["fine", bad])):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            write(tmp_path / "x.v")
        assert not (tmp_path / "x.v").exists()
    with pytest.raises(TypeError, match="sequence of lines"):
        verilog_text(d, header="one string")
    with pytest.raises(TypeError, match="line 0"):
        verilog_text(d, header=[3])


# -- ports: no clk on a combinational module ----------------------------------------------------------

def test_combinational_exports_have_no_clock_and_identical_ports(small):
    c, d = small
    assert d.is_combinational and control_ports(False) == () and control_ports(True) == ("clk", "rst")
    text = verilog_text(d)
    assert not re.search(r"\bclk\b|\brst\b", text)
    buf = io.StringIO()
    write_gate_verilog(d, buf)
    assert not re.search(r"\bclk\b", buf.getvalue())
    assert module_ports(text, "little") == module_ports(buf.getvalue(), "little") == {
        **{f"x{i}": ("input", 1) for i in range(8)}, **{f"y{j}": ("output", 1) for j in range(4)}}
    buf = io.StringIO()
    write_gate_verilog(d, buf, clock=True)  # an unused clk, on request
    assert module_ports(buf.getvalue(), "little")["clk"] == ("input", 1)


def test_clocked_designs_keep_clk_and_rst(small, tmp_path):
    c, _ = small
    p = to_pyrtl(c, name="piped", pipeline=2)
    ports = module_ports(verilog_text(p), "piped")
    assert ports["clk"] == ports["rst"] == ("input", 1)
    write_testbench(p, rows(2, 8, 3, 0), tmp_path / "tb.v")
    assert "dut(.clk(clk), .rst(rst), .x0(x0)" in (tmp_path / "tb.v").read_text()


def test_a_design_without_inputs_or_outputs_has_an_empty_port_list():
    const = to_pyrtl(Circuit.constant(GF(2), [1, 0]), name="k")
    assert module_ports(verilog_text(const), "k") == {"y0": ("output", 1), "y1": ("output", 1)}
    empty = to_pyrtl(Circuit.identity(GF(2), 0), name="nothing")
    assert re.search(r"^module nothing\(\);$", verilog_text(empty), re.M)


def test_the_clock_is_removed_only_from_the_shape_pyrtl_writes():
    ok = "// c\nmodule m(clk, a, y);\n    input clk;\n    input a;\n    output y;\n    assign y = a;\nendmodule\n"
    assert _without_clock(ok, "m") == "// c\nmodule m(a, y);\n    input a;\n    output y;\n    assign y = a;\nendmodule\n"
    for bad in (ok.replace("    input clk;\n", ""), ok.replace("m(clk, a, y)", "m(a, y)"),
                ok.replace("assign y = a;", "always @(posedge clk) y <= a;")):
        with pytest.raises(ToolFailed, match="clk"):
            _without_clock(bad, "m")


def test_the_combinational_testbench_drives_no_clock(small, tmp_path):
    _, d = small
    write_testbench(d, rows(2, 8, 4, 1), tmp_path / "tb.v")
    write_testbench(d, rows(2, 8, 4, 1), tmp_path / "tbm.v", memory=True, tb_name="tbm")
    for name in ("tb.v", "tbm.v"):
        assert not re.search(r"\bclk\b|\brst\b", (tmp_path / name).read_text()), name


# -- testbench vectors -------------------------------------------------------------------------------

def test_the_vector_file_path_is_absolute_and_overridable(small, tmp_path, monkeypatch):
    _, d = small
    monkeypatch.chdir(tmp_path)
    write_testbench(d, rows(2, 8, 5, 2), "rel_tb.v", memory=True, tb_name="rel")
    text = (tmp_path / "rel_tb.v").read_text()
    hex_path = str((tmp_path / "rel_vectors.hex").resolve())
    assert os.path.isabs(hex_path) and f'tb_vectors_file = "{hex_path}";' in text
    assert '$value$plusargs("vectors=%s", tb_vectors_file)' in text
    assert re.search(r'\$fatal\(1, "rel: cannot read vectors %0s", tb_vectors_file\)', text)
    assert re.search(r"tb_vectors\[4\]\[\d+\] !== 1'b0", text) and len((tmp_path / "rel_vectors.hex").read_text().split()) == 5


def test_memory_needs_a_path_and_ports_may_not_take_the_testbench_names(small):
    c, d = small
    with pytest.raises(ValueError, match="testbench path"):
        write_testbench(d, rows(2, 8, 2, 0), io.StringIO(), memory=True)
    clash = to_pyrtl(c, input_names=["tb_i"] + [f"a{i}" for i in range(7)])
    with pytest.raises(ValueError, match="tb_i"):
        write_testbench(clash, rows(2, 8, 2, 0), io.StringIO())


# -- labels ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ['say "hi"', "back\\slash", "new\nline", "caf\u00e9", "tab\t"])
def test_labels_must_be_safe_verilog_strings(small, bad):
    _, d = small
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        write_testbench(d, rows(2, 8, 2, 0), io.StringIO(), word=True, labels=["ok", bad])


def test_labels_need_word_and_a_sequence(small):
    _, d = small
    with pytest.raises(ValueError, match="word=True"):
        write_testbench(d, rows(2, 8, 2, 0), io.StringIO(), labels=["a", "b"])
    with pytest.raises(TypeError, match="one string"):
        write_testbench(d, rows(2, 8, 2, 0), io.StringIO(), word=True, labels="ab")


# -- Icarus Verilog ----------------------------------------------------------------------------------

def vvp(sim, cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["vvp", "-n", str(sim), *args], capture_output=True, text=True, cwd=cwd)


@needs_icarus
def test_the_testbench_reads_its_vectors_from_any_folder_and_fails_loudly(small, tmp_path):
    c, d = small
    X = rows(2, 8, 30, 3)
    want = [" ".join(map(str, r)) for r in ints(c.evaluate(X))]
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    elsewhere.mkdir()
    to_verilog(d, work / "little.v")
    write_testbench(d, X, work / "tb.v", memory=True)
    hex_file = work / "tb_vectors.hex"
    assert run_icarus(work / "little.v", work / "tb.v") == want
    sim = tmp_path / "sim"
    subprocess.run(["iverilog", "-g2012", "-o", str(sim), str(work / "little.v"), str(work / "tb.v")], check=True)
    r = vvp(sim, elsewhere)
    assert r.returncode == 0 and [s for s in r.stdout.splitlines() if "$finish" not in s] == want
    # +vectors=PATH reads another file (the rows reversed)
    (elsewhere / "rev.hex").write_text("\n".join(reversed(hex_file.read_text().split())) + "\n")
    assert run_icarus(work / "little.v", work / "tb.v", plusargs=[f"+vectors={elsewhere / 'rev.hex'}"]) == want[::-1]
    # a file too short: vvp exits non-zero with the message, and run_icarus raises it
    hex_file.write_text("\n".join(hex_file.read_text().split()[:29]) + "\n")
    r = vvp(sim, elsewhere)
    assert r.returncode != 0 and f"vectors {hex_file} hold fewer than 30 rows" in r.stdout + r.stderr
    with pytest.raises(ToolFailed, match="fewer than 30 rows"):
        run_icarus(work / "little.v", work / "tb.v")
    # no file at all
    hex_file.unlink()
    r = vvp(sim, elsewhere)
    assert r.returncode != 0 and f"cannot read vectors {hex_file}" in r.stdout + r.stderr
    with pytest.raises(ToolFailed, match=f"cannot read vectors {re.escape(str(hex_file))}"):
        run_icarus(work / "little.v", work / "tb.v")


@needs_icarus
def test_run_icarus_raises_on_an_error_line_even_when_vvp_exits_0(small, tmp_path):
    _, d = small
    to_verilog(d, tmp_path / "little.v")
    (tmp_path / "old_tb.v").write_text(  # the old testbench's way: a relative path, no check
        "module old_tb;\n    reg[7:0] v[0:1];\n    initial begin\n"
        '        $readmemh("missing.hex", v);\n        $display("%0d", v[0]);\n    end\nendmodule\n')
    with pytest.raises(ToolFailed, match="Unable to open missing.hex"):
        run_icarus(tmp_path / "little.v", tmp_path / "old_tb.v")


@needs_icarus
def test_labels_print_exactly_like_software(tmp_path):
    c = random_gf2_circuit(12, 120, 3, 51)
    d = to_pyrtl(c, name="clf", word_inputs=4, word_outputs=3)  # a 3-bit class word: values 0 .. 7
    labels = ["setosa", " versi color ", "50% sure", "", "x?y"]  # values 5 .. 7 have none
    X = rows(2, 12, 200, 4)
    values = ints(c.evaluate(X)) @ (1 << np.arange(3))
    assert set(values) & {0, 1, 2, 3, 4} and set(values) - {0, 1, 2, 3, 4}, "every kind of line is printed"
    software = [labels[v] if v < len(labels) else f"?{v}" for v in values]
    to_verilog(d, tmp_path / "clf.v")
    for memory in (False, True):
        write_testbench(d, X, tmp_path / "tb.v", word=True, labels=labels, memory=memory)
        assert run_icarus(tmp_path / "clf.v", tmp_path / "tb.v") == software
    # and from a pipelined design, read after the clock edge
    p = to_pyrtl(c, name="clf_p", word_inputs=4, word_outputs=3, pipeline=3)
    to_verilog(p, tmp_path / "p.v")
    write_testbench(p, X, tmp_path / "ptb.v", word=True, labels=labels, sample="after", tb_name="ptb")
    assert run_icarus(tmp_path / "p.v", tmp_path / "ptb.v") == software


# -- ports of different widths and names -------------------------------------------------------------

MIXED = {"input_names": ["alpha", "beta_bus", "g"], "word_inputs": [3, 11, 1],
         "output_names": ["lo", "hi_word", "flag"], "word_outputs": [2, 5, 1]}


@pytest.fixture(scope="module")
def mixed():
    c = random_gf2_circuit(15, 250, 8, 52)
    return c, to_pyrtl(c, name="mixed", **MIXED)


def test_mixed_ports_simulate_like_evaluate_and_both_writers_agree_on_them(mixed):
    c, d = mixed
    assert [(w.name, len(w)) for w in d.inputs] == [("alpha", 3), ("beta_bus", 11), ("g", 1)]
    X = rows(2, 15, 300, 5)
    np.testing.assert_array_equal(simulate(d, X), ints(c.evaluate(X)))
    gate_d, gate_c = io.StringIO(), io.StringIO()
    write_gate_verilog(d, gate_d)
    write_gate_verilog(c, gate_c, "mixed", **MIXED)
    want = {"alpha": ("input", 3), "beta_bus": ("input", 11), "g": ("input", 1),
            "lo": ("output", 2), "hi_word": ("output", 5), "flag": ("output", 1)}
    assert module_ports(verilog_text(d), "mixed") == module_ports(gate_d.getvalue(), "mixed") == want
    assert gate_c.getvalue() == gate_d.getvalue()


@needs_icarus
def test_mixed_ports_run_in_icarus(mixed, tmp_path):
    c, d = mixed
    X = rows(2, 15, 120, 6)
    want = ints(c.evaluate(X))
    np.testing.assert_array_equal(icarus_outputs(d, X, workdir=tmp_path), want)
    write_gate_verilog(c, tmp_path / "gates.v", "mixed", **MIXED)
    write_testbench(d, X, tmp_path / "tb.v", memory=True)
    for v in (tmp_path / "mixed.v", tmp_path / "gates.v"):  # the PyRTL export (by icarus_outputs), paralens'
        lines = run_icarus(v, tmp_path / "tb.v")
        got = d.ports.unpack_outputs(list(zip(*[[int(t) for t in s.split()] for s in lines])), d.n_outputs)
        np.testing.assert_array_equal(got, want, err_msg=v.name)


@needs_yosys
def test_mixed_ports_are_proved_equal_to_the_gate_level_export(mixed, tmp_path):
    c, d = mixed
    a, b = tmp_path / "pyrtl.v", tmp_path / "gates.v"
    top = to_verilog(d, a, header=["the PyRTL export"])
    write_gate_verilog(c, b, "mixed", header=["paralens' own"], **MIXED)
    r = equivalence_check(a, b, top)
    assert r["proved"], r["log"][-2000:]
    text = b.read_text()  # one gate driving `flag` negated: caught, with the inputs that show it
    net = re.search(r"assign flag = (n\d+);", text).group(1)
    b.write_text(re.sub(rf"assign {net} = (.*);", rf"assign {net} = ~(\1);", text, count=1))
    r = equivalence_check(a, b, top)
    assert not r["proved"] and {"in_alpha", "in_beta_bus", "in_g"} <= set(r["counterexample"])


# -- Verilator's lint --------------------------------------------------------------------------------

def lint(path) -> str:
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", str(path)],
                       capture_output=True, text=True)
    return r.stdout + r.stderr


@needs_verilator
def test_verilator_sees_no_unused_clock(small, tmp_path):
    c, d = small
    to_verilog(d, tmp_path / "little.v")
    write_gate_verilog(d, tmp_path / "gates.v")
    for v in ("little.v", "gates.v"):
        out = lint(tmp_path / v)
        assert "%Error" not in out.replace("%Error: Exiting due to", "") and "'clk'" not in out, out
    write_gate_verilog(d, tmp_path / "clocked.v", clock=True)  # the old shape: Verilator says so
    assert "Signal is not used: 'clk'" in lint(tmp_path / "clocked.v")
    to_verilog(to_pyrtl(c, name="piped", pipeline=2), tmp_path / "piped.v")
    out = lint(tmp_path / "piped.v")
    assert "'clk'" not in out and "'rst'" not in out, out  # used by the registers
