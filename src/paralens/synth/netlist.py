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
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.rules import Meaning
from paralens.circuits.truth import GATE_NAMES, TRUTH

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


@dataclass(frozen=True)
class Kind:
    """A kind of Boolean gate of the closed netlist vocabulary: ``n_in`` inputs and its truth table,
    ``truth[r]`` the output on the inputs whose bits (first input most significant) spell ``r``."""

    name: str
    n_in: int
    truth: tuple


def _two_input(name: str) -> Kind:
    return Kind(name, 2, tuple(int(v) for v in TRUTH[GATE_NAMES.index(name)]))  # from the one truth table


#: the closed vocabulary every GF(2) circuit is lowered to; the writers (gate-level Verilog, BLIF,
#: CNF) read only these kinds, through their truth tables, so a new gate can never reach them unknown
VOCABULARY: dict[str, Kind] = {k.name: k for k in (
    Kind("const0", 0, (0,)),
    Kind("const1", 0, (1,)),
    Kind("not", 1, (1, 0)),
    *(_two_input(n) for n in ("and", "or", "xor", "nand", "nor", "xnor")),
    Kind("mux", 3, tuple((y if s else x) for s in (0, 1) for x in (0, 1) for y in (0, 1))),  # (s, x, y)
)}
BOOLEAN_KINDS = tuple(VOCABULARY)


def minterms(kind: Kind) -> list[tuple]:
    """The input rows (tuples of bits, first input first) on which ``kind`` is 1."""
    n = kind.n_in
    return [tuple((r >> (n - 1 - i)) & 1 for i in range(n)) for r, v in enumerate(kind.truth) if v]


@dataclass
class Netlist:
    """A GF(2) circuit as single Boolean gates of the closed :data:`VOCABULARY`.

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
        """Reference evaluation of the netlist (NumPy, from the kinds' truth tables), rows of ``X`` are samples."""
        X = np.asarray(X, dtype=np.uint8)
        V = np.zeros((self.n_nets, X.shape[0]), dtype=np.uint8)
        V[: self.n_inputs] = X.T
        for kind, o, a in self.gates:
            r = np.zeros(X.shape[0], dtype=np.int64)
            for i in a:
                r = 2 * r + V[i]
            V[o] = np.asarray(VOCABULARY[kind].truth, dtype=np.uint8)[r]
        return V[self.outputs].T.astype(np.int64)

    def counts(self) -> dict:
        return dict(Counter(k for k, _, _ in self.gates))


class _Lowering:
    """The state of one lowering: the gates emitted so far, one shared net per constant."""

    def __init__(self, field, n_inputs: int):
        self.field = field
        self.gates: list = []
        self.consts: dict[int, int] = {}
        self.n_nets = n_inputs

    def gate(self, kind: str, ins) -> int:
        """Emit one gate of the vocabulary; returns its output net."""
        k = VOCABULARY.get(kind)
        if k is None or len(ins) != k.n_in:
            raise ValueError(f"{kind!r} with {len(ins)} inputs is not in the netlist vocabulary {BOOLEAN_KINDS}")
        o = self.n_nets
        self.n_nets += 1
        self.gates.append((kind, o, tuple(int(i) for i in ins)))
        return o

    def const(self, v: int) -> int:
        v = int(v) & 1
        if v not in self.consts:
            self.consts[v] = self.gate(f"const{v}", ())
        return self.consts[v]

    def circuit(self, c, ins: list[int]) -> list[int]:
        """Lower circuit ``c`` with its inputs on nets ``ins``: the one interpreter loop of :data:`RULES`."""
        table = np.full(c.n_wires, -1, dtype=np.int64)
        table[: c.n_inputs] = ins
        for op in c.ops:
            if op.gen is G.CONST:
                for i in range(op.k):
                    table[op.out + i] = self.const(op.data[i])
                continue
            rule = RULES.rule(op.gen)
            args = [table[a] for a in op.args]
            for i in range(op.k):
                outs = rule(self, [int(a[i]) for a in args])
                for j, o in enumerate(outs):
                    table[op.out + j * op.k + i] = o
        return [int(table[o]) for o in c.outputs]


def _by_definition(gate):
    """A gate with no netlist rule: its GF(2) definition, lowered in place."""
    return lambda e, xs: e.circuit(gate.definition(e.field), xs)


#: lowering to the vocabulary: ``RULES[gen](lowering, input_nets) -> output nets`` (one gate)
RULES = Meaning("netlist", _by_definition)
RULES[G.ADD] = lambda e, xs: [e.gate("xor", xs)]
RULES[G.MUL] = lambda e, xs: [e.gate("and", xs)]
RULES[G.NEG] = lambda e, xs: xs  # -x = x over GF(2): wiring
for _g in G.BOOLEAN_GATES.values():  # the built-in gates that are kinds of the vocabulary, by name
    if _g.name in VOCABULARY:
        RULES[_g] = (lambda name: lambda e, xs: [e.gate(name, xs)])(_g.name)


def gf2_netlist(circuit) -> Netlist:
    """Flatten a GF(2) circuit into single Boolean gates (see :class:`Netlist`).

    ``add`` is XOR, ``mul`` AND, ``neg`` and copy are wiring, constants share one net per value;
    the paralens Boolean gates keep their kind; any other gate is expanded through
    ``gate.definition(GF(2))`` (the fallback of :data:`RULES`).  Checked by ``Netlist.evaluate``
    against ``circuit.evaluate``.
    """
    F = circuit.field
    if not (F.is_finite and F.is_binary):
        raise ValueError(f"a Boolean netlist needs a circuit over GF(2), not {F.name}")
    e = _Lowering(F, circuit.n_inputs)
    outs = e.circuit(circuit, list(range(circuit.n_inputs)))
    return Netlist(circuit.n_inputs, e.gates, outs, e.n_nets)
