"""A fused, bit-packed evaluator of GF(2) circuits (numba): encode, pack, run and decode in one pass.

:class:`PackedCircuit` compiles a GF(2) :class:`~paralens.circuits.Circuit` once into a flat
program over a small array of *slots*, then runs it over cache-sized blocks of samples: a block
holds ``block_words`` words of 64 samples each (1,024 samples for 16 words), every instruction is
one bitwise operation on the block's words of two (or three) slots, and the block's inputs are
packed, and its outputs decoded, while they are in cache.

    >>> import numpy as np
    >>> from paralens.circuits import Circuit
    >>> from paralens.fields import GF
    >>> c = Circuit.generator(GF(2), "nand", 2)
    >>> pc = PackedCircuit(c)
    >>> pc.evaluate_bits(np.array([[1, 1, 0, 1], [1, 0, 1, 1]])).tolist()
    [[0, 1], [1, 0]]
    >>> pc.predict_groups(np.array([[1, 1, 0, 1], [1, 0, 1, 1]]), 2, 1).tolist()
    [1, 0]

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
  data input is the only place a NOT instruction is emitted.
* **Dead code** no output depends on is dropped; the gates of a bundle are sorted by kind (runs
  of one opcode: one branch per run, not per gate) and by first operand.
* **Slots.** A value lives in a slot from its definition to its last read; freed slots are reused
  lowest first, so the slots of a layered network stay about two layers wide and a block of 16
  words of them stays in L2 (``slots * block_words * 8`` bytes; :attr:`PackedCircuit.stats`).

The kernel
==========

For each block: (1) the input rows are *encoded* into a small byte buffer (for bits, a copy; for
comparator encoders and ``uint8`` features, ``x >= threshold`` per bit: the encoding is fused),
and packed 8 columns x 64 samples at a time by shifts and an 8 x 8 byte transpose (no
``np.packbits``, no transposes of the whole batch); (2) the program runs; (3) either the outputs
are unpacked to bytes by the inverse transpose, or the *class head* computes, per class, the
number of ones in its group of outputs as a bit-sliced counter (carry-save adders, 16 words at a
time: Harley-Seal), compares the classes bit-sliced (a later class wins only when strictly
greater: ties go to the lowest class) and writes the class of every sample.  No per-sample
popcount, no ``(N, n_outputs)`` array.

Without numba, :class:`PackedCircuit` warns and falls back to the NumPy interpreter
(:func:`~paralens.circuits.evaluate.evaluate_ints`, ``packed=True``); results are the same.
"""

from __future__ import annotations

import warnings

import numpy as np

from paralens.categories.errors import ShapeError
from paralens.circuits import generators as G

# opcodes of the kernel
OP_AND, OP_ANDN, OP_XOR, OP_OR, OP_NOT, OP_MUX = 0, 1, 2, 3, 4, 5
OP_NAMES = ("and", "andn", "xor", "or", "not", "mux")

#: the kernel methods (``Gate.fast``) of the GF(2) kernels, as truth tables ``8 f(0,0) + 4 f(0,1) + 2 f(1,0) + f(1,1)``
_FAST_TABLES = {"gate_xor": 6, "gate_and": 1, "gate_or": 7, "gate_nand": 14, "gate_nor": 8, "gate_xnor": 9}

DEFAULT_BLOCK_WORDS = 16

# --------------------------------------------------------------------------------------- numba, lazily

_NUMBA: dict = {}


def numba_kernels():
    """The compiled kernels (a namespace), or ``None`` when numba is not installed.

    The kernels below are plain functions until the first call: then each module-level name is
    replaced by its ``numba.njit(nogil=True, cache=True)`` dispatcher (so kernels calling kernels
    compile against the compiled ones), and the compiled code is cached on disk."""
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


def _apply(P: _Program, gen, args):
    """Literals of the outputs of ``gen`` on a bundle (``args``: one ``(base, neg)`` per input port)."""
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
            b, n = args[0]
            return [(b, np.where(b < 0, n ^ 1, n ^ 1))]
        if fast == "gate_mux" and gen.n_in == 3 and gen.n_out == 1:
            return [_mux(P, *args[0], *args[1], *args[2])]
        d = gen.definition(P.field)
        bases = np.stack([a[0] for a in args]) if args else np.zeros((0, 0), np.int64)
        negs = np.stack([a[1] for a in args]) if args else np.zeros((0, 0), np.int64)
        ob, on = _expand(P, d, bases, negs)
        return [(ob[j], on[j]) for j in range(gen.n_out)]
    raise NotImplementedError(f"PackedCircuit: no GF(2) rule for generator {gen.name!r}")


def _expand(P: _Program, c, base_in: np.ndarray, neg_in: np.ndarray):
    """Literals ``(n_outputs, K)`` of ``K`` copies of circuit ``c`` side by side (inputs ``(n_inputs, K)``)."""
    K = base_in.shape[1] if base_in.ndim == 2 and base_in.shape[0] else 1
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
        outs = _apply(P, op.gen, args)
        for j, (b, n) in enumerate(outs):
            Bw[op.out + j * k: op.out + (j + 1) * k] = np.asarray(b).reshape(k, K)
            Nw[op.out + j * k: op.out + (j + 1) * k] = np.asarray(n).reshape(k, K)
    return Bw[c.outputs], Nw[c.outputs]


def _dead_code(n_values, op, a, b, c, out, keep):
    """Mask of the instructions some kept value depends on (reverse sweep)."""
    need = np.zeros(n_values, dtype=bool)
    need[keep] = True
    live = np.zeros(len(op), dtype=bool)
    K = numba_kernels()
    if K is not None:
        K.dead_code(need, a, b, c, out, live)
        return live
    for i in range(len(op) - 1, -1, -1):  # pragma: no cover - without numba
        if need[out[i]]:
            live[i] = True
            need[a[i]] = need[b[i]] = need[c[i]] = True
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
        # slots: the constant first, then the inputs that are read, then values as they come
        last = np.full(n_values, -1, dtype=np.int64)
        idx = np.arange(len(op), dtype=np.int64)
        for arr in (a, b, c):
            np.maximum.at(last, arr, idx)
        INF = np.iinfo(np.int64).max
        last[outs] = INF
        last[zero] = INF
        slot = np.full(n_values, -1, dtype=np.int64)
        slot[zero] = 0
        used_in = np.flatnonzero(last[:n_in] >= 0)
        slot[used_in] = 1 + np.arange(len(used_in))
        n_slots = 1 + len(used_in)
        # inputs read by no instruction and no output are free from the start; inputs whose last read is
        # instruction i are freed after it
        K = numba_kernels()
        if K is not None:
            n_slots = K.allocate(a, b, c, out, last, slot, n_slots)
        else:  # pragma: no cover - without numba
            n_slots = _allocate_py(a, b, c, out, last, slot, n_slots)
        self.n_inputs, self.n_outputs = n_in, len(ob)
        self.n_slots = int(n_slots)
        self.op = op.astype(np.int64)
        self.A, self.B, self.C, self.O = (slot[x].astype(np.int32) for x in (a, b, c, out))
        self.in_slot = slot[:n_in].astype(np.int32)  # -1: never read
        self.out_slot = slot[outs].astype(np.int32)
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


def _allocate_py(a, b, c, out, last, slot, n_slots):  # pragma: no cover - without numba
    import heapq

    free: list[int] = []
    for i in range(len(out)):
        if free:
            s = heapq.heappop(free)
        else:
            s = n_slots
            n_slots += 1
        slot[out[i]] = s
        seen = set()
        for v in (a[i], b[i], c[i]):
            if v not in seen and last[v] == i:
                heapq.heappush(free, slot[v])
            seen.add(v)
    return n_slots


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
        self.M = np.ascontiguousarray(M, dtype=np.bool_)
        col_slot = np.full(k * self.nf8, -1, dtype=np.int32)
        for j in range(k):
            col_slot[j * self.nf8: j * self.nf8 + nf] = in_slot[bit_of[j]]
        self.col_slot = col_slot
        # 8-column groups with any used column (the others are skipped)
        self.groups = np.flatnonzero((col_slot.reshape(-1, 8) >= 0).any(axis=1)).astype(np.int32) \
            if len(col_slot) else np.zeros(0, np.int32)


class PackedCircuit:
    """A GF(2) circuit compiled for the fused bit-packed kernel.

    Args:
      circuit: a :class:`~paralens.circuits.Circuit` over GF(2).
      block_words: words of 64 samples per block (16: 1,024 samples).  The slots of a block take
        ``n_slots * block_words * 8`` bytes; keep them near the L2 cache.
      threads: blocks run in this many threads (the kernel releases the GIL); 1 by default.

    Methods give exactly what the NumPy interpreter gives (:func:`~paralens.circuits.evaluate.evaluate_ints`
    and :class:`~paralens.circuits.encoders.GroupSumDecoder`).
    """

    def __init__(self, circuit, *, block_words: int = DEFAULT_BLOCK_WORDS, threads: int = 1):
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
            self._bits_encoding = _Encoding(np.ones((1, n), np.uint8), np.ones((1, n), bool),
                                            np.arange(n)[None, :], self.program.in_slot)
        return self._bits_encoding

    def _comparators(self, encoder) -> _Encoding:
        key = id(encoder)
        hit = self._encodings.get(key)
        if hit is not None and hit[0] is encoder:
            return hit[1]
        t = np.asarray(encoder._fitted_table("transform"), dtype=np.float64)  # (n_features, k): bit i*k + j
        nf, k = t.shape
        if nf * k != self.n_inputs:
            raise ShapeError(f"PackedCircuit: the encoder gives {nf * k} bits, the circuit takes {self.n_inputs}")
        # x > t for an integer x in 0..255  <=>  x >= floor(t) + 1
        U = np.floor(t).T + 1  # (k, nf)
        M = U <= 255
        U8 = np.clip(U, 0, 255).astype(np.uint8)
        bit_of = (np.arange(nf)[None, :] * k + np.arange(k)[:, None])
        enc = _Encoding(U8, M, bit_of, self.program.in_slot)
        if len(self._encodings) > 8:
            self._encodings.clear()
        self._encodings[key] = (encoder, enc)
        return enc

    # -- running ------------------------------------------------------------------------------
    def _run(self, X: np.ndarray, enc: _Encoding, mode: int, n_classes: int = 1, m: int = 1):
        p, K = self.program, self.kernels
        N = X.shape[0]
        W = self.block_words
        n_out = self.n_outputs
        n_out8 = -(-n_out // 8) * 8
        out_slot = np.zeros(max(n_out8, 8), dtype=np.int32)  # padded with slot 0 (zero)
        out_slot[:n_out] = p.out_slot
        out_neg = np.zeros(max(n_out8, 8), dtype=np.uint64)
        out_neg[:n_out] = p.out_neg
        if mode == 0:
            res = np.zeros((N, n_out8), dtype=np.uint8)
            words = res.view(np.uint64) if n_out8 else np.zeros((N, 0), np.uint64)
            pred = np.zeros(0, dtype=np.int64)
        else:
            words = np.zeros((0, 1), dtype=np.uint64)
            pred = res = np.zeros(N, dtype=np.int64)
        if N == 0:
            return res[:, :n_out] if mode == 0 else res
        L = max(1, m.bit_length())
        nb = max(1, (n_classes - 1).bit_length())
        n_blocks = -(-N // (64 * W))
        threads = min(self.threads, n_blocks)

        def work(b0, b1):
            K.run_blocks(X, enc.U, enc.M, enc.nf8, enc.col_slot, enc.groups, p.runs, p.A, p.B, p.C, p.O,
                         out_slot, out_neg, p.n_slots, W, mode, n_classes, m, L, nb, b0, b1, words, pred)

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

    def evaluate_bits(self, bits) -> np.ndarray:
        """Outputs ``(N, n_outputs)`` ``uint8`` for input bits ``(N, n_inputs)`` of 0/1."""
        x = _check_bits(bits, self.n_inputs, "PackedCircuit.evaluate_bits")
        if self.program is None:
            return self._fallback_bits(x)
        return self._run(x, self._bits(), 0)

    def predict_groups(self, bits, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes ``(N,)`` ``int64``: outputs ``c * m .. c * m + m - 1`` (``m = bits_per_class``) vote for class
        ``c``; the class with the most ones wins, ties to the lowest class
        (:meth:`~paralens.circuits.encoders.GroupSumDecoder.predict` of :meth:`evaluate_bits`)."""
        n_classes, m = self._check_groups(n_classes, bits_per_class)
        x = _check_bits(bits, self.n_inputs, "PackedCircuit.predict_groups")
        if self.program is None:
            return self._fallback_predict(self._fallback_bits(x), n_classes, m)
        return self._run(x, self._bits(), 1, n_classes, m)

    def predict_features(self, X, encoder, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes from raw features through a comparator encoder (threshold or thermometer), the encoding
        fused into the kernel when ``X`` is ``uint8`` (pixels); otherwise ``encoder.transform`` first.
        Equal to ``predict_groups(encoder.transform(X), ...)``."""
        n_classes, m = self._check_groups(n_classes, bits_per_class)
        X = np.asarray(X)
        fusable = (X.dtype == np.uint8 and X.ndim == 2 and self.program is not None
                   and hasattr(encoder, "_fitted_table") and encoder.is_fitted
                   and X.shape[1] == encoder.n_features)
        if not fusable:
            return self.predict_groups(encoder.transform(X), n_classes, m)
        return self._run(np.ascontiguousarray(X), self._comparators(encoder), 1, n_classes, m)

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


def count_bits(m: int) -> int:
    """Planes of a bit-sliced counter up to ``m``."""
    return max(1, int(m).bit_length())


def class_bits(n_classes: int) -> int:
    return max(1, (int(n_classes) - 1).bit_length())


__all__ = ["PackedCircuit", "numba_kernels", "OP_NAMES"]


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
    """Slots for the instructions' values, lowest free slot first (a binary min-heap); inputs of an instruction
    are freed after its output is placed, so no instruction writes a slot it reads."""
    heap = np.empty(len(out) + n_slots + 1, dtype=np.int64)
    hn = 0
    for i in range(len(out)):
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


def _k_encode(X, U, M, nf8, row0, nrows, buf):
    """Rows ``row0 .. row0 + nrows - 1`` of ``X`` as bits in ``buf`` (64 rows; rows past ``nrows`` zero):
    column ``j * nf8 + i`` is ``X[r, i] >= U[j, i]`` and ``M[j, i]``."""
    k, nf = U.shape
    for r in range(64):
        out = buf[r]
        if r < nrows:
            x = X[row0 + r]
            for j in range(k):
                u = U[j]
                mk = M[j]
                o = out[j * nf8: j * nf8 + nf]
                for i in range(nf):
                    o[i] = (x[i] >= u[i]) & mk[i]
        else:
            for i in range(out.shape[0]):
                out[i] = 0


def _k_pack(bufv, col_slot, groups, V, w):
    """Pack the 64 rows of ``bufv`` (bytes 0/1, viewed as words: 8 columns each) into word ``w`` of the slots."""
    for gi in range(len(groups)):
        g = groups[gi]
        v0 = bufv[0, g] | (bufv[1, g] << _U1) | (bufv[2, g] << _U2) | (bufv[3, g] << _U3) \
            | (bufv[4, g] << _U4) | (bufv[5, g] << _U5) | (bufv[6, g] << _U6) | (bufv[7, g] << _U7)
        v1 = bufv[8, g] | (bufv[9, g] << _U1) | (bufv[10, g] << _U2) | (bufv[11, g] << _U3) \
            | (bufv[12, g] << _U4) | (bufv[13, g] << _U5) | (bufv[14, g] << _U6) | (bufv[15, g] << _U7)
        v2 = bufv[16, g] | (bufv[17, g] << _U1) | (bufv[18, g] << _U2) | (bufv[19, g] << _U3) \
            | (bufv[20, g] << _U4) | (bufv[21, g] << _U5) | (bufv[22, g] << _U6) | (bufv[23, g] << _U7)
        v3 = bufv[24, g] | (bufv[25, g] << _U1) | (bufv[26, g] << _U2) | (bufv[27, g] << _U3) \
            | (bufv[28, g] << _U4) | (bufv[29, g] << _U5) | (bufv[30, g] << _U6) | (bufv[31, g] << _U7)
        v4 = bufv[32, g] | (bufv[33, g] << _U1) | (bufv[34, g] << _U2) | (bufv[35, g] << _U3) \
            | (bufv[36, g] << _U4) | (bufv[37, g] << _U5) | (bufv[38, g] << _U6) | (bufv[39, g] << _U7)
        v5 = bufv[40, g] | (bufv[41, g] << _U1) | (bufv[42, g] << _U2) | (bufv[43, g] << _U3) \
            | (bufv[44, g] << _U4) | (bufv[45, g] << _U5) | (bufv[46, g] << _U6) | (bufv[47, g] << _U7)
        v6 = bufv[48, g] | (bufv[49, g] << _U1) | (bufv[50, g] << _U2) | (bufv[51, g] << _U3) \
            | (bufv[52, g] << _U4) | (bufv[53, g] << _U5) | (bufv[54, g] << _U6) | (bufv[55, g] << _U7)
        v7 = bufv[56, g] | (bufv[57, g] << _U1) | (bufv[58, g] << _U2) | (bufv[59, g] << _U3) \
            | (bufv[60, g] << _U4) | (bufv[61, g] << _U5) | (bufv[62, g] << _U6) | (bufv[63, g] << _U7)
        t = _k_transpose8(v0, v1, v2, v3, v4, v5, v6, v7)
        base = 8 * g
        for c in range(8):
            s = col_slot[base + c]
            if s >= 0:
                V[s, w] = t[c]


def _k_program(V, runs, A, B, C, O):
    """Run the instructions on all words of the slots ``V`` (runs of one opcode: one branch per run)."""
    W = V.shape[1]
    for r in range(runs.shape[0]):
        op = runs[r, 0]
        s = runs[r, 1]
        e = runs[r, 2]
        if op == 0:  # and
            for i in range(s, e):
                x = V[A[i]]
                y = V[B[i]]
                z = V[O[i]]
                for w in range(W):
                    z[w] = x[w] & y[w]
        elif op == 1:  # a and not b
            for i in range(s, e):
                x = V[A[i]]
                y = V[B[i]]
                z = V[O[i]]
                for w in range(W):
                    z[w] = x[w] & ~y[w]
        elif op == 2:  # xor
            for i in range(s, e):
                x = V[A[i]]
                y = V[B[i]]
                z = V[O[i]]
                for w in range(W):
                    z[w] = x[w] ^ y[w]
        elif op == 3:  # or
            for i in range(s, e):
                x = V[A[i]]
                y = V[B[i]]
                z = V[O[i]]
                for w in range(W):
                    z[w] = x[w] | y[w]
        elif op == 4:  # not
            for i in range(s, e):
                x = V[A[i]]
                z = V[O[i]]
                for w in range(W):
                    z[w] = ~x[w]
        else:  # mux(s, x, y) = y if s else x
            for i in range(s, e):
                sel = V[A[i]]
                x = V[B[i]]
                y = V[C[i]]
                z = V[O[i]]
                for w in range(W):
                    z[w] = x[w] ^ ((x[w] ^ y[w]) & sel[w])


def _k_unpack(V, out_slot, out_neg, resv, row0, nrows, w):
    """Word ``w`` of the output slots (negations applied) as rows ``row0 ..`` of bytes (``resv``: 8 per word)."""
    for g in range(resv.shape[1]):
        b = 8 * g
        t0 = V[out_slot[b], w] ^ out_neg[b]
        t1 = V[out_slot[b + 1], w] ^ out_neg[b + 1]
        t2 = V[out_slot[b + 2], w] ^ out_neg[b + 2]
        t3 = V[out_slot[b + 3], w] ^ out_neg[b + 3]
        t4 = V[out_slot[b + 4], w] ^ out_neg[b + 4]
        t5 = V[out_slot[b + 5], w] ^ out_neg[b + 5]
        t6 = V[out_slot[b + 6], w] ^ out_neg[b + 6]
        t7 = V[out_slot[b + 7], w] ^ out_neg[b + 7]
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


def _k_count(V, out_slot, out_neg, base, m, P, acc, carry):
    """Bit-sliced counts ``P`` (planes, LSB first) of the ones of outputs ``base .. base + m - 1``, per sample."""
    W = V.shape[1]
    P[:] = 0
    full = m // 16
    if full:
        acc[:] = 0
        ones = acc[0]
        twos = acc[1]
        fours = acc[2]
        eights = acc[3]
        for q in range(full):
            b = base + 16 * q
            r0, n0 = V[out_slot[b]], out_neg[b]
            r1, n1 = V[out_slot[b + 1]], out_neg[b + 1]
            r2, n2 = V[out_slot[b + 2]], out_neg[b + 2]
            r3, n3 = V[out_slot[b + 3]], out_neg[b + 3]
            r4, n4 = V[out_slot[b + 4]], out_neg[b + 4]
            r5, n5 = V[out_slot[b + 5]], out_neg[b + 5]
            r6, n6 = V[out_slot[b + 6]], out_neg[b + 6]
            r7, n7 = V[out_slot[b + 7]], out_neg[b + 7]
            r8, n8 = V[out_slot[b + 8]], out_neg[b + 8]
            r9, n9 = V[out_slot[b + 9]], out_neg[b + 9]
            r10, n10 = V[out_slot[b + 10]], out_neg[b + 10]
            r11, n11 = V[out_slot[b + 11]], out_neg[b + 11]
            r12, n12 = V[out_slot[b + 12]], out_neg[b + 12]
            r13, n13 = V[out_slot[b + 13]], out_neg[b + 13]
            r14, n14 = V[out_slot[b + 14]], out_neg[b + 14]
            r15, n15 = V[out_slot[b + 15]], out_neg[b + 15]
            for w in range(W):  # Harley-Seal: 15 carry-save adders for 16 words
                o = ones[w]
                tw = twos[w]
                fo = fours[w]
                ei = eights[w]
                # csa(h, l, a, b, c): u = a ^ b; h = (a & b) | (u & c); l = u ^ c
                a, c = r0[w] ^ n0, r1[w] ^ n1
                u = o ^ a
                twA = (o & a) | (u & c)
                o = u ^ c
                a, c = r2[w] ^ n2, r3[w] ^ n3
                u = o ^ a
                twB = (o & a) | (u & c)
                o = u ^ c
                u = tw ^ twA
                foA = (tw & twA) | (u & twB)
                tw = u ^ twB
                a, c = r4[w] ^ n4, r5[w] ^ n5
                u = o ^ a
                twA = (o & a) | (u & c)
                o = u ^ c
                a, c = r6[w] ^ n6, r7[w] ^ n7
                u = o ^ a
                twB = (o & a) | (u & c)
                o = u ^ c
                u = tw ^ twA
                foB = (tw & twA) | (u & twB)
                tw = u ^ twB
                u = fo ^ foA
                eiA = (fo & foA) | (u & foB)
                fo = u ^ foB
                a, c = r8[w] ^ n8, r9[w] ^ n9
                u = o ^ a
                twA = (o & a) | (u & c)
                o = u ^ c
                a, c = r10[w] ^ n10, r11[w] ^ n11
                u = o ^ a
                twB = (o & a) | (u & c)
                o = u ^ c
                u = tw ^ twA
                foA = (tw & twA) | (u & twB)
                tw = u ^ twB
                a, c = r12[w] ^ n12, r13[w] ^ n13
                u = o ^ a
                twA = (o & a) | (u & c)
                o = u ^ c
                a, c = r14[w] ^ n14, r15[w] ^ n15
                u = o ^ a
                twB = (o & a) | (u & c)
                o = u ^ c
                u = tw ^ twA
                foB = (tw & twA) | (u & twB)
                tw = u ^ twB
                u = fo ^ foA
                eiB = (fo & foA) | (u & foB)
                fo = u ^ foB
                u = ei ^ eiA
                carry[w] = (ei & eiA) | (u & eiB)
                ei = u ^ eiB
                ones[w] = o
                twos[w] = tw
                fours[w] = fo
                eights[w] = ei
            _k_ripple(P, 4, carry)
        for j in range(4):  # ones + 2 twos + 4 fours + 8 eights + 16 (planes 4..): already a binary number
            P[j, :] = acc[j]
    for t in range(16 * full, m):
        row = V[out_slot[base + t]]
        ng = out_neg[base + t]
        for w in range(W):
            carry[w] = row[w] ^ ng
        _k_ripple(P, 0, carry)


def _k_head(V, out_slot, out_neg, n_classes, m, P, best, idx, acc, carry, gt, res, row0, N):
    """The class of every sample of the block: most ones in its group, ties to the lowest class (bit-sliced)."""
    W = V.shape[1]
    L = P.shape[0]
    nb = idx.shape[0]
    for c in range(n_classes):
        _k_count(V, out_slot, out_neg, c * m, m, P, acc, carry)
        if c == 0:
            best[:] = P
            idx[:] = 0
            continue
        gt[:] = 0
        for j in range(L):  # from the LSB: gt = (x > y at bits <= j)
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
            res[r + s] = v


def _k_run_blocks(X, U, M, nf8, col_slot, groups, runs, A, B, C, O, out_slot, out_neg, n_slots, W, mode,
                  n_classes, m, L, nb, b0, b1, out_words, pred):
    """Blocks ``b0 .. b1 - 1`` (``64 W`` rows each) of ``X``: encode and pack, run, then unpack the outputs to
    ``out_words`` (``mode`` 0: ``(N, n_out8 / 8)`` words of 8 output bytes) or write the classes to ``pred``
    (``mode`` 1).  ``L``: planes of a class count; ``nb``: bits of a class index."""
    N = X.shape[0]
    V = np.zeros((n_slots, W), dtype=np.uint64)  # slot 0 stays 0: the constant
    buf = np.zeros((64, max(U.shape[0] * nf8, 8)), dtype=np.uint8)
    bufv = buf.view(np.uint64)
    P = np.zeros((L, W), dtype=np.uint64)
    best = np.zeros((L, W), dtype=np.uint64)
    idx = np.zeros((nb, W), dtype=np.uint64)
    acc = np.zeros((4, W), dtype=np.uint64)
    carry = np.zeros(W, dtype=np.uint64)
    gt = np.zeros(W, dtype=np.uint64)
    for blk in range(b0, b1):
        row0 = blk * 64 * W
        for w in range(W):
            r = row0 + 64 * w
            if r >= N:
                break
            _k_encode(X, U, M, nf8, r, min(64, N - r), buf)
            _k_pack(bufv, col_slot, groups, V, w)
        _k_program(V, runs, A, B, C, O)
        if mode == 0:
            for w in range(W):
                r = row0 + 64 * w
                if r >= N:
                    break
                _k_unpack(V, out_slot, out_neg, out_words, r, min(64, N - r), w)
        else:
            _k_head(V, out_slot, out_neg, n_classes, m, P, best, idx, acc, carry, gt, pred, row0, N)


_KERNELS = ("_k_dead_code", "_k_allocate", "_k_transpose8", "_k_encode", "_k_pack", "_k_program", "_k_unpack",
            "_k_ripple", "_k_count", "_k_head", "_k_run_blocks")
