"""The compiler of the bit-packed evaluator: a GF(2) circuit to a flat program over slots, in passes.

:func:`compile_circuit` runs the passes and returns a :class:`Compiled` (the program, a plain result):

* **Lowering** (:func:`lower`).  Bundles become one instruction per gate; ``add`` is XOR, ``mul`` AND,
  ``neg`` the identity (wiring), constants are constants; the Boolean gates map to their bitwise
  operations exactly as the NumPy kernels evaluate them (a gate's ``fast`` rule when the kernel has
  it), and every other :class:`~paralens.circuits.generators.Gate` is expanded from its definition
  over GF(2), recursively.  A wire is a *literal*: a value and a negation flag, or a constant.  NOT
  costs nothing (it flips the flag); a two-input gate reads its literals through its truth table
  (:func:`paralens.boolean.folding.fold_binary`), so every two-input gate becomes ``and``, ``a and
  not b``, ``xor`` or ``or`` of two values, maybe negated, and gates that read a constant or one
  value twice fold to literals.  Negations reach the outputs as flags, applied while the outputs are
  read; a ``mux`` with exactly one negated data input is the only place a NOT instruction is
  emitted.  (A hardened MNIST gate network of 48,000 two-input gates and 16,293 NOTs runs as 48,000
  instructions.)  The gates of a bundle are sorted by kind (runs of one opcode: one branch per run,
  not per gate) and by first operand.
* **Dead code** (:func:`drop_dead`) no output depends on is dropped.
* **Outputs** (:func:`place_outputs`): the outputs get consecutive slots in output order (the class
  head reads each class's group as a block of rows; inputs, constants and repeated outputs are
  copied there).
* **Schedule** (:func:`schedule`): a list schedule for the cache: greedily the ready instructions that
  free the most slots (read a value for the last time), 64 at a time, each 64 sorted by opcode.  Values are
  then read soon after they are written (in the first level of cache more often); measured on the MNIST
  network of 48,000 gates, 8 words a block: 7.0 M samples/s for the gates against 6.5 M in layer order.
* **Slots** (:func:`allocate_slots`): any other value lives in a slot from its definition to its last
  read; freed slots are reused lowest first, so a layered network needs about two layers of slots
  (``slots * block_words * 8`` bytes a block: :attr:`PackedCircuit.stats
  <paralens.boolean.packed.PackedCircuit.stats>`).
* **Runs** (:func:`opcode_runs`): the runs of one opcode the kernel branches on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from paralens.boolean.folding import fold_binary
from paralens.boolean.packed_kernels import (
    OP_AND,
    OP_ANDN,
    OP_COPY,
    OP_MUX,
    OP_NAMES,
    OP_NOT,
    OP_OR,
    OP_XOR,
    numba_kernels,
)
from paralens.circuits import generators as G
from paralens.circuits.truth import CODE_OF
from paralens.circuits.truth import code as table_code

#: the kernel methods (``Gate.fast``) of the GF(2) kernels, as truth-table codes
_FAST_TABLES = {f"gate_{n}": CODE_OF[n] for n in ("xor", "and", "or", "nand", "nor", "xnor")}

# --------------------------------------------------------------------------------------- lowering


class _Program:
    """Instructions over values, emitted bundle by bundle (numpy arrays, never one Python object per gate)."""

    def __init__(self, n_inputs: int, field):
        self.field = field
        self.n_values = n_inputs
        self.chunks: list[tuple] = []  # (op, a, b, c, out) arrays
        self._not: dict[int, int] = {}

    def new(self, n: int) -> np.ndarray:
        v = np.arange(self.n_values, self.n_values + n, dtype=np.int64)
        self.n_values += n
        return v

    def emit(self, op, a, b, c) -> np.ndarray:
        """Instructions ``op`` (array or scalar) on values ``a, b, c``; returns their new values.  The bundle is
        sorted by opcode, then first operand (its gates are independent)."""
        n = len(a)
        op = np.broadcast_to(np.asarray(op, dtype=np.int64), (n,))
        order = np.lexsort((a, op))
        out = np.empty(n, dtype=np.int64)
        out[order] = self.new(n)
        self.chunks.append((op[order], a[order], b[order], c[order], out[order]))
        return out

    def materialise_not(self, base: np.ndarray) -> np.ndarray:
        """Values holding the negations of ``base`` (values >= 0), one NOT per value, shared."""
        uniq = np.unique(base)
        missing = np.array([v for v in uniq.tolist() if v not in self._not], dtype=np.int64)
        if len(missing):
            outs = self.emit(OP_NOT, missing, missing, missing)
            self._not.update(zip(missing.tolist(), outs.tolist()))
        return np.array([self._not[v] for v in base.tolist()], dtype=np.int64)


def _binary(P: _Program, t, ba, na, bb, nb):
    """A two-input gate of truth table ``t`` on literals ``(ba, na)``, ``(bb, nb)``; returns its literals.

    A literal is ``(value, negated)``, or ``(-1, c)`` for the constant ``c``."""
    eff, binary, base, neg = fold_binary(t, ba, na, bb, nb)
    if binary.any():
        g = np.flatnonzero(binary)
        code = table_code(eff[g])
        x, y = np.asarray(ba)[g], np.asarray(bb)[g]
        # every non-degenerate table is and / a and not b / xor / or of (x, y) or (y, x), maybe negated
        op = np.empty(len(g), dtype=np.int64)
        out_neg = np.zeros(len(g), dtype=np.int64)
        swap = np.zeros(len(g), dtype=bool)
        for c, (o, s, ng) in _CANON.items():
            sel = code == c
            op[sel], swap[sel], out_neg[sel] = o, s, ng
        x2, y2 = np.where(swap, y, x), np.where(swap, x, y)
        vals = P.emit(op, x2, y2, x2)
        base[g], neg[g] = vals, out_neg
    return base, neg


# table -> (opcode, swap operands, output negated)
_CANON = {
    1: (OP_AND, False, 0),    # a and b
    2: (OP_ANDN, False, 0),   # a and not b
    4: (OP_ANDN, True, 0),    # not a and b
    6: (OP_XOR, False, 0),
    7: (OP_OR, False, 0),
    8: (OP_OR, False, 1),     # nor = not or
    9: (OP_XOR, False, 1),    # xnor
    11: (OP_ANDN, True, 1),   # a or not b = not (b and not a)
    13: (OP_ANDN, False, 1),  # not a or b = not (a and not b)
    14: (OP_AND, False, 1),   # nand
}


def _mux(P: _Program, bs, ns, bx, nx, by, ny):
    """``mux(s, x, y) = y if s else x`` on literals."""
    n = len(bs)
    base = np.empty(n, dtype=np.int64)
    neg = np.empty(n, dtype=np.int64)
    # a negated select swaps the data inputs
    sw = (bs >= 0) & (ns == 1)
    bx, nx, by, ny = np.where(sw, by, bx), np.where(sw, ny, nx), np.where(sw, bx, by), np.where(sw, nx, ny)
    ns = np.where(sw, 0, ns)
    done = np.zeros(n, dtype=bool)
    cs = bs < 0  # constant select: one data input
    base[cs] = np.where(ns[cs] == 1, by[cs], bx[cs])
    neg[cs] = np.where(ns[cs] == 1, ny[cs], nx[cs])
    done |= cs
    same = ~done & (bx == by) & (nx == ny)  # mux(s, x, x) = x
    base[same], neg[same] = bx[same], nx[same]
    done |= same
    # a constant data input (or both): a two-input function of (s, the other)
    cx, cy = ~done & (bx < 0), ~done & (by < 0)
    both = cx & cy  # (u0, u1) = (x, y) over s
    if both.any():
        i = np.flatnonzero(both)
        t = 8 * nx[i] + 4 * nx[i] + 2 * ny[i] + ny[i]
        base[i], neg[i] = _binary(P, t, bs[i], ns[i], bs[i], ns[i])
    i = np.flatnonzero(cx & ~cy)  # f(s, y) = y if s else x0: (x0, x0, 0, 1)
    if len(i):
        t = 8 * nx[i] + 4 * nx[i] + 1
        base[i], neg[i] = _binary(P, t, bs[i], ns[i], by[i], ny[i])
    i = np.flatnonzero(cy & ~cx)  # f(s, x) = x if not s else y0: (0, 1, y0, y0)
    if len(i):
        t = 4 + 2 * ny[i] + ny[i]
        base[i], neg[i] = _binary(P, t, bs[i], ns[i], bx[i], nx[i])
    done |= cx | cy
    # the rest: one MUX instruction; both data inputs negated: the output negated
    rest = np.flatnonzero(~done)
    if len(rest):
        s, x, y = bs[rest], bx[rest].copy(), by[rest].copy()
        xn, yn = nx[rest], ny[rest]
        flip = (xn == 1) & (yn == 1)
        one_x = (xn == 1) & ~flip
        one_y = (yn == 1) & ~flip
        if one_x.any():
            x[one_x] = P.materialise_not(x[one_x])
        if one_y.any():
            y[one_y] = P.materialise_not(y[one_y])
        base[rest] = P.emit(OP_MUX, s, x, y)
        neg[rest] = flip.astype(np.int64)
    return base, neg


def _apply(P: _Program, gen, args, n: int):
    """Literals of the outputs of ``gen`` on a bundle of ``n`` gates (``args``: one ``(base, neg)`` per input port)."""
    if gen is G.ADD:
        return [_binary(P, CODE_OF["xor"], *args[0], *args[1])]
    if gen is G.MUL:
        return [_binary(P, CODE_OF["and"], *args[0], *args[1])]
    if gen is G.NEG:  # -x = x over GF(2)
        return [args[0]]
    if isinstance(gen, G.Gate):
        fast = gen.fast
        if fast in _FAST_TABLES and gen.n_in == 2 and gen.n_out == 1:
            return [_binary(P, _FAST_TABLES[fast], *args[0], *args[1])]
        if fast == "gate_not" and gen.n_in == 1 and gen.n_out == 1:
            b, neg = args[0]
            return [(b, neg ^ 1)]  # a flipped flag (a constant's flag is its value)
        if fast == "gate_mux" and gen.n_in == 3 and gen.n_out == 1:
            return [_mux(P, *args[0], *args[1], *args[2])]
        d = gen.definition(P.field)
        bases = np.stack([a[0] for a in args]) if args else np.zeros((0, n), np.int64)
        negs = np.stack([a[1] for a in args]) if args else np.zeros((0, n), np.int64)
        ob, on = _expand(P, d, bases, negs)
        return [(ob[j], on[j]) for j in range(gen.n_out)]
    raise NotImplementedError(f"PackedCircuit: no GF(2) rule for generator {gen.name!r}")


def _expand(P: _Program, c, base_in: np.ndarray, neg_in: np.ndarray):
    """Literals ``(n_outputs, K)`` of ``K`` copies of circuit ``c`` side by side (inputs ``(n_inputs, K)``)."""
    K = base_in.shape[1]
    Bw = np.empty((c.n_wires, K), dtype=np.int64)
    Nw = np.zeros((c.n_wires, K), dtype=np.int64)
    if c.n_inputs:
        Bw[: c.n_inputs], Nw[: c.n_inputs] = base_in, neg_in
    for op in c.ops:
        k = op.k
        if op.gen is G.CONST:
            Bw[op.out: op.out + k] = -1
            Nw[op.out: op.out + k] = (np.asarray(op.data, dtype=np.int64).reshape(-1) & 1)[:, None]
            continue
        args = [(Bw[a].reshape(-1), Nw[a].reshape(-1)) for a in op.args]
        outs = _apply(P, op.gen, args, k * K)
        for j, (b, n) in enumerate(outs):
            Bw[op.out + j * k: op.out + (j + 1) * k] = np.asarray(b).reshape(k, K)
            Nw[op.out + j * k: op.out + (j + 1) * k] = np.asarray(n).reshape(k, K)
    return Bw[c.outputs], Nw[c.outputs]


# --------------------------------------------------------------------------------------- the passes


class Code(NamedTuple):
    """Instructions as parallel arrays: opcode, operands ``a, b, c`` and output, all values (``int64``)."""

    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    out: np.ndarray

    def select(self, mask) -> Code:
        return Code(*(x[mask] for x in self))

    def append(self, op: int, src: np.ndarray, out: np.ndarray) -> Code:
        """``op`` (one operand, ``src``) writing ``out``, after these."""
        return Code(np.concatenate([self.op, np.full(len(src), op, dtype=np.int64)]),
                    *(np.concatenate([x, src]) for x in (self.a, self.b, self.c)),
                    np.concatenate([self.out, out]))


def lower(circuit) -> tuple[Code, np.ndarray, np.ndarray, int]:
    """Pass 1: the circuit as instructions on values (expansion, literal folding); returns ``(code, out_base,
    out_neg, n_values)``: the outputs as literals (``out_base`` -1: the constant ``out_neg``), and the number of
    values (the inputs ``0 .. n_inputs - 1``, then one per instruction)."""
    n_in = circuit.n_inputs
    P = _Program(n_in, circuit.field)
    base_in = np.arange(n_in, dtype=np.int64)[:, None]
    ob, on = _expand(P, circuit, base_in, np.zeros_like(base_in))
    if P.chunks:
        code = Code(*(np.concatenate(x) for x in zip(*P.chunks)))
    else:
        code = Code(*(np.zeros(0, dtype=np.int64) for _ in range(5)))
    return code, ob[:, 0], on[:, 0], P.n_values


def drop_dead(code: Code, n_values: int, keep: np.ndarray) -> Code:
    """Pass 2: the instructions some value of ``keep`` depends on (a reverse sweep)."""
    need = np.zeros(n_values, dtype=bool)
    need[keep] = True
    live = np.zeros(len(code.op), dtype=bool)
    numba_kernels().dead_code(need, code.a, code.b, code.c, code.out, live)
    return code.select(live)


def place_outputs(code: Code, outs: np.ndarray, n_values: int) -> tuple[Code, np.ndarray, int]:
    """Pass 3: a distinct value per output, to take the outputs' consecutive slots (the class head reads its
    groups as blocks of rows).  A value an instruction computes is written there directly (its first time as
    an output); inputs, constants and repeated outputs are copied there at the end.  Returns ``(code, out_val,
    n_values)``."""
    produced = np.zeros(n_values, dtype=bool)
    produced[code.out] = True
    first = np.zeros(len(outs), dtype=bool)
    first[np.unique(outs, return_index=True)[1]] = True
    copy_pos = np.flatnonzero(~(first & produced[outs]))
    out_val = outs.copy()
    if len(copy_pos):
        new = np.arange(n_values, n_values + len(copy_pos), dtype=np.int64)
        code = code.append(OP_COPY, outs[copy_pos], new)
        out_val[copy_pos] = new
        n_values += len(copy_pos)
    return code, out_val, n_values


SCHEDULE_CHUNK = 64  #: instructions chosen together by :func:`schedule` (a run of one opcode is a quarter of it)


def schedule(code: Code, out_val: np.ndarray, zero: int, n_values: int, chunk: int = SCHEDULE_CHUNK) -> Code:
    """Pass 4: the instructions in a cache-friendly order (:func:`~paralens.boolean.packed_kernels` ``schedule``):
    ready instructions that read values for the last time first, ``chunk`` at a time, each chunk sorted by
    opcode.  Any order of a chunk is valid: its instructions were all ready together."""
    n = len(code.op)
    if n == 0:
        return code
    ops = np.stack([code.a, code.b, code.c], axis=1)
    dup_b = ops[:, 1] == ops[:, 0]
    dup_c = (ops[:, 2] == ops[:, 0]) | (ops[:, 2] == ops[:, 1])
    opnd = np.full((n, 3), -1, dtype=np.int64)  # distinct operands first
    keep = np.stack([np.ones(n, bool), ~dup_b, ~dup_c], axis=1)
    nop = keep.sum(axis=1).astype(np.int64)
    pos = np.cumsum(keep, axis=1) - 1
    rows = np.repeat(np.arange(n), 3).reshape(n, 3)
    opnd[rows[keep], pos[keep]] = ops[keep]
    pinned = np.zeros(n_values, dtype=np.bool_)
    pinned[out_val] = True
    pinned[zero] = True
    order = np.empty(n, dtype=np.int64)
    numba_kernels().schedule(code.op, opnd, nop, code.out, n_values, pinned, int(chunk), order)
    return code.select(order)


def allocate_slots(code: Code, out_val: np.ndarray, n_in: int, zero: int, n_values: int):
    """Pass 5: a slot per value: 0 the constant 0, then the inputs that are read, then the outputs in order,
    then every other value from its definition to its last read (freed slots reused lowest first).  Returns
    ``(slot, out_first, n_slots)``: the slot of each value (-1: an input never read) and the outputs' first
    slot."""
    last = np.full(n_values, -1, dtype=np.int64)
    idx = np.arange(len(code.op), dtype=np.int64)
    for arr in (code.a, code.b, code.c):
        np.maximum.at(last, arr, idx)
    INF = np.iinfo(np.int64).max
    last[out_val] = INF
    last[zero] = INF
    slot = np.full(n_values, -1, dtype=np.int64)
    slot[zero] = 0
    used_in = np.flatnonzero(last[:n_in] >= 0)
    slot[used_in] = 1 + np.arange(len(used_in))
    out_first = 1 + len(used_in)
    slot[out_val] = out_first + np.arange(len(out_val))
    n_slots = numba_kernels().allocate(code.a, code.b, code.c, code.out, last, slot, out_first + len(out_val))
    return slot, out_first, int(n_slots)


def opcode_runs(op: np.ndarray) -> np.ndarray:
    """Pass 6: ``(n_runs, 3)``: ``(opcode, start, end)`` of each run of one opcode (one branch per run)."""
    if not len(op):
        return np.zeros((0, 3), dtype=np.int64)
    cut = np.flatnonzero(np.diff(op)) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(op)]])
    return np.stack([op[starts], starts, ends], axis=1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Compiled:
    """A circuit compiled to slots: the program of the kernel (all arrays ``int32`` / ``int64``); made by
    :func:`compile_circuit`."""

    n_inputs: int
    n_outputs: int
    n_slots: int
    out_first: int  #: the first output's slot (the outputs' slots are consecutive)
    op: np.ndarray  #: ``(n,)`` the opcode of each instruction
    instr: np.ndarray  #: ``(n, 4)`` ``int32``: the slots of each instruction's operands (a, b, c) and output
    in_slot: np.ndarray  #: the slot of each input (-1: never read)
    out_slot: np.ndarray
    out_neg: np.ndarray  #: ``uint64`` masks: all ones where an output is read negated
    runs: np.ndarray  #: :func:`opcode_runs`

    @property
    def n_instructions(self) -> int:
        return len(self.op)

    def counts(self) -> dict:
        c = np.bincount(self.op, minlength=len(OP_NAMES)) if len(self.op) else np.zeros(len(OP_NAMES), int)
        return {OP_NAMES[i]: int(c[i]) for i in range(len(OP_NAMES)) if c[i]}


def compile_circuit(circuit) -> Compiled:
    """The kernel's program of a GF(2) circuit: :func:`lower`, :func:`drop_dead`, :func:`place_outputs`,
    :func:`schedule`, :func:`allocate_slots`, :func:`opcode_runs`."""
    F = circuit.field
    if not getattr(F, "is_binary", False):
        raise ValueError(f"PackedCircuit: GF(2) circuits only, got one over {F.name}")
    n_in = circuit.n_inputs
    code, ob, on, n_values = lower(circuit)
    zero = n_values  # one more value: the constant 0
    n_values += 1
    outs = np.where(ob < 0, zero, ob)
    code = drop_dead(code, n_values, outs)
    code, out_val, n_values = place_outputs(code, outs, n_values)
    code = schedule(code, out_val, zero, n_values)
    slot, out_first, n_slots = allocate_slots(code, out_val, n_in, zero, n_values)
    n_out = len(outs)
    instr = np.stack([slot[x] for x in (code.a, code.b, code.c, code.out)], axis=1).astype(np.int32) \
        if len(code.op) else np.zeros((0, 4), dtype=np.int32)
    return Compiled(n_inputs=n_in, n_outputs=n_out, n_slots=n_slots, out_first=out_first,
                    op=code.op.astype(np.int64), instr=instr, in_slot=slot[:n_in].astype(np.int32),
                    out_slot=(out_first + np.arange(n_out)).astype(np.int32),
                    out_neg=np.where(on != 0, np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(0)).astype(np.uint64),
                    runs=opcode_runs(code.op))


__all__ = ["Code", "Compiled", "SCHEDULE_CHUNK", "allocate_slots", "compile_circuit", "drop_dead", "lower",
           "opcode_runs", "place_outputs", "schedule"]
