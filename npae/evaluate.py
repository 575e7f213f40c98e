"""Measurements of trained disk autoencoders on the test disks."""
from __future__ import annotations

import numpy as np

from .data import disk_test_set
from .statistics import abs_spearman_or_zero


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
    return {
        "test_mse": float(np.mean((reconstructions.astype(np.float64) - images) ** 2)),
        "spearman_z_r2": abs_spearman_or_zero(first, attributes["radius"] ** 2),
        "spearman_z_area": abs_spearman_or_zero(first, attributes["area"]),
        "radius": attributes["radius"], "area": attributes["area"], "z": codes,
        "images": images, "reconstructions": reconstructions,
    }
