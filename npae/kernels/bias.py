"""A per-channel bias on channels-last images, seen as a (pixels, channels) matrix, alone or followed by LeakyReLU.

    add:   y[p, c] = x[p, c] + b[c]          sums:  s[c] = sum_p g[p, c]
    add then LeakyReLU, in one pass:         t = x + b,  y = phi_a(t),  mask = t > 0

The sums run down each column in float64 whatever the dtype, one column per SIMD lane.  With fewer
than 16 channels every kernel takes ``lanes`` rows at a time, as a (P/lanes, lanes*C) matrix, so that
a row holds about 16 numbers instead of C (:func:`lanes_per_row`).  The fused kernel computes exactly
what :func:`add_bias` then :func:`~npae.kernels.leaky_relu` compute (:mod:`npae.nn.fused`).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .backend import numba_active
from .pointwise import leaky_relu_reference

ROWS_PER_TASK = 256


@njit(parallel=True, cache=True)
def _add_bias_numba(x, bias, out):
    rows, channels = x.shape
    for block in prange((rows + ROWS_PER_TASK - 1) // ROWS_PER_TASK):
        for p in range(block * ROWS_PER_TASK, min(rows, (block + 1) * ROWS_PER_TASK)):
            for c in range(channels):
                out[p, c] = x[p, c] + bias[c]


@njit(parallel=True, cache=True)
def _add_bias_leaky_relu_numba(x, bias, alpha, out, mask):
    """out = phi_alpha(x + bias), mask = x + bias > 0, row by row."""
    rows, channels = x.shape
    for block in prange((rows + ROWS_PER_TASK - 1) // ROWS_PER_TASK):
        for p in range(block * ROWS_PER_TASK, min(rows, (block + 1) * ROWS_PER_TASK)):
            for c in range(channels):
                t = x[p, c] + bias[c]
                positive = t > 0
                mask[p, c] = positive
                out[p, c] = t if positive else alpha * t


@njit(cache=True)
def _column_sums_numba(g, total):
    """total[c] = sum_p g[p, c] in float64, adding four rows to the total at a time (3x faster than one)."""
    rows, channels = g.shape
    total[:] = 0
    whole = rows - rows % 4
    for p in range(0, whole, 4):
        for c in range(channels):
            total[c] += (np.float64(g[p, c]) + np.float64(g[p + 1, c])) + (np.float64(g[p + 2, c]) + np.float64(g[p + 3, c]))
    for p in range(whole, rows):
        for c in range(channels):
            total[c] += g[p, c]


def add_bias_reference(x, bias):
    return x + bias


def column_sums_reference(g):
    return g.sum(axis=0, dtype=np.float64).astype(g.dtype)


def lanes_per_row(rows: int, channels: int) -> int:
    """The number of rows to take as one: 16 // channels, halved until it divides ``rows``."""
    lanes = max(1, 16 // channels)
    while rows % lanes:
        lanes //= 2
    return lanes


def _as_lanes(x: np.ndarray, lanes: int) -> np.ndarray:
    """The C-contiguous (P, C) matrix x as (P/lanes, lanes*C)."""
    rows, channels = x.shape
    return np.ascontiguousarray(x).reshape(rows // lanes, lanes * channels)


def add_bias(x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x (P, C) + bias (C,) -> (P, C), C-contiguous."""
    if not numba_active():
        return add_bias_reference(x, bias)
    lanes = lanes_per_row(*x.shape)
    out = np.empty(x.shape, dtype=x.dtype)
    _add_bias_numba(_as_lanes(x, lanes), np.concatenate((bias,) * lanes), _as_lanes(out, lanes))
    return out


def column_sums(g: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sum over rows of g (P, C) -> (C,), accumulated in float64, into ``out`` if given."""
    rows, channels = g.shape
    out = np.empty(channels, dtype=g.dtype) if out is None else out
    if not numba_active():
        out[...] = column_sums_reference(g)
        return out
    lanes = lanes_per_row(rows, channels)
    total = np.empty(lanes * channels, np.float64)
    _column_sums_numba(_as_lanes(g, lanes), total)
    out[...] = total.reshape(lanes, channels).sum(axis=0)
    return out


def add_bias_leaky_relu(x: np.ndarray, bias: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(phi_alpha(x + bias), x + bias > 0) for x (P, C), bias (C,): both (P, C), C-contiguous; the same numbers
    as :func:`add_bias` then :func:`~npae.kernels.leaky_relu`."""
    if not numba_active():
        return leaky_relu_reference(add_bias_reference(x, bias), alpha)
    lanes = lanes_per_row(*x.shape)
    out, mask = np.empty(x.shape, dtype=x.dtype), np.empty(x.shape, dtype=np.bool_)
    _add_bias_leaky_relu_numba(_as_lanes(x, lanes), np.concatenate((bias,) * lanes), x.dtype.type(alpha),
                               _as_lanes(out, lanes), _as_lanes(mask, lanes))
    return out, mask
