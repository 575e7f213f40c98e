"""im2col and col2im on channels-last images: a convolution becomes one matrix product.

For an input ``x`` of shape (N, H, W, C) (channels last), a kernel of size (kh, kw),
strides (sh, sw) and zero padding (pt, pl) at the top and left, the column matrix is

    cols[(n, i, j), (di, dj, c)] = xpad[n, i*sh + di, j*sw + dj, c]

of shape (N*Ho*Wo, kh*kw*C), where ``xpad`` is ``x`` with the zero padding.  Then the
cross-correlation with a weight ``w`` of shape (O, C, kh, kw) is ``cols @ w.transpose(2, 3, 1, 0)
.reshape(-1, O)``, of shape (N*Ho*Wo, O): the output, channels last again.  ``col2im`` is the
adjoint of ``im2col``: it adds every column entry back to the pixel it was read from.

Channels last, the kw*C entries of a row of ``cols`` for one kernel row are a run of contiguous values
of ``x``, so im2col copies whole runs and col2im adds whole channel vectors.  With one channel a pixel's
vector is one number; the kernels then read through a gather table (for each tap and output pixel, the
input pixel it reads), one long pass per tap and image.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from .backend import numba_active


@njit(parallel=True, cache=True)
def _im2col_numba(x, kh, kw, sh, sw, pt, pl, cols):
    """cols (N, Ho, Wo, kh, kw, C) from x (N, H, W, C): one task per output row (n, i).

    The kw*C numbers cols[n, i, j, di, :, :] are one run of x's row xi = i sh + di - pt, from pixel
    j sw - pl on: copied as one loop, except where the run crosses the padding (2x faster than a loop per
    pixel's C channels at C = 8).
    """
    n_img, h, w, n_ch = x.shape
    ho, wo = cols.shape[1], cols.shape[2]
    run, row = kw * n_ch, w * n_ch
    x_rows = x.reshape(n_img, h, row)
    runs = cols.reshape(n_img, ho, wo, kh, run)
    for task in prange(n_img * ho):
        n, i = task // ho, task % ho
        for di in range(kh):
            xi = i * sh + di - pt
            if xi < 0 or xi >= h:
                for j in range(wo):
                    for t in range(run):
                        runs[n, i, j, di, t] = 0
                continue
            for j in range(wo):
                start = (j * sw - pl) * n_ch
                if start >= 0 and start + run <= row:
                    for t in range(run):
                        runs[n, i, j, di, t] = x_rows[n, xi, start + t]
                else:
                    for t in range(run):
                        k = start + t
                        runs[n, i, j, di, t] = x_rows[n, xi, k] if 0 <= k < row else 0


@njit(parallel=True, cache=True)
def _col2im_numba(cols, kh, kw, sh, sw, pt, pl, out):
    """out (N, H, W, C) = adjoint of im2col of cols (N, Ho, Wo, kh, kw, C): one task per image row (n, y).

    Row y is read by the taps di = (y + pt) mod sh, + sh, ... < kh, of output row i = (y + pt - di) / sh;
    along the row, column j and tap dj read pixel x = j sw + dj - pl.  The loops run over (dj, j), not x:
    no division per pixel (one per pixel made this kernel 2-4x slower), and each pixel still adds its
    taps in the order (di, dj).
    """
    n_img, h, w, n_ch = out.shape
    ho, wo = cols.shape[1], cols.shape[2]
    for task in prange(n_img * h):
        n, y = task // h, task % h
        out[n, y] = 0
        for di in range((y + pt) % sh, kh, sh):
            i = (y + pt - di) // sh
            if i >= ho:
                continue
            if i < 0:
                break
            for dj in range(kw):
                for j in range(wo):
                    x = j * sw + dj - pl
                    if 0 <= x < w:
                        for c in range(n_ch):
                            out[n, y, x, c] += cols[n, i, j, di, dj, c]


@lru_cache(maxsize=256)
def gather_table(h, w, kh, kw, sh, sw, pt, pl, ho, wo) -> np.ndarray:
    """Where each column entry of one single-channel image is read from: shape (kh*kw, ho*wo), uint64.

    table[di*kw + dj, i*wo + j] = xi*w + xj with (xi, xj) = (i*sh + di - pt, j*sw + dj - pl)
    when that pixel lies inside the image, and h*w (past the end: a zero of the padding) when it does not.
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
def _im2col_plane_numba(images, table, cols):
    """cols (N*Ho*Wo, kh*kw) from single-channel images (N, H*W): one task per image, one pass per tap."""
    n_img, hw = images.shape
    taps, howo = table.shape
    outside = np.uint64(hw)
    for n in prange(n_img):
        image = images[n]
        block = cols[n * howo:(n + 1) * howo]
        for t in range(taps):
            source = table[t]
            for p in range(howo):
                k = source[p]
                block[p, t] = image[k] if k < outside else 0


@njit(parallel=True, cache=True)
def _col2im_plane_numba(cols, table, images):
    """Adjoint of :func:`_im2col_plane_numba`: images (N, H*W) from cols (N*Ho*Wo, kh*kw)."""
    n_img, hw = images.shape
    taps, howo = table.shape
    outside = np.uint64(hw)
    for n in prange(n_img):
        image = images[n]
        image[:] = 0
        block = cols[n * howo:(n + 1) * howo]
        for t in range(taps):
            target = table[t]
            for p in range(howo):
                k = target[p]
                if k < outside:
                    image[k] += block[p, t]


def _padded_extent(n_out: int, stride: int, k: int, pad_before: int, size: int) -> int:
    """Length of the padded axis the windows read: at least pad_before + size."""
    return max((n_out - 1) * stride + k, pad_before + size)


def im2col_reference(x, kh, kw, sh, sw, pt, pl, ho, wo):
    """Plain-NumPy im2col: pad, take sliding windows, reorder. x (N, H, W, C) -> (N*ho*wo, kh*kw*C)."""
    n_img, h, w, n_ch = x.shape
    hp = _padded_extent(ho, sh, kh, pt, h)
    wp = _padded_extent(wo, sw, kw, pl, w)
    xpad = np.zeros((n_img, hp, wp, n_ch), dtype=x.dtype)
    xpad[:, pt:pt + h, pl:pl + w] = x
    windows = np.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(1, 2))
    windows = windows[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n_img * ho * wo, kh * kw * n_ch).copy()


def col2im_reference(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo):
    """Plain-NumPy col2im, the adjoint of :func:`im2col_reference`. Returns ``x_shape`` (N, H, W, C)."""
    n_img, h, w, n_ch = x_shape
    hp = _padded_extent(ho, sh, kh, pt, h)
    wp = _padded_extent(wo, sw, kw, pl, w)
    xpad = np.zeros((n_img, hp, wp, n_ch), dtype=cols.dtype)
    blocks = cols.reshape(n_img, ho, wo, kh, kw, n_ch)
    for di in range(kh):
        for dj in range(kw):
            rows = slice(di, di + (ho - 1) * sh + 1, sh)
            columns = slice(dj, dj + (wo - 1) * sw + 1, sw)
            xpad[:, rows, columns] += blocks[:, :, :, di, dj]
    return np.ascontiguousarray(xpad[:, pt:pt + h, pl:pl + w])


def im2col(x, kh, kw, sh, sw, pt, pl, ho, wo):
    """Column matrix of ``x`` (N, H, W, C) for a (kh, kw) kernel: shape (N*ho*wo, kh*kw*C), C-contiguous."""
    if not numba_active():
        return im2col_reference(x, kh, kw, sh, sw, pt, pl, ho, wo)
    n_img, h, w, n_ch = x.shape
    x = np.ascontiguousarray(x)
    if n_ch == 1:
        cols = np.empty((n_img * ho * wo, kh * kw), dtype=x.dtype)
        _im2col_plane_numba(x.reshape(n_img, h * w), gather_table(h, w, kh, kw, sh, sw, pt, pl, ho, wo), cols)
        return cols
    cols = np.empty((n_img, ho, wo, kh, kw, n_ch), dtype=x.dtype)
    _im2col_numba(x, kh, kw, sh, sw, pt, pl, cols)
    return cols.reshape(n_img * ho * wo, kh * kw * n_ch)


def col2im(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo):
    """Adjoint of :func:`im2col`: sum the columns (N*ho*wo, kh*kw*C) back into an array of ``x_shape`` (N, H, W, C)."""
    if not numba_active():
        return col2im_reference(cols, x_shape, kh, kw, sh, sw, pt, pl, ho, wo)
    n_img, h, w, n_ch = x_shape
    out = np.empty(x_shape, dtype=cols.dtype)
    if n_ch == 1:
        table = gather_table(h, w, kh, kw, sh, sw, pt, pl, ho, wo)
        _col2im_plane_numba(np.ascontiguousarray(cols), table, out.reshape(n_img, h * w))
        return out
    blocks = np.ascontiguousarray(cols).reshape(n_img, ho, wo, kh, kw, n_ch)
    _col2im_numba(blocks, kh, kw, sh, sw, pt, pl, out)
    return out
