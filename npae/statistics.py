"""Statistics of codes against attributes, used by every experiment: correlations, R^2, principal axes,
and how a code depends on attributes when the dependence is not linear."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats
from scipy.sparse.linalg import svds


def abs_corr(a: np.ndarray, b: np.ndarray) -> float:
    """|Pearson correlation| of two samples (N,)."""
    return float(abs(np.corrcoef(a, b)[0, 1]))


def abs_rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    """|Spearman rank correlation| of two samples (N,): 1 for any monotone relation."""
    return float(abs(stats.spearmanr(a, b)[0]))


def abs_spearman_or_zero(code: np.ndarray, attribute: np.ndarray) -> float:
    """|Spearman(code, attribute)|, 0 for a constant code (which carries nothing)."""
    code = np.asarray(code, np.float64)
    return 0.0 if np.ptp(code) == 0 else abs_rank_corr(code, attribute)


def linear_r2(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of the least-squares line y ~ a + b x."""
    return float(stats.linregress(x, y).rvalue ** 2)


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


def abs_pearson(codes: np.ndarray, attribute: np.ndarray) -> list[float]:
    """|Pearson(z_i, attribute)| for each column of codes (N, k), ignoring NaN attributes."""
    keep = np.isfinite(attribute)
    return [float(abs(np.corrcoef(codes[keep, i], attribute[keep])[0, 1])) for i in range(codes.shape[1])]


def abs_spearman(codes: np.ndarray, attribute: np.ndarray) -> list[float]:
    """|Spearman(z_i, attribute)| for each column of codes (N, k), ignoring NaN attributes: as Pearson, but on
    ranks, so a code that follows any increasing function of the attribute (log H, say) scores 1."""
    keep = np.isfinite(attribute)
    return [float(abs(stats.spearmanr(codes[keep, i], attribute[keep])[0])) for i in range(codes.shape[1])]


def multiple_correlation(codes: np.ndarray, attribute: np.ndarray) -> float:
    """R of the least-squares fit attribute ~ a + codes @ b: how much of it the codes carry linearly, together."""
    return float(np.sqrt(max(0.0, multiple_r2(codes, attribute))))


def plane_angles(codes: np.ndarray, first: np.ndarray, second: np.ndarray) -> list[float]:
    """Degrees, for each code, from the ``first`` attribute's axis in the plane of (first, second):
    atan(|corr(z, second)| / |corr(z, first)|); 0 = the code follows ``first``, 90 = ``second``."""
    return [float(np.degrees(np.arctan2(b, a)))
            for a, b in zip(abs_pearson(codes, first), abs_pearson(codes, second))]


class PrincipalAxes(NamedTuple):
    """Linear PCA of images flattened to D pixels: the mean (D,), the axes (count, D) by decreasing variance,
    and ``explained`` (count,), the fraction of the total variance along each axis."""

    mean: np.ndarray
    basis: np.ndarray
    explained: np.ndarray

    def check(self, components: int) -> None:
        if not 1 <= components <= len(self.basis):
            raise ValueError(f"components must be in [1, {len(self.basis)}], got {components}")

    def coordinates(self, images: np.ndarray, components: int) -> np.ndarray:
        """(N, j): the centred images' coordinates on the first j = ``components`` axes."""
        self.check(components)
        return (images.reshape(len(images), -1).astype(np.float64) - self.mean) @ self.basis[:components].T


def principal_axes(train: np.ndarray, count: int) -> PrincipalAxes:
    """The first ``count`` principal axes of the training images (truncated SVD of the centred images)."""
    flat_train = train.reshape(len(train), -1).astype(np.float64)
    mean = flat_train.mean(axis=0)
    centred = flat_train - mean
    _, singular_values, basis = svds(centred, k=count, random_state=0)
    order = np.argsort(singular_values)[::-1]
    return PrincipalAxes(mean, basis[order], singular_values[order] ** 2 / np.sum(centred ** 2))


def off_diagonal_max(codes: np.ndarray) -> float:
    matrix = np.abs(np.corrcoef(codes, rowvar=False))
    return float(np.max(matrix[~np.eye(len(matrix), dtype=bool)]))
