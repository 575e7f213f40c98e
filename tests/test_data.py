"""Disk data: radii distributions, blur preserves mass, determinism, the deterministic test set."""
import numpy as np
import pytest
from scipy import stats
from scipy.ndimage import gaussian_filter

from npae.data import disk_test_set, disks
from npae.data.disks import render_disks


def test_radius_is_uniform():
    _, attributes = disks(4000, 64, radius_range=(0, 32), rng=0)
    assert stats.kstest(attributes["radius"] / 32, "uniform").pvalue > 0.01


def test_area_distribution_is_uniform_in_r_squared():
    _, attributes = disks(4000, 64, radius_range=(2, 30), distribution="area", rng=0)
    r2 = (attributes["radius"] ** 2 - 4) / (900 - 4)
    assert stats.kstest(r2, "uniform").pvalue > 0.01
    assert stats.kstest(attributes["radius"] / 30, "uniform").pvalue < 1e-6


def test_gaussian_blur_matches_scipy_and_preserves_mass():
    images, attributes = disks(20, 64, radius_range=(1, 28), blur_sigma=0.8, rng=1, dtype=np.float64)
    binary = render_disks(attributes["radius"], 64)
    np.testing.assert_allclose(images, gaussian_filter(binary, 0.8, axes=(2, 3), mode="constant"), atol=1e-12)
    np.testing.assert_allclose(images.sum(axis=(1, 2, 3)), binary.sum(axis=(1, 2, 3)), rtol=1e-9)


def test_supersampled_rendering_is_close_to_the_area_and_in_range():
    images, attributes = disks(10, 63, radius_range=(5, 25), supersample=200, rng=2, dtype=np.float64)
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_allclose(attributes["area"], np.pi * attributes["radius"] ** 2, rtol=0.03)


def test_pixels_inside_the_radius_are_one_before_blur():
    images, _ = disks(1, 64, blur_sigma=0, radii=[10.0], dtype=np.float64)
    c = 31.5
    i, j = np.mgrid[:64, :64]
    np.testing.assert_array_equal(images[0, 0], ((i - c) ** 2 + (j - c) ** 2 <= 100).astype(float))


def test_determinism_and_dtype():
    a, attributes_a = disks(50, 64, rng=np.random.default_rng(3))
    b, attributes_b = disks(50, 64, rng=np.random.default_rng(3))
    assert a.dtype == np.float32 and a.shape == (50, 1, 64, 64)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(attributes_a["radius"], attributes_b["radius"])


def test_test_set_grid():
    images, attributes = disk_test_set(64)
    assert images.shape == (300, 1, 64, 64)
    np.testing.assert_array_equal(attributes["radius"], np.linspace(0, 31.5, 300))


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=0), "positive"), (dict(n=5, distribution="normal"), "unknown radius distribution"),
    (dict(n=5, radius_range=(5, 2)), "radius_range"), (dict(n=5, dtype=np.int8), "float32 or float64"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        disks(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(blur_sigma=-0.5), "blur_sigma"), (dict(supersample=0.5), "supersample"),
    (dict(radii=[-1.0, 2.0]), "non-negative"),
])
def test_bad_rendering_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        disks(3, 16, **kwargs)
