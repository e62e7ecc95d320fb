"""A Boolean classifier as hardware that says what it is, and proofs that it computes ``predict``.

* :func:`classifier_design`: the whole classifier (:func:`~paralens.boolean.classifier.classifier_circuit`)
  as a PyRTL design: one input port per feature, named after it, as wide as its
  :class:`~paralens.boolean.inputs.FeatureFormat` says; one output ``class_index``.
* :func:`verilog_header`: the comment lines at the top of the Verilog: each port with its feature,
  width and scale, the class index -> label table, the figures (gates, depth, latency).
* :func:`export_verilog`: the Verilog, and optionally a testbench printing one label per row, in the
  ``parallel`` form (one port per feature; combinational, or pipelined) or the ``stream`` form (the
  features over a narrow bus, ``lanes`` per cycle, with ``in_valid`` / ``out_valid``:
  :mod:`paralens.boolean.stream`, header from :func:`stream_header`).
* :func:`reference_verilog` and :func:`formal_check`: an **independent** behavioural model of what
  ``predict`` computes, written from the classifier's description, not from its circuit: the encoder's
  comparisons as Verilog ``>`` and ``==`` on the raw port integers at their real widths (signed where
  they are), the learned network (paralens' gate-level writer, not PyRTL), each class's count as a
  Verilog sum, and the argmax as a linear scan with the tie rule (the lower class wins) — and a Yosys
  proof (miter and SAT over every input) that the exported design equals it.  A wrong port width, a
  threshold off by one or a swapped tie rule makes the proof fail (tested).
"""

from __future__ import annotations

import os
import tempfile

from paralens.boolean.classifier import CircuitClassifier
from paralens.boolean.inputs import verilog_port_names
from paralens.files import atomic_write
from paralens.synth.netlist import verilog_identifier

OUTPUT = "class_index"


def port_names(clf: CircuitClassifier) -> list[str]:
    """The input ports' names: the features' names as distinct Verilog identifiers."""
    return verilog_port_names(clf.feature_names)


def index_width(clf: CircuitClassifier) -> int:
    return max(1, (clf.n_classes - 1).bit_length())


def classifier_design(clf: CircuitClassifier, *, pipeline: int | None = None):
    """The whole classifier as a PyRTL design (pipelined with a register stage every ``pipeline`` levels)."""
    from paralens.synth import to_pyrtl

    c = clf.whole_circuit()
    kw = {"name": clf.name, "input_names": port_names(clf), "word_inputs": clf.inputs.widths,
          "output_names": [OUTPUT], "word_outputs": c.n_outputs}
    return to_pyrtl(c, pipeline=pipeline, **kw) if pipeline else to_pyrtl(c, **kw)


def _safe(text: str) -> str:
    """Text for a Verilog comment: printable, one line, no comment terminator."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text)).replace("*/", "* /")


def verilog_header(clf: CircuitClassifier, design=None) -> list[str]:
    """The lines (without ``//``) that say what the exported module is and what its ports mean."""
    latency = int(getattr(design, "latency", 0) or 0) if design is not None else 0
    lines = [f"paralens Boolean classifier {_safe(clf.name)!s}: {clf.n_features} features, {clf.n_classes} classes",
             ("combinational: class_index follows the inputs in the same cycle (no clock)" if not latency else
              f"pipelined: class_index is the class of the inputs of {latency} clock cycles before "
              "(synchronous reset rst)"),
             "inputs (each port carries the feature's integer, LSB first):"]
    for name, f in zip(port_names(clf), clf.inputs.features):
        lines.append(f"  {name}[{f.width - 1}:0]  feature {_safe(f.name)!r}: {_safe(f.describe())}")
    return lines + _output_lines(clf, latency)


def _output_lines(clf: CircuitClassifier, latency: int) -> list[str]:
    """The header's lines on ``class_index``, the labels and the figures (both forms)."""
    fig = clf.figures()
    lines = [f"output {OUTPUT}[{index_width(clf) - 1}:0]: the class with the most votes, ties to the lower index:"]
    for i, c in enumerate(clf.classes):
        lines.append(f"  {i} = {_safe(c)!s}")
    if clf.target is not None:
        lines.append(f"labels of column {_safe(clf.target)!r}")
    lines.append(f"figures: learned network {fig['network_gates']} gates, depth {fig['network_depth']}; whole "
                 f"classifier {fig['classifier_gates']} gates, depth {fig['classifier_depth']} (two-input "
                 f"gates, logic levels); latency {latency} cycles")
    return lines


def stream_header(clf: CircuitClassifier, plan, timing: dict) -> list[str]:
    """The header of the stream form: its ports, the order of the features on the bus, the timing."""
    lat, per = timing["latency_cycles"], timing["cycles_per_sample"]
    w, bw = plan.lane_width, plan.bus_width
    lines = [f"paralens Boolean classifier {_safe(clf.name)!s} (stream form): {clf.n_features} features, "
             f"{clf.n_classes} classes, {plan.lanes} feature(s) per cycle",
             "ports: clk; rst (synchronous: restarts the feature count); in_valid; "
             f"in_data[{bw - 1}:0] ({plan.lanes} lane(s) of {w} bits: lane k is in_data[k*{w} +: {w}]); "
             f"out_valid; {OUTPUT}[{index_width(clf) - 1}:0]",
             f"protocol: a sample is {per} cycle(s) with in_valid high (cycles with it low are ignored); in the "
             f"j-th of them lane k carries feature j*{plan.lanes} + k, its port integer LSB first (two's "
             "complement where signed; the bits above its width are ignored; lanes past the last feature are "
             "ignored)",
             f"timing: out_valid is high for one cycle, {lat} cycle(s) after the cycle of the sample's last "
             f"feature, with {OUTPUT} the sample's class; the next sample may follow at once (one sample per "
             f"{per} cycle(s))",
             "features (group = the cycle of the sample, lane):"]
    for f, fmt in enumerate(clf.inputs.features):
        lines.append(f"  group {f // plan.lanes} lane {f % plan.lanes}: feature {_safe(fmt.name)!r}: "
                     f"{_safe(fmt.describe())}")
    return lines + _output_lines(clf, lat)


FORMS = ("parallel", "stream")


def export_verilog(clf: CircuitClassifier, path, *, form: str = "parallel", lanes: int | None = None,
                   pipeline: int | None = None, testbench=None, X=None) -> dict:
    """Write the classifier's Verilog to ``path`` (and with ``testbench`` and raw features ``X`` a
    testbench that prints one label per row, as ``predict`` does); returns the figures.

    ``form="parallel"``: one port per feature, ``class_index`` combinational, or pipelined with
    ``pipeline=K`` (:func:`classifier_design`).  ``form="stream"``: the features over a bus of ``lanes``
    features per cycle (default 1), held in registers, then the network and class head (pipelined
    with ``pipeline=K``), ``out_valid`` with ``class_index`` (:mod:`paralens.boolean.stream`).

    Returns ``verilog``, ``module``, the figures of :meth:`~CircuitClassifier.figures`, ``form``,
    ``clocked``, ``latency_cycles`` (cycles from a sample's last input to its result), ``cycles_per_sample``,
    ``io_pins`` (top-level port bits, ``clk`` and ``rst`` included), with ``pipeline`` ``pipeline`` and
    ``pipeline_register_bits``, for the stream form ``lanes``, ``bus_width``, ``register_bits`` (by kind),
    and with a testbench ``testbench`` and ``testbench_samples``."""
    if form not in FORMS:
        raise ValueError(f"form is one of {', '.join(FORMS)}, not {form!r}")
    if (testbench is None) != (X is None):
        raise ValueError("a testbench needs the rows X to feed it, and X needs a testbench path")
    if form == "stream":
        return _export_stream(clf, path, lanes=1 if lanes is None else lanes, pipeline=pipeline,
                              testbench=testbench, X=X)
    if lanes is not None:
        raise ValueError("lanes is the bus of the stream form: pass form='stream' with it")
    from paralens.synth.verilog import to_verilog, write_testbench

    design = classifier_design(clf, pipeline=pipeline)
    top = to_verilog(design, path, header=verilog_header(clf, design))
    latency = int(design.latency or 0)
    out = {"verilog": os.fspath(path), "module": top, **clf.figures(), "form": "parallel",
           "clocked": latency > 0, "latency_cycles": latency, "cycles_per_sample": 1,
           "io_pins": sum(clf.inputs.widths) + index_width(clf) + (2 if latency else 0)}
    if pipeline:
        out.update(pipeline=pipeline, pipeline_register_bits=design.meta.get("register_bits"))
    if testbench is not None:
        write_testbench(design, clf.input_bits(X), testbench, word=True, labels=[str(c) for c in clf.classes])
        out.update(testbench=os.fspath(testbench), testbench_samples=len(X))
    return out


def _export_stream(clf: CircuitClassifier, path, *, lanes: int, pipeline: int | None, testbench, X) -> dict:
    from paralens.boolean.stream import stream_plan, stream_words
    from paralens.synth.stream import write_stream_testbench, write_stream_verilog

    plan = stream_plan(clf, lanes)
    mod = verilog_identifier(clf.name)
    r = write_stream_verilog(plan, path, module=mod, header=lambda timing: stream_header(clf, plan, timing),
                             pipeline=pipeline)
    out = {"verilog": os.fspath(path), "module": r["module"], **clf.figures(), "form": "stream", "clocked": True,
           "latency_cycles": r["latency_cycles"], "cycles_per_sample": r["cycles_per_sample"],
           "io_pins": r["io_pins"], "lanes": lanes, "bus_width": plan.bus_width,
           "register_bits": r["register_bits"]}
    if pipeline:
        out.update(pipeline=pipeline, pipeline_register_bits=r["core_pipeline_register_bits"])
    if testbench is not None:
        write_stream_testbench(plan, stream_words(clf, plan, X), testbench, module=r["module"],
                               labels=[str(c) for c in clf.classes], latency=r["latency_cycles"])
        out.update(testbench=os.fspath(testbench), testbench_samples=len(X))
    return out


# -- the independent model of predict ----------------------------------------------------------------


def _literal(v: int) -> str:
    """A signed 64-bit Verilog constant."""
    return f"-64'sd{-v}" if v < 0 else f"64'sd{v}"


def _port_value(name: str, signed: bool) -> str:
    """The port's integer as a signed expression (an unsigned port gets a zero sign bit)."""
    return f"$signed({name})" if signed else f"$signed({{1'b0, {name}}})"


def reference_verilog(clf: CircuitClassifier, path, module: str = "paralens_reference") -> str:
    """Write the behavioural model of ``predict`` (see the module) to ``path``; returns the module name."""
    from paralens.synth.verilog import write_gate_verilog

    names, feats = port_names(clf), clf.inputs.features
    tests = clf.encoder.bit_tests()
    d = clf.decoder
    k, cw = index_width(clf), max(1, d.bits_per_class.bit_length())
    net_mod = f"{module}_network"
    with tempfile.TemporaryDirectory(prefix="paralens_ref_") as tmp:
        net_path = os.path.join(tmp, "network.v")
        write_gate_verilog(clf.circuit, net_path, net_mod)
        with open(net_path, encoding="utf-8") as f:
            network = f.read()
    lines = [f"module {module}({', '.join(names + [OUTPUT])});"]
    for n, f in zip(names, feats):
        lines.append(f"    input [{f.width - 1}:0] {n};")
    lines.append(f"    output reg [{k - 1}:0] {OUTPUT};")
    lines.append(f"    wire [{len(tests) - 1}:0] e;")
    for b, (j, op, t) in enumerate(tests):
        lines.append(f"    assign e[{b}] = {_port_value(names[j], feats[j].signed)} {op} {_literal(int(t))};")
    n_out = clf.circuit.n_outputs
    lines.append(f"    wire [{n_out - 1}:0] o;")
    conns = [f".x{i}(e[{i}])" for i in range(len(tests))] + [f".y{i}(o[{i}])" for i in range(n_out)]
    lines.append(f"    {net_mod} net({', '.join(conns)});")
    for c in range(d.n_classes):
        terms = " + ".join(f"o[{c * d.bits_per_class + i}]" for i in range(d.bits_per_class))
        lines.append(f"    wire [{cw - 1}:0] count{c} = {terms};")
    lines += [f"    reg [{cw - 1}:0] best;", "    always @* begin",
              f"        best = count0; {OUTPUT} = 0;"]
    for c in range(1, d.n_classes):
        lines.append(f"        if (count{c} > best) begin best = count{c}; {OUTPUT} = {c}; end")
    lines += ["    end", "endmodule", ""]
    atomic_write(path, network + "\n" + "\n".join(lines))
    return module


def formal_check(clf: CircuitClassifier, verilog_path, top: str, *, timeout: float = 900) -> dict:
    """Prove with Yosys that the combinational module ``top`` in ``verilog_path`` computes what the
    independent model of ``predict`` computes, on every input (:func:`reference_verilog`).

    Returns :func:`paralens.synth.yosys.equivalence_check`'s result (``proved``, and a
    ``counterexample`` when not), with ``method`` saying what was compared."""
    from paralens.synth.yosys import equivalence_check

    with tempfile.TemporaryDirectory(prefix="paralens_formal_") as tmp:
        ref = os.path.join(tmp, "reference.v")
        mod = reference_verilog(clf, ref)
        r = equivalence_check(ref, os.fspath(verilog_path), mod, top, timeout=timeout)
    r["method"] = ("yosys miter -equiv, sat -prove over every input: the exported Verilog against an independent behavioural "
                   "model of predict (comparisons on the raw port integers, the learned network, class sums, "
                   "argmax with ties to the lower class)")
    return r


__all__ = ["FORMS", "OUTPUT", "classifier_design", "export_verilog", "formal_check", "port_names", "reference_verilog",
           "stream_header", "verilog_header"]
