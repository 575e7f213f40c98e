"""Centred disks, the data of the size experiments (SCIENCE.md 1).

An image of size S has pixel centres at integer (i, j) and the disk's centre
at c = (S - 1) / 2; before blur a pixel is 1 if (i - c)^2 + (j - c)^2 <= r^2.
Blur is either a Gaussian filter (``blur_sigma``) or the authors' rendering
(``supersample=K``): the mean of K renderings whose centre is shifted by
Gaussian offsets of standard deviation 0.5 px.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..nn.init import as_generator
from ..nn.layer import check_dtype

DISTRIBUTIONS = ("radius", "area")


def draw_radii(n: int, r_min: float, r_max: float, distribution: str, rng: np.random.Generator) -> np.ndarray:
    """n radii, uniform in radius on [r_min, r_max) or uniform in area (r^2 uniform on [r_min^2, r_max^2))."""
    if distribution == "radius":
        return rng.uniform(r_min, r_max, n)
    if distribution == "area":
        return np.sqrt(rng.uniform(r_min**2, r_max**2, n))
    raise ValueError(f"unknown radius distribution {distribution!r}; expected one of {DISTRIBUTIONS}")


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The normalised 1-D Gaussian g[k], k = -m..m with m = round(truncate * sigma) (scipy.ndimage's rule)."""
    radius = int(truncate * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return taps / taps.sum()


@njit(cache=True)
def _blurred_disk(radius, taps, image, disk, rows):
    """One centred disk of the given radius, blurred by the separable filter ``taps`` (zero boundary); ``disk``
    and ``rows`` are scratch images of image's size (given by the caller: ``np.zeros`` inside a kernel
    compiles for 0.2 s, in a fresh install's first training step)."""
    size = image.shape[0]
    half = taps.size // 2
    c = (size - 1) / 2.0
    r2 = radius * radius
    for i in range(size):
        for j in range(size):
            disk[i, j] = 1.0 if (i - c) * (i - c) + (j - c) * (j - c) <= r2 else 0.0
    for i in range(size):
        for j in range(size):
            acc = 0.0
            for k in range(max(0, j - half), min(size, j + half + 1)):
                acc += taps[k - j + half] * disk[i, k]
            rows[i, j] = acc
    for i in range(size):
        for j in range(size):
            acc = 0.0
            for k in range(max(0, i - half), min(size, i + half + 1)):
                acc += taps[k - i + half] * rows[k, j]
            image[i, j] = acc


@njit(cache=True)
def _blurred_disks_numba(radii, taps, out, disk, rows):
    """One thread: 62 ms per 1000 disks of 64 x 64 against 35 ms on two, but it compiles in 0.4 s instead of
    1.5-1.9 s, which counts in a fresh install's first training step."""
    for n in range(out.shape[0]):
        _blurred_disk(radii[n], taps, out[n, 0], disk, rows)


def blurred_disks(radii: np.ndarray, image_size: int, sigma: float, dtype) -> np.ndarray:
    """Centred disks blurred by a separable Gaussian with zero boundary (scipy's mode="constant")."""
    out = np.empty((len(radii), 1, image_size, image_size), dtype=dtype)
    taps = gaussian_kernel(sigma) if sigma else np.ones(1)
    scratch = np.empty((2, image_size, image_size))
    _blurred_disks_numba(np.asarray(radii, dtype=np.float64), taps, out, scratch[0], scratch[1])
    return out


def render_disks(radii: np.ndarray, image_size: int, centre_offsets: np.ndarray | None = None) -> np.ndarray:
    """Binary disks (N, 1, S, S) in float64: 1 where (i - c - dy)^2 + (j - c - dx)^2 <= r^2."""
    c = (image_size - 1) / 2
    grid = np.arange(image_size) - c
    dy = np.zeros(len(radii)) if centre_offsets is None else centre_offsets[:, 0]
    dx = np.zeros(len(radii)) if centre_offsets is None else centre_offsets[:, 1]
    rows = (grid[None, :] - dy[:, None]) ** 2
    cols = (grid[None, :] - dx[:, None]) ** 2
    inside = rows[:, :, None] + cols[:, None, :] <= np.asarray(radii)[:, None, None] ** 2
    return inside[:, None].astype(np.float64)


@njit(parallel=True, cache=True)
def _supersampled_numba(radii, image_size, offsets, out):
    c = (image_size - 1) / 2.0
    n_img, n_off = offsets.shape[0], offsets.shape[1]
    for n in prange(n_img):
        r2 = radii[n] * radii[n]
        for k in range(n_off):
            cy = c + offsets[n, k, 0]
            cx = c + offsets[n, k, 1]
            for i in range(image_size):
                di2 = (i - cy) * (i - cy)
                for j in range(image_size):
                    if di2 + (j - cx) * (j - cx) <= r2:
                        out[n, 0, i, j] += 1.0
        for i in range(image_size):
            for j in range(image_size):
                out[n, 0, i, j] /= n_off


def render_supersampled(radii, image_size, renderings, rng) -> np.ndarray:
    """Mean of ``renderings`` binary disks per image, centres shifted by N(0, 0.5^2) px offsets (float64)."""
    offsets = rng.normal(0.0, 0.5, size=(len(radii), renderings, 2))
    out = np.zeros((len(radii), 1, image_size, image_size))
    _supersampled_numba(np.asarray(radii, dtype=np.float64), image_size, offsets, out)
    return out


def disks(n, image_size=64, radius_range=None, distribution="radius", blur_sigma=0.5, supersample=None,
          rng=None, dtype=np.float32, radii=None):
    """Images of centred disks and their attributes.

    Parameters
    ----------
    n : number of images (ignored when ``radii`` is given).
    image_size : side S of the square images.
    radius_range : (r_min, r_max), default (0, S / 2).
    distribution : "radius" (uniform in r) or "area" (uniform in r^2).
    blur_sigma : standard deviation of a Gaussian blur in pixels (0 or None: no blur).
    supersample : if an int K, the authors' rendering (mean of K shifted disks) replaces the Gaussian blur.
    radii : explicit radii instead of random ones (e.g. a test grid).

    Returns
    -------
    images : (N, 1, S, S) array of ``dtype``.
    attributes : dict with "radius" (N,) and "area" (N,), the pixel sum of each image.
    """
    rng = as_generator(rng)
    dtype = check_dtype(dtype)
    if radii is None:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        r_min, r_max = radius_range if radius_range is not None else (0.0, image_size / 2)
        if not 0 <= r_min < r_max:
            raise ValueError(f"radius_range must satisfy 0 <= r_min < r_max, got {radius_range}")
        radii = draw_radii(int(n), r_min, r_max, distribution, rng)
    radii = np.asarray(radii, dtype=np.float64)
    if radii.ndim != 1 or not np.all(np.isfinite(radii)) or np.any(radii < 0):
        raise ValueError("radii must be a 1-D array of finite, non-negative numbers")
    if image_size < 2:
        raise ValueError(f"image_size must be at least 2, got {image_size}")
    if blur_sigma is not None and not blur_sigma >= 0:
        raise ValueError(f"blur_sigma must be >= 0, got {blur_sigma}")
    if supersample is not None and (int(supersample) != supersample or supersample < 1):
        raise ValueError(f"supersample must be a positive int (renderings per image), got {supersample}")
    if supersample:
        images = render_supersampled(radii, image_size, int(supersample), rng).astype(dtype)
    else:
        images = blurred_disks(radii, image_size, float(blur_sigma or 0.0), dtype)
    attributes = {"radius": radii, "area": images.sum(axis=(1, 2, 3), dtype=np.float64)}
    return images, attributes


def disk_test_set(image_size=64, n=300, r_max=31.5, blur_sigma=0.5, supersample=None, dtype=np.float32, rng=0):
    """The deterministic test set of the authors' code: radii linspace(0, r_max, n)."""
    return disks(n, image_size, blur_sigma=blur_sigma, supersample=supersample, dtype=dtype, rng=rng,
                 radii=np.linspace(0, r_max, n))
