"""Literal folding: a bundle of two-input gates on *literals*, reduced to the gates that stay binary.

A literal is ``(node, negated)``: a value (``node >= 0``) read as it is or complemented, or the
constant ``negated`` (``node == -1``).  A two-input gate of truth table ``t`` (a code,
:func:`paralens.circuits.truth.code`) on literals ``(ba, na)``, ``(bb, nb)`` reads its source
values through the table ``f(x ^ na, y ^ nb)``; when it reads a constant, one value twice, or
does not depend on one of its inputs, it *folds* to a literal (a constant, a value, or its
negation) and costs nothing.  Both :func:`paralens.boolean.hardening.harden` (a network's
layers) and the bit-packed compiler (:mod:`paralens.boolean.packed_compiler`) fold with
:func:`fold_binary`.

    >>> import numpy as np
    >>> from paralens.circuits.truth import CODE_OF
    >>> t = np.array([CODE_OF["and"], CODE_OF["and"], CODE_OF["xor"]])
    >>> ba, na = np.array([0, 0, 1]), np.array([0, 0, 0])
    >>> bb, nb = np.array([1, -1, 1]), np.array([0, 1, 0])  # x and y; x and true; y xor y
    >>> eff, binary, node, neg = fold_binary(t, ba, na, bb, nb)
    >>> binary.tolist(), node[~binary].tolist(), neg[~binary].tolist()
    ([True, False, False], [0, -1], [0, 0])
"""

from __future__ import annotations

import numpy as np

from paralens.circuits.truth import table_bit


def fold_binary(t, ba, na, bb, nb):
    """Fold two-input gates of truth-table codes ``t`` on literals ``(ba, na)``, ``(bb, nb)`` (arrays of ``n``).

    Returns ``(eff, binary, node, neg)``: ``eff`` ``(n, 4)`` the tables over the source values (index
    ``2 x + y``: ``f(x ^ na, y ^ nb)``; a constant's source value reads 0), ``binary`` the gates that
    read two distinct values and depend on both, and for the others, ``(node[i], neg[i])`` the literal
    the gate folds to (entries of binary gates are placeholders for the caller to fill).
    """
    ba, bb = np.asarray(ba, dtype=np.int64), np.asarray(bb, dtype=np.int64)
    na, nb = np.asarray(na, dtype=np.int64), np.asarray(nb, dtype=np.int64)
    n = len(ba)
    t = np.broadcast_to(np.asarray(t, dtype=np.int64), (n,))
    eff = np.stack([table_bit(t, 2 * (x ^ na) + (y ^ nb)) for x, y in ((0, 0), (0, 1), (1, 0), (1, 1))],
                   axis=1).reshape(n, 4)
    e00, e01, e10, e11 = eff[:, 0], eff[:, 1], eff[:, 2], eff[:, 3]
    ca, cb = ba < 0, bb < 0
    same = (ba == bb) & ~ca
    free = ~(ca | cb | same)
    dep_a = (e00 != e10) | (e01 != e11)
    dep_b = (e00 != e01) | (e10 != e11)
    binary = free & dep_a & dep_b
    # otherwise a unary table (u0, u1) over one value (u0 == u1: a constant)
    on_b = (ca & ~cb) | (free & ~dep_a)
    u_node = np.where(on_b, bb, ba)
    u1 = np.where(on_b, e01, np.where(same, e11, e10))
    u1 = np.where(ca & cb, e00, u1)
    node = np.where(e00 == u1, -1, u_node)
    neg = e00.copy()  # a constant's value; a literal (0, 1) is the value, (1, 0) its negation
    return eff, binary, node, neg


__all__ = ["fold_binary"]
