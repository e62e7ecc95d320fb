"""``paralens fpga``: Yosys, nextpnr and a bitstream for ECP5 and iCE40, the report, and the placed-and-routed
netlist simulated in Icarus printing exactly what ``paralens predict`` prints.

The flow tests skip cleanly without the tools (``pip install 'paralens[fpga]'``, and Icarus); the report's
figures are checked against nextpnr's own files and closed forms, the routed netlist against ``predict``
through a second Icarus run here, and the check itself against a netlist with one LUT inverted.
"""

from __future__ import annotations

import csv
import inspect
import json
import shutil

import numpy as np
import pytest

from paralens.cli import main
from paralens.errors import DoesNotFit, UnknownDevice
from paralens.synth import fpga
from paralens.synth.verilog import run_icarus
from support import needs_fpga


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def fpga_json(capsys, argv):
    code, out, err = run(capsys, ["fpga", *argv, "--json"])
    assert code == 0, err
    return json.loads(out)


def predict_lines(capsys, argv) -> list[str]:
    code, out, err = run(capsys, ["predict", *argv])
    assert code == 0, err
    return out.splitlines()


def icarus_lines(res: dict, testbench) -> list[str]:
    """The routed netlist in Icarus, run here from the files ``paralens fpga`` left."""
    files = res["files"]
    return run_icarus(files["routed.v"], testbench, extra_files=[files["cells_sim.v"]])


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    d = tmp_path_factory.mktemp("iris")
    model = str(d / "iris.plc")
    assert main(["train", "--model", "iris-gates", "--save", model, "--json", "-q"]) == 0
    return d, model


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    """A user's CSV: integer features wider than 8 bits, and negative (35 pins: fits the 39 of the UP5K)."""
    d = tmp_path_factory.mktemp("levels")
    rng = np.random.default_rng(1)
    a, b, c = rng.integers(-5000, 5001, 240), rng.integers(0, 3001, 240), rng.integers(-40, 41, 240)
    y = np.where(a > 1200, "high", np.where(b + 40 * c < 900, "low", "mid"))
    path = d / "levels.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "level"])
        w.writerows([int(p), int(q), int(r), s] for p, q, r, s in zip(a, b, c, y))
    model = str(d / "levels.plc")
    assert main(["train", "--data", str(path), "--target", "level", "--save", model, "--gates", "60", "--epochs",
                 "40", "--json", "-q"]) == 0
    return d, model, str(path)


# -- without the tools ------------------------------------------------------------------------------


def test_unknown_device_is_one_line_listing_the_devices(capsys, iris):
    d, model = iris
    code, out, err = run(capsys, ["fpga", model, "--device", "ecp5-12k", "--out", str(d / "x")])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "unknown device 'ecp5-12k'" in err and all(name in err for name in fpga.DEVICES)
    with pytest.raises(UnknownDevice):
        fpga.find_device("xc7a35t")


def test_missing_tools_name_the_install_command(capsys, iris, monkeypatch):
    d, model = iris
    monkeypatch.setattr(fpga, "find_tool", lambda name: None)
    code, out, err = run(capsys, ["fpga", model, "--device", "ice40-up5k", "--out", str(d / "x")])
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "nextpnr-ice40, icepack not found: install with pip install 'paralens[fpga]'" in err


def test_pins_of_an_mnist_size_parallel_design_do_not_fit():
    up5k = fpga.find_device("ice40-up5k")
    need = 784 * 8 + 4  # 784 pixels of 8 bits, a 4-bit class
    with pytest.raises(DoesNotFit) as e:
        fpga.check_pins(need, up5k)
    msg = str(e.value)
    assert "needs 6,276 I/O pins" in msg and "has 39" in msg and "6,237 too many" in msg
    assert "--form stream" in msg and "no part here has enough" in msg
    fpga.check_pins(39, up5k)  # exactly the package's pins fit


def test_luts_that_do_not_fit_suggest_a_bigger_part():
    with pytest.raises(DoesNotFit) as e:
        fpga.check_fit({"luts": 6_000, "ffs": 10}, fpga.find_device("ice40-up5k"))
    msg = str(e.value)
    assert "6,000 LUTs" in msg and "720 too many" in msg and "ice40-hx8k has 7,680" in msg
    fpga.check_fit({"luts": 5_280, "ffs": 5_280, "bram": 30, "dsp": 8}, fpga.find_device("ice40-up5k"))


def test_resources_read_from_synthesised_cells():
    ice = fpga.resources({"SB_LUT4": 10, "SB_DFFSR": 3, "SB_DFF": 2, "SB_CARRY": 4, "SB_RAM40_4K": 1}, "ice40")
    assert ice == {"luts": 10, "ffs": 5, "carry": 4, "bram": 1, "dsp": 0}
    ecp = fpga.resources({"LUT4": 10, "PFUMX": 3, "CCU2C": 4, "TRELLIS_FF": 7, "DP16KD": 2, "MULT18X18D": 1}, "ecp5")
    assert ecp == {"luts": 18, "ffs": 7, "carry": 4, "bram": 2, "dsp": 1}  # a CCU2C takes two LUT4s


def _step(kind, delay, cell="c", port="p"):
    return {"type": kind, "delay": delay, "from": {"cell": cell, "port": port}, "to": {"cell": cell, "port": port}}


def test_timing_from_a_report_in_closed_form():
    comb = {"fmax": {}, "critical_paths": [{"from": "<async>", "to": "<async>", "path": [
        _step("source", 0.0, "in"), _step("routing", 2.5), _step("logic", 1.5), _step("routing", 6.0, "out")]}]}
    t = fpga.timing(comb, clocked=False)
    assert t["critical_path_ns"] == 10.0 and t["samples_per_s"] == pytest.approx(1e8)
    assert t["critical_path"]["logic_ns"] == 1.5 and t["critical_path"]["routing_ns"] == 8.5
    assert t["critical_path"]["start"] == "in.p" and t["critical_path"]["end"] == "out.p"
    clk = {"fmax": {"a": {"achieved": 80.0, "constraint": 50.0}, "b": {"achieved": 40.0, "constraint": 50.0}},
           "critical_paths": comb["critical_paths"]}
    t = fpga.timing(clk, clocked=True, cycles_per_sample=4, latency_cycles=6)
    assert t["fmax_mhz"] == 40.0 and t["clock"] == "b" and not t["timing_met"]
    assert t["samples_per_s"] == pytest.approx(1e7) and t["latency_ns"] == pytest.approx(150.0)


def test_port_pins_count_the_declared_bits(tmp_path):
    v = tmp_path / "m.v"
    v.write_text("module other(a);\n    input a;\nendmodule\nmodule m(clk, x, y, z);\n    input clk;\n"
                 "    input[7:0] x;\n    input [0:3] y;\n    output[1:0] z;\nendmodule\n")
    assert fpga.port_pins(v, "m") == 1 + 8 + 4 + 2 and fpga.port_pins(v, "other") == 1


def test_ecp5_cells_are_adjusted_for_the_models():
    routed = {"modules": {"top": {"cells": {
        "odd": {"type": "TRELLIS_COMB", "attributes": {"NEXTPNR_BEL": "X1/Y2/SLICEA.K1"}, "parameters": {}},
        "even": {"type": "TRELLIS_COMB", "attributes": {"NEXTPNR_BEL": "X1/Y2/SLICEA.K0"}, "parameters": {}},
        "bypass": {"type": "TRELLIS_FF", "parameters": {"SD": "0 "}, "connections": {"M": [5], "Q": [6]}},
        "lut_fed": {"type": "TRELLIS_FF", "parameters": {"SD": "1 "}, "connections": {"DI": [7], "M": [8]}}}}}}
    assert fpga.for_simulation(json.loads(json.dumps(routed)), "ice40") == 0
    assert fpga.for_simulation(routed, "ecp5") == 2
    cells = routed["modules"]["top"]["cells"]
    assert cells["odd"]["parameters"] == {"IS_Z1": "1"} and cells["even"]["parameters"] == {}
    assert cells["bypass"]["connections"]["DI"] == [5] and cells["lut_fed"]["connections"]["DI"] == [7]


# -- the flow ---------------------------------------------------------------------------------------


def _check_report(res: dict, device: str, lines: list[str], testbench) -> None:
    """What every run must satisfy: the routed netlist prints predict's lines (the command's check, and Icarus
    again here), the figures are nextpnr's, within the device."""
    dev = fpga.find_device(device)
    assert res["device"] == device and res["routed_check"]["equal"] == res["routed_check"]["samples"] == len(lines)
    assert icarus_lines(res, testbench) == lines
    rep = json.load(open(res["files"]["nextpnr_report.json"], encoding="utf-8"))
    assert res["placed"] == {k: v for k, v in rep["utilization"].items() if v["used"]}
    io = "SB_IO" if dev.family == "ice40" else "TRELLIS_IO"
    assert rep["utilization"][io]["used"] == res["io_pins"] <= dev.io_pins == res["io_pins_available"]
    lut = "SB_LUT4" if dev.family == "ice40" else "LUT4"
    assert res["luts"] == res["cells_by_type"].get(lut, 0) > 0 and res["luts_available"] == dev.luts
    with open(res["bitstream"], "rb") as f:
        assert len(f.read()) > 10_000


@pytest.mark.slow  # ~45 s: Yosys maps the deep combinational classifier (3 s when pipelined)
@needs_fpga("ice40")
def test_iris_on_ice40_up5k_combinational(iris, capsys):
    d, model = iris
    res = fpga_json(capsys, [model, "--device", "ice40-up5k", "--out", str(d / "ice40")])
    lines = predict_lines(capsys, [model])
    _check_report(res, "ice40-up5k", lines, d / "ice40" / "iris_gates_tb.v")
    assert not res["clocked"] and res["ffs"] == 0 and res["io_pins"] == 4 * 8 + 2
    assert res["samples_per_s"] == pytest.approx(1e9 / res["critical_path_ns"])
    assert set(res["seconds"]) == {"yosys", "nextpnr", "pack", "routed_verilog", "icarus"}
    # the check can fail: the LUT driving class_index[0] inverted flips bit 0 of every class printed
    work = d / "mutant"
    work.mkdir()
    routed = json.load(open(res["files"]["routed.json"], encoding="utf-8"))
    cells = next(iter(routed["modules"].values()))["cells"]
    pad_net = cells["class_index[0]$sb_io"]["connections"]["D_OUT_0"]
    lut = next(c for c in cells.values() if c["type"] == "ICESTORM_LC" and c["connections"].get("O") == pad_net)
    assert lut["parameters"]["DFF_ENABLE"].strip("0 ") == ""
    lut["parameters"]["LUT_INIT"] = "".join("1" if b == "0" else "0" for b in lut["parameters"]["LUT_INIT"])
    (work / "routed.json").write_text(json.dumps(routed))
    fpga.routed_verilog(work, "iris_gates", "ice40", timeout=300)
    bad = fpga.check_routed(work / "routed.v", res["files"]["cells_sim.v"], d / "ice40" / "iris_gates_tb.v", lines,
                            timeout=300)
    assert bad["equal"] == 0 and bad["first_difference"][0] == 0


@needs_fpga("ecp5")
def test_iris_on_ecp5_25k_pipelined(iris, capsys):
    d, model = iris
    res = fpga_json(capsys, [model, "--device", "ecp5-25k", "--out", str(d / "ecp5"), "--pipeline", "8",
                             "--freq", "50"])
    lines = predict_lines(capsys, [model])
    _check_report(res, "ecp5-25k", lines, d / "ecp5" / "iris_gates_tb.v")
    code, out, _ = run(capsys, ["export", model, "--verilog", str(d / "p.v"), "--pipeline", "8", "--json"])
    assert code == 0 and res["latency_cycles"] == json.loads(out)["latency_cycles"] > 0
    assert res["clocked"] and res["target_mhz"] == 50.0 and res["fmax_mhz"] > 0
    rep = json.load(open(res["files"]["nextpnr_report.json"], encoding="utf-8"))
    assert res["fmax_mhz"] == min(c["achieved"] for c in rep["fmax"].values())
    assert res["samples_per_s"] == pytest.approx(res["fmax_mhz"] * 1e6)
    assert res["latency_ns"] == pytest.approx(res["latency_cycles"] * 1e3 / res["fmax_mhz"])
    assert res["ffs"] == res["placed"]["TRELLIS_FF"]["used"] > 0


@needs_fpga("ice40")
def test_user_table_on_ice40_up5k_pipelined(levels, capsys):
    d, model, csv_path = levels
    res = fpga_json(capsys, [model, "--device", "ice40-up5k", "--out", str(d / "ice40"), "--pipeline", "6",
                             "--data", csv_path])
    _check_report(res, "ice40-up5k", predict_lines(capsys, [model, "--data", csv_path]),
                  d / "ice40" / "levels_tb.v")
    assert res["clocked"] and res["io_pins"] == 14 + 12 + 7 + 2 + 2  # a, b, c, the class, clk and rst


@needs_fpga("ecp5")
def test_user_table_on_ecp5_25k_combinational(levels, capsys):
    d, model, csv_path = levels
    res = fpga_json(capsys, [model, "--device", "ecp5-25k", "--out", str(d / "ecp5"), "--data", csv_path,
                             "--samples", "100"])
    lines = predict_lines(capsys, [model, "--data", csv_path])[:100]
    _check_report(res, "ecp5-25k", lines, d / "ecp5" / "levels_tb.v")
    assert not res["clocked"] and res["critical_path_ns"] > 0


def _has_stream_form() -> bool:
    from paralens.boolean.hardware import export_verilog

    return "form" in inspect.signature(export_verilog).parameters


@pytest.mark.hardware
@pytest.mark.skipif(not _has_stream_form(), reason="export_verilog has no form= yet (the streaming export)")
@pytest.mark.parametrize("device", ["ice40-up5k", "ecp5-25k"])
def test_iris_stream_form(iris, capsys, device):
    if not (fpga.fpga_available(fpga.find_device(device).family) and shutil.which("iverilog")):
        pytest.skip(f"the FPGA tools are not installed ({fpga.INSTALL})")
    d, model = iris
    out = d / f"stream_{device}"
    res = fpga_json(capsys, [model, "--device", device, "--out", str(out), "--form", "stream"])
    _check_report(res, device, predict_lines(capsys, [model]), out / "iris_gates_tb.v")
    assert res["clocked"] and res["form"] == "stream" and res["cycles_per_sample"] >= 1
    assert res["samples_per_s"] == pytest.approx(res["fmax_mhz"] * 1e6 / res["cycles_per_sample"])


@needs_fpga("ice40")
def test_a_wide_table_does_not_fit_the_pins(tmp_path, capsys):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, (60, 40))
    path = tmp_path / "wide.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([f"f{j}" for j in range(40)] + ["y"])
        w.writerows([*map(int, x), int(x[0] > 127)] for x in X)
    model = str(tmp_path / "wide.plc")
    assert main(["train", "--data", str(path), "--target", "y", "--save", model, "--gates", "16", "--epochs", "2",
                 "-q"]) == 0
    code, out, err = run(capsys, ["fpga", model, "--device", "ice40-up5k", "--out", str(tmp_path / "o"), "--no-check"])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "needs 321 I/O pins" in err and "282 too many" in err and "--form stream" in err, err
    assert not (tmp_path / "o" / "synth.json").exists()  # refused before Yosys ran
    code, _, err = run(capsys, ["fpga", model, "--device", "ice40-up5k", "--out", str(tmp_path / "o"),
                                "--no-check", "--freq", "30"])
    assert code == 2 and "--freq applies to a clocked design" in err


@pytest.mark.slow
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
def test_device_table_is_what_nextpnr_reports(tmp_path, family):
    if not fpga.fpga_available(family):
        pytest.skip(f"the {family} FPGA tools are not installed ({fpga.INSTALL})")
    (tmp_path / "design.v").write_text("module t(input a, input b, output y); assign y = a & b; endmodule\n")
    fpga.synthesize(tmp_path, "t", next(d for d in fpga.DEVICES.values() if d.family == family), timeout=600)
    for dev in (d for d in fpga.DEVICES.values() if d.family == family):
        util = fpga.place_and_route(tmp_path, dev, freq_mhz=None, seed=1, timeout=600)["report"]["utilization"]
        avail = {k: v["available"] for k, v in util.items()}
        if family == "ice40":
            assert dev.luts == dev.ffs == dev.carry == avail["ICESTORM_LC"] and dev.io_pins == avail["SB_IO"]
            assert dev.bram == avail["ICESTORM_RAM"] and dev.dsp == avail.get("ICESTORM_DSP", 0)
        else:  # nextpnr-ecp5 counts the die's I/O; the package has fewer
            assert dev.luts == dev.ffs == 2 * dev.carry == avail["TRELLIS_COMB"] == avail["TRELLIS_FF"]
            assert dev.bram == avail["DP16KD"] and dev.dsp == avail["MULT18X18D"]
            assert dev.io_pins <= avail["TRELLIS_IO"]
