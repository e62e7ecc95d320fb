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
from paralens.circuits.arith import carry_save_popcount, greater, greater_than, popcount
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
