"""Boolean layers: parametric circuits over GF(2) that learn (morphisms of Para(Lens(Poly_Z2))).

Each layer is a :class:`~paralens.circuits.lens.ParaCircuit`: a bundled circuit
whose first wires are its named parameters.  They compose with ``>>`` into one
parametric circuit and train with the same :class:`~paralens.learning.supervised.Learner`
as real networks (XOR loss, identity learning rate, ``gradient_update(modulus=2)``:
reverse derivative ascent).

==========================  ======================================================
layer                       get (per output)
==========================  ======================================================
``lut(k, n_out)``           ``sum_m w_m [x = m]``: a truth table of 2^k bits
``gate_layer(...)``         ``c0 + c1 a + c2 a b + c3 a b``: any 2-input gate (ANF)
``lut_layer(...)``          a k-input LUT per output on fixed (seeded) wiring
``dense(n_in, n_out)``      ``sum_i W_ji x_i`` over GF(2) (AND, then XOR)
``pseudo_linear(n)``        ``[popcount(w xnor x) > n / 2]``, a popcount threshold
``rda_pseudo_linear(n, r)`` ``[popcount(p and x) <= popcount(p) div r]``: the RDA
                            paper's MNIST unit (parameters start at zero)
==========================  ======================================================

    >>> import numpy as np
    >>> f = lut(2)                      # learns any function of 2 bits
    >>> params = {"table": np.array([0, 1, 1, 0])}   # XOR's truth table, m = x0 + 2 x1
    >>> f.get(params, np.array([[0, 0], [1, 0], [0, 1], [1, 1]])).ravel().tolist()
    [0, 1, 1, 0]
"""

from __future__ import annotations

import numpy as np

from paralens.circuits import generators as G
from paralens.circuits.lens import ParaCircuit, zeros_init
from paralens.circuits.syntax import Builder
from paralens.fields import GF


def _minterms(b: Builder, xs: list[np.ndarray]) -> list[np.ndarray]:
    """All 2^k minterms of the bundles ``xs`` (k arrays of n wires): minterm m is
    ``prod_i (x_i if bit i of m else not x_i)``, built by sharing prefixes (2^(k+1) ANDs per LUT)."""
    n = len(xs[0])
    nots = [b.op(G.NOT, x)[0] for x in xs]
    terms = [None]  # None: the empty product (1)
    for i, (x, nx) in enumerate(zip(xs, nots)):
        new = []
        if terms[0] is None:
            new = [nx, x]
        else:
            left = np.concatenate(terms)
            lo = b.mul(left, np.tile(nx, len(terms)))
            hi = b.mul(left, np.tile(x, len(terms)))
            new = [lo[j * n:(j + 1) * n] for j in range(len(terms))] + [hi[j * n:(j + 1) * n] for j in range(len(terms))]
        terms = new
    return terms  # index m: bit i of m is x_i


def _xor_reduce(b: Builder, cols: np.ndarray) -> np.ndarray:
    """XOR of each row of ``cols`` (n, w) in a balanced tree, one bundled add per level."""
    while cols.shape[1] > 1:
        w = cols.shape[1]
        half = w // 2
        summed = b.add(cols[:, :half].reshape(-1), cols[:, half: 2 * half].reshape(-1)).reshape(-1, half)
        cols = np.concatenate([summed, cols[:, 2 * half:]], axis=1)
    return cols[:, 0]


def lut_layer(n_in: int, n_out: int, k: int = 2, *, seed: int = 0, wiring=None, name: str = "table") -> ParaCircuit:
    """``n_out`` learnable k-input lookup tables on fixed wiring (FPGA LUT4/LUT6 for k = 4, 6).

    Output ``j`` is ``sum_m table[j, m] * minterm_m(x[wiring[j]])``: the table is the truth table.
    ``wiring`` is ``(n_out, k)`` input indices; by default drawn from ``seed`` (distinct inputs per LUT).
    """
    if wiring is None:
        rng = np.random.default_rng(seed)
        if k > n_in:
            raise ValueError(f"a {k}-input LUT needs at least {k} inputs, got {n_in}")
        wiring = np.stack([rng.choice(n_in, size=k, replace=False) for _ in range(n_out)])
    wiring = np.asarray(wiring, dtype=np.int64).reshape(n_out, k)
    n_tab = n_out * 2**k
    b = Builder(GF(2), n_tab + n_in)
    xs = [n_tab + wiring[:, i] for i in range(k)]
    terms = _minterms(b, xs)  # 2^k arrays of n_out wires
    tab = np.arange(n_tab).reshape(n_out, 2**k)
    prods = b.mul(np.concatenate([tab[:, m] for m in range(2**k)]), np.concatenate(terms)).reshape(2**k, n_out).T
    out = _xor_reduce(b, prods)  # the minterms are disjoint, so XOR is OR here
    c = b.build(out, name=f"lut_layer({n_in}->{n_out}, k={k})")
    return ParaCircuit(c, {name: n_tab}, name=c.name)


def lut(k: int, n_out: int = 1, name: str = "table") -> ParaCircuit:
    """One k-input lookup table per output, all reading the same k bits (RDA's lookup-table model)."""
    return lut_layer(k, n_out, k, wiring=np.tile(np.arange(k), (n_out, 1)), name=name)


def gate_layer(n_in: int, n_gates: int, *, seed: int = 0, wiring=None, name: str = "anf") -> ParaCircuit:
    """Learnable two-input gates: ``c0 + c1 a + c2 b + c3 a b`` over GF(2), 4 parameter bits a gate.

    The four coefficients are the gate's algebraic normal form, so any of the 16 two-input
    Boolean functions can be learned (``(0,0,0,1)`` is AND, ``(0,1,1,0)`` XOR, ``(0,1,1,1)`` OR,
    ``(1,0,0,1)`` NAND).  ``wiring`` is ``(n_gates, 2)``; by default random pairs from ``seed``.
    Parameters are laid out gate-major: ``anf[4 g + i]`` is ``c_i`` of gate ``g``.
    """
    if wiring is None:
        rng = np.random.default_rng(seed)
        wiring = np.stack([rng.choice(n_in, size=2, replace=False) for _ in range(n_gates)]) if n_in > 1 \
            else np.zeros((n_gates, 2), dtype=np.int64)
    wiring = np.asarray(wiring, dtype=np.int64).reshape(n_gates, 2)
    P = 4 * n_gates
    b = Builder(GF(2), P + n_in)
    a, c = P + wiring[:, 0], P + wiring[:, 1]
    coef = np.arange(P).reshape(n_gates, 4)
    ab = b.mul(a, c)
    terms = b.mul(np.concatenate([coef[:, 1], coef[:, 2], coef[:, 3]]), np.concatenate([a, c, ab]))
    t1, t2, t3 = terms[:n_gates], terms[n_gates: 2 * n_gates], terms[2 * n_gates:]
    out = b.add(b.add(coef[:, 0], t1), b.add(t2, t3))
    cc = b.build(out, name=f"gate_layer({n_in}->{n_gates})")
    return ParaCircuit(cc, {name: P}, name=cc.name)


def dense(n_in: int, n_out: int, name: str = "weight") -> ParaCircuit:
    """``y_j = sum_i W[j, i] x_i`` over GF(2): AND for multiplication, XOR for addition."""
    P = n_in * n_out
    b = Builder(GF(2), P + n_in)
    W = np.arange(P).reshape(n_out, n_in)
    prods = b.mul(W.reshape(-1), np.tile(P + np.arange(n_in), n_out)).reshape(n_out, n_in)
    c = b.build(_xor_reduce(b, prods), name=f"dense_gf2({n_in}->{n_out})")
    return ParaCircuit(c, {name: P}, init={name: zeros_init}, name=c.name)


# -- popcount and comparison, as GF(2) circuits --------------------------------------------------


def _add_numbers(b: Builder, x: list[np.ndarray], y: list[np.ndarray]) -> list[np.ndarray]:
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
        S = _add_numbers(b, X, Y)
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


def pseudo_linear(n: int, n_out: int = 1, name: str = "weight") -> ParaCircuit:
    """RDA's popcount-threshold unit ``n + n -> 1``: ``y = [popcount(w xnor x) > n / 2]``.

    The output is 1 when more than half of the input bits agree with the weight bits
    (a binarised neuron), computed with an adder tree and a comparator, so its reverse
    derivative is the formal one of that circuit.
    """
    P = n * n_out
    b = Builder(GF(2), P + n)
    W = np.arange(P).reshape(n_out, n)
    agree = b.op(G.XNOR, W.reshape(-1), np.tile(P + np.arange(n), n_out))[0].reshape(n_out, n)
    count = popcount(b, agree)
    out = greater_than(b, count, n // 2)
    c = b.build(out, name=f"pseudo_linear({n}->{n_out})")
    return ParaCircuit(c, {name: P}, name=c.name)


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
    return _add_numbers(b, x, y)


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


def rda_pseudo_linear(n: int, ratio: int = 4, name: str = "weight", *, derivative: str = "functional") -> ParaCircuit:
    """The RDA paper's MNIST unit ``n + n -> 1``: ``y = [popcount(p and x) <= popcount(p) div ratio]``.

    ``p`` (the first ``n`` wires, starting at zero) is a mask; the output is 1 when the image
    covers at most ``1 / ratio`` of the mask (the paper learns the mask of an "average 0" and
    calls the rest 1).  Built as two popcounts (one bundled Wallace tree), the division by
    ``ratio`` as dropping the low bits of ``popcount(p)``, and a comparator (:func:`greater`).

    ``derivative="functional"`` (default) trains it with the Boolean differences, as the paper's
    library does (:func:`~paralens.circuits.reverse.boolean_difference_reverse`); ``"formal"``
    with the formal reverse derivative of this adder-and-comparator circuit, which differs.

        >>> f = rda_pseudo_linear(4, ratio=2)
        >>> p = {"weight": np.array([1, 1, 1, 1])}          # popcount(p) div 2 = 2
        >>> f.get(p, np.array([[1, 1, 0, 0], [1, 1, 1, 0]])).ravel().tolist()
        [1, 0]

    Raises:
      ValueError: ``ratio`` is not a power of two (no divider by other constants is built).
    """
    ratio = int(ratio)
    if ratio < 1 or ratio & (ratio - 1):
        raise ValueError(f"rda_pseudo_linear: ratio must be a power of two (the division is a shift), got {ratio}")
    shift = ratio.bit_length() - 1
    b = Builder(GF(2), 2 * n)
    p, x = np.arange(n), n + np.arange(n)
    both = b.mul(p, x)
    counts = carry_save_popcount(b, np.stack([both, p]))  # row 0: popcount(p and x), row 1: popcount(p)
    a = [w[0:1] for w in counts]
    q = [w[1:2] for w in counts][shift:]  # popcount(p) div 2^shift
    if not q:
        q = [np.array([b.zero_wire()])]
    out = b.op(G.NOT, greater(b, a, q))[0]  # a <= q
    c = b.build(out, name=f"rda_pseudo_linear({n}, ratio={ratio})")
    return ParaCircuit(c, {name: n}, init={name: zeros_init}, name=c.name, derivative=derivative)
