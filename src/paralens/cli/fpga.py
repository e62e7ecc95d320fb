"""``paralens fpga MODEL.plc --device DEVICE --out DIR``: a saved Boolean classifier synthesised, placed and
routed on an FPGA with the open tools, its bitstream, a report, and the routed netlist checked in Icarus
against ``predict`` (:mod:`paralens.synth.fpga`)."""

from __future__ import annotations

import os
import sys

from paralens.cli.common import COUNT, POSITIVE_FLOAT, SEED, UsageError, int_range, refuse

FORMS = ("parallel", "stream")


def add_parser(sub) -> None:
    from paralens.synth.fpga import DEVICES

    f = sub.add_parser("fpga", help="a saved Boolean classifier on an FPGA: Yosys, nextpnr, a bitstream, a report "
                                    "and the routed netlist checked against predict (needs paralens[fpga])",
                       description="Synthesise (Yosys), place and route (nextpnr) a saved Boolean classifier on "
                                   f"an FPGA ({', '.join(DEVICES)}), write its bitstream and DIR/report.json, and "
                                   "simulate the routed netlist in Icarus on the test rows, line by line against "
                                   "predict.")
    f.add_argument("model_file")
    f.add_argument("--device", required=True, help=f"the FPGA: {', '.join(DEVICES)}")
    f.add_argument("--out", required=True, metavar="DIR", help="the folder for the Verilog, bitstream and report")
    f.add_argument("--form", choices=FORMS, default=None,
                   help="parallel: every feature on its own pins (default); stream: features over a narrow bus")
    f.add_argument("--pipeline", type=int_range(1, 10**6, "logic levels per stage"), default=None, metavar="K",
                   help="a register stage every K logic levels (a clocked design)")
    f.add_argument("--freq", type=POSITIVE_FLOAT, default=None, metavar="MHZ",
                   help="the clock target of a clocked design (default: the device's)")
    f.add_argument("--seed", type=SEED, default=None, help="nextpnr's placement seed (default 1)")
    f.add_argument("--data", default=None, help="rows for the routed-netlist check: a table (CSV or .npz); "
                                                "default: a preset's bundled split")
    f.add_argument("--target", default=None, help="the label column of --data")
    f.add_argument("--split", default=None, choices=["test", "train"], help="a preset's split (default test)")
    f.add_argument("--samples", type=COUNT, default=None, metavar="N", help="check on the first N rows only")
    f.add_argument("--no-check", action="store_true", help="no routed-netlist simulation")
    f.add_argument("--json", action="store_true", help="print the report as one JSON object")
    f.set_defaults(func=cmd_fpga)


def _check_rows(args, clf):
    """The rows the routed netlist is checked on, or ``(None, why not)``."""
    from paralens.cli.boolean import model_data
    from paralens.synth.verilog import icarus_available

    if args.no_check:
        refuse(args, ["data", "target", "split", "samples"], "with --no-check (they choose the rows it checks)")
        return None, "--no-check"
    if not icarus_available():
        refuse(args, ["data", "target", "split", "samples"], "without Icarus Verilog (apt-get install iverilog)")
        return None, "Icarus Verilog is not installed (apt-get install iverilog)"
    if args.data is None and clf.info.get("dataset") is None:
        refuse(args, ["split", "samples"], "without rows to check: give --data FILE.csv")
        return None, f"{clf.name} was trained on your own data: give --data FILE.csv to check on its rows"
    X, _ = model_data(args, clf, need_labels=False)
    return (X[: args.samples] if args.samples else X), None


def _export(clf, path: str, tb: str | None, X, args) -> dict:
    """The classifier's Verilog (and testbench) in the chosen form; the facts the flow needs."""
    from paralens.boolean.hardware import export_verilog

    form = args.form or "parallel"
    kw = {"form": form} if form != "parallel" else {}
    try:
        out = export_verilog(clf, path, pipeline=args.pipeline, testbench=tb, X=X, **kw)
    except TypeError as e:
        if kw and "form" in str(e):
            raise UsageError(f"--form {form} needs an export that writes it (this paralens has only the parallel "
                             "form)") from None
        raise
    latency = int(out.get("latency_cycles") or 0)
    return {"module": out["module"], "clocked": bool(out.get("clocked", latency > 0)), "latency_cycles": latency,
            "cycles_per_sample": int(out.get("cycles_per_sample") or 1), "io_pins": out.get("io_pins")}


def cmd_fpga(args) -> int:
    from paralens.boolean.classifier import CircuitClassifier
    from paralens.boolean.packed_jax import predict_labels
    from paralens.synth.fpga import find_device, implement, require_tools

    device = find_device(args.device)
    require_tools(device.family)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out}: is a file, not a folder")
    clf = CircuitClassifier.load(args.model_file)
    X, why_not = _check_rows(args, clf)
    os.makedirs(args.out, exist_ok=True)
    verilog = os.path.join(args.out, f"{clf.name}.v")
    tb = os.path.join(args.out, f"{clf.name}_tb.v") if X is not None else None
    facts = _export(clf, verilog, tb, X, args)
    if args.freq is not None and not facts["clocked"]:
        raise UsageError("--freq applies to a clocked design: add --pipeline K (or --form stream)")
    expected = [str(c) for c in predict_labels(clf, X)] if X is not None else None
    log = None if args.json else (lambda s: print(f"paralens fpga: {s}", file=sys.stderr, flush=True))
    res = implement(verilog, facts["module"], device, args.out, clocked=facts["clocked"], io_pins=facts["io_pins"],
                    latency_cycles=facts["latency_cycles"], cycles_per_sample=facts["cycles_per_sample"],
                    freq_mhz=args.freq, seed=1 if args.seed is None else args.seed, testbench=tb,
                    expected=expected, log=log, about={"model": clf.name, "form": args.form or "parallel",
                                                       "pipeline": args.pipeline,
                                                       **({"routed_check": {"skipped": why_not}} if why_not else {})})
    if args.json:
        import json

        print(json.dumps(res))
    else:
        print("\n".join(report_lines(res)))
    chk = res.get("routed_check", {})
    return 1 if "equal" in chk and (chk["equal"] != chk["samples"] or chk["printed"] != chk["samples"]) else 0


def _use(res: dict, key: str) -> str:
    n, have = res[key], res[f"{key}_available"]
    return f"{n:,} / {have:,} ({100 * n / have:.1f}%)" if have else f"{n:,} / 0"


def _rate(v: float) -> str:
    return f"{v / 1e6:.2f} M samples/s" if v >= 1e6 else f"{v / 1e3:.2f} k samples/s"


def report_lines(res: dict) -> list[str]:
    """The report as lines: device, use against capacity, speed, the routed check and the step times."""
    cp = res.get("critical_path") or {}
    path = (f"{cp['delay_ns']:.2f} ns ({cp['cells']} cells: {cp['logic_ns']:.2f} ns logic, {cp['routing_ns']:.2f} ns "
            f"routing), {cp['start']} -> {cp['end']}") if cp else "none reported"
    lines = [f"model              {res['model']} ({res['form']}{', pipeline ' + str(res['pipeline']) if res['pipeline'] else ''})",
             f"device             {res['device']} ({res['part']})",
             f"LUTs               {_use(res, 'luts')}", f"flip-flops         {_use(res, 'ffs')}",
             f"carry              {_use(res, 'carry')}", f"block RAM          {_use(res, 'bram')}",
             f"DSP                {_use(res, 'dsp')}", f"I/O pins           {_use(res, 'io_pins')}",
             "placed             " + ", ".join(f"{k} {v['used']:,}/{v['available']:,}" for k, v in res["placed"].items())]
    if res["clocked"]:
        met = "met" if res["timing_met"] else "NOT met"
        lines += [f"Fmax               {res['fmax_mhz']:.1f} MHz post-route (target {res['target_mhz']:g} MHz, {met})",
                  f"latency            {res['latency_cycles']} cycles ({res['latency_ns']:.1f} ns)",
                  f"throughput         {_rate(res['samples_per_s'])} ({res['cycles_per_sample']} cycle{'s' if res['cycles_per_sample'] != 1 else ''} per sample)",
                  f"critical path      {path}"]
        io = [p for p in res["critical_paths"] if "<async>" in (p["from"], p["to"])]
        if io:
            lines.append("I/O paths          " + ", ".join(
                f"{'pad' if p['from'] == '<async>' else 'register'} -> {'pad' if p['to'] == '<async>' else 'register'} "
                f"{p['delay_ns']:.2f} ns" for p in io) + " (not in Fmax)")
    else:
        lines += [f"critical path      {path}",
                  f"max sample rate    {_rate(res['samples_per_s'])} (combinational: 1 / critical path)"]
    chk = res.get("routed_check", {})
    if "skipped" in chk:
        lines.append(f"routed netlist: check skipped ({chk['skipped']})")
    elif chk:
        lines.append(f"routed netlist: {chk['equal']}/{chk['samples']} samples equal predict")
        if chk["first_difference"]:
            row, got, want = chk["first_difference"]
            lines.append(f"  first difference at row {row}: the routed netlist printed {got!r}, predict {want!r}")
    lines.append("time               " + ", ".join(f"{k} {v:.1f} s" for k, v in res["seconds"].items()))
    lines.append(f"bitstream          {res['bitstream']}")
    lines.append(f"report             {res['files']['report.json']}")
    return lines


__all__ = ["add_parser", "cmd_fpga", "report_lines"]
