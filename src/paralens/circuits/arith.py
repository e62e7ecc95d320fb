"""Arithmetic as GF(2) circuits, shared by hardware and classifiers (the role of PyRTL's ``rtllib``).

Every function adds bundled operations to a :class:`~paralens.circuits.syntax.Builder`.
Numbers are bit lists, least significant bit first, each bit a wire array (one wire per
row of a bundle), so that one call builds a whole layer of adders or comparators.

==============================  ============================================================
``add_numbers(b, x, y)``        ripple-carry sums of pairs of numbers
``popcount(b, bits)``           the ones in each row, by a tree of ripple-carry adders
``carry_save_popcount(b, bits)`` the same numbers by a bundled Wallace tree (shallower)
``greater_than(b, num, t)``     ``[num > t]`` for a constant ``t``
``const_greater(b, num, t)``    the same, with ``t`` outside the numbers' range folded
``const_equal(b, num, t)``      ``[num == t]`` for a constant ``t`` (an AND of literals)
``greater(b, x, y, tree=...)``  ``[x > y]``, a ripple or a parallel-prefix comparator tree
``mux_words(b, s, x, y)``       ``y if s else x``, bit by bit
``argmax_tree(b, nums, idx)``   the index of the largest number (ties to the lower), a tournament
==============================  ============================================================

    >>> from paralens.fields import GF
    >>> from paralens.circuits.syntax import Builder
    >>> b = Builder(GF(2), 6)
    >>> count = popcount(b, b.inputs().reshape(1, 6))       # one row of six bits
    >>> c = b.build(np.concatenate(count))
    >>> c.evaluate([[1, 0, 1, 1, 0, 1]]).tolist()            # 4 = 0b0100, LSB first (an adder tree's width)
    [[0, 0, 1, 0]]
"""

from __future__ import annotations

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.syntax import Builder


def add_numbers(b: Builder, x: list[np.ndarray], y: list[np.ndarray]) -> list[np.ndarray]:
    """Bundled ripple-carry addition of pairs of binary numbers (bit lists, LSB first, equal width)."""
    out, carry = [], None
    for xi, yi in zip(x, y):
        s = b.add(xi, yi)
        if carry is None:
            out.append(s)
            carry = b.mul(xi, yi)
        else:
            out.append(b.add(s, carry))
            carry = b.op(G.OR, b.mul(xi, yi), b.mul(s, carry))[0]
    out.append(carry)
    return out


def popcount(b: Builder, bits: np.ndarray) -> list[np.ndarray]:
    """The number of ones in each row of ``bits`` (n, w) as binary numbers (bit lists, LSB first),
    by a tree of bundled ripple-carry adders."""
    nums = [bits[:, i: i + 1].reshape(-1)[None, :].T for i in range(bits.shape[1])]  # w numbers of width 1
    rows = bits.shape[0]
    cur = [[bits[:, i]] for i in range(bits.shape[1])]  # list of numbers; each a list of (rows,) bit arrays
    del nums
    while len(cur) > 1:
        half = len(cur) // 2
        width = max(len(n) for n in cur)
        zero = None

        def pad(num):
            nonlocal zero
            if len(num) == width:
                return num
            if zero is None:
                zero = np.full(rows, b.zero_wire())
            return num + [zero] * (width - len(num))

        xs = [pad(n) for n in cur[:half]]
        ys = [pad(n) for n in cur[half: 2 * half]]
        X = [np.concatenate([n[j] for n in xs]) for j in range(width)]
        Y = [np.concatenate([n[j] for n in ys]) for j in range(width)]
        S = add_numbers(b, X, Y)
        summed = [[s[i * rows:(i + 1) * rows] for s in S] for i in range(half)]
        cur = summed + cur[2 * half:]
    return cur[0]


def greater_than(b: Builder, num: list[np.ndarray], t: int) -> np.ndarray:
    """``[num > t]`` for a constant ``t``: scan from the LSB, ``gt = (bit and not t_i) or (gt and bit == t_i)``."""
    gt = None
    for i, bit in enumerate(num):
        ti = (t >> i) & 1
        if ti:
            gt = None if gt is None else b.mul(bit, gt)  # need bit = 1 and the lower part greater
        else:
            gt = bit if gt is None else b.op(G.OR, bit, gt)[0]
    if gt is None or (t >> len(num)) > 0:
        return np.full(len(num[0]), b.const([0])[0])
    return gt


def carry_save_popcount(b: Builder, bits: np.ndarray) -> list[np.ndarray]:
    """The number of ones in each row of ``bits`` (n, w), LSB first, by a bundled Wallace tree.

    Bits of equal weight form columns; every level applies full adders (``s = a + b + c``,
    ``carry = a b or c (a + b)``) to the triples of every column at once, sum to the column and carry
    to the next, until no column holds more than two bits; a ripple-carry adder adds the last two
    rows.  The same numbers as :func:`popcount` in about ``5 log_1.5(w) + 5 log2(w)`` bundled
    operations instead of ``2.5 log2(w)^2`` (fewer operations run faster in the interpreter;
    the depth is smaller too)."""
    rows, w = bits.shape
    cols = [[bits[:, i] for i in range(w)]]  # cols[j]: the wire arrays (rows,) of weight 2^j
    while max(len(c) for c in cols) > 2:
        xs, ys, zs, where = [], [], [], []
        nxt = [[] for _ in range(len(cols) + 1)]
        for j, col in enumerate(cols):
            t = len(col) // 3
            for i in range(t):
                xs.append(col[3 * i])
                ys.append(col[3 * i + 1])
                zs.append(col[3 * i + 2])
                where.append(j)
            nxt[j].extend(col[3 * t:])  # the one or two left over pass to the next level
        k = len(where)
        X, Y, Z = np.concatenate(xs), np.concatenate(ys), np.concatenate(zs)
        xy = b.add(X, Y)
        S = b.add(xy, Z)
        C = b.op(G.OR, b.mul(X, Y), b.mul(xy, Z))[0]
        for i in range(k):
            j = where[i]
            nxt[j].append(S[i * rows:(i + 1) * rows])
            nxt[j + 1].append(C[i * rows:(i + 1) * rows])
        while nxt and not nxt[-1]:
            nxt.pop()
        cols = nxt
    if all(len(c) == 1 for c in cols):
        return [c[0] for c in cols]
    zero = np.full(rows, b.zero_wire())
    x = [c[0] if c else zero for c in cols]
    y = [c[1] if len(c) > 1 else zero for c in cols]
    return add_numbers(b, x, y)


def greater(b: Builder, x: list[np.ndarray], y: list[np.ndarray], *, tree: bool = False) -> np.ndarray:
    """``[x > y]`` for two bundles of unsigned binary numbers (bit lists, LSB first, one wire array per
    bit); the shorter is padded with zeros.  From the LSB: ``gt = (x_i and not y_i) or (x_i == y_i and gt)``
    (a ripple of depth ``2 w``).

    ``tree=True`` computes the same function by a parallel prefix (a comparator tree): each bit gives
    ``(g, e) = (x_i and not y_i, x_i == y_i)``, and neighbouring groups combine, the higher over the
    lower, as ``(g_hi or e_hi g_lo, e_hi e_lo)``, in ``ceil(log2 w)`` bundled levels: depth
    ``2 ceil(log2 w) + 2`` for about ``4 w`` gates, which is what hardware wants (argmax trees)."""
    if len(x) != len(y):
        rows = len((x or y)[0])
        zero = np.full(rows, b.zero_wire())
        width = max(len(x), len(y))
        x = list(x) + [zero] * (width - len(x))
        y = list(y) + [zero] * (width - len(y))
    if tree and len(x) > 1:
        return _greater_tree(b, x, y)
    gt = None
    for xi, yi in zip(x, y):
        here = b.mul(xi, b.op(G.NOT, yi)[0])
        if gt is None:
            gt = here
        else:
            eq = b.op(G.XNOR, xi, yi)[0]
            gt = b.op(G.OR, here, b.mul(eq, gt))[0]
    return gt


def _greater_tree(b: Builder, x: list[np.ndarray], y: list[np.ndarray]) -> np.ndarray:
    rows, w = len(x[0]), len(x)
    X, Y = np.concatenate(x), np.concatenate(y)
    g = b.mul(X, b.op(G.NOT, Y)[0])
    e = b.op(G.XNOR, X, Y)[0]
    gs = [g[i * rows:(i + 1) * rows] for i in range(w)]  # groups, lowest first
    es = [e[i * rows:(i + 1) * rows] for i in range(w)]
    while len(gs) > 1:
        k = len(gs) // 2
        lo_g, hi_g = np.concatenate(gs[0:2 * k:2]), np.concatenate(gs[1:2 * k:2])
        lo_e, hi_e = np.concatenate(es[0:2 * k:2]), np.concatenate(es[1:2 * k:2])
        G_ = b.op(G.OR, hi_g, b.mul(hi_e, lo_g))[0]
        ng = [G_[i * rows:(i + 1) * rows] for i in range(k)] + gs[2 * k:]
        if len(ng) > 1:  # the equalities are needed only while groups are left to combine
            E_ = b.mul(hi_e, lo_e)
            es = [E_[i * rows:(i + 1) * rows] for i in range(k)] + es[2 * k:]
        gs = ng
    return gs[0]


def const_greater(b: Builder, num: list[np.ndarray], t: int) -> np.ndarray:
    """``[num > t]`` for unsigned numbers (bit lists, LSB first) and an integer constant ``t``."""
    rows = len(num[0])
    if t < 0:
        return np.full(rows, b.const([1])[0])
    if t >= 2 ** len(num) - 1:
        return np.full(rows, b.const([0])[0])
    return greater_than(b, num, t)


def const_equal(b: Builder, num: list[np.ndarray], t: int) -> np.ndarray:
    """``[num == t]`` for unsigned numbers (bit lists, LSB first) and an integer constant ``t``: the AND
    of each bit or its negation (a constant 0 for ``t`` outside the numbers' range)."""
    rows = len(num[0])
    if t < 0 or t >= 2 ** len(num):
        return np.full(rows, b.const([0])[0])
    lits = [bit if (t >> j) & 1 else b.op(G.NOT, bit)[0] for j, bit in enumerate(num)]
    acc = lits[0]
    for lit in lits[1:]:
        acc = b.mul(acc, lit)
    return acc


def mux_words(b: Builder, s: np.ndarray, x: list[np.ndarray], y: list[np.ndarray]) -> list[np.ndarray]:
    return [b.op(G.MUX, s, xi, yi)[0] for xi, yi in zip(x, y)]


def argmax_tree(b: Builder, nums: list, idx: list) -> list[np.ndarray]:
    """The index of the largest of ``nums`` (ties to the lower index) by a tournament: neighbours
    meet in pairs, each level of pairs bundled, a right (higher) entry winning only when strictly
    greater (a :func:`greater` tree); ``ceil(log2 n)`` levels deep
    instead of a chain of ``n - 1`` comparisons.  ``nums[c]`` and ``idx[c]`` are bit lists (LSB
    first) of one-wire arrays; returns the winner's index bits."""
    while len(nums) > 1:
        k = len(nums) // 2

        def side(words, start):
            return [np.concatenate([words[2 * i + start][j] for i in range(k)]) for j in range(len(words[0]))]

        xl, xr, il, ir = side(nums, 0), side(nums, 1), side(idx, 0), side(idx, 1)
        s = greater(b, xr, xl, tree=True)
        best, best_idx = mux_words(b, s, xl, xr), mux_words(b, s, il, ir)
        nums = [[v[i: i + 1] for v in best] for i in range(k)] + nums[2 * k:]
        idx = [[v[i: i + 1] for v in best_idx] for i in range(k)] + idx[2 * k:]
    return idx[0]
