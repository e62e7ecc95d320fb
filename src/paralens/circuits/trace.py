"""Writing circuits by hand: run a Python function on wires and record the circuit.

    >>> from paralens.fields import GF
    >>> c = trace(GF(5), 2, lambda x, y: [x * y + 2 * x, y ** 3])
    >>> c.evaluate([[1, 2], [3, 4]]).tolist()
    [[4, 3], [3, 4]]

Wires support ``+``, ``-``, ``*``, ``**`` (a non-negative integer exponent, by
repeated squaring) and integer constants on either side (elements in galois'
integer representation, reduced mod p over GF(p)); gates apply to wires
(``OR(x, y)``, or :mod:`paralens.circuits.gates`).  Constants fold: ``0 * x`` is
the constant 0 and ``x + 0`` is ``x`` (so ``x + y - 2xy`` over GF(2) records a
single XOR).  The traced circuit is bundled afterwards: gates of one kind at one
depth become one operation (:func:`paralens.circuits.transform.bundle`).
"""

from __future__ import annotations

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.rules import provide
from paralens.circuits.syntax import Builder, Circuit
from paralens.circuits.transform import bundle as _bundle
from paralens.circuits.transform import prune as _prune
from paralens.errors import CompositionError
from paralens.fields.field import as_field


class Wire:
    """A wire of a circuit being traced; ``const`` is its value when it is a known constant."""

    __slots__ = ("b", "id", "const")

    def __init__(self, b: Builder, wid: int, const: int | None = None):
        self.b = b
        self.id = int(wid)
        self.const = const

    def __repr__(self) -> str:
        return f"<wire {self.id}{'' if self.const is None else f' = {self.const}'}>"

    # -- helpers ----------------------------------------------------------------------
    def _lift(self, other) -> Wire:
        if isinstance(other, Wire):
            if other.b is not self.b:
                raise CompositionError("cannot combine wires of two different traces")
            return other
        if isinstance(other, bool | int | np.integer):
            return constant(self.b, int(other))
        raise TypeError(f"a wire combines with wires and integers, not {type(other).__name__}")

    def _is(self, v: int) -> bool:
        return self.const is not None and self.const == _norm(self.b, v)

    # -- arithmetic -----------------------------------------------------------------------
    def __add__(self, other):
        o = self._lift(other)
        if self._is(0):
            return o
        if o._is(0):
            return self
        if o is self and self.b.field.is_finite and self.b.field.characteristic == 2:
            return constant(self.b, 0)  # x + x = 0 in characteristic 2
        return Wire(self.b, self.b.add([self.id], [o.id])[0])

    __radd__ = __add__

    def __neg__(self):
        if self.const is not None:
            return constant(self.b, _neg(self.b, self.const))
        if self.b.field.characteristic == 2:
            return self
        return Wire(self.b, self.b.neg([self.id])[0])

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return self._lift(other) + (-self)

    def __mul__(self, other):
        o = self._lift(other)
        if self._is(0) or o._is(1):
            return self
        if o._is(0) or self._is(1):
            return o
        return Wire(self.b, self.b.mul([self.id], [o.id])[0])

    __rmul__ = __mul__

    def __pow__(self, e):
        if not isinstance(e, int | np.integer) or e < 0:
            raise TypeError(f"a wire's power must be a non-negative integer, got {e!r}")
        result, base, e = None, self, int(e)
        while e:
            if e & 1:
                result = base if result is None else result * base
            e >>= 1
            if e:
                base = base * base
        return result if result is not None else constant(self.b, 1)


def _norm(b: Builder, v: int) -> int:
    F = b.field
    if not F.is_finite:
        return v
    if F.is_prime:
        return v % F.order
    return F.element(v)


def _neg(b: Builder, v: int) -> int:
    F = b.field
    if not F.is_finite:
        return -v
    return int(-F.galois(v))


def constant(b: Builder, v: int) -> Wire:
    """A constant wire.  Integers are elements in galois' integer representation: reduced mod p
    over GF(p); over GF(p^m) an integer in ``0 .. p^m - 1`` (so ``2`` is the generator ``a``
    of GF(2^m), not ``1 + 1``; write ``x + x`` for that)."""
    v = _norm(b, v)
    return Wire(b, b.const([v])[0], const=v)


@provide("apply_gate")
def apply_gate(gate: G.Generator, wires) -> Wire | list[Wire]:
    if not wires:
        raise TypeError(f"{gate.name} needs {gate.n_in} wires")
    b = next((w.b for w in wires if isinstance(w, Wire)), None)
    if b is None:
        raise TypeError(f"{gate.name} applies to traced wires (inside trace), got {wires!r}")
    for w in wires:
        if not isinstance(w, Wire | bool | int | np.integer):
            raise TypeError(f"{gate.name} applies to wires and integers, not {type(w).__name__} ({w!r})")
    ws = [w if isinstance(w, Wire) else constant(b, int(w)) for w in wires]
    if len(ws) != gate.n_in:
        raise TypeError(f"{gate.name} takes {gate.n_in} wires, got {len(ws)}")
    outs = b.op(gate, *[[w.id] for w in ws])
    res = [Wire(b, o[0]) for o in outs]
    return res[0] if len(res) == 1 else res


def trace(field, n_inputs: int, fn, *, bundle: bool = True, name: str | None = None) -> Circuit:
    """Record the circuit that ``fn(*wires)`` computes over ``field`` on ``n_inputs`` input wires.

    ``fn`` returns a wire, an integer constant, or a list/tuple of them (the outputs, in order).
    With ``bundle=True`` gates of one kind at one depth are merged into one operation.
    """
    field = as_field(field)
    b = Builder(field, n_inputs)
    xs = [Wire(b, i) for i in range(n_inputs)]
    out = fn(*xs)
    if not isinstance(out, list | tuple):
        out = [out]
    wires = []
    for o in out:
        if isinstance(o, Wire):
            if o.b is not b:
                raise CompositionError("the traced function returned a wire of another trace")
            wires.append(o.id)
        elif isinstance(o, bool | int | np.integer):
            wires.append(constant(b, int(o)).id)
        else:
            raise TypeError(f"a traced function returns wires or integers, got {type(o).__name__}")
    c = b.build(np.asarray(wires, dtype=np.int64), name=name)
    c = _prune(c)  # gates left dead by constant folding (e.g. the xy of x + y - 2xy over GF(2))
    if bundle:
        c = _bundle(c)
    return c


@provide("definition")
def definition(gate: G.Gate, field) -> Circuit:
    """``gate``'s definition over ``field``: its ``define`` traced (``Gate.definition`` caches it)."""
    c = trace(field, gate.n_in, gate.define)
    if c.n_outputs != gate.n_out:
        raise ValueError(f"gate {gate.name}: its definition has {c.n_outputs} outputs, not {gate.n_out}")
    if any(op.gen is gate for op in c.ops):
        raise ValueError(f"gate {gate.name} is defined in terms of itself")
    return c
