"""A streaming top level: inputs over a narrow bus with ``in_valid``, held in registers, a core, ``out_valid``.

:class:`StreamPlan` describes the design as three GF(2) circuits and a register map (a classifier's
is made by :func:`paralens.boolean.stream.stream_plan`):

* ``front`` turns the bus word of the current group (and the group counter) into ``front.n_outputs``
  bits; ``control`` gives the counter's next value, ``done_next`` and one write enable per group;
  ``core`` maps the held bits to the output word (``class_index``);
* ``held``: ``(bit, group, slot)``: the core's input ``bit`` is a register written from front output
  ``slot`` in the cycles where group ``group`` arrives (``in_valid`` high and the counter at it).

:func:`write_stream_verilog` writes the top module (``clk``, ``rst``, ``in_valid``, ``in_data``,
``out_valid``, ``class_index``) with the three circuits as PyRTL-exported submodules, the core
combinational or pipelined (``pipeline=K`` as :func:`~paralens.synth.to_pyrtl`).  Timing: the sample's
groups ``0 .. C-1`` are presented in cycles with ``in_valid`` high (cycles with it low are ignored, so
the source may pause); ``out_valid`` is high for exactly one cycle, ``1 + P`` cycles after the cycle of
the last group (``P`` the core's pipeline latency), and ``class_index`` holds the result in that cycle.
A new sample may start in the cycle after the last group of the previous one: one sample every ``C``
cycles.  ``rst`` (synchronous) restarts the counter: the next ``in_valid`` cycle is group 0.

The core reads the held bits ANDed with ``complete`` (set when the last group is written, cleared by
the next write): while a sample fills in, the core's inputs stay 0, so the network and the class head
switch once per sample instead of in every cycle (less power).  The AND usually merges into the first
layer's LUTs.  The held bits are one register each and reach the core as one concatenation: a net
driven bit by bit from thousands of assigns made Icarus 60x slower on a 29,000-gate MNIST classifier
(10 images: 77 s against 1.2 s of CPU here).

:func:`write_stream_testbench` writes its testbench with the contract of
:func:`~paralens.synth.verilog.write_testbench`: vectors (one word per sample) read from a file by
absolute path or ``+vectors=PATH``, ``$fatal`` when the file is missing or short, one printed line (the
label) per sample, and ``$fatal`` when the design gave another number of results than samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paralens.synth.netlist import verilog_identifier
from paralens.synth.verilog import (
    _PATH_BYTES,
    _save_testbench,
    _tb_read_vectors,
    _tb_show,
    _vectors_path,
    comment_lines,
    control_ports,
    is_clocked,
    verilog_text,
)

#: the top module's ports besides the bus: clock, reset, in_valid, out_valid
CONTROL_PINS = 4


@dataclass(frozen=True)
class StreamPlan:
    """A streaming design (see the module): ``lanes`` lanes of ``lane_width`` bits on the bus,
    ``n_groups`` groups (cycles) per sample, a group counter of ``counter_width`` bits (0 for one group),
    ``n_bits`` core inputs, ``index_width`` output bits, the register map ``held`` and the circuits
    ``front`` (inputs: the counter, then the bus), ``control`` (inputs: the counter, then ``in_valid``;
    outputs: the counter's next value, ``done_next``, the group write enables) and ``core``."""

    lanes: int
    lane_width: int
    n_groups: int
    slots: int
    counter_width: int
    n_bits: int
    index_width: int
    held: tuple
    front: object
    control: object
    core: object

    @property
    def bus_width(self) -> int:
        return self.lanes * self.lane_width

    @property
    def io_pins(self) -> int:
        """Top-level port bits: ``clk``, ``rst``, ``in_valid``, the bus, ``out_valid``, ``class_index``."""
        return CONTROL_PINS + self.bus_width + self.index_width

    def register_bits(self, core_latency: int) -> dict:
        """The flip-flops of the top level (besides the core's own pipeline registers): the held bits, the
        counter, ``done``, ``complete`` and the valid bits beside the core's pipeline."""
        return {"held": len(self.held), "counter": self.counter_width, "done": 1, "complete": int(bool(self.held)),
                "valid_pipe": core_latency}


def _designs(plan: StreamPlan, module: str, pipeline: int | None):
    from paralens.synth.pyrtl_design import to_pyrtl

    cw = plan.counter_width
    cnt_name, cnt_width = (["cnt"], [cw]) if cw else ([], [])
    front = to_pyrtl(plan.front, name=f"{module}_encode", input_names=cnt_name + ["in_data"],
                     word_inputs=cnt_width + [plan.bus_width], output_names=["enc"],
                     word_outputs=plan.front.n_outputs)
    control = to_pyrtl(plan.control, name=f"{module}_control", input_names=cnt_name + ["in_valid"],
                       word_inputs=cnt_width + [1], output_names=(["cnt_next"] if cw else []) + ["done_next", "we"],
                       word_outputs=cnt_width + [1, plan.n_groups])
    kw = {"pipeline": pipeline} if pipeline else {}
    core = to_pyrtl(plan.core, name=f"{module}_core", input_names=["bits"], word_inputs=[plan.n_bits],
                    output_names=["class_index"], word_outputs=plan.index_width, **kw)
    return front, control, core


def stream_timing(plan: StreamPlan, core_latency: int) -> dict:
    """``latency_cycles`` (from the cycle of a sample's last group to its ``out_valid`` cycle) and
    ``cycles_per_sample`` (the cycles between samples at full rate)."""
    return {"latency_cycles": 1 + int(core_latency), "cycles_per_sample": plan.n_groups}


def write_stream_verilog(plan: StreamPlan, path_or_file, *, module: str, header=None,
                         pipeline: int | None = None) -> dict:
    """Write the stream design's Verilog (top module ``module`` and its three submodules); returns
    ``module``, ``latency_cycles``, ``cycles_per_sample``, ``io_pins``, ``register_bits`` (by kind) and
    ``core_pipeline_register_bits``.  ``header`` lines go first as ``//`` comments (or a function of
    :func:`stream_timing`'s figures giving them, for a header that states the timing)."""
    from paralens.synth.verilog import opened

    mod = verilog_identifier(module)
    front, control, core = _designs(plan, mod, pipeline)
    latency = int(core.latency or 0)
    if callable(header):
        header = header(stream_timing(plan, latency))
    text = comment_lines(header) + _top(plan, mod, core, latency) + "\n"
    text += "\n".join(verilog_text(d) for d in (front, control, core))
    with opened(path_or_file) as f:
        f.write(text)
    return {"module": mod, **stream_timing(plan, latency), "io_pins": plan.io_pins,
            "register_bits": plan.register_bits(latency),
            "core_pipeline_register_bits": int(core.meta.get("register_bits", 0) or 0)}


def _vec(w: int) -> str:
    return f"[{w - 1}:0] " if w > 1 else ""


def _bit(name: str, i: int, width: int) -> str:
    """Bit ``i`` of a signal of ``width`` bits (a one-bit signal is not indexed)."""
    return f"{name}[{i}]" if width > 1 else name


def _top(plan: StreamPlan, mod: str, core, latency: int) -> str:
    cw, C, U, P = plan.counter_width, plan.n_groups, len(plan.held), latency
    ports = ["clk", "rst", "in_valid", "in_data", "out_valid", "class_index"]
    lines = [f"module {mod}({', '.join(ports)});", "    input clk;", "    input rst;", "    input in_valid;",
             f"    input {_vec(plan.bus_width)}in_data;", "    output out_valid;",
             f"    output {_vec(plan.index_width)}class_index;"]
    if cw:
        lines += [f"    reg {_vec(cw)}cnt = 0;", f"    wire {_vec(cw)}cnt_next;"]
    lines += ["    reg done = 0;", "    wire done_next;", f"    wire {_vec(C)}we;",
              f"    wire {_vec(plan.front.n_outputs)}enc;", f"    wire {_vec(plan.n_bits)}bits;"]
    if U:  # one register per held bit: a write wakes only its own reader in an event-driven simulator
        lines += [f"    reg held_{u} = 0;" for u in range(U)] + ["    reg complete = 0;"]
    if P:
        lines.append(f"    reg {_vec(P)}valid_pipe = 0;")
    cnt = [".cnt(cnt)"] if cw else []
    lines.append(f"    {mod}_control control({', '.join(cnt + ['.in_valid(in_valid)'] + (['.cnt_next(cnt_next)'] if cw else []) + ['.done_next(done_next)', '.we(we)'])});")
    lines.append(f"    {mod}_encode encode({', '.join(cnt + ['.in_data(in_data)', '.enc(enc)'])});")
    clocking = [f".{p}({p})" for p in control_ports(is_clocked(core))]
    lines.append(f"    {mod}_core core({', '.join(clocking + ['.bits(bits)', '.class_index(class_index)'])});")
    # one concatenation (a net of thousands of one-bit drivers is slow to resolve in Icarus)
    where = {bit: u for u, (bit, _, _) in enumerate(plan.held)}
    srcs = [f"held_{where[i]}" if i in where else "1'b0" for i in reversed(range(plan.n_bits))]
    rows = [", ".join(srcs[k: k + 16]) for k in range(0, len(srcs), 16)]
    gate = f" & {{{plan.n_bits}{{complete}}}}" if U else ""
    lines.append("    assign bits = {" + ",\n        ".join(rows) + "}" + gate + ";")
    reset = (["cnt <= 0;"] if cw else []) + ["done <= 0;"] + (["complete <= 0;"] if U else []) + \
        (["valid_pipe <= 0;"] if P else [])
    step = (["cnt <= cnt_next;"] if cw else []) + ["done <= done_next;"] + \
        (["if (in_valid) complete <= done_next;"] if U else [])
    if P:
        step.append(f"valid_pipe <= {{valid_pipe[{P - 2}:0], done}};" if P > 1 else "valid_pipe <= done;")
    lines += ["    always @(posedge clk) begin", "        if (rst) begin"] + ["            " + s for s in reset] + \
             ["        end else begin"] + ["            " + s for s in step] + ["        end", "    end"]
    if U:
        lines.append("    always @(posedge clk) begin")
        by_group: dict[int, list] = {}
        for u, (_, g, s) in enumerate(plan.held):
            by_group.setdefault(g, []).append((u, s))
        for g in sorted(by_group):
            regs = " ".join(f"held_{u} <= {_bit('enc', s, plan.front.n_outputs)};" for u, s in by_group[g])
            lines.append(f"        if ({_bit('we', g, C)}) begin {regs} end")
        lines.append("    end")
    valid = _bit("valid_pipe", P - 1, P) if P else "done"
    lines += [f"    assign out_valid = {valid};", "endmodule", ""]
    return "\n".join(lines)


# -- the testbench -------------------------------------------------------------------------------------

def write_stream_testbench(plan: StreamPlan, words: Sequence[int], path, *, module: str,
                           labels: Sequence[str] | None = None, latency: int = 1, stall: bool = False,
                           tb_name: str = "tb") -> str:
    """Write a testbench feeding one sample per entry of ``words`` (group ``j`` of a sample is its bits
    ``j * bus_width ..``; :func:`paralens.boolean.stream.stream_words`) and printing one line per
    ``out_valid`` cycle: ``class_index`` in decimal, or with ``labels`` its label (``?N`` without one).
    The vectors go to ``TB_NAME_vectors.hex`` next to ``path`` (one word per sample; ``+vectors=PATH``
    reads another file).  ``stall=True`` drops ``in_valid`` for one cycle after every second group, with
    other data on the bus (which must be ignored).  ``latency``: the design's ``latency_cycles``.
    Returns the testbench's module name."""
    n = len(words)
    if n == 0:
        raise ValueError("a stream testbench needs at least one sample")
    mod, bw, C = verilog_identifier(module), plan.bus_width, plan.n_groups
    total = C * bw
    hex_path = _vectors_path(path, tb_name)
    out_ports = [("class_index", plan.index_width)]
    lines = ["`timescale 1ns/1ps", f"module {tb_name};", "    reg clk = 0;", "    reg rst = 0;", "    reg in_valid = 0;",
             f"    reg {_vec(bw)}in_data = 0;", "    wire out_valid;", f"    wire {_vec(plan.index_width)}class_index;",
             f"    {mod} dut(.clk(clk), .rst(rst), .in_valid(in_valid), .in_data(in_data), .out_valid(out_valid), "
             ".class_index(class_index));",
             f"    reg [{total}:0] tb_vectors[0:{n - 1}];", f"    reg [{total - 1}:0] tb_word;",
             f"    reg [{8 * _PATH_BYTES - 1}:0] tb_vectors_file;", "    integer tb_i, tb_j, tb_fd, tb_shown;"]
    lines += _tb_show(True, out_ports, labels)
    lines += ["    task tb_cycle;", "        begin", "            #1 if (out_valid === 1'b1) begin tb_show; "
              "tb_shown = tb_shown + 1; end", "            clk = 1;", "            #1 clk = 0;", "        end", "    endtask"]
    body = _tb_read_vectors(tb_name, hex_path, n, total)
    body += ["tb_shown = 0;", "rst = 1;", "tb_cycle;", "rst = 0;",
             f"for (tb_i = 0; tb_i < {n}; tb_i = tb_i + 1) begin", f"    tb_word = tb_vectors[tb_i][{total - 1}:0];",
             f"    for (tb_j = 0; tb_j < {C}; tb_j = tb_j + 1) begin",
             f"        in_valid = 1; in_data = tb_word[tb_j * {bw} +: {bw}];", "        tb_cycle;"]
    if stall:
        body += ["        if (tb_j % 2 == 1) begin in_valid = 0; in_data = ~in_data; tb_cycle; end"]
    body += ["    end", "end", "in_valid = 0;", f"repeat ({int(latency) + 1}) tb_cycle;",
             f'if (tb_shown != {n}) $fatal(1, "{tb_name}: %0d results for {n} samples", tb_shown);', "$finish;"]
    lines += ["    initial begin"] + ["        " + s for s in body] + ["    end", "endmodule", ""]
    hex_text = "".join(f"{int(w):x}\n" for w in words)
    _save_testbench(path, "\n".join(lines), hex_path, hex_text)
    return tb_name


__all__ = ["CONTROL_PINS", "StreamPlan", "stream_timing", "write_stream_testbench", "write_stream_verilog"]
