"""Shared ground of the hardware writers: port layouts, Verilog names and GF(2) gate netlists.

Two things every hardware view of a circuit needs, kept here so that the PyRTL
design (:mod:`paralens.synth.pyrtl_design`) and paralens' own writers
(:mod:`paralens.synth.verilog`, :mod:`paralens.synth.formats`) agree on them:

* :class:`PortLayout`: which circuit wires form which named port (``x0 ..``,
  ``y0 ..`` by default; with ``word_inputs`` / ``word_outputs`` several GF(2)
  wires form one multi-bit port, wire ``i`` of the group being bit ``i``);
* :func:`gf2_netlist`: a GF(2) circuit flattened to single Boolean gates
  (``and or xor nand nor xnor not mux const0 const1``), the bundled operations
  expanded gate by gate, user gates expanded through their definitions, ``neg``
  (the identity over GF(2)) as wiring.  The independent writers (gate-level
  Verilog, BLIF, CNF) all read this netlist, never PyRTL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from paralens.circuits import generators as G

VERILOG_KEYWORDS = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if
ifnone incdir include initial inout input instance integer join large liblist library localparam
macromodule medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter
pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real
realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small
specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1
triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
bit byte logic int longint shortint string type typedef enum struct union class interface package
import export program property sequence assert assume cover restrict final const chandle var
""".split())

RESERVED_PORTS = frozenset({"clk", "rst"})  # PyRTL's Verilog export adds these


def verilog_identifier(name: str, default: str = "model") -> str:
    """``name`` made a legal (non-escaped) Verilog identifier: other characters become ``_``,
    a leading digit gets a ``m_`` prefix, keywords get a trailing ``_``."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", str(name or ""))
    s = re.sub(r"_+", "_", s).strip("_") or default
    if s[0].isdigit():
        s = "m_" + s
    if s in VERILOG_KEYWORDS:
        s += "_"
    return s


def _groups(n: int, words, what: str) -> list[int]:
    """Group sizes covering ``n`` wires: ``None`` (one wire a port), an int (every ``w``), or sizes."""
    if n == 0:
        return []
    if words is None:
        return [1] * n
    if isinstance(words, int | np.integer):
        w = int(words)
        if w < 1:
            raise ValueError(f"{what}: a word has at least one bit, got {w}")
        sizes = [w] * (n // w) + ([n % w] if n % w else [])
        return sizes
    sizes = [int(s) for s in words]
    if any(s < 1 for s in sizes) or sum(sizes) != n:
        raise ValueError(f"{what}: word sizes {sizes} must be positive and sum to {n}")
    return sizes


def _names(count: int, names, prefix: str, what: str) -> list[str]:
    if names is None:
        return [f"{prefix}{i}" for i in range(count)]
    names = [verilog_identifier(s, f"{prefix}{i}") for i, s in enumerate(names)]
    if len(names) != count:
        raise ValueError(f"{what}: {len(names)} names for {count} ports")
    return names


@dataclass
class Port:
    """A named port: ``width`` bits per element, made of the circuit wires (positions) ``index``."""

    name: str
    index: tuple  # positions among the circuit's inputs (or outputs)
    elem_bits: int  # bits per circuit wire (1 over GF(2), m over GF(2^m), ...)

    @property
    def width(self) -> int:
        return len(self.index) * self.elem_bits


@dataclass
class PortLayout:
    """Input and output ports of a hardware view of a circuit, shared by all its writers.

    ``pack_inputs(X)`` turns rows of circuit inputs (integers) into one integer per input
    port; ``unpack_outputs(values)`` turns one integer per output port back into circuit
    outputs.  Within a word port, circuit wire ``index[i]`` is bits ``i*e .. i*e + e - 1``
    (``e = elem_bits``): the first wire is least significant.
    """

    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)

    @classmethod
    def make(cls, circuit, *, input_names=None, output_names=None, word_inputs=None, word_outputs=None):
        e = circuit.field.bits
        if e != 1 and (word_inputs is not None or word_outputs is not None):
            raise ValueError("word_inputs / word_outputs group GF(2) wires; over "
                             f"{circuit.field.name} every wire is already a {e}-bit word")
        ports = []
        for n, words, names, prefix, what in (
                (circuit.n_inputs, word_inputs, input_names, "x", "inputs"),
                (circuit.n_outputs, word_outputs, output_names, "y", "outputs")):
            sizes = _groups(n, words, what)
            nm = _names(len(sizes), names, prefix, what)
            start, ps = 0, []
            for s, name in zip(sizes, nm):
                ps.append(Port(name, tuple(range(start, start + s)), e))
                start += s
            ports.append(ps)
        all_names = [p.name for p in ports[0] + ports[1]]
        dup = sorted({n for n in all_names if all_names.count(n) > 1})
        if dup:
            raise ValueError(f"port names must be unique; repeated: {dup}")
        bad = sorted(set(all_names) & RESERVED_PORTS)
        if bad:
            raise ValueError(f"port names {bad} are reserved (clock and reset of the Verilog export)")
        return cls(ports[0], ports[1])

    def pack_inputs(self, X) -> list[np.ndarray]:
        """One object array of port values (Python ints) per input port, for a batch ``X``."""
        X = np.asarray(X, dtype=object)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        out = []
        for p in self.inputs:
            v = np.zeros(X.shape[0], dtype=object)
            for i, col in enumerate(p.index):
                v = v + (X[:, col].astype(object) << (i * p.elem_bits))
            out.append(v)
        return out

    def unpack_outputs(self, values: list, n_outputs: int) -> np.ndarray:
        """Circuit outputs ``(batch, n_outputs)`` (int64, object above 62 bits) from port values."""
        values = [np.asarray(v, dtype=object).reshape(-1) for v in values]
        batch = len(values[0]) if values else 0
        e = self.outputs[0].elem_bits if self.outputs else 1
        out = np.zeros((batch, n_outputs), dtype=object)
        mask = (1 << e) - 1
        for p, v in zip(self.outputs, values):
            for i, col in enumerate(p.index):
                out[:, col] = (v >> (i * e)) & mask
        return out.astype(np.int64) if e <= 62 else out


# -- GF(2) netlists -------------------------------------------------------------------------------

BOOLEAN_KINDS = ("and", "or", "xor", "nand", "nor", "xnor", "not", "mux", "const0", "const1")


@dataclass
class Netlist:
    """A GF(2) circuit as single Boolean gates.

    Nets ``0 .. n_inputs - 1`` are the inputs; ``gates[i] = (kind, out_net, in_nets)`` in
    topological order (``mux`` reads ``(s, x, y)`` and gives ``y if s else x``; ``const0`` /
    ``const1`` read nothing); ``outputs`` are nets (a net may be an output several times, and
    an output may be an input net).
    """

    n_inputs: int
    gates: list
    outputs: list
    n_nets: int

    def evaluate(self, X) -> np.ndarray:
        """Reference evaluation of the netlist (NumPy, bitwise), rows of ``X`` are samples."""
        X = np.asarray(X, dtype=np.uint8)
        V = np.zeros((self.n_nets, X.shape[0]), dtype=np.uint8)
        V[: self.n_inputs] = X.T
        for kind, o, a in self.gates:
            V[o] = _BOOL_EVAL[kind](*[V[i] for i in a]) if a else (1 if kind == "const1" else 0)
        return V[self.outputs].T.astype(np.int64)

    def counts(self) -> dict:
        from collections import Counter

        return dict(Counter(k for k, _, _ in self.gates))


_BOOL_EVAL = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "nand": lambda a, b: 1 - (a & b),
    "nor": lambda a, b: 1 - (a | b),
    "xnor": lambda a, b: 1 - (a ^ b),
    "not": lambda a: 1 - a,
    "mux": lambda s, x, y: np.where(s == 1, y, x).astype(np.uint8),
}


def _is_builtin(gen) -> bool:
    return G.BOOLEAN_GATES.get(gen.name) is gen


def gf2_netlist(circuit) -> Netlist:
    """Flatten a GF(2) circuit into single Boolean gates (see :class:`Netlist`).

    ``add`` is XOR, ``mul`` AND, ``neg`` and copy are wiring, constants share one net per value;
    the paralens Boolean gates keep their kind; any other gate is expanded through
    ``gate.definition(GF(2))``.  Checked by ``Netlist.evaluate`` against ``circuit.evaluate``.
    """
    F = circuit.field
    if not (F.is_finite and F.is_binary):
        raise ValueError(f"a Boolean netlist needs a circuit over GF(2), not {F.name}")
    gates: list = []
    consts: dict[int, int] = {}
    counter = [circuit.n_inputs]

    def new(kind, ins) -> int:
        o = counter[0]
        counter[0] += 1
        gates.append((kind, o, tuple(int(i) for i in ins)))
        return o

    def const(v: int) -> int:
        v = int(v) & 1
        if v not in consts:
            consts[v] = new(f"const{v}", ())
        return consts[v]

    def emit(c, ins: list[int]) -> list[int]:
        table = np.full(c.n_wires, -1, dtype=np.int64)
        table[: c.n_inputs] = ins
        for op in c.ops:
            g = op.gen
            if isinstance(g, G.Const):
                for i in range(op.k):
                    table[op.out + i] = const(op.data[i])
                continue
            args = [table[a] for a in op.args]
            for i in range(op.k):
                xs = [int(a[i]) for a in args]
                if isinstance(g, G.Add):
                    outs = [new("xor", xs)]
                elif isinstance(g, G.Mul):
                    outs = [new("and", xs)]
                elif isinstance(g, G.Neg):
                    outs = xs
                elif _is_builtin(g):
                    outs = [new(g.name, xs)]
                elif isinstance(g, G.Gate):
                    d = g.definition(F)
                    outs = emit(d, xs)
                else:
                    raise NotImplementedError(f"no Boolean netlist rule for generator {g.name!r}")
                for j, o in enumerate(outs):
                    table[op.out + j * op.k + i] = o
        return [int(table[o]) for o in c.outputs]

    outs = emit(circuit, list(range(circuit.n_inputs)))
    return Netlist(circuit.n_inputs, gates, outs, counter[0])
