"""Losses: each returns (value, dL/d(prediction)), the gradient in the prediction's dtype."""
from __future__ import annotations

import numpy as np

from . import kernels

REDUCTIONS = ("mean", "sum")


def _check_pair(name: str, prediction, target, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: unknown reduction {reduction!r}; expected one of {REDUCTIONS}")
    if not isinstance(prediction, np.ndarray) or prediction.dtype.kind != "f":
        raise TypeError(f"{name}: prediction must be a float array, got {getattr(prediction, 'dtype', type(prediction))}")
    if np.shape(target) != prediction.shape:
        raise ValueError(f"{name}: prediction shape {prediction.shape} != target shape {np.shape(target)}")
    if isinstance(target, np.ndarray) and target.dtype.kind == "f" and target.dtype != prediction.dtype:
        raise TypeError(f"{name}: prediction dtype {prediction.dtype} != target dtype {target.dtype}; "
                        f"convert one of them")


def mse_loss(prediction, target, reduction="mean"):
    """L = sum (p - t)^2, divided by the number of elements if reduction="mean".

    dL/dp = 2 (p - t), divided likewise.  Returns (L as a Python float, dL/dp).  L is summed in float64.
    """
    _check_pair("mse_loss", prediction, target, reduction)
    target = np.asarray(target, dtype=prediction.dtype)
    scale = 1.0 / prediction.size if reduction == "mean" else 1.0
    total, grad = kernels.squared_error(prediction, target, scale)
    return total * scale, grad


def bce_loss(prediction, target, reduction="mean", eps=1e-7):
    """Binary cross-entropy of probabilities p against targets t in [0, 1].

    L = -sum [t log p + (1 - t) log(1 - p)], with p clipped to [eps, 1 - eps];
    dL/dp = (p - t) / (p (1 - p)) evaluated at the clipped p, so a saturated, wrong output still
    gets a (large, finite) gradient.  Divided by the number of elements if reduction="mean".
    """
    _check_pair("bce_loss", prediction, target, reduction)
    t = np.asarray(target, dtype=prediction.dtype)
    p = np.clip(prediction, eps, 1 - eps)
    scale = 1.0 / p.size if reduction == "mean" else 1.0
    p64, t64 = p.astype(np.float64), t.astype(np.float64)
    value = -float(np.sum(t64 * np.log(p64) + (1 - t64) * np.log1p(-p64))) * scale
    grad = (p64 - t64) / (p64 * (1 - p64)) * scale
    return value, grad.astype(prediction.dtype)


def covariance_penalty(codes):
    """PCA-AE's decorrelation term for the newest code z_k (the last column of ``codes`` (N, k)).

    L = (1/(k-1)) sum_{i<k} c_i^2 with c_i = mean_n z_i[n] z_k[n] (the codes are batch-normalised,
    so c_i is their covariance); 0 for k = 1.  dL/dz_k[n] = (2/(k-1)) sum_i c_i z_i[n] / N and
    dL/dz_i[n] = (2/(k-1)) c_i z_k[n] / N.  Returns (L, dL/dcodes) in the codes' dtype.
    """
    if not isinstance(codes, np.ndarray) or codes.ndim != 2 or codes.dtype.kind != "f":
        raise ValueError(f"covariance_penalty: codes must be a float array (N, k), got "
                         f"{getattr(codes, 'shape', type(codes).__name__)}")
    n, k = codes.shape
    if k < 2:
        return 0.0, np.zeros_like(codes)
    z = codes.astype(np.float64)
    earlier, newest = z[:, :-1], z[:, -1]
    covariances = earlier.T @ newest / n
    value = float(np.sum(covariances**2)) / (k - 1)
    grad = np.empty_like(z)
    grad[:, :-1] = 2.0 / (k - 1) * covariances[None, :] * newest[:, None] / n
    grad[:, -1] = 2.0 / (k - 1) * earlier @ covariances / n
    return value, grad.astype(codes.dtype)
