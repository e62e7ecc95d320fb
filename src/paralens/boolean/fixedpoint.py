"""Fixed-point learning over a prime field GF(p): a linear classifier trained by the paper's learner.

This is yarrow-polycirc's Iris demo (a 4 x 3 linear map in 10-bit fixed point,
trained with circuits over the integers) done over GF(p), with the same
:class:`~paralens.learning.supervised.Learner` as every other model here and the
field's update ``optimisers.gradient_update(modulus=p)``.

Numbers
-------
A real ``r`` in the format Q(b) is the integer ``n = round(r 2^b)`` (numpy's
``rint``, ties to even) and the field element ``n mod p``; a field element ``v``
decodes to the signed integer ``v`` if ``v <= H`` and ``v - p`` otherwise, where
``H = (p - 1) / 2``.  Reduction mod p is a ring homomorphism Z -> GF(p) and decoding
inverts it on the window ``|n| <= H``: an integer polynomial evaluated in GF(p)
decodes to its true integer value whenever that *final* value lies in the window
(partial sums may wrap; they cancel).  Three formats:

==================  =============  =====================================================
what                format         default (``frac_bits f = 10``)
==================  =============  =====================================================
features x          Q(f)           10 fractional bits, as yarrow-polycirc
weights W           Q(f_w)         ``f_w = 3 f = 30`` (why: see the learning rate)
predictions, t      Q(f_w + f)     the product of the two; one-hot targets ``t 2^(f_w+f)``
==================  =============  =====================================================

The learner (paper Fig. 6) and which of its parts are exact
--------------------------------------------------------------
* model ``y = W x``: :class:`FixedPointLinear`, the traced circuit over GF(p) as a
  :class:`~paralens.circuits.lens.ParaCircuit` with one parameter ``weight`` of
  ``out * in`` wires (row-major ``(out, in)``, as ``smooth.linear``).  Get and its
  reverse derivative ``p' = sum_batch dy x^T`` are **exact field arithmetic**.
* loss: a *displacement* ``d(t, y)`` with values in ``L = GF(p)^n`` (as the XOR loss of
  Ex 3.5 has values in Z2^n), put ``R[d](t, y, a) = (-a, a)``:

  - ``"mse"``: ``d = y - t``, a polynomial: **exact field arithmetic**, and ``(-a, a)``
    is its exact reverse derivative.  With the learning rate below, the change sent
    to the model is ``-eta (y - t)``, the gradient step of the squared error
    ``1/2 |y - t|^2`` (paper Ex 3.4 composed with Ex 3.9).
  - ``"clip"``: ``d = h(y) - t`` with the hard sigmoid ``h(z) = (clip(z, -1, 1) + 1) / 2``,
    yarrow-polycirc's ``cliploss``.  The clip compares signed lifts: **not a field
    operation** (``/ 2`` is a floor shift, off by at most 2^-(f_w+f+1)).  The step
    ``-eta (h(y) - t) x`` is the gradient of the convex loss
    ``sum_k integral_0^{y_k} (h(u) - t_k) du`` (a GLM with link h).
* learning rate ``alpha : L -> L'`` (:func:`fixed_point_rate`, a ``LearningRate``):
  ``alpha(l) = -round(m l / 2^(2f + k))`` on the signed lift, ``eta = m / 2^k``
  (default ``1 / 2^7``, yarrow's).  **This is the one rounding step of training, and it
  happens outside the field**: ``l`` is in Q(f_w + f), ``alpha(l) = -eta l`` in
  Q(f_w - f), so that the exact reverse derivative of the model returns ``-eta d x^T``
  in the weights' format Q(f_w).  Rounding is to nearest, ties away from zero
  (symmetric: no drift, unlike a floor shift).
* optimiser ``gradient_update(modulus=p)``: ``W + p'`` in GF(p), **exact**.

Why a rounding step at all (and why there).  Any step made only of field operations
with a constant learning rate ``c`` is, lifted to the integers, ``W <- W - c (W X - T) X^T``
with an integer ``c``: along ``X`` it multiplies the error by ``1 - c |X|^2``.  For an
Iris row encoded in Q(10) ``|X|^2 > 10^7``, so every integer ``c != 0`` overshoots or ascends
(``|1 - c |X|^2| > 1``) and ``c = 0`` does not learn: no field constant is a learning rate
below 1 (``1/2^k`` in GF(p) lifts to a huge integer).  In the paper's learner the update is fixed (``p + p'``) and the
only map between loss and model free to act on integers is the learning-rate lens
(any map ``L -> L'`` is a lens into (1, 1)), so the rescaling sits there, *before*
the outer product with ``x``.  (yarrow-polycirc shifts the parameter change instead,
after it, with floor shifts.)  The price: the smallest change of a weight is
``x 2^-(f_w - f)``, so the weights carry ``f_w - f`` fractional bits more than the
data; ``f_w = 30`` quantises ``eta d`` to 2^-20 (``d`` to 2^-13 at ``eta = 2^-7``), and
the weights then follow the float run to the precision of the features (see the tests).

Overflow (wrap-around) is ruled out at run time; :class:`FixedPointOverflow` says
where.  With ``H = (p - 1) / 2`` and the signed lifts of the values:

1. encoding: ``|round(r 2^b)| <= H``;
2. model get: ``|sum_j W_kj X_j| <= H`` for every example and output (the true integer
   prediction, so that it decodes exactly; a-priori sufficient:
   ``max_k sum_j |W_kj| |X_j| <= H``, checked first in float64 with a margin, the
   exact integer only when that fails);
3. loss: ``|d| <= H``;
4. update: ``|W + dW| <= H`` for the true integer change ``dW = sum_batch alpha(l) X^T``;
   and the learner's integer lift (a ParaCircuit sums the batch's changes as int64
   representatives, and ``gradient_update`` adds ``p + p'`` in int64) needs
   ``(batch + 1)(p - 1) < 2^63``: for the default ``p = 2^61 - 1`` batches of at most 3
   (yarrow's procedure uses 1); take a smaller prime (e.g. ``2^50 - 27``) for larger ones.

On Iris with the defaults and yarrow's procedure, over all 60 epochs, ``|X| < 2^13`` (x < 7.9),
``|W| < 2^31`` (|w| < 1.5) and ``|y| < 2^44`` (|y| < 8.1): 16 bits inside ``H = 2^60 - 1``.

Speed: a prime above 2^31.5 runs on galois' Python-integer arithmetic (the ``GaloisKernel``), about
2 ms per step of one example, against 0.1-0.2 ms for the float model; below it the int64 kernel is
fast, but ``2^31 - 1`` leaves too little headroom for Q(10) data with fine enough weights.

Example (the exact step by hand)::

    >>> import numpy as np
    >>> fmt = FixedPoint(frac_bits=2, weight_bits=6)       # x in Q(2), W in Q(6), y in Q(8)
    >>> learner = fixed_point_learner(fmt, 2, 1, loss="mse", lr_shift=0)   # eta = 1
    >>> x = fmt.encode([[1.0, 0.5]])                        # [[4, 2]]
    >>> t = fmt.encode([[1.0]], fmt.out_bits)               # [[256]]
    >>> state = learner.init(0, params={"weight": fmt.encode([0.25, -0.5], fmt.weight_bits)})  # [16, -32]
    >>> state, _ = learner.step(state, x, t)   # y = 16*4 - 32*2 = 0; d = -256; alpha = 256 / 2^4 = 16
    >>> fmt.to_signed(state.params["weight"]).tolist()      # W + 16 x = [16 + 64, -32 + 32]
    [80, 0]
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from paralens.circuits.lens import ParaCircuit, zeros_init
from paralens.circuits.trace import trace
from paralens.errors import FixedPointOverflow  # noqa: F401 - importable from here too
from paralens.fields.field import GF
from paralens.learning import losses, optimisers
from paralens.learning.learning_rates import LearningRate
from paralens.learning.supervised import Learner

MERSENNE_61 = 2**61 - 1
"""The default prime: 60 bits of signed headroom, batches of at most 3 (see the overflow notes)."""

_INT64_LIMIT = 2**63


def _overflow(what: str, value, fmt: FixedPoint, hint: str = "") -> FixedPointOverflow:
    return FixedPointOverflow(
        f"fixed point over GF({fmt.p}): {what} reaches {value}, beyond (p - 1)/2 = {fmt.half}; it would wrap "
        f"around mod p{hint}. Use a larger prime, fewer fractional bits (frac_bits={fmt.frac_bits}, "
        f"weight_bits={fmt.weight_bits}) or a smaller learning rate.")


@dataclass(frozen=True)
class FixedPoint:
    """A fixed-point number format over GF(p): features Q(frac_bits), weights Q(weight_bits).

    Predictions and targets are in Q(weight_bits + frac_bits) (``out_bits``).
    """

    p: int = MERSENNE_61
    frac_bits: int = 10
    weight_bits: int = 30

    def __post_init__(self):
        if self.frac_bits < 0 or self.weight_bits < self.frac_bits:
            raise ValueError(f"need 0 <= frac_bits <= weight_bits, got {self.frac_bits}, {self.weight_bits}")
        F = self.field  # checks that p is prime
        if not F.is_prime:
            raise ValueError(f"fixed point needs a prime field, got {F.name}")
        if 2 ** self.out_bits > self.half:
            raise ValueError(f"GF({self.p}) cannot hold 1.0 in Q({self.out_bits}) (the targets): "
                             f"2^{self.out_bits} > (p - 1)/2")

    @property
    def field(self):
        """``GF(p)`` (cached)."""
        return GF(self.p)

    @property
    def half(self) -> int:
        """``H = (p - 1) / 2``: signed values live in ``-H .. H``."""
        return (self.p - 1) // 2

    @property
    def out_bits(self) -> int:
        """Fractional bits of predictions and targets (the product of weight and feature)."""
        return self.weight_bits + self.frac_bits

    # -- integers <-> field elements ---------------------------------------------------------
    def to_signed(self, v) -> np.ndarray:
        """Field elements (integers in ``0 .. p-1``) as signed integers in ``-H .. H`` (int64)."""
        v = np.asarray(self.field.check_ints(v), dtype=np.int64)
        return np.where(v > self.half, v - self.p, v)

    def from_signed(self, n, what: str = "a value") -> np.ndarray:
        """Signed integers as field elements ``n mod p`` (int64); raises if ``|n| > H``."""
        n = np.asarray(n)
        if n.dtype == object:
            big = max((abs(int(v)) for v in n.ravel()), default=0)
            if big > self.half:
                raise _overflow(what, big, self)
            n = n.astype(np.int64)
        n = np.asarray(n, dtype=np.int64)
        if n.size and int(np.abs(n).max()) > self.half:
            raise _overflow(what, int(np.abs(n).max()), self)
        return np.remainder(n, self.p)

    def encode(self, x, bits: int | None = None) -> np.ndarray:
        """Reals as field elements in Q(bits) (default Q(frac_bits)): ``rint(x 2^bits) mod p``."""
        bits = self.frac_bits if bits is None else int(bits)
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("fixed point: cannot encode NaN or infinity")
        scaled = np.rint(np.ldexp(x, bits))
        if scaled.size and float(np.abs(scaled).max()) > self.half:
            raise _overflow(f"encoding in Q({bits})", float(np.abs(scaled).max()), self)
        return self.from_signed(scaled.astype(np.int64), f"encoding in Q({bits})")

    def decode(self, v, bits: int | None = None) -> np.ndarray:
        """Field elements in Q(bits) as float64 reals (signed)."""
        bits = self.frac_bits if bits is None else int(bits)
        return np.ldexp(self.to_signed(v).astype(np.float64), -bits)

    def targets(self, labels, n_classes: int) -> np.ndarray:
        """One-hot targets in Q(out_bits), as field elements ``(N, n_classes)``."""
        labels = np.asarray(labels, dtype=np.int64)
        return self.from_signed(np.eye(n_classes, dtype=np.int64)[labels] << self.out_bits, "a target")


def _round_shift(n: np.ndarray, s: int) -> np.ndarray:
    """``round(n / 2^s)`` for signed int64 ``n``: to nearest, ties away from zero."""
    if s == 0:
        return n.copy()
    a = (np.abs(n) + (1 << (s - 1))) >> s
    return np.where(n < 0, -a, a)


# -- the model ------------------------------------------------------------------------------------


def linear_circuit(field, n_in: int, n_out: int):
    """The circuit ``(W, x) -> W x`` over ``field``: inputs ``W`` row-major ``(n_out, n_in)`` then ``x``."""

    def fn(*w):
        W, x = w[: n_in * n_out], w[n_in * n_out:]
        return [sum((W[k * n_in + j] * x[j] for j in range(1, n_in)), W[k * n_in] * x[0]) for k in range(n_out)]

    return trace(field, n_in * n_out + n_in, fn, name=f"linear({n_in}->{n_out})")


class FixedPointLinear(ParaCircuit):
    """``y = W x`` over GF(p) as a parametric circuit (parameter ``weight``, zeros at init), with the
    fixed-point overflow checks 2 and 4 of the module notes around the (exact) ParaCircuit passes."""

    def __init__(self, fmt: FixedPoint, n_in: int, n_out: int, name: str | None = None):
        self.fmt = fmt
        self.n_in, self.n_out = int(n_in), int(n_out)
        super().__init__(linear_circuit(fmt.field, self.n_in, self.n_out), {"weight": self.n_in * self.n_out},
                         init={"weight": zeros_init}, name=name or f"fixed_linear({n_in}->{n_out}, GF({fmt.p}))")

    def _signed(self, p: dict, a):
        W = self.fmt.to_signed(np.asarray(p["weight"]).reshape(self.n_out, self.n_in))
        return W, self.fmt.to_signed(a)

    def forward(self, p: dict, a, ctx=None):
        y, V = super().forward(p, a, ctx)
        W, X = self._signed(p, a)
        H = self.fmt.half
        bound = float((np.abs(X).astype(np.float64) @ np.abs(W).astype(np.float64).T).max(initial=0.0))
        if bound > H * (1 - 2.0**-40):  # maybe: decide on the exact integers
            exact = X.astype(object) @ W.astype(object).T
            big = max((abs(int(v)) for v in exact.ravel()), default=0)
            if big > H:
                raise _overflow(f"the prediction W x (in Q({self.fmt.out_bits}))", big, self.fmt)
        return y, (V, W, X)

    def _check_update(self, W, X, db):
        fmt, batch = self.fmt, X.shape[0]
        if (batch + 1) * (fmt.p - 1) >= _INT64_LIMIT:
            raise FixedPointOverflow(
                f"fixed point over GF({fmt.p}): a batch of {batch} cannot be summed exactly: the learner lifts the "
                f"parameter change to int64 and needs (batch + 1)(p - 1) < 2^63, i.e. batches of at most "
                f"{_INT64_LIMIT // (fmt.p - 1) - 1}; use a smaller prime for larger batches")
        D = fmt.to_signed(db)
        bound = np.abs(W).astype(np.float64) + np.abs(D).astype(np.float64).T @ np.abs(X).astype(np.float64)
        if float(bound.max(initial=0.0)) > fmt.half * (1 - 2.0**-40):
            new = W.astype(object) + D.astype(object).T @ X.astype(object)
            big = max((abs(int(v)) for v in new.ravel()), default=0)
            if big > fmt.half:
                raise _overflow(f"an updated weight (in Q({fmt.weight_bits}))", big, fmt)

    def backward_params(self, residual, db):
        V, W, X = residual
        self._check_update(W, X, db)
        return super().backward_params(V, db)

    def backward(self, residual, db):
        V, W, X = residual
        self._check_update(W, X, db)
        return super().backward(V, db)

    # -- reading the model -----------------------------------------------------------------
    def weights(self, params: dict) -> np.ndarray:
        """The weights as reals ``(n_out, n_in)``."""
        return self.fmt.decode(np.asarray(params["weight"]).reshape(self.n_out, self.n_in), self.fmt.weight_bits)

    def scores(self, params: dict, x) -> np.ndarray:
        """Signed integer outputs (Q(out_bits)) for field-encoded features ``x``."""
        return self.fmt.to_signed(self.get(params, x))

    def predict(self, params: dict, x) -> np.ndarray:
        """Class indices: the argmax of the signed outputs."""
        return np.argmax(self.scores(params, x), axis=-1)


# -- loss and learning rate -----------------------------------------------------------------------


LOSS_KINDS = ("mse", "clip")


def displacement_loss(fmt: FixedPoint, n: int, kind: str = "mse") -> losses.Loss:
    """The displacement ``d(t, y)`` in ``GF(p)^n``, put ``(t, y, a) -> (-a, a)`` (reduction ``"sum"``).

    ``kind="mse"``: ``d = y - t`` (field arithmetic); ``"clip"``: ``d = h(y) - t``, ``h`` the hard
    sigmoid ``(clip(y, -1, 1) + 1) / 2`` in Q(out_bits) (on the signed lift).  See the module notes.
    """
    if kind not in LOSS_KINDS:
        raise ValueError(f"displacement_loss: kind must be one of {LOSS_KINDS}, got {kind!r}")
    p, one = fmt.p, 1 << fmt.out_bits

    def fn(a):
        (bt,), bp = a
        if kind == "mse":
            d = fmt.to_signed(bp) - fmt.to_signed(bt)  # = (bp - bt) mod p, lifted
        else:
            d = ((np.clip(fmt.to_signed(bp), -one, one) + one) >> 1) - fmt.to_signed(bt)
        return fmt.from_signed(d, "the displacement d(t, y)")

    def rev(a, dl):
        dl = np.remainder(np.asarray(dl, dtype=np.int64), p)
        return (np.remainder(-dl, p),), dl

    return losses.Loss(fn, rev, f"fixed_{kind}", n, field=fmt.field.lens_field, reduction="sum",
                       value_shape=(n,))


def fixed_point_rate(fmt: FixedPoint, lr_shift: int = 7, multiplier: int = 1) -> LearningRate:
    """``alpha(l) = -round(multiplier * l / 2^(2 frac_bits + lr_shift))``: ``eta = multiplier / 2^lr_shift``.

    A lens ``(L, L') -> (1, 1)`` acting on the signed lifts of the displacement (Q(out_bits))
    and returning ``-eta l`` in Q(weight_bits - frac_bits): the rounding step of training, outside
    the field (see the module notes).  State: ``{}``.
    """
    shift, m = 2 * fmt.frac_bits + int(lr_shift), int(multiplier)
    if shift < 0 or m < 1:
        raise ValueError(f"fixed_point_rate: need 2 frac_bits + lr_shift >= 0 and multiplier >= 1, "
                         f"got {shift} and {m}")
    if m * fmt.half >= 2**62:
        raise ValueError(f"fixed_point_rate: multiplier {m} too large for exact int64 arithmetic over GF({fmt.p})")

    def put(state, loss):
        return fmt.from_signed(-_round_shift(m * fmt.to_signed(loss), shift), "the learning rate's change"), state

    return LearningRate("fixed_point", lambda backend="numpy": {}, put,
                        {"lr_shift": int(lr_shift), "multiplier": m, "shift": shift})


def fixed_point_learner(fmt: FixedPoint, n_in: int, n_out: int, *, loss: str = "clip", lr_shift: int = 7,
                        multiplier: int = 1) -> Learner:
    """The paper's learner for ``y = W x`` over GF(p): displacement loss, :func:`fixed_point_rate`,
    ``gradient_update(modulus=p)``."""
    return Learner(FixedPointLinear(fmt, n_in, n_out), displacement_loss(fmt, n_out, loss),
                   optimisers.gradient_update(modulus=fmt.p), fixed_point_rate(fmt, lr_shift, multiplier))


# -- the same model over the reals ------------------------------------------------------------------


def real_displacement_loss(n: int, kind: str = "mse") -> losses.Loss:
    """The float counterpart: ``"mse"`` is ``losses.mse(n, reduction="sum")``; ``"clip"`` the convex loss
    ``sum_k H(y_k) - t_k y_k`` with ``H' = h`` the hard sigmoid, put ``(t, y, a) -> (-a y, a (h(y) - t))``."""
    if kind == "mse":
        return losses.mse(n, reduction="sum")
    if kind != "clip":
        raise ValueError(f"real_displacement_loss: kind must be one of {LOSS_KINDS}, got {kind!r}")

    def prim(z):  # the antiderivative of h with prim(0) = 0
        return np.where(z < -1, -0.25, np.where(z > 1, z - 0.25, z * z / 4 + z / 2))

    def fn(a):
        (t,), z = a
        return np.sum(prim(z) - t * z, axis=-1)

    def rev(a, dl):
        (t,), z = a
        d = dl[:, None]
        return (-d * z,), d * ((np.clip(z, -1, 1) + 1) / 2 - t)

    return losses.Loss(fn, rev, "hard_sigmoid_glm", n, reduction="sum")


def real_learner(n_in: int, n_out: int, *, loss: str = "clip", lr: float = 2.0**-7) -> Learner:
    """``smooth.linear`` (zeros, no bias) + :func:`real_displacement_loss` + ``sgd(lr)`` over float64."""
    from paralens.instances.smooth.layers import linear

    return Learner(linear(n_in, n_out, init="zeros"), real_displacement_loss(n_out, loss), optimisers.sgd(lr))


# -- training -------------------------------------------------------------------------------------------


def class_interleaved_order(labels) -> np.ndarray:
    """Examples taken round-robin over the classes, each class in data order (yarrow-polycirc's
    schedule for Iris: 0, 50, 100, 1, 51, 101, ...); deterministic."""
    labels = np.asarray(labels)
    groups = [list(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    order = []
    for i in range(max((len(g) for g in groups), default=0)):
        order.extend(g[i] for g in groups if i < len(g))
    return np.asarray(order, dtype=np.int64)


def run_epochs(learner: Learner, state, x, y, order, epochs: int, batch_size: int = 1):
    """``epochs`` passes over ``order`` in batches: ``learner.step`` on ``x[idx], y[idx]``."""
    for _ in range(int(epochs)):
        for s in range(0, len(order), batch_size):
            idx = order[s: s + batch_size]
            state, _ = learner.step(state, x[idx], y[idx])
    return state


def fit_fixed_point(features, labels, *, n_classes: int | None = None, fmt: FixedPoint | None = None,
                    loss: str = "clip", lr_shift: int = 7, epochs: int = 60, order=None, batch_size: int = 1):
    """Train ``y = W x`` over GF(p) on real features; returns ``(learner, params, info)``.

    Features are encoded in Q(frac_bits), targets one-hot in Q(out_bits); weights start at zero;
    ``order`` defaults to :func:`class_interleaved_order`.  Deterministic.
    """
    fmt = fmt or FixedPoint()
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    features = np.asarray(features, dtype=np.float64)
    learner = fixed_point_learner(fmt, features.shape[1], n_classes, loss=loss, lr_shift=lr_shift)
    X, T = fmt.encode(features), fmt.targets(labels, n_classes)
    order = class_interleaved_order(labels) if order is None else np.asarray(order)
    t0 = time.perf_counter()
    state = run_epochs(learner, learner.init(0), X, T, order, epochs, batch_size)
    seconds = time.perf_counter() - t0
    model = learner.model
    info = {"steps": int(epochs) * -(-len(order) // batch_size), "seconds": seconds,
            "train_accuracy": float(np.mean(model.predict(state.params, X) == labels))}
    return learner, state.params, info


def fit_real(features, labels, *, n_classes: int | None = None, loss: str = "clip", lr: float = 2.0**-7,
             epochs: int = 60, order=None, batch_size: int = 1):
    """The same procedure over float64 with :func:`real_learner`; returns ``(learner, params, info)``."""
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    features = np.asarray(features, dtype=np.float64)
    learner = real_learner(features.shape[1], n_classes, loss=loss, lr=lr)
    T = np.eye(n_classes)[labels]
    order = class_interleaved_order(labels) if order is None else np.asarray(order)
    t0 = time.perf_counter()
    state = run_epochs(learner, learner.init(0, dtype="float64"), features, T, order, epochs, batch_size)
    seconds = time.perf_counter() - t0
    pred = np.argmax(learner.predict(state.params, features), axis=-1)
    return learner, state.params, {"steps": int(epochs) * -(-len(order) // batch_size), "seconds": seconds,
                                   "train_accuracy": float(np.mean(pred == labels))}


__all__ = [
    "LOSS_KINDS",
    "MERSENNE_61",
    "FixedPoint",
    "FixedPointLinear",
    "FixedPointOverflow",
    "class_interleaved_order",
    "displacement_loss",
    "fit_fixed_point",
    "fit_real",
    "fixed_point_learner",
    "fixed_point_rate",
    "linear_circuit",
    "real_displacement_loss",
    "real_learner",
    "run_epochs",
]
