"""Analytic solvers: convergence to the closed form, k R^3, scaling, optimality, the pixel-exact version."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npae.data import disks
from npae.theory import (AIRY_ZERO, airy_closed_form, optimal_amplitude, radial_energy, relative_l2_gap,
                         solve_airy_fd, solve_energy, solve_pixel_energy)

SOLVERS = [solve_energy, solve_airy_fd]


def error_against_closed_form(solver, R, n):
    solution = solver(R, n)
    return np.abs(solution.f - airy_closed_form(R, solution.rho).f).max()


@pytest.mark.parametrize("solver", SOLVERS)
def test_second_order_convergence_and_accuracy_at_512(solver):
    errors = [error_against_closed_form(solver, 1.0, n) for n in (65, 129, 257, 513)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.8) & (ratios < 4.2)), ratios
    assert error_against_closed_form(solver, 1.0, 512) < 1e-5


def test_closed_form_satisfies_the_boundary_conditions():
    solution = airy_closed_form(2.0, np.array([0.0, 1e-6, 2.0]))
    assert solution.f[0] == pytest.approx(1.0, abs=1e-14)
    assert (solution.f[1] - solution.f[0]) / 1e-6 == pytest.approx(0.0, abs=1e-5)
    assert solution.f[2] == pytest.approx(0.0, abs=1e-12)
    assert AIRY_ZERO == pytest.approx(1.98635, abs=1e-5)


@given(st.floats(0.05, 100.0))
def test_k_R_cubed_is_universal(R):
    for solver in SOLVERS:
        assert solver(R, 256).k * R**3 == pytest.approx(7.837, abs=1e-3)
    assert airy_closed_form(R).k * R**3 == pytest.approx(7.8373474, abs=1e-6)


@given(st.floats(0.1, 50.0))
def test_scaling_f_R_of_rho_equals_f_1_of_rho_over_R(R):
    scaled, unit = solve_energy(R, 200), solve_energy(1.0, 200)
    np.testing.assert_allclose(scaled.rho / R, unit.rho, rtol=1e-12)
    np.testing.assert_allclose(scaled.f, unit.f, atol=1e-10)


@given(st.integers(0, 10_000))
def test_solver_energy_beats_any_other_profile(seed):
    rng = np.random.default_rng(seed)
    best = solve_energy(1.0, 200)
    coefficients = rng.standard_normal(6)
    other = np.polynomial.chebyshev.chebval(2 * best.rho - 1, coefficients)
    assert radial_energy(best.rho, best.f) >= radial_energy(best.rho, other) - 1e-12
    assert best.energy == pytest.approx(radial_energy(best.rho, best.f), rel=1e-4)


@given(st.integers(0, 10_000), st.floats(0.05, 0.95))
def test_optimal_amplitude_minimises_the_error(seed, r):
    """h(r) is the minimiser of the quadratic a -> int (a f - 1_{B_r})^2 (2 pi rho d rho), up to quadrature."""
    rng = np.random.default_rng(seed)
    rho = np.linspace(0, 1, 4001)
    f = np.polynomial.chebyshev.chebval(2 * rho - 1, rng.standard_normal(4))
    h, error = optimal_amplitude(rho, f, np.array([r]))
    weights = np.gradient(rho) * rho * 2 * np.pi
    inside = (rho <= r).astype(float)

    def cost(a):
        return np.sum(weights * (a * f - inside) ** 2)

    c0, c1, c2 = cost(0.0), cost(1.0), cost(-1.0)
    curvature, slope = (c1 + c2 - 2 * c0) / 2, (c1 - c2) / 2
    minimiser = -slope / (2 * curvature)
    assert h[0] == pytest.approx(minimiser, rel=1e-2, abs=1e-3)
    assert error[0] == pytest.approx(cost(minimiser), rel=1e-2, abs=1e-3)
    assert cost(h[0]) <= min(cost(h[0] + 0.1), cost(h[0] - 0.1))


def test_pixel_energy_is_radial_and_close_to_airy():
    images, _ = disks(1500, 64, radius_range=(0, 32), rng=0, dtype=np.float64)
    solution = solve_pixel_energy(images)
    image = solution.image
    for rotated in (np.rot90(image), image.T, image[::-1]):
        np.testing.assert_allclose(rotated, image, atol=0.05 * np.abs(image).max())
    inside = solution.rho <= 32
    airy = airy_closed_form(32.0, solution.rho[inside])
    # measured: relative L2 gap 0.0066 and max |f - f_Airy| 0.0095 (f(0) = 1) with 1500 disks; the
    # rest is the pixel grid and the 0.5 px blur, so 2% and 3% leave room for the random radii
    assert relative_l2_gap(solution.rho[inside], solution.f[inside], airy.f, 32.0) < 0.02
    assert np.abs(solution.f[inside] - airy.f).max() < 0.03
    assert AIRY_ZERO / np.cbrt(solution.k) == pytest.approx(32.0, abs=0.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="R must be"):
        solve_energy(-1.0, 100)
    with pytest.raises(ValueError, match="n must be"):
        solve_airy_fd(1.0, 2)
    with pytest.raises(ValueError, match="NaN"):
        solve_pixel_energy(np.full((3, 1, 8, 8), np.nan))


def test_decoder_analysis_on_a_short_bias_free_run(tmp_path):
    from npae.experiments.airy import analyse_decoder, run_airy
    from npae.models import disk_autoencoder
    from npae.train import Trainer, TrainConfig

    model = disk_autoencoder("talk", image_size=16, channels=4, bias=False, rng=0)
    Trainer(model, TrainConfig(steps=40, batch_size=16, lr=3e-3, train_size=100)).run(progress=False)
    analysis = analyse_decoder(model)
    assert analysis["R"] == 8.0 and np.isfinite(analysis["gap_to_airy"])
    assert analysis["profile"][0] == pytest.approx(1.0, abs=0.2)
    numbers = run_airy(tmp_path, 8.0, 64, model=model)
    assert (tmp_path / "airy.png").stat().st_size > 0 and (tmp_path / "amplitude.png").stat().st_size > 0
    assert np.isfinite(numbers["gap_to_airy"]) and numbers["kR3_closed_form"] == pytest.approx(7.8373, abs=1e-4)
    with pytest.raises(ValueError, match="bias-free"):
        analyse_decoder(disk_autoencoder("talk", image_size=16, channels=4, rng=0))
