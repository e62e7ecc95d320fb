"""Polynomial circuits as a syntax: typed, acyclic open circuits of bundled generators.

A :class:`Circuit` over a field has ``n_inputs`` input wires and a list of
output wires.  Its body is a list of operations (:class:`Op`) in topological
order, like a jaxpr: each applies one generator to a *bundle* of ``k`` gates at
once, reading index arrays of wires and writing ``k * n_out`` new wires.  Wires
are numbered: ``0 .. n_inputs - 1`` are the inputs; an op's outputs follow the
wires before it, port-major (output port ``j`` of gate ``i`` is wire
``op.out + j * op.k + i``).  A 100,000-gate layer is one op with index arrays,
not 100,000 Python objects.

Copy and discard are wiring (a wire read twice, a wire never read); identity,
swap and permutations are circuits without operations.  ``f >> g`` composes
(diagrammatic order), ``f @ g`` tensors; both check arity and field when built.

    >>> from paralens.fields import GF
    >>> F = GF(2)
    >>> c = Circuit.generator(F, "and") >> Circuit.generator(F, "not")
    >>> c
    <Circuit GF(2): 2 -> 1, 2 gates (and 1, not 1)>
    >>> c.evaluate([[0, 0], [1, 1]]).tolist()
    [[1], [0]]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.rules import entry
from paralens.errors import CompositionError
from paralens.fields.field import Field, FieldError, as_field


@dataclass(frozen=True, eq=False)
class Op:
    """One bundled operation: ``gen`` applied to ``k`` gates.

    ``args[i]`` is the ``(k,)`` array of wires feeding input port ``i``; outputs are the
    wires ``out .. out + k * n_out - 1`` (port-major); ``data`` holds per-gate constants
    (for ``const``), in the field's exact element dtype (``int64``, or Python ints above 2^62:
    :meth:`~paralens.fields.FiniteField.as_elements`; :class:`Builder` converts, bundling re-checks).
    """

    gen: G.Generator
    args: tuple
    out: int
    k: int
    data: np.ndarray | None = None

    @property
    def n_wires(self) -> int:
        return self.k * self.gen.n_out

    def port(self, j: int) -> np.ndarray:
        """The wires of output port ``j`` (one per gate)."""
        return np.arange(self.out + j * self.k, self.out + (j + 1) * self.k, dtype=np.int64)


def _wires(x, what="wires") -> np.ndarray:
    a = np.asarray(x, dtype=np.int64).reshape(-1)
    return a


class Builder:
    """Appends bundled operations; the vocabulary of reverse rules and circuit transformations.

    Every method takes and returns wire arrays (int64, one wire per gate of a bundle).
    """

    def __init__(self, field: Field, n_inputs: int):
        self.field = as_field(field)
        self.n_inputs = int(n_inputs)
        self.n_wires = self.n_inputs
        self.ops: list[Op] = []
        self._zero: int | None = None

    def inputs(self) -> np.ndarray:
        return np.arange(self.n_inputs, dtype=np.int64)

    def op(self, gen: G.Generator, *args, data=None) -> list[np.ndarray]:
        """Append ``gen`` on a bundle; returns one wire array per output port."""
        if len(args) != gen.n_in:
            raise CompositionError(f"{gen.name} takes {gen.n_in} inputs, got {len(args)}")
        arrs = tuple(_wires(a) for a in args)
        if arrs:
            k = len(arrs[0])
            if any(len(a) != k for a in arrs):
                raise CompositionError(f"{gen.name}: the index arrays of a bundle differ in length "
                                       f"({[len(a) for a in arrs]})")
            for a in arrs:
                if k and (a.min() < 0 or a.max() >= self.n_wires):
                    bad = int(a.min()) if a.min() < 0 else int(a.max())
                    raise CompositionError(f"{gen.name}: wire {bad} does not exist yet "
                                           f"(the circuit has {self.n_wires} wires so far)")
        else:
            if data is None:
                raise CompositionError(f"{gen.name} has no inputs: give data (one value per gate)")
            k = None
        if data is not None:
            # constants keep the field's exact element dtype (int64, or Python ints above 2^62)
            data = self.field.as_elements(data, f"constants of {gen.name}").reshape(-1)
            k = len(data) if k is None else k
            if len(data) != k:
                raise CompositionError(f"{gen.name}: {len(data)} constants for {k} gates")
        if k == 0:
            return [np.zeros(0, dtype=np.int64) for _ in range(gen.n_out)]
        op = Op(gen, arrs, self.n_wires, k, data)
        self.ops.append(op)
        self.n_wires += op.n_wires
        return [op.port(j) for j in range(gen.n_out)]

    # -- the generators -------------------------------------------------------------
    def add(self, x, y) -> np.ndarray:
        return self.op(G.ADD, x, y)[0]

    def mul(self, x, y) -> np.ndarray:
        return self.op(G.MUL, x, y)[0]

    def neg(self, x) -> np.ndarray:
        return self.op(G.NEG, x)[0]

    def sub(self, x, y) -> np.ndarray:
        if self.field.characteristic == 2:
            return self.add(x, y)
        return self.add(x, self.neg(y))

    def const(self, values) -> np.ndarray:
        """One constant gate per value (integers in the field's integer representation)."""
        vals = self.field.as_elements(values, "constants").reshape(-1)
        return self.op(G.CONST, data=vals)[0]

    def zero_wire(self) -> int:
        """One shared wire carrying 0 (the unit of add)."""
        if self._zero is None:
            self._zero = int(self.const([0])[0])
        return self._zero

    def gate(self, gate: G.Generator, *args) -> list[np.ndarray]:
        return self.op(gate, *args)

    # -- inlining -----------------------------------------------------------------------
    def inline(self, c: Circuit, blocks) -> list[np.ndarray]:
        """Append ``k`` copies of circuit ``c`` side by side, bundled: ``blocks[i]`` are the ``k``
        wires feeding input ``i``; returns the ``k`` wires of each output.  Each op of ``c`` becomes
        one op of ``k`` times its size, so inlining keeps the number of operations."""
        if c.field != self.field:
            raise FieldError(f"cannot inline a circuit over {c.field} into one over {self.field}")
        blocks = [_wires(b) for b in blocks]
        if len(blocks) != c.n_inputs:
            raise CompositionError(f"inline: the circuit has {c.n_inputs} inputs, got {len(blocks)} blocks")
        k = len(blocks[0]) if blocks else 1
        m = np.empty((c.n_wires, k), dtype=np.int64)
        if blocks:
            m[: c.n_inputs] = np.stack(blocks)
        for op in c.ops:
            args = [m[a].reshape(-1) for a in op.args]
            data = None if op.data is None else np.repeat(op.data, k)
            outs = self.op(op.gen, *args, data=data)
            for j, o in enumerate(outs):
                m[op.out + j * op.k: op.out + (j + 1) * op.k] = o.reshape(op.k, k)
        return [m[o] for o in c.outputs]

    def build(self, outputs, name: str | None = None) -> Circuit:
        outs = _wires(np.concatenate([_wires(o) for o in outputs]) if isinstance(outputs, list | tuple)
                      and outputs and not np.isscalar(outputs[0]) else outputs)
        return Circuit(self.field, self.n_inputs, tuple(self.ops), outs, name=name)


class Circuit:
    """A polynomial circuit over one field: ``n_inputs`` wires in, ``outputs`` wires out.

    Build circuits with :func:`~paralens.circuits.trace`, the constructors below
    (``Circuit.generator``, ``identity``, ``swap``, ``permutation``, ``copy``,
    ``discard``, ``layer``) and ``>>`` / ``@``; read them with ``evaluate``,
    :func:`~paralens.circuits.reverse`, :func:`~paralens.circuits.to_sympy` and
    :func:`~paralens.circuits.lens`.
    """

    def __init__(self, field, n_inputs: int, ops: tuple, outputs, name: str | None = None):
        self.field = as_field(field)
        self.n_inputs = int(n_inputs)
        self.ops = tuple(ops)
        self.outputs = _wires(outputs)
        self.n_wires = self.n_inputs + sum(op.n_wires for op in self.ops)
        if len(self.outputs) and (self.outputs.min() < 0 or self.outputs.max() >= self.n_wires):
            raise CompositionError(f"an output names wire {int(self.outputs.max())}, "
                                   f"but the circuit has {self.n_wires} wires")
        self.name = name

    # -- shape --------------------------------------------------------------------
    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def n_gates(self) -> int:
        """Gates, not counting constants (wiring: copy, discard, permutations, is free)."""
        return sum(op.k for op in self.ops if op.gen is not G.CONST)

    def gate_counts(self) -> dict[str, int]:
        c = Counter()
        for op in self.ops:
            c[op.gen.name] += op.k
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    def wire_levels(self) -> np.ndarray:
        """The logic level of every wire: 0 for inputs and constants, else one more than the deepest
        argument of its gate (a gate of any kind counts one level)."""
        d = np.zeros(self.n_wires, dtype=np.int64)
        for op in self.ops:
            if op.gen is G.CONST:
                continue
            lvl = np.zeros(op.k, dtype=np.int64)
            for a in op.args:
                np.maximum(lvl, d[a], out=lvl)
            for j in range(op.gen.n_out):
                d[op.out + j * op.k: op.out + (j + 1) * op.k] = lvl + 1
        return d

    def depth(self) -> int:
        """Logic depth: the longest path from an input to an output, in gates (constants are depth 0)."""
        return int(self.wire_levels()[self.outputs].max()) if self.n_outputs else 0

    def stats(self) -> dict:
        """Inputs, outputs, gates (by kind), operations (bundles), wires and logic depth."""
        return {
            "field": self.field.name,
            "inputs": self.n_inputs,
            "outputs": self.n_outputs,
            "gates": self.n_gates,
            "by_kind": {k: v for k, v in self.gate_counts().items() if k != "const"},
            "constants": sum(op.k for op in self.ops if op.gen is G.CONST),
            "operations": len(self.ops),
            "wires": self.n_wires,
            "depth": self.depth(),
        }

    def label(self) -> str:
        return self.name or f"circuit[{self.n_inputs}->{self.n_outputs}]"

    def __repr__(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in self.gate_counts().items() if k != "const")
        head = f"<Circuit {self.name}: " if self.name else "<Circuit "
        return (f"{head}{self.field.name}: {self.n_inputs} -> {self.n_outputs}, {self.n_gates} gates"
                + (f" ({kinds})" if kinds else "") + ">")

    def __str__(self) -> str:
        return self.label()

    # -- meanings -------------------------------------------------------------------
    def evaluate(self, x, *, packed: bool = False, as_ints: bool = False):
        """Outputs for a batch ``x`` (rows = samples, columns = input wires).

        ``x`` holds integers (the galois integer representation) or a FieldArray; the
        result is a FieldArray of shape ``(batch, n_outputs)`` (floats over the reals), a view
        of the interpreter's outputs (no copy); ``as_ints=True`` gives the same integers as a
        plain NumPy array.  ``packed=True`` (GF(2) only) evaluates 64 samples per ``uint64`` word.

        Thin: it calls :func:`paralens.circuits.evaluate.evaluate` (which registers itself as the
        entry point ``"evaluate"``, so that the syntax imports no interpreter).
        """
        return entry("evaluate")(self, x, packed=packed, as_ints=as_ints)

    def __call__(self, x):
        return self.evaluate(x)

    # -- structure -------------------------------------------------------------------
    def _check_field(self, other: Circuit, how: str):
        if not isinstance(other, Circuit):
            raise CompositionError(f"cannot {how} {self.label()} with {type(other).__name__}: not a Circuit")
        if other.field != self.field:
            raise CompositionError(f"cannot {how} {self.label()} over {self.field.name} with "
                                   f"{other.label()} over {other.field.name}: two fields in one circuit")

    def then(self, other: Circuit) -> Circuit:
        """``self >> other``: the outputs of ``self`` feed the inputs of ``other``."""
        self._check_field(other, "compose")
        if self.n_outputs != other.n_inputs:
            raise CompositionError(
                f"cannot compose {self.label()} with {other.label()}: {self.n_outputs} output wires "
                f"are not {other.n_inputs} input wires\n"
                f"  {self.label()} : {self.n_inputs} -> {self.n_outputs} over {self.field.name}\n"
                f"  {other.label()} : {other.n_inputs} -> {other.n_outputs} over {other.field.name}")
        b = Builder(self.field, self.n_inputs)
        b.ops, b.n_wires = list(self.ops), self.n_wires
        outs = b.inline(other, [self.outputs[i: i + 1] for i in range(other.n_inputs)]) if other.n_inputs \
            else b.inline(other, [])
        return b.build([o.reshape(-1) for o in outs] if outs else np.zeros(0, dtype=np.int64))

    def tensor(self, other: Circuit) -> Circuit:
        """``self @ other``: side by side, inputs and outputs concatenated."""
        self._check_field(other, "tensor")
        n = self.n_inputs + other.n_inputs
        b = Builder(self.field, n)
        outs = []
        for c, start in ((self, 0), (other, self.n_inputs)):
            blocks = [np.array([start + i]) for i in range(c.n_inputs)]
            outs += [o.reshape(-1) for o in b.inline(c, blocks)]
        return b.build(np.concatenate(outs) if outs else np.zeros(0, dtype=np.int64))

    __rshift__ = then
    __matmul__ = tensor

    def named(self, name: str) -> Circuit:
        return Circuit(self.field, self.n_inputs, self.ops, self.outputs, name=name)

    def select(self, outputs) -> Circuit:
        """The same circuit with only the given outputs (by position), in that order."""
        idx = _wires(outputs)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.n_outputs):
            raise CompositionError(f"select: output {int(idx.max())} of {self.n_outputs}")
        return Circuit(self.field, self.n_inputs, self.ops, self.outputs[idx])

    def prune(self) -> Circuit:
        """Drop the gates no output depends on (renumbering wires); inputs are kept
        (:func:`paralens.circuits.transform.prune`, through its registered entry point)."""
        return entry("prune")(self)

    def over(self, field) -> Circuit:
        """The same syntax read over another field (constants by integer representation), e.g. the reals."""
        field = as_field(field)
        ops = []
        for op in self.ops:
            if op.data is not None:  # the constants in the new field's exact element dtype
                op = Op(op.gen, op.args, op.out, op.k, field.as_elements(op.data, "constants").reshape(-1))
            ops.append(op)
        return Circuit(field, self.n_inputs, tuple(ops), self.outputs, name=self.name)

    # -- constructors ------------------------------------------------------------------
    @staticmethod
    def identity(field, n: int) -> Circuit:
        return Circuit(field, n, (), np.arange(n))

    @staticmethod
    def permutation(field, perm) -> Circuit:
        """Output ``i`` is input ``perm[i]`` (a bijection)."""
        perm = _wires(perm)
        if sorted(perm.tolist()) != list(range(len(perm))):
            raise CompositionError(f"permutation: {perm.tolist()} is not a permutation of 0 .. {len(perm) - 1}")
        return Circuit(field, len(perm), (), perm)

    @staticmethod
    def swap(field, m: int = 1, n: int = 1) -> Circuit:
        """``A^m x A^n -> A^n x A^m``."""
        return Circuit.permutation(field, list(range(m, m + n)) + list(range(m)))

    @staticmethod
    def copy(field, n: int = 1, copies: int = 2) -> Circuit:
        """``A^n -> (A^n)^copies`` (wiring; its reverse derivative adds)."""
        return Circuit(field, n, (), np.tile(np.arange(n), copies))

    @staticmethod
    def discard(field, n: int = 1) -> Circuit:
        """``A^n -> 1`` (wiring; its reverse derivative is zero)."""
        return Circuit(field, n, (), np.zeros(0, dtype=np.int64))

    @staticmethod
    def wiring(field, n_inputs: int, outputs) -> Circuit:
        """Any map built of copy, discard and permutation: output ``i`` is input ``outputs[i]``."""
        outs = _wires(outputs)
        if len(outs) and (outs.min() < 0 or outs.max() >= n_inputs):
            raise CompositionError(f"wiring: input {int(outs.max())} of {n_inputs}")
        return Circuit(field, n_inputs, (), outs)

    @staticmethod
    def constant(field, values) -> Circuit:
        """``1 -> A^n``: the given constants."""
        b = Builder(field, 0)
        return b.build(b.const(values))

    @staticmethod
    def generator(field, gen, n: int = 1) -> Circuit:
        """``n`` copies of one generator or gate side by side, e.g. ``Circuit.generator(F, "mul")``."""
        field = as_field(field)
        gen = resolve(gen)
        if gen is G.CONST:
            raise CompositionError("use Circuit.constant(field, values) for constants")
        b = Builder(field, gen.n_in * n)
        args = [np.arange(i * n, (i + 1) * n) for i in range(gen.n_in)]
        outs = b.op(gen, *args)
        return b.build(np.concatenate(outs))

    @staticmethod
    def layer(field, gen, n_inputs: int, *index_arrays) -> Circuit:
        """A bundled layer: gate ``i`` reads inputs ``index_arrays[j][i]`` on its port ``j``.

        ``Circuit.layer(GF(2), "nand", 784, a, b)`` is one op of ``len(a)`` NAND gates.
        """
        b = Builder(field, n_inputs)
        outs = b.op(resolve(gen), *index_arrays)
        return b.build(np.concatenate(outs))


def resolve(gen) -> G.Generator:
    """A generator from itself or its name (``"add"``, ``"mul"``, ``"neg"``, ``"or"``, ...)."""
    if isinstance(gen, G.Generator):
        return gen
    name = str(gen).rstrip("_")
    if name in G.PRIMITIVES:
        return G.PRIMITIVES[name]
    if name in G.BOOLEAN_GATES:
        return G.BOOLEAN_GATES[name]
    known = sorted(set(G.PRIMITIVES) | set(G.BOOLEAN_GATES))
    raise KeyError(f"unknown generator {gen!r}; known: {known}")
