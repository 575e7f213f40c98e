"""im2col and col2im: a convolution becomes one matrix product.

For an input ``x`` of shape (N, C, H, W), a kernel of size (kh, kw), strides
(sh, sw) and zero padding (pt, pl) at the top and left, the column matrix is

    cols[(c, di, dj), (n, i, j)] = xpad[n, c, i*sh + di, j*sw + dj]

of shape (C*kh*kw, N*Ho*Wo), where ``xpad`` is ``x`` with the zero padding.
Then the cross-correlation with ``w`` of shape (O, C, kh, kw) is
``w.reshape(O, -1) @ cols`` (one BLAS call for the whole batch), and ``col2im``
is the adjoint of ``im2col``: it adds every column entry back to the pixel it
was read from.  Padding is folded into the index arithmetic, so no padded copy
of the input is ever made.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .backend import numba_active


def _valid_range(n_out, stride, offset, size):
    """Output indices o in [lo, hi) whose input index o*stride + offset lies in [0, size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    last = size - 1 - offset
    hi = 0 if last < 0 else min(n_out, last // stride + 1)
    return lo, max(lo, hi)


_valid_range_jit = njit(cache=True)(_valid_range)


@njit(parallel=True, cache=True)
def _im2col_numba(x, kh, kw, sh, sw, pt, pl, ho, wo, cols):
    n_img, n_ch, h, w = x.shape
    howo = ho * wo
    for n in prange(n_img):
        for c in range(n_ch):
            for di in range(kh):
                i_lo, i_hi = _valid_range_jit(ho, sh, di - pt, h)
                for dj in range(kw):
                    j_lo, j_hi = _valid_range_jit(wo, sw, dj - pl, w)
                    row = (c * kh + di) * kw + dj
                    for i in range(ho):
                        base = n * howo + i * wo
                        if i < i_lo or i >= i_hi:
                            for j in range(wo):
                                cols[row, base + j] = 0
                            continue
                        xi = i * sh + di - pt
                        for j in range(j_lo):
                            cols[row, base + j] = 0
                        for j in range(j_lo, j_hi):
                            cols[row, base + j] = x[n, c, xi, j * sw + dj - pl]
                        for j in range(j_hi, wo):
                            cols[row, base + j] = 0


@njit(parallel=True, cache=True)
def _col2im_numba(cols, kh, kw, sh, sw, pt, pl, ho, wo, out):
    n_img, n_ch, h, w = out.shape
    howo = ho * wo
    for n in prange(n_img):
        out[n] = 0
        for c in range(n_ch):
            for di in range(kh):
                i_lo, i_hi = _valid_range_jit(ho, sh, di - pt, h)
                for dj in range(kw):
                    j_lo, j_hi = _valid_range_jit(wo, sw, dj - pl, w)
                    row = (c * kh + di) * kw + dj
                    for i in range(i_lo, i_hi):
                        base = n * howo + i * wo
                        xi = i * sh + di - pt
                        for j in range(j_lo, j_hi):
                            out[n, c, xi, j * sw + dj - pl] += cols[row, base + j]


def _padded_extent(n_out: int, stride: int, k: int, pad_before: int, size: int) -> int:
    """Length of the padded axis the windows read: at least pad_before + size."""
    return max((n_out - 1) * stride + k, pad_before + size)


def im2col_reference(x, kh, kw, sh, sw, pt, pl, ho, wo):
    """Plain-NumPy im2col: pad, take sliding windows, reorder. Returns (C*kh*kw, N*ho*wo)."""
    n_img, n_ch, h, w = x.shape
    hp = _padded_extent(ho, sh, kh, pt, h)
    wp = _padded_extent(wo, sw, kw, pl, w)
    xpad = np.zeros((n_img, n_ch, hp, wp), dtype=x.dtype)
    xpad[:, :, pt:pt + h, pl:pl + w] = x
    windows = np.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))
    windows = windows[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(n_ch * kh * kw, n_img * ho * wo).copy()


def col2im_reference(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo):
    """Plain-NumPy col2im, the adjoint of :func:`im2col_reference`. Returns ``x_shape``."""
    n_img, n_ch, h, w = x_shape
    hp = _padded_extent(ho, sh, kh, pt, h)
    wp = _padded_extent(wo, sw, kw, pl, w)
    xpad = np.zeros((n_img, n_ch, hp, wp), dtype=cols.dtype)
    blocks = cols.reshape(n_ch, kh, kw, n_img, ho, wo)
    for di in range(kh):
        for dj in range(kw):
            rows = slice(di, di + (ho - 1) * sh + 1, sh)
            columns = slice(dj, dj + (wo - 1) * sw + 1, sw)
            xpad[:, :, rows, columns] += blocks[:, di, dj].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(xpad[:, :, pt:pt + h, pl:pl + w])


def im2col(x, kh, kw, sh, sw, pt, pl, ho, wo, out=None):
    """Column matrix of ``x`` (N, C, H, W) for a (kh, kw) kernel: shape (C*kh*kw, N*ho*wo)."""
    if not numba_active():
        return im2col_reference(x, kh, kw, sh, sw, pt, pl, ho, wo)
    n_img, n_ch = x.shape[:2]
    if out is None:
        out = np.empty((n_ch * kh * kw, n_img * ho * wo), dtype=x.dtype)
    _im2col_numba(x, kh, kw, sh, sw, pt, pl, ho, wo, out)
    return out


def col2im(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo, out=None):
    """Adjoint of :func:`im2col`: sum the columns back into an array of ``x_shape``."""
    if not numba_active():
        return col2im_reference(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo)
    if out is None:
        out = np.empty(x_shape, dtype=cols.dtype)
    _col2im_numba(cols, kh, kw, sh, sw, pt, pl, ho, wo, out)
    return out
