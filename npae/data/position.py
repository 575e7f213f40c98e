"""Signals and images whose only attribute is a position (SCIENCE.md 2).

A 1-D Dirac of length n at position p is the one-hot signal e_p (shape (1, 1, n) per
example, so the 2-D layers apply with 1 x 3 kernels); a sub-pixel p in [0, n - 1] splits
its unit mass linearly between floor(p) and floor(p) + 1.  ``blur_sigma`` then convolves
it with the normalised Gaussian of the disks (zero boundary).  2-D images hold one disk of
fixed radius, or one Dirac, centred at (x, y) in pixel coordinates.
"""
from __future__ import annotations

import numpy as np

from ..nn.init import as_generator
from ..nn.layer import check_dtype
from .disks import render_disks


def _check_count(count) -> int:
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    return int(count)


def _blur(images: np.ndarray, sigma: float, axes) -> np.ndarray:
    if sigma is None or sigma == 0:
        return images
    if not sigma > 0:
        raise ValueError(f"blur_sigma must be >= 0, got {sigma}")
    for axis in axes:
        from scipy import ndimage  # imported here: it costs 0.3 s at `import npae`

        images = ndimage.gaussian_filter1d(images, sigma, axis=axis, mode="constant", truncate=4.0)
    return images


def dirac_signals(positions, length: int = 64, blur_sigma: float = 0.0, dtype=np.float32) -> np.ndarray:
    """Diracs at ``positions`` (N,) as signals (N, 1, 1, length); linear split for sub-pixel positions."""
    dtype = check_dtype(dtype)
    positions = np.asarray(positions, dtype=np.float64)
    if length < 2:
        raise ValueError(f"length must be at least 2, got {length}")
    if positions.ndim != 1 or not np.all(np.isfinite(positions)):
        raise ValueError("positions must be a 1-D array of finite numbers")
    if np.any(positions < 0) or np.any(positions > length - 1):
        raise ValueError(f"positions must lie in [0, {length - 1}], got range "
                         f"[{positions.min()}, {positions.max()}]")
    left = np.minimum(np.floor(positions).astype(np.int64), length - 2)
    weight_right = positions - left
    signals = np.zeros((len(positions), length))
    rows = np.arange(len(positions))
    signals[rows, left] = 1.0 - weight_right
    signals[rows, left + 1] += weight_right
    return _blur(signals, blur_sigma, axes=(1,))[:, None, None, :].astype(dtype)


def allowed_positions(length: int, spacing: int = 1, offset: int = 0) -> np.ndarray:
    """The integer positions offset, offset + spacing, ... below ``length`` (the sampling experiment's grid)."""
    if not isinstance(spacing, (int, np.integer)) or spacing < 1 or not 0 <= offset < length:
        raise ValueError(f"spacing must be a positive int and offset in [0, {length}), got {spacing}, {offset}")
    return np.arange(offset, length, spacing)


def diracs(count, length: int = 64, spacing: int = 1, offset: int = 0, subpixel: bool = False,
           blur_sigma: float = 0.0, rng=None, dtype=np.float32):
    """Random Diracs and their positions.

    Integer positions are uniform on ``allowed_positions(length, spacing, offset)``;
    ``subpixel=True`` draws them uniformly on [0, length - 1] instead (spacing must be 1).
    Returns (signals (N, 1, 1, length), {"position": (N,)}).
    """
    rng = as_generator(rng)
    count = _check_count(count)
    if subpixel:
        if spacing != 1:
            raise ValueError("subpixel positions cannot be restricted to a grid (spacing must be 1)")
        positions = rng.uniform(0, length - 1, count)
    else:
        positions = rng.choice(allowed_positions(length, spacing, offset), count).astype(np.float64)
    return dirac_signals(positions, length, blur_sigma, dtype), {"position": positions}


def positioned_disks(count, image_size: int = 64, radius=4.0, kind: str = "disk", blur_sigma: float = 0.5,
                     margin: float | None = None, rng=None, dtype=np.float32):
    """One disk (or one Dirac, ``kind="dirac"``) per image at a random centre.

    ``radius``: a fixed radius, or (r_min, r_max) for radii uniform on that range.  Centres (x, y)
    are uniform on [margin, S - 1 - margin]^2, margin = largest radius + 1 by default (the disk
    stays inside); a Dirac's centre is an integer pixel.
    Returns (images (N, 1, S, S), {"x": (N,), "y": (N,), "radius": (N,)}), x the column and y the row.
    """
    rng = as_generator(rng)
    dtype = check_dtype(dtype)
    count = _check_count(count)
    if kind not in ("disk", "dirac"):
        raise ValueError(f"unknown kind {kind!r}; expected 'disk' or 'dirac'")
    r_min, r_max = (float(radius), float(radius)) if np.isscalar(radius) else (float(r) for r in radius)
    if not 0 <= r_min <= r_max:
        raise ValueError(f"radius must be >= 0 or a range 0 <= r_min <= r_max, got {radius}")
    margin = float(r_max + 1 if margin is None else margin)
    if not 0 <= margin < (image_size - 1) / 2:
        raise ValueError(f"margin {margin} leaves no room for centres in a {image_size}-pixel image")
    low, high = margin, image_size - 1 - margin
    if kind == "dirac":
        centres = rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1, size=(count, 2)).astype(np.float64)
        images = np.zeros((count, 1, image_size, image_size))
        images[np.arange(count), 0, centres[:, 0].astype(int), centres[:, 1].astype(int)] = 1.0
        radii = np.zeros(count)
    else:
        centres = rng.uniform(low, high, size=(count, 2))
        radii = rng.uniform(r_min, r_max, count) if r_max > r_min else np.full(count, r_min)
        images = render_disks(radii, image_size, centres - (image_size - 1) / 2)
    images = _blur(images, blur_sigma, axes=(2, 3))
    return images.astype(dtype), {"y": centres[:, 0], "x": centres[:, 1], "radius": radii}
