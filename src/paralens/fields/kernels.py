"""Internal representations of field elements, hidden behind :class:`~paralens.fields.Field`.

A *kernel* is the arithmetic a circuit interpreter runs on: arrays of one
internal dtype with ``add``, ``mul``, ``neg`` and constants.  Users never see a
kernel; they hand in integers or galois ``FieldArray`` s and get ``FieldArray`` s
back.  Each kernel is chosen because it is the fastest correct one measured here:

=====================  ==========================================================
kernel                 representation
=====================  ==========================================================
``GF2Kernel``          one bit per ``uint8`` (0/1): ``+`` is XOR, ``*`` is AND
``GF2PackedKernel``    64 samples per ``uint64`` word along the batch axis
``PrimeKernel``        ``int64`` reduced mod p (p with (p-1)^2 < 2^63)
``GaloisKernel``       galois ``FieldArray`` s (GF(p^m), and primes above 2^31.5)
``RealKernel``         ``float64`` (the reals, for parity with real networks)
=====================  ==========================================================

Every kernel works on arrays of any shape; the interpreter keeps wires on the
first axis.
"""

from __future__ import annotations

import numpy as np


class Kernel:
    """The arithmetic of one internal representation (abstract)."""

    name = "kernel"
    dtype: np.dtype

    def from_ints(self, x: np.ndarray):
        raise NotImplementedError

    def to_ints(self, x) -> np.ndarray:
        raise NotImplementedError

    def empty(self, shape):
        return np.empty(shape, dtype=self.dtype)

    def const(self, values, shape):
        """An array of ``shape`` whose row i is the constant ``values[i]`` (an int array)."""
        v = self.from_ints(np.asarray(values))
        return np.broadcast_to(v.reshape((-1,) + (1,) * (len(shape) - 1)), shape).copy()

    def add(self, a, b):
        raise NotImplementedError

    def mul(self, a, b):
        raise NotImplementedError

    def neg(self, a):
        raise NotImplementedError


class GF2Kernel(Kernel):
    """GF(2), one element per byte: ``+`` is XOR and ``*`` is AND."""

    name = "gf2"
    dtype = np.dtype(np.uint8)

    def from_ints(self, x):
        return np.asarray(x, dtype=np.uint8)

    def to_ints(self, x):
        return np.asarray(x, dtype=np.int64)

    def add(self, a, b):
        return a ^ b

    def mul(self, a, b):
        return a & b

    def neg(self, a):
        return a.copy()

    # fast paths for the Boolean gates (same values as their polynomial definitions)
    def gate_xor(self, a, b):
        return a ^ b

    def gate_and(self, a, b):
        return a & b

    def gate_or(self, a, b):
        return a | b

    def gate_not(self, a):
        return a ^ 1

    def gate_nand(self, a, b):
        return (a & b) ^ 1

    def gate_nor(self, a, b):
        return (a | b) ^ 1

    def gate_xnor(self, a, b):
        return a ^ b ^ 1

    def gate_mux(self, s, a, b):
        return np.where(s.astype(bool), b, a).astype(np.uint8)


class GF2PackedKernel(GF2Kernel):
    """GF(2) bit-packed: the last axis holds ``uint64`` words of 64 samples each.

    Constants are words of all zeros or all ones, so every gate is one word-wide
    bitwise operation on 64 samples at once.  :func:`pack_bits` and :func:`unpack_bits`
    convert from and to one sample per row.
    """

    name = "gf2-packed"
    dtype = np.dtype(np.uint64)
    ONES = np.uint64(0xFFFFFFFFFFFFFFFF)

    def from_ints(self, x):
        return np.where(np.asarray(x) != 0, self.ONES, np.uint64(0))

    def gate_not(self, a):
        return ~a

    def gate_nand(self, a, b):
        return ~(a & b)

    def gate_nor(self, a, b):
        return ~(a | b)

    def gate_xnor(self, a, b):
        return ~(a ^ b)

    def gate_mux(self, s, a, b):
        return (a & ~s) | (b & s)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``(batch, n)`` 0/1 -> ``(n, words)`` ``uint64``: sample ``s`` is bit ``s % 64`` of word ``s // 64``."""
    bits = np.asarray(bits)
    batch, n = bits.shape
    words = -(-batch // 64)
    padded = np.zeros((words * 64, n), dtype=np.uint8)
    padded[:batch] = bits != 0
    # little-endian bit order inside each byte, bytes little-endian inside each word
    by = np.packbits(padded.T.reshape(n, words, 64), axis=-1, bitorder="little")  # (n, words, 8)
    return np.ascontiguousarray(by).view(np.uint64).reshape(n, words)


def unpack_words(words: np.ndarray, batch: int) -> np.ndarray:
    """``(n, words)`` ``uint64`` -> ``(n, batch)`` ``uint8`` bits, wire-major (a view of the unpacked words:
    no transposing copy; the interpreter hands out its transpose)."""
    words = np.ascontiguousarray(words, dtype=np.uint64)
    n, w = words.shape
    by = words.view(np.uint8).reshape(n, w, 8)
    bits = np.unpackbits(by, axis=-1, bitorder="little").reshape(n, w * 64)
    return bits[:, :batch]


def unpack_bits(words: np.ndarray, batch: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(n, words)`` ``uint64`` -> ``(batch, n)`` ``uint8``."""
    return np.ascontiguousarray(unpack_words(words, batch).T)


class PrimeKernel(Kernel):
    """GF(p) for primes with ``(p - 1)^2 < 2^63``: ``int64`` arrays reduced mod p."""

    name = "prime"
    dtype = np.dtype(np.int64)

    def __init__(self, p: int):
        self.p = int(p)

    def from_ints(self, x):
        return np.asarray(x, dtype=np.int64)

    def to_ints(self, x):
        return np.asarray(x, dtype=np.int64)

    def add(self, a, b):
        s = a + b
        s -= self.p * (s >= self.p)  # 3x faster than masked assignment (bench_circuits)
        return s

    def mul(self, a, b):
        r = a * b
        if not isinstance(r, np.ndarray):
            return r % self.p
        np.remainder(r, self.p, out=r)  # in place: one temporary less on wide layers
        return r

    def neg(self, a):
        return (self.p - a) % self.p


class GaloisKernel(Kernel):
    """Any finite field through galois ``FieldArray`` s (extension fields, very large primes)."""

    name = "galois"

    def __init__(self, GF):
        self.GF = GF
        self.dtype = np.dtype(GF.dtypes[0])

    def empty(self, shape):
        return self.GF.Zeros(shape)

    def from_ints(self, x):
        x = np.asarray(x)
        if x.dtype == object or self.GF.dtypes[0] == np.object_:
            return self.GF(x.astype(object) if x.dtype != object else x)
        return self.GF(x.astype(self.dtype, copy=False))

    def to_ints(self, x):
        a = np.asarray(x.view(np.ndarray))
        # the field's element dtype (paralens.fields.field.INT64_ORDER): Python ints above 2^62
        if self.GF.order > 2**62:
            return a if a.dtype == object else a.astype(object)
        return a.astype(np.int64)

    def const(self, values, shape):
        v = np.asarray(values)
        ints = np.broadcast_to(v.reshape((-1,) + (1,) * (len(shape) - 1)), shape).copy()
        return self.from_ints(ints)

    def add(self, a, b):
        return a + b

    def mul(self, a, b):
        return a * b

    def neg(self, a):
        return -a


class RealKernel(Kernel):
    """The reals in ``float64``: a circuit read over R (parity with real-valued networks)."""

    name = "real"
    dtype = np.dtype(np.float64)

    def from_ints(self, x):
        return np.asarray(x, dtype=np.float64)

    def to_ints(self, x):
        return np.asarray(x, dtype=np.float64)

    def add(self, a, b):
        return a + b

    def mul(self, a, b):
        return a * b

    def neg(self, a):
        return -a
