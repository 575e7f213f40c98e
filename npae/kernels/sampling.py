"""Sub-sampling, zero insertion and nearest-neighbour up-sampling, with their adjoints.

With factor f and arrays in NCHW:

    subsample(x)[n, c, i, j]            = x[n, c, f*i, f*j]
    zero_insert(y, H, W)[n, c, f*i, f*j] = y[n, c, i, j]   (0 elsewhere)
    nearest(x)[n, c, i, j]              = x[n, c, i // f, j // f]
    block_sum(g)[n, c, i, j]            = sum of g over the f x f block (i, j)

``zero_insert`` is the adjoint of ``subsample`` and ``block_sum`` the adjoint of
``nearest``: <S x, y> = <x, S^T y>.
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


def bilinear_matrix(n_in: int, factor: int, dtype) -> np.ndarray:
    """Interpolation matrix A (factor*n_in, n_in) of bilinear up-sampling along one axis.

    Same convention as ``torch.nn.functional.interpolate(mode="bilinear",
    align_corners=False)``: output pixel i samples the input at
    s = (i + 0.5) / factor - 0.5, clamped to [0, n_in - 1].  In 2-D,
    ``y = A_h x A_w^T`` and the adjoint is ``g -> A_h^T g A_w``.
    """
    n_out = factor * n_in
    source = np.clip((np.arange(n_out) + 0.5) / factor - 0.5, 0.0, n_in - 1)
    left = np.floor(source).astype(np.int64)
    right = np.minimum(left + 1, n_in - 1)
    weight_right = source - left
    matrix = np.zeros((n_out, n_in))
    np.add.at(matrix, (np.arange(n_out), left), 1.0 - weight_right)
    np.add.at(matrix, (np.arange(n_out), right), weight_right)
    return matrix.astype(dtype)
