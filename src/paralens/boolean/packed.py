"""A fused, bit-packed evaluator of GF(2) circuits (numba): encode, pack, run and decode in one pass.

:class:`PackedCircuit` compiles a GF(2) :class:`~paralens.circuits.Circuit` once into a flat
program over an array of *slots*, then runs it over blocks of samples: a block holds
``block_words`` words of 64 samples each (512 samples for the default 8 words), every
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

One module per stage:

=========================================  ==================================================================
:mod:`~paralens.boolean.packed_compiler`   the circuit to a program over slots, in passes (:func:`compile_circuit`)
:mod:`~paralens.boolean.packed_kernels`    the numba kernels (pack, run, unpack, the class head), compiled lazily
this module                                the runner: :class:`PackedCircuit` (blocks, threads, encodings) and
                                           :func:`pack_bits`
=========================================  ==================================================================

:func:`pack_bits` is the packer alone (``(N, n)`` bits -> ``(n, ceil(N / 64))`` words, as
:func:`paralens.fields.pack_bits`, without ``np.packbits``).

Without numba, :class:`PackedCircuit` warns and falls back to the NumPy interpreter
(:func:`~paralens.circuits.evaluate.evaluate_ints`, ``packed=True``); results are the same.
"""

from __future__ import annotations

import copy
import os
import warnings

import numpy as np

from paralens.boolean.packed_compiler import Compiled, compile_circuit
from paralens.boolean.packed_kernels import _NUMBA, OP_NAMES, numba_kernels  # noqa: F401 (_NUMBA: the cache, shared)
from paralens.errors import ParalensError, ShapeError

#: words of 64 samples per block: 8 words (512 samples) are one AVX-512 register per gate, and the slots of the
#: 48,000-gate MNIST network (about 19,600 of them: 1.2 MB) stay in a 2 MB L2; measured there 7.0 M samples/s
#: for the gates against 6.1 M with 16 words and 4.4 M with 4
DEFAULT_BLOCK_WORDS = 8
_ALIGN = 64  # bytes: a slot of 8 words is one cache line (unaligned slots straddle two: 1.6 times slower)


class ThreadsError(ParalensError, ValueError):
    """A thread count that is not a positive integer (or ``None``: every core)."""


def resolve_threads(threads) -> int:
    """The number of threads for ``threads``: ``None`` every core this process may run on
    (``os.sched_getaffinity``), else a positive integer.

    >>> resolve_threads(2)
    2
    """
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ThreadsError(f"threads must be a positive integer or None (every core), got {threads!r}")
    return int(threads)


def _aligned_slots(n_slots: int, W: int) -> np.ndarray:
    """Zeroed ``(n_slots, W)`` ``uint64`` whose rows start on cache lines (numpy aligns to 16 bytes only)."""
    buf = np.zeros(n_slots * W + _ALIGN // 8, dtype=np.uint64)
    off = (-buf.ctypes.data % _ALIGN) // 8
    return buf[off: off + n_slots * W].reshape(n_slots, W)


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
      block_words: words of 64 samples per block (8: 512 samples, :data:`DEFAULT_BLOCK_WORDS`); each gate is one
        operation on a vector of ``block_words`` words.  The slots of a block take ``n_slots * block_words * 8``
        bytes (:attr:`stats`); fewer words keep them in a smaller cache, more words spread each instruction's
        fixed cost over more samples.
      threads: blocks run in this many threads (the kernels release the GIL); ``None`` (the default): every
        core this process may use (``os.sched_getaffinity``), ``1``: one.  The results do not depend on it.

    Methods give exactly what the NumPy interpreter gives (:func:`~paralens.circuits.evaluate.evaluate_ints`
    and :class:`~paralens.boolean.encoders.GroupSumDecoder`).
    """

    def __init__(self, circuit, *, block_words: int = DEFAULT_BLOCK_WORDS, threads: int | None = None):
        if not getattr(circuit.field, "is_binary", False):
            raise ValueError(f"PackedCircuit: GF(2) circuits only, got one over {circuit.field.name}")
        self.circuit = circuit
        self.block_words = max(1, int(block_words))
        self.threads = resolve_threads(threads)
        self.kernels = numba_kernels()
        self._bits_encoding = None
        self._encodings: dict = {}
        if self.kernels is None:
            warnings.warn("numba is not installed: PackedCircuit falls back to the NumPy interpreter (slower)",
                          RuntimeWarning, stacklevel=2)
            self.program = None
        else:
            self.program = compile_circuit(circuit)

    def with_threads(self, threads) -> PackedCircuit:
        """This compiled circuit run in ``threads`` threads (``None``: every core): a copy sharing the program."""
        n = resolve_threads(threads)
        if n == self.threads:
            return self
        other = copy.copy(self)
        other.threads = n
        return other

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
        got = comparator_bits(encoder, self.n_inputs, "PackedCircuit")
        if got is None:
            return None
        f, U_bit, nf = got
        n = len(f)
        order = np.argsort(f, kind="stable")  # the level of each bit among its feature's bits
        starts = np.concatenate([[0], np.cumsum(np.bincount(f, minlength=nf))[:-1]]).astype(np.int64)
        level = np.empty(n, dtype=np.int64)
        level[order] = np.arange(n) - starts[f[order]]
        k = int(level.max()) + 1 if n else 1
        U = np.zeros((k, nf), dtype=np.float64)
        U[level, f] = U_bit
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
        """Run the program over ``N`` samples, read as ``source`` says (the kernels' ``pack_block``: 0 bit rows
        in ``X64``, 1 bytes in ``X8`` encoded by ``enc``, 2 packed words in ``X64``); ``mode`` 0 gives the
        outputs ``(N, n_outputs)`` ``uint8``, 1 the classes of ``n_classes`` groups of ``m`` outputs."""
        n_out = self.n_outputs
        n_out8 = -(-n_out // 8) * 8
        res, words, pred = _results(N, n_out8, mode)
        if N == 0:
            return res[:, :n_out] if mode == 0 else res
        n_blocks = -(-N // (64 * self.block_words))
        work = self._worker(source, N, X8, X64, enc, mode, n_classes, m, words, pred)
        _in_threads(work, n_blocks, min(self.threads, n_blocks))
        return res[:, :n_out] if mode == 0 and n_out8 != n_out else res

    def _output_layout(self):
        """The outputs padded to whole bytes: their number, their negations, and the slots a block needs."""
        p, n_out = self.program, self.n_outputs
        n_out8 = -(-n_out // 8) * 8
        out_neg = np.zeros(max(n_out8, 8), dtype=np.uint64)
        out_neg[:n_out] = p.out_neg
        return n_out8, out_neg, max(p.n_slots, p.out_first + n_out8)

    def _worker(self, source, N, X8, X64, enc, mode, n_classes, m, words, pred):
        """``work(b0, b1)``: blocks ``b0 .. b1 - 1`` packed, run, and unpacked into ``words`` (mode 0) or
        decoded into classes in ``pred``; each call with its own slots and scratch (one per thread)."""
        p, K, W = self.program, self.kernels, self.block_words
        proto = (np.uint64(0),) * W  # the block's width, as a type: the gate kernel is compiled for it
        n_out8, out_neg, n_slots = self._output_layout()
        U, M, nf8, col_slot, col_slot8 = _columns(p, enc)
        L, nb = max(1, m.bit_length()), max(1, (n_classes - 1).bit_length())

        cs8 = np.where(col_slot8 < 0, n_slots, col_slot8).astype(np.int32)  # slot n_slots: spare, for no column
        levels = (np.uint8(0),) * len(U)  # the encoder's levels, as a type: the encoder is compiled for them

        def work(b0, b1):
            V = _aligned_slots(n_slots + 1, W)  # slot 0 stays 0: the constant
            flat = V.reshape(-1)
            acc = np.zeros((8, col_slot8.shape[1]), dtype=np.uint64)  # rows r % 8 of 64 rows, or-ed by bytes
            head = _head_scratch(L if mode == 1 else 1, nb if mode == 1 else 1, W)
            K.blocks(b0, b1, source, N, X8, X64, U, M, nf8, col_slot, cs8, acc, V, flat, p.runs, p.instr,
                     proto, levels, mode, p.out_first, out_neg, n_out8, words, n_classes, m, *head, pred)

        return work

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


def comparator_bits(encoder, n_inputs: int, who: str):
    """An encoder whose bits are comparisons ``x[f] > t`` (its ``comparators()``) as integer tests: ``(f, U, nf)``,
    bit ``b`` is ``x[f[b]] >= U[b]`` with ``U = floor(t) + 1`` (the same for integer ``x``), ``nf`` the
    encoder's features; ``None`` for encoders of other bits (one-hot) or not fitted.  The one reading of an
    encoder that the fused kernels (CPU and JAX) share."""
    try:
        comps = encoder.comparators()
        nf = int(encoder.n_features)
    except (ValueError, NotImplementedError, AttributeError, TypeError):
        return None
    n = len(comps)
    if n != n_inputs:
        raise ShapeError(f"{who}: the encoder gives {n} bits, the circuit takes {n_inputs}")
    f = np.array([c[0] for c in comps], dtype=np.int64).reshape(n)
    t = np.array([c[1] for c in comps], dtype=np.float64).reshape(n)
    if n and (f.min() < 0 or f.max() >= nf):
        return None
    return f, np.floor(t) + 1, nf


def _results(N: int, n_out8: int, mode: int):
    """The result, and what the kernels write into: ``(N, n_out8)`` bytes viewed as words (mode 0), or
    ``N`` classes (mode 1)."""
    if mode == 0:
        res = np.zeros((N, n_out8), dtype=np.uint8)
        words = res.view(np.uint64) if n_out8 else np.zeros((N, 0), np.uint64)
        return res, words, np.zeros(0, dtype=np.int64)
    pred = np.zeros(N, dtype=np.int64)
    return pred, np.zeros((0, 1), dtype=np.uint64), pred


def _columns(p: Compiled, enc: _Encoding | None):
    """How input columns reach slots: the encoding's thresholds ``U``, masks ``M``, padded feature count and
    slot per column (packed words without ``enc``: one column per input), and the slots as ``[c, g]`` for
    column ``8 g + c`` (-1 past the last column)."""
    if enc is None:
        U, M, nf8, col_slot = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.uint8), 8, p.in_slot
    else:
        U, M, nf8, col_slot = enc.U, enc.M, enc.nf8, enc.col_slot
    G = max((len(col_slot) + 7) // 8, 1)
    col_slot8 = np.full(8 * G, -1, dtype=np.int32)
    col_slot8[: len(col_slot)] = col_slot
    return U, M, nf8, col_slot, np.ascontiguousarray(col_slot8.reshape(G, 8).T)


def _head_scratch(L: int, nb: int, W: int):
    """One thread's scratch for the class head: counts of ``L`` bits, class indices of ``nb`` bits."""
    P, best = np.zeros((L, W), dtype=np.uint64), np.zeros((L, W), dtype=np.uint64)
    idx, hacc = np.zeros((nb, W), dtype=np.uint64), np.zeros((4, W), dtype=np.uint64)
    return P, best, idx, hacc, np.zeros(W, dtype=np.uint64), np.zeros(W, dtype=np.uint64)


def _in_threads(work, n_blocks: int, threads: int):
    """``work`` over blocks ``0 .. n_blocks - 1``, cut into ``threads`` runs of consecutive blocks."""
    if threads == 1:
        work(0, n_blocks)
        return
    from concurrent.futures import ThreadPoolExecutor

    cuts = np.linspace(0, n_blocks, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda i: work(int(cuts[i]), int(cuts[i + 1])), range(threads)))


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


__all__ = ["Compiled", "DEFAULT_BLOCK_WORDS", "OP_NAMES", "PackedCircuit", "ThreadsError", "compile_circuit",
           "numba_kernels", "pack_bits", "resolve_threads"]
