"""The Adam update of one parameter array, in place (the formula of torch.optim.Adam).

With gradient g (weight decay already added), step count t >= 1:

    m <- b1 m + (1 - b1) g
    v <- b2 v + (1 - b2) g^2
    p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

:func:`adam_fault` runs the same arithmetic without writing anything and says whether the step would
leave a NaN or inf behind, so that an optimiser can refuse a step before it changes any array (a Numba
kernel counts them; only then does the NumPy reference find which array).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit, prange

from .backend import numba_active


@njit(parallel=True, cache=True)
def _adam_numba(p, g, m, v, b1, one_minus_b1, b2, one_minus_b2, step_size, sqrt_bc2, eps, apply):
    """With ``apply``, the update of p, m and v in place.  Without, nothing is written: the same arithmetic
    counts how many of g and the new m, v, p would be NaN or inf (the dry run of an all-or-nothing step)."""
    count = 0
    for k in prange(p.size):
        m_k = b1 * m[k] + one_minus_b1 * g[k]
        v_k = b2 * v[k] + one_minus_b2 * g[k] * g[k]
        p_k = p[k] - step_size * (m_k / (math.sqrt(v_k) / sqrt_bc2 + eps))
        if apply:
            m[k], v[k], p[k] = m_k, v_k, p_k
        else:
            count += np.int64(not (math.isfinite(g[k]) and math.isfinite(m_k) and math.isfinite(v_k)
                                   and math.isfinite(p_k)))
    return count


FAULTS = ("gradient", "parameter", "m", "v")
"""What :func:`adam_fault_reference` reports: its result minus one indexes this tuple (0: nothing)."""


def adam_update_reference(p, g, m, v, lr, b1, b2, eps, t):
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
    p -= (lr / (1 - b1**t)) * (m / denom)


def adam_fault_reference(p, g, m, v, lr, b1, b2, eps, t):
    if not np.isfinite(g).all():
        return 1
    p, m, v = p.copy(), m.copy(), v.copy()
    adam_update_reference(p, g, m, v, lr, b1, b2, eps, t)
    for code, value in ((3, m), (4, v), (2, p)):
        if not np.isfinite(value).all():
            return code
    return 0


@lru_cache(maxsize=8)
def _coefficients(dtype, lr, b1, b2, eps, t):
    """(b1, 1 - b1, b2, 1 - b2, lr / (1 - b1^t), sqrt(1 - b2^t), eps) in the parameters' dtype (the same for
    every array of a step: cached)."""
    cast = dtype.type
    return (cast(b1), cast(1 - b1), cast(b2), cast(1 - b2), cast(lr / (1 - b1**t)), cast(math.sqrt(1 - b2**t)),
            cast(eps))


def _check_arrays(p, g, m, v):
    if not all(a.flags.c_contiguous for a in (p, g, m, v)):
        raise ValueError("adam: p, g, m and v must be C-contiguous (updated in place)")


def adam_fault(p, g, m, v, lr, b1, b2, eps, t) -> str | None:
    """None if :func:`adam_update` with these arguments leaves p, m and v finite; else what holds or would hold
    NaN or inf: "gradient", "m", "v" or "parameter", the first in this order.  Writes nothing."""
    _check_arrays(p, g, m, v)
    if not numba_active():
        code = adam_fault_reference(p, g, m, v, lr, b1, b2, eps, t)
        return FAULTS[code - 1] if code else None
    if not _adam_numba(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
                       *_coefficients(p.dtype, lr, b1, b2, eps, t), False):
        return None
    code = adam_fault_reference(p, g, m, v, lr, b1, b2, eps, t)  # which array: the same arithmetic, in numpy
    return FAULTS[code - 1] if code else "parameter"


def adam_update(p, g, m, v, lr, b1, b2, eps, t):
    """Apply one Adam step to p in place, updating the moments m and v in place."""
    _check_arrays(p, g, m, v)
    if not numba_active():
        adam_update_reference(p, g, m, v, lr, b1, b2, eps, t)
        return
    _adam_numba(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), *_coefficients(p.dtype, lr, b1, b2, eps, t),
                True)
