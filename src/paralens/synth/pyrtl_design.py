"""Circuits as PyRTL hardware designs, each in its own ``pyrtl.Block``.

:func:`to_pyrtl` lowers a :class:`~paralens.circuits.Circuit` to a combinational
PyRTL design, gate by gate (a bundled operation of ``k`` gates becomes ``k``
PyRTL operations):

==============  ===============================  =====================================
field           a wire is                        add / mul / neg / const
==============  ===============================  =====================================
GF(2)           1 bit                            ``^`` / ``&`` / wiring / 1-bit const
GF(2^m)         an m-bit word (polynomial basis, XOR of words / carry-less AND-XOR
                galois' integer representation)  product reduced by the irreducible
                                                 polynomial (a fixed XOR network; by a
                                                 constant: a linear map) / wiring / const
GF(p)           ceil(log2 p) bits                sum, then one conditional subtract /
                                                 product, then exact remainder by a
                                                 chain of compare-and-subtract of
                                                 ``p << k`` / ``p - x`` or 0 / const
GF(p^m), small  ceil(log2 p^m) bits              lookup tables (a mux tree of constants)
==============  ===============================  =====================================

Gates other than the primitives go through a hardware rule registry keyed by the
generator's name (:data:`HARDWARE_RULES`; the paralens Boolean gates over GF(2)
map to ``& | ^ ~`` and ``select``; NAND is written ``~(a & b)`` because PyRTL's
Verilog writer has no NAND), and otherwise their definition
(``gate.definition(field)``) is lowered in place, so user-defined gates work.

The design never touches PyRTL's global working block: it is built inside
``pyrtl.set_working_block(block)`` and the previous working block is restored.

    >>> from paralens.fields import GF
    >>> from paralens.circuits import trace
    >>> c = trace(GF(2), 3, lambda a, b, s: [a * b + s, (a + 1) * s])
    >>> d = to_pyrtl(c, name="toy")
    >>> from paralens.synth import simulate
    >>> simulate(d, [[1, 1, 0], [0, 1, 1]]).tolist()
    [[1, 0], [1, 1]]
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.rules import Meaning
from paralens.circuits.truth import CODE_OF
from paralens.synth.netlist import PortLayout, verilog_identifier
from paralens.synth.pyrtl_base import building, pyrtl_module
from paralens.synth.simulation import simulate

_pyrtl = pyrtl_module  # the name learner.py imports


# -- field arithmetic on PyRTL words --------------------------------------------------------------

class Arith:
    """Field arithmetic on PyRTL wirevectors of ``width`` bits (one element each)."""

    def __init__(self, F):
        self.F = F
        self.width = F.bits
        self.pyrtl = pyrtl_module()
        self._consts: dict[int, object] = {}
        self.const_values: dict[int, int] = {}  # id(wirevector) -> value, for constant folding

    def const(self, v: int):
        v = operator.index(v)  # an integer, exactly (a float is refused, not rounded)
        if v not in self._consts:
            w = self.pyrtl.Const(v, bitwidth=self.width)
            self._consts[v] = w
            self.const_values[id(w)] = v
        return self._consts[v]

    def value_of(self, w):
        return self.const_values.get(id(w))

    def add(self, a, b):  # pragma: no cover - abstract
        raise NotImplementedError

    def mul(self, a, b):  # pragma: no cover - abstract
        raise NotImplementedError

    def neg(self, a):  # pragma: no cover - abstract
        raise NotImplementedError


class GF2Arith(Arith):
    """GF(2): add = XOR, mul = AND, neg = identity; one PyRTL operation per gate."""

    def add(self, a, b):
        return a ^ b

    def mul(self, a, b):
        return a & b

    def neg(self, a):
        return a


def _xor_all(bits, pyrtl, zero):
    """XOR of a list of 1-bit wirevectors as a balanced tree (0 when empty)."""
    bits = list(bits)
    if not bits:
        return zero
    while len(bits) > 1:
        nxt = [bits[i] ^ bits[i + 1] for i in range(0, len(bits) - 1, 2)]
        if len(bits) % 2:
            nxt.append(bits[-1])
        bits = nxt
    return bits[0]


class GF2mArith(Arith):
    """GF(2^m) in the polynomial basis (galois' integer representation: bit ``i`` is the
    coefficient of ``a^i``): add = XOR of words, mul = carry-less product (AND-XOR array)
    reduced by the irreducible polynomial, as a fixed XOR network; by a constant, the product is
    the linear map ``x -> c x`` (XORs only); neg = identity."""

    def __init__(self, F):
        super().__init__(F)
        m = self.width
        coeffs = F.irreducible  # highest degree first
        f = 0
        for c in coeffs:
            f = (f << 1) | (int(c) & 1)
        self.poly = f
        # red[k] = x^k mod f as an m-bit mask, for k < 2m - 1
        self.red = []
        r = 1
        for _ in range(2 * m - 1):
            self.red.append(r)
            r <<= 1
            if r >> m & 1:
                r ^= f
        self._zero_bit = self.pyrtl.Const(0, bitwidth=1)

    def _clmul_int(self, a: int, b: int) -> int:
        p = 0
        for i in range(self.width):
            if b >> i & 1:
                p ^= a << i
        out = 0
        for k in range(2 * self.width - 1):
            if p >> k & 1:
                out ^= self.red[k]
        return out

    def _reduce(self, prod_bits):
        """Bits of the product polynomial (list indexed by degree, None for 0) -> reduced word."""
        m = self.width
        out = []
        for j in range(m):
            terms = [prod_bits[k] for k in range(len(prod_bits)) if prod_bits[k] is not None
                     and self.red[k] >> j & 1]
            out.append(_xor_all(terms, self.pyrtl, self._zero_bit))
        return self.pyrtl.concat_list(out)

    def add(self, a, b):
        return a ^ b

    def neg(self, a):
        return a

    def mul(self, a, b):
        m = self.width
        ca, cb = self.value_of(a), self.value_of(b)
        if ca is not None and cb is not None:
            return self.const(self._clmul_int(ca, cb))
        if ca is not None:
            a, b, ca, cb = b, a, cb, ca
        if cb is not None:  # a * c: column i of the map is c * a^i
            cols = [self._clmul_int(1 << i, cb) for i in range(m)]
            out = [_xor_all([a[i] for i in range(m) if cols[i] >> j & 1], self.pyrtl, self._zero_bit)
                   for j in range(m)]
            return self.pyrtl.concat_list(out)
        prod = []
        for k in range(2 * m - 1):
            terms = [a[i] & b[k - i] for i in range(max(0, k - m + 1), min(k, m - 1) + 1)]
            prod.append(_xor_all(terms, self.pyrtl, self._zero_bit))
        return self._reduce(prod)


class GFpArith(Arith):
    """GF(p), p odd: ``ceil(log2 p)``-bit words holding ``0 .. p - 1``.

    add: the ``w + 1``-bit sum, minus p when it is at least p; mul: the ``2w``-bit product,
    reduced exactly by compare-and-subtract of ``p * 2^k`` for ``k = w - 1 .. 0`` (restoring
    division, no ``%``); neg: ``p - x`` for ``x != 0``, else 0.
    """

    def __init__(self, F):
        super().__init__(F)
        self.p = F.order

    def _trunc(self, x, w=None):
        w = self.width if w is None else w
        return x[:w] if len(x) > w else x.zero_extended(w)

    def add(self, a, b):
        pyrtl = self.pyrtl
        s = a + b  # w + 1 bits
        return self._trunc(pyrtl.select(s >= self.p, self._trunc(s - self.p, len(s)), s))

    def mul(self, a, b):
        pyrtl = self.pyrtl
        r = a * b  # 2w bits, < p^2 <= p * 2^w
        for k in range(self.width - 1, -1, -1):
            t = self.p << k
            if t >= 1 << len(r):
                continue
            r = pyrtl.select(r >= t, self._trunc(r - t, len(r)), r)
        return self._trunc(r)

    def neg(self, a):
        pyrtl = self.pyrtl
        return self._trunc(pyrtl.select(a == 0, self.const(0), self._trunc(self.p - a)))


class TableArith(Arith):
    """Small fields GF(p^m), p odd, m > 1: add, mul and neg as lookup tables (mux trees of
    constants, indexed by the operands' integer representations)."""

    MAX_BITS = 5

    def __init__(self, F):
        super().__init__(F)
        if self.width > self.MAX_BITS:
            raise NotImplementedError(f"{F.name}: hardware for GF(p^m) with p odd is by lookup tables, "
                                      f"only up to {2 ** self.MAX_BITS} elements")
        q = F.order
        g = F.galois
        els = g(np.arange(q))
        self.tables = {
            "add": np.asarray((els[:, None] + els[None, :]), dtype=np.int64),
            "mul": np.asarray((els[:, None] * els[None, :]), dtype=np.int64),
            "neg": np.asarray(-els, dtype=np.int64),
        }

    def _lookup(self, table, index, n_index_bits):
        pyrtl = self.pyrtl
        flat = table.reshape(-1)
        vals = [self.const(int(flat[i])) if i < len(flat) else self.const(0) for i in range(1 << n_index_bits)]
        return pyrtl.mux(index, *vals)

    def add(self, a, b):
        q = self.F.order
        t = np.zeros((1 << self.width, 1 << self.width), dtype=np.int64)
        t[:q, :q] = self.tables["add"]
        return self._lookup(t.T, self.pyrtl.concat(b, a), 2 * self.width)

    def mul(self, a, b):
        q = self.F.order
        t = np.zeros((1 << self.width, 1 << self.width), dtype=np.int64)
        t[:q, :q] = self.tables["mul"]
        return self._lookup(t.T, self.pyrtl.concat(b, a), 2 * self.width)

    def neg(self, a):
        q = self.F.order
        t = np.zeros(1 << self.width, dtype=np.int64)
        t[:q] = self.tables["neg"]
        return self._lookup(t, a, self.width)


def arith_for(F) -> Arith:
    """The hardware arithmetic of a finite field (see the table in the module docstring)."""
    if not getattr(F, "is_finite", False):
        raise ValueError(f"hardware needs a finite field, not {F.name}")
    if F.is_binary:
        return GF2Arith(F)
    if F.characteristic == 2:
        return GF2mArith(F)
    if F.is_prime:
        return GFpArith(F)
    return TableArith(F)


# -- hardware rules of gates ------------------------------------------------------------------------

HardwareRule = Callable[[Arith, list], "list | object"]


@dataclass
class _Rule:
    fn: HardwareRule
    gen: object = None  # when set, the rule applies to this generator object only


HARDWARE_RULES: dict[str, list[_Rule]] = {}


def register_hardware_rule(name: str, fn: HardwareRule, *, gen=None) -> None:
    """Register ``fn(arith, args) -> list of output wirevectors`` (or ``NotImplemented`` to fall
    back to the gate's definition) as the hardware of gates named ``name``.  With ``gen`` the rule
    applies to that generator object only.  Later registrations take precedence."""
    HARDWARE_RULES.setdefault(name, []).insert(0, _Rule(fn, gen))


def _boolean(fn):
    def rule(ar: Arith, args):
        if not ar.F.is_binary:
            return NotImplemented  # over other fields: the definition (a polynomial)
        return [fn(ar.pyrtl, *args)]

    return rule


_OPERATOR = {"and": operator.and_, "or": operator.or_, "xor": operator.xor}


def _two_input(name: str):
    """The PyRTL rule of a two-input built-in gate, from its truth-table code (:mod:`paralens.circuits.truth`):
    PyRTL's ``&``, ``|`` or ``^``, or its complement (PyRTL's Verilog writer cannot write its nand primitive)."""
    t = CODE_OF[name]
    for base, op in _OPERATOR.items():
        if t == CODE_OF[base]:
            return lambda P, a, b: op(a, b)
        if t == 15 - CODE_OF[base]:
            return lambda P, a, b: ~op(a, b)
    raise ValueError(f"no PyRTL operator computes {name}")  # pragma: no cover


_BOOLEAN_RULES = {name: _two_input(name) for name in ("xor", "and", "or", "nand", "nor", "xnor")}
_BOOLEAN_RULES["not"] = lambda P, a: ~a
_BOOLEAN_RULES["mux"] = lambda P, s, x, y: P.select(s, y, x)  # mux(s, x, y) = y if s else x
for _name, _fn in _BOOLEAN_RULES.items():
    register_hardware_rule(_name, _boolean(_fn), gen=G.BOOLEAN_GATES[_name])


def _rule_for(gen):
    for r in HARDWARE_RULES.get(gen.name, ()):
        if r.gen is None or r.gen is gen:
            yield r.fn


def _by_definition(gate):
    """The PyRTL rule of a gate: the first rule registered under its name (:func:`register_hardware_rule`)
    that does not return ``NotImplemented``, else its definition lowered in place."""
    def rule(ar: Arith, xs):
        for fn in _rule_for(gate):
            outs = fn(ar, xs)
            if outs is not NotImplemented:
                return outs
        d = gate.definition(ar.F)
        sub = lower(d, ar, xs)
        return [sub[o] for o in d.outputs]
    return rule


#: PyRTL hardware: ``RULES[gen](arith, input_wirevectors) -> output wirevectors`` (one gate); gates
#: read the name registry :data:`HARDWARE_RULES`, then their definition
RULES = Meaning("pyrtl", _by_definition)
RULES[G.ADD] = lambda ar, xs: [ar.add(*xs)]
RULES[G.MUL] = lambda ar, xs: [ar.mul(*xs)]
RULES[G.NEG] = lambda ar, xs: [ar.neg(*xs)]


def lower(circuit, ar: Arith, inputs: list, *, read=None) -> list:
    """Emit ``circuit`` into the current working block on the input wirevectors ``inputs``;
    returns the wirevector of every wire of the circuit (a list of length ``n_wires``).
    ``placeholder`` wirevectors (``WireVector`` assigned later with ``<<=``) are allowed.

    ``read(table, wire, out)``, when given, supplies the wirevector of argument ``wire`` for the
    gate whose first output is circuit wire ``out`` (the pipeline uses it to read a delayed copy);
    by default ``table[wire]``.  Definitions of user gates are lowered without it."""
    F = circuit.field
    if len(inputs) != circuit.n_inputs:
        raise ValueError(f"{circuit.label()} takes {circuit.n_inputs} inputs, got {len(inputs)}")
    table: list = list(inputs) + [None] * (circuit.n_wires - circuit.n_inputs)
    for op in circuit.ops:
        g = op.gen
        if isinstance(g, G.Const):
            vals = F.as_elements(op.data, "constants")  # exact ints (Python ints above 2^62), never floats
            for i in range(op.k):
                table[op.out + i] = ar.const(int(vals[i]))
            continue
        rule = RULES.rule(g)
        for i in range(op.k):
            if read is None:
                xs = [table[int(a[i])] for a in op.args]
            else:
                xs = [read(table, int(a[i]), op.out + i) for a in op.args]
            outs = rule(ar, xs)
            for j, o in enumerate(outs):
                table[op.out + j * op.k + i] = o
    return table


# -- designs ----------------------------------------------------------------------------------------

@dataclass
class Design:
    """A PyRTL design of a circuit: its own block, named input/output wirevectors, the circuit.

    ``ports`` (a :class:`~paralens.synth.netlist.PortLayout`) says which circuit wires form
    which port; ``registers`` are the design's state (empty for a combinational circuit);
    ``meta`` holds what was built and how long it took.  ``latency`` is set on pipelined designs
    (``to_pyrtl(..., pipeline=K)``): the outputs of the row applied in cycle ``t`` appear in cycle
    ``t + latency`` (:func:`~paralens.synth.simulate` and the testbench align them); ``None``
    for designs that are not a pipelined function of their inputs (combinational, learners).
    """

    block: object
    inputs: list
    outputs: list
    circuit: object
    ports: PortLayout
    name: str
    registers: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    latency: int | None = None  # pipelined designs: clock cycles from an input row to its outputs

    @property
    def field(self):
        return self.circuit.field

    @property
    def input_names(self) -> list[str]:
        return [w.name for w in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [w.name for w in self.outputs]

    @property
    def n_inputs(self) -> int:
        """Values per row fed to the design (the circuit's inputs; for a learner, data and targets)."""
        return sum(len(p.index) for p in self.ports.inputs)

    @property
    def n_outputs(self) -> int:
        return sum(len(p.index) for p in self.ports.outputs)

    @property
    def is_combinational(self) -> bool:
        """No state: no registers and no memory writes (so its Verilog has no ``clk``)."""
        return not self.registers and not any(net.op in "r@" for net in self.block.logic)

    def n_logic(self) -> int:
        """The number of PyRTL logic nets (operations, including wiring such as slices)."""
        return len(self.block.logic)

    def simulate(self, X, **kw) -> np.ndarray:
        """:func:`paralens.synth.simulate` of this design."""
        return simulate(self, X, **kw)

    def __repr__(self) -> str:
        return (f"<Design {self.name}: {self.circuit.field.name}, {len(self.inputs)} input ports, "
                f"{len(self.outputs)} output ports, {self.n_logic()} PyRTL nets>")


def wire_levels(circuit) -> np.ndarray:
    """The logic level of every wire of ``circuit``: 0 for inputs and constants, else one more than
    the deepest argument of its gate (a bundled gate of any kind counts one level); the largest
    level over the outputs is ``circuit.depth()``."""
    return circuit.wire_levels()


class _Pipeline:
    """Delayed copies of wirevectors: ``at(wv, t0, t)`` is ``wv`` (valid in cycle ``t0`` of a
    row) passed through ``t - t0`` registers, each register made once and shared by all readers.
    Constants are never registered (they hold in every cycle)."""

    def __init__(self, pyrtl):
        self.pyrtl = pyrtl
        self.chains: dict[int, tuple] = {}  # id(wv) -> (wv, t0, [copy in cycle t0 + 1, t0 + 2, ...])
        self.copy_of: dict[int, tuple] = {}  # id(register) -> (id of the wirevector it delays, delay)
        self.registers: list = []

    def at(self, wv, t0: int, t: int):
        if t == t0 or isinstance(wv, self.pyrtl.Const):
            return wv
        if t < t0:  # pragma: no cover - levels increase along every gate
            raise AssertionError(f"a wire of cycle {t0} read in cycle {t}")
        key = id(wv)
        if key in self.copy_of:  # a register of a chain: extend that chain
            key, k = self.copy_of[key]
            t0 -= k
        if key not in self.chains:
            self.chains[key] = (wv, t0, [])
        base, t_base, chain = self.chains[key]
        if t_base != t0:  # pragma: no cover - one wirevector, one cycle
            raise AssertionError("a wirevector read at two different base cycles")
        while len(chain) < t - t0:
            prev = chain[-1] if chain else base
            r = self.pyrtl.Register(bitwidth=len(base), name=f"pipe{t0 + len(chain) + 1}_{len(self.registers)}")
            r.next <<= prev
            chain.append(r)
            self.copy_of[id(r)] = (key, len(chain))
            self.registers.append(r)
        return chain[t - t0 - 1]


def to_pyrtl(circuit, *, name=None, input_names=None, output_names=None, word_inputs=None,
             word_outputs=None, pipeline: int | None = None) -> Design:
    """Build ``circuit`` as a combinational PyRTL design in a fresh ``pyrtl.Block``.

    Ports are ``Input`` / ``Output`` wirevectors named ``x0 ..`` and ``y0 ..`` (or
    ``input_names`` / ``output_names``, made Verilog identifiers); over GF(2) ``word_inputs``
    (an int ``w``: every ``w`` consecutive inputs; or a list of sizes) makes multi-bit input ports,
    the first wire of a group its least significant bit (e.g. 784 ports of 8 bits); likewise
    ``word_outputs``.  Over GF(q) each port is one element of ``F.bits`` bits.

    ``pipeline=K`` (an int >= 1) makes a pipelined, clocked design instead: with the levels of
    :func:`wire_levels` (``depth = circuit.depth()``), the gates of levels ``(s-1)K + 1 .. sK``
    form stage ``s`` (``s = 1 .. S``, ``S = ceil(depth / K)``) and a bank of registers closes
    every stage: each wire that is read in a later stage, or is an output, is registered at every
    stage boundary it crosses (a wire skipping stages goes through a chain of registers, shared by
    all its readers), and every output port is registered after the last stage.  So every path
    from an input to an output passes exactly ``S`` registers: ``design.latency = S`` cycles (the
    row applied in cycle ``t`` is on the outputs in cycle ``t + S``; registers reset to 0, the
    Verilog export gets ``clk`` and a synchronous ``rst``, which a combinational one lacks).
    Constants are not registered.
    A circuit of depth 0 gives a combinational design with ``latency = 0``.

    Checked by :func:`~paralens.synth.simulate` against ``circuit.evaluate`` (random GF(2)
    circuits; exhaustively over GF(3), GF(4), GF(5), GF(7), GF(8), GF(9), GF(16); pipelined with
    K = 1, 2, 5), by Icarus Verilog on the export, and by Yosys equivalence against paralens' own
    gate-level Verilog.
    """
    pyrtl = pyrtl_module()
    if pipeline is not None:
        if isinstance(pipeline, bool) or not isinstance(pipeline, int | np.integer) or int(pipeline) < 1:
            raise ValueError(f"pipeline is a number of logic levels per stage (an int >= 1), not {pipeline!r}")
        pipeline = int(pipeline)
    t0 = time.perf_counter()
    F = circuit.field
    ar = arith_for(F)
    ports = PortLayout.make(circuit, input_names=input_names, output_names=output_names,
                            word_inputs=word_inputs, word_outputs=word_outputs)
    mname = verilog_identifier(name or circuit.name or "model")
    block = pyrtl.Block()
    e = F.bits
    with building(block):
        in_wv, wire_in = [], [None] * circuit.n_inputs
        for p in ports.inputs:
            w = pyrtl.Input(bitwidth=p.width, name=p.name)
            in_wv.append(w)
            for i, col in enumerate(p.index):
                wire_in[col] = w if len(p.index) == 1 else w[i * e:(i + 1) * e]
        if pipeline is None:
            table = lower(circuit, ar, wire_in)

            def final(col):
                return table[int(circuit.outputs[col])]
        else:
            levels = wire_levels(circuit)
            depth = int(levels[circuit.outputs].max()) if circuit.n_outputs else 0
            n_stages = -(-depth // pipeline)
            # a wire of level L >= 1 is computed in cycle ceil(L / K) - 1 (inputs, constants: 0);
            # the gate making wire ``out`` reads its arguments in its own cycle
            cycle = np.where(levels > 0, -(-levels // pipeline) - 1, 0)
            pipe = _Pipeline(pyrtl)

            def read(tab, wire, out):
                return pipe.at(tab[wire], int(cycle[wire]), int(cycle[out]))

            table = lower(circuit, ar, wire_in, read=read)

            def final(col):
                o = int(circuit.outputs[col])
                return pipe.at(table[o], int(cycle[o]), n_stages)
        out_wv = []
        for p in ports.outputs:
            w = pyrtl.Output(bitwidth=p.width, name=p.name)
            parts = [final(col) for col in p.index]
            w <<= parts[0] if len(parts) == 1 else pyrtl.concat_list(parts)
            out_wv.append(w)
    meta = {"build_seconds": time.perf_counter() - t0, "gates": circuit.n_gates,
            "gate_counts": circuit.gate_counts(), "depth": circuit.depth(), "field": F.name}
    if pipeline is None:
        return Design(block, in_wv, out_wv, circuit, ports, mname, [], meta)
    meta.update(pipeline=pipeline, stages=n_stages,
                register_bits=sum(len(r) for r in pipe.registers), register_count=len(pipe.registers))
    return Design(block, in_wv, out_wv, circuit, ports, mname, list(pipe.registers), meta, latency=n_stages)
