"""The stream form of a classifier (``export_verilog(..., form="stream")``, ``paralens export --form stream``),
Verilator as a second simulator, and the cost report split into encoder, network and class head.

References: ``clf.predict`` / ``paralens predict``; a cycle-by-cycle model of the stream form written here
from the plan's three circuits (each evaluated by the circuit interpreter); Icarus and Verilator running the
exported Verilog; the port declarations read back from the Verilog; the whole classifier circuit's gates.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from paralens.boolean.classifier import two_input_equivalents
from paralens.boolean.cost import cost_report, cost_table
from paralens.boolean.hardware import export_verilog
from paralens.boolean.presets import load_integer_data, train_preset
from paralens.boolean.stream import stream_plan, stream_words
from paralens.cli import main
from paralens.errors import ShapeError
from paralens.synth.verilator import verilator_available
from paralens.synth.verilog import ToolFailed, run_icarus, run_testbench
from support import needs_icarus, needs_yosys

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "boolean"))
from test_hardware import classifier, raw_rows  # noqa: E402 - the mixed classifier: signed, wide, category

needs_verilator = pytest.mark.skipif(not verilator_available(),
                                     reason="Verilator 5 is not installed (apt-get install verilator)")


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    clf, _ = train_preset("iris-gates", epochs=20, seed=0)
    path = tmp_path_factory.mktemp("stream") / "iris.plc"
    clf.save(path)
    _, _, X, _ = load_integer_data("iris", seed=0)
    return clf, path, X


def _bits(v: int, n: int) -> list[int]:
    return [(v >> i) & 1 for i in range(n)]


def cycle_model(clf, plan, X) -> np.ndarray:
    """The stream form cycle by cycle: for each group the counter, the front's bits written where the
    plan holds them, the control's enables and next count checked, then the core on the held bits."""
    W, C, cw, bw = plan.lane_width, plan.n_groups, plan.counter_width, plan.bus_width
    out = []
    for v in stream_words(clf, plan, X):
        held = np.zeros(plan.n_bits, dtype=np.int64)
        for j in range(C):
            enc = plan.front.evaluate([_bits(j, cw) + _bits((v >> (j * bw)) & ((1 << bw) - 1), bw)])[0]
            ctl = plan.control.evaluate([_bits(j, cw) + [1]])[0]
            assert sum(int(b) << i for i, b in enumerate(ctl[:cw])) == (j + 1) % C
            assert int(ctl[cw]) == int(j == C - 1) and list(ctl[cw + 1:]) == [int(i == j) for i in range(C)]
            idle = plan.control.evaluate([_bits(j, cw) + [0]])[0]  # in_valid low: nothing moves
            assert list(idle[:cw]) == _bits(j, cw) and not idle[cw:].any()
            for bit, g, s in plan.held:
                if g == j:
                    held[bit] = enc[s]
        out.append(sum(int(b) << i for i, b in enumerate(plan.core.evaluate([held])[0])))
    assert W == max(f.width for f in clf.inputs.features)
    return np.array(out)


@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_the_plan_computes_predict_cycle_by_cycle(lanes):
    clf, X = classifier(), raw_rows(200, seed=5)
    plan = stream_plan(clf, lanes)
    assert plan.n_groups == -(-3 // lanes) and plan.slots == 3 and plan.lane_width == 11
    np.testing.assert_array_equal(cycle_model(clf, plan, X), clf.predict(X))


def test_the_front_has_one_features_comparators_per_lane(iris):
    clf, _, _ = iris
    one = stream_plan(clf, 1)
    # 4 features of 8 thermometer bits: one lane holds 8 comparators with a ROM of 4 thresholds each;
    # the parallel encoder has 32 comparators on constants
    assert one.slots == 8 and one.front.n_outputs == 8 and one.n_groups == 4 and one.counter_width == 2
    assert stream_plan(clf, 4).front.n_outputs == 32


@needs_icarus
@pytest.mark.hardware
@pytest.mark.parametrize("lanes, pipeline, stall", [(1, None, False), (1, 2, True), (2, None, True), (3, 1, False)])
def test_icarus_runs_the_stream_form_as_predict(tmp_path, lanes, pipeline, stall):
    from paralens.synth.stream import write_stream_testbench

    clf, X = classifier(), raw_rows(150, seed=6)
    v, tb = tmp_path / "s.v", tmp_path / "tb.v"
    r = export_verilog(clf, v, form="stream", lanes=lanes, pipeline=pipeline, testbench=tb, X=X)
    want = [str(c) for c in clf.predict_labels(X)]
    assert run_icarus(v, tb) == want
    if stall:  # in_valid low for a cycle after every second group, other data on the bus: ignored
        plan = stream_plan(clf, lanes)
        write_stream_testbench(plan, stream_words(clf, plan, X), tmp_path / "st.v", module=r["module"],
                               labels=[str(c) for c in clf.classes], latency=r["latency_cycles"], stall=True,
                               tb_name="st")
        assert run_icarus(v, tmp_path / "st.v") == want


def _ports(verilog: str, module: str) -> dict:
    """The top module's port declarations read back from the Verilog: name -> (direction, width)."""
    body = verilog.split(f"module {module}(", 1)[1].split("endmodule", 1)[0]
    out = {}
    for m in re.finditer(r"^\s*(input|output)\s*(?:\[(\d+):0\])?\s*(\w+);", body, flags=re.M):
        out[m.group(3)] = (m.group(1), int(m.group(2)) + 1 if m.group(2) else 1)
    return out


@pytest.mark.parametrize("form, lanes, pipeline", [("parallel", None, None), ("parallel", None, 3),
                                                   ("stream", 1, None), ("stream", 2, 4)])
def test_the_figures_say_the_pins_latency_and_throughput(tmp_path, form, lanes, pipeline):
    clf = classifier()
    v = tmp_path / "m.v"
    r = export_verilog(clf, v, form=form, lanes=lanes, pipeline=pipeline)
    ports = _ports(v.read_text(), r["module"])
    assert r["io_pins"] == sum(w for _, w in ports.values())
    assert r["form"] == form and r["clocked"] == ("clk" in ports)
    if form == "stream":
        assert set(ports) == {"clk", "rst", "in_valid", "in_data", "out_valid", "class_index"}
        assert ports["in_data"] == ("input", 11 * lanes) and r["cycles_per_sample"] == -(-3 // lanes)
        core = 0 if pipeline is None else -(-stream_plan(clf, lanes).core.depth() // pipeline)
        assert r["latency_cycles"] == 1 + core and r["register_bits"]["valid_pipe"] == core
        head = v.read_text().split("module", 1)[0]
        assert f"{r['latency_cycles']} cycle(s) after" in head and "group 0 lane 0: feature 'temp (C)'" in head
    else:
        assert r["cycles_per_sample"] == 1 and (r["latency_cycles"] > 0) == (pipeline is not None)


def test_bad_options_are_one_clear_error(tmp_path):
    clf = classifier()
    with pytest.raises(ValueError, match="form='stream'"):
        export_verilog(clf, tmp_path / "m.v", lanes=2)
    with pytest.raises(ShapeError, match="1 .. 3"):
        export_verilog(clf, tmp_path / "m.v", form="stream", lanes=4)
    with pytest.raises(ValueError, match="form is one of parallel, stream"):
        export_verilog(clf, tmp_path / "m.v", form="serial")
    with pytest.raises(ValueError, match="needs the rows X"):
        export_verilog(clf, tmp_path / "m.v", testbench=tmp_path / "tb.v")


@needs_icarus
@pytest.mark.hardware
def test_iris_stream_form_prints_what_paralens_predict_prints_on_the_test_split(iris, tmp_path, capsys):
    clf, path, X = iris
    code = main(["predict", str(path)])
    predicted = capsys.readouterr().out.split()
    assert code == 0 and len(predicted) == len(X) == 30
    v, tb = str(tmp_path / "s.v"), str(tmp_path / "tb.v")
    code = main(["export", str(path), "--verilog", v, "--testbench", tb, "--form", "stream", "--simulate", "icarus",
                 "--json"])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["simulation_equal"] and res["io_pins"] == 4 + 8 + 2
    assert run_icarus(v, tb) == predicted


def test_cli_refuses_lanes_without_the_stream_form(iris, tmp_path, capsys):
    _, path, _ = iris
    code = main(["export", str(path), "--verilog", str(tmp_path / "m.v"), "--lanes", "2"])
    err = capsys.readouterr().err
    assert code != 0 and "--lanes does not apply without --form stream" in err
    code = main(["export", str(path), "--verilog", str(tmp_path / "m.v"), "--simulate", "icarus"])
    assert code != 0 and "--simulate does not apply without --testbench" in capsys.readouterr().err


# -- Verilator -------------------------------------------------------------------------------------

@needs_verilator
@needs_icarus
@pytest.mark.hardware
@pytest.mark.slow
def test_verilator_prints_exactly_what_icarus_prints(tmp_path):
    """Both forms (the parallel one pipelined), the same testbench files; then a missing vector file."""
    clf, X = classifier(), raw_rows(120, seed=7)
    for form, kw in (("parallel", {"pipeline": 2}), ("stream", {"lanes": 2})):
        v, tb = tmp_path / f"{form}.v", tmp_path / f"{form}_tb.v"
        export_verilog(clf, v, form=form, testbench=tb, X=X, **kw)
        lines = run_testbench(v, tb, simulator="verilator")
        assert lines == run_icarus(v, tb) == [str(c) for c in clf.predict_labels(X)]
    with pytest.raises(ToolFailed, match="cannot read vectors"):
        run_testbench(v, tb, simulator="verilator", plusargs=[f"+vectors={tmp_path / 'none.hex'}"])


def test_an_unknown_simulator_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="icarus, verilator"):
        run_testbench(tmp_path / "a.v", tmp_path / "tb.v", simulator="vcs")


# -- the cost report -------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["mixed", "iris"])
def test_the_parts_gates_sum_to_the_whole_classifier(which, iris):
    clf = classifier() if which == "mixed" else iris[0]
    r = cost_report(clf)
    parts = {p["part"]: p["gates"] for p in r["parts"]}
    assert set(parts) == {"encoder", "network", "head"} and parts["network"] == clf.gates
    assert sum(parts.values()) == r["total_gates"] == r["whole_gates"] == two_input_equivalents(clf.whole_circuit())
    assert abs(sum(p["share"] for p in r["parts"]) - 1) < 1e-9


def test_the_stream_cost_counts_its_registers_and_muxes(iris):
    clf = iris[0]
    plan = stream_plan(clf, 2)
    r = cost_report(clf, form="stream", lanes=2, pipeline=3)
    parts = {p["part"]: p["gates"] for p in r["parts"]}
    assert parts["encoder"] == two_input_equivalents(plan.front) and parts["control"] == two_input_equivalents(plan.control)
    assert parts["enable muxes"] == 2 * len(plan.held) and parts["input gating"] == len(plan.held)
    assert sum(parts.values()) == r["total_gates"]
    ff = r["flip_flops"]
    assert ff["held"] == len(plan.held) and ff["counter"] == plan.counter_width == 1 and ff["pipeline"] > 0
    assert ff["total"] == ff["held"] + ff["counter"] + ff["done"] + ff["complete"] + ff["valid_pipe"] + ff["pipeline"]
    assert "enable muxes" in cost_table(r) and "flip-flops: held" in cost_table(r)


@needs_yosys
@pytest.mark.hardware
@pytest.mark.slow
def test_yosys_counts_luts_per_part_and_the_stream_flip_flops(iris):
    clf = iris[0]
    r = cost_report(clf, form="stream", yosys=True)
    assert all(p["lut6"] > 0 for p in r["parts"] if p["part"] in ("encoder", "network", "head"))
    assert r["whole"]["flip_flops"] <= r["flip_flops"]["total"] and r["whole"]["lut6"] > 0


# -- MNIST -----------------------------------------------------------------------------------------

@needs_icarus
@pytest.mark.hardware
@pytest.mark.slow
def test_an_mnist_gate_classifier_streams_its_whole_test_split(tmp_path):
    """A small mnist-gates network (2 x 2,000 gates, one epoch): 784 pixels over an 8-bit bus, 16 pins;
    Icarus prints predict's labels for every image of the test split."""
    from paralens.boolean import recipes
    from paralens.boolean.classifier import CircuitClassifier
    from paralens.boolean.encoders import GroupSumDecoder

    cfg = recipes.mnist_gates_config().with_(widths=(2000, 2000), epochs=1, augment_copies=0, backend="numpy")
    circuit, info = recipes.run_gates(cfg, integer=True)
    clf = CircuitClassifier(info["encoder"], circuit, GroupSumDecoder(10, circuit.n_outputs // 10), name="mnist_s",
                            info={"dataset": "mnist", "feature_bits": 8})
    _, _, X, _ = load_integer_data("mnist", seed=0)
    v, tb = tmp_path / "m.v", tmp_path / "tb.v"
    r = export_verilog(clf, v, form="stream", testbench=tb, X=X)
    assert r["io_pins"] == 16 and r["cycles_per_sample"] == 784 and r["latency_cycles"] == 1
    assert run_icarus(v, tb, timeout=3600) == [str(c) for c in clf.predict_labels(X)]


def test_cli_stats_of_the_stream_form_without_yosys(iris, tmp_path, capsys):
    _, path, _ = iris
    code = main(["export", str(path), "--verilog", str(tmp_path / "s.v"), "--form", "stream", "--lanes", "2",
                 "--stats", "--no-yosys", "--cost", "--json"])
    r = json.loads(capsys.readouterr().out)
    assert code == 0 and r["formal_equivalence"] == "skipped" and "pyrtl_nets" not in r
    assert r["cost"]["form"] == "stream" and r["cost"]["lanes"] == 2 and r["cycles_per_sample"] == 2
