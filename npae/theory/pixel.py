"""The energy on the actual pixel grid, and radial profiles of images.

With the images as rows of X (N, P), max over unit-norm images f of
sum_r <f, x_r>^2 = ||X f||^2 is the top right singular vector of X (the top
eigenvector of the uncentred Gram matrix X^T X): what a bias-free decoder with a
1-D code really maximises on its training disks.
"""
from __future__ import annotations

import numpy as np

from .radial import AIRY_ZERO, RadialSolution, airy_profile, trapezoid_weights


def radial_profile(image: np.ndarray, centre: float | None = None, bin_width: float = 1.0):
    """Mean of ``image`` (S, S) over rings |p - c| in [k w, (k+1) w): (mean radius per ring, mean value).

    The centre defaults to ((S-1)/2, (S-1)/2), the centre of npae's disks.  Empty rings are dropped.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or image.shape[0] != image.shape[1]:
        raise ValueError(f"radial_profile needs a square 2-D image, got shape {image.shape}")
    size = image.shape[0]
    c = (size - 1) / 2 if centre is None else centre
    i, j = np.mgrid[:size, :size]
    distance = np.hypot(i - c, j - c).ravel()
    ring = np.floor(distance / bin_width).astype(np.int64)
    counts = np.bincount(ring)
    keep = counts > 0
    rho = np.bincount(ring, weights=distance)[keep] / counts[keep]
    values = np.bincount(ring, weights=image.ravel())[keep] / counts[keep]
    return rho, values


def value_at_zero(rho: np.ndarray, f: np.ndarray, points: int = 3) -> float:
    """f(0) from a least-squares fit f ~ a + b rho^2 on the first ``points`` samples (f is even in rho)."""
    design = np.stack([np.ones(points), rho[:points] ** 2], axis=1)
    return float(np.linalg.lstsq(design, f[:points], rcond=None)[0][0])


def unit_l2(rho: np.ndarray, f: np.ndarray, R: float) -> np.ndarray:
    """f scaled to 2 pi int_0^R f^2 rho d rho = 1 (trapezoid rule on the samples with rho <= R)."""
    inside = rho <= R + 1e-12
    norm2 = 2 * np.pi * np.sum(trapezoid_weights(rho[inside]) * f[inside] ** 2 * rho[inside])
    return f / np.sqrt(norm2)


def relative_l2_gap(rho: np.ndarray, f: np.ndarray, reference: np.ndarray, R: float) -> float:
    """||f - ref|| / ||ref|| on [0, R] with measure rho d rho, both normalised to unit L2 (sign aligned)."""
    inside = rho <= R + 1e-12
    a, b = unit_l2(rho, f, R)[inside], unit_l2(rho, reference, R)[inside]
    w = trapezoid_weights(rho[inside]) * rho[inside]
    if np.sum(w * a * b) < 0:
        a = -a
    return float(np.sqrt(np.sum(w * (a - b) ** 2) / np.sum(w * b**2)))


def first_zero(rho: np.ndarray, f: np.ndarray) -> float:
    """The first rho where f changes sign (linear interpolation), or nan if it never does."""
    sign_change = np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)[0]
    if len(sign_change) == 0:
        return float("nan")
    k = sign_change[0]
    return float(rho[k] - f[k] * (rho[k + 1] - rho[k]) / (f[k + 1] - f[k]))


def fit_airy_radius(rho: np.ndarray, f: np.ndarray) -> float:
    """The outer radius R whose Airy profile on [0, R] is closest (relative L2) to the samples (rho, f)."""
    from scipy.optimize import minimize_scalar

    def gap(R):
        inside = rho <= R
        return relative_l2_gap(rho[inside], f[inside], airy_profile(rho[inside], (AIRY_ZERO / R) ** 3), R)

    return float(minimize_scalar(gap, bounds=(rho[3], rho[-1]), method="bounded", options={"xatol": 1e-4}).x)


def _image_matrix(images: np.ndarray, caller: str) -> np.ndarray:
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(f"{caller} needs one channel, got shape {images.shape}")
        images = images[:, 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"{caller} needs images of shape (N, S, S), got {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{caller}: images contain NaN or inf")
    return images


def pixel_maximiser(images: np.ndarray) -> tuple[np.ndarray, float]:
    """The pixel-exact maximiser of sum_r <f, x_r>^2 under ||f|| = 1 for any family of images (N, [1,] S, S):
    (f (S, S), the top right singular vector, signed so that <f, mean image> >= 0; the mean energy
    sigma_max^2 / N).  What a bias-free decoder with a 1-D code outputs, up to its amplitude."""
    images = _image_matrix(images, "pixel_maximiser")
    _, singular, vt = np.linalg.svd(images.reshape(len(images), -1), full_matrices=False)
    if not singular[0] > 0:
        raise ValueError("pixel_maximiser: every image is zero, so every unit image is a maximiser")
    image = vt[0].reshape(images.shape[1:])
    if np.sum(image * images.mean(axis=0)) < 0:
        image = -image
    return image, float(singular[0] ** 2 / len(images))


def solve_pixel_energy(images: np.ndarray) -> RadialSolution:
    """Top right singular vector of the images: the pixel-exact maximiser of sum_r <f, x_r>^2, ||f|| = 1.

    ``images``: (N, 1, S, S) or (N, S, S).  Returns its radial profile (rings of width 1 px around
    the disks' centre) normalised to f(0) = 1, ``k = (x0 / R*)^3`` with R* the outer radius of the
    best-fitting Airy profile (:func:`fit_airy_radius`), and ``energy = sigma_max^2 / N``, the mean
    of <f, x_r>^2.
    The image itself is in the returned object's ``image`` attribute.
    """
    images = _image_matrix(images, "solve_pixel_energy")
    matrix = images.reshape(len(images), -1)
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    size = images.shape[1]
    image = vt[0].reshape(size, size)
    centre = size // 2
    if image[centre - 1:centre + 1, centre - 1:centre + 1].sum() < 0:
        image = -image
    rho, values = radial_profile(image)
    f = values / value_at_zero(rho, values)
    solution = RadialSolution(rho, f, (AIRY_ZERO / fit_airy_radius(rho, f)) ** 3,
                              float(singular[0] ** 2 / len(images)))
    solution.image = image
    return solution
