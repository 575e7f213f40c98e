"""The squared error of a prediction p against a target t and its gradient, in one pass.

    d = p - t (in p's dtype),    grad = (2 s) d,    total = sum d^2 (in float64)

The sum is taken over :data:`BLOCKS` fixed ranges of the entries, each vectorised, then added in order (the
bits depend on the size only).  With s = 1/size, total * s is the mean squared
error and grad its gradient.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .backend import numba_active

BLOCKS = 16


@njit(fastmath={"reassoc"}, cache=True)
def _block_squared_error(p, t, two_scale, grad):
    """grad = two_scale (p - t) on one block; returns sum (p - t)^2 in float64, the additions reordered as the
    CPU's vector width suits (``reassoc``: the bits of the sum depend on this machine's SIMD, as numpy's dot's do)."""
    total = 0.0
    for k in range(p.size):
        d = p[k] - t[k]
        grad[k] = two_scale * d
        total += np.float64(d) * np.float64(d)
    return total


@njit(cache=True)
def _squared_error_numba(p, t, two_scale, grad, partial):
    """partial[b] = the sum over block b of the entries; blocks are slices, so the loop above runs from 0 and
    vectorises (with offsets it did not: 7x slower).  One thread: on two, 9 against 13 us at B 16 and 27
    against 39 us at B 64, but a parallel kernel compiles about 0.4 s longer, in a fresh install's first step."""
    n, blocks = p.size, partial.shape[0]
    for b in range(blocks):
        start, stop = n * b // blocks, n * (b + 1) // blocks
        partial[b] = _block_squared_error(p[start:stop], t[start:stop], two_scale, grad[start:stop])


def squared_error_reference(p, t, scale):
    diff = p - t
    diff64 = diff.ravel().astype(np.float64)
    return float(np.dot(diff64, diff64)), diff * p.dtype.type(2.0 * scale)


KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def squared_error(p: np.ndarray, t: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
    """(sum (p - t)^2 in float64, 2 scale (p - t) in p's dtype and shape); p and t of one shape and dtype
    (other float dtypes, such as float16, take the reference)."""
    if p.shape != t.shape or p.dtype != t.dtype:
        raise ValueError(f"squared_error: p and t must have one shape and dtype, got {p.shape} {p.dtype} "
                         f"and {t.shape} {t.dtype}")
    if not numba_active() or p.dtype not in KERNEL_DTYPES:
        return squared_error_reference(p, t, scale)
    p, t = np.ascontiguousarray(p), np.ascontiguousarray(t)
    grad = np.empty(p.shape, dtype=p.dtype)
    partial = np.empty(BLOCKS, dtype=np.float64)
    _squared_error_numba(p.reshape(-1), t.reshape(-1), p.dtype.type(2.0 * scale), grad.reshape(-1), partial)
    return float(partial.sum()), grad
