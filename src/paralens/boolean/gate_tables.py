"""Relaxed k-input lookup-table nodes (k = 2..6) in a small basis, with a residual initialisation.

A :class:`TableLayer` node reads ``k`` fixed wires and learns one real per corner of ``{0, 1}^k``
(parameter ``"table"``, ``(n_out, 2^k)``), instead of the sixteen softmax logits of a two-input
:class:`~paralens.boolean.gate_layers.GateLayer` gate: a two-input node has 4 parameters, not 16.
Corner ``m`` is the input ``x_i = bit i of m`` (input ``i`` is the node's wire ``wiring[:, i]``).
Two bases:

* ``"indicator"`` (the truth table itself, Light-DLGN's parametrisation): corner values
  ``sigmoid(t_m)``, relaxed as ``y = sum_m sigmoid(t_m) prod_i (x_i if bit i of m else 1 - x_i)``,
  the multilinear interpolation of the corner values.  Hardened: ``f(m) = [t_m > 0]``.
* ``"walsh"`` (the parity / Fourier basis, as WARP): in +-1 variables ``s_i = 1 - 2 x_i`` the node
  computes ``y = sigmoid(z)``, ``z = sum_S w_S prod_{i in S} s_i``, one weight per subset ``S`` of the
  inputs (index: its bitmask).  Hardened: the sign at each corner, ``f(m) = [z(m) > 0]``.  The choice:
  the sigmoid outside keeps ``y`` in ``(0, 1)``, which the next layer's multilinear forms need to read
  it as a probability; its corner signs are exactly the hardened table, so the relaxed and hardened
  nodes agree wherever the node is confident; and its gradient ``y (1 - y)`` vanishes only there.  A
  clipped linear form ``clip((1 + z) / 2, 0, 1)`` has zero gradient over the whole clipped region, so
  a node pushed past it stops learning.  ``z`` is multilinear in ``x`` with corner values
  ``u = H w`` (``H[m, S] = (-1)^{|m & S|}``, Sylvester's Hadamard matrix), so ``z`` is computed as the
  interpolation of ``u`` and the Walsh weights are a fixed orthogonal change of coordinates of the
  corner logits: the two bases differ by where the sigmoid sits and by the coordinates Adam sees.

Both are computed by one interpolation tree: ``V <- V_lo + x_i (V_hi - V_lo)`` over the inputs from
the last (the top bit of ``m``) to the first, ``2^k`` multiply-adds per node and sample, and the
reverse derivative runs the tree backwards by hand (no autodiff), through the backend's array
namespace, so the layer runs in NumPy and inside a JAX-compiled step.

Hardened (:func:`table_gates`), a node is a Shannon multiplexer tree of two-input gates: the
``2^{k-2}`` sub-tables over ``(x_0, x_1)`` are one gate each, then for ``x_2 .. x_{k-1}`` in turn each
pair of sub-functions ``(f0, f1)`` is merged into ``x_l ? f1 : f0`` in two layers
(``(x_l and f1) or (not x_l and f0)``, three gates), or one gate when ``f0`` and ``f1`` are equal
(none), complementary (``xor``) or one is constant (``and``/``or`` forms).  Equal sub-functions of a
node are computed once.  Pass-throughs carry the selector wires down to their levels and fold away
in :func:`~paralens.boolean.gate_hardening.harden`, as do constants.  A random table costs about
1 / 4.2 / 10 / 23 / 52 gates for k = 2 / 3 / 4 / 5 / 6 after folding (``tests/boolean/test_gate_tables.py``
measures it); a node at the residual initialisation is a pass-through and costs none.

:func:`table_network` builds a :class:`~paralens.boolean.gate_network.GateNetwork` of table layers.
"""

from __future__ import annotations

import numpy as np

from paralens.backend import backend_of
from paralens.boolean.gate_layers import HardGates, per_layer
from paralens.boolean.gate_wiring import gather_table, reverse_gather
from paralens.categories.para import Para, ParamSpec
from paralens.categories.types import ArrayType
from paralens.circuits.truth import CODE_OF
from paralens.errors import CompositionError, ParameterError, ShapeError

BASES = ("indicator", "walsh")
INITS = ("normal", "residual")
K_RANGE = range(2, 7)

# ----------------------------------------------------------------------------- constants


def hadamard(k: int) -> np.ndarray:
    """Sylvester's ``2^k x 2^k`` Hadamard matrix ``H[m, S] = (-1)^{popcount(m & S)}`` (symmetric, ``H H = 2^k I``):
    the Walsh character of subset ``S`` at corner ``m``."""
    m = np.arange(2 ** k)
    pc = np.array([bin(v).count("1") for v in range(2 ** k)])
    return (1 - 2 * (pc[m[:, None] & m[None, :]] % 2)).astype(np.float64)


_H_BY_KEY: dict = {}


def _H(k: int, dtype) -> np.ndarray:
    """:func:`hadamard` as a cached NumPy constant of ``dtype`` (a constant inside a compiled step)."""
    key = (k, str(np.dtype(dtype)))
    if key not in _H_BY_KEY:
        _H_BY_KEY[key] = hadamard(k).astype(key[1])
    return _H_BY_KEY[key]


# ----------------------------------------------------------------------------- wiring and initialisation


def table_wiring(n_in: int, n_out: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Wiring ``(n_out, k)`` of ``n_out`` ``k``-input nodes on ``n_in`` wires: distinct inputs per node.

    The ``k n_out`` reads run through whole random permutations of the inputs, column by column, so every
    input is read ``floor`` or ``ceil`` of ``k n_out / n_in`` times (at least once when
    ``k n_out >= n_in``) and the first inputs (column 0, what a residual node passes through) alone cover
    ``min(n_out, n_in)`` distinct wires.  Nodes reading a wire twice swap a later read with another node's;
    the few left after that (narrow inputs) are redrawn without replacement.
    """
    if not 2 <= k <= n_in:
        raise ValueError(f"table_wiring: need 2 <= k <= n_in, got k={k}, n_in={n_in}")
    if n_out < 1:
        raise ValueError(f"table_wiring: need n_out >= 1, got {n_out}")
    reps = -(-k * n_out // n_in)
    reads = np.concatenate([rng.permutation(n_in) for _ in range(reps)])[: k * n_out]
    W = reads.reshape(k, n_out).T.copy()
    for _ in range(100):
        bad = np.flatnonzero(_has_repeat(W))
        if len(bad) == 0:
            break
        for g in bad:
            row = W[g]
            rep = [j for j in range(1, k) if row[j] in row[:j]]  # repeated reads (an earlier swap may have fixed them)
            if not rep:
                continue
            c = rep[0]
            h, d = int(rng.integers(0, n_out)), int(rng.integers(1, k))
            if h != g and W[h, d] not in row and row[c] not in np.delete(W[h], d):
                W[g, c], W[h, d] = W[h, d], W[g, c]
    for g in np.flatnonzero(_has_repeat(W)):  # left over: keep the first input, redraw the rest
        others = np.setdiff1d(np.arange(n_in), W[g, :1])
        W[g, 1:] = rng.choice(others, k - 1, replace=False)
    return W.astype(np.int64)


def _has_repeat(W: np.ndarray) -> np.ndarray:
    s = np.sort(W, axis=1)
    return (s[:, 1:] == s[:, :-1]).any(axis=1)


def table_init(k: int, basis: str = "indicator", kind: str = "normal", *, scale: float = 1.0,
               residual_logit: float = 5.0):
    """An initialiser ``(rng, shape, dtype) -> table`` for a ``(n_out, 2^k)`` table parameter.

    Both kinds draw corner logits ``u`` (``u_m`` decides corner ``m``: ``u_m > 0`` hardens to 1):

    * ``"normal"``: ``u = scale * N(0, 1)``;
    * ``"residual"``: ``u_m = +residual_logit`` where bit 0 of ``m`` is set (input 0 is 1), else
      ``-residual_logit``, plus ``scale * N(0, 1)``: every node starts near a copy of its first input
      (``sigmoid(5) = 0.993``), and hardened it is that pass-through (a flip needs a 5-sigma draw).

    ``"indicator"`` stores ``u``; ``"walsh"`` stores its Walsh weights ``w = H u / 2^k``, whose corner
    sums are ``u``, so both bases start at the same hardened function and the same corner logits.
    """
    _check_options(k, basis, kind)

    def init(rng, shape, dtype):
        if shape[-1] != 2 ** k:
            raise ShapeError(f"table_init: a k={k} table has {2 ** k} columns, asked for shape {shape}")
        u = scale * rng.standard_normal(shape)
        if kind == "residual":
            u = u + residual_logit * (2.0 * (np.arange(2 ** k) % 2) - 1.0)
        if basis == "walsh":
            u = u @ hadamard(k) / 2 ** k
        return u.astype(dtype)

    init.__name__ = f"table_init_{basis}_{kind}_k{k}"
    return init


def _check_options(k, basis, kind):
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k not in K_RANGE:
        raise ValueError(f"k must be an integer 2..6, got {k!r}")
    if basis not in BASES:
        raise ValueError(f"basis must be 'indicator' or 'walsh', got {basis!r}")
    if kind not in INITS:
        raise ValueError(f"init must be 'normal' or 'residual', got {kind!r}")


# ----------------------------------------------------------------------------- the interpolation tree


def _sigmoid(xp, z):
    """``1 / (1 + e^-z)`` as ``(1 + tanh(z / 2)) / 2``: no overflow for large ``|z|``."""
    return 0.5 * (1.0 + xp.tanh(0.5 * z))


def _tree(V, X):
    """Multilinear interpolation of corner values ``V`` (``(2^k, N, 1)``) at inputs ``X`` (``k`` arrays ``(N, B)``).

    Returns ``(y (N, B), D)``: ``D[j]`` the differences ``V_hi - V_lo`` of step ``j`` (input ``k - 1 - j``),
    what the reverse pass needs besides ``X``."""
    D = []
    for i in reversed(range(len(X))):
        h = V.shape[0] // 2
        lo = V[:h]
        d = V[h:] - lo
        V = lo + X[i][None] * d
        D.append(d)
    return V[0], D


def _tree_reverse(xp, g, X, D, need_dx: bool):
    """The reverse derivative of :func:`_tree`: ``g`` (``(N, B)``, the change of ``y``) to the summed change of the
    corner values ``(2^k, N)`` and of each input (``k`` arrays ``(N, B)``, or ``None``)."""
    k = len(X)
    G = g[None]
    dX = [None] * k
    for i in range(k):
        d = D[k - 1 - i]
        if need_dx:
            dX[i] = xp.sum(G * d, axis=0)
        gx = G * X[i][None]
        G = xp.concatenate([G - gx, gx], axis=0)
    return xp.sum(G, axis=2), dX


# ----------------------------------------------------------------------------- hardening


_FALSE, _PASS = CODE_OF["false"], CODE_OF["a"]


def _leaf_codes(L: np.ndarray) -> np.ndarray:
    """Two-input gate codes of sub-tables ``L[..., 4]`` over ``(x_0, x_1)`` (index ``x_0 + 2 x_1``), read as
    ``f(a, b)`` with ``a = x_0``, ``b = x_1`` (code ``8 f(0,0) + 4 f(0,1) + 2 f(1,0) + f(1,1)``)."""
    return 8 * L[..., 0] + 4 * L[..., 2] + 2 * L[..., 1] + L[..., 3]


def _block_codes(T: np.ndarray, size: int) -> np.ndarray:
    """Each node's sub-tables of ``size`` entries as integers (bit ``j`` = entry ``j``): ``(N, 2^k / size)``."""
    N = T.shape[0]
    B = T.reshape(N, -1, size).astype(np.int64)
    return (B << np.arange(size, dtype=np.int64)).sum(axis=2)


def _first_equal(c: np.ndarray) -> np.ndarray:
    """For each entry of each row, the index of the first entry of that row equal to it."""
    return np.argmax(c[:, :, None] == c[:, None, :], axis=2)


def table_gates(n_in: int, wiring, table) -> list[HardGates]:
    """Nodes with 0/1 truth tables ``table`` (``(N, 2^k)``, corner ``m``: input ``i`` = bit ``i`` of ``m``) on
    ``wiring`` (``(N, k)`` into ``n_in`` wires) as layers of two-input gates (``1 + 2 (k - 2)`` of them).

    A Shannon multiplexer tree, reduced as the module docstring says; the last layer's outputs are the nodes'
    values in order.  Unused slots are constant-false gates and carried wires pass-through gates (both fold
    away in :func:`~paralens.boolean.gate_hardening.harden`)."""
    W = np.asarray(wiring, dtype=np.int64)
    T = np.asarray(table).astype(np.int64)
    if W.ndim != 2 or T.ndim != 2 or T.shape != (W.shape[0], 2 ** W.shape[1]):
        raise ShapeError(f"table_gates: wiring (N, k) and table (N, 2^k) expected, got {W.shape} and {T.shape}")
    N, k = W.shape
    if k == 2:
        return [HardGates(n_in, W[:, 0], W[:, 1], _leaf_codes(T))]
    nodes = np.arange(N)
    R = 2 ** (k - 2)
    rep = _first_equal(_block_codes(T, 4))
    own = rep == np.arange(R)
    leaf = np.where(own, _leaf_codes(T.reshape(N, R, 4)), _FALSE)
    carried = [W[:, i] for i in range(2, k)]
    layers = [HardGates(n_in, np.concatenate([np.tile(W[:, 0], R)] + carried),
                        np.concatenate([np.tile(W[:, 1], R)] + carried),
                        np.concatenate([leaf.T.ravel(), np.full((k - 2) * N, _PASS)]))]
    fn = rep.T * N + nodes  # (R, N): the wire of each node's sub-function r (slot-major: slot * N + node)
    sel = {i: (R + i - 2) * N + nodes for i in range(2, k)}
    n_cur = (R + k - 2) * N
    for lvl in range(2, k):
        size = 2 ** lvl
        c = _block_codes(T, size)  # (N, R): sub-functions over x_0 .. x_{lvl-1}
        f0, f1 = c[:, 0::2], c[:, 1::2]
        R2 = R // 2
        rep2 = _first_equal(f0 | (f1 << size))
        own2 = (rep2 == np.arange(R2)).T  # (R2, N)
        full = (1 << size) - 1
        f0, f1 = f0.T, f1.T
        eq, comp = f0 == f1, f0 == (f1 ^ full)
        f0z, f0o, f1z, f1o = f0 == 0, f0 == full, f1 == 0, f1 == full
        general = ~(eq | comp | f0z | f0o | f1z | f1o)
        s = np.broadcast_to(sel[lvl], (R2, N))
        w0, w1 = fn[0::2], fn[1::2]
        # layer A: u (one gate of the case, or x and f1), v (not x and f0, general case only); then the carries
        ua = np.select([eq, comp, f0z, f0o, f1z, f1o], [w0, s, s, s, s, s], s)
        ub = np.select([eq, comp, f0z, f0o, f1z, f1o], [w0, w0, w1, w1, w0, w0], w1)
        uc = np.select([eq, comp, f0z, f0o, f1z, f1o],
                       [_PASS, CODE_OF["xor"], CODE_OF["and"], CODE_OF["not_a_or_b"], CODE_OF["not_a_and_b"],
                        CODE_OF["or"]], CODE_OF["and"])
        uc = np.where(own2, uc, _FALSE)
        vc = np.where(own2 & general, CODE_OF["not_a_and_b"], _FALSE)
        rest = [sel[i] for i in range(lvl + 1, k)]
        layers.append(HardGates(n_cur, np.concatenate([ua.ravel(), s.ravel()] + rest),
                                np.concatenate([ub.ravel(), w0.ravel()] + rest),
                                np.concatenate([uc.ravel(), vc.ravel(), np.full(len(rest) * N, _PASS)])))
        u_w, v_w = np.arange(R2)[:, None] * N + nodes, (R2 + np.arange(R2))[:, None] * N + nodes
        carry_a = {i: (2 * R2 + i - lvl - 1) * N + nodes for i in range(lvl + 1, k)}
        # layer B: u or v (general), u (one-gate cases), false (a repeated sub-function); the carries
        bc = np.where(own2, np.where(general, CODE_OF["or"], _PASS), _FALSE)
        rest = [carry_a[i] for i in range(lvl + 1, k)]
        layers.append(HardGates((2 * R2 + k - lvl - 1) * N,
                                np.concatenate([u_w.ravel()] + rest),
                                np.concatenate([np.where(general, v_w, u_w).ravel()] + rest),
                                np.concatenate([bc.ravel(), np.full(len(rest) * N, _PASS)])))
        fn = rep2.T * N + nodes
        sel = {i: (R2 + i - lvl - 1) * N + nodes for i in range(lvl + 1, k)}
        n_cur = (R2 + k - lvl - 1) * N
        R = R2
    return layers


# ----------------------------------------------------------------------------- the lens


class TableLayer(Para):
    """``n_out`` relaxed ``k``-input lookup-table nodes on fixed wiring, a parametric lens ``R^n_in -> R^n_out``.

    Args:
      n_in, n_out: input wires and nodes.
      k: inputs per node, 2..6.
      basis: ``"indicator"`` (truth table: corner values ``sigmoid(t_m)``) or ``"walsh"`` (Walsh weights,
        ``y = sigmoid(z)``); see the module docstring.
      init: ``"normal"`` or ``"residual"`` (:func:`table_init`: every node near a copy of its first input).
      scale: the initial noise's standard deviation (corner logits).
      residual_logit: the residual initialisation's corner logit magnitude.
      wiring: ``(n_out, k)`` input wires of each node; default :func:`table_wiring` from ``seed``.
      seed: seeds the default wiring (the table is drawn by :meth:`init`).
      straight_through: the forward pass computes the hardened nodes (on the actual inputs), the reverse
        pass the relaxed ones' derivative.
      name: a label.

    Parameter ``"table"`` ``(n_out, 2^k)``.  Computed feature-major (``x.T``), the corner values laid out
    ``(2^k, n_out, batch)`` so each step of the interpolation tree reads two contiguous halves.
    """

    def __init__(self, n_in: int, n_out: int, k: int = 2, *, basis: str = "indicator", init: str = "normal",
                 scale: float = 1.0, residual_logit: float = 5.0, wiring=None, seed: int = 0,
                 straight_through: bool = False, name: str | None = None):
        _check_options(k, basis, init)
        n_in, n_out = int(n_in), int(n_out)
        if n_in < 1 or n_out < 1:
            raise ValueError(f"TableLayer: need n_in, n_out >= 1, got {n_in}, {n_out}")
        if wiring is None:
            if n_in < k:
                raise ValueError(f"TableLayer: {k}-input nodes with distinct inputs need n_in >= {k}, got {n_in}")
            wiring = table_wiring(n_in, n_out, k, np.random.default_rng(np.random.SeedSequence([int(seed), 17])))
        wiring = np.asarray(wiring)
        if wiring.shape != (n_out, k) or wiring.dtype.kind not in "iu":
            raise ShapeError(f"TableLayer: wiring must be an integer ({n_out}, {k}) array, got {wiring.dtype} "
                             f"{wiring.shape}")
        wiring = wiring.astype(np.int64)
        if wiring.min() < 0 or wiring.max() >= n_in:
            bad = int(wiring.max()) if wiring.max() >= n_in else int(wiring.min())
            raise CompositionError(f"TableLayer: wire {bad} does not exist in an input of {n_in}")
        self.n_in, self.n_out, self.k = n_in, n_out, int(k)
        self.basis, self.init_kind = basis, init
        self.wiring = wiring
        self.fan = gather_table(n_in, wiring.T)  # reads in port-major order: (node n, port i) at i N + n
        self.straight_through = bool(straight_through)
        self.params = {"table": ParamSpec((n_out, 2 ** k), table_init(k, basis, init, scale=scale,
                                                                      residual_logit=residual_logit))}
        self.dom, self.cod = ArrayType((n_in,)), ArrayType((n_out,))
        self.name = name or f"tables[{basis}, k={k}]({n_in}->{n_out})"

    @property
    def n_gates(self) -> int:
        """Learned nodes (one per output, each a ``k``-input table; the hardened circuit says its gates)."""
        return self.n_out

    def output_type(self, dom):
        if self.dom.unify(dom) is None:
            raise CompositionError(f"{self.label()} cannot take input {dom}: its domain is {self.dom}")
        return self.cod

    def _table(self, p):
        try:
            t = p["table"] if isinstance(p, dict) else p
        except KeyError:
            raise ParameterError(f"{self.label()} needs parameter 'table'; got {sorted(p)}") from None
        if tuple(t.shape) != (self.n_out, 2 ** self.k):
            raise ShapeError(f"{self.label()}: table must be {(self.n_out, 2 ** self.k)}, got {tuple(t.shape)}")
        return t

    def corner_logits(self, p):
        """``(n_out, 2^k)``: the indicator's ``t``, or the Walsh basis' corner sums ``w H``; ``> 0`` is the hardened 1."""
        t = self._table(p)
        return t if self.basis == "indicator" else t @ _H(self.k, t.dtype)

    def truth_tables(self, p) -> np.ndarray:
        """The hardened nodes' truth tables ``(n_out, 2^k)`` of 0/1 (int64), on the host."""
        return (np.asarray(self.corner_logits({"table": np.asarray(self._table(p))})) > 0).astype(np.int64)

    def forward(self, p, x, ctx=None, *, hard: bool = False):
        t = self._table(p)
        B = backend_of(x)
        xp = B.xp
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"{self.label()}: expected input (batch, {self.n_in}), got {tuple(x.shape)}")
        xt = x.T
        if B.name == "numpy" and not xt.flags.c_contiguous:
            xt = np.ascontiguousarray(xt)
        X = [xt[self.wiring[:, i]] for i in range(self.k)]
        u = self.corner_logits(t).astype(x.dtype)
        if hard:
            y, _ = _tree((u > 0).astype(x.dtype).T[:, :, None], X)
            return y.T, None
        s = _sigmoid(xp, u) if self.basis == "indicator" else u
        y, D = _tree(s.T[:, :, None], X)
        if self.basis == "walsh":
            y = _sigmoid(xp, y)
        out = y
        if self.straight_through:
            out, _ = _tree((u > 0).astype(x.dtype).T[:, :, None], X)
        return out.T, (s, X, D, y)

    def _backward(self, res, dy, need_dx: bool):
        if res is None:
            raise ValueError(f"{self.label()}: a hard forward pass (hard=True) has no reverse derivative")
        s, X, D, y = res
        B = backend_of(dy)
        xp = B.xp
        g = dy.T
        if self.basis == "walsh":
            g = g * (y * (1.0 - y))
        dV, dX = _tree_reverse(xp, g, X, D, need_dx)
        dcorner = dV.T  # (n_out, 2^k)
        if self.basis == "indicator":
            dtable = dcorner * (s * (1.0 - s))
        else:
            dtable = dcorner @ _H(self.k, dcorner.dtype)
        if not need_dx:
            return dtable, None
        return dtable, reverse_gather(xp, dX, self.fan).T

    def backward(self, res, dy):
        dt, dx = self._backward(res, dy, True)
        return {"table": dt}, dx

    def backward_params(self, res, dy):
        return {"table": self._backward(res, dy, False)[0]}

    def hard_gates(self, p) -> list[HardGates]:
        """The hardened layer: each node's truth table as a multiplexer tree of two-input gates (:func:`table_gates`)."""
        return table_gates(self.n_in, self.wiring, self.truth_tables(p))


# ----------------------------------------------------------------------------- networks


def table_network(n_inputs: int, widths, n_classes: int, *, k=2, basis: str = "indicator", init="normal",
                  seed: int = 0, tau: float = 1.0, inputs=None, scale: float = 1.0, residual_logit: float = 5.0,
                  straight_through: bool = False):
    """A :class:`~paralens.boolean.gate_network.GateNetwork` of :class:`TableLayer` layers and a group-sum head.

    ``widths``: nodes per layer (the last a multiple of ``n_classes``); ``k`` and ``init``: one for all
    layers or a sequence, one per layer (e.g. ``["normal", "residual", "residual"]``: a first layer that
    mixes inputs, then layers that start as copies); ``inputs``: indices of the input bits the first layer
    may read (e.g. those that vary in the training data); the network still takes all ``n_inputs`` bits.
    Layer ``i``'s wiring is drawn from ``(seed, i)``.
    """
    from paralens.boolean.gate_network import GateNetwork

    widths, opts = per_layer("table_network", widths, k=k, init=init)
    ks, inits = opts["k"], opts["init"]
    layers = []
    n_in = int(n_inputs)
    for i, (w, ki, ini) in enumerate(zip(widths, ks, inits)):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 23, i]))
        if i == 0 and inputs is not None:
            sel = np.asarray(inputs, dtype=np.int64)
            if sel.ndim != 1 or len(sel) < ki or sel.min() < 0 or sel.max() >= n_in:
                raise ValueError(f"table_network: inputs must be at least {ki} indices into {n_in} bits")
            wiring = sel[table_wiring(len(sel), w, ki, rng)]
        else:
            wiring = table_wiring(n_in, w, ki, rng) if n_in >= ki else None
        layers.append(TableLayer(n_in, w, ki, basis=basis, init=ini, scale=scale, residual_logit=residual_logit,
                                 wiring=wiring, straight_through=straight_through, name=f"tables{i}({n_in}->{w})"))
        n_in = w
    return GateNetwork.from_layers(layers, n_classes, seed=seed, tau=tau)


__all__ = ["TableLayer", "hadamard", "table_gates", "table_init", "table_network", "table_wiring"]
