"""Verilog: the PyRTL export, paralens' own gate-level export, testbenches and Icarus Verilog.

* :func:`to_verilog` writes a design (or a circuit, lowered by
  :func:`~paralens.synth.to_pyrtl`) with ``pyrtl.output_to_verilog``; the module
  is named after the model (made a Verilog identifier).
* :func:`write_gate_verilog` writes a GF(2) circuit *without PyRTL*: one
  ``assign`` per Boolean gate of :func:`~paralens.synth.netlist.gf2_netlist`,
  with the same ports as the PyRTL export, so that Yosys can prove the two
  exports equivalent (:func:`~paralens.synth.equivalence_check`).
* :func:`write_testbench` writes a testbench feeding the rows of ``X`` and
  printing the outputs (or their class labels) one line per row; :func:`run_icarus`
  compiles and runs it with Icarus Verilog (``iverilog -g2012``, ``vvp``) and
  returns the lines, or raises :class:`ToolFailed` when the simulation failed.

One rule for every writer (:func:`control_ports`): a module has ``clk`` and ``rst``
ports exactly when its design has state (registers); a combinational module has
neither (PyRTL's export always writes a ``clk``; :func:`to_verilog` removes it).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from paralens.errors import ToolFailed, ToolNotFound  # noqa: F401 - importable from here too
from paralens.files import FileWriteError, atomic_open, atomic_write
from paralens.synth.netlist import VOCABULARY, PortLayout, gf2_netlist, minterms, verilog_identifier
from paralens.synth.tools import run_tool


@contextlib.contextmanager
def opened(path_or_file, mode="w"):
    """An open file as it is, or a path written atomically (:func:`paralens.files.atomic_open`;
    a missing folder is made first)."""
    if hasattr(path_or_file, "write"):
        yield path_or_file
    else:
        p = Path(path_or_file)
        _make_folder(p)
        with atomic_open(p, mode) as f:
            yield f


def _make_folder(p: Path) -> None:
    """Make the folder of file ``p`` if it is missing (:class:`FileWriteError` when it cannot be made)."""
    if not p.parent.exists():
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise FileWriteError(f"cannot write {p}: cannot make its folder ({e.strerror})") from None


def _as_design(design_or_circuit, **kw):
    from paralens.synth.pyrtl_design import Design, to_pyrtl

    if isinstance(design_or_circuit, Design):
        if kw:
            raise TypeError(f"options {sorted(kw)} are for building a design from a circuit")
        return design_or_circuit
    return to_pyrtl(design_or_circuit, **kw)


# -- what every module and testbench writer shares ---------------------------------------------------

def control_ports(clocked: bool) -> tuple[str, ...]:
    """The clock and reset ports of an exported module: ``("clk", "rst")`` when its design has state,
    none when it is combinational.  The one rule of the PyRTL export, the gate-level export and the
    testbench (which drives exactly these)."""
    return ("clk", "rst") if clocked else ()


def is_clocked(design) -> bool:
    """Whether ``design`` has state (registers or memory writes), hence :func:`control_ports`."""
    return not design.is_combinational


def comment_lines(header: Sequence[str] | None) -> str:
    """``header`` as Verilog ``// `` comment lines (one per string; ``""`` when None).

    Each line must be a string without a line break or ``*/``; a bad one is a :class:`ValueError`
    quoting it (a :class:`TypeError` for a single string, which is not a sequence of lines)."""
    if header is None:
        return ""
    if isinstance(header, str):
        raise TypeError(f"header is a sequence of lines, not one string: header=[{header!r}]")
    out = []
    for i, line in enumerate(header):
        if not isinstance(line, str):
            raise TypeError(f"header line {i} is {type(line).__name__} {line!r}, not a string")
        if line.splitlines() not in ([], [line]) or "*/" in line:
            raise ValueError(f"header line {i} {line!r} has a line break or '*/': one comment line each")
        out.append(f"// {line}" if line else "//")
    return "".join(s + "\n" for s in out)


def verilog_string(text: str, what: str) -> str:
    """``text`` as a Verilog string literal (quotes included), checked: printable ASCII without
    ``"`` or ``\\`` (a :class:`ValueError` naming ``what`` and quoting ``text`` otherwise)."""
    if not isinstance(text, str):
        raise TypeError(f"{what} {text!r} is {type(text).__name__}, not a string")
    bad = [ch for ch in text if not " " <= ch <= "~" or ch in '"\\']
    if bad:
        raise ValueError(f"{what} {text!r} cannot be a Verilog string: it has {bad[0]!r} "
                         f"(printable ASCII only, without '\"' or '\\')")
    return f'"{text}"'


# -- the PyRTL export -------------------------------------------------------------------------------

def to_verilog(design_or_circuit, path_or_file, module_name: str | None = None,
               header: Sequence[str] | None = None, **to_pyrtl_kwargs) -> str:
    """Write the design as Verilog with ``pyrtl.output_to_verilog``; returns the module name.

    A circuit is first built with :func:`~paralens.synth.to_pyrtl` (``to_pyrtl_kwargs``: names and
    word ports).  ``header``: lines written first, as ``//`` comments (:func:`comment_lines`).
    Ports follow :func:`control_ports`: a combinational design has neither ``clk`` nor ``rst``
    (PyRTL's unused ``clk`` is removed); a design with registers gets ``clk``, a synchronous
    ``rst`` and ``initial`` register values.  Checked by Icarus Verilog runs against
    ``circuit.evaluate``, by Verilator's lint and by Yosys equivalence.
    """
    d = _as_design(design_or_circuit, **to_pyrtl_kwargs)
    mod = verilog_identifier(module_name or d.name)
    text = comment_lines(header) + _pyrtl_verilog(d, mod)
    with opened(path_or_file) as f:
        f.write(text)
    return mod


def verilog_text(design_or_circuit, module_name: str | None = None, header: Sequence[str] | None = None,
                 **kw) -> str:
    """The PyRTL Verilog export (:func:`to_verilog`) as a string."""
    buf = io.StringIO()
    to_verilog(design_or_circuit, buf, module_name, header, **kw)
    return buf.getvalue()


def _pyrtl_verilog(d, mod: str) -> str:
    """PyRTL's Verilog of design ``d`` as module ``mod``, with the ports of :func:`control_ports`."""
    pyrtl = __import__("pyrtl")
    clocked = is_clocked(d)
    buf = io.StringIO()
    pyrtl.output_to_verilog(buf, add_reset=clocked, block=d.block, initialize_registers=clocked, module_name=mod)
    return buf.getvalue() if clocked else _without_clock(buf.getvalue(), mod)


def _without_clock(text: str, mod: str) -> str:
    """PyRTL's Verilog of a combinational module without its unused ``clk``: out of the port list of
    ``module MOD(...)`` and its ``input clk;`` declaration.  Raises :class:`ToolFailed` when the text
    is not of that shape, or still names ``clk`` (a PyRTL version writing it otherwise)."""
    head = re.compile(rf"^module {re.escape(mod)}\((?P<ports>[^)]*)\);$", re.M)
    m = head.search(text)
    ports = [p.strip() for p in m.group("ports").split(",")] if m else []
    decl = re.compile(r"^[ \t]*input clk;[ \t]*\n", re.M)
    if not m or ports.count("clk") != 1 or len(decl.findall(text)) != 1:
        raise ToolFailed(f"PyRTL's Verilog of {mod} does not declare one clk port as expected:\n{text[:600]}")
    head_line = f"module {mod}({', '.join(p for p in ports if p != 'clk')});"
    body = decl.sub("", text[m.end():], count=1)
    if re.search(r"\bclk\b", body):
        raise ToolFailed(f"PyRTL's Verilog of the combinational {mod} uses clk besides its port")
    return text[:m.start()] + head_line + body


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


def write_gate_verilog(circuit, path_or_file, module: str | None = None, *, clock: bool = False,
                       input_names=None, output_names=None, word_inputs=None, word_outputs=None,
                       header: Sequence[str] | None = None) -> str:
    """Write a GF(2) circuit as gate-level Verilog, independently of PyRTL; returns the module name.

    One ``assign`` per Boolean gate of :func:`~paralens.synth.netlist.gf2_netlist` (bundles
    expanded, user gates through their definitions), ports laid out exactly as by
    :func:`~paralens.synth.to_pyrtl` with the same options (``input_names``, ``word_inputs`` as
    an int or a list of sizes, ...; a :class:`Design` may be passed instead of a circuit: its
    circuit, name and ports are used), so the module has the ports of :func:`to_verilog`'s.  The
    module is combinational, so by :func:`control_ports` it has no ``clk``; ``clock=True`` adds an
    unused one.  ``header``: lines written first, as ``//`` comments.  Checked by Yosys equivalence
    against the PyRTL export, and by Icarus.
    """
    from paralens.synth.pyrtl_design import Design

    head = comment_lines(header)
    if isinstance(circuit, Design):
        d = circuit
        circuit, ports = d.circuit, d.ports
        module = module or d.name
    else:
        ports = PortLayout.make(circuit, input_names=input_names, output_names=output_names,
                                word_inputs=word_inputs, word_outputs=word_outputs)
    mod = verilog_identifier(module or circuit.name or "model")
    net = gf2_netlist(circuit)
    control = control_ports(clocked=False) + (("clk",) if clock else ())
    with opened(path_or_file) as f:
        f.write(head)
        f.write(f"// {circuit.label()} over GF(2): gate-level Verilog written by paralens (not PyRTL)\n")
        f.write(f"// {len(net.gates)} Boolean gates: {net.counts()}\n\n")
        f.write("\n".join(_module_head(mod, control, ports)) + "\n\n")
        f.write("\n".join(_gate_body(net, ports)) + "\n")
        f.write("endmodule\n")
    return mod


def _width(w: int) -> str:
    return "" if w == 1 else f"[{w - 1}:0]"


def _module_head(mod: str, control, ports: PortLayout) -> list[str]:
    """``module MOD(ports);`` and the port declarations: the control inputs, then the layout's ports."""
    names = list(control) + [p.name for p in ports.inputs + ports.outputs]
    lines = [f"module {mod}({', '.join(names)});"]
    lines += [f"    input {nm};" for nm in control]
    lines += [f"    input{_width(p.width)} {p.name};" for p in ports.inputs]
    lines += [f"    output{_width(p.width)} {p.name};" for p in ports.outputs]
    return lines


def _gate_body(net, ports: PortLayout) -> list[str]:
    """One wire and one ``assign`` per gate, then one ``assign`` per output port."""
    names: dict[int, str] = {}
    for p in ports.inputs:
        for i, col in enumerate(p.index):
            names[col] = p.name if p.width == 1 else f"{p.name}[{i}]"
    for _, o, _ in net.gates:
        names[o] = f"n{o}"
    lines = [f"    wire n{o};" for _, o, _ in net.gates]
    lines += [f"    assign n{o} = {_gate_expr(kind, [names[i] for i in a])};" for kind, o, a in net.gates]
    for p in ports.outputs:
        parts = [names[int(net.outputs[col])] for col in p.index]
        rhs = parts[0] if len(parts) == 1 else "{" + ", ".join(reversed(parts)) + "}"
        lines.append(f"    assign {p.name} = {rhs};")
    return lines


# -- testbenches ------------------------------------------------------------------------------------

def _lit(width: int, v: int) -> str:
    return f"{width}'h{int(v):x}"


#: names the testbench declares besides the ports (a port of one of these names is refused)
_TB_NAMES = frozenset({"dut", "tb_i", "tb_vectors", "tb_vectors_file", "tb_fd", "tb_show"})
# the longest vector file path (a plusarg's included) the testbench holds: 8,192 bits, the most Verilator
# passes to a $display-like task
_PATH_BYTES = 1024


def write_testbench(design, X, path_or_file, *, module_name: str | None = None, word: bool = False,
                    memory: bool | None = None, sample: str = "before", reset: bool = True,
                    tb_name: str = "tb", labels: Sequence[str] | None = None) -> str:
    """Write a Verilog testbench that feeds each row of ``X`` (circuit inputs) to the design and
    prints its outputs, one ``$display`` line per row; returns the testbench's module name.

    Each line holds the output ports in decimal separated by spaces, or with ``word=True`` all
    output ports as ONE decimal number (``{y_last, ..., y0}``: a classifier whose outputs form
    the class index prints one class per line).  With ``word=True`` and ``labels`` (strings,
    ``labels[v]`` the line for word value ``v``) each line is the label itself, exactly, or
    ``?V`` for a value without one: the output of a program printing one label per line.  Labels
    are printable ASCII without ``"`` or ``\\`` (else :class:`ValueError`).

    Rows are applied with ``#1`` delays; with ``memory=True`` (automatic for large batches) they
    are read by ``$readmemh`` from ``TB_NAME_vectors.hex``, written next to the testbench; its
    absolute path is written into the testbench (so ``vvp`` may run anywhere) and ``+vectors=PATH``
    reads another file.  The testbench stops with ``$fatal`` (``vvp`` exits 1) when it cannot open
    the file, or when the file holds fewer rows than ``X``.

    The design's ports are those of :func:`control_ports`: a combinational design has no ``clk``.
    For a design with registers, ``rst`` is held for one cycle first (``reset=True``) and each row
    is one clock cycle; ``sample="before"`` prints the outputs before the rising edge, ``"after"``
    after it.  A pipelined design (``design.latency = L``, from ``to_pyrtl(..., pipeline=K)``) is
    fed one row per cycle and then held for the cycles it takes to drain the pipeline; the outputs
    are printed only in the cycles where they belong to a row (``L`` cycles after it with
    ``sample="before"``, ``L - 1`` with ``"after"``), so it too prints exactly one line per row,
    in order.  Checked by :func:`run_icarus` against ``circuit.evaluate``.
    """
    from paralens.synth.simulation import input_rows

    if sample not in ("before", "after"):
        raise ValueError(f"sample is 'before' or 'after', not {sample!r}")
    if isinstance(labels, str):
        raise TypeError(f"labels is a sequence of strings, one per value, not one string {labels!r}")
    if labels is not None and not word:
        raise ValueError("labels name the values of the output word: pass word=True with them")
    d = design
    X = input_rows(d, X)
    tb = _Bench.of(d, X.shape[0], sample, verilog_identifier(module_name or d.name), tb_name)
    vals = d.ports.pack_inputs(X) if d.inputs else []
    if memory is None:
        memory = tb.n * max(1, len(tb.in_ports)) > 20_000
    memory = bool(memory and tb.n and tb.width)
    hex_path = _vectors_path(path_or_file, tb_name) if memory else None
    lines = _tb_declarations(tb_name, tb.mod, tb.clocked, tb.in_ports, tb.out_ports)
    if memory:
        lines += [f"    reg[{tb.width}:0] tb_vectors[0:{tb.n - 1}];",
                  f"    reg[{8 * _PATH_BYTES - 1}:0] tb_vectors_file;", "    integer tb_i, tb_fd;"]
    lines += _tb_show(word, tb.out_ports, labels)
    body = _tb_read_vectors(tb_name, hex_path, tb.n, tb.width) if memory else []
    if tb.clocked and reset:
        body += ["rst = 1;", "#1 clk = 1;", "#1 clk = 0;", "rst = 0;"]
    body += tb.memory_loop() if memory else tb.inline_rows(vals)
    body.append("$finish;")
    lines += ["    initial begin"] + ["        " + s for s in body] + ["    end", "endmodule", ""]
    _save_testbench(path_or_file, "\n".join(lines), hex_path, _tb_vectors(tb.n, tb.in_ports, vals) if memory else None)
    return tb_name


class _Bench:
    """The shape of one testbench: its ports, rows and cycles, and how one row (cycle) is written."""

    def __init__(self, mod, clocked, in_ports, out_ports, n, sample, skip):
        self.mod, self.clocked, self.in_ports, self.out_ports = mod, clocked, in_ports, out_ports
        self.n, self.sample, self.skip = n, sample, skip
        self.width = sum(w for _, w in in_ports)
        self.cycles = n + skip if n else 0

    @classmethod
    def of(cls, d, n: int, sample: str, mod: str, tb_name: str) -> _Bench:
        in_ports = [(p.name, p.width) for p in d.ports.inputs]
        out_ports = [(w.name, len(w)) for w in d.outputs]
        clash = sorted({nm for nm, _ in in_ports + out_ports} & (_TB_NAMES | {tb_name}))
        if clash:
            raise ValueError(f"port names {clash} are names the testbench uses itself: rename the ports")
        clocked = is_clocked(d)
        latency = int(getattr(d, "latency", None) or 0) if clocked else 0
        # a pipelined design: cycles ``skip .. skip + n - 1`` print rows 0 .. n - 1
        skip = max(0, latency - (1 if sample == "after" else 0))
        return cls(mod, clocked, in_ports, out_ports, n, sample, skip)

    def step(self, assign: list[str], show: str | None = None) -> list[str]:
        """One row (one cycle): ``show`` is None to print, "" not to, else the condition to print."""
        shown = "tb_show;" if show is None else (f"if ({show}) tb_show;" if show else "")
        if not self.clocked:
            return list(assign) + ["#1 tb_show;"]
        wait = f"#1 {shown}" if shown else "#1;"
        if self.sample == "before":
            return list(assign) + [wait, "clk = 1;", "#1 clk = 0;"]
        return list(assign) + ["#1 clk = 1;", wait, "clk = 0;"]

    def inline_rows(self, vals) -> list[str]:
        """Every row as literal assignments (then the cycles draining a pipeline)."""
        body = []
        for r in range(self.cycles):
            assign = [f"{nm} = {_lit(w, col[r])};" for (nm, w), col in zip(self.in_ports, vals)] if r < self.n else []
            body += self.step(assign, None if r >= self.skip else "")
        return body

    def memory_loop(self) -> list[str]:
        """A loop over ``tb_vectors`` (then the cycles draining a pipeline)."""
        cat = "{" + ", ".join(nm for nm, _ in reversed(self.in_ports)) + "}"
        if self.skip:
            body = [f"for (tb_i = 0; tb_i < {self.cycles}; tb_i = tb_i + 1) begin"]
            body += ["    " + s for s in self.step([f"if (tb_i < {self.n}) {cat} = tb_vectors[tb_i][{self.width - 1}:0];"],
                                                   f"tb_i >= {self.skip}")]
        else:
            body = [f"for (tb_i = 0; tb_i < {self.n}; tb_i = tb_i + 1) begin"]
            body += ["    " + s for s in self.step([f"{cat} = tb_vectors[tb_i][{self.width - 1}:0];"])]
        return body + ["end"]


def _tb_declarations(tb_name: str, mod: str, seq: bool, in_ports, out_ports) -> list[str]:
    """The testbench's header: registers for the control ports (:func:`control_ports`) and the
    inputs, wires for the outputs, the design under test."""
    control = control_ports(seq)
    lines = ["`timescale 1ns/1ps", f"module {tb_name};"] + [f"    reg {nm} = 0;" for nm in control]
    for nm, w in in_ports:
        lines.append(f"    reg{_width(w)} {nm} = 0;")
    for nm, w in out_ports:
        lines.append(f"    wire{_width(w)} {nm};")
    conns = [f".{nm}({nm})" for nm in control] + [f".{nm}({nm})" for nm, _ in in_ports + out_ports]
    lines.append(f"    {mod} dut({', '.join(conns)});")
    return lines


def _tb_show(word: bool, out_ports, labels) -> list[str]:
    """The task ``tb_show`` printing one row: the output ports in decimal, with ``word`` one number
    of all of them, with ``labels`` the label of that number (``?N`` for a number without one)."""
    return ["    task tb_show;"] + ["        " + s for s in _show_body(word, out_ports, labels)] + ["    endtask"]


def _show_body(word: bool, out_ports, labels) -> list[str]:
    if not out_ports:
        return ['$display("");']
    if not word:
        return ['$display("' + " ".join(["%0d"] * len(out_ports)) + '", ' + ", ".join(nm for nm, _ in out_ports) + ");"]
    cat = "{" + ", ".join(nm for nm, _ in reversed(out_ports)) + "}"
    if labels is None:
        return [f'$display("%0d", {cat});']
    width = sum(w for _, w in out_ports)
    arms = [f'    {width}\'d{v}: $display("%s", {verilog_string(lb, f"label {v}")});'
            for v, lb in enumerate(labels) if v < 1 << width]
    return [f"case ({cat})"] + arms + [f'    default: $display("?%0d", {cat});', "endcase"]


def _tb_read_vectors(tb_name: str, hex_path: Path, n: int, width: int) -> list[str]:
    """Statements reading the vectors into ``tb_vectors`` (``n`` words of ``width`` bits, declared one bit
    wider): the file of ``+vectors=PATH``, else ``hex_path``; ``$fatal`` when it cannot be opened, or
    holds fewer than ``n`` rows.  The last row's extra top bit is set first and a row read from the file
    clears it (``$readmemh`` zero-extends), a check that holds in two-state simulators (Verilator) too."""
    lit = verilog_string(str(hex_path), "the vector file's path")
    if len(str(hex_path)) > _PATH_BYTES:
        raise ValueError(f"the vector file's path {str(hex_path)!r} is longer than {_PATH_BYTES} characters")
    return [
        f'if (!$value$plusargs("vectors=%s", tb_vectors_file)) tb_vectors_file = {lit};',
        'tb_fd = $fopen(tb_vectors_file, "r");',
        f'if (tb_fd == 0) $fatal(1, "{tb_name}: cannot read vectors %0s", tb_vectors_file);',
        "$fclose(tb_fd);",
        f"tb_vectors[{n - 1}] = 0;",
        f"tb_vectors[{n - 1}][{width}] = 1'b1;",
        "$readmemh(tb_vectors_file, tb_vectors);",
        f"if (tb_vectors[{n - 1}][{width}] !== 1'b0)",
        f'    $fatal(1, "{tb_name}: vectors %0s hold fewer than {n} rows", tb_vectors_file);',
    ]


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


def _vectors_path(path_or_file, tb_name: str) -> Path:
    """The absolute path of the vector file: ``TB_NAME_vectors.hex`` in the testbench's folder."""
    is_file = hasattr(path_or_file, "write")
    name = getattr(path_or_file, "name", None) if is_file else os.fspath(path_or_file)
    if not isinstance(name, str) or (is_file and not os.path.exists(name)):
        raise ValueError("memory=True needs a testbench path (the vectors go to a .hex file next to it)")
    return Path(os.path.abspath(name)).with_name(f"{tb_name}_vectors.hex")


def _save_testbench(path_or_file, text: str, hex_path: Path | None, hex_text: str | None) -> None:
    """Write the testbench, and its vectors (if any) first: a testbench never lacks its vectors."""
    if hex_path is not None:
        _make_folder(hex_path)
        atomic_write(hex_path, hex_text)
    with opened(path_or_file) as f:
        f.write(text)


# -- Icarus Verilog ---------------------------------------------------------------------------------

def icarus_available() -> bool:
    """Whether Icarus Verilog (``iverilog`` and ``vvp``) is on the PATH."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def run_icarus(verilog_path, tb_path, *, timeout: float = 600, extra_files=(), plusargs=(),
               timings: dict | None = None) -> list[str]:
    """Compile ``verilog_path`` and the testbench with ``iverilog -g2012`` and run it with ``vvp``
    (in the testbench's folder; ``plusargs`` such as ``"+vectors=PATH"`` passed on); returns the
    lines the testbench printed, exactly (``vvp``'s own notices removed).  Raises :class:`ToolNotFound` when Icarus is not
    installed and :class:`ToolFailed` with the tool's output when compilation fails, or when the
    simulation exits non-zero or prints an ``ERROR:`` or ``FATAL:`` line (a ``$fatal``, a vector
    file ``$readmemh`` could not open).  ``timings`` (a dict) receives ``compile_seconds`` and
    ``run_seconds``."""
    if not icarus_available():
        raise ToolNotFound("Icarus Verilog (iverilog, vvp) is not installed: apt-get install iverilog")
    tb_path = Path(tb_path).resolve()
    srcs = [str(Path(verilog_path).resolve()), str(tb_path)] + [str(Path(p).resolve()) for p in extra_files]
    with tempfile.TemporaryDirectory(prefix="paralens_iverilog_") as tmp:
        exe = os.path.join(tmp, "sim.vvp")
        t0 = time.perf_counter()
        r = run_tool(["iverilog", "-g2012", "-o", exe] + srcs, timeout)
        if r.returncode != 0:
            raise ToolFailed(f"iverilog failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        t1 = time.perf_counter()
        r = run_tool(["vvp", "-n", exe, *map(str, plusargs)], timeout, cwd=tb_path.parent)
        if timings is not None:
            timings.update(compile_seconds=t1 - t0, run_seconds=time.perf_counter() - t1)
    _check_vvp(r, tb_path)
    return [line for line in r.stdout.splitlines() if not _vvp_notice(line)]


def _vvp_notice(line: str) -> bool:
    """Whether a line of ``vvp``'s output is its own notice, not the testbench's ``$display``."""
    s = line.strip()
    return "$finish called" in s or s.startswith(("VCD info", "WARNING:"))


def _check_vvp(r: subprocess.CompletedProcess, tb_path: Path) -> None:
    """:class:`ToolFailed` when ``vvp`` exited non-zero or printed an ``ERROR:`` / ``FATAL:`` line."""
    out = r.stdout + r.stderr
    bad = [s.strip() for s in out.splitlines() if s.strip().startswith(("ERROR:", "FATAL:"))]
    if r.returncode != 0 or bad:
        tail = "\n".join(out.splitlines()[-20:])
        raise ToolFailed(f"vvp failed on {tb_path.name} (exit {r.returncode}): "
                         f"{'; '.join(bad) or 'no error line'}\n{tail}")


SIMULATORS = ("icarus", "verilator")


def check_simulator(simulator: str) -> str:
    """``simulator`` when it is one of :data:`SIMULATORS`, else a :class:`ValueError` naming them."""
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator is one of {', '.join(SIMULATORS)}, not {simulator!r}")
    return simulator


def run_testbench(verilog_path, tb_path, *, simulator: str = "icarus", **kw) -> list[str]:
    """:func:`run_icarus` or :func:`~paralens.synth.verilator.run_verilator` by name (``"icarus"``,
    ``"verilator"``), with the same options; the lines the testbench printed."""
    from paralens.synth.verilator import run_verilator

    run = run_verilator if check_simulator(simulator) == "verilator" else run_icarus
    return run(verilog_path, tb_path, **kw)


def icarus_outputs(design, X, *, workdir=None, word: bool = False, memory: bool | None = None,
                   simulator: str = "icarus") -> np.ndarray:
    """Export ``design``, simulate it on the rows of ``X`` in Icarus (or ``simulator="verilator"``,
    :func:`~paralens.synth.verilator.run_verilator`) and return the circuit outputs ``(batch, n_outputs)``
    (or, with ``word=True``, the printed words ``(batch,)``)."""
    check_simulator(simulator)
    if not design.outputs:
        return np.zeros((np.shape(X)[0], 0), dtype=np.int64)
    ctx = tempfile.TemporaryDirectory(prefix="paralens_icarus_") if workdir is None else contextlib.nullcontext(workdir)
    with ctx as wd:
        wd = Path(wd)
        v, tb = wd / f"{design.name}.v", wd / f"{design.name}_tb.v"
        to_verilog(design, v)
        write_testbench(design, X, tb, word=word, memory=memory)
        lines = run_testbench(v, tb, simulator=simulator)
    X = np.asarray(X)
    if len(lines) != X.shape[0]:
        raise ToolFailed(f"the testbench printed {len(lines)} lines for {X.shape[0]} rows:\n" + "\n".join(lines[:20]))
    vals = [[int(t) for t in s.split()] for s in lines]
    if word:
        return np.array([v[0] for v in vals], dtype=object)
    cols = list(zip(*vals)) if vals else [[] for _ in design.outputs]
    return design.ports.unpack_outputs(cols, design.n_outputs)
