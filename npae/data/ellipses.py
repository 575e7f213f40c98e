"""Centred ellipses, the data of the PCA-like autoencoder (SCIENCE.md 3), and the image statistics S, H, V.

An ellipse with semi-axes (a, b) rotated by theta covers the pixels (i, j) with, around the centre
c = (S - 1) / 2, u = (j - c) cos theta + (i - c) sin theta and v = -(j - c) sin theta + (i - c) cos theta,
(u / a)^2 + (v / b)^2 <= 1; then a Gaussian blur (zero boundary) as for the disks.
"""
from __future__ import annotations

import numpy as np

from ..nn.init import as_generator
from ..nn.layer import check_dtype


def render_ellipses(semi_axes: np.ndarray, angles_deg: np.ndarray, image_size: int = 64,
                    blur_sigma: float = 0.5) -> np.ndarray:
    """Ellipses (N, 1, S, S) in float64 with semi-axes (N, 2) = (a, b) and rotations in degrees (N,)."""
    semi_axes = np.asarray(semi_axes, dtype=np.float64)
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    if semi_axes.ndim != 2 or semi_axes.shape[1] != 2 or len(angles) != len(semi_axes) or np.any(semi_axes <= 0):
        raise ValueError("semi_axes must be (N, 2) positive numbers and angles_deg (N,)")
    grid = np.arange(image_size) - (image_size - 1) / 2
    rows, cols = grid[:, None], grid[None, :]
    images = np.empty((len(angles), 1, image_size, image_size))
    for n, ((a, b), theta) in enumerate(zip(semi_axes, angles)):
        u = cols * np.cos(theta) + rows * np.sin(theta)
        v = -cols * np.sin(theta) + rows * np.cos(theta)
        images[n, 0] = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    if blur_sigma:
        from scipy import ndimage  # imported here: it costs 0.3 s at `import npae`

        images = ndimage.gaussian_filter(images, (0, 0, blur_sigma, blur_sigma), mode="constant", truncate=4.0)
    return images


def ellipses(count, image_size: int = 64, axis_range=(2, 32), angle_range=(0, 90), blur_sigma: float = 0.5,
             rng=None, dtype=np.float32):
    """Random centred ellipses: integer semi-axes in [axis_range), integer angles (degrees) in [angle_range).

    Returns (images (N, 1, S, S), attributes) with "a", "b", "angle" and the statistics of
    :func:`image_statistics` ("S", "H", "V").
    """
    rng = as_generator(rng)
    dtype = check_dtype(dtype)
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    if not 1 <= axis_range[0] < axis_range[1] or not angle_range[0] < angle_range[1]:
        raise ValueError(f"need 1 <= axis_range[0] < axis_range[1] and angle_range increasing, "
                         f"got {axis_range}, {angle_range}")
    semi_axes = rng.integers(axis_range[0], axis_range[1], size=(count, 2)).astype(np.float64)
    angles = rng.integers(angle_range[0], angle_range[1], size=count).astype(np.float64)
    images = render_ellipses(semi_axes, angles, image_size, blur_sigma)
    attributes = {"a": semi_axes[:, 0], "b": semi_axes[:, 1], "angle": angles, **image_statistics(images)}
    return images.astype(dtype), attributes


def image_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """The statistics of the PCA-AE paper for images (N, 1, S, S):

    S = pixel sum (area); H = sum of the central row / sum of the central column (row and column S // 2);
    V = sum of the main diagonal / sum of the anti-diagonal.  A zero denominator gives NaN.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 1 or images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be (N, 1, S, S), got {images.shape}")
    planes = images[:, 0]
    middle = planes.shape[1] // 2
    with np.errstate(divide="ignore", invalid="ignore"):
        horizontal = planes[:, middle, :].sum(axis=1) / planes[:, :, middle].sum(axis=1)
        diagonal = np.trace(planes, axis1=1, axis2=2) / np.trace(planes[:, :, ::-1], axis1=1, axis2=2)
    horizontal[~np.isfinite(horizontal)] = np.nan
    diagonal[~np.isfinite(diagonal)] = np.nan
    return {"S": planes.sum(axis=(1, 2)), "H": horizontal, "V": diagonal}
