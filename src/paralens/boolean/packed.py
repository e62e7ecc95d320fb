"""A fused, bit-packed evaluator of GF(2) circuits (numba): encode, pack, run and decode in one pass.

:class:`PackedCircuit` compiles a GF(2) :class:`~paralens.circuits.Circuit` once into a flat
program over an array of *slots*, then runs it over blocks of samples: a block holds
``block_words`` words of 64 samples each (2,048 samples for the default 32 words), every
instruction is one bitwise operation on the block's words of two (or three) slots, and the block's
inputs are packed, and its outputs decoded, while they are in cache.

    >>> import numpy as np
    >>> from paralens.circuits import Circuit
    >>> from paralens.fields import GF
    >>> c = Circuit.generator(GF(2), "nand", 2)
    >>> pc = PackedCircuit(c)
    >>> x = np.array([[1, 1, 0, 1], [1, 0, 1, 1]])  # gate i reads inputs i and 2 + i
    >>> pc.evaluate_bits(x).tolist()
    [[1, 0], [0, 1]]
    >>> pc.predict_groups(x, 2, 1).tolist()  # one bit per class: the class of the first 1
    [0, 1]

The compiler
============

* **Expansion.** Bundles become one instruction per gate; ``add`` is XOR, ``mul`` AND, ``neg``
  the identity (wiring), constants are constants; the Boolean gates map to their bitwise
  operations exactly as the NumPy kernels evaluate them (a gate's ``fast`` rule when the kernel
  has it), and every other :class:`~paralens.circuits.generators.Gate` is expanded from its
  definition over GF(2), recursively.
* **Literals.** A wire is a *literal*: a value and a negation flag, or a constant.  NOT costs
  nothing (it flips the flag); a two-input gate reads its literals through its truth table, so
  every two-input gate becomes ``and``, ``a and not b``, ``xor`` or ``or`` of two values, maybe
  negated, and gates that read a constant or one value twice fold to literals.  Negations reach
  the outputs as flags, applied while the outputs are read; a ``mux`` with exactly one negated
  data input is the only place a NOT instruction is emitted.  (A hardened MNIST gate network of
  48,000 two-input gates and 16,293 NOTs runs as 48,000 instructions.)
* **Dead code** no output depends on is dropped; the gates of a bundle are sorted by kind (runs
  of one opcode: one branch per run, not per gate) and by first operand.
* **Slots.** The outputs get consecutive slots in output order (the class head reads each class's
  group as a block of rows; inputs, constants and repeated outputs are copied there).  Any other
  value lives in a slot from its definition to its last read; freed slots are reused lowest first,
  so a layered network needs about two layers of slots (``slots * block_words * 8`` bytes a block:
  :attr:`PackedCircuit.stats`).

The kernel
==========

For each block: (1) each row of 64 samples is *encoded* (bits are read as they are, 8 per
``uint64``; ``uint8`` features through a threshold or thermometer encoder are compared with the
integer thresholds, ``x >= floor(t) + 1``, which is ``x > t``: the encoding is fused) and or-ed,
shifted by its row, into 8 accumulators; one 8 x 8 byte transpose per 8 columns, vectorised over
the columns, gives every column's word, and the block's words go to their slots a whole row at a
time (no ``np.packbits``, no transposes of the batch); (2) the program runs; (3) either the
outputs are unpacked to bytes by the inverse transpose, or the *class head* counts the ones of
each class's group as a bit-sliced counter (carry-save adders, 16 outputs at a time:
Harley-Seal), compares the classes bit-sliced (a later class wins only when strictly greater:
ties go to the lowest class) and writes the class of every sample: no per-sample popcount and no
``(N, n_outputs)`` array.

:func:`pack_bits` is the packer alone (``(N, n)`` bits -> ``(n, ceil(N / 64))`` words, as
:func:`paralens.fields.pack_bits`, without ``np.packbits``).

Without numba, :class:`PackedCircuit` warns and falls back to the NumPy interpreter
(:func:`~paralens.circuits.evaluate.evaluate_ints`, ``packed=True``); results are the same.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from paralens.circuits import generators as G
from paralens.errors import ShapeError

# opcodes of the kernel
OP_AND, OP_ANDN, OP_XOR, OP_OR, OP_NOT, OP_MUX, OP_COPY = 0, 1, 2, 3, 4, 5, 6
OP_NAMES = ("and", "andn", "xor", "or", "not", "mux", "copy")

#: the kernel methods (``Gate.fast``) of the GF(2) kernels, as truth tables ``8 f(0,0) + 4 f(0,1) + 2 f(1,0) + f(1,1)``
_FAST_TABLES = {"gate_xor": 6, "gate_and": 1, "gate_or": 7, "gate_nand": 14, "gate_nor": 8, "gate_xnor": 9}

DEFAULT_BLOCK_WORDS = 32

# --------------------------------------------------------------------------------------- numba, lazily

_NUMBA: dict = {}
_LOCK = threading.Lock()


def numba_kernels():
    """The compiled kernels (a namespace), or ``None`` when numba is not installed.

    The kernels below are plain functions until the first call: then each module-level name is
    replaced by its ``numba.njit(nogil=True, cache=True)`` dispatcher (so kernels calling kernels
    compile against the compiled ones), and the compiled code is cached on disk."""
    if "k" in _NUMBA:
        return _NUMBA["k"]
    with _LOCK:
        return _compile_kernels()


def _compile_kernels():
    if "k" not in _NUMBA:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba ships with galois
            _NUMBA["k"] = None
        else:
            g = globals()
            ns = {}
            for name in _KERNELS:
                g[name] = numba.njit(nogil=True, cache=True)(g[name])
                ns[name.removeprefix("_k_")] = g[name]
            from types import SimpleNamespace

            _NUMBA["k"] = SimpleNamespace(**ns)
    return _NUMBA["k"]


# --------------------------------------------------------------------------------------- the compiler


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


def _table_bit(t, i):
    """``f_i`` of truth tables ``t = 8 f0 + 4 f1 + 2 f2 + f3`` (arrays)."""
    return (t >> (3 - i)) & 1


def _binary(P: _Program, t, ba, na, bb, nb):
    """A two-input gate of truth table ``t`` on literals ``(ba, na)``, ``(bb, nb)``; returns its literals.

    A literal is ``(value, negated)``, or ``(-1, c)`` for the constant ``c``."""
    n = len(ba)
    t = np.broadcast_to(np.asarray(t, dtype=np.int64), (n,))

    def f(x, y):  # the table over the raw values (a constant reads as raw 0, its flag is its value)
        return _table_bit(t, 2 * (x ^ na) + (y ^ nb))

    e00, e01, e10, e11 = f(0, 0), f(0, 1), f(1, 0), f(1, 1)
    ca, cb = ba < 0, bb < 0
    same = (ba == bb) & ~ca
    dep_a = (e00 != e10) | (e01 != e11)
    dep_b = (e00 != e01) | (e10 != e11)
    binary = ~ca & ~cb & ~same & dep_a & dep_b
    # unary functions (u0, u1) of one value (or constants)
    on_b = (ca & ~cb) | (~ca & ~cb & ~same & ~dep_a)
    u_var = np.where(on_b, bb, ba)
    u1 = np.where(on_b, e01, np.where(same, e11, e10))
    u1 = np.where(ca & cb, e00, u1)
    u_var = np.where(ca & cb, -1, u_var)
    base = np.where(e00 == u1, -1, u_var)
    neg = e00.copy()
    if binary.any():
        g = np.flatnonzero(binary)
        code = (8 * e00 + 4 * e01 + 2 * e10 + e11)[g]
        x, y = ba[g].copy(), bb[g].copy()
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
        return [_binary(P, 6, *args[0], *args[1])]
    if gen is G.MUL:
        return [_binary(P, 1, *args[0], *args[1])]
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


def _dead_code(n_values, op, a, b, c, out, keep):
    """Mask of the instructions some kept value depends on (reverse sweep)."""
    need = np.zeros(n_values, dtype=bool)
    need[keep] = True
    live = np.zeros(len(op), dtype=bool)
    numba_kernels().dead_code(need, a, b, c, out, live)
    return live


class Compiled:
    """A circuit compiled to slots: the program of the kernel (all arrays ``int32`` / ``int64``)."""

    def __init__(self, circuit):
        F = circuit.field
        if not getattr(F, "is_binary", False):
            raise ValueError(f"PackedCircuit: GF(2) circuits only, got one over {F.name}")
        n_in = circuit.n_inputs
        P = _Program(n_in, F)
        base_in = np.arange(n_in, dtype=np.int64)[:, None]
        ob, on = _expand(P, circuit, base_in, np.zeros_like(base_in))
        ob, on = ob[:, 0], on[:, 0]
        if P.chunks:
            op, a, b, c, out = (np.concatenate(x) for x in zip(*P.chunks))
        else:
            op = a = b = c = out = np.zeros(0, dtype=np.int64)
        # dead code
        n_values = P.n_values + 1  # the last value: the constant 0
        zero = n_values - 1
        outs = np.where(ob < 0, zero, ob)
        live = _dead_code(n_values, op, a, b, c, out, outs)
        op, a, b, c, out = op[live], a[live], b[live], c[live], out[live]
        # the outputs get consecutive slots, in order (the class head reads its groups as blocks of rows): a
        # value an instruction computes is written there directly (its first time as an output); inputs,
        # constants and repeated outputs are copied there at the end
        n_out = len(outs)
        produced = np.zeros(n_values, dtype=bool)
        produced[out] = True
        first = np.zeros(n_out, dtype=bool)
        first[np.unique(outs, return_index=True)[1]] = True
        copy_pos = np.flatnonzero(~(first & produced[outs]))
        out_val = outs.copy()
        if len(copy_pos):
            src = outs[copy_pos]
            new = np.arange(n_values, n_values + len(copy_pos), dtype=np.int64)
            n_values += len(copy_pos)
            op = np.concatenate([op, np.full(len(src), OP_COPY, dtype=np.int64)])
            a, b, c = (np.concatenate([x, src]) for x in (a, b, c))
            out = np.concatenate([out, new])
            out_val[copy_pos] = new
        # slots: 0 the constant 0, then the inputs that are read, then the outputs, then values as they come
        last = np.full(n_values, -1, dtype=np.int64)
        idx = np.arange(len(op), dtype=np.int64)
        for arr in (a, b, c):
            np.maximum.at(last, arr, idx)
        INF = np.iinfo(np.int64).max
        last[out_val] = INF
        last[zero] = INF
        slot = np.full(n_values, -1, dtype=np.int64)
        slot[zero] = 0
        used_in = np.flatnonzero(last[:n_in] >= 0)
        slot[used_in] = 1 + np.arange(len(used_in))
        self.out_first = 1 + len(used_in)
        slot[out_val] = self.out_first + np.arange(n_out)
        n_slots = self.out_first + n_out
        n_slots = numba_kernels().allocate(a, b, c, out, last, slot, n_slots)
        self.n_inputs, self.n_outputs = n_in, n_out
        self.n_slots = int(n_slots)
        self.op = op.astype(np.int64)
        # one row per instruction: the slots of its operands (a, b, c) and of its output
        self.instr = np.stack([slot[x] for x in (a, b, c, out)], axis=1).astype(np.int32) if len(op) \
            else np.zeros((0, 4), dtype=np.int32)
        self.in_slot = slot[:n_in].astype(np.int32)  # -1: never read
        self.out_slot = (self.out_first + np.arange(n_out)).astype(np.int32)
        self.out_neg = np.where(on != 0, np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(0)).astype(np.uint64)
        # runs of one opcode
        if len(op):
            cut = np.flatnonzero(np.diff(op)) + 1
            starts = np.concatenate([[0], cut])
            ends = np.concatenate([cut, [len(op)]])
            self.runs = np.stack([op[starts], starts, ends], axis=1).astype(np.int64)
        else:
            self.runs = np.zeros((0, 3), dtype=np.int64)

    @property
    def n_instructions(self) -> int:
        return len(self.op)

    def counts(self) -> dict:
        c = np.bincount(self.op, minlength=len(OP_NAMES)) if len(self.op) else np.zeros(len(OP_NAMES), int)
        return {OP_NAMES[i]: int(c[i]) for i in range(len(OP_NAMES)) if c[i]}


# --------------------------------------------------------------------------------------- the public class


def _check_bits(bits, n: int, who: str) -> np.ndarray:
    """0/1 ``(N, n)`` as C-contiguous ``uint8`` (bool is viewed, not copied)."""
    a = np.asarray(bits)
    if a.ndim == 1 and n and a.shape[0] == n:
        a = a.reshape(1, n)
    if a.ndim != 2 or a.shape[1] != n:
        raise ShapeError(f"{who}: expected bits of shape (batch, {n}), got {a.shape}")
    if a.dtype == np.bool_:
        return np.ascontiguousarray(a).view(np.uint8)
    if a.dtype.kind not in "biu":
        if a.size and not np.all((a == 0) | (a == 1)):
            raise ValueError(f"{who}: bits must be 0 or 1")
        return np.ascontiguousarray(a, dtype=np.uint8)
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"{who}: bits must be 0 or 1, got values in {lo} .. {hi}")
    return np.ascontiguousarray(a, dtype=np.uint8)


class _Encoding:
    """How a block's rows become input bits: ``k`` comparator levels over ``n_features`` columns of ``uint8``:
    buffer column ``j * nf8 + i`` is ``x[i] >= U[j, i]`` (and ``M[j, i]``), and feeds slot ``col_slot[...]``."""

    def __init__(self, U: np.ndarray, M: np.ndarray, bit_of: np.ndarray, in_slot: np.ndarray):
        k, nf = U.shape
        self.k, self.nf = k, nf
        self.nf8 = -(-nf // 8) * 8 if nf else 0
        self.U = np.ascontiguousarray(U, dtype=np.uint8)
        self.M = np.ascontiguousarray(M, dtype=np.uint8)  # 0 / 1
        col_slot = np.full(k * self.nf8, -1, dtype=np.int32)
        for j in range(k):
            col_slot[j * self.nf8: j * self.nf8 + nf] = np.where(bit_of[j] >= 0, in_slot[bit_of[j]], -1)
        self.col_slot = col_slot


class PackedCircuit:
    """A GF(2) circuit compiled for the fused bit-packed kernel.

    Args:
      circuit: a :class:`~paralens.circuits.Circuit` over GF(2).
      block_words: words of 64 samples per block (32: 2,048 samples).  The slots of a block take
        ``n_slots * block_words * 8`` bytes (:attr:`stats`); fewer words keep them in a smaller cache, more
        words spread each instruction's fixed cost over more samples.
      threads: blocks run in this many threads (the kernel releases the GIL); 1 by default.

    Methods give exactly what the NumPy interpreter gives (:func:`~paralens.circuits.evaluate.evaluate_ints`
    and :class:`~paralens.boolean.encoders.GroupSumDecoder`).
    """

    def __init__(self, circuit, *, block_words: int = DEFAULT_BLOCK_WORDS, threads: int = 1):
        if not getattr(circuit.field, "is_binary", False):
            raise ValueError(f"PackedCircuit: GF(2) circuits only, got one over {circuit.field.name}")
        self.circuit = circuit
        self.block_words = max(1, int(block_words))
        self.threads = max(1, int(threads))
        self.kernels = numba_kernels()
        self._bits_encoding = None
        self._encodings: dict = {}
        if self.kernels is None:
            warnings.warn("numba is not installed: PackedCircuit falls back to the NumPy interpreter (slower)",
                          RuntimeWarning, stacklevel=2)
            self.program = None
        else:
            self.program = Compiled(circuit)

    # -- shape ------------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.circuit.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.circuit.n_outputs

    @property
    def stats(self) -> dict:
        """Instructions (by opcode), slots, and the bytes of a block's slots."""
        p = self.program
        if p is None:
            return {"numba": False}
        return {"numba": True, "instructions": p.n_instructions, "by_op": p.counts(), "slots": p.n_slots,
                "runs": len(p.runs), "inputs_read": int((p.in_slot >= 0).sum()), "block_words": self.block_words,
                "block_bytes": p.n_slots * self.block_words * 8}

    def __repr__(self) -> str:
        s = self.stats
        if not s["numba"]:
            return f"<PackedCircuit {self.n_inputs} -> {self.n_outputs} (NumPy fallback)>"
        return (f"<PackedCircuit {self.n_inputs} -> {self.n_outputs}: {s['instructions']} instructions, "
                f"{s['slots']} slots, {self.block_words} words per block>")

    # -- encodings --------------------------------------------------------------------------
    def _bits(self) -> _Encoding:
        if self._bits_encoding is None:
            n = self.n_inputs
            self._bits_encoding = _Encoding(np.ones((1, n), np.uint8), np.ones((1, n), np.uint8),
                                            np.arange(n)[None, :], self.program.in_slot)
        return self._bits_encoding

    def _comparators(self, encoder) -> _Encoding | None:
        """The fused encoding of an encoder whose bits are comparisons ``x[f] > t`` (its ``comparators()``):
        bit ``b``, the ``j``-th bit of feature ``f``, is ``x[f] >= floor(t) + 1`` for integer ``x``.  ``None``
        for encoders of other bits (one-hot) or not fitted."""
        key = id(encoder)
        hit = self._encodings.get(key)
        if hit is not None and hit[0] is encoder:
            return hit[1]
        try:
            comps = encoder.comparators()
            nf = int(encoder.n_features)
        except (ValueError, NotImplementedError, AttributeError, TypeError):
            return None
        n = len(comps)
        if n != self.n_inputs:
            raise ShapeError(f"PackedCircuit: the encoder gives {n} bits, the circuit takes {self.n_inputs}")
        f = np.array([c[0] for c in comps], dtype=np.int64).reshape(n)
        t = np.array([c[1] for c in comps], dtype=np.float64).reshape(n)
        if n and (f.min() < 0 or f.max() >= nf):
            return None
        order = np.argsort(f, kind="stable")  # the level of each bit among its feature's bits
        starts = np.concatenate([[0], np.cumsum(np.bincount(f, minlength=nf))[:-1]]).astype(np.int64)
        level = np.empty(n, dtype=np.int64)
        level[order] = np.arange(n) - starts[f[order]]
        k = int(level.max()) + 1 if n else 1
        U = np.zeros((k, nf), dtype=np.float64)
        U[level, f] = np.floor(t) + 1  # x > t  <=>  x >= floor(t) + 1 for integers x
        M = np.zeros((k, nf), dtype=bool)
        M[level, f] = U[level, f] <= 255
        bit_of = np.full((k, nf), -1, dtype=np.int64)
        bit_of[level, f] = np.arange(n)
        enc = _Encoding(np.clip(U, 0, 255).astype(np.uint8), M, bit_of, self.program.in_slot)
        if len(self._encodings) > 8:
            self._encodings.clear()
        self._encodings[key] = (encoder, enc)
        return enc

    # -- running ------------------------------------------------------------------------------
    def _run(self, source: int, N: int, X8, X64, enc: _Encoding | None, mode: int, n_classes: int = 1,
             m: int = 1):
        p, K = self.program, self.kernels
        W = self.block_words
        n_out = self.n_outputs
        n_out8 = -(-n_out // 8) * 8
        out_neg = np.zeros(max(n_out8, 8), dtype=np.uint64)
        out_neg[:n_out] = p.out_neg
        n_slots = max(p.n_slots, p.out_first + n_out8)
        if mode == 0:
            res = np.zeros((N, n_out8), dtype=np.uint8)
            words = res.view(np.uint64) if n_out8 else np.zeros((N, 0), np.uint64)
            pred = np.zeros(0, dtype=np.int64)
        else:
            words = np.zeros((0, 1), dtype=np.uint64)
            pred = res = np.zeros(N, dtype=np.int64)
        if N == 0:
            return res[:, :n_out] if mode == 0 else res
        if enc is None:  # packed words: one column per input
            U, M, nf8, col_slot = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.uint8), 8, p.in_slot
        else:
            U, M, nf8, col_slot = enc.U, enc.M, enc.nf8, enc.col_slot
        L = max(1, m.bit_length())
        nb = max(1, (n_classes - 1).bit_length())
        n_blocks = -(-N // (64 * W))
        threads = min(self.threads, n_blocks)

        G = max((len(col_slot) + 7) // 8, 1)
        col_slot8 = np.full(8 * G, -1, dtype=np.int32)  # column 8 g + c -> its slot, as [c, g]
        col_slot8[: len(col_slot)] = col_slot
        col_slot8 = np.ascontiguousarray(col_slot8.reshape(G, 8).T)

        def work(b0, b1):  # one thread: its own slots and scratch
            V = np.zeros((n_slots, W), dtype=np.uint64)  # slot 0 stays 0: the constant
            acc = np.zeros((8, G), dtype=np.uint64)
            T_all = np.zeros((W, 8, G), dtype=np.uint64)
            tmp = np.zeros(G * 8, dtype=np.uint8)
            if mode == 1:
                P, best = np.zeros((L, W), dtype=np.uint64), np.zeros((L, W), dtype=np.uint64)
                idx, hacc = np.zeros((nb, W), dtype=np.uint64), np.zeros((4, W), dtype=np.uint64)
                carry, gt = np.zeros(W, dtype=np.uint64), np.zeros(W, dtype=np.uint64)
            for blk in range(b0, b1):
                K.pack_block(source, N, X8, X64, U, M, nf8, col_slot, col_slot8, blk, acc, T_all, tmp, V)
                K.program(V, p.runs, p.instr)
                if mode == 0:
                    K.unpack_block(V, p.out_first, out_neg, n_out8, words, blk, N)
                else:
                    K.head(V, p.out_first, out_neg, n_classes, m, P, best, idx, hacc, carry, gt, pred,
                           blk * 64 * W, N)

        if threads == 1:
            work(0, n_blocks)
        else:
            from concurrent.futures import ThreadPoolExecutor

            cuts = np.linspace(0, n_blocks, threads + 1).astype(int)
            with ThreadPoolExecutor(threads) as ex:
                list(ex.map(lambda i: work(int(cuts[i]), int(cuts[i + 1])), range(threads)))
        if mode == 0:
            return res[:, :n_out] if n_out8 != n_out else res
        return res

    _NO8 = np.zeros((0, 1), dtype=np.uint8)
    _NO64 = np.zeros((0, 1), dtype=np.uint64)

    def _run_bits(self, x: np.ndarray, mode: int, n_classes: int = 1, m: int = 1):
        n = self.n_inputs
        if n % 8 == 0 and n:  # rows read 8 bits per uint64, no copy
            return self._run(0, len(x), self._NO8, x.view(np.uint64), self._bits(), mode, n_classes, m)
        return self._run(1, len(x), x, self._NO64, self._bits(), mode, n_classes, m)

    def evaluate_bits(self, bits) -> np.ndarray:
        """Outputs ``(N, n_outputs)`` ``uint8`` for input bits ``(N, n_inputs)`` of 0/1."""
        x = _check_bits(bits, self.n_inputs, "PackedCircuit.evaluate_bits")
        if self.program is None:
            return self._fallback_bits(x)
        return self._run_bits(x, 0)

    def predict_groups(self, bits, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes ``(N,)`` ``int64``: outputs ``c * m .. c * m + m - 1`` (``m = bits_per_class``) vote for class
        ``c``; the class with the most ones wins, ties to the lowest class
        (:meth:`~paralens.boolean.encoders.GroupSumDecoder.predict` of :meth:`evaluate_bits`)."""
        n_classes, m = self._check_groups(n_classes, bits_per_class)
        x = _check_bits(bits, self.n_inputs, "PackedCircuit.predict_groups")
        if self.program is None:
            return self._fallback_predict(self._fallback_bits(x), n_classes, m)
        return self._run_bits(x, 1, n_classes, m)

    def predict_features(self, X, encoder, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes from raw features ``X`` through ``encoder``: ``predict_groups(encoder.transform(X), ...)``.

        For ``uint8`` features (pixels) and an encoder of comparisons (threshold, thermometer, or columns of
        them) the encoding is fused into the kernel; otherwise ``encoder.transform`` runs first."""
        n_classes, m = self._check_groups(n_classes, bits_per_class)
        X = np.asarray(X)
        enc = None
        if self.program is not None and X.dtype == np.uint8 and X.ndim == 2:
            enc = self._comparators(encoder)
            if enc is not None and X.shape[1] != enc.nf:
                enc = None
        if enc is None:
            return self.predict_groups(encoder.transform(X), n_classes, m)
        X = np.ascontiguousarray(X)
        return self._run(1, len(X), X, self._NO64, enc, 1, n_classes, m)

    def predict_words(self, words, n_samples: int, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes from inputs already packed: ``words`` ``(n_inputs, ceil(n_samples / 64))`` ``uint64``, sample ``s``
        at bit ``s % 64`` of word ``s // 64`` (:func:`paralens.fields.pack_bits`, or :func:`pack_bits`)."""
        n_classes, m = self._check_groups(n_classes, bits_per_class)
        words = np.ascontiguousarray(words, dtype=np.uint64)
        N = int(n_samples)
        if words.shape != (self.n_inputs, -(-N // 64)):
            raise ShapeError(f"predict_words: expected words of shape ({self.n_inputs}, {-(-N // 64)}), "
                             f"got {words.shape}")
        if self.program is None:
            from paralens.fields.kernels import unpack_bits

            return self._fallback_predict(self._fallback_bits(unpack_bits(words, N)), n_classes, m)
        # the last block may run past the words: pad them to whole blocks
        W = self.block_words
        need = -(-words.shape[1] // W) * W
        if need != words.shape[1]:
            words = np.concatenate([words, np.zeros((self.n_inputs, need - words.shape[1]), np.uint64)], axis=1)
        return self._run(2, N, self._NO8, words, None, 1, n_classes, m)

    def _check_groups(self, n_classes, bits_per_class):
        n_classes, m = int(n_classes), int(bits_per_class)
        if n_classes < 1 or m < 1:
            raise ValueError(f"predict_groups: n_classes and bits_per_class must be >= 1, got {n_classes}, {m}")
        if n_classes * m != self.n_outputs:
            raise ShapeError(f"predict_groups: {n_classes} classes x {m} bits is not the circuit's "
                             f"{self.n_outputs} outputs")
        return n_classes, m

    # -- without numba ----------------------------------------------------------------------------
    def _fallback_bits(self, x):
        from paralens.circuits.evaluate import evaluate_ints

        return evaluate_ints(self.circuit, x.astype(np.int64), packed=True).astype(np.uint8)

    @staticmethod
    def _fallback_predict(out, n_classes, m):
        return out.reshape(len(out), n_classes, m).sum(axis=2, dtype=np.int64).argmax(axis=1).astype(np.int64)


def pack_bits(bits) -> np.ndarray:
    """``(N, n)`` bits of 0/1 -> ``(n, ceil(N / 64))`` ``uint64`` words, sample ``s`` at bit ``s % 64`` of word
    ``s // 64``: :func:`paralens.fields.pack_bits` (``np.packbits`` and transposes), with the kernel's packer
    (rows or-ed, shifted, into accumulators; 8 x 8 byte transposes).

    >>> pack_bits(np.eye(3, dtype=np.uint8)).tolist()
    [[1], [2], [4]]
    """
    a = np.asarray(bits)
    n = a.shape[1] if a.ndim == 2 else -1
    x = _check_bits(a, n, "pack_bits")
    N, n = x.shape
    K = numba_kernels()
    if K is None:  # pragma: no cover - without numba
        from paralens.fields.kernels import pack_bits as np_pack_bits

        return np_pack_bits(x)
    n8 = -(-n // 8) * 8
    if n8 != n:
        x = np.concatenate([x, np.zeros((N, n8 - n), np.uint8)], axis=1)
    G = n8 // 8
    col8 = np.full(max(n8, 8), -1, dtype=np.int64)
    col8[:n] = np.arange(n)
    col8 = np.ascontiguousarray(col8.reshape(-1, 8).T)
    out = np.zeros((n, -(-N // 64)), dtype=np.uint64)
    if N and n:
        K.pack_words(x.view(np.uint64) if G else np.zeros((N, 0), np.uint64), N, col8, out)
    return out


__all__ = ["PackedCircuit", "numba_kernels", "pack_bits", "OP_NAMES"]


# --------------------------------------------------------------------------------------- the kernels
# Plain Python until numba_kernels() compiles them (numba.njit(nogil=True, cache=True)); all word
# arithmetic is uint64 throughout (mixing uint64 and int64 would make numba use float64).

_U1, _U2, _U3, _U4, _U5, _U6, _U7 = (np.uint64(i) for i in range(1, 8))
_U8, _U16, _U32 = np.uint64(8), np.uint64(16), np.uint64(32)
_ZERO, _ONES = np.uint64(0), np.uint64(0xFFFFFFFFFFFFFFFF)
_LO32, _HI32 = np.uint64(0x00000000FFFFFFFF), np.uint64(0xFFFFFFFF00000000)
_LO16, _HI16 = np.uint64(0x0000FFFF0000FFFF), np.uint64(0xFFFF0000FFFF0000)
_LO8, _HI8 = np.uint64(0x00FF00FF00FF00FF), np.uint64(0xFF00FF00FF00FF00)
_BYTE_LSB = np.uint64(0x0101010101010101)


def _k_dead_code(need, a, b, c, out, live):
    for i in range(len(out) - 1, -1, -1):
        if need[out[i]]:
            live[i] = True
            need[a[i]] = True
            need[b[i]] = True
            need[c[i]] = True


def _k_allocate(a, b, c, out, last, slot, n_slots):
    """Slots for the instructions' values (those without one yet), lowest free slot first (a binary min-heap);
    the operands of an instruction are freed after its output is placed, so no instruction writes a slot it
    reads."""
    heap = np.empty(len(out) + n_slots + 1, dtype=np.int64)
    hn = 0
    for i in range(len(out)):
        if slot[out[i]] < 0:
            if hn > 0:
                s = heap[0]
                hn -= 1
                x = heap[hn]
                j = 0
                while True:  # sift down
                    l = 2 * j + 1
                    if l >= hn:
                        break
                    r = l + 1
                    m = l if (r >= hn or heap[l] <= heap[r]) else r
                    if heap[m] < x:
                        heap[j] = heap[m]
                        j = m
                    else:
                        break
                heap[j] = x
            else:
                s = n_slots
                n_slots += 1
            slot[out[i]] = s
        for t in range(3):
            v = a[i] if t == 0 else (b[i] if t == 1 else c[i])
            if t >= 1 and v == a[i]:
                continue
            if t == 2 and v == b[i]:
                continue
            if last[v] == i:
                x = slot[v]
                j = hn
                hn += 1
                while j > 0:  # sift up
                    p = (j - 1) // 2
                    if heap[p] > x:
                        heap[j] = heap[p]
                        j = p
                    else:
                        break
                heap[j] = x
    return n_slots


def _k_transpose8(v0, v1, v2, v3, v4, v5, v6, v7):
    """The transpose of the 8 x 8 byte matrix whose rows are ``v0 .. v7`` (byte ``c`` of ``v_j`` is entry ``(j, c)``)."""
    t0 = (v0 & _LO32) | (v4 << _U32)
    t4 = (v0 >> _U32) | (v4 & _HI32)
    t1 = (v1 & _LO32) | (v5 << _U32)
    t5 = (v1 >> _U32) | (v5 & _HI32)
    t2 = (v2 & _LO32) | (v6 << _U32)
    t6 = (v2 >> _U32) | (v6 & _HI32)
    t3 = (v3 & _LO32) | (v7 << _U32)
    t7 = (v3 >> _U32) | (v7 & _HI32)
    s0 = (t0 & _LO16) | ((t2 << _U16) & _HI16)
    s2 = ((t0 >> _U16) & _LO16) | (t2 & _HI16)
    s1 = (t1 & _LO16) | ((t3 << _U16) & _HI16)
    s3 = ((t1 >> _U16) & _LO16) | (t3 & _HI16)
    s4 = (t4 & _LO16) | ((t6 << _U16) & _HI16)
    s6 = ((t4 >> _U16) & _LO16) | (t6 & _HI16)
    s5 = (t5 & _LO16) | ((t7 << _U16) & _HI16)
    s7 = ((t5 >> _U16) & _LO16) | (t7 & _HI16)
    r0 = (s0 & _LO8) | ((s1 << _U8) & _HI8)
    r1 = ((s0 >> _U8) & _LO8) | (s1 & _HI8)
    r2 = (s2 & _LO8) | ((s3 << _U8) & _HI8)
    r3 = ((s2 >> _U8) & _LO8) | (s3 & _HI8)
    r4 = (s4 & _LO8) | ((s5 << _U8) & _HI8)
    r5 = ((s4 >> _U8) & _LO8) | (s5 & _HI8)
    r6 = (s6 & _LO8) | ((s7 << _U8) & _HI8)
    r7 = ((s6 >> _U8) & _LO8) | (s7 & _HI8)
    return r0, r1, r2, r3, r4, r5, r6, r7


# -- packing: 64 rows of bytes (0/1) -> one word per column -----------------------------------------------
# (1) row r's bytes, read 8 columns per uint64, are shifted by r % 8 and or-ed into acc[r // 8] (a vectorised
# pass per row, no transposes of the batch); (2) per 8 columns, the 8 x 8 byte transpose of acc[:, g] gives
# the 8 columns' words (byte j: rows 8j .. 8j + 7), stored to their slots.


def _k_accumulate_row(row, r, acc):
    a = acc[r >> 3]
    k = np.uint64(r & 7)
    for g in range(a.shape[0]):
        a[g] |= row[g] << k


def _k_encode_row(x, U, M, nf8, tmp):
    """One row of features as bytes: ``tmp[j * nf8 + i] = x[i] >= U[j, i]`` and ``M[j, i]``."""
    k, nf = U.shape
    for j in range(k):
        u = U[j]
        mk = M[j]
        o = tmp[j * nf8: j * nf8 + nf]
        for i in range(nf):
            o[i] = np.uint8(x[i] >= u[i]) & mk[i]


def _k_transpose_all(acc, T):
    """``T[c, g]``: the word of column ``8 g + c`` (64 rows) from the accumulated ``acc[j, g]`` (8 x 8 byte
    transposes, one per 8 columns; vectorised across column groups)."""
    a0, a1, a2, a3, a4, a5, a6, a7 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
    T0, T1, T2, T3, T4, T5, T6, T7 = T[0], T[1], T[2], T[3], T[4], T[5], T[6], T[7]
    for g in range(acc.shape[1]):
        v0, v1, v2, v3, v4, v5, v6, v7 = a0[g], a1[g], a2[g], a3[g], a4[g], a5[g], a6[g], a7[g]
        t0 = (v0 & _LO32) | (v4 << _U32)
        t4 = (v0 >> _U32) | (v4 & _HI32)
        t1 = (v1 & _LO32) | (v5 << _U32)
        t5 = (v1 >> _U32) | (v5 & _HI32)
        t2 = (v2 & _LO32) | (v6 << _U32)
        t6 = (v2 >> _U32) | (v6 & _HI32)
        t3 = (v3 & _LO32) | (v7 << _U32)
        t7 = (v3 >> _U32) | (v7 & _HI32)
        s0 = (t0 & _LO16) | ((t2 << _U16) & _HI16)
        s2 = ((t0 >> _U16) & _LO16) | (t2 & _HI16)
        s1 = (t1 & _LO16) | ((t3 << _U16) & _HI16)
        s3 = ((t1 >> _U16) & _LO16) | (t3 & _HI16)
        s4 = (t4 & _LO16) | ((t6 << _U16) & _HI16)
        s6 = ((t4 >> _U16) & _LO16) | (t6 & _HI16)
        s5 = (t5 & _LO16) | ((t7 << _U16) & _HI16)
        s7 = ((t5 >> _U16) & _LO16) | (t7 & _HI16)
        T0[g] = (s0 & _LO8) | ((s1 << _U8) & _HI8)
        T1[g] = ((s0 >> _U8) & _LO8) | (s1 & _HI8)
        T2[g] = (s2 & _LO8) | ((s3 << _U8) & _HI8)
        T3[g] = ((s2 >> _U8) & _LO8) | (s3 & _HI8)
        T4[g] = (s4 & _LO8) | ((s5 << _U8) & _HI8)
        T5[g] = ((s4 >> _U8) & _LO8) | (s5 & _HI8)
        T6[g] = (s6 & _LO8) | ((s7 << _U8) & _HI8)
        T7[g] = ((s6 >> _U8) & _LO8) | (s7 & _HI8)


def _k_scatter_block(T_all, col_slot8, V, nw):
    """The block's words ``T_all[w, c, g]`` (``w < nw``) into the slot rows of their columns (whole rows)."""
    for c in range(8):
        cs = col_slot8[c]
        for g in range(T_all.shape[2]):
            s = cs[g]
            if s >= 0:
                row = V[s]
                for w in range(nw):
                    row[w] = T_all[w, c, g]


def _k_program(V, runs, instr):
    """Run the instructions on all words of the slots ``V`` (runs of one opcode: one branch per run)."""
    W = V.shape[1]
    for r in range(runs.shape[0]):
        op = runs[r, 0]
        s = runs[r, 1]
        e = runs[r, 2]
        if op == 0:  # and
            for i in range(s, e):
                x = V[instr[i, 0]]
                y = V[instr[i, 1]]
                z = V[instr[i, 3]]
                for w in range(W):
                    z[w] = x[w] & y[w]
        elif op == 1:  # a and not b
            for i in range(s, e):
                x = V[instr[i, 0]]
                y = V[instr[i, 1]]
                z = V[instr[i, 3]]
                for w in range(W):
                    z[w] = x[w] & ~y[w]
        elif op == 2:  # xor
            for i in range(s, e):
                x = V[instr[i, 0]]
                y = V[instr[i, 1]]
                z = V[instr[i, 3]]
                for w in range(W):
                    z[w] = x[w] ^ y[w]
        elif op == 3:  # or
            for i in range(s, e):
                x = V[instr[i, 0]]
                y = V[instr[i, 1]]
                z = V[instr[i, 3]]
                for w in range(W):
                    z[w] = x[w] | y[w]
        elif op == 4:  # not
            for i in range(s, e):
                x = V[instr[i, 0]]
                z = V[instr[i, 3]]
                for w in range(W):
                    z[w] = ~x[w]
        elif op == 5:  # mux(s, x, y) = y if s else x
            for i in range(s, e):
                sel = V[instr[i, 0]]
                x = V[instr[i, 1]]
                y = V[instr[i, 2]]
                z = V[instr[i, 3]]
                for w in range(W):
                    z[w] = x[w] ^ ((x[w] ^ y[w]) & sel[w])
        else:  # copy
            for i in range(s, e):
                x = V[instr[i, 0]]
                z = V[instr[i, 3]]
                for w in range(W):
                    z[w] = x[w]


def _k_unpack(V, out_first, out_neg, n_out8, resv, row0, nrows, w):
    """Word ``w`` of the output slots (negations applied) as rows ``row0 ..`` of bytes (``resv``: 8 per word)."""
    for g in range(n_out8 // 8):
        b = 8 * g
        s = out_first + b
        t0 = V[s, w] ^ out_neg[b]
        t1 = V[s + 1, w] ^ out_neg[b + 1]
        t2 = V[s + 2, w] ^ out_neg[b + 2]
        t3 = V[s + 3, w] ^ out_neg[b + 3]
        t4 = V[s + 4, w] ^ out_neg[b + 4]
        t5 = V[s + 5, w] ^ out_neg[b + 5]
        t6 = V[s + 6, w] ^ out_neg[b + 6]
        t7 = V[s + 7, w] ^ out_neg[b + 7]
        v = _k_transpose8(t0, t1, t2, t3, t4, t5, t6, t7)
        for j in range(8):
            vj = v[j]
            for k in range(8):
                r = 8 * j + k
                if r < nrows:
                    resv[row0 + r, g] = (vj >> np.uint64(k)) & _BYTE_LSB


def _k_ripple(P, lo, carry):
    """Add the words ``carry`` at bit ``lo`` of the bit-sliced counters ``P`` (planes x words); ``carry`` is consumed."""
    W = carry.shape[0]
    for j in range(lo, P.shape[0]):
        p = P[j]
        for w in range(W):
            t = p[w] & carry[w]
            p[w] ^= carry[w]
            carry[w] = t


def _k_csa(a, b, c):
    """A carry-save adder on words: ``(high, low)`` with ``a + b + c = 2 high + low`` bitwise."""
    u = a ^ b
    return (a & b) | (u & c), u ^ c


def _k_count(V, first, out_neg, base, m, P, acc, carry):
    """Bit-sliced counts ``P`` (planes, LSB first) of the ones of outputs ``base .. base + m - 1`` (slots
    ``first + base ..``), per sample."""
    W = V.shape[1]
    P[:] = 0
    full = m // 16
    if full:
        acc[:] = 0
        for q in range(full):
            b = base + 16 * q
            G = V[first + b: first + b + 16]
            # the 16 negation words read once per block (read inside the word loop: 2.5 times slower)
            n0, n1, n2, n3 = out_neg[b], out_neg[b + 1], out_neg[b + 2], out_neg[b + 3]
            n4, n5, n6, n7 = out_neg[b + 4], out_neg[b + 5], out_neg[b + 6], out_neg[b + 7]
            n8, n9, n10, n11 = out_neg[b + 8], out_neg[b + 9], out_neg[b + 10], out_neg[b + 11]
            n12, n13, n14, n15 = out_neg[b + 12], out_neg[b + 13], out_neg[b + 14], out_neg[b + 15]
            for w in range(W):  # Harley-Seal: 15 carry-save adders for 16 words
                o = acc[0, w]
                tw = acc[1, w]
                fo = acc[2, w]
                ei = acc[3, w]
                twA, o = _k_csa(o, G[0, w] ^ n0, G[1, w] ^ n1)
                twB, o = _k_csa(o, G[2, w] ^ n2, G[3, w] ^ n3)
                foA, tw = _k_csa(tw, twA, twB)
                twA, o = _k_csa(o, G[4, w] ^ n4, G[5, w] ^ n5)
                twB, o = _k_csa(o, G[6, w] ^ n6, G[7, w] ^ n7)
                foB, tw = _k_csa(tw, twA, twB)
                eiA, fo = _k_csa(fo, foA, foB)
                twA, o = _k_csa(o, G[8, w] ^ n8, G[9, w] ^ n9)
                twB, o = _k_csa(o, G[10, w] ^ n10, G[11, w] ^ n11)
                foA, tw = _k_csa(tw, twA, twB)
                twA, o = _k_csa(o, G[12, w] ^ n12, G[13, w] ^ n13)
                twB, o = _k_csa(o, G[14, w] ^ n14, G[15, w] ^ n15)
                foB, tw = _k_csa(tw, twA, twB)
                eiB, fo = _k_csa(fo, foA, foB)
                carry[w], ei = _k_csa(ei, eiA, eiB)
                acc[0, w] = o
                acc[1, w] = tw
                acc[2, w] = fo
                acc[3, w] = ei
            _k_ripple(P, 4, carry)
        for j in range(4):  # ones + 2 twos + 4 fours + 8 eights + 16 (planes 4..): already a binary number
            P[j, :] = acc[j]
    for t in range(16 * full, m):
        row = V[first + base + t]
        ng = out_neg[base + t]
        for w in range(W):
            carry[w] = row[w] ^ ng
        _k_ripple(P, 0, carry)


def _k_head(V, first, out_neg, n_classes, m, P, best, idx, acc, carry, gt, pred, row0, N):
    """The class of every sample of the block: most ones in its group, ties to the lowest class (bit-sliced)."""
    W = V.shape[1]
    L = P.shape[0]
    nb = idx.shape[0]
    for c in range(n_classes):
        _k_count(V, first, out_neg, c * m, m, P, acc, carry)
        if c == 0:
            best[:] = P
            idx[:] = 0
            continue
        gt[:] = 0
        for j in range(L):  # from the LSB: gt = (count > best on bits 0 .. j)
            p = P[j]
            q = best[j]
            for w in range(W):
                x = p[w]
                y = q[w]
                gt[w] = (x & ~y) | (~(x ^ y) & gt[w])
        for j in range(L):
            p = P[j]
            q = best[j]
            for w in range(W):
                q[w] ^= (q[w] ^ p[w]) & gt[w]
        for j in range(nb):
            mask = _ONES if (c >> j) & 1 else _ZERO
            q = idx[j]
            for w in range(W):
                q[w] = (q[w] & ~gt[w]) | (gt[w] & mask)
    for w in range(W):
        r = row0 + 64 * w
        n = min(64, N - r)
        for s in range(n):
            v = 0
            for j in range(nb):
                v |= np.int64((idx[j, w] >> np.uint64(s)) & _U1) << j
            pred[r + s] = v


def _k_pack_block(source, N, X8, X64, U, M, nf8, col_slot, col_slot8, blk, acc, T_all, tmp, V):
    """Block ``blk`` (samples ``64 W blk ..``) of the inputs into the input slots of ``V``.

    ``source`` 0: bits, ``X64`` = ``(N, n_inputs / 8)`` words of 8 bytes (0/1); 1: ``X8`` ``(N, n_features)``
    bytes, encoded by ``U``, ``M``; 2: ``X64`` = ``(n_inputs, n_words)`` words already packed (whole blocks)."""
    W = V.shape[1]
    if source == 2:
        c0 = blk * W
        for i in range(len(col_slot)):
            s = col_slot[i]
            if s >= 0:
                row = V[s]
                src = X64[i]
                for w in range(W):
                    row[w] = src[c0 + w]
        return
    tmpv = tmp.view(np.uint64)
    row0 = blk * 64 * W
    nw = 0
    for w in range(W):
        r0 = row0 + 64 * w
        if r0 >= N:
            break
        nw += 1
        acc[:] = 0
        for r in range(min(64, N - r0)):
            if source == 0:
                _k_accumulate_row(X64[r0 + r], r, acc)
            else:
                _k_encode_row(X8[r0 + r], U, M, nf8, tmp)
                _k_accumulate_row(tmpv, r, acc)
        _k_transpose_all(acc, T_all[w])
    _k_scatter_block(T_all, col_slot8, V, nw)


def _k_unpack_block(V, out_first, out_neg, n_out8, out_words, blk, N):
    W = V.shape[1]
    row0 = blk * 64 * W
    for w in range(W):
        r0 = row0 + 64 * w
        if r0 >= N:
            break
        _k_unpack(V, out_first, out_neg, n_out8, out_words, r0, min(64, N - r0), w)


def _k_pack_words(X64, N, col8, out):
    """``out[col, w]``: bit ``s`` is sample ``64 w + s`` of column ``col`` (``X64``: rows of 8 bytes 0/1 per word);
    32 words at a time, each column's run of words written whole."""
    G = X64.shape[1]
    Wb = 32
    acc = np.zeros((8, max(G, 1)), dtype=np.uint64)
    T_all = np.zeros((Wb, 8, max(G, 1)), dtype=np.uint64)
    n_words = out.shape[1]
    for w0 in range(0, n_words, Wb):
        nw = min(Wb, n_words - w0)
        for w in range(nw):
            r0 = (w0 + w) * 64
            acc[:] = 0
            for r in range(min(64, N - r0)):
                _k_accumulate_row(X64[r0 + r], r, acc)
            _k_transpose_all(acc, T_all[w])
        for c in range(8):
            cs = col8[c]
            for g in range(G):
                col = cs[g]
                if col >= 0:
                    row = out[col]
                    for w in range(nw):
                        row[w0 + w] = T_all[w, c, g]


_KERNELS = ("_k_dead_code", "_k_allocate", "_k_transpose8", "_k_accumulate_row", "_k_encode_row", "_k_transpose_all",
            "_k_scatter_block",
            "_k_program", "_k_unpack", "_k_ripple", "_k_csa", "_k_count", "_k_head", "_k_pack_block", "_k_unpack_block",
            "_k_pack_words")
