"""The NumPy backend, the embedded default."""

from __future__ import annotations

import numpy as np

from paralens.backend.base import Backend


def _out_size(n: int, k: int, stride: int, pad: int) -> int:
    return (n + 2 * pad - k) // stride + 1


def _windows(n_out: int, stride: int, offset: int) -> slice:
    return slice(offset, offset + stride * (n_out - 1) + 1, stride)


class NumpyBackend(Backend):
    """NumPy arrays; convolution by im2col and one matrix product."""

    name = "numpy"
    xp = np

    def erf(self, x):
        from scipy.special import erf

        return erf(x)

    # -- random numbers -------------------------------------------------
    def key(self, seed: int):
        """A random key for ``seed``: here a tuple of non-negative ints (a NumPy SeedSequence entropy)."""
        return (int(seed),)

    def fold_in(self, key, data: int):
        return tuple(key) + (int(data),)

    def bernoulli_mask(self, key, p_keep: float, shape, dtype):
        rng = np.random.default_rng(np.random.SeedSequence(list(key)))
        return (rng.random(shape) < p_keep).astype(dtype)

    # -- convolution ----------------------------------------------------
    def _im2col(self, x, kh, kw, stride, padding):
        """Columns laid out ``(C, kh, kw, N, OH, OW)``: each copy reads rows of the image in order."""
        if padding:
            x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        n, c, h, w = x.shape
        oh = (h - kh) // stride + 1
        ow = (w - kw) // stride + 1
        xt = x.transpose(1, 0, 2, 3)
        cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                cols[:, i, j] = xt[:, :, _windows(oh, stride, i), _windows(ow, stride, j)]
        return cols, oh, ow

    def conv2d_forward(self, x, w, stride: int = 1, padding: int = 0):
        """``(y, residual)``: the residual keeps the im2col columns so backward need not rebuild them."""
        f, c, kh, kw = w.shape
        cols, oh, ow = self._im2col(x, kh, kw, stride, padding)
        y = (w.reshape(f, -1) @ cols.reshape(c * kh * kw, -1)).reshape(f, x.shape[0], oh, ow)
        return y.transpose(1, 0, 2, 3), (x.shape, w, cols)

    def conv2d_backward_residual(self, residual, dy, stride: int = 1, padding: int = 0, need_dx: bool = True):
        (n, c, h, wd), w, cols = residual
        f, _, kh, kw = w.shape
        oh, ow = dy.shape[2], dy.shape[3]
        dy_f = dy.transpose(1, 0, 2, 3).reshape(f, -1)
        dw = (dy_f @ cols.reshape(c * kh * kw, -1).T).reshape(w.shape)
        if not need_dx:
            return None, dw
        dcols = (w.reshape(f, -1).T @ dy_f).reshape(c, kh, kw, n, oh, ow)
        dxt = np.zeros((c, n, h + 2 * padding, wd + 2 * padding), dtype=dy.dtype)
        for i in range(kh):
            for j in range(kw):
                dxt[:, :, _windows(oh, stride, i), _windows(ow, stride, j)] += dcols[:, i, j]
        if padding:
            dxt = dxt[:, :, padding:-padding, padding:-padding]
        return dxt.transpose(1, 0, 2, 3), dw

    def conv2d(self, x, w, stride: int = 1, padding: int = 0):
        return self.conv2d_forward(x, w, stride, padding)[0]

    def conv2d_backward(self, x, w, dy, stride: int = 1, padding: int = 0, need_dx: bool = True):
        _, residual = self.conv2d_forward(x, w, stride, padding)
        return self.conv2d_backward_residual(residual, dy, stride, padding, need_dx)

    # -- pooling --------------------------------------------------------
    def pool2d(self, x, kind: str, size: int, stride: int):
        """Max or average pooling; returns ``(y, residual)`` for :meth:`pool2d_backward`."""
        n, c, h, w = x.shape
        oh, ow = _out_size(h, size, stride, 0), _out_size(w, size, stride, 0)
        if kind == "avg":
            y = np.zeros((n, c, oh, ow), dtype=x.dtype)
            for i in range(size):
                for j in range(size):
                    y += x[:, :, _windows(oh, stride, i), _windows(ow, stride, j)]
            return y / (size * size), None
        if stride == size:
            # non-overlapping windows (a ragged edge is dropped, as in PyTorch): a reshape
            # is a view; the mask routes each window's change to its first maximum
            blocks = x[:, :, : oh * size, : ow * size].reshape(n, c, oh, size, ow, size)
            y = blocks[:, :, :, 0, :, 0].copy()
            for i in range(size):
                for j in range(size):
                    if i or j:
                        np.maximum(y, blocks[:, :, :, i, :, j], out=y)
            taken = np.zeros(y.shape, dtype=bool)
            masks = np.empty((n, c, oh, size, ow, size), dtype=bool)
            for i in range(size):
                for j in range(size):
                    m = (blocks[:, :, :, i, :, j] == y) & ~taken
                    masks[:, :, :, i, :, j] = m
                    taken |= m
            return y, masks
        y = None
        arg = np.zeros((n, c, oh, ow), dtype=np.int64)
        for i in range(size):
            for j in range(size):
                cand = x[:, :, _windows(oh, stride, i), _windows(ow, stride, j)]
                if y is None:
                    y = cand.copy()
                else:
                    better = cand > y
                    y = np.where(better, cand, y)
                    arg = np.where(better, i * size + j, arg)
        return y, arg

    def pool2d_backward(self, x_shape, residual, dy, kind: str, size: int, stride: int):
        n, c, h, w = x_shape
        oh, ow = dy.shape[2], dy.shape[3]
        if kind == "max" and stride == size:
            blocks = (residual * dy[:, :, :, None, :, None]).reshape(n, c, oh * size, ow * size)
            if oh * size == h and ow * size == w:
                return blocks
            dx = np.zeros(x_shape, dtype=dy.dtype)
            dx[:, :, : oh * size, : ow * size] = blocks
            return dx
        dx = np.zeros(x_shape, dtype=dy.dtype)
        for i in range(size):
            for j in range(size):
                if kind == "avg":
                    part = dy / (size * size)
                else:
                    part = dy * (residual == i * size + j)
                dx[:, :, _windows(oh, stride, i), _windows(ow, stride, j)] += part
        return dx
