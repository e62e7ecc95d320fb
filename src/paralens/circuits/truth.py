"""The sixteen two-input Boolean functions: one table of codes, names, truth tables and polynomials.

Function ``k`` (difflogic's order) has the truth table ``TRUTH[k] = (f(0,0), f(0,1), f(1,0),
f(1,1))`` (index ``2a + b``) and the 4-bit code ``8 f(0,0) + 4 f(0,1) + 2 f(1,0) + f(1,1)``
(:func:`code`), so that AND is ``0b0001`` and NAND ``0b1110``.  Its polynomials:

* over GF(2), the algebraic normal form ``ANF[k] = (c0, ca, cb, cab)``: ``f = c0 + ca a + cb b + cab ab``
  (addition is XOR), which is what a built-in gate's definition computes;
* over the reals, the multilinear form ``COEFFS[k]`` (the same four coefficients, but with
  ordinary addition: AND is ``ab``, XOR ``a + b - 2ab``), which the relaxed networks learn.

Everything else that needs a two-input function's meaning reads it from here.

    >>> NAMES[CODE_OF["nand"]], TRUTH[GATE_NAMES.index("nand")].tolist(), code(TRUTH[1]).item()
    ('nand', [1, 1, 1, 0], 1)
    >>> ANF[GATE_NAMES.index("or")].tolist(), COEFFS[GATE_NAMES.index("xor")].tolist()
    ([0, 1, 1, 1], [0.0, 1.0, 1.0, -2.0])
"""

from __future__ import annotations

import numpy as np

#: names of the 16 two-input Boolean functions, in difflogic's order
GATE_NAMES = ("false", "and", "a_and_not_b", "a", "not_a_and_b", "b", "xor", "or",
              "nor", "xnor", "not_b", "a_or_not_b", "not_a", "not_a_or_b", "nand", "true")

#: ``TRUTH[k] = (f(0,0), f(0,1), f(1,0), f(1,1))``, index ``2a + b``: the bits of ``15 - k``'s reverse
TRUTH = np.array([[(k >> 3) & 1, (k >> 2) & 1, (k >> 1) & 1, k & 1]
                  for k in (0b0000, 0b0001, 0b0010, 0b0011, 0b0100, 0b0101, 0b0110, 0b0111,
                            0b1000, 0b1001, 0b1010, 0b1011, 0b1100, 0b1101, 0b1110, 0b1111)], dtype=np.int64)

#: ``COEFFS[k]``: function ``k`` relaxed to ``c0 + c1 a + c2 b + c3 ab`` over the reals (its multilinear form)
COEFFS = np.stack([TRUTH[:, 0],
                   TRUTH[:, 2] - TRUTH[:, 0],
                   TRUTH[:, 1] - TRUTH[:, 0],
                   TRUTH[:, 3] - TRUTH[:, 2] - TRUTH[:, 1] + TRUTH[:, 0]], axis=1).astype(np.float64)

#: ``ANF[k]``: function ``k`` over GF(2) as ``c0 + ca a + cb b + cab ab`` (the multilinear form mod 2)
ANF = (COEFFS.astype(np.int64) % 2).astype(np.int64)

PASS_A, PASS_B = GATE_NAMES.index("a"), GATE_NAMES.index("b")

FLIP_A = np.array([2, 3, 0, 1])  #: table index of ``f(not a, b)``
FLIP_B = np.array([1, 0, 3, 2])  #: table index of ``f(a, not b)``


def code(T: np.ndarray) -> np.ndarray:
    """The 4-bit codes ``8 f0 + 4 f1 + 2 f2 + f3`` of truth tables ``T[..., 4]``."""
    T = np.asarray(T)
    return 8 * T[..., 0] + 4 * T[..., 1] + 2 * T[..., 2] + T[..., 3]


def table_bit(t, i: int):
    """``f_i`` (index ``i = 2a + b``) of truth tables given by their codes ``t`` (integers or arrays)."""
    return (t >> (3 - i)) & 1


#: the code of each function, by name, and the name of each code
CODE_OF = {name: int(code(TRUTH[k])) for k, name in enumerate(GATE_NAMES)}
NAMES = {c: name for name, c in CODE_OF.items()}

#: the two-input built-in gates (:mod:`paralens.circuits.generators`) by code
BUILTIN_CODES = {CODE_OF[n]: n for n in ("and", "nand", "or", "nor", "xor", "xnor")}
XOR_FAMILY = (CODE_OF["xor"], CODE_OF["xnor"])


def apply(t: int, a, b):
    """Function ``t`` (a code) on 0/1 values or on packed words (any integer arrays, bitwise)."""
    a, b = np.asarray(a), np.asarray(b)
    ones = ~np.zeros_like(a) if a.dtype.kind == "u" else np.ones_like(a)
    na, nb = a ^ ones, b ^ ones
    out = np.zeros_like(a)
    for i, term in enumerate((na & nb, na & b, a & nb, a & b)):
        if table_bit(t, i):
            out |= term
    return out
