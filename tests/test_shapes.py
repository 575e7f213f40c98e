"""The size result for any shape: data, the pixel-exact maximiser's properties, and the pipeline."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from npae import theory
from npae.data import disks
from npae.data.shapes import render_shapes, scaled_shapes, shape_indicator, shape_test_set

SIZE = 24


def star_shaped(harmonics, symmetry: int = 1, mirror: bool = False):
    """The indicator of {rho <= r(theta)}, r = 0.6 + sum a_k cos(k m theta + phi_k) kept in [0.3, 1]: a random
    star-shaped mask, invariant under rotations by 360/m degrees, and under y -> -y if ``mirror``."""
    def radius(theta):
        r = 0.6 + sum(a * np.cos((k + 1) * symmetry * theta + (0.0 if mirror else phase))
                      for k, (a, phase) in enumerate(harmonics))
        return np.clip(r, 0.3, 1.0)

    return lambda p: np.hypot(p[:, 0], p[:, 1]) <= radius(np.arctan2(p[:, 1], p[:, 0]))


harmonic_lists = st.lists(st.tuples(st.floats(-0.15, 0.15), st.floats(0, 2 * np.pi)), min_size=1, max_size=3)
scale_lists = st.lists(st.floats(3.0, SIZE / 2), min_size=4, max_size=12)


def maximiser(indicator, scales):
    return theory.pixel_maximiser(render_shapes(indicator, np.asarray(scales), SIZE))[0]


def same_up_to_sign(a, b, tolerance=1e-8):
    return min(np.abs(a - b).max(), np.abs(a + b).max()) < tolerance


@settings(max_examples=25, deadline=None)
@given(harmonic_lists, scale_lists, st.randoms(use_true_random=False), st.integers(2, 3))
def test_the_maximiser_ignores_the_order_and_uniform_duplication_of_the_family(harmonics, scales, shuffle, copies):
    indicator = star_shaped(harmonics)
    reference = maximiser(indicator, scales)
    reordered = list(scales)
    shuffle.shuffle(reordered)
    assert same_up_to_sign(maximiser(indicator, reordered), reference)
    assert same_up_to_sign(maximiser(indicator, list(scales) * copies), reference)


@settings(max_examples=25, deadline=None)
@given(harmonic_lists, scale_lists)
def test_the_maximiser_has_the_masks_rotation_symmetry(harmonics, scales):
    f = maximiser(star_shaped(harmonics, symmetry=4), scales)
    assert np.abs(f - np.rot90(f)).max() < 1e-8


@settings(max_examples=25, deadline=None)
@given(harmonic_lists, scale_lists)
def test_the_maximiser_has_the_masks_mirror_symmetry(harmonics, scales):
    f = maximiser(star_shaped(harmonics, mirror=True), scales)
    assert np.abs(f - f[::-1, :]).max() < 1e-8


def airy_error(size: int, count: int = 600) -> float:
    """Gap to Airy of the pixel-exact maximiser of disks with radii on the midpoint grid of (0, R): the integral
    over r by quadrature (random radii add a sampling error of about 1.4% that hides the pixels' share)."""
    R = size / 2
    radii = (np.arange(count) + 0.5) / count * R
    images, _ = disks(count, size, radii=radii, dtype=np.float64)
    solution = theory.solve_pixel_energy(images)
    inside = solution.rho <= R
    airy = theory.airy_closed_form(R, solution.rho[inside])
    return theory.relative_l2_gap(solution.rho[inside], solution.f[inside], airy.f, R)


def test_the_disk_familys_maximiser_approaches_airy_as_the_grid_is_refined():
    coarse, fine = airy_error(64), airy_error(128)
    assert fine < coarse < 0.005


def test_the_disk_is_exactly_the_disk_data_and_its_test_set():
    images, attributes = scaled_shapes("disk", 5, 32, rng=np.random.default_rng(1))
    expected, expected_attributes = disks(5, 32, rng=np.random.default_rng(1))
    assert np.array_equal(images, expected) and np.array_equal(attributes["scale"], expected_attributes["radius"])
    test, _ = shape_test_set("disk", 64)
    assert np.array_equal(test, disks(300, 64, radii=np.linspace(0, 31.5, 300), rng=0)[0])


@pytest.mark.parametrize("name", ["square", "triangle", "star", "ellipse", "ring", "glyph:A", "glyph:7"])
def test_built_in_shapes_fit_the_unit_disk_and_grow_with_the_scale(name):
    images, attributes = scaled_shapes(name, 3, 32, scales=np.array([0.0, 6.0, 15.0]), blur_sigma=0)
    assert images.dtype == np.float32 and set(np.unique(images)) <= {0.0, 1.0}
    area = attributes["area"]
    assert area[0] == 0 and 0 < area[1] < area[2] < np.pi * 15.5 ** 2
    c = 15.5
    i, j = np.nonzero(images[2, 0])
    assert np.hypot(i - c, j - c).max() <= 15.0 + 1e-9


def test_glyph_holes_stay_empty():
    images, _ = scaled_shapes("glyph:O", 1, 64, scales=np.array([31.0]), blur_sigma=0)
    assert images[0, 0, 32, 32] == 0 and images[0, 0].sum() > 100


def test_user_masks_load_and_bad_ones_are_refused_by_name(tmp_path):
    mask = np.zeros((10, 12))
    mask[2:8, 3:9] = 1
    np.save(tmp_path / "box.npy", mask)
    images, attributes = scaled_shapes(f"image:{tmp_path / 'box.npy'}", 2, 32, scales=np.array([5.0, 12.0]))
    assert attributes["area"][1] > attributes["area"][0] > 0
    import matplotlib.pyplot as plt
    plt.imsave(tmp_path / "box.png", mask, cmap="gray")
    assert scaled_shapes(f"image:{tmp_path / 'box.png'}", 1, 32, scales=np.array([12.0]))[1]["area"][0] > 0
    np.save(tmp_path / "empty.npy", np.zeros((5, 5)))
    np.save(tmp_path / "grey.npy", np.full((5, 5), 0.5) + np.eye(5) * 0.5)
    np.save(tmp_path / "big.npy", np.pad(np.ones((40, 40)), 1))
    with pytest.raises(ValueError, match="empty.npy: the mask is empty"):
        shape_indicator(f"image:{tmp_path / 'empty.npy'}")
    with pytest.raises(ValueError, match="grey.npy: the mask is not binary"):
        shape_indicator(f"image:{tmp_path / 'grey.npy'}")
    with pytest.raises(ValueError, match="larger than the 32 x 32 images"):
        shape_indicator(f"image:{tmp_path / 'big.npy'}", 32)
    with pytest.raises(FileNotFoundError):
        shape_indicator(f"image:{tmp_path / 'absent.npy'}")
    with pytest.raises(ValueError, match="unknown shape 'hexagon'"):
        shape_indicator("hexagon")


def test_reproduce_shapes_pipeline_at_smoke_settings(tmp_path):
    from npae.cli import main
    out = tmp_path / "shapes"
    assert main(["reproduce", "shapes", "--smoke", "--shape", "disk", "--shape", "glyph:L", "--out", str(out),
                 "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for shape in ("disk", "glyph:L"):
        free = metrics[shape]["without_bias"]
        assert free["homogeneity_max_relative_error"] < 1e-10
        assert {"gap_direction_to_pixel_maximiser", "gap_amplitude_to_optimal"} <= set(free)
        assert "spearman_z_area" in metrics[shape]["with_bias"]
    assert (out / "direction_glyph-L.png").stat().st_size > 0 and "| glyph:L |" in (out / "report.md").read_text()
