"""LeakyReLU and its derivative, elementwise over arrays of any shape.

    phi_a(t) = t if t > 0 else a * t,        phi_a'(t) = 1 if t > 0 else a

The forward pass also returns the mask ``t > 0``, all the backward pass needs.  The kernels run over
``ravel("K")``, the numbers in memory order, so the arrays they return are laid out as their input
(``np.empty_like``): a channels-last image stays channels last, with no copy.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .backend import numba_active


@njit(parallel=True, cache=True)
def _leaky_relu_numba(x, alpha, out, mask):
    """out = x where x > 0, alpha * x elsewhere; mask = x > 0 (one pass)."""
    for k in prange(x.size):
        positive = x[k] > 0
        mask[k] = positive
        out[k] = x[k] if positive else alpha * x[k]


@njit(parallel=True, cache=True)
def _scale_negatives_numba(values, mask, alpha, out):
    """out = values where mask, alpha * values elsewhere (the backward pass: values = dL/dy)."""
    for k in prange(values.size):
        out[k] = values[k] if mask[k] else alpha * values[k]


def leaky_relu_reference(x, alpha):
    mask = x > 0
    return np.where(mask, x, x * x.dtype.type(alpha)), mask


def leaky_relu_backward_reference(g, mask, alpha):
    return np.where(mask, g, g * g.dtype.type(alpha))


def _laid_out(x):
    """x, or a C-contiguous copy if it repeats entries (a stride of 0, from broadcasting): ``ravel("K")`` of
    such an array is not in ``np.empty_like``'s order."""
    return np.ascontiguousarray(x) if x.size > 1 and 0 in x.strides else x


def leaky_relu(x, alpha):
    """Return (phi_a(x), x > 0) for a float array x of any shape, both laid out as x (C-contiguous if x is a
    broadcast view)."""
    if not numba_active():
        return leaky_relu_reference(x, alpha)
    x = _laid_out(x)
    y, mask = np.empty_like(x, subok=False), np.empty_like(x, dtype=np.bool_, subok=False)
    _leaky_relu_numba(x.ravel("K"), x.dtype.type(alpha), y.ravel("K"), mask.ravel("K"))
    return y, mask


def leaky_relu_backward(g, mask, alpha):
    """Return g * phi_a'(x), laid out as the mask x > 0 of the forward pass (same shape)."""
    if not numba_active():
        return leaky_relu_backward_reference(g, mask, alpha)
    mask = _laid_out(mask)
    out = np.empty_like(mask, dtype=g.dtype, subok=False)
    if g.strides != out.strides:  # g in the mask's layout first, so that memory orders pair entries
        laid_out = np.empty_like(out)
        laid_out[...] = g
        g = laid_out
    _scale_negatives_numba(g.ravel("K"), mask.ravel("K"), g.dtype.type(alpha), out.ravel("K"))
    return out
