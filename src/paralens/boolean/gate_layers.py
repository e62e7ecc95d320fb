"""The relaxed layers of a gate network: two-input gates as softmax mixtures of the sixteen functions.

:class:`GateLayer` is a layer of relaxed gates with fixed wiring (a parametric lens with a
hand-written reverse derivative, run through the backend's array namespace), :class:`GroupSum`
the group-sum head, and :func:`gate_init` the logits initialisers.  Each function is read as its
multilinear real polynomial (:data:`paralens.circuits.truth.COEFFS`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from paralens.backend import backend_of
from paralens.boolean.gate_wiring import fan_table, reverse_gather
from paralens.categories.para import Para, ParamSpec
from paralens.categories.types import ArrayType
from paralens.circuits.truth import COEFFS, PASS_A, PASS_B
from paralens.errors import CompositionError, ParameterError, ShapeError

# ----------------------------------------------------------------------------- initialisers


def gate_init(kind: str = "normal", *, scale: float = 1.0, pass_logit: float = 5.0):
    """An initialiser ``(rng, shape, dtype) -> logits`` for a ``(width, 16)`` logits array.

    * ``"normal"``: ``scale * N(0, 1)`` (difflogic).
    * ``"residual"``: the pass-through gates favoured: logit ``pass_logit`` on ``"a"`` (a layer starts near
      a copy of its input; softmax weight ``e^5 / (e^5 + 15) = 0.91`` for 5), plus ``scale * N(0, 1)``.
    * ``"pass"``: like residual, alternating ``"a"`` and ``"b"`` between gates.
    """
    if kind not in ("normal", "residual", "pass"):
        raise ValueError(f"gate_init: kind must be 'normal', 'residual' or 'pass', got {kind!r}")

    def init(rng, shape, dtype):
        z = scale * rng.standard_normal(shape)
        if kind == "residual":
            z[:, PASS_A] += pass_logit
        elif kind == "pass":
            z[0::2, PASS_A] += pass_logit
            z[1::2, PASS_B] += pass_logit
        return z.astype(dtype)

    init.__name__ = f"gate_init_{kind}"
    return init


def per_layer(who: str, widths, **options) -> tuple[list[int], dict[str, list]]:
    """``widths`` as positive ints and each option as one value per layer: an option given as a list or tuple
    must have one entry per layer, any other value is used for every layer (a network builder's rule)."""
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise ValueError(f"{who}: widths must be positive, got {widths}")
    L = len(widths)
    out = {k: list(v) if isinstance(v, list | tuple) else [v] * L for k, v in options.items()}
    if any(len(v) != L for v in out.values()):
        given = " and ".join(f"{len(v)} values of {k}" for k, v in out.items())
        raise ValueError(f"{who}: {L} layers but {given}")
    return widths, out


# ----------------------------------------------------------------------------- the hardened form


class HardGates(NamedTuple):
    """One layer of fixed-wire two-input gates, the form every relaxed layer hardens to.

    Gate ``g`` computes function ``codes[g]`` (0..15, :data:`~paralens.circuits.truth.GATE_NAMES`, the
    code of its truth table) of wires ``ia[g]`` and ``ib[g]`` of an ``n_in``-wire input.  A layer of a gate
    network (a :class:`GateLayer`, a learned-connection layer, a logic-tree convolution, a pooling) gives
    its hardened form as a list of these (:meth:`GateLayer.hard_gates`); :func:`~paralens.boolean.gate_hardening.harden`
    folds and emits the list as one circuit, so a rule of hardening is written once.
    """

    n_in: int
    ia: np.ndarray
    ib: np.ndarray
    codes: np.ndarray

    @property
    def n_out(self) -> int:
        return len(self.codes)


def run_hard_gates(layers, x) -> np.ndarray:
    """``layers`` (a list of :class:`HardGates`) on 0/1 rows ``x`` (``(batch, n_in)``), by truth-table lookup."""
    from paralens.circuits.truth import TRUTH

    x = np.asarray(x, dtype=np.int64)
    for h in layers:
        if x.ndim != 2 or x.shape[1] != h.n_in:
            raise ShapeError(f"run_hard_gates: a layer of {h.n_in} inputs got bits of shape {x.shape}")
        x = TRUTH[h.codes][np.arange(h.n_out)[None, :], 2 * x[:, h.ia] + x[:, h.ib]]
    return x


# ----------------------------------------------------------------------------- the lenses


_COEFFS_BY_DTYPE: dict = {}


def _coeffs(dtype: str) -> np.ndarray:
    if dtype not in _COEFFS_BY_DTYPE:
        _COEFFS_BY_DTYPE[dtype] = COEFFS.astype(dtype)
    return _COEFFS_BY_DTYPE[dtype]


def _row_max(xp, z):
    """``max(z, axis=1, keepdims=True)`` of a 2-d array; on NumPy by halving the columns (a reduction over
    short rows is slow there)."""
    if xp is not np:
        return xp.max(z, axis=1, keepdims=True)
    m = z
    while m.shape[1] > 1:
        h = m.shape[1] // 2
        top = np.maximum(m[:, :h], m[:, h: 2 * h])
        if m.shape[1] % 2:
            top[:, :1] = np.maximum(top[:, :1], m[:, 2 * h:])
        m = top
    return m


def _softmax(xp, z):
    """Row softmax of a 2-d array (rows of 16 logits)."""
    e = xp.exp(z - _row_max(xp, z))
    if xp is np:  # row sums as a matrix-vector product (BLAS), not a reduction over short rows
        return e * (1.0 / (e @ np.ones(e.shape[1], dtype=e.dtype)))[:, None]
    return e / xp.sum(e, axis=1, keepdims=True)


def one_hot_argmax(xp, z):
    """One-hot rows at each row's argmax (the first on ties), in ``z``'s namespace (traceable by JAX)."""
    k = z.shape[-1]
    return (xp.argmax(z, axis=-1)[..., None] == xp.arange(k)).astype(z.dtype)


def _rows(B, x):
    """``x.T`` as a row-contiguous ``(features, batch)`` array, computed once (NumPy gathers rows fast; XLA
    would otherwise fuse the layer before into every read of it, :meth:`~paralens.backend.base.Backend.materialise`)."""
    xt = x.T
    if B.name == "numpy":
        return xt if xt.flags.c_contiguous else np.ascontiguousarray(xt)
    return B.materialise(xt)


def _row_dots(B, u, v):
    """``sum(u * v, axis=1)`` of two ``(rows, batch)`` arrays (NumPy: one pass, no product array)."""
    if B.name == "numpy":
        return np.einsum("ij,ij->i", u, v)
    return B.xp.sum(u * v, axis=1)


def gate_mixture(xp, z, dtype, *, hard: bool = False, straight_through: bool = False):
    """The gates of logits ``z`` (``(n, 16)``) as polynomial coefficients: ``(w, al, fw)``.

    ``w``: the mixture weights (softmax of ``z``, or one-hot at the argmax with ``hard``); ``al = w @ COEFFS``
    (``(n, 4)``, of ``dtype``), the coefficients ``(a0..a3)`` of ``y = a0 + a1 a + a2 b + a3 ab`` the reverse
    pass differentiates; ``fw`` those the forward pass computes: ``al``, or the hardened gates' with
    ``straight_through`` (hardened forward, relaxed reverse).  The one reading of a relaxed two-input gate,
    shared by every layer of such gates (:class:`GateLayer`, the learned-connection layer)."""
    w = one_hot_argmax(xp, z) if hard else _softmax(xp, z)
    C = _coeffs(str(np.dtype(z.dtype)))
    al = (w @ C).astype(dtype)
    fw = (one_hot_argmax(xp, z) @ C).astype(dtype) if straight_through and not hard else al
    return w, al, fw


def gate_apply(fw, a, b):
    """Gates of coefficients ``fw`` (``(n, 4)``) on inputs ``a``, ``b`` (``(n, batch)``, feature-major):
    ``(y, u)`` with ``u = dy/da = a1 + a3 b``, which the reverse pass reuses when ``fw`` is the relaxed ``al``."""
    u = fw[:, 1:2] + fw[:, 3:4] * b
    return a * u + (fw[:, 2:3] * b + fw[:, 0:1]), u


def gate_reverse(xp, w, al, a, b, dyt, need_dx: bool = True, u=None):
    """The reverse derivative of :func:`gate_apply` at coefficients ``al`` and of the softmax behind them:
    ``(dlogits (n, 16), da, db)`` for the change ``dyt`` (``(n, batch)``) of the outputs (``da``, ``db``
    ``None`` unless ``need_dx``).

    ``dalpha = sum_batch dy * (1, a, b, ab)``, ``dw = dalpha @ COEFFS^T``, ``dlogits = w * (dw - <w, dw>)``
    with ``<w, dw> = <al, dalpha>`` (4 terms, not 16); ``da = dy (a1 + a3 b)`` (``dy u`` when the forward
    pass kept ``u``, :func:`gate_apply`), ``db = dy (a2 + a3 a)``."""
    B = backend_of(dyt)
    t = dyt * a
    dalpha = xp.stack([xp.sum(dyt, axis=1), xp.sum(t, axis=1), _row_dots(B, dyt, b), _row_dots(B, t, b)], axis=1)
    w, al_ = w.astype(dalpha.dtype), al.astype(dalpha.dtype)
    dw = dalpha @ _coeffs(str(np.dtype(dalpha.dtype))).T
    dlogits = w * (dw - xp.sum(al_ * dalpha, axis=1, keepdims=True))
    if not need_dx:
        return dlogits, None, None
    da = dyt * (al[:, 1:2] + al[:, 3:4] * b if u is None else u)
    return dlogits, da, dyt * al[:, 2:3] + t * al[:, 3:4]


class GateLayer(Para):
    """A layer of ``n_out`` relaxed two-input gates with fixed wiring, a parametric lens ``R^n_in -> R^n_out``.

    Parameter ``logits``, shape ``(n_out, 16)``; ``w = softmax(logits)`` weighs the 16 functions, so gate
    ``g`` computes ``y = a0 + a1 a + a2 b + a3 ab`` with ``(a0..a3) = w_g @ COEFFS``, ``a = x[ia[g]]``,
    ``b = x[ib[g]]``.

    get ``(logits, x) -> y``; put, by hand:

    * ``dalpha = sum_batch dy * (1, a, b, ab)``, ``dw = dalpha @ COEFFS^T``,
      ``dlogits = w * (dw - <w, dw>)`` (the softmax's reverse derivative);
    * ``da = dy (a1 + a3 b)``, ``db = dy (a2 + a3 a)``, and ``dx`` adds the changes of every read of a wire
      (the reverse of copy), as gathers over a fan-out table.

    ``straight_through``: the forward pass computes the hardened gates (one-hot at the argmax) and the
    reverse pass is the relaxed one's (the straight-through estimator): trained so, the network's
    outputs are the hardened circuit's, so there is no hardening gap to close.

    Computed in feature-major layout (``x.T``) so NumPy's gathers read whole rows; the output is the
    transpose back (a view).
    """

    def __init__(self, n_in: int, ia, ib, init=None, name: str | None = None, straight_through: bool = False):
        ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
        self.straight_through = bool(straight_through)
        if ia.shape != ib.shape or ia.ndim != 1 or len(ia) == 0:
            raise ShapeError(f"GateLayer: ia and ib must be two non-empty (n_out,) arrays, got {ia.shape}, {ib.shape}")
        for arr in (ia, ib):
            if arr.min() < 0 or arr.max() >= n_in:
                raise CompositionError(f"GateLayer: wire {int(arr.max())} does not exist in an input of {n_in}")
        self.n_in, self.n_out = int(n_in), len(ia)
        self.ia, self.ib = ia, ib
        self.fan = fan_table(self.n_in, ia, ib)
        # fast path: port a reads wires 0 .. n_out - 1 in order (a slice; the reverse: reverse_gather's)
        self.a_prefix = bool(np.array_equal(ia, np.arange(self.n_out)))
        self.params = {"logits": ParamSpec((self.n_out, 16), init or gate_init("normal"))}
        self.dom = ArrayType((self.n_in,))
        self.cod = ArrayType((self.n_out,))
        self.name = name or f"gates({self.n_in}->{self.n_out})"

    def output_type(self, dom):
        if self.dom.unify(dom) is None:
            raise CompositionError(f"{self.label()} cannot take input {dom}: its domain is {self.dom}")
        return self.cod

    def weights(self, p, hard: bool = False):
        """The mixture weights ``(n_out, 16)``: ``softmax(logits)``, or one-hot at the argmax with ``hard``."""
        z = p["logits"] if isinstance(p, dict) else p
        xp = backend_of(z).xp
        if hard:
            return one_hot_argmax(xp, z)
        return _softmax(xp, z)

    def forward(self, p, x, ctx=None, *, hard: bool = False):
        try:
            z = p["logits"]
        except KeyError:
            raise ParameterError(f"{self.label()} needs parameter 'logits'; got {sorted(p)}") from None
        B = backend_of(x)
        w, al, fw = gate_mixture(B.xp, z, x.dtype, hard=hard, straight_through=self.straight_through)
        xt = _rows(B, x)
        a = xt[: self.n_out] if self.a_prefix else xt[self.ia]
        b = xt[self.ib]
        yt, u = gate_apply(fw, a, b)
        return yt.T, (w, al, a, b, u if fw is al else None)

    @property
    def n_gates(self) -> int:
        """Learned gates (one per output)."""
        return self.n_out

    def hard_gates(self, p) -> list[HardGates]:
        """The hardened layer: each gate its argmax function, on the same wires."""
        z = p["logits"] if isinstance(p, dict) else p
        return [HardGates(self.n_in, self.ia, self.ib, np.argmax(np.asarray(z), axis=1).astype(np.int64))]

    def _backward(self, res, dy, need_dx: bool):
        w, al, a, b, u = res
        B = backend_of(dy)
        xp = B.xp
        dlogits, da, db = gate_reverse(xp, w, al, a, b, _rows(B, dy), need_dx, u=u)
        if not need_dx:
            return dlogits, None
        return dlogits, reverse_gather(xp, [da, db], self.fan).T

    def backward(self, res, dy):
        dl, dx = self._backward(res, dy, True)
        return {"logits": dl}, dx

    def backward_params(self, res, dy):
        return {"logits": self._backward(res, dy, False)[0]}


class GroupSum(Para):
    """The head ``R^n -> R^k``: class ``c``'s score is the sum of outputs ``c m .. c m + m - 1`` over ``tau``.

    No parameters. get ``y -> y.reshape(batch, k, m).sum(-1) / tau``; put ``ds -> repeat(ds / tau, m)``.
    Hardened, the sums are the popcounts of :class:`~paralens.boolean.encoders.GroupSumDecoder`.
    """

    def __init__(self, n: int, n_classes: int, tau: float = 1.0):
        if n % n_classes:
            raise ShapeError(f"GroupSum: {n} outputs do not split into {n_classes} equal groups")
        self.n, self.k, self.m, self.tau = int(n), int(n_classes), int(n) // int(n_classes), float(tau)
        self.params = {}
        self.dom, self.cod = ArrayType((self.n,)), ArrayType((self.k,))
        self.name = f"group_sum({self.n}->{self.k}, tau={self.tau:g})"

    def output_type(self, dom):
        if self.dom.unify(dom) is None:
            raise CompositionError(f"{self.label()} cannot take input {dom}: its domain is {self.dom}")
        return self.cod

    def forward(self, p, x, ctx=None):
        xp = backend_of(x).xp
        return xp.sum(x.reshape(x.shape[0], self.k, self.m), axis=2) * (1.0 / self.tau), x.shape[0]

    def backward(self, res, ds):
        xp = backend_of(ds).xp
        d = xp.broadcast_to((ds * (1.0 / self.tau))[:, :, None], (res, self.k, self.m))
        return {}, d.reshape(res, self.n)


__all__ = ["GateLayer", "GroupSum", "HardGates", "per_layer", "gate_apply", "gate_init", "gate_mixture", "gate_reverse", "one_hot_argmax",
           "run_hard_gates"]
