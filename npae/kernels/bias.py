"""A per-channel bias on channels-last images, seen as a (pixels, channels) matrix.

    add:   y[p, c] = x[p, c] + b[c]          sums:  s[c] = sum_p g[p, c]

The sums run down each column in float64 whatever the dtype, one column per SIMD lane.  With fewer
than 16 channels both kernels take ``lanes`` rows at a time, as a (P/lanes, lanes*C) matrix, so that
a row holds about 16 numbers instead of C (:func:`lanes_per_row`).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .backend import numba_active

ROWS_PER_TASK = 256


@njit(parallel=True, cache=True)
def _add_bias_numba(x, bias, out):
    rows, channels = x.shape
    for block in prange((rows + ROWS_PER_TASK - 1) // ROWS_PER_TASK):
        for p in range(block * ROWS_PER_TASK, min(rows, (block + 1) * ROWS_PER_TASK)):
            for c in range(channels):
                out[p, c] = x[p, c] + bias[c]


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


def add_bias(x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x (P, C) + bias (C,) -> (P, C), C-contiguous."""
    if not numba_active():
        return add_bias_reference(x, bias)
    rows, channels = x.shape
    lanes = lanes_per_row(rows, channels)
    out = np.empty(x.shape, dtype=x.dtype)
    _add_bias_numba(np.ascontiguousarray(x).reshape(rows // lanes, lanes * channels), np.concatenate((bias,) * lanes),
                    out.reshape(rows // lanes, lanes * channels))
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
    _column_sums_numba(np.ascontiguousarray(g).reshape(rows // lanes, lanes * channels), total)
    out[...] = total.reshape(lanes, channels).sum(axis=0)
    return out
