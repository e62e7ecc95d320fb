"""Layers of Smooth as parametric lenses (batch dimension first).

=============  ===========================  ===========================================
layer          get                          put (reverse derivative)
=============  ===========================  ===========================================
linear         (W, x) -> x W^T              (W, x, dy) -> (dy^T x, dy W)
bias           (b, x) -> x + b              (b, x, dy) -> (sum_batch dy, dy)
conv2d         (K, b, x) -> x * K + b       (dK, db, dx) by correlation with dy
max_pool2d     x -> max over windows        dy routed to each window's (first) argmax
avg_pool2d     x -> mean over windows       dy spread evenly over each window
flatten        x -> x.reshape(batch, -1)    dy reshaped back
dropout(p)     x -> x m / (1 - p) training  dy m / (1 - p); identity at evaluation
=============  ===========================  ===========================================

Weights use PyTorch's layouts: linear ``(out, in)``, conv2d ``(out_ch, in_ch, kh, kw)``;
images are ``(batch, channels, height, width)``.
"""

from __future__ import annotations

from paralens.backend import backend_of
from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.para import ParaLens, ParamSpec, chain
from paralens.categories.types import ArrayType, Product
from paralens.errors import CompositionError
from paralens.instances import initialisers
from paralens.instances.smooth.activations import activation as _activation


def _para(fn, rev, ptypes, xtype, ytype, name, params, *, infer=None, lens=None, rev_params=None) -> ParaLens:
    m = Map(fn, rev, Product((Product(tuple(ptypes)), xtype)), ytype, name, infer=infer, lens=lens)
    return ParaLens(R(m), params, name, backward_params=rev_params)


def linear_map(n_in: int, n_out: int) -> Map:
    """The map ``(W, x) -> x W^T`` of C (used by :func:`linear`)."""
    return linear(n_in, n_out).lens.map


def linear(n_in: int, n_out: int, init="glorot_uniform", name: str | None = None):
    """Linear layer ``R^in -> R^out`` with parameter ``weight: (out, in)``.

    get ``(W, x) -> x W^T``; put ``(W, x, dy) -> (dy^T x, dy W)``.
    """

    def fn(a):
        (w,), x = a
        return x @ w.T

    def rev(a, dy):
        (w,), x = a
        return (dy.T @ x,), dy @ w

    p = _para(fn, rev, [ArrayType((n_out, n_in))], ArrayType((n_in,)), ArrayType((n_out,)),
              f"linear({n_in}->{n_out})", {"weight": ParamSpec((n_out, n_in), initialisers.get(init))},
              rev_params=lambda a, dy: (dy.T @ a[1],))
    return p.named(name) if name else p


def bias_map(n: int) -> Map:
    return bias(n).lens.map


def bias(shape, init="zeros", name: str | None = None):
    """Bias layer ``x -> x + b`` with parameter ``bias`` of the input's shape.

    get ``(b, x) -> x + b``; put ``(b, x, dy) -> (sum over the batch of dy, dy)``.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)

    def fn(a):
        (b,), x = a
        return x + b

    def rev(a, dy):
        return (dy.sum(axis=0),), dy

    p = _para(fn, rev, [ArrayType(shape)], ArrayType(shape), ArrayType(shape),
              f"bias({', '.join(map(str, shape))})", {"bias": ParamSpec(shape, initialisers.get(init))},
              lens=(lambda a: (fn(a), None), lambda _, dy: rev(None, dy)),
              rev_params=lambda _, dy: (dy.sum(axis=0),))
    return p.named(name) if name else p


def dense(n_in: int, n_out: int, activation="relu", init="glorot_uniform", bias_init="zeros",
          name: str | None = None):
    """``linear >> bias >> activation`` (paper §5.1, eq. 12), parameters ``weight`` and ``bias``."""
    act = _activation(activation)
    p = chain(linear(n_in, n_out, init), bias(n_out, bias_init), act,
              label=f"dense({n_in}->{n_out}, {act.label()})")
    return p.named(name) if name else p


# -- convolution -------------------------------------------------------------------


def _conv_out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def conv2d_map(in_ch, out_ch, kernel, stride=1, padding=0, use_bias=True) -> Map:
    return conv2d(in_ch, out_ch, kernel, stride, padding, use_bias).lens.map


def conv2d(in_ch: int, out_ch: int, kernel, stride: int = 1, padding: int = 0, use_bias: bool = True,
           init="glorot_uniform", bias_init="zeros", name: str | None = None):
    """2-D convolution (cross-correlation, as in PyTorch), ``(C, H, W) -> (F, OH, OW)``.

    Parameters ``weight: (F, C, kh, kw)`` and, with ``use_bias``, ``bias: (F,)``.
    get ``(K, b, x) -> y[n,f] = sum_c x[n,c] * K[f,c] + b[f]``;
    put: ``dK = sum_n dy[n,f] * x[n,c]``, ``db = sum dy``, ``dx`` the full correlation with the flipped kernel.
    """
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
    label = f"conv2d({in_ch}->{out_ch}, {kh}x{kw}" + (f", stride {stride}" if stride != 1 else "") + (
        f", pad {padding}" if padding else "") + ("" if use_bias else ", no bias") + ")"

    def infer(dom):
        x = dom.factors[1]
        if x.shape is None:
            return ArrayType(None)
        if len(x.shape) != 3 or x.shape[0] != in_ch:
            raise CompositionError(f"{label} needs input (channels={in_ch}, height, width), got {x.shape}")
        oh, ow = _conv_out(x.shape[1], kh, stride, padding), _conv_out(x.shape[2], kw, stride, padding)
        if oh < 1 or ow < 1:
            raise CompositionError(f"{label}: input {x.shape} is smaller than the kernel")
        return ArrayType((out_ch, oh, ow))

    def fwd(a):
        ps, x = a
        y, res = backend_of(x).conv2d_forward(x, ps[0], stride, padding)
        if use_bias:
            y = y + ps[1][None, :, None, None]
        return y, res

    def bwd(res, dy):
        dx, dw = backend_of(dy).conv2d_backward_residual(res, dy, stride, padding)
        return ((dw, dy.sum(axis=(0, 2, 3))) if use_bias else (dw,)), dx

    def rev_params(res, dy):
        dw = backend_of(dy).conv2d_backward_residual(res, dy, stride, padding, need_dx=False)[1]
        return (dw, dy.sum(axis=(0, 2, 3))) if use_bias else (dw,)

    params = {"weight": ParamSpec((out_ch, in_ch, kh, kw), initialisers.get(init))}
    ptypes = [ArrayType((out_ch, in_ch, kh, kw))]
    if use_bias:
        params["bias"] = ParamSpec((out_ch,), initialisers.get(bias_init))
        ptypes.append(ArrayType((out_ch,)))
    p = _para(lambda a: fwd(a)[0], lambda a, dy: bwd(fwd(a)[1], dy), ptypes, ArrayType(None), ArrayType(None), label,
              params, infer=infer, lens=(fwd, bwd), rev_params=rev_params)
    return p.named(name) if name else p


# -- pooling, reshaping, dropout -----------------------------------------------------


def pool2d_map(kind: str, size: int, stride: int | None = None) -> Map:
    """Max or average pooling over ``size x size`` windows (stride defaults to size)."""
    stride = stride or size
    label = f"{kind}_pool2d({size}" + (f", stride {stride}" if stride != size else "") + ")"

    def infer(x):
        if x.shape is None:
            return ArrayType(None)
        if len(x.shape) != 3 or x.shape[1] < size or x.shape[2] < size:
            raise CompositionError(f"{label} needs input (channels, height>={size}, width>={size}), got {x.shape}")
        c, h, w = x.shape
        return ArrayType((c, (h - size) // stride + 1, (w - size) // stride + 1))

    def fwd(x):
        y, r = backend_of(x).pool2d(x, kind, size, stride)
        return y, (x.shape, r)

    def bwd(res, dy):
        shape, r = res
        return backend_of(dy).pool2d_backward(shape, r, dy, kind, size, stride)

    return Map(lambda x: fwd(x)[0], lambda x, dy: bwd(fwd(x)[1], dy), ArrayType(None), ArrayType(None), label,
               infer=infer, lens=(fwd, bwd), linear=(kind == "avg"))


def max_pool2d(size: int = 2, stride: int | None = None) -> Lens:
    return R(pool2d_map("max", size, stride))


def avg_pool2d(size: int = 2, stride: int | None = None) -> Lens:
    return R(pool2d_map("avg", size, stride))


def reshape_map(shape) -> Map:
    """``x -> x.reshape(batch, *shape)``; put reshapes back (linear)."""
    shape = tuple(shape)

    def infer(x):
        if x.shape is not None and x.size != ArrayType(shape).size:
            raise CompositionError(f"cannot reshape {x.shape} to {shape}")
        return ArrayType(shape)

    return Map(lambda x: x.reshape((x.shape[0],) + shape), lambda x, d: d.reshape(x.shape), ArrayType(None),
               ArrayType(shape), f"reshape{shape}", infer=infer, linear=True,
               lens=(lambda x: (x.reshape((x.shape[0],) + shape), x.shape), lambda s, d: d.reshape(s)))


def flatten_map() -> Map:
    """``x -> x.reshape(batch, -1)``; put reshapes back (linear)."""

    def infer(x):
        return ArrayType(None) if x.shape is None else ArrayType((x.size,))

    return Map(lambda x: x.reshape(x.shape[0], -1), lambda x, d: d.reshape(x.shape), ArrayType(None),
               ArrayType(None), "flatten", infer=infer, linear=True,
               lens=(lambda x: (x.reshape(x.shape[0], -1), x.shape), lambda s, d: d.reshape(s)))


def flatten() -> Lens:
    return R(flatten_map())


def reshape(*shape) -> Lens:
    if len(shape) == 1 and isinstance(shape[0], tuple):
        shape = shape[0]
    return R(reshape_map(shape))


def dropout(rate: float) -> Lens:
    """Inverted dropout: in training, ``x -> x m / (1 - rate)`` with ``m ~ Bernoulli(1 - rate)``.

    The mask is drawn from the context's key (seeded by the training loop), so
    runs are reproducible; at evaluation (no context, or ``training=False``) it is
    the identity.  put multiplies by the same mask.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    keep = 1.0 - rate

    def fwd(x, ctx):
        if ctx is None or not ctx.training or rate == 0.0:
            return x, None
        m = ctx.backend.bernoulli_mask(ctx.key, keep, x.shape, x.dtype) / keep
        return x * m, m

    def bwd(m, d):
        return d if m is None else d * m

    return R(Map(lambda x: x, lambda x, d: d, ArrayType(None), ArrayType(None), f"dropout({rate})",
                 infer=lambda dom: dom, lens=(fwd, bwd), uses_ctx=True))
