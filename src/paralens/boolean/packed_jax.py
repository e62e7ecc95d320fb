"""Bit-packed inference as a JAX program: the CPU kernel's netlist, level by level, on any JAX device (a GPU).

:class:`JaxPackedCircuit` takes the program :func:`~paralens.boolean.packed_compiler.compile_circuit`
makes for the numba kernel (:class:`~paralens.boolean.packed.PackedCircuit`) and schedules it for
XLA: the slots are read back into values (each read is the value last written to its slot), copies
become aliases, and every instruction gets a *level* (one more than its operands' deepest).  The
values live in one array of ``uint32`` words, ``(rows, W)``, sample ``s`` at bit ``s % 32`` of word
``s // 32``: row 0 the constant 0, then the inputs that are read, then the instructions level by
level, each level sorted by opcode.  A level runs as one gather of its first operands (and one of
its second, one of the multiplexers' third), one bitwise operation per opcode on contiguous slices,
and one in-place update of its rows; so a 48,000-gate network is a few dozen XLA operations per
level and compiles in seconds, whatever its width.

Around the netlist, in the same compiled function:

* **encoding**: ``uint8`` features through an encoder of comparisons (threshold, thermometer, or
  columns of them) are compared on the device with the integer thresholds the CPU kernel uses
  (``x >= floor(t) + 1``, which is ``x > t``); encoded bits (0/1) are read as they are; either is
  packed into words there (``(S, bits)`` -> ``(bits, S / 32)``);
* **class head**: the output words (negations applied) are unpacked and summed per class group and
  the argmax taken with ties to the lowest class, as :class:`~paralens.boolean.encoders.GroupSumDecoder`
  and the CPU kernel's head do.

Samples run in batches of a power-of-two number of words (at most ``max_batch`` samples: a few
compiled shapes, not one per batch size), padded with zeros and trimmed.  Everything is exactly what
the CPU kernel gives, sample for sample (tested on CPU).

The classifier's API is :class:`JaxPackedClassifier` (``JaxPackedClassifier(clf).predict(X)`` is
``clf.predict(X)``), and :func:`predict` / :func:`predict_labels` choose the engine by name (``backend="numpy"``:
the CPU kernel; ``"jax"``: this program), as ``paralens predict MODEL --backend jax`` does.  Without JAX
installed, the JAX backend is one :class:`JaxUnavailable` error naming ``pip install "paralens[jax]"``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from paralens.boolean.packed import _check_bits, comparator_bits
from paralens.boolean.packed_compiler import Compiled, compile_circuit
from paralens.boolean.packed_kernels import OP_AND, OP_ANDN, OP_COPY, OP_MUX, OP_NAMES, OP_NOT, OP_OR, OP_XOR
from paralens.errors import ParalensError, ShapeError

BACKENDS = ("numpy", "jax")
#: the largest batch of one compiled call, by device platform (samples; a multiple of 32)
DEFAULT_MAX_BATCH = {"cpu": 8192}
DEFAULT_MAX_BATCH_ACCELERATOR = 262144
MIN_WORDS = 4  # the smallest batch: 128 samples

# the opcodes of a level, in the order its rows are laid out: the first five read two operands (a, b),
# the multiplexer a third (c), NOT one
_KIND_ORDER = (OP_AND, OP_ANDN, OP_XOR, OP_OR, OP_MUX, OP_NOT)
_RANK = {op: r for r, op in enumerate(_KIND_ORDER)}


class JaxUnavailable(ParalensError, ImportError):
    """The JAX backend was asked for and JAX is not installed."""


def require_jax():
    """The ``jax`` module, or :class:`JaxUnavailable` (one line, naming the install command)."""
    try:
        import jax
    except ImportError:
        raise JaxUnavailable('the JAX inference backend needs JAX, which is not installed here: '
                             'pip install "paralens[jax]"') from None
    return jax


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a :class:`ValueError` naming the choices."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown inference backend {backend!r}: choose one of {', '.join(map(repr, BACKENDS))}")
    return backend


# --------------------------------------------------------------------------------------- the schedule


@dataclass(frozen=True, eq=False)
class LevelProgram:
    """The CPU kernel's program scheduled in levels over rows of words (all arrays ``int32``; made by
    :func:`schedule`).

    Rows: 0 the constant 0, ``1 .. n_read`` the inputs ``inputs`` (those any instruction or output reads),
    then each level's instructions, sorted by opcode (:data:`_KIND_ORDER`).  ``levels[k]`` is
    ``(first_row, counts)``, ``counts`` the number of instructions of each opcode of ``_KIND_ORDER``; the
    level's operands are ``a[a0:a1]``, ``b[b0:b1]`` (all but the NOTs), ``c[c0:c1]`` (the multiplexers),
    with the offsets of ``spans[k]``."""

    n_inputs: int
    n_outputs: int
    n_rows: int
    inputs: np.ndarray  #: the input of each row ``1 .. n_read``
    levels: tuple  #: ``((first_row, counts), ...)``
    spans: tuple  #: ``((a0, a1, b0, b1, c0, c1), ...)``
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    out_rows: np.ndarray  #: the row of each output
    out_neg: np.ndarray  #: ``uint32``: all ones where an output is read negated

    @property
    def n_read(self) -> int:
        return len(self.inputs)

    @property
    def n_instructions(self) -> int:
        return self.n_rows - 1 - self.n_read

    @property
    def depth(self) -> int:
        return len(self.levels)

    def counts(self) -> dict:
        tot = np.sum([c for _, c in self.levels], axis=0) if self.levels else np.zeros(len(_KIND_ORDER), int)
        return {OP_NAMES[op]: int(n) for op, n in zip(_KIND_ORDER, tot) if n}


def _reads(p: Compiled, slots: np.ndarray, at: np.ndarray) -> np.ndarray:
    """What instruction index ``at`` reads from ``slots``: the instruction that last wrote there before it
    (``>= 0``), or ``-1 - slot`` where nothing did (the slot's initial content: the constant 0 or an input)."""
    n = p.n_instructions
    slots = np.asarray(slots, dtype=np.int64)
    if n == 0:
        return -1 - slots
    ws = p.instr[:, 3].astype(np.int64)
    order = np.lexsort((np.arange(n), ws))  # writes by slot, then by time
    keys = ws[order] * (n + 1) + order
    j = np.searchsorted(keys, slots * (n + 1) + at, side="left") - 1
    jj = np.maximum(j, 0)
    found = (j >= 0) & (ws[order[jj]] == slots)
    return np.where(found, order[jj], -1 - slots)


def schedule(p: Compiled) -> LevelProgram:
    """The program ``p`` of :func:`~paralens.boolean.packed_compiler.compile_circuit` as levels of
    independent instructions over values (:class:`LevelProgram`): the same instructions but the copies,
    which become aliases."""
    n, n_in = p.n_instructions, p.n_inputs
    unknown = set(np.unique(p.op).tolist()) - set(_KIND_ORDER) - {OP_COPY}
    if unknown:
        raise ValueError(f"packed_jax: no rule for the kernel's opcodes {sorted(unknown)} "
                         f"({', '.join(OP_NAMES[o] if o < len(OP_NAMES) else str(o) for o in sorted(unknown))})")
    # values: 0 the constant 0, 1 + i input i, 1 + n_in + j instruction j
    init = np.zeros(max(p.n_slots, int(p.out_slot.max(initial=0)) + 1, 1), dtype=np.int64)
    read = p.in_slot >= 0
    init[p.in_slot[read]] = 1 + np.flatnonzero(read)

    def value(r):
        return np.where(r >= 0, 1 + n_in + r, init[np.clip(-1 - r, 0, len(init) - 1)])

    at = np.arange(n, dtype=np.int64)
    A, B, C = (value(_reads(p, p.instr[:, k], at)) for k in range(3))
    nv = 1 + n_in + n
    canon = list(range(nv))
    level = [0] * nv
    ops, Al, Bl, Cl = p.op.tolist(), A.tolist(), B.tolist(), C.tolist()
    for j in range(n):  # one pass in program order (operands come first): aliases and levels
        v = 1 + n_in + j
        a, b, c = canon[Al[j]], canon[Bl[j]], canon[Cl[j]]
        if ops[j] == OP_COPY:
            canon[v] = a
            continue
        Al[j], Bl[j], Cl[j] = a, b, c
        level[v] = 1 + max(level[a], level[b], level[c])
    canon = np.asarray(canon, dtype=np.int64)
    level = np.asarray(level, dtype=np.int64)
    A, B, C = (np.asarray(x, dtype=np.int64) for x in (Al, Bl, Cl))
    out_val = canon[value(_reads(p, p.out_slot, np.full(len(p.out_slot), n)))]

    live = np.flatnonzero(p.op != OP_COPY)
    # rows: the read inputs, then the instructions by (level, opcode, first operand)
    used = np.zeros(nv, dtype=bool)
    for x in (A[live], B[live], C[live], out_val):
        used[x] = True
    inputs = np.flatnonzero(used[1: 1 + n_in])
    row = np.zeros(nv, dtype=np.int64)
    row[1 + inputs] = 1 + np.arange(len(inputs))
    kind = np.array([_RANK.get(o, 0) for o in p.op[live].tolist()], dtype=np.int64)
    lv = level[1 + n_in + live]
    order = live[np.lexsort((A[live], kind, lv))]
    first = 1 + len(inputs)
    row[1 + n_in + order] = first + np.arange(len(order))
    op_sorted, lv_sorted = p.op[order], level[1 + n_in + order]
    levels, spans = [], []
    a_idx, b_idx, c_idx = [], [], []
    na = nb = nc = 0
    cuts = np.flatnonzero(np.diff(lv_sorted)) + 1
    for s, e in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(order)]])):
        if e <= s:
            continue
        ins, ops_l = order[s:e], op_sorted[s:e]
        counts = tuple(int(np.sum(ops_l == k)) for k in _KIND_ORDER)
        two = ins[ops_l != OP_NOT]
        mux = ins[ops_l == OP_MUX]
        a_idx.append(row[A[ins]])
        b_idx.append(row[B[two]])
        c_idx.append(row[C[mux]])
        spans.append((na, na + len(ins), nb, nb + len(two), nc, nc + len(mux)))
        na, nb, nc = na + len(ins), nb + len(two), nc + len(mux)
        levels.append((int(first + s), counts))

    def cat(x):
        return np.concatenate(x).astype(np.int32) if x else np.zeros(0, dtype=np.int32)

    neg = np.where(np.asarray(p.out_neg) != 0, np.uint32(0xFFFFFFFF), np.uint32(0)).astype(np.uint32)
    return LevelProgram(n_inputs=n_in, n_outputs=p.n_outputs, n_rows=int(first + len(order)),
                        inputs=inputs.astype(np.int32), levels=tuple(levels), spans=tuple(spans),
                        a=cat(a_idx), b=cat(b_idx), c=cat(c_idx), out_rows=row[out_val].astype(np.int32),
                        out_neg=neg)


# --------------------------------------------------------------------------------------- the JAX program


def _forward(tables, data, *, levels, spans, n_rows, source, mode, n_classes, m):
    """One batch: ``data`` (``source`` ``"columns"``: ``(S, n_columns)`` ``uint8`` encoded by ``tables``'
    ``col``, ``U``, ``M``; ``"words"``: ``(n_inputs, S / 32)`` ``uint32``) through the levels; ``mode``
    ``"bits"``: the outputs ``(S, n_outputs)`` ``uint8``; ``"classes"``: ``(S,)`` ``int32`` class indices."""
    import jax.numpy as jnp
    from jax import lax

    u32 = jnp.uint32
    shifts = jnp.arange(32, dtype=u32)
    if source == "columns":
        S = data.shape[0]
        W = S // 32
        R = tables["col"].shape[0]
        x = jnp.take(data, tables["col"], axis=1, mode="clip").astype(jnp.int32)  # (S, R)
        bits = ((x >= tables["U"][None, :]) & tables["M"][None, :]).astype(u32)
        words = jnp.sum(bits.reshape(W, 32, R) << shifts[None, :, None], axis=1, dtype=u32).T  # (R, W)
    else:
        W = data.shape[1]
        S = 32 * W
        words = jnp.take(data, tables["inputs"], axis=0, mode="clip")
        R = words.shape[0]
    buf = jnp.concatenate([jnp.zeros((1, W), u32), words, jnp.zeros((n_rows - 1 - R, W), u32)], axis=0)
    for (first, counts), (a0, a1, b0, b1, c0, c1) in zip(levels, spans):
        A = jnp.take(buf, tables["a"][a0:a1], axis=0, mode="clip")
        Bv = jnp.take(buf, tables["b"][b0:b1], axis=0, mode="clip") if b1 > b0 else None
        Cv = jnp.take(buf, tables["c"][c0:c1], axis=0, mode="clip") if c1 > c0 else None
        parts, i, mi = [], 0, 0
        for op, k in zip(_KIND_ORDER, counts):
            if not k:
                continue
            a = A[i: i + k]
            if op == OP_NOT:
                parts.append(~a)
            else:
                b = Bv[i: i + k]
                if op == OP_AND:
                    parts.append(a & b)
                elif op == OP_ANDN:
                    parts.append(a & ~b)
                elif op == OP_XOR:
                    parts.append(a ^ b)
                elif op == OP_OR:
                    parts.append(a | b)
                else:  # mux(s, x, y) = y if s else x
                    c = Cv[mi: mi + k]
                    parts.append(b ^ ((b ^ c) & a))
                    mi += k
            i += k
        res = parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=0)
        buf = lax.dynamic_update_slice(buf, res, (first, 0))
    outs = jnp.take(buf, tables["out_rows"], axis=0, mode="clip") ^ tables["out_neg"][:, None]  # (n_out, W)
    if mode == "bits":
        bits = (outs[:, :, None] >> shifts[None, None, :]) & u32(1)  # (n_out, W, 32): sample 32 w + j
        return bits.reshape(outs.shape[0], S).T.astype(jnp.uint8)
    counts = _group_counts(outs.reshape(n_classes, m, W))  # (n_classes, S)
    return jnp.argmax(counts, axis=0).astype(jnp.int32)  # the first maximum: ties to the lowest class


def _group_counts(groups):
    """``(n_classes, S)`` ``int32``: the ones of each group ``(n_classes, m, W)`` of words, per sample.

    A bit-sliced adder tree: the ``m`` rows are 1-bit numbers (one per sample bit); each round adds them in
    pairs, ``k``-plane numbers to ``k + 1`` planes (a ripple of full adders on words; an odd row is added to
    zero), until one number of ``ceil(log2 m) + 1`` planes is left, which alone is unpacked to integers.
    About ``8 m`` word operations a group instead of ``32 m`` shifts and adds of unpacked bits."""
    import jax.numpy as jnp

    u32 = jnp.uint32
    nc, m, W = groups.shape
    x = groups[None]  # (planes, n_classes, rows, W)
    while x.shape[2] > 1:
        if x.shape[2] % 2:
            x = jnp.concatenate([x, jnp.zeros(x.shape[:2] + (1, W), u32)], axis=2)
        pairs = x.reshape(x.shape[0], nc, x.shape[2] // 2, 2, W)
        a, b = pairs[:, :, :, 0], pairs[:, :, :, 1]
        planes, carry = [], None
        for j in range(x.shape[0]):
            aj, bj = a[j], b[j]
            t = aj ^ bj
            if carry is None:
                planes.append(t)
                carry = aj & bj
            else:
                planes.append(t ^ carry)
                carry = (aj & bj) | (t & carry)
        x = jnp.stack(planes + [carry])
    shifts = jnp.arange(32, dtype=u32)
    bits = ((x[:, :, 0, :, None] >> shifts) & u32(1)).astype(jnp.int32)  # (planes, n_classes, W, 32)
    weights = (1 << jnp.arange(x.shape[0], dtype=jnp.int32))[:, None, None, None]
    return jnp.sum(bits * weights, axis=0).reshape(nc, 32 * W)


class JaxPackedCircuit:
    """A GF(2) circuit compiled as a JAX program of bitwise operations on ``uint32`` words.

    The methods are those of :class:`~paralens.boolean.packed.PackedCircuit` and give exactly what it
    gives; inputs may be NumPy arrays or JAX arrays already on the device.

    Args:
      circuit: a :class:`~paralens.circuits.Circuit` over GF(2), or its compiled program
        (:class:`~paralens.boolean.packed_compiler.Compiled`).
      max_batch: the most samples one compiled call takes (rounded down to a power of two words of 32;
        default 8,192 on a CPU and 262,144 on an accelerator); the rows of a call take
        ``rows * max_batch / 8`` bytes of device memory (:attr:`stats`).
      device: the JAX device to run on (default: JAX's default device).
    """

    def __init__(self, circuit, *, max_batch: int | None = None, device=None):
        jax = require_jax()
        self.circuit = None if isinstance(circuit, Compiled) else circuit
        if isinstance(circuit, Compiled):
            compiled = circuit
        else:
            if not getattr(circuit.field, "is_binary", False):
                raise ValueError(f"JaxPackedCircuit: GF(2) circuits only, got one over {circuit.field.name}")
            compiled = compile_circuit(circuit)
        self.program = schedule(compiled)
        self.device = device if device is not None else jax.devices()[0]
        if max_batch is None:
            max_batch = DEFAULT_MAX_BATCH.get(self.device.platform, DEFAULT_MAX_BATCH_ACCELERATOR)
        if int(max_batch) < 32 * MIN_WORDS:
            raise ValueError(f"JaxPackedCircuit: max_batch must be at least {32 * MIN_WORDS} samples, got {max_batch}")
        self.max_words = 1 << ((int(max_batch) // 32).bit_length() - 1)
        P = self.program
        put = functools.partial(jax.device_put, device=self.device)
        self._tables = {k: put(v) for k, v in (("a", P.a), ("b", P.b), ("c", P.c), ("out_rows", P.out_rows),
                                                ("out_neg", P.out_neg), ("inputs", P.inputs))}
        self._fn = jax.jit(functools.partial(_forward, levels=P.levels, spans=P.spans, n_rows=P.n_rows),
                           static_argnames=("source", "mode", "n_classes", "m"))
        self._encodings: dict = {}
        self._bits_encoding = None

    # -- shape -------------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.program.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.program.n_outputs

    @property
    def stats(self) -> dict:
        """Instructions (by opcode), levels, rows, and the device bytes of the rows of the largest call."""
        P = self.program
        return {"instructions": P.n_instructions, "by_op": P.counts(), "levels": P.depth, "rows": P.n_rows,
                "inputs_read": P.n_read, "max_batch": 32 * self.max_words,
                "batch_bytes": P.n_rows * self.max_words * 4, "device": str(self.device)}

    def __repr__(self) -> str:
        s = self.stats
        return (f"<JaxPackedCircuit {self.n_inputs} -> {self.n_outputs}: {s['instructions']} instructions in "
                f"{s['levels']} levels, {s['rows']} rows, on {s['device']}>")

    # -- encodings -------------------------------------------------------------------------------
    def _columns_tables(self, col, U, M):
        import jax

        P = self.program
        t = dict(self._tables)
        put = functools.partial(jax.device_put, device=self.device)
        t.update(col=put(np.asarray(col)[P.inputs].astype(np.int32)),
                 U=put(np.asarray(U)[P.inputs].astype(np.int32)), M=put(np.asarray(M)[P.inputs].astype(bool)))
        return t

    def _bits_tables(self):
        if self._bits_encoding is None:
            n = self.n_inputs
            self._bits_encoding = self._columns_tables(np.arange(n), np.ones(n), np.ones(n, bool))
        return self._bits_encoding

    def _comparator_tables(self, encoder, n_columns: int):
        """The device encoding of an encoder of comparisons ``x[f] > t`` on ``uint8`` columns (bit ``b`` is
        ``x[f] >= floor(t) + 1``, never set where that is above 255), or ``None`` for other encoders."""
        hit = self._encodings.get(id(encoder))
        if hit is not None and hit[0] is encoder:
            return hit[1]
        got = comparator_bits(encoder, self.n_inputs, "JaxPackedCircuit")
        if got is None or got[2] != n_columns:
            return None
        f, U, _ = got
        tables = self._columns_tables(f, np.clip(U, 0, 255), U <= 255)
        if len(self._encodings) > 8:
            self._encodings.clear()
        self._encodings[id(encoder)] = (encoder, tables)
        return tables

    # -- running -----------------------------------------------------------------------------------
    def _batches(self, N: int):
        """``(start, stop, words)``: the samples of each call and its padded size in words."""
        step = 32 * self.max_words
        for s in range(0, N, step):
            e = min(N, s + step)
            need = -(-(e - s) // 32)
            yield s, e, min(self.max_words, max(MIN_WORDS, 1 << (need - 1).bit_length()))

    def _run(self, data, N: int, tables, source: str, mode: str, n_classes: int = 1, m: int = 1):
        """Every batch of ``data`` (rows = samples, or ``(n_inputs, words)`` words), dispatched, then gathered
        to the host and trimmed to ``N`` samples."""
        import jax
        import jax.numpy as jnp

        on_device = isinstance(data, jax.Array)
        pending = []
        for s, e, W in self._batches(N):
            if source == "columns":
                part = data[s:e]
                pad = ((0, 32 * W - (e - s)), (0, 0))
            else:
                part = data[:, s // 32: -(-e // 32)]
                pad = ((0, 0), (0, W - part.shape[1]))
            if on_device:
                part = jnp.pad(part, pad)
            else:
                part = jax.device_put(np.pad(part, pad), self.device)
            pending.append((e - s, self._fn(tables, part, source=source, mode=mode, n_classes=n_classes, m=m)))
        out = [np.asarray(r)[:k] for k, r in pending]
        if mode == "bits":
            return np.concatenate(out) if out else np.zeros((0, self.n_outputs), np.uint8)
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)

    def _check_groups(self, n_classes, bits_per_class):
        n_classes, m = int(n_classes), int(bits_per_class)
        if n_classes < 1 or m < 1:
            raise ValueError(f"predict_groups: n_classes and bits_per_class must be >= 1, got {n_classes}, {m}")
        if n_classes * m != self.n_outputs:
            raise ShapeError(f"predict_groups: {n_classes} classes x {m} bits is not the circuit's "
                             f"{self.n_outputs} outputs")
        return n_classes, m

    def _bits_input(self, bits, who: str):
        import jax

        if isinstance(bits, jax.Array):  # on the device already: 0/1 of shape (N, n_inputs), checked there
            if bits.ndim != 2 or bits.shape[1] != self.n_inputs:
                raise ShapeError(f"{who}: expected bits of shape (batch, {self.n_inputs}), got {bits.shape}")
            return bits.astype(np.uint8)
        return _check_bits(bits, self.n_inputs, who)

    def evaluate_bits(self, bits) -> np.ndarray:
        """Outputs ``(N, n_outputs)`` ``uint8`` for input bits ``(N, n_inputs)`` of 0/1."""
        x = self._bits_input(bits, "JaxPackedCircuit.evaluate_bits")
        if self.n_outputs == 0:
            return np.zeros((len(x), 0), dtype=np.uint8)
        return self._run(x, len(x), self._bits_tables(), "columns", "bits")

    def predict_groups(self, bits, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes ``(N,)`` ``int64``: outputs ``c * m .. c * m + m - 1`` vote for class ``c``; most ones wins,
        ties to the lowest class (:meth:`PackedCircuit.predict_groups <paralens.boolean.packed.PackedCircuit.predict_groups>`)."""
        n_classes, m = self._check_groups(n_classes, bits_per_class)
        x = self._bits_input(bits, "JaxPackedCircuit.predict_groups")
        return self._run(x, len(x), self._bits_tables(), "columns", "classes", n_classes, m)

    def predict_features(self, X, encoder, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes from raw features ``X`` through ``encoder``: ``predict_groups(encoder.transform(X), ...)``.
        ``uint8`` features (NumPy, or a JAX array on the device) and an encoder of comparisons are encoded on
        the device; otherwise ``encoder.transform`` runs first, on the host."""
        import jax

        n_classes, m = self._check_groups(n_classes, bits_per_class)
        if not isinstance(X, jax.Array):
            X = np.asarray(X)
        tables = None
        if X.dtype == np.uint8 and X.ndim == 2:
            tables = self._comparator_tables(encoder, X.shape[1])
        if tables is None:
            return self.predict_groups(encoder.transform(np.asarray(X)), n_classes, m)
        return self._run(X, len(X), tables, "columns", "classes", n_classes, m)

    def predict_words(self, words, n_samples: int, n_classes: int, bits_per_class: int) -> np.ndarray:
        """Classes from inputs already packed: ``words`` ``(n_inputs, ceil(n_samples / 64))`` ``uint64`` as
        :meth:`PackedCircuit.predict_words <paralens.boolean.packed.PackedCircuit.predict_words>` takes (sample
        ``s`` at bit ``s % 64`` of word ``s // 64``), or ``(n_inputs, ceil(n_samples / 32))`` ``uint32`` (bit
        ``s % 32`` of word ``s // 32``; the same bytes), NumPy or on the device."""
        n_classes, m = self._check_groups(n_classes, bits_per_class)
        N = int(n_samples)
        n64, n32 = -(-N // 64), -(-N // 32)
        if words.dtype == np.uint64 and words.shape == (self.n_inputs, n64):
            words = np.ascontiguousarray(words).view(np.uint32)  # little-endian: the low half is bits 0 .. 31
        elif not (words.dtype == np.uint32 and words.shape in ((self.n_inputs, n32), (self.n_inputs, 2 * n64))):
            raise ShapeError(f"predict_words: expected uint64 words of shape ({self.n_inputs}, {n64}) or uint32 "
                             f"words of shape ({self.n_inputs}, {n32}), got {words.dtype} {words.shape}")
        return self._run(words, N, self._tables, "words", "classes", n_classes, m)


# --------------------------------------------------------------------------------------- classifiers


class JaxPackedClassifier:
    """A :class:`~paralens.boolean.classifier.CircuitClassifier` on the JAX program: :meth:`predict` gives
    ``clf.predict(X)`` exactly (raw features through the classifier's input formats; byte features with an
    encoder of comparisons are encoded on the device, others by the encoder on the host).

    ``max_batch`` and ``device``: as for :class:`JaxPackedCircuit`."""

    def __init__(self, clf, *, max_batch: int | None = None, device=None):
        self.clf = clf
        self.kernel = JaxPackedCircuit(clf.circuit, max_batch=max_batch, device=device)

    def predict(self, X) -> np.ndarray:
        """Class indices ``(N,)`` ``int64`` of raw features ``X`` (rows = samples)."""
        clf, d, kernel = self.clf, self.clf.decoder, self.kernel
        bytes_in = clf._byte_ports()
        if not (bytes_in and getattr(X, "dtype", None) == np.uint8 and np.ndim(X) == 2):
            q = clf.integers(X)
            if not bytes_in:
                return kernel.predict_groups(clf.encoder.transform(q), d.n_classes, d.bits_per_class)
            X = q.astype(np.uint8)
        return kernel.predict_features(X, clf.encoder, d.n_classes, d.bits_per_class)

    def predict_labels(self, X) -> np.ndarray:
        """The class labels (``clf.classes``) of raw features ``X``."""
        return np.asarray(self.clf.classes)[self.predict(X)]


def predict(clf, X, *, backend: str = "numpy", threads: int | None = None) -> np.ndarray:
    """``clf``'s class indices of ``X`` on ``backend``: ``"numpy"`` (``clf.predict``: the CPU kernel, in ``threads``
    threads, ``None`` every core) or ``"jax"`` (:class:`JaxPackedClassifier`, compiled for this call; JAX
    places it, so ``threads`` must stay ``None``); the same classes either way."""
    if check_backend(backend) == "numpy":
        return clf.predict(X, threads=threads)
    if threads is not None:
        raise ValueError(f"threads={threads!r} is for the numpy backend (the CPU kernel); JAX chooses its own")
    return JaxPackedClassifier(clf).predict(X)


def predict_labels(clf, X, *, backend: str = "numpy", threads: int | None = None) -> np.ndarray:
    """``clf``'s class labels of ``X`` on ``backend`` (see :func:`predict`)."""
    return np.asarray(clf.classes)[predict(clf, X, backend=backend, threads=threads)]


__all__ = ["BACKENDS", "JaxPackedCircuit", "JaxPackedClassifier", "JaxUnavailable", "LevelProgram", "check_backend",
           "predict", "predict_labels", "require_jax", "schedule"]
