"""Loss maps as parametric lenses whose parameter is the label (paper Def 3.3).

A loss on B is a parametric lens ``(B, B') -> (L, L')`` with parameter
``(B, B')``: the true label ``b_t`` enters on the parameter port (named
``"label"``) and the prediction ``b_p`` on the input.  Its get computes the
per-example loss (shape ``(batch,)``) and its put ``R[e](b_t, b_p, alpha)``
turns the change ``alpha`` on L (given by the learning-rate lens) into changes
of the label and of the prediction.

Reduction over the batch: the loss lens itself is per example; the training
step averages (``reduction="mean"``, PyTorch's default, the change handed to
each example is ``alpha / batch``) or sums (``"sum"``, the paper's batch-1
setting and the only choice over Z2).

=====================  ==============================================  ==========================================
loss                   get e(b_t, b_p)                                  put R[e](b_t, b_p, a) = (b_t', b_p')
=====================  ==============================================  ==========================================
mse (paper Ex 3.4)     c * sum_i (b_p - b_t)_i^2, c = 1/2               (2c a (b_t - b_p), 2c a (b_p - b_t))
softmax_cross_entropy  -sum_i (b_t)_i log softmax(b_p)_i                (-a log softmax(b_p), a (softmax(b_p) sum b_t - b_t))
binary_cross_entropy   sum_i softplus(z_i) - t_i z_i  (z = b_p logits)  (-a z, a (sigmoid(z) - t))
dot (paper Ex 3.7)     b_t . b_p                                        (a b_p, a b_t)
xor (paper Ex 3.5)     b_t + b_p in Z2 (per bit)                        (a, a)
=====================  ==============================================  ==========================================
"""

from __future__ import annotations

from paralens.backend import backend_of
from paralens.categories.functor import Map, R
from paralens.categories.para import ParaLens, ParamSpec
from paralens.categories.types import Z2, ArrayType, Product
from paralens.instances import initialisers


class Loss(ParaLens):
    """A loss map: a parametric lens with the label as parameter (``params == {"label": ...}``).

    ``reduction`` says how the training step combines examples: ``"mean"`` or ``"sum"``.
    """

    def __init__(self, fn, rev, name: str, n: int | None, field=None, reduction: str = "mean",
                 lens=None, value_shape=()):
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        shape = None if n is None else (n,)
        t = ArrayType(shape) if field is None else ArrayType(shape, field)
        m = Map(fn, rev, Product((Product((t,)), t)), ArrayType(value_shape) if field is None else ArrayType(
            value_shape, field), name, infer=lambda dom: ArrayType(value_shape, t.field), lens=lens)
        super().__init__(R(m), {"label": ParamSpec(shape or (), initialisers.zeros(), t.field)}, name)
        self.reduction = reduction

    def value(self, label, prediction):
        """The per-example loss ``e(b_t, b_p)``."""
        return self.get({"label": label}, prediction)


def _xp(x):
    return backend_of(x).xp


def mse(n: int | None = None, *, half: bool = True, mean_over_outputs: bool = False,
        reduction: str = "mean") -> Loss:
    """Squared error, the paper's quadratic loss (Ex 3.4) by default.

    get ``e(b_t, b_p) = c * sum_i (b_p - b_t)_i^2`` with ``c = 1/2`` (``half=True``, the paper's)
    or ``c = 1``; with ``mean_over_outputs`` the sum over outputs becomes a mean.
    put ``(b_t, b_p, a) -> (2c' a (b_t - b_p), 2c' a (b_p - b_t))``.

    PyTorch's ``nn.MSELoss()`` (mean over batch *and* outputs) is
    ``mse(half=False, mean_over_outputs=True)`` with the default batch mean.
    """

    def coef(bp):
        c = 0.5 if half else 1.0
        return c / bp.shape[-1] if mean_over_outputs else c

    def fn(a):
        (bt,), bp = a
        d = bp - bt
        return coef(bp) * _xp(d).sum(d * d, axis=-1)

    def rev(a, dl):
        (bt,), bp = a
        g = (2 * coef(bp)) * dl[:, None] * (bp - bt)
        return (-g,), g

    name = "mse" if half and not mean_over_outputs else f"mse(half={half}, mean_over_outputs={mean_over_outputs})"
    return Loss(fn, rev, name, n, reduction=reduction)


def _log_softmax(z):
    xp = _xp(z)
    z = z - xp.max(z, axis=-1, keepdims=True)
    return z - xp.log(xp.sum(xp.exp(z), axis=-1, keepdims=True))


def softmax_cross_entropy(n: int | None = None, *, reduction: str = "mean") -> Loss:
    """Softmax cross-entropy from logits (paper Ex 3.6, the textbook form).

    get ``e(b_t, b_p) = -sum_i (b_t)_i log softmax(b_p)_i``, computed with the
    log-sum-exp shift so that logits of 1e4 do not overflow; ``b_t`` is one-hot or a
    probability vector.  put ``(b_t, b_p, a) -> (-a log softmax(b_p), a (softmax(b_p) sum_i b_t,i - b_t))``;
    for a probability vector the prediction's change is the paper's ``a (softmax(b_p) - b_t)`` (Ex 4.2).
    Equals ``torch.nn.CrossEntropyLoss`` with probability targets.
    """

    def fwd(a):
        (bt,), bp = a
        ls = _log_softmax(bp)
        return -_xp(ls).sum(bt * ls, axis=-1), (bt, ls)

    def bwd(res, dl):
        bt, ls = res
        xp = _xp(ls)
        d = dl[:, None]
        return (-d * ls,), d * (xp.exp(ls) * xp.sum(bt, axis=-1, keepdims=True) - bt)

    return Loss(lambda a: fwd(a)[0], lambda a, dl: bwd(fwd(a)[1], dl), "softmax_cross_entropy", n,
                reduction=reduction, lens=(fwd, bwd))


def binary_cross_entropy(n: int | None = None, *, reduction: str = "mean") -> Loss:
    """Binary cross-entropy from logits, summed over outputs (stable for any logit).

    get ``e(t, z) = sum_i max(z_i, 0) - t_i z_i + log(1 + exp(-|z_i|))``;
    put ``(t, z, a) -> (-a z, a (sigmoid(z) - t))``.  With ``n=1`` this is
    ``torch.nn.BCEWithLogitsLoss``.
    """

    def fn(a):
        (t,), z = a
        xp = _xp(z)
        return xp.sum(xp.maximum(z, 0) - t * z + xp.log1p(xp.exp(-xp.abs(z))), axis=-1)

    def rev(a, dl):
        (t,), z = a
        xp = _xp(z)
        e = xp.exp(-xp.abs(z))
        s = xp.where(z >= 0, 1 / (1 + e), e / (1 + e))
        d = dl[:, None]
        return (-d * z,), d * (s - t)

    return Loss(fn, rev, "binary_cross_entropy", n, reduction=reduction)


def dot(n: int | None = None, *, reduction: str = "sum") -> Loss:
    """Dot-product loss (paper Ex 3.7): get ``b_t . b_p``; put ``(b_t, b_p, a) -> (a b_p, a b_t)``.

    Used for deep dreaming (with a positive learning rate) and for WGANs.
    """

    def fn(a):
        (bt,), bp = a
        return _xp(bp).sum(bt * bp, axis=-1)

    def rev(a, dl):
        (bt,), bp = a
        d = dl[:, None]
        return (d * bp,), d * bt

    return Loss(fn, rev, "dot", n, reduction=reduction)


def xor(n: int | None = None) -> Loss:
    """The Boolean error of Poly over Z2 (paper Ex 3.5), ``L = Z2^n``.

    get ``e(b_t, b_p) = b_t + b_p`` (XOR, per bit: which bits are wrong);
    put ``(b_t, b_p, a) -> (a, a)``.  Always ``reduction="sum"``.
    """

    def fn(a):
        (bt,), bp = a
        return (bt + bp) % 2

    def rev(a, dl):
        return (dl,), dl

    return Loss(fn, rev, "xor", n, field=Z2, reduction="sum", value_shape=None if n is None else (n,))


LOSSES = {
    "mse": mse,
    "softmax_cross_entropy": softmax_cross_entropy,
    "cross_entropy": softmax_cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
    "dot": dot,
    "xor": xor,
}
