"""A saved Boolean classifier as hardware, end to end: build, Verilog, simulation, synthesis, proof.

    python benchmarks/bench_hardware.py MODEL.plc [--json] [--no-yosys] [--simulator auto|fast|compiled]
                                        [--hdl-simulators icarus,verilator] [--forms parallel,stream] [--lanes 1]
    python benchmarks/bench_hardware.py --train-mnist [--epochs 1]    # trains mnist-gates first

Times each stage of delivering a classifier (e.g. ``mnist-gates``) as hardware, on its whole test
split, and checks every stage's predictions against ``CircuitClassifier.predict``:

* ``circuit``: :func:`~paralens.boolean.classifier.classifier_circuit` (comparators, network,
  popcounts, argmax): gates, depth, seconds;
* ``pyrtl``: :func:`~paralens.synth.to_pyrtl` and ``verilog``: :func:`~paralens.synth.to_verilog`
  (bytes, seconds);
* ``software``: the circuit interpreted (``circuit.evaluate``) and the classifier's packed kernel;
* ``pyrtl_simulation``: PyRTL's simulator on every test sample (:func:`~paralens.synth.simulate`);
* ``icarus``: the testbench written, compiled with ``iverilog -g2012`` and run with ``vvp``;
* ``simulators``: Icarus and Verilator side by side on the same exported Verilog and testbench
  (:func:`~paralens.boolean.hardware.export_verilog`), for each form (``parallel``, and ``stream``
  with ``--lanes`` features per cycle): compile seconds, run seconds, samples per second, and whether
  the printed labels equal ``predict_labels``;
* ``yosys`` (when installed): cells, LUT6 and LUT4 (:func:`~paralens.synth.synth_stats`, effort
  chosen by size), and the formal equivalence check of the PyRTL Verilog against paralens' own
  gate-level Verilog (:func:`~paralens.synth.equivalence_check`).

Wall-clock seconds of one run (the tools are separate processes; these machines are noisy, so
compare stages within a run rather than across machines).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def _timed(f, *a, **k):
    t0 = time.perf_counter()
    r = f(*a, **k)
    return r, time.perf_counter() - t0


def compare_simulators(clf, X, tmp, *, simulators=("icarus", "verilator"), forms=("parallel", "stream"), lanes=1,
                       log=print) -> list[dict]:
    """Each form's Verilog and testbench, run by each simulator: seconds, samples/s, equal to predict."""
    from paralens.boolean.hardware import export_verilog
    from paralens.synth.verilator import verilator_available
    from paralens.synth.verilog import icarus_available, run_testbench

    have = {"icarus": icarus_available(), "verilator": verilator_available()}
    want = [str(c) for c in clf.predict_labels(X)]
    rows = []
    for form in forms:
        v, tb = Path(tmp, f"{form}.v"), Path(tmp, f"{form}_tb.v")
        kw = {"lanes": lanes} if form == "stream" else {}
        fig = export_verilog(clf, v, form=form, testbench=tb, X=X, **kw)
        for sim in simulators:
            if not have[sim]:
                log(f"{sim}: not installed, skipped")
                continue
            t = {}
            lines = run_testbench(v, tb, simulator=sim, timeout=7200, timings=t)
            row = {"form": form, "simulator": sim, "samples": len(X), "equal": lines == want,
                   "cycles_per_sample": fig["cycles_per_sample"], "io_pins": fig["io_pins"], **t,
                   "samples_per_second": len(X) / t["run_seconds"]}
            rows.append(row)
            log(f"{form:8s} {sim:9s}: compile {t['compile_seconds']:7.1f} s, run {t['run_seconds']:7.1f} s, "
                f"{row['samples_per_second']:9.0f} samples/s, equal to predict: {row['equal']}")
    return rows


def run(model_path, *, yosys: bool = True, simulator: str = "auto", simulators=("icarus", "verilator"),
        forms=("parallel", "stream"), lanes: int = 1, log=print) -> dict:
    import numpy as np

    from paralens.boolean.classifier import CircuitClassifier, class_from_bits, classifier_circuit
    from paralens.boolean.presets import load_integer_data
    from paralens.synth import simulate, to_pyrtl, to_verilog
    from paralens.synth.verilog import icarus_available, run_icarus, write_gate_verilog, write_testbench
    from paralens.synth.yosys import abc_effort, equivalence_check, synth_stats, yosys_available

    clf = CircuitClassifier.load(model_path)
    _, _, X, y = load_integer_data(clf.info["dataset"], seed=int(clf.info.get("seed", 0)))
    want, t_pred = _timed(clf.predict, X)
    res = {"model": str(model_path), "name": clf.name, "network_gates": clf.gates, "samples": len(X),
           "test_accuracy": float(np.mean(want == y)), "predict_seconds": t_pred}
    circuit, t = _timed(classifier_circuit, clf)
    res["circuit"] = {"gates": circuit.n_gates, "depth": circuit.depth(), "seconds": t}
    log(f"circuit: {circuit.n_gates:,} gates, depth {circuit.depth()}, {t:.1f} s")
    bits = clf.input_bits(X)
    out, t = _timed(circuit.evaluate, bits)
    assert np.array_equal(class_from_bits(np.asarray(out)), want), "the circuit differs from predict"
    res["software"] = {"evaluate_seconds": t}
    design, t = _timed(to_pyrtl, circuit, name=clf.name, word_inputs=clf.inputs.widths, word_outputs=circuit.n_outputs)
    res["pyrtl"] = {"nets": len(design.block.logic), "seconds": t}
    with tempfile.TemporaryDirectory(prefix="bench_hw_") as tmp:
        v = Path(tmp, f"{clf.name}.v")
        top, t = _timed(to_verilog, design, v)
        res["verilog"] = {"bytes": v.stat().st_size, "seconds": t}
        log(f"PyRTL {res['pyrtl']['seconds']:.1f} s, Verilog {v.stat().st_size / 1e6:.1f} MB in {t:.1f} s")
        got, t = _timed(simulate, design, bits, simulator=simulator)
        same = bool(np.array_equal(class_from_bits(got), want))
        res["pyrtl_simulation"] = {"seconds": t, "equal": same, "simulator": simulator}
        log(f"PyRTL simulation of {len(X)} samples: {t:.1f} s, equal to predict: {same}")
        if icarus_available():
            tb = Path(tmp, "tb.v")
            _, t_tb = _timed(write_testbench, design, bits, tb, word=True)
            lines, t = _timed(run_icarus, v, tb, timeout=3600)
            got = [int(s) for s in lines if s.strip().isdigit()]
            same = got == [int(c) for c in want]
            res["icarus"] = {"testbench_seconds": t_tb, "seconds": t, "equal": same}
            log(f"Icarus (iverilog + vvp) on {len(X)} samples: {t:.1f} s, equal to predict: {same}")
        res["simulators"] = compare_simulators(clf, X, tmp, simulators=simulators, forms=forms, lanes=lanes, log=log)
        if yosys and yosys_available():
            effort = abc_effort(circuit.n_gates)
            st = synth_stats(v, top, effort=effort, timeout=3600)
            res["yosys"] = {k: st[k] for k in ("cells", "lut6", "lut4", "seconds", "effort")}
            log(f"Yosys ({effort}): {st['cells']:,} cells, {st['lut6']:,} LUT6, {st['lut4']:,} LUT4 in {st['seconds']:.0f} s")
            gate = Path(tmp, "gates.v")
            write_gate_verilog(design, gate, top)
            r = equivalence_check(v, gate, top, presimplify=True, timeout=3600)
            res["formal"] = {"proved": r["proved"], "seconds": r["seconds"]}
            log(f"formal equivalence (PyRTL Verilog vs gate-level Verilog): "
                f"{'proved' if r['proved'] else 'NOT proved'} in {r['seconds']:.0f} s")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="a saved Boolean classifier (.plc)")
    ap.add_argument("--train-mnist", action="store_true", help="train mnist-gates first (--epochs, default 1)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--no-yosys", action="store_true")
    ap.add_argument("--simulator", default="auto", choices=["auto", "fast", "compiled"])
    ap.add_argument("--hdl-simulators", default="icarus,verilator", help="Verilog simulators to compare")
    ap.add_argument("--forms", default="parallel,stream", help="forms of the exported Verilog to simulate")
    ap.add_argument("--lanes", type=int, default=1, help="features per cycle of the stream form")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.model and not args.train_mnist:
        ap.error("give a model file, or --train-mnist")
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    with tempfile.TemporaryDirectory(prefix="bench_hw_model_") as tmp:
        path = args.model
        if args.train_mnist:
            from paralens.cli import main as cli

            path = os.path.join(tmp, "mnist.plc")
            t0 = time.perf_counter()
            if cli(["train", "--model", "mnist-gates", "--epochs", str(args.epochs), "--save", path, "--no-progress"]):
                return 1
            log(f"trained mnist-gates ({args.epochs} epoch(s)) in {time.perf_counter() - t0:.0f} s")
        res = run(path, yosys=not args.no_yosys, simulator=args.simulator, log=log, lanes=args.lanes,
                  simulators=tuple(args.hdl_simulators.split(",")), forms=tuple(args.forms.split(",")))
    if args.json:
        print(json.dumps(res, indent=1))
    ok = res["pyrtl_simulation"]["equal"] and res.get("icarus", {}).get("equal", True) and \
        all(r["equal"] for r in res["simulators"]) and \
        res.get("formal", {}).get("proved", True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
