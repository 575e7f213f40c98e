"""Measurements of trained autoencoders: the disk test set, and how linearly codes carry an attribute."""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from .data import disk_test_set


def test_set_for(model, n=300, blur_sigma=0.5, supersample=None):
    """The test disks of the model's image size: radii linspace(0, (S-1)/2, n) (0..31.5 for S = 64),
    rendered like the training data (``blur_sigma`` or ``supersample``)."""
    size = model.config.image_size
    return disk_test_set(size, n=n, r_max=(size - 1) / 2, blur_sigma=blur_sigma, supersample=supersample,
                         dtype=model.dtype)


def evaluate_disks(model, n=300, blur_sigma=0.5, supersample=None) -> dict:
    """MSE per pixel, the codes, and |Spearman| of z against r^2 (and area) on the test disks.

    Returns a dict with scalars "test_mse", "spearman_z_r2", "spearman_z_area" and arrays
    "radius", "area", "z" (N, d), "images", "reconstructions".
    """
    images, attributes = test_set_for(model, n, blur_sigma, supersample)
    z = model.encoder.forward(images)
    reconstructions = model.decoder.forward(z)
    codes = z.reshape(len(images), -1)
    first = codes[:, 0].astype(np.float64)
    constant = np.ptp(first) == 0
    rho_r2 = 0.0 if constant else abs(spearmanr(first, attributes["radius"] ** 2)[0])
    rho_area = 0.0 if constant else abs(spearmanr(first, attributes["area"])[0])
    return {
        "test_mse": float(np.mean((reconstructions.astype(np.float64) - images) ** 2)),
        "spearman_z_r2": float(rho_r2),
        "spearman_z_area": float(rho_area),
        "radius": attributes["radius"], "area": attributes["area"], "z": codes,
        "images": images, "reconstructions": reconstructions,
    }


def multiple_r2(codes: np.ndarray, attribute: np.ndarray) -> float:
    """R^2 of the least-squares fit attribute ~ a + codes @ b, codes (N, k); NaN attributes are left out."""
    keep = np.isfinite(attribute)
    target = attribute[keep]
    design = np.column_stack([np.ones(len(target)), codes[keep]])
    fitted = design @ np.linalg.lstsq(design, target, rcond=None)[0]
    return float(1 - np.var(target - fitted) / np.var(target))


def _finite_rows(code: np.ndarray, attributes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """code (N,) and attributes (N,) or (N, m) as float64, (N, m), without the rows holding NaN or inf."""
    code = np.asarray(code, np.float64)
    attributes = np.asarray(attributes, np.float64)
    attributes = attributes[:, None] if attributes.ndim == 1 else attributes
    if code.ndim != 1 or attributes.ndim != 2 or len(attributes) != len(code):
        raise ValueError(f"need a code (N,) and attributes (N,) or (N, m), got {code.shape} and {attributes.shape}")
    keep = np.isfinite(code) & np.all(np.isfinite(attributes), axis=1)
    return code[keep], attributes[keep]


def correlation_ratio(code: np.ndarray, attribute: np.ndarray, bins: int = 20) -> float:
    """eta^2 = 1 - E[Var(z | bin of a)] / Var(z): the share of the code's variance that its mean within
    ``bins`` equal-count bins of the attribute explains, linear or not; rows with NaN are left out.

    Near 1 for a smooth function of a (1 - O(1 / bins^2)); about (bins - 1) / (N - 1) for a code
    independent of a (0.019 for 20 bins and N = 1000), the floor to read small values against.
    """
    code, attribute = _finite_rows(code, attribute)
    attribute = attribute[:, 0]
    if int(bins) < 1 or len(code) <= bins:
        raise ValueError(f"need 1 <= bins < number of finite samples, got bins={bins} for {len(code)} samples")
    edges = np.quantile(attribute, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, attribute, side="right") - 1, 0, bins - 1)
    sums, counts = np.bincount(which, code, bins), np.bincount(which, minlength=bins)
    means = sums / np.maximum(counts, 1)
    return float(1 - np.sum((code - means[which]) ** 2) / np.sum((code - code.mean()) ** 2))


def neighbour_r2(code: np.ndarray, attributes: np.ndarray, k: int = 10) -> float:
    """R^2 of predicting z by the mean over the k nearest other samples in the standardised
    attributes (N,) or (N, m); rows with NaN are left out.

    Near 1 if z is a smooth function of these attributes together; about -1/k (leave-one-out) for a
    code independent of them.
    """
    code, points = _finite_rows(code, attributes)
    if not 1 <= int(k) < len(code):
        raise ValueError(f"need 1 <= k < number of finite samples, got k={k} for {len(code)} samples")
    spread = points.std(axis=0)
    if np.any(spread == 0):
        raise ValueError(f"attribute column(s) {np.flatnonzero(spread == 0).tolist()} are constant")
    points = (points - points.mean(axis=0)) / spread
    squared = np.sum(points ** 2, axis=1)
    distances = squared[:, None] + squared[None, :] - 2 * points @ points.T
    np.fill_diagonal(distances, np.inf)
    nearest = np.argpartition(distances, int(k), axis=1)[:, :int(k)]
    predicted = code[nearest].mean(axis=1)
    return float(1 - np.sum((code - predicted) ** 2) / np.sum((code - code.mean()) ** 2))
