"""Sub-sampling, zero insertion, nearest-neighbour and bilinear up-sampling, with their adjoints.

With factor f and arrays in NCHW:

    subsample(x)[n, c, i, j]            = x[n, c, f*i, f*j]
    zero_insert(y, H, W)[n, c, f*i, f*j] = y[n, c, i, j]   (0 elsewhere)
    nearest(x)[n, c, i, j]              = x[n, c, i // f, j // f]
    block_sum(g)[n, c, i, j]            = sum of g over the f x f block (i, j)

    bilinear(x)[n, c, i, j]             = sum_{a, b} A_h[i, a] A_w[j, b] x[n, c, a, b]

``zero_insert`` is the adjoint of ``subsample``, ``block_sum`` the adjoint of
``nearest`` and ``bilinear_adjoint`` (g -> A_h^T g A_w) that of ``bilinear``:
<S x, y> = <x, S^T y>.  Each row of a bilinear matrix A has two taps
(:func:`bilinear_taps`), so the kernels read 4 pixels per output pixel where
the reference multiplies by the dense matrices.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .backend import numba_active


@njit(parallel=True, cache=True)
def _subsample_numba(x, fh, fw, out):
    n_img, n_ch, ho, wo = out.shape
    for n in prange(n_img):
        for c in range(n_ch):
            for i in range(ho):
                for j in range(wo):
                    out[n, c, i, j] = x[n, c, i * fh, j * fw]


@njit(parallel=True, cache=True)
def _zero_insert_numba(y, fh, fw, out):
    n_img, n_ch, hi, wi = y.shape
    for n in prange(n_img):
        out[n] = 0
        for c in range(n_ch):
            for i in range(hi):
                for j in range(wi):
                    out[n, c, i * fh, j * fw] = y[n, c, i, j]


@njit(parallel=True, cache=True)
def _nearest_numba(x, fh, fw, out):
    n_img, n_ch, ho, wo = out.shape
    for n in prange(n_img):
        for c in range(n_ch):
            for i in range(ho):
                for j in range(wo):
                    out[n, c, i, j] = x[n, c, i // fh, j // fw]


@njit(parallel=True, cache=True)
def _block_sum_numba(g, fh, fw, out):
    n_img, n_ch, ho, wo = g.shape
    for n in prange(n_img):
        out[n] = 0
        for c in range(n_ch):
            for i in range(ho):
                for j in range(wo):
                    out[n, c, i // fh, j // fw] += g[n, c, i, j]


def subsample_reference(x, fh, fw):
    return np.ascontiguousarray(x[:, :, ::fh, ::fw])


def zero_insert_reference(y, fh, fw, h, w):
    out = np.zeros(y.shape[:2] + (h, w), dtype=y.dtype)
    out[:, :, ::fh, ::fw] = y
    return out


def nearest_reference(x, fh, fw):
    return x.repeat(fh, axis=2).repeat(fw, axis=3)


def block_sum_reference(g, fh, fw):
    n_img, n_ch, h, w = g.shape
    return g.reshape(n_img, n_ch, h // fh, fh, w // fw, fw).sum(axis=(3, 5))


def subsample(x, fh, fw):
    """Keep every f-th pixel: (N, C, H, W) -> (N, C, ceil(H/fh), ceil(W/fw))."""
    if not numba_active():
        return subsample_reference(x, fh, fw)
    n_img, n_ch, h, w = x.shape
    out = np.empty((n_img, n_ch, -(-h // fh), -(-w // fw)), dtype=x.dtype)
    _subsample_numba(x, fh, fw, out)
    return out


def zero_insert(y, fh, fw, h, w):
    """Adjoint of :func:`subsample`: put y at every f-th pixel of a zero (N, C, h, w) array."""
    if -(-h // fh) != y.shape[2] or -(-w // fw) != y.shape[3]:
        raise ValueError(f"zero_insert: {y.shape[2]}x{y.shape[3]} is not the subsampling of {h}x{w} by {fh}x{fw}")
    if not numba_active():
        return zero_insert_reference(y, fh, fw, h, w)
    out = np.empty(y.shape[:2] + (h, w), dtype=y.dtype)
    _zero_insert_numba(y, fh, fw, out)
    return out


def nearest(x, fh, fw):
    """Repeat each pixel into an fh x fw block: (N, C, H, W) -> (N, C, fh*H, fw*W)."""
    if not numba_active():
        return nearest_reference(x, fh, fw)
    n_img, n_ch, h, w = x.shape
    out = np.empty((n_img, n_ch, h * fh, w * fw), dtype=x.dtype)
    _nearest_numba(x, fh, fw, out)
    return out


def block_sum(g, fh, fw):
    """Adjoint of :func:`nearest`: sum each fh x fw block, (N, C, H, W) -> (N, C, H/fh, W/fw)."""
    if g.shape[2] % fh or g.shape[3] % fw:
        raise ValueError(f"block_sum: {g.shape[2]}x{g.shape[3]} is not divisible into {fh}x{fw} blocks")
    if not numba_active():
        return block_sum_reference(g, fh, fw)
    n_img, n_ch, h, w = g.shape
    out = np.empty((n_img, n_ch, h // fh, w // fw), dtype=g.dtype)
    _block_sum_numba(g, fh, fw, out)
    return out


def bilinear_taps(n_in: int, factor: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """The two taps of bilinear up-sampling along one axis: source indices (factor*n_in, 2), int64, and weights.

    Same convention as ``torch.nn.functional.interpolate(mode="bilinear",
    align_corners=False)``: output pixel i samples the input at
    s = (i + 0.5) / factor - 0.5, clamped to [0, n_in - 1], from
    floor(s) with weight 1 - (s - floor(s)) and from floor(s) + 1 (clamped) with
    weight s - floor(s).
    """
    n_out = factor * n_in
    source = np.clip((np.arange(n_out) + 0.5) / factor - 0.5, 0.0, n_in - 1)
    left = np.floor(source).astype(np.int64)
    right = np.minimum(left + 1, n_in - 1)
    weight_right = source - left
    return np.stack([left, right], axis=1), np.stack([1.0 - weight_right, weight_right], axis=1).astype(dtype)


def bilinear_matrix(n_in: int, factor: int, dtype) -> np.ndarray:
    """Interpolation matrix A (factor*n_in, n_in) of :func:`bilinear_taps`.  In 2-D,
    ``y = A_h x A_w^T`` and the adjoint is ``g -> A_h^T g A_w``."""
    index, weight = bilinear_taps(n_in, factor, np.float64)
    matrix = np.zeros((factor * n_in, n_in))
    rows = np.arange(factor * n_in)
    for tap in range(2):
        np.add.at(matrix, (rows, index[:, tap]), weight[:, tap])
    return matrix.astype(dtype)


@njit(parallel=True, cache=True)
def _bilinear_numba(x, rows, row_weights, columns, column_weights, out):
    n_img, n_ch, ho, wo = out.shape
    for task in prange(n_img * n_ch):
        source, target = x[task // n_ch, task % n_ch], out[task // n_ch, task % n_ch]
        for i in range(ho):
            r0, r1, a0, a1 = rows[i, 0], rows[i, 1], row_weights[i, 0], row_weights[i, 1]
            for j in range(wo):
                c0, c1 = columns[j, 0], columns[j, 1]
                target[i, j] = (column_weights[j, 0] * (a0 * source[r0, c0] + a1 * source[r1, c0])
                                + column_weights[j, 1] * (a0 * source[r0, c1] + a1 * source[r1, c1]))


@njit(parallel=True, cache=True)
def _bilinear_adjoint_numba(g, rows, row_weights, columns, column_weights, out):
    n_img, n_ch, ho, wo = g.shape
    for task in prange(n_img * n_ch):
        source, target = g[task // n_ch, task % n_ch], out[task // n_ch, task % n_ch]
        target[:] = 0
        for i in range(ho):
            r0, r1, a0, a1 = rows[i, 0], rows[i, 1], row_weights[i, 0], row_weights[i, 1]
            for j in range(wo):
                c0, c1 = columns[j, 0], columns[j, 1]
                b0, b1 = column_weights[j, 0] * source[i, j], column_weights[j, 1] * source[i, j]
                target[r0, c0] += a0 * b0
                target[r1, c0] += a1 * b0
                target[r0, c1] += a0 * b1
                target[r1, c1] += a1 * b1


def bilinear_reference(x, fh, fw):
    a_h, a_w = bilinear_matrix(x.shape[2], fh, x.dtype), bilinear_matrix(x.shape[3], fw, x.dtype)
    return np.ascontiguousarray(a_h @ x @ a_w.T)


def bilinear_adjoint_reference(g, fh, fw):
    a_h, a_w = bilinear_matrix(g.shape[2] // fh, fh, g.dtype), bilinear_matrix(g.shape[3] // fw, fw, g.dtype)
    return np.ascontiguousarray(a_h.T @ g @ a_w)


def bilinear(x, fh, fw):
    """Bilinear up-sampling (PyTorch's, align_corners=False): (N, C, H, W) -> (N, C, fh*H, fw*W)."""
    if not numba_active():
        return bilinear_reference(x, fh, fw)
    n_img, n_ch, h, w = x.shape
    out = np.empty((n_img, n_ch, h * fh, w * fw), dtype=x.dtype)
    _bilinear_numba(x, *bilinear_taps(h, fh, x.dtype), *bilinear_taps(w, fw, x.dtype), out)
    return out


def bilinear_adjoint(g, fh, fw):
    """Adjoint of :func:`bilinear`: (N, C, fh*H, fw*W) -> (N, C, H, W)."""
    if g.shape[2] % fh or g.shape[3] % fw:
        raise ValueError(f"bilinear_adjoint: {g.shape[2]}x{g.shape[3]} is not an up-sampling by {fh}x{fw}")
    if not numba_active():
        return bilinear_adjoint_reference(g, fh, fw)
    n_img, n_ch, ho, wo = g.shape
    h, w = ho // fh, wo // fw
    out = np.empty((n_img, n_ch, h, w), dtype=g.dtype)
    _bilinear_adjoint_numba(g, *bilinear_taps(h, fh, g.dtype), *bilinear_taps(w, fw, g.dtype), out)
    return out
