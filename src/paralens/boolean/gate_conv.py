"""Logic-tree convolutions and OR pooling: gate-network layers on image-shaped bit tensors.

After Petersen et al., "Convolutional Differentiable Logic Gate Networks" (NeurIPS 2024, LogicTreeNet):

* :class:`TreeConv`: each kernel is a binary tree of learned two-input gates (``2^depth`` leaves read
  from a ``receptive x receptive x channels`` field at fixed offsets, ``2^depth - 1`` gates), the same
  gate logits at every position.  Trained with the weights shared; hardened, the tree is unrolled at
  every position (one :class:`~paralens.boolean.gate_layers.HardGates` layer per tree level).
* :class:`OrPool`: ``size x size`` pooling with stride ``size``: the maximum in the relaxed network
  (the reverse derivative routes the change to the maximum), OR in the circuit (a tree of OR gates).
* :func:`conv_network`: TreeConv / OrPool blocks, then dense :class:`~paralens.boolean.gate_layers.GateLayer`
  layers and the group-sum head, as one :class:`~paralens.boolean.gate_network.GateNetwork`.

Bit tensors are flat, in ``(height, width, channel)`` order: bit ``(y * W + x) * C + c``, the layout of
:class:`~paralens.boolean.encoders.ThermometerEncoder` (pixel-major, channel fastest); a layer's
output is laid out the same way (a TreeConv's channels are its kernels).

Like :class:`~paralens.boolean.gate_layers.GateLayer`, the layers compute in feature-major layout
(``x.T``) through the backend's array namespace, with constant NumPy index arrays for every gather, so
they run in NumPy and inside a JAX-compiled step; their reverse derivatives are written by hand.
"""

from __future__ import annotations

import numpy as np

from paralens.backend import backend_of
from paralens.boolean.gate_layers import GateLayer, HardGates, _coeffs, _rows, _softmax, gate_init, one_hot_argmax
from paralens.boolean.gate_wiring import gather_table, random_wiring, reverse_gather
from paralens.categories.para import Para, ParamSpec
from paralens.categories.types import ArrayType
from paralens.circuits.truth import CODE_OF, TRUTH
from paralens.circuits.truth import code as table_code
from paralens.errors import CompositionError, ParameterError, ShapeError

# ----------------------------------------------------------------------------- helpers


def _positive(who: str, **values) -> None:
    for k, v in values.items():
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{who}: {k} must be a positive integer, got {v!r}")


def _check_dom(layer, dom):
    if layer.dom.unify(dom) is None:
        raise CompositionError(f"{layer.label()} cannot take input {dom}: its domain is {layer.dom}")
    return layer.cod


def _padding(padding, size: int, r: int, s: int, who: str) -> tuple[int, int, int]:
    """``(before, after, output size)`` along one axis of ``size`` for kernel ``r``, stride ``s``."""
    if padding == "same":  # the output is ceil(size / s); the padding split as evenly as it goes, the rest after
        out = -(-size // s)
        total = max((out - 1) * s + r - size, 0)
        before, after = total // 2, total - total // 2
    elif isinstance(padding, int | np.integer) and not isinstance(padding, bool) and padding >= 0:
        before = after = int(padding)
        out = (size + 2 * before - r) // s + 1
    else:
        raise ValueError(f"{who}: padding must be a non-negative integer or 'same', got {padding!r}")
    if out < 1 or size + before + after < r:
        raise ShapeError(f"{who}: a {r}x{r} field does not fit an axis of {size} padded by {before}+{after}")
    return before, after, out


def _leaf_offsets(kernels: int, leaves: int, field: int, rng: np.random.Generator) -> np.ndarray:
    """``(kernels, leaves)`` entries of a field of ``field`` (``(dy * r + dx) * C + c``): distinct within a
    kernel when ``leaves <= field``, else every entry about equally often and no gate of the first level
    reading one entry twice (when ``field >= 2``)."""
    if leaves <= field:
        return np.stack([rng.choice(field, leaves, replace=False) for _ in range(kernels)]).astype(np.int64)
    out = np.empty((kernels, leaves), dtype=np.int64)
    half = leaves // 2
    for k in range(kernels):
        reps = -(-leaves // field)
        v = np.concatenate([rng.permutation(field) for _ in range(reps)])[:leaves]
        for _ in range(100):  # first-level gate j reads leaves j and j + half: make them differ
            bad = np.flatnonzero(v[:half] == v[half:])
            if len(bad) == 0 or field < 2:
                break
            other = rng.integers(0, leaves, len(bad))
            for j, o in zip(bad, other):
                v[j], v[o] = v[o], v[j]
        out[k] = v
    return out


def _tree_init(init, kernels: int, n_tree: int):
    """An initialiser of ``(kernels, n_tree, 16)`` logits from a ``(rows, 16)`` one (:func:`gate_init`)."""
    base = init or gate_init("normal")

    def tree_init(rng, shape, dtype):
        return np.asarray(base(rng, (kernels * n_tree, 16), dtype)).reshape(kernels, n_tree, 16)

    tree_init.__name__ = f"tree_{getattr(base, '__name__', 'init')}"
    return tree_init


def _unary_codes(codes, a_pad, b_pad):
    """Codes of gates with a zero (padding) input, as functions of the other input (or constants): ``f(a, 0)``
    when b is padding, ``f(0, b)`` when a is, the constant ``f(0, 0)`` when both are."""
    T = TRUTH[codes]  # (n, 4), index 2a + b
    T = np.where(b_pad[:, None], T[:, [0, 0, 2, 2]], T)
    T = np.where(a_pad[:, None], T[:, [0, 1, 0, 1]], T)
    return table_code(T).astype(np.int64)


# ----------------------------------------------------------------------------- the tree convolution


class TreeConv(Para):
    """A logic-tree convolution ``R^(H W C) -> R^(H' W' K)``: ``K = kernels`` trees of learned gates, shared
    over positions.

    Kernel ``k`` reads ``L = 2^depth`` leaves at fixed offsets ``(dy, dx, c)`` of a ``receptive x receptive x
    channels`` field (drawn from ``seed``: distinct within a kernel when the field has ``L`` entries), at every
    position ``(i, j)`` of the output (input row ``i * stride + dy - pad``); reads outside the image are 0
    (zero padding).  Tree level 1 has ``L / 2`` gates, gate ``j`` reading leaves ``j`` and ``j + L / 2``; level
    ``l`` has ``L / 2^l`` gates, gate ``j`` reading the level before's outputs ``j`` and ``j + L / 2^l``; the
    root is the output.  Parameter ``logits`` ``(kernels, 2^depth - 1, 16)``: the gates level by level
    (level 1 first, the root last), the same at every position; each gate is the softmax mixture of the 16
    functions (:class:`~paralens.boolean.gate_layers.GateLayer`).

    Reverse derivative: each level's ``dalpha`` summed over the batch *and the positions* (weight sharing),
    then the softmax's; ``dx`` adds the changes of every read of a wire (gathers over a constant table).

    ``padding``: an integer (rows and columns of zeros on every side) or ``"same"`` (output
    ``ceil(H / stride) x ceil(W / stride)``).  Hardened, a zero input is folded into its gate's function
    (``f(a, 0)`` becomes a function of ``a`` alone, read on ``a`` twice; two zero inputs a constant), so the
    circuit reads only image bits and the folding pass of :func:`~paralens.boolean.gate_hardening.harden`
    removes the gates that become trivial.

    ``straight_through``: the forward pass computes the hardened trees, the reverse pass the relaxed ones'
    derivative (at the hardened activations), as :class:`GateLayer` does.
    """

    def __init__(self, height: int, width: int, channels: int, kernels: int, *, depth: int = 2,
                 receptive: int = 3, stride: int = 1, padding=0, seed: int = 0, init=None,
                 straight_through: bool = False, name: str | None = None):
        _positive("TreeConv", height=height, width=width, channels=channels, kernels=kernels, depth=depth,
                  receptive=receptive, stride=stride)
        self.height, self.width, self.channels = int(height), int(width), int(channels)
        self.kernels, self.depth, self.receptive, self.stride = int(kernels), int(depth), int(receptive), int(stride)
        self.padding, self.seed = padding, int(seed)
        self.straight_through = bool(straight_through)
        r, s = self.receptive, self.stride
        top, _, self.out_height = _padding(padding, self.height, r, s, "TreeConv")
        left, _, self.out_width = _padding(padding, self.width, r, s, "TreeConv")
        self.out_channels = self.kernels
        self.n_leaves = 2 ** self.depth
        self.n_tree = self.n_leaves - 1
        self.n_in = self.height * self.width * self.channels
        self.n_positions = self.out_height * self.out_width
        self.n_out = self.n_positions * self.kernels
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 31]))
        field = r * r * self.channels
        self.offsets = _leaf_offsets(self.kernels, self.n_leaves, field, rng)  # (K, L) field entries
        dy, dx, c = self.offsets // (r * self.channels), (self.offsets // self.channels) % r, self.offsets % self.channels
        i, j = np.divmod(np.arange(self.n_positions), self.out_width)
        y = i[:, None, None] * s + dy[None] - top  # (P, K, L)
        x = j[:, None, None] * s + dx[None] - left
        inside = (y >= 0) & (y < self.height) & (x >= 0) & (x < self.width)
        self.leaf_index = np.where(inside, (y * self.width + x) * self.channels + c[None], self.n_in).astype(np.int64)
        self.has_padding = bool((~inside).any())
        self.fan = gather_table(self.n_in, self.leaf_index)
        self.level_sizes = [self.n_leaves >> (lv + 1) for lv in range(self.depth)]
        self.level_starts = np.concatenate([[0], np.cumsum(self.level_sizes)[:-1]]).astype(int).tolist()
        self.params = {"logits": ParamSpec((self.kernels, self.n_tree, 16), _tree_init(init, self.kernels, self.n_tree))}
        self.dom = ArrayType((self.n_in,))
        self.cod = ArrayType((self.n_out,))
        self.name = name or (f"tree_conv({self.height}x{self.width}x{self.channels}->"
                             f"{self.out_height}x{self.out_width}x{self.kernels}, depth={self.depth})")

    def output_type(self, dom):
        return _check_dom(self, dom)

    @property
    def n_gates(self) -> int:
        """Gates of the unrolled trees: ``positions * kernels * (2^depth - 1)``."""
        return self.n_positions * self.kernels * self.n_tree

    def weights(self, z, hard: bool = False):
        """``(kernels, 2^depth - 1, 16)`` mixture weights: softmax of the logits, or one-hot at the argmax."""
        xp = backend_of(z).xp
        if hard:
            return one_hot_argmax(xp, z)
        return _softmax(xp, z.reshape(-1, 16)).reshape(z.shape)

    def forward(self, p, x, ctx=None, *, hard: bool = False):
        try:
            z = p["logits"]
        except (KeyError, TypeError):
            raise ParameterError(f"{self.label()} needs parameter 'logits'; got {sorted(p)}") from None
        if tuple(z.shape) != (self.kernels, self.n_tree, 16):
            raise ShapeError(f"{self.label()}: logits must have shape {(self.kernels, self.n_tree, 16)}, got {z.shape}")
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"{self.label()}: expected input of shape (batch, {self.n_in}), got {x.shape}")
        B = backend_of(x)
        xp = B.xp
        C = _coeffs(str(np.dtype(z.dtype)))
        w = self.weights(z, hard)
        al = (w @ C).astype(x.dtype)  # (K, G, 4)
        fw = (one_hot_argmax(xp, z) @ C).astype(x.dtype) if self.straight_through and not hard else al
        xt = _rows(B, x)  # (n_in, batch)
        n = x.shape[0]
        if self.has_padding:
            xt = xp.concatenate([xt, xp.zeros((1, n), dtype=xt.dtype)], axis=0)
        v = xt[self.leaf_index.ravel()].reshape(self.n_positions, self.kernels, self.n_leaves, n)
        levels = []
        for size, start in zip(self.level_sizes, self.level_starts):
            a, b = v[:, :, :size], v[:, :, size:]
            levels.append((a, b))
            co = fw[None, :, start: start + size, :, None]  # (1, K, size, 4, 1)
            v = co[:, :, :, 0] + a * (co[:, :, :, 1] + co[:, :, :, 3] * b) + co[:, :, :, 2] * b
        y = v.reshape(self.n_out, n).T
        return y, (w, al, levels)

    def _backward(self, res, dy, need_dx: bool):
        w, al, levels = res
        B = backend_of(dy)
        xp = B.xp
        n = dy.shape[0]
        dv = _rows(B, dy).reshape(self.n_positions, self.kernels, 1, n)
        parts = [None] * self.depth
        for lv in range(self.depth - 1, -1, -1):
            a, b = levels[lv]
            size, start = self.level_sizes[lv], self.level_starts[lv]
            t = dv * a
            parts[lv] = xp.stack([xp.sum(dv, axis=(0, 3)), xp.sum(t, axis=(0, 3)), xp.sum(dv * b, axis=(0, 3)),
                                  xp.sum(t * b, axis=(0, 3))], axis=2)  # (K, size, 4)
            if lv == 0 and not need_dx:
                break
            co = al[None, :, start: start + size, :, None]
            da = dv * (co[:, :, :, 1] + co[:, :, :, 3] * b)
            db = dv * (co[:, :, :, 2] + co[:, :, :, 3] * a)
            dv = xp.concatenate([da, db], axis=2)
        dalpha = xp.concatenate(parts, axis=1) if self.depth > 1 else parts[0]
        w = w.astype(dalpha.dtype)
        dw = dalpha @ _coeffs(str(np.dtype(dalpha.dtype))).T
        dlogits = w * (dw - xp.sum(w * dw, axis=2, keepdims=True))
        if not need_dx:
            return dlogits, None
        D = dv.reshape(self.n_positions * self.kernels * self.n_leaves, n)
        return dlogits, reverse_gather(xp, [D], self.fan).T

    def backward(self, res, dy):
        dl, dx = self._backward(res, dy, True)
        return {"logits": dl}, dx

    def backward_params(self, res, dy):
        return {"logits": self._backward(res, dy, False)[0]}

    def hard_gates(self, p) -> list[HardGates]:
        """The trees unrolled at every position, one :class:`HardGates` layer per level (level 1 first).

        Level ``l``'s gates are ordered ``(position, kernel, j)``; the last level's outputs are the layer's
        ``(H', W', K)`` outputs.  Gates of level 1 with a zero-padding input read their other input twice
        (or wire 0, for a constant) with the function folded accordingly."""
        z = p["logits"] if isinstance(p, dict) else p
        codes = np.argmax(np.asarray(z), axis=-1).astype(np.int64)  # (K, G)
        P, K = self.n_positions, self.kernels
        out = []
        n_in = self.n_in
        for lv, (size, start) in enumerate(zip(self.level_sizes, self.level_starts)):
            cd = np.broadcast_to(codes[None, :, start: start + size], (P, K, size)).ravel()
            if lv == 0:
                ia = self.leaf_index[:, :, :size].ravel()
                ib = self.leaf_index[:, :, size:].ravel()
                a_pad, b_pad = ia == n_in, ib == n_in
                if (a_pad | b_pad).any():
                    cd = np.where(a_pad | b_pad, _unary_codes(cd, a_pad, b_pad), cd)
                    ia, ib = np.where(a_pad, ib, ia), np.where(b_pad, ia, ib)
                    both = a_pad & b_pad
                    ia, ib = np.where(both, 0, ia), np.where(both, 0, ib)
            else:
                base = (np.arange(P * K) * (2 * size))[:, None]
                ia = (base + np.arange(size)[None]).ravel()
                ib = ia + size
            out.append(HardGates(n_in, ia.astype(np.int64), ib.astype(np.int64), np.ascontiguousarray(cd)))
            n_in = P * K * size
        return out


# ----------------------------------------------------------------------------- OR pooling


class OrPool(Para):
    """``size x size`` pooling with stride ``size``, ``R^(H W C) -> R^(H' W' C)`` with ``H' = H // size``
    (rows and columns past the last whole window are dropped).  No parameters.

    Relaxed: the maximum over the window (on 0/1 the OR); its reverse derivative routes the change to the
    window's maximum (the first on ties).  Hardened: a tree of OR gates over the window's wires
    (``ceil(log2(size^2))`` layers; a pass-through gate carries the odd wire of a layer).  ``straight_through``
    exists for :meth:`GateNetwork.straight_through`; the maximum is already exact on bits.
    """

    def __init__(self, height: int, width: int, channels: int, size: int = 2, *, name: str | None = None):
        _positive("OrPool", height=height, width=width, channels=channels, size=size)
        self.height, self.width, self.channels, self.size = int(height), int(width), int(channels), int(size)
        if size > height or size > width:
            raise ShapeError(f"OrPool: a {size}x{size} window does not fit a {height}x{width} image")
        self.straight_through = False
        self.out_height, self.out_width, self.out_channels = self.height // size, self.width // size, self.channels
        self.n_in = self.height * self.width * self.channels
        self.n_out = self.out_height * self.out_width * self.channels
        s, C = self.size, self.channels
        i, j, c = np.unravel_index(np.arange(self.n_out), (self.out_height, self.out_width, C))
        dy, dx = np.divmod(np.arange(s * s), s)
        y = i[None] * s + dy[:, None]  # (s*s, n_out)
        x = j[None] * s + dx[:, None]
        self.window = ((y * self.width + x) * C + c[None]).astype(np.int64)
        # each wire is in at most one window: dx is one gather of the routed changes (or a zero)
        self.inverse = gather_table(self.n_in, self.window)[:, 0]
        self.params = {}
        self.dom, self.cod = ArrayType((self.n_in,)), ArrayType((self.n_out,))
        self.name = name or f"or_pool({self.height}x{self.width}x{C}, {s}x{s})"

    def output_type(self, dom):
        return _check_dom(self, dom)

    @property
    def n_gates(self) -> int:
        """Learned gates: none (the circuit's OR gates are counted by the circuit)."""
        return 0

    def forward(self, p, x, ctx=None, *, hard: bool = False):
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"{self.label()}: expected input of shape (batch, {self.n_in}), got {x.shape}")
        B = backend_of(x)
        xp = B.xp
        m, n = self.size * self.size, x.shape[0]
        v = _rows(B, x)[self.window.ravel()].reshape(m, self.n_out, n)
        return xp.max(v, axis=0).T, xp.argmax(v, axis=0)

    def backward(self, res, dy):
        B = backend_of(dy)
        xp = B.xp
        m = self.size * self.size
        dyt = _rows(B, dy)
        routed = (res[None] == xp.arange(m)[:, None, None]).astype(dyt.dtype) * dyt[None]  # (m, n_out, batch)
        D = xp.concatenate([routed.reshape(m * self.n_out, dy.shape[0]),
                            xp.zeros((1, dy.shape[0]), dtype=dyt.dtype)], axis=0)
        return {}, D[self.inverse].T

    def backward_params(self, res, dy):
        return {}

    def hard_gates(self, p=None) -> list[HardGates]:
        """OR trees over the windows: each layer ORs pairs of the wires left per window (``(output, k)`` order)."""
        wires = self.window.T  # (n_out, m) wire indices into the current layer's input
        n_in = self.n_in
        out = []
        while True:
            m = wires.shape[1]
            half = -(-m // 2)
            ia = wires[:, 0::2]
            ib = np.concatenate([wires[:, 1::2], wires[:, -1:]], axis=1) if m % 2 else wires[:, 1::2]
            if m == 1:  # a 1x1 window: one layer of pass-throughs
                ib = ia
            codes = np.full(ia.shape, CODE_OF["or"], dtype=np.int64)
            if m % 2:
                codes[:, -1] = CODE_OF["a"]
            out.append(HardGates(n_in, ia.ravel().astype(np.int64), ib.ravel().astype(np.int64), codes.ravel()))
            n_in = self.n_out * half
            if half == 1:
                return out
            wires = np.arange(n_in, dtype=np.int64).reshape(self.n_out, half)


# ----------------------------------------------------------------------------- a network


def conv_network(height: int, width: int, channels: int, n_classes: int, *, blocks=((32, 3),), pool=2,
                 dense=(8000, 8000), seed: int = 0, tau: float = 10.0, receptive: int = 3, padding=0,
                 init=None, dense_init=None):
    """A gate network on ``(height, width, channels)`` bit images: for each ``(kernels, depth)`` of ``blocks``
    a :class:`TreeConv` (``receptive`` field, stride 1, ``padding``) and, when ``pool > 1`` and the image is
    at least ``pool`` wide, an :class:`OrPool` of ``pool``; then dense :class:`GateLayer` layers of
    ``dense`` widths with random wiring (:func:`~paralens.boolean.gate_wiring.random_wiring`); the
    group-sum head of ``n_classes`` over the last layer (its width must be a multiple of ``n_classes``).

    ``init``: the TreeConv logits' initialiser (:func:`gate_init`, or the name of one of its kinds, e.g.
    ``"residual"``; default normal); ``dense_init``: the dense layers'.  Returns :meth:`GateNetwork.from_layers(..., n_classes, seed=seed, tau=tau)`.
    """
    from paralens.boolean.gate_network import GateNetwork

    init, dense_init = (gate_init(i) if isinstance(i, str) else i for i in (init, dense_init))
    blocks = [tuple(b) for b in blocks]
    for b in blocks:
        if len(b) != 2:
            raise ValueError(f"conv_network: each block must be (kernels, depth), got {b!r}")
    layers: list = []
    h, w, c = int(height), int(width), int(channels)
    for bi, (kernels, depth) in enumerate(blocks):
        conv = TreeConv(h, w, c, int(kernels), depth=int(depth), receptive=receptive, padding=padding,
                        seed=int(np.random.SeedSequence([int(seed), 41, bi]).generate_state(1)[0]), init=init)
        layers.append(conv)
        h, w, c = conv.out_height, conv.out_width, conv.out_channels
        if pool and pool > 1 and min(h, w) >= pool:
            op = OrPool(h, w, c, pool)
            layers.append(op)
            h, w, c = op.out_height, op.out_width, op.out_channels
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 43]))
    n_in = h * w * c
    for width_ in dense:
        ia, ib = random_wiring(n_in, int(width_), rng)
        layers.append(GateLayer(n_in, ia, ib, init=dense_init, name=f"gates({n_in}->{int(width_)})"))
        n_in = int(width_)
    if not layers:
        raise ValueError("conv_network: no layers (give blocks or dense widths)")
    return GateNetwork.from_layers(layers, n_classes, seed=seed, tau=tau)


__all__ = ["OrPool", "TreeConv", "conv_network"]
