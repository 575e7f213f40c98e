"""The Adam update of one parameter array, in place (the formula of torch.optim.Adam).

With gradient g (weight decay already added), step count t >= 1:

    m <- b1 m + (1 - b1) g
    v <- b2 v + (1 - b2) g^2
    p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .backend import numba_active


@njit(parallel=True, cache=True)
def _adam_numba(p, g, m, v, b1, one_minus_b1, b2, one_minus_b2, step_size, sqrt_bc2, eps):
    for k in prange(p.size):
        m[k] = b1 * m[k] + one_minus_b1 * g[k]
        v[k] = b2 * v[k] + one_minus_b2 * g[k] * g[k]
        p[k] -= step_size * (m[k] / (math.sqrt(v[k]) / sqrt_bc2 + eps))


def adam_update_reference(p, g, m, v, lr, b1, b2, eps, t):
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
    p -= (lr / (1 - b1**t)) * (m / denom)


def adam_update(p, g, m, v, lr, b1, b2, eps, t):
    """Apply one Adam step to p in place, updating the moments m and v in place."""
    if not all(a.flags.c_contiguous for a in (p, g, m, v)):
        raise ValueError("adam_update: p, g, m and v must be C-contiguous (updated in place)")
    if not numba_active():
        adam_update_reference(p, g, m, v, lr, b1, b2, eps, t)
        return
    cast = p.dtype.type
    _adam_numba(
        p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
        cast(b1), cast(1 - b1), cast(b2), cast(1 - b2), cast(lr / (1 - b1**t)), cast(math.sqrt(1 - b2**t)), cast(eps),
    )
