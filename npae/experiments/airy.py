"""The trained bias-free decoder held against the energy maximiser and Airy's function.

A bias-free decoder with a 1-D code is positively homogeneous, D(l z) = l D(z) for l >= 0,
so on the codes of one sign it outputs y = h(z) f with one image f = D(+-1).  Its radial
profile is compared with the radial energy maximiser and the closed form, and its
amplitude h(r) = <D(E(x_r)), f> / ||f||^2 with the optimal <x_r, f> / ||f||^2.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import theory
from ..files import write_json
from ..data import disk_test_set


def decoder_image(model, sign: float) -> np.ndarray:
    """f = D(sign) as a float64 (S, S) image: the one image a bias-free 1-D decoder scales."""
    z = np.full((1, model.config.latent_dim, 1, 1), sign, dtype=model.dtype)
    return model.decoder.forward(z)[0, 0].astype(np.float64)


def analyse_decoder(model, R: float | None = None, n_test: int = 300) -> dict:
    """Radial profile, amplitude and the gap to Airy of a bias-free, 1-D latent disk autoencoder."""
    if model.config.bias or model.config.latent_dim != 1:
        raise ValueError("analyse_decoder needs a bias-free model with a 1-D latent code "
                         f"(got bias={model.config.bias}, latent_dim={model.config.latent_dim})")
    size = model.config.image_size
    R = size / 2 if R is None else float(R)
    images, attributes = disk_test_set(size, n=n_test, r_max=(size - 1) / 2, dtype=model.dtype)
    codes = model.encoder.forward(images).ravel().astype(np.float64)
    sign = 1.0 if np.sum(codes > 0) >= np.sum(codes < 0) else -1.0
    image = decoder_image(model, sign)
    rho, values = theory.radial_profile(image)
    profile = values / theory.value_at_zero(rho, values)
    inside = rho <= R
    airy = theory.airy_closed_form(R, rho[inside])
    outputs = model.decoder.forward(codes.reshape(-1, 1, 1, 1).astype(model.dtype))[:, 0].astype(np.float64)
    norm2 = float(np.sum(image**2))
    flat = images[:, 0].reshape(n_test, -1).astype(np.float64)
    return {
        "R": R, "code_sign": sign, "fraction_codes_of_that_sign": float(np.mean(np.sign(codes) == sign)),
        "rho": rho, "profile": profile, "image": image,
        "gap_to_airy": theory.relative_l2_gap(rho[inside], profile[inside], airy.f, R),
        "max_abs_to_airy": float(np.abs(profile[inside] - airy.f).max()),
        "radius": attributes["radius"],
        "amplitude_decoder": outputs.reshape(n_test, -1) @ image.ravel() / norm2,
        "amplitude_optimal": flat @ image.ravel() / norm2,
    }


def solver_table(R: float, n: int) -> dict:
    """k R^3 and max |f - f_closed| of both solvers at n points, and the energies."""
    energy, fd = theory.solve_energy(R, n), theory.solve_airy_fd(R, n)
    closed = theory.airy_closed_form(R, energy.rho)
    return {
        "R": R, "n": n, "kR3_closed_form": closed.k * R**3,
        "kR3_energy_solver": energy.k * R**3, "kR3_fd_solver": fd.k * R**3,
        "max_error_energy_solver": float(np.abs(energy.f - closed.f).max()),
        "max_error_fd_solver": float(np.abs(fd.f - theory.airy_closed_form(R, fd.rho).f).max()),
        "energy_closed_form": closed.energy, "energy_solver": energy.energy,
    }


def pixel_disk_family(count: int, size: int, radius: float, seed: int = 0) -> np.ndarray:
    """``count`` float64 disks of radius uniform in (0, radius): the family of the pixel-exact maximiser."""
    from ..data import disks

    return disks(count, size, radius_range=(0, radius), rng=np.random.default_rng(seed), dtype=np.float64)[0]


def run_airy(out, R: float = 32.0, n: int = 512, model=None, pixel_images=None) -> dict:
    """Write airy.png (three curves, or two without a model), amplitude.png and airy.json into ``out``."""
    from .. import plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    numbers = solver_table(R, n)
    energy = theory.solve_energy(R, n)
    closed = theory.airy_closed_form(R, energy.rho)
    curves = {"energy maximiser (radial, n = %d)" % n: (energy.rho, energy.f),
              "Airy: Ai(-k^1/3 rho) + Bi(-k^1/3 rho)/sqrt(3)": (closed.rho, closed.f)}
    if pixel_images is not None:
        pixel = theory.solve_pixel_energy(pixel_images)
        inside = pixel.rho <= R
        numbers["gap_pixel_energy_to_airy"] = theory.relative_l2_gap(
            pixel.rho[inside], pixel.f[inside], theory.airy_closed_form(R, pixel.rho[inside]).f, R)
        curves["pixel-exact energy maximiser (top singular vector)"] = (pixel.rho, pixel.f)
    if model is not None:
        analysis = analyse_decoder(model, R)
        numbers.update({k: analysis[k] for k in ("gap_to_airy", "max_abs_to_airy", "code_sign",
                                                 "fraction_codes_of_that_sign")})
        curves = {"trained bias-free decoder": (analysis["rho"], analysis["profile"]), **curves}
        plots.amplitude(analysis["radius"], analysis["amplitude_decoder"], analysis["amplitude_optimal"],
                        out / "amplitude.png")
    title = f"profiles on [0, R], R = {R:g}"
    if model is not None:
        title += f"; decoder vs Airy: relative L2 gap {numbers['gap_to_airy']:.3f}"
    plots.profiles(curves, R, out / "airy.png", title)
    write_json(out / "airy.json", numbers)
    return numbers
