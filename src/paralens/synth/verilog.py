"""Verilog: the PyRTL export, paralens' own gate-level export, testbenches and Icarus Verilog.

* :func:`to_verilog` writes a design (or a circuit, lowered by
  :func:`~paralens.synth.to_pyrtl`) with ``pyrtl.output_to_verilog``; the module
  is named after the model (made a Verilog identifier).
* :func:`write_gate_verilog` writes a GF(2) circuit *without PyRTL*: one
  ``assign`` per Boolean gate of :func:`~paralens.synth.netlist.gf2_netlist`,
  with the same ports as the PyRTL export (including its unused ``clk``), so that
  Yosys can prove the two exports equivalent (:func:`~paralens.synth.equivalence_check`).
* :func:`write_testbench` writes a testbench feeding the rows of ``X`` and
  printing the outputs one line per row; :func:`run_icarus` compiles and runs
  it with Icarus Verilog (``iverilog -g2012``, ``vvp``) and returns the lines.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from paralens.errors import ToolFailed, ToolNotFound  # noqa: F401 - importable from here too
from paralens.files import FileWriteError, atomic_open, atomic_write
from paralens.synth.netlist import VOCABULARY, PortLayout, gf2_netlist, minterms, verilog_identifier


@contextlib.contextmanager
def opened(path_or_file, mode="w"):
    """An open file as it is, or a path written atomically (:func:`paralens.files.atomic_open`;
    a missing folder is made first)."""
    if hasattr(path_or_file, "write"):
        yield path_or_file
    else:
        p = Path(path_or_file)
        if not p.parent.exists():
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise FileWriteError(f"cannot write {p}: cannot make its folder ({e.strerror})") from None
        with atomic_open(p, mode) as f:
            yield f


def _as_design(design_or_circuit, **kw):
    from paralens.synth.pyrtl_design import Design, to_pyrtl

    if isinstance(design_or_circuit, Design):
        if kw:
            raise TypeError(f"options {sorted(kw)} are for building a design from a circuit")
        return design_or_circuit
    return to_pyrtl(design_or_circuit, **kw)


def to_verilog(design_or_circuit, path_or_file, module_name: str | None = None, **to_pyrtl_kwargs) -> str:
    """Write the design as Verilog with ``pyrtl.output_to_verilog``; returns the module name.

    A circuit is first built with :func:`~paralens.synth.to_pyrtl` (``to_pyrtl_kwargs``: names and
    word ports).  Combinational designs get no reset port (PyRTL still writes an unused ``clk``
    input); designs with registers get a synchronous ``rst`` and ``initial`` register values.
    Checked by Icarus Verilog runs against ``circuit.evaluate`` and by Yosys equivalence.
    """
    pyrtl = __import__("pyrtl")
    d = _as_design(design_or_circuit, **to_pyrtl_kwargs)
    mod = verilog_identifier(module_name or d.name)
    seq = not d.is_combinational
    with opened(path_or_file) as f:
        pyrtl.output_to_verilog(f, add_reset=seq, block=d.block, initialize_registers=seq, module_name=mod)
    return mod


def verilog_text(design_or_circuit, module_name: str | None = None, **kw) -> str:
    """The PyRTL Verilog export as a string."""
    buf = io.StringIO()
    to_verilog(design_or_circuit, buf, module_name, **kw)
    return buf.getvalue()


_OPERATOR = {"and": "&", "or": "|", "xor": "^"}  # Verilog's bitwise operators, by the kind they compute


def _gate_expr(kind: str, args: list[str]) -> str:
    """The Verilog expression of one gate of the netlist vocabulary, read from its truth table."""
    k = VOCABULARY[kind]
    if k.n_in == 0:
        return f"1'b{k.truth[0]}"
    if k.n_in == 1:
        return args[0] if k.truth == (0, 1) else f"~{args[0]}"
    if kind == "mux":
        s, x, y = args
        return f"{s} ? {y} : {x}"
    if k.n_in == 2:
        for name, op in _OPERATOR.items():
            t = VOCABULARY[name].truth
            if k.truth == t:
                return f"{args[0]} {op} {args[1]}"
            if k.truth == tuple(1 - v for v in t):
                return f"~({args[0]} {op} {args[1]})"
    terms = [" & ".join(a if bit else f"~{a}" for a, bit in zip(args, row)) for row in minterms(k)]
    return " | ".join(f"({t})" for t in terms) or "1'b0"  # any other function: its sum of minterms


def write_gate_verilog(circuit, path_or_file, module: str | None = None, *, clock: bool = True,
                       input_names=None, output_names=None, word_inputs=None, word_outputs=None) -> str:
    """Write a GF(2) circuit as gate-level Verilog, independently of PyRTL; returns the module name.

    One ``assign`` per Boolean gate of :func:`~paralens.synth.netlist.gf2_netlist` (bundles
    expanded, user gates through their definitions), ports laid out exactly as by
    :func:`~paralens.synth.to_pyrtl` with the same options (a :class:`Design` may be passed
    instead of a circuit: its circuit, name and ports are used), plus an unused ``clk`` input like
    PyRTL's export (``clock=False`` to leave it out).  Checked by Yosys equivalence against the
    PyRTL export, and by Icarus.
    """
    from paralens.synth.pyrtl_design import Design

    if isinstance(circuit, Design):
        d = circuit
        circuit, ports = d.circuit, d.ports
        module = module or d.name
    else:
        ports = PortLayout.make(circuit, input_names=input_names, output_names=output_names,
                                word_inputs=word_inputs, word_outputs=word_outputs)
    mod = verilog_identifier(module or circuit.name or "model")
    net = gf2_netlist(circuit)
    names: dict[int, str] = {}
    for p in ports.inputs:
        for i, col in enumerate(p.index):
            names[col] = p.name if p.width == 1 else f"{p.name}[{i}]"
    port_names = (["clk"] if clock else []) + [p.name for p in ports.inputs] + [p.name for p in ports.outputs]
    with opened(path_or_file) as f:
        f.write(f"// {circuit.label()} over GF(2): gate-level Verilog written by paralens (not PyRTL)\n")
        f.write(f"// {len(net.gates)} Boolean gates: {net.counts()}\n\n")
        f.write(f"module {mod}({', '.join(port_names)});\n")
        if clock:
            f.write("    input clk;\n")
        for p in ports.inputs:
            f.write(f"    input{'' if p.width == 1 else f'[{p.width - 1}:0]'} {p.name};\n")
        for p in ports.outputs:
            f.write(f"    output{'' if p.width == 1 else f'[{p.width - 1}:0]'} {p.name};\n")
        f.write("\n")
        for _, o, _ in net.gates:
            names[o] = f"n{o}"
        for _, o, _ in net.gates:
            f.write(f"    wire n{o};\n")
        for kind, o, a in net.gates:
            f.write(f"    assign n{o} = {_gate_expr(kind, [names[i] for i in a])};\n")
        for p in ports.outputs:
            parts = [names[int(net.outputs[col])] for col in p.index]
            rhs = parts[0] if len(parts) == 1 else "{" + ", ".join(reversed(parts)) + "}"
            f.write(f"    assign {p.name} = {rhs};\n")
        f.write("endmodule\n")
    return mod


# -- testbenches ------------------------------------------------------------------------------------

def _lit(width: int, v: int) -> str:
    return f"{width}'h{int(v):x}"


def write_testbench(design, X, path_or_file, *, module_name: str | None = None, word: bool = False,
                    memory: bool | None = None, sample: str = "before", reset: bool = True,
                    tb_name: str = "tb") -> str:
    """Write a Verilog testbench that feeds each row of ``X`` (circuit inputs) to the design and
    prints its outputs, one ``$display`` line per row; returns the testbench's module name.

    Each line holds the output ports in decimal separated by spaces, or with ``word=True`` all
    output ports as ONE decimal number (``{y_last, ..., y0}``: a classifier whose outputs form
    the class index prints one class per line).  Rows are applied with ``#1`` delays; with
    ``memory=True`` (automatic for large batches) they are read by ``$readmemh`` from a ``.hex``
    file written next to the testbench (run from that folder: :func:`run_icarus` does).  For a
    design with registers, ``rst`` is held for one cycle first (``reset=True``) and each row is one
    clock cycle; ``sample="before"`` prints the outputs before the rising edge, ``"after"``
    after it.  A pipelined design (``design.latency = L``, from ``to_pyrtl(..., pipeline=K)``)
    is fed one row per cycle and then held for the cycles it takes to drain the pipeline; the
    outputs are printed only in the cycles where they belong to a row (``L`` cycles after it with
    ``sample="before"``, ``L - 1`` with ``"after"``), so it too prints exactly one line per row,
    in order.  Checked by :func:`run_icarus` against ``circuit.evaluate``.
    """
    from paralens.synth.simulation import input_rows

    if sample not in ("before", "after"):
        raise ValueError(f"sample is 'before' or 'after', not {sample!r}")
    d = design
    mod = verilog_identifier(module_name or d.name)
    X = input_rows(d, X)
    vals = d.ports.pack_inputs(X) if d.inputs else []
    n = X.shape[0]
    in_ports = [(p.name, p.width) for p in d.ports.inputs]
    out_ports = [(w.name, len(w)) for w in d.outputs]
    total = sum(w for _, w in in_ports)
    if memory is None:
        memory = n * max(1, len(in_ports)) > 20_000
    seq = not d.is_combinational
    latency = int(getattr(d, "latency", None) or 0) if seq else 0
    # a pipelined design: cycles ``skip .. skip + n - 1`` print rows 0 .. n - 1
    skip = max(0, latency - (1 if sample == "after" else 0))
    cycles = n + skip if n else 0
    lines = _tb_declarations(tb_name, mod, seq, in_ports, out_ports)
    disp = _tb_display(word, out_ports)

    def step(assign: list[str], show: str | None = None) -> list[str]:
        """One row (one cycle): ``show`` is None to print, "" not to, else the condition to print."""
        body = list(assign)
        shown = disp if show is None else (f"if ({show}) {disp}" if show else "")
        if not seq:
            return body + ["#1 " + disp]
        wait = f"#1 {shown}" if shown else "#1;"
        if sample == "before":
            return body + [wait, "clk = 1;", "#1 clk = 0;"]
        return body + ["#1 clk = 1;", wait, "clk = 0;"]

    hex_path = None
    if memory and n and total:
        lines.append(f"    reg[{total - 1}:0] vectors[0:{n - 1}];")
        lines.append("    integer i;")
    lines.append("    initial begin")
    body: list[str] = []
    if seq and reset:
        body += ["rst = 1;", "#1 clk = 1;", "#1 clk = 0;", "rst = 0;"]
    if memory and n and total:
        hex_name = f"{tb_name}_vectors.hex"
        body.append(f'$readmemh("{hex_name}", vectors);')
        cat = "{" + ", ".join(nm for nm, _ in reversed(in_ports)) + "}"
        if skip:
            body.append(f"for (i = 0; i < {cycles}; i = i + 1) begin")
            body += ["    " + s for s in step([f"if (i < {n}) {cat} = vectors[i];"], f"i >= {skip}")]
        else:
            body.append(f"for (i = 0; i < {n}; i = i + 1) begin")
            body += ["    " + s for s in step([f"{cat} = vectors[i];"])]
        body.append("end")
        hex_path = _tb_vectors(n, in_ports, vals)
    else:
        for r in range(cycles if skip else n):
            assign = [f"{nm} = {_lit(w, col[r])};" for (nm, w), col in zip(in_ports, vals)] if r < n else []
            body += step(assign, None if not skip else ("" if r < skip else None))
    body.append("$finish;")
    lines += ["        " + s for s in body]
    lines += ["    end", "endmodule", ""]
    _save_testbench(path_or_file, "\n".join(lines), hex_path, tb_name)
    return tb_name


def _tb_declarations(tb_name: str, mod: str, seq: bool, in_ports, out_ports) -> list[str]:
    """The testbench's header: registers for the inputs, wires for the outputs, the design under test."""
    lines = ["`timescale 1ns/1ps", f"module {tb_name};", "    reg clk = 0;"]
    if seq:
        lines.append("    reg rst = 0;")
    for nm, w in in_ports:
        lines.append(f"    reg{'' if w == 1 else f'[{w - 1}:0]'} {nm} = 0;")
    for nm, w in out_ports:
        lines.append(f"    wire{'' if w == 1 else f'[{w - 1}:0]'} {nm};")
    conns = [".clk(clk)"] + ([".rst(rst)"] if seq else []) + [f".{nm}({nm})" for nm, _ in in_ports + out_ports]
    lines.append(f"    {mod} dut({', '.join(conns)});")
    return lines


def _tb_display(word: bool, out_ports) -> str:
    """The ``$display`` of one row: the output ports in decimal, or with ``word`` one number of all of them."""
    if word and out_ports:
        return '$display("%0d", {' + ", ".join(nm for nm, _ in reversed(out_ports)) + "});"
    if out_ports:
        return '$display("' + " ".join(["%0d"] * len(out_ports)) + '", ' + ", ".join(nm for nm, _ in out_ports) + ");"
    return '$display("");'


def _tb_vectors(n: int, in_ports, vals) -> str:
    """The ``$readmemh`` text: one hex word per row, the input ports concatenated (the first lowest)."""
    words = []
    for r in range(n):
        v, shift = 0, 0
        for (_nm, w), col in zip(in_ports, vals):
            v |= int(col[r]) << shift
            shift += w
        words.append(f"{v:x}")
    return "\n".join(words) + "\n"


def _save_testbench(path_or_file, text: str, hex_text: str | None, tb_name: str) -> None:
    """Write the testbench, and its vectors (if any) next to it first: a testbench never lacks its vectors."""
    is_file = hasattr(path_or_file, "write")
    name = getattr(path_or_file, "name", None) if is_file else os.fspath(path_or_file)
    if hex_text is not None and (not isinstance(name, str) or not os.path.exists(
            name if is_file else os.path.dirname(os.path.abspath(name)))):
        raise ValueError("memory=True needs a testbench path (the vectors go to a .hex file next to it)")
    if hex_text is not None:
        atomic_write(Path(name).with_name(f"{tb_name}_vectors.hex"), hex_text)
    with opened(path_or_file) as f:
        f.write(text)


# -- Icarus Verilog ---------------------------------------------------------------------------------

def icarus_available() -> bool:
    """Whether Icarus Verilog (``iverilog`` and ``vvp``) is on the PATH."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def run_icarus(verilog_path, tb_path, *, timeout: float = 600, extra_files=()) -> list[str]:
    """Compile ``verilog_path`` and the testbench with ``iverilog -g2012`` and run it with ``vvp``
    (in the testbench's folder, where its ``.hex`` vectors are); returns the printed lines
    (``vvp``'s own notices removed).  Raises :class:`ToolNotFound` when Icarus is not installed and
    :class:`ToolFailed` with the tool's output when compilation or simulation fails."""
    if not icarus_available():
        raise ToolNotFound("Icarus Verilog (iverilog, vvp) is not installed: apt-get install iverilog")
    tb_path = Path(tb_path).resolve()
    srcs = [str(Path(verilog_path).resolve()), str(tb_path)] + [str(Path(p).resolve()) for p in extra_files]
    with tempfile.TemporaryDirectory(prefix="paralens_iverilog_") as tmp:
        exe = os.path.join(tmp, "sim.vvp")
        r = subprocess.run(["iverilog", "-g2012", "-o", exe] + srcs, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise ToolFailed(f"iverilog failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        r = subprocess.run(["vvp", "-n", exe], capture_output=True, text=True, timeout=timeout,
                           cwd=str(tb_path.parent))
        if r.returncode != 0:
            raise ToolFailed(f"vvp failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    out = []
    for line in r.stdout.splitlines():
        s = line.strip()
        if not s or "$finish called" in s or s.startswith("VCD info") or s.startswith("WARNING:"):
            continue
        out.append(s)
    return out


def icarus_outputs(design, X, *, workdir=None, word: bool = False, memory: bool | None = None) -> np.ndarray:
    """Export ``design``, simulate it on the rows of ``X`` in Icarus and return the circuit outputs
    ``(batch, n_outputs)`` (or, with ``word=True``, the printed words ``(batch,)``)."""
    if not design.outputs:
        return np.zeros((np.shape(X)[0], 0), dtype=np.int64)
    ctx = tempfile.TemporaryDirectory(prefix="paralens_icarus_") if workdir is None else contextlib.nullcontext(workdir)
    with ctx as wd:
        wd = Path(wd)
        v, tb = wd / f"{design.name}.v", wd / f"{design.name}_tb.v"
        to_verilog(design, v)
        write_testbench(design, X, tb, word=word, memory=memory)
        lines = run_icarus(v, tb)
    X = np.asarray(X)
    if len(lines) != X.shape[0]:
        raise ToolFailed(f"the testbench printed {len(lines)} lines for {X.shape[0]} rows:\n" + "\n".join(lines[:20]))
    vals = [[int(t) for t in s.split()] for s in lines]
    if word:
        return np.array([v[0] for v in vals], dtype=object)
    cols = list(zip(*vals)) if vals else [[] for _ in design.outputs]
    return design.ports.unpack_outputs(cols, design.n_outputs)
