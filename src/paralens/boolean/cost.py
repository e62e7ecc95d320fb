"""The cost of a whole classifier as hardware, split into its parts, for each form.

Published LUT counts of learned logic networks often count the network alone; the encoder's
comparators and the class head (per-class popcounts and the argmax) are hardware too, and the head is
most of an MNIST classifier.  :func:`cost_report` counts every part the same way:

* ``gates``: two-input gate equivalents (:func:`~paralens.boolean.classifier.two_input_equivalents`)
  and ``depth`` (logic levels) of each part as its own circuit: the ``encoder`` (the comparators of the
  bits the network reads, :func:`~paralens.boolean.classifier.encoder_circuit`; in the stream form the
  front of :mod:`paralens.boolean.stream`: ``lanes`` x one feature's comparators and the threshold ROM),
  the ``network`` (the learned gates) and the ``head``; the stream form adds ``control`` (group counter
  and write enables) and registers: ``flip_flops`` by kind, ``enable_muxes`` (one 2:1 multiplexer per
  held bit, counted as two gates in ``gates``; an FPGA flip-flop's clock enable) and the ``input gating``
  (one AND per held bit: the core's inputs are 0 until the sample is complete, :mod:`paralens.synth.stream`);
* with ``yosys=True``, ``lut6`` and ``lut4`` of each part synthesised as its own module
  (:func:`~paralens.synth.yosys.synth_stats`) and of the whole design, and Yosys' flip-flop count.

The parallel form's parts add up to :func:`~paralens.boolean.classifier.classifier_circuit`'s gates
(``whole``), unless constants or shared logic simplify across a part boundary (tested on Iris).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from paralens.boolean.classifier import CircuitClassifier, class_head, encoder_circuit, two_input_equivalents
from paralens.circuits.syntax import Builder, Circuit
from paralens.circuits.transform import fold_constants, prune


def head_circuit(clf: CircuitClassifier) -> Circuit:
    """The class head alone: the network's output bits in, the class index out (:func:`class_head`).
    Network outputs that are constants enter as those constants (as in the whole circuit, where the
    counts fold them away)."""
    c = clf.circuit
    n = c.n_outputs
    b = Builder(c.field, n)
    consts = _constant_wires(c)
    wires = np.arange(n, dtype=np.int64)
    for i, w in enumerate(c.outputs.tolist()):
        if w in consts:
            wires[i] = b.const([consts[w]])[0]
    idx = class_head(b, clf.decoder, wires)
    return prune(fold_constants(b.build(np.concatenate(idx), name=f"{clf.name}_head")))


def _constant_wires(c: Circuit) -> dict:
    """The wires of ``c`` that constants drive, and their values."""
    out = {}
    for op in c.ops:
        if op.gen.name == "const":
            out.update(zip(range(op.out, op.out + op.n_wires), (int(v) for v in op.data)))
    return out


def _part(name: str, c: Circuit) -> dict:
    return {"part": name, "gates": two_input_equivalents(c), "depth": c.depth(), "inputs": c.n_inputs,
            "outputs": c.n_outputs}


def cost_parts(clf: CircuitClassifier, *, form: str = "parallel", lanes: int | None = None) -> tuple[list, dict]:
    """The parts of :func:`cost_report` as ``(name, circuit)`` pairs, and the registers (stream form)."""
    from paralens.boolean.hardware import FORMS
    from paralens.boolean.stream import read_inputs, stream_plan

    if form not in FORMS:
        raise ValueError(f"form is one of {', '.join(FORMS)}, not {form!r}")
    if form == "parallel":
        if lanes is not None:
            raise ValueError("lanes is the bus of the stream form: pass form='stream' with it")
        enc = encoder_circuit(clf, read_inputs(clf.circuit))
        return [("encoder", enc), ("network", clf.circuit), ("head", head_circuit(clf))], {}
    plan = stream_plan(clf, 1 if lanes is None else lanes)
    regs = plan.register_bits(0)
    return [("encoder", plan.front), ("control", plan.control), ("network", clf.circuit),
            ("head", head_circuit(clf))], regs


def cost_report(clf: CircuitClassifier, *, form: str = "parallel", lanes: int | None = None,
                pipeline: int | None = None, yosys: bool = False, effort: str | None = None,
                timeout: float = 900) -> dict:
    """The cost of ``clf`` in ``form`` (see the module).  Returns ``form``, ``parts`` (one dict per
    part: ``part``, ``gates``, ``depth``, ``share`` of the total gates, with Yosys ``lut6``, ``lut4``),
    ``total_gates`` (the parts, plus the stream form's enable multiplexers), ``whole_gates`` (the parallel
    form's one circuit), ``flip_flops`` (by kind; the pipeline's registers under ``pipeline``) and, with
    ``yosys``, ``whole`` (LUT6, LUT4, cells and flip-flops of the whole exported design)."""
    parts, regs = cost_parts(clf, form=form, lanes=lanes)
    rows = [_part(name, c) for name, c in parts]
    out: dict = {"form": form, "model": clf.name}
    if form == "stream":
        out["lanes"] = 1 if lanes is None else lanes
        out["enable_muxes"] = regs["held"]
        rows.append({"part": "enable muxes", "gates": 2 * regs["held"], "depth": 1, "inputs": None, "outputs": None})
        rows.append({"part": "input gating", "gates": regs["held"], "depth": 1, "inputs": None, "outputs": None})
    total = sum(r["gates"] for r in rows)
    for r in rows:
        r["share"] = r["gates"] / total if total else 0.0
    out.update(parts=rows, total_gates=total, whole_gates=two_input_equivalents(clf.whole_circuit()))
    if yosys or pipeline:
        with tempfile.TemporaryDirectory(prefix="paralens_cost_") as tmp:
            v = os.path.join(tmp, "whole.v")
            from paralens.boolean.hardware import export_verilog

            fig = export_verilog(clf, v, form=form, lanes=lanes, pipeline=pipeline)
            regs = dict(regs, valid_pipe=fig["register_bits"]["valid_pipe"]) if form == "stream" else regs
            if pipeline:
                regs["pipeline"] = fig.get("pipeline_register_bits") or 0
            if yosys:
                _yosys_costs(rows, parts, tmp, v, fig["module"], effort, timeout, out)
    out["flip_flops"] = {**regs, "total": sum(regs.values())}
    return out


def _yosys_costs(rows, parts, tmp, whole_v, top, effort, timeout, out) -> None:
    from paralens.synth.verilog import to_verilog
    from paralens.synth.yosys import abc_effort, synth_stats

    for r, (name, c) in zip(rows, parts):
        v = os.path.join(tmp, f"part_{name}.v")
        mod = to_verilog(c, v, module_name=f"part_{name}")
        st = synth_stats(v, mod, effort=effort or abc_effort(c.n_gates), timeout=timeout)
        r.update(lut6=st["lut6"], lut4=st["lut4"], yosys_cells=st["cells"])
    n = sum(c.n_gates for _, c in parts)
    st = synth_stats(whole_v, top, effort=effort or abc_effort(n), timeout=timeout)
    ffs = sum(k for t, k in st["cells_by_type"].items() if "DFF" in t.upper())
    out["whole"] = {"lut6": st["lut6"], "lut4": st["lut4"], "yosys_cells": st["cells"], "flip_flops": ffs,
                    "seconds": st["seconds"]}


def cost_table(report: dict) -> str:
    """:func:`cost_report` as a small text table."""
    has_luts = any("lut6" in r for r in report["parts"])
    head = f"{'part':<13}{'gates':>10}{'share':>8}{'depth':>7}" + (f"{'LUT6':>9}{'LUT4':>9}" if has_luts else "")
    lines = [f"cost of {report['model']} ({report['form']} form)", head]
    for r in report["parts"]:
        luts = f"{r.get('lut6', ''):>9}{r.get('lut4', ''):>9}" if has_luts else ""
        lines.append(f"{r['part']:<13}{r['gates']:>10,}{r['share']:>8.1%}{r['depth']:>7}{luts}")
    lines.append(f"{'total':<13}{report['total_gates']:>10,}{1:>8.0%}")
    if "whole" in report:
        w = report["whole"]
        lines.append(f"whole design synthesised at once: {w['lut6']} LUT6, {w['lut4']} LUT4, {w['flip_flops']} "
                     "flip-flops (Yosys)")
    ff = report["flip_flops"]
    if ff["total"]:
        lines.append("flip-flops: " + ", ".join(f"{k} {v}" for k, v in ff.items()))
    return "\n".join(lines)


__all__ = ["cost_parts", "cost_report", "cost_table", "head_circuit"]
