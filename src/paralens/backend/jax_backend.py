"""The JAX backend: the same kernels as NumPy, on XLA, so that a whole training step compiles.

Lenses find this backend from the arrays they are handed (:func:`~paralens.backend.backend_of`
recognises JAX arrays and tracers), so a model, loss, learning rate and optimiser
built once run unchanged on NumPy arrays and on JAX arrays, also inside
``jax.jit``.  The reverse derivatives of the kernels are written here with XLA
convolutions and slices (paralens computes every reverse derivative itself; no
``jax.grad`` or ``jax.vjp`` is used by the library):

============================  ====================================================================
kernel                        reverse derivative
============================  ====================================================================
conv2d (cross-correlation)    dx: correlation of dy, dilated by the stride, with the flipped kernel
                              (a transposed convolution, ``lhs_dilation``); dw: correlation of x
                              with dy (dilated by the stride, batch as the contracted axis)
max pooling                   dy routed to each window's *first* argmax (as the NumPy backend)
average pooling               dy spread evenly over each window
============================  ====================================================================

Compiling a training step (:func:`~paralens.training.compile.compile_train_step`,
:func:`~paralens.training.compile.compile_epoch`,
:func:`~paralens.training.compile.data_parallel_train_step`) is the training layer's:
:mod:`paralens.training.compile`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from paralens.backend.base import Backend

_NHWC = ("NHWC", "HWIO", "NHWC")


def _out_size(n: int, k: int, stride: int, pad: int) -> int:
    return (n + 2 * pad - k) // stride + 1


def _scatter_strided(part, x_shape, i: int, j: int, stride: int):
    """``part`` (n, c, oh, ow) placed at rows ``i + stride * r`` and columns ``j + stride * q``
    of a zero array of ``x_shape`` (the adjoint of the strided slice ``x[:, :, i::stride, j::stride]``)."""
    h, w = x_shape[2], x_shape[3]
    oh, ow = part.shape[2], part.shape[3]
    zero = jnp.zeros((), part.dtype)
    cfg = [(0, 0, 0), (0, 0, 0),
           (i, h - i - stride * (oh - 1) - 1, stride - 1),
           (j, w - j - stride * (ow - 1) - 1, stride - 1)]
    return lax.pad(part, zero, cfg)


def _opaque_identity(u):
    """``u``, by a round trip through its bits that XLA does not simplify (see :meth:`JaxBackend.materialise`)."""
    if not jnp.issubdtype(u.dtype, jnp.floating) or u.dtype.itemsize not in (2, 4, 8):
        return u + jnp.zeros_like(u)
    ity = {2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint64}[u.dtype.itemsize]
    bits = lax.bitcast_convert_type(u, ity)
    mask = jnp.asarray(0x5A5A5A5A5A5A5A5A & ((1 << (8 * u.dtype.itemsize)) - 1), ity)
    return lax.bitcast_convert_type((bits ^ mask) ^ mask, u.dtype)


class JaxBackend(Backend):
    """JAX arrays; convolution by ``lax.conv_general_dilated``; random numbers from ``jax.random`` keys."""

    name = "jax"
    xp = jnp

    def asarray(self, x, dtype=None):
        return jnp.asarray(x, dtype=dtype)

    def materialise(self, x):
        """``x``, computed into its own buffer.

        XLA's CPU fusion recomputes a cheap producer (elementwise arithmetic, a gather) inside each of its
        consumers; through a chain of layers that each read two wires of the one before, the recomputation
        doubles per layer.  ``optimization_barrier`` does not stop it on CPU (it is expanded away before
        fusion), a conditional does: the taken branch is ``x`` itself; the other, taken only when
        ``x``'s first element is NaN, is ``x`` too (through a bit round trip the compiler does not fold).
        """
        if x.ndim == 0 or x.size == 0:
            return x
        first = x.reshape(-1)[0]
        return lax.cond(first == first, lambda u: u, _opaque_identity, x)

    def erf(self, x):
        return jax.scipy.special.erf(x)

    # -- random numbers -------------------------------------------------
    def key(self, seed: int):
        """A typed ``jax.random.key`` for ``seed`` (the same seed gives the same key)."""
        return jax.random.key(int(seed))

    def fold_in(self, key, data):
        """A new key from ``key`` and ``data`` (an int, or a traced integer inside ``jit``)."""
        return jax.random.fold_in(key, data)

    def bernoulli_mask(self, key, p_keep: float, shape, dtype):
        return jax.random.bernoulli(key, p_keep, tuple(shape)).astype(dtype)

    # -- convolution ----------------------------------------------------
    # The convolutions run channels-last (NHWC activations, HWIO kernels) between explicit
    # transposes: XLA's CPU backend picks its fast convolution only for that layout, and
    # inside a loop (lax.scan over an epoch) it does not re-layout NCHW convolutions by
    # itself (measured: 4x slower steps).  GPUs prefer channels-last as well.

    def conv2d(self, x, w, stride: int = 1, padding: int = 0):
        y = lax.conv_general_dilated(
            x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), (stride, stride),
            [(padding, padding), (padding, padding)], dimension_numbers=_NHWC,
        )
        return y.transpose(0, 3, 1, 2)

    def conv2d_backward(self, x, w, dy, stride: int = 1, padding: int = 0, need_dx: bool = True):
        """``(dx, dw)`` of :meth:`conv2d` at ``(x, w)`` for the output change ``dy`` (``dx`` None unless need_dx)."""
        kh, kw = w.shape[2], w.shape[3]
        h, wd = x.shape[2], x.shape[3]
        oh, ow = dy.shape[2], dy.shape[3]
        # rows/columns of the padded input that no window reaches (stride does not divide evenly)
        eh = h + 2 * padding - (stride * (oh - 1) + kh)
        ew = wd + 2 * padding - (stride * (ow - 1) + kw)
        # dw[f, c, i, j] = sum_{n, a, b} dy[n, f, a, b] x_pad[n, c, i + s a, j + s b]: a correlation
        # of x (channels as the batch, the batch as features) with dy dilated by the stride
        dw = lax.conv_general_dilated(
            x.transpose(1, 2, 3, 0), dy.transpose(2, 3, 0, 1), (1, 1),
            [(padding, padding - eh), (padding, padding - ew)], rhs_dilation=(stride, stride),
            dimension_numbers=_NHWC,
        ).transpose(3, 0, 1, 2)
        if not need_dx:
            return None, dw
        # dx = the full correlation of dy (dilated by the stride: lhs_dilation) with the flipped
        # kernel, its in/out channels swapped, cropped by the padding; unreached rows/columns get 0
        dx = lax.conv_general_dilated(
            dy.transpose(0, 2, 3, 1), lax.rev(w, (2, 3)).transpose(2, 3, 0, 1), (1, 1),
            [(kh - 1 - padding, kh - 1 - padding + eh), (kw - 1 - padding, kw - 1 - padding + ew)],
            lhs_dilation=(stride, stride), dimension_numbers=_NHWC,
        )
        return dx.transpose(0, 3, 1, 2), dw

    # -- pooling --------------------------------------------------------
    def pool2d(self, x, kind: str, size: int, stride: int):
        """Max or average pooling; returns ``(y, residual)`` for :meth:`pool2d_backward`.

        Max pooling's residual is the index ``i * size + j`` of each window's first
        argmax (row-major, as NumPy's ``argmax``), a small integer array: the windows'
        offsets are compared one after another with ``>``, so a later tie never wins.
        """
        n, c, h, w = x.shape
        oh, ow = _out_size(h, size, stride, 0), _out_size(w, size, stride, 0)
        if kind == "avg" and stride == size:
            # non-overlapping windows (a ragged edge is dropped, as in PyTorch)
            blocks = x[:, :, : oh * size, : ow * size].reshape(n, c, oh, size, ow, size)
            return blocks.mean(axis=(3, 5)), None
        itype = jnp.int8 if size * size <= 127 else jnp.int32
        y, arg = None, None
        for i in range(size):
            for j in range(size):
                cand = x[:, :, i : i + stride * (oh - 1) + 1 : stride, j : j + stride * (ow - 1) + 1 : stride]
                if y is None:
                    y = cand
                    if kind == "max":
                        arg = jnp.zeros(cand.shape, itype)
                elif kind == "avg":
                    y = y + cand
                else:
                    better = cand > y
                    y = jnp.where(better, cand, y)
                    arg = jnp.where(better, jnp.asarray(i * size + j, itype), arg)
        if kind == "avg":
            return y / (size * size), None
        return y, arg

    def pool2d_backward(self, x_shape, residual, dy, kind: str, size: int, stride: int):
        n, c, h, w = x_shape
        oh, ow = dy.shape[2], dy.shape[3]
        zero = jnp.zeros((), dy.dtype)
        if stride == size:
            # each input belongs to at most one window: build the (oh, size, ow, size) blocks and reshape
            if kind == "avg":
                blocks = jnp.broadcast_to((dy / (size * size))[:, :, :, None, :, None], (n, c, oh, size, ow, size))
            else:
                parts = [jnp.where(residual == k, dy, zero) for k in range(size * size)]
                blocks = jnp.stack(parts, axis=-1).reshape(n, c, oh, ow, size, size).transpose(0, 1, 2, 4, 3, 5)
            dx = blocks.reshape(n, c, oh * size, ow * size)
            if oh * size != h or ow * size != w:
                dx = jnp.pad(dx, ((0, 0), (0, 0), (0, h - oh * size), (0, w - ow * size)))
            return dx
        dx = jnp.zeros(tuple(x_shape), dy.dtype)
        for i in range(size):
            for j in range(size):
                if kind == "avg":
                    part = dy / (size * size)
                else:
                    part = jnp.where(residual == i * size + j, dy, zero)
                dx = dx + _scatter_strided(part, x_shape, i, j, stride)
        return dx


__all__ = ["JaxBackend"]
