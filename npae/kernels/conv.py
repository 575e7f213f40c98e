"""im2col and col2im: a convolution becomes one matrix product.

For an input ``x`` of shape (N, C, H, W), a kernel of size (kh, kw), strides
(sh, sw) and zero padding (pt, pl) at the top and left, the column matrix is

    cols[(c, di, dj), (n, i, j)] = xpad[n, c, i*sh + di, j*sw + dj]

of shape (C*kh*kw, N*Ho*Wo), where ``xpad`` is ``x`` with the zero padding.
Then the cross-correlation with ``w`` of shape (O, C, kh, kw) is
``w.reshape(O, -1) @ cols`` (one matrix product for the whole batch), and ``col2im``
is the adjoint of ``im2col``: it adds every column entry back to the pixel it
was read from.  The Numba kernels read through a gather table (for each tap
and output pixel, the input pixel it reads, or "padding"), so the padding is
never materialised and the inner loop is one long, branch-light pass per tap.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from .backend import numba_active


@lru_cache(maxsize=256)
def gather_table(h, w, kh, kw, sh, sw, pt, pl, ho, wo) -> np.ndarray:
    """Where each column entry of one (image, channel) is read from: shape (kh*kw, ho*wo), uint64.

    table[di*kw + dj, i*wo + j] = xi*w + xj with (xi, xj) = (i*sh + di - pt, j*sw + dj - pl)
    when that pixel lies inside the image, and h*w (past the end: a zero of the
    padding) when it does not.  Computed once per geometry and shared.
    """
    rows = np.arange(ho)[:, None] * sh
    columns = np.arange(wo)[None, :] * sw
    table = np.empty((kh * kw, ho * wo), dtype=np.uint64)
    for di in range(kh):
        for dj in range(kw):
            xi, xj = rows + di - pt, columns + dj - pl
            inside = (xi >= 0) & (xi < h) & (xj >= 0) & (xj < w)
            table[di * kw + dj] = np.where(inside, xi * w + xj, h * w).ravel()
    table.flags.writeable = False
    return table


@njit(parallel=True, cache=True)
def _im2col_numba(x, table, cols):
    n_img, n_ch, h, w = x.shape
    taps, howo = table.shape
    outside = np.uint64(h * w)
    for task in prange(n_img * n_ch):
        n, c = task // n_ch, task % n_ch
        image = x[n, c].ravel()
        for t in range(taps):
            row = cols[c * taps + t, n * howo:(n + 1) * howo]
            source = table[t]
            for p in range(howo):
                k = source[p]
                row[p] = image[k] if k < outside else 0


@njit(parallel=True, cache=True)
def _col2im_numba(cols, table, out):
    n_img, n_ch, h, w = out.shape
    taps, howo = table.shape
    outside = np.uint64(h * w)
    for task in prange(n_img * n_ch):
        n, c = task // n_ch, task % n_ch
        image = out[n, c].ravel()
        image[:] = 0
        for t in range(taps):
            row = cols[c * taps + t, n * howo:(n + 1) * howo]
            target = table[t]
            for p in range(howo):
                k = target[p]
                if k < outside:
                    image[k] += row[p]


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


def im2col(x, kh, kw, sh, sw, pt, pl, ho, wo):
    """Column matrix of ``x`` (N, C, H, W) for a (kh, kw) kernel: shape (C*kh*kw, N*ho*wo)."""
    if not numba_active():
        return im2col_reference(x, kh, kw, sh, sw, pt, pl, ho, wo)
    n_img, n_ch, h, w = x.shape
    out = np.empty((n_ch * kh * kw, n_img * ho * wo), dtype=x.dtype)
    _im2col_numba(np.ascontiguousarray(x), gather_table(h, w, kh, kw, sh, sw, pt, pl, ho, wo), out)
    return out


def col2im(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo):
    """Adjoint of :func:`im2col`: sum the columns back into an array of ``x_shape``."""
    if not numba_active():
        return col2im_reference(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo)
    h, w = x_shape[2:]
    out = np.empty(x_shape, dtype=cols.dtype)
    _col2im_numba(cols, gather_table(h, w, kh, kw, sh, sw, pt, pl, ho, wo), out)
    return out
