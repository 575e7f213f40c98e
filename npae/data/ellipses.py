"""Centred ellipses, the data of the PCA-like autoencoder (SCIENCE.md 3), and the image statistics S, H, V.

An ellipse with semi-axes (a, b) rotated by theta covers the pixels (i, j) with, around the centre
c = (S - 1) / 2, u = (j - c) cos theta + (i - c) sin theta and v = -(j - c) sin theta + (i - c) cos theta,
(u / a)^2 + (v / b)^2 <= 1; then a Gaussian blur (zero boundary) as for the disks.

``drawing="authors"`` draws them as the PCA-AE authors' notebook does with scikit-image
(``skimage.draw.ellipse(S/2, S/2, a, b, rotation)``, then ``skimage.filters.gaussian(sigma, mode="nearest")``):
centre c = S / 2, a along the rows and b along the columns, u = (i - c) cos theta + (j - c) sin theta,
v = (i - c) sin theta - (j - c) cos theta, and the strict (u / a)^2 + (v / b)^2 < 1.  Reproduced here in
NumPy (tested against scikit-image when it is installed), so npae does not depend on it.
"""
from __future__ import annotations

import numpy as np

from ..nn.init import as_generator
from ..nn.layer import check_dtype


DRAWINGS = ("npae", "authors")


def render_ellipses(semi_axes: np.ndarray, angles_deg: np.ndarray, image_size: int = 64,
                    blur_sigma: float = 0.5, drawing: str = "npae") -> np.ndarray:
    """Ellipses (N, 1, S, S) in float64 with semi-axes (N, 2) = (a, b) and rotations in degrees (N,),
    drawn as npae does or as the authors did (``drawing``, see the module's docstring)."""
    if drawing not in DRAWINGS:
        raise ValueError(f"unknown drawing {drawing!r}; expected one of {DRAWINGS}")
    semi_axes = np.asarray(semi_axes, dtype=np.float64)
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    if semi_axes.ndim != 2 or semi_axes.shape[1] != 2 or len(angles) != len(semi_axes) or np.any(semi_axes <= 0):
        raise ValueError("semi_axes must be (N, 2) positive numbers and angles_deg (N,)")
    images = np.empty((len(angles), 1, image_size, image_size))
    for n, ((a, b), theta) in enumerate(zip(semi_axes, angles)):
        images[n, 0] = (_authors_mask if drawing == "authors" else _npae_mask)(a, b, theta, image_size)
    if blur_sigma:
        from scipy import ndimage  # imported here: it costs 0.3 s at `import npae`

        boundary = "nearest" if drawing == "authors" else "constant"
        images = ndimage.gaussian_filter(images, (0, 0, blur_sigma, blur_sigma), mode=boundary, truncate=4.0)
    return images


def _npae_mask(a: float, b: float, theta: float, image_size: int) -> np.ndarray:
    grid = np.arange(image_size) - (image_size - 1) / 2
    rows, cols = grid[:, None], grid[None, :]
    u = cols * np.cos(theta) + rows * np.sin(theta)
    v = -cols * np.sin(theta) + rows * np.cos(theta)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def _authors_mask(a: float, b: float, theta: float, image_size: int) -> np.ndarray:
    grid = np.arange(image_size) - image_size / 2
    rows, cols = grid[:, None], grid[None, :]
    theta = theta % np.pi
    u = rows * np.cos(theta) + cols * np.sin(theta)
    v = rows * np.sin(theta) - cols * np.cos(theta)
    return (u / a) ** 2 + (v / b) ** 2 < 1.0


def ellipses(count, image_size: int = 64, axis_range=(2, 32), angle_range=(0, 90), blur_sigma: float = 0.5,
             rng=None, dtype=np.float32, drawing: str = "npae"):
    """Random centred ellipses: integer semi-axes in [axis_range), integer angles (degrees) in [angle_range).

    Returns (images (N, 1, S, S), attributes) with "a", "b", "angle" and the statistics of
    :func:`image_statistics` ("S", "H", "V"), H taken at row and column S // 2 for npae's drawing
    (centre (S - 1) / 2, so half a pixel off) and at S // 2 - 1 for ``drawing="authors"`` (their index 31,
    one pixel before their centre 32).
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
    images = render_ellipses(semi_axes, angles, image_size, blur_sigma, drawing)
    attributes = {"a": semi_axes[:, 0], "b": semi_axes[:, 1], "angle": angles,
                  **image_statistics(images, statistics_middle(image_size, drawing))}
    return images.astype(dtype), attributes


def statistics_middle(image_size: int, drawing: str = "npae") -> int:
    """The row and column of H: S // 2 for npae, S // 2 - 1 (31 for S = 64) as the authors took it."""
    return image_size // 2 - (drawing == "authors")


def image_statistics(images: np.ndarray, middle: int | None = None) -> dict[str, np.ndarray]:
    """The statistics of the PCA-AE paper for images (N, 1, S, S):

    S = pixel sum (area); H = sum of the central row / sum of the central column (row and column
    ``middle``, by default S // 2; the authors used 31 = S // 2 - 1 for S = 64); V = sum of the main
    diagonal / sum of the anti-diagonal.  A zero denominator gives NaN.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 1 or images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be (N, 1, S, S), got {images.shape}")
    planes = images[:, 0]
    middle = planes.shape[1] // 2 if middle is None else int(middle)
    if not 0 <= middle < planes.shape[1]:
        raise ValueError(f"middle must index a row of images of side {planes.shape[1]}, got {middle}")
    with np.errstate(divide="ignore", invalid="ignore"):
        horizontal = planes[:, middle, :].sum(axis=1) / planes[:, :, middle].sum(axis=1)
        diagonal = np.trace(planes, axis1=1, axis2=2) / np.trace(planes[:, :, ::-1], axis1=1, axis2=2)
    horizontal[~np.isfinite(horizontal)] = np.nan
    diagonal[~np.isfinite(diagonal)] = np.nan
    return {"S": planes.sum(axis=(1, 2)), "H": horizontal, "V": diagonal}
