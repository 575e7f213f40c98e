"""A stride-1 convolution with one output channel, computed directly, without a column matrix.

With x (N, H, W, C) channels last, the kernel w (kh, kw, C) (the weight (1, C, kh, kw) reordered) and
zero padding (pt, pl) at the top and left:

    forward:  y[n, i, j]     = sum_{a, b, c} w[a, b, c] x[n, i + a - pt, j + b - pl, c]
    input:    dx[n, u, v, c] = sum_{a, b} dy[n, u - a + pt, v - b + pl] w[a, b, c]
    weight:   dw[a, b, c]    = sum_{n, i, j} dy[n, i, j] x[n, i + a - pt, j + b - pl, c]

(terms whose index falls outside x or dy are zero).  Through im2col, the column matrix of such a layer
is kh*kw times its input, and the product with one output channel is a matrix-vector product: both are
memory traffic.  Here every loop over c runs over contiguous, independent lanes (SIMD), and the sums over
taps and pixels go into per-channel float64 accumulators.  The weight gradient is summed over two fixed
halves of the image rows, then added: the same bits on any number of threads.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .backend import numba_active
from .conv import col2im_reference, im2col_reference


@njit(parallel=True, cache=True)
def _forward_numba(x, w, pt, pl, y):
    n_img, h, wd, ch = x.shape
    kh, kw = w.shape[0], w.shape[1]
    ho, wo = y.shape[1], y.shape[2]
    for task in prange(n_img * ho):
        n, i = task // ho, task % ho
        acc = np.empty(ch, np.float64)
        for j in range(wo):
            acc[:] = 0
            for a in range(max(0, pt - i), min(kh, h + pt - i)):
                for b in range(max(0, pl - j), min(kw, wd + pl - j)):
                    for c in range(ch):
                        acc[c] += w[a, b, c] * x[n, i + a - pt, j + b - pl, c]
            y[n, i, j] = acc.sum()


@njit(parallel=True, cache=True)
def _input_grad_numba(dy, w, pt, pl, dx):
    n_img, h, wd, ch = dx.shape
    kh, kw = w.shape[0], w.shape[1]
    ho, wo = dy.shape[1], dy.shape[2]
    for task in prange(n_img * h):
        n, u = task // h, task % h
        for v in range(wd):
            dx[n, u, v] = 0
            for a in range(max(0, u + pt - ho + 1), min(kh, u + pt + 1)):
                for b in range(max(0, v + pl - wo + 1), min(kw, v + pl + 1)):
                    g = dy[n, u - a + pt, v - b + pl]
                    for c in range(ch):
                        dx[n, u, v, c] += g * w[a, b, c]


@njit(parallel=True, cache=True)
def _weight_grad_numba(dy, x, pt, pl, partial):
    """partial[k] (kh, kw, C) = the weight gradient over half k of the rows (n, i) of dy."""
    n_img, h, wd, ch = x.shape
    kh, kw = partial.shape[1], partial.shape[2]
    ho, wo = dy.shape[1], dy.shape[2]
    rows = n_img * ho
    for half in prange(2):
        acc = partial[half]
        acc[:] = 0
        for task in range(rows * half // 2, rows * (half + 1) // 2):
            n, i = task // ho, task % ho
            for a in range(max(0, pt - i), min(kh, h + pt - i)):
                for j in range(wo):
                    g = dy[n, i, j]
                    for b in range(max(0, pl - j), min(kw, wd + pl - j)):
                        for c in range(ch):
                            acc[a, b, c] += g * x[n, i + a - pt, j + b - pl, c]


def forward_reference(x, w, pt, pl, ho, wo):
    kh, kw, _ = w.shape
    cols = im2col_reference(x, kh, kw, 1, 1, pt, pl, ho, wo)
    return (cols @ w.reshape(-1)).reshape(x.shape[0], ho, wo)


def input_grad_reference(dy, w, pt, pl, x_shape):
    kh, kw, _ = w.shape
    _, ho, wo = dy.shape
    cols = dy.reshape(-1, 1) * w.reshape(1, -1)
    return col2im_reference(cols, x_shape, kh, kw, 1, 1, pt, pl, ho, wo)


def weight_grad_reference(dy, x, pt, pl, kh, kw):
    _, ho, wo = dy.shape
    cols = im2col_reference(x, kh, kw, 1, 1, pt, pl, ho, wo)
    return (dy.reshape(1, -1) @ cols).reshape(kh, kw, x.shape[3])


def single_output_conv(x, w, pt, pl, ho, wo):
    """y (N, ho, wo) from x (N, H, W, C) and w (kh, kw, C), stride 1."""
    if not numba_active():
        return forward_reference(x, w, pt, pl, ho, wo)
    y = np.empty((x.shape[0], ho, wo), dtype=x.dtype)
    _forward_numba(np.ascontiguousarray(x), np.ascontiguousarray(w), pt, pl, y)
    return y


def single_output_conv_input_grad(dy, w, pt, pl, x_shape):
    """dL/dx (``x_shape`` (N, H, W, C)) from dy (N, Ho, Wo) and w (kh, kw, C)."""
    if not numba_active():
        return input_grad_reference(dy, w, pt, pl, x_shape)
    dx = np.empty(x_shape, dtype=dy.dtype)
    _input_grad_numba(np.ascontiguousarray(dy), np.ascontiguousarray(w), pt, pl, dx)
    return dx


def single_output_conv_weight_grad(dy, x, pt, pl, kh, kw):
    """dL/dw (kh, kw, C) from dy (N, Ho, Wo) and x (N, H, W, C)."""
    if not numba_active():
        return weight_grad_reference(dy, x, pt, pl, kh, kw)
    partial = np.empty((2, kh, kw, x.shape[3]), np.float64)
    _weight_grad_numba(np.ascontiguousarray(dy), np.ascontiguousarray(x), pt, pl, partial)
    return (partial[0] + partial[1]).astype(x.dtype)
