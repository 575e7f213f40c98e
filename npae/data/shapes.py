"""Scaled copies of one shape, centred, rendered like the disks (the size result for any shape).

A shape is an indicator on the plane, scaled so that it fits in the unit disk (its farthest point at
distance 1 from the centre).  The image of scale r has pixel centres at integer (i, j), the shape's
centre at c = (S - 1) / 2, a pixel is 1 if its centre p satisfies "(p - c) / r is in the shape", and
the binary image is blurred by the same Gaussian as the disks (``blur_sigma``).  Names:

* "disk" (the control: exactly :func:`npae.data.disks`), "square", "triangle" (equilateral),
  "star" (five points), "ellipse" (aspect ratio 2), "ring" (inner radius 0.5);
* "glyph:X": the character X in DejaVu Sans, through matplotlib's TextPath (a scaled-MNIST without
  a download);
* "image:PATH": your own binary mask, a PNG or a .npy array (values above half the maximum count as
  inside), cropped to its bounding box.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..nn.init import as_generator
from ..nn.layer import check_dtype
from .disks import disks, gaussian_kernel

BUILT_IN = ("disk", "square", "triangle", "star", "ellipse", "ring")


def _polygon(angles_deg, radii):
    angles = np.radians(np.asarray(angles_deg, dtype=np.float64))
    return np.column_stack([np.asarray(radii) * np.cos(angles), np.asarray(radii) * np.sin(angles)])


def _path_indicator(path):
    """The indicator of a closed matplotlib Path (even-odd rule over its outlines, so that the holes of a glyph
    such as "O" stay empty), for points (M, 2) in (x right, y up) unit coordinates."""
    from matplotlib.path import Path as MplPath

    outlines = [MplPath(polygon) for polygon in path.to_polygons(closed_only=True)]

    def indicator(points):
        inside = np.zeros(len(points), dtype=bool)
        for outline in outlines:
            inside ^= outline.contains_points(points)
        return inside

    return indicator


def _glyph_path(character: str):
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path as MplPath
    from matplotlib.textpath import TextPath

    if len(character) != 1 or character.isspace():
        raise ValueError(f"glyph: needs one visible character, got {character!r}")
    path = TextPath((0, 0), character, size=1.0, prop=FontProperties(family="DejaVu Sans"))
    vertices = path.vertices
    if len(vertices) == 0:
        raise ValueError(f"glyph:{character} renders to an empty outline")
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    scale = np.max(np.hypot(*(vertices - centre).T))
    return MplPath((vertices - centre) / scale, path.codes)


def load_mask(path) -> np.ndarray:
    """A binary mask (H, W) from a PNG or .npy file: values above half the maximum are inside.

    Refuses, naming the file, a mask that is empty, that fills its whole array, or that is not binary
    (more than 10% of its pixels between 10% and 90% of the maximum)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no mask file at {path}")
    if path.suffix.lower() == ".npy":
        values = np.load(path, allow_pickle=False)
    elif path.suffix.lower() == ".png":
        import matplotlib.image

        values = matplotlib.image.imread(path)
    else:
        raise ValueError(f"{path}: a mask must be a .png or .npy file")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 3:
        values = values[..., :3].mean(axis=2) * (values[..., 3] if values.shape[2] == 4 else 1)
    if values.ndim != 2 or not np.all(np.isfinite(values)):
        raise ValueError(f"{path}: a mask must be a finite 2-D image, got shape {values.shape}")
    top = values.max()
    if not top > 0:
        raise ValueError(f"{path}: the mask is empty (no pixel above zero)")
    grey = np.mean((values > 0.1 * top) & (values < 0.9 * top))
    if grey > 0.1:
        raise ValueError(f"{path}: the mask is not binary ({grey:.0%} of its pixels are neither dark nor bright)")
    mask = values > 0.5 * top
    if mask.all():
        raise ValueError(f"{path}: the mask fills the whole image, so it has no shape")
    rows, cols = np.nonzero(mask)
    return mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _mask_indicator(mask: np.ndarray):
    """Nearest-pixel lookup of a mask (H, W), centred and scaled so that its farthest pixel corner is at 1."""
    h, w = mask.shape
    half = np.hypot(h, w) / 2

    def indicator(points):
        cols = np.floor(points[:, 0] * half + w / 2).astype(np.int64)
        rows = np.floor(-points[:, 1] * half + h / 2).astype(np.int64)
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        result = np.zeros(len(points), dtype=bool)
        result[inside] = mask[rows[inside], cols[inside]]
        return result

    return indicator


def shape_indicator(name: str, image_size: int | None = None):
    """The indicator of a named shape on unit coordinates (points (M, 2), x right, y up) -> bool (M,)."""
    from matplotlib.path import Path as MplPath

    if name == "square":
        return lambda p: np.max(np.abs(p), axis=1) <= 1 / np.sqrt(2)
    if name == "triangle":
        return _path_indicator(MplPath(_polygon([90, 210, 330, 90], [1, 1, 1, 1]), closed=True))
    if name == "star":
        inner = np.sin(np.radians(18)) / np.sin(np.radians(126))
        angles = 90 + 36 * np.arange(11)
        return _path_indicator(MplPath(_polygon(angles, [1, inner] * 5 + [1]), closed=True))
    if name == "ellipse":
        return lambda p: p[:, 0] ** 2 + (p[:, 1] / 0.5) ** 2 <= 1
    if name == "ring":
        return lambda p: (np.hypot(p[:, 0], p[:, 1]) <= 1) & (np.hypot(p[:, 0], p[:, 1]) >= 0.5)
    if name == "disk":
        return lambda p: np.hypot(p[:, 0], p[:, 1]) <= 1
    if name.startswith("glyph:"):
        return _path_indicator(_glyph_path(name[len("glyph:"):]))
    if name.startswith("image:"):
        mask = load_mask(name[len("image:"):])
        if image_size is not None and max(mask.shape) > image_size:
            raise ValueError(f"{name}: the mask's shape {mask.shape} is larger than the {image_size} x "
                             f"{image_size} images")
        return _mask_indicator(mask)
    raise ValueError(f"unknown shape {name!r}; expected one of {BUILT_IN}, 'glyph:X' or 'image:PATH'")


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with zero boundary, the disks' filter (scipy.ndimage, mode="constant")."""
    if not sigma:
        return images
    from scipy.ndimage import correlate1d

    taps = gaussian_kernel(sigma)
    out = correlate1d(images, taps, axis=-1, mode="constant")
    return correlate1d(out, taps, axis=-2, mode="constant")


def render_shapes(indicator, scales: np.ndarray, image_size: int, blur_sigma: float = 0.5) -> np.ndarray:
    """(N, 1, S, S) float64: the shape at each scale (circumradius in pixels), centred, blurred."""
    c = (image_size - 1) / 2
    grid = np.arange(image_size) - c
    x = np.broadcast_to(grid[None, :], (image_size, image_size)).ravel()
    y = np.broadcast_to(-grid[:, None], (image_size, image_size)).ravel()
    images = np.zeros((len(scales), 1, image_size, image_size))
    for k, scale in enumerate(scales):
        if scale > 0:
            points = np.column_stack([x, y]) / scale
            images[k, 0] = indicator(points).reshape(image_size, image_size)
    return _blur(images, blur_sigma)


def scaled_shapes(shape: str, n, image_size=64, scale_range=None, blur_sigma=0.5, rng=None, dtype=np.float32,
                  scales=None):
    """Images of one shape at random scales, and their attributes.

    ``scale_range`` (default (0, S / 2)): the circumradius r is drawn uniformly in it (or given as
    ``scales``).  Returns (images (N, 1, S, S) of ``dtype``, {"scale": r, "area": pixel sum}).
    "disk" returns exactly :func:`npae.data.disks` (its "radius" is the scale).
    """
    rng, dtype = as_generator(rng), check_dtype(dtype)
    if shape == "disk":
        images, attributes = disks(n, image_size, radius_range=scale_range, blur_sigma=blur_sigma, rng=rng,
                                   dtype=dtype, radii=scales)
        return images, {"scale": attributes["radius"], "area": attributes["area"]}
    indicator = shape_indicator(shape, image_size)
    if scales is None:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        low, high = scale_range if scale_range is not None else (0.0, image_size / 2)
        if not 0 <= low < high:
            raise ValueError(f"scale_range must satisfy 0 <= low < high, got {scale_range}")
        scales = rng.uniform(low, high, int(n))
    scales = np.asarray(scales, dtype=np.float64)
    if scales.ndim != 1 or not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise ValueError("scales must be a 1-D array of finite, non-negative numbers")
    images = render_shapes(indicator, scales, image_size, float(blur_sigma or 0.0)).astype(dtype)
    return images, {"scale": scales, "area": images.sum(axis=(1, 2, 3), dtype=np.float64)}


def shape_test_set(shape: str, image_size=64, n=300, blur_sigma=0.5, dtype=np.float32):
    """Deterministic test images: scales linspace(0, (S - 1) / 2, n), as the disks' test set."""
    return scaled_shapes(shape, n, image_size, blur_sigma=blur_sigma, dtype=dtype, rng=0,
                         scales=np.linspace(0, (image_size - 1) / 2, n))
