"""The radial variational problem of the bias-free decoder, and Airy's equation (SCIENCE.md 1).

For a radial profile f on [0, R] and disks B_r, r in [0, R],

    <f, 1_{B_r}> = 2 pi g(r),   g(r) = int_0^r f(s) s ds,   ||f||^2 = 2 pi int_0^R f(s)^2 s ds,

and the decoder learns the maximiser of E(f) = int_0^R <f, 1_{B_r}>^2 dr / ||f||^2.
Exchanging the integrals, int_0^R g(r)^2 dr = int int f(p) p K(p, s) s f(s) dp ds with
K(p, s) = R - max(p, s), so the maximiser solves the eigenproblem

    lambda f(p) = int_0^R K(p, s) f(s) s ds   (= int_p^R g(r) dr),

whose largest lambda gives E = 2 pi lambda, and differentiating twice gives Airy's
equation f'' = -k p f with k = 1 / lambda, f'(0) = 0, f(R) = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, sparse, special
from scipy.sparse import linalg as sparse_linalg

AIRY_ZERO = float(optimize.brentq(lambda x: special.airy(-x)[0] + special.airy(-x)[2] / np.sqrt(3), 1.5, 2.5,
                                  xtol=1e-15))
"""x0 = k^(1/3) R = 1.9864...: the first positive zero of Ai(-x) + Bi(-x)/sqrt(3); k R^3 = x0^3 = 7.837..."""


@dataclass
class RadialSolution:
    """A radial profile: grid ``rho`` (n,), ``f`` (n,) with f(0) = 1, Airy's ``k`` and the ``energy`` E(f)."""

    rho: np.ndarray
    f: np.ndarray
    k: float
    energy: float

    @property
    def radius(self) -> float:
        return float(self.rho[-1])


def _check_grid(R, n, minimum=3):
    if not (np.isfinite(R) and R > 0):
        raise ValueError(f"R must be a positive number, got {R!r}")
    if int(n) != n or n < minimum:
        raise ValueError(f"n must be an integer >= {minimum}, got {n!r}")
    return float(R), int(n)


def trapezoid_weights(rho: np.ndarray) -> np.ndarray:
    """w with sum_i w_i u(rho_i) the trapezoid rule for int u over [rho_0, rho_-1]."""
    steps = np.diff(rho)
    weights = np.zeros_like(rho)
    weights[:-1] += steps / 2
    weights[1:] += steps / 2
    return weights


def radial_energy(rho: np.ndarray, f: np.ndarray) -> float:
    """E(f) = int_0^R <f, 1_{B_r}>^2 dr / ||f||^2 by the trapezoid rule on the grid ``rho``."""
    g = np.concatenate([[0.0], np.cumsum(np.diff(rho) * 0.5 * (f[1:] * rho[1:] + f[:-1] * rho[:-1]))])
    inner = 2 * np.pi * g
    norm2 = 2 * np.pi * np.sum(trapezoid_weights(rho) * f**2 * rho)
    return float(np.sum(trapezoid_weights(rho) * inner**2) / norm2)


def solve_energy(R: float, n: int) -> RadialSolution:
    """Maximise E(f) directly: Nystrom discretisation of lambda f = int K(., s) f(s) s ds.

    Quadrature: the trapezoid rule on n equispaced points rho_i = i R / (n - 1), weights
    w_i (h/2 at both ends, h inside), for the integral in s; the kernel's kink at p = s lies
    on grid points, so the error is O(h^2).  With D = diag(sqrt(w_j rho_j)) (zero at rho = 0)
    the problem is the symmetric eigenproblem of D K D on the points rho > 0; f(0) follows
    from the equation's first row.  Returns f normalised to f(0) = 1, k = 1/lambda and
    E = 2 pi lambda.
    """
    R, n = _check_grid(R, n)
    rho = np.linspace(0.0, R, n)
    kernel = R - np.maximum(rho[:, None], rho[None, :])
    measure = trapezoid_weights(rho) * rho
    d = np.sqrt(measure[1:])
    symmetric = d[:, None] * kernel[1:, 1:] * d[None, :]
    values, vectors = linalg.eigh(symmetric, subset_by_index=[n - 2, n - 2])
    lam, u = float(values[0]), vectors[:, 0]
    f = np.empty(n)
    f[1:] = u / d
    f[0] = kernel[0, 1:] @ (measure[1:] * f[1:]) / lam
    f /= f[0]
    return RadialSolution(rho, f, 1.0 / lam, 2 * np.pi * lam)


def solve_airy_fd(R: float, n: int) -> RadialSolution:
    """Finite differences for -f'' = k rho f, f'(0) = 0, f(R) = 0: the smallest k and its f.

    Grid rho_i = i h, h = R/(n-1); unknowns f_0..f_{n-2} (f_{n-1} = f(R) = 0).  Rows
    (-f_{i-1} + 2 f_i - f_{i+1}) / h^2 = k rho_i f_i; at rho = 0 the ghost value
    f_{-1} = f_1 (f'(0) = 0), halved to keep the matrix symmetric: (f_0 - f_1)/h^2 = k (rho_0/2) f_0.
    L is symmetric positive definite and B = diag(rho) semi-definite, so the smallest k is
    1/mu for the largest mu of B f = mu L f (scipy's sparse eigsh with M = L, from a fixed start
    vector so that the result is the same bit for bit on every call).  O(h^2).
    """
    R, n = _check_grid(R, n)
    rho = np.linspace(0.0, R, n)
    h = rho[1]
    m = n - 1
    main = np.full(m, 2.0)
    main[0] = 1.0
    laplacian = sparse.diags([-np.ones(m - 1), main, -np.ones(m - 1)], [-1, 0, 1], format="csc") / h**2
    weights = rho[:m].copy()
    weights[0] /= 2
    mass = sparse.diags(weights, format="csc")
    if m <= 3:
        values, vectors = linalg.eigh(mass.toarray(), laplacian.toarray())
        mu, v = values[-1], vectors[:, -1]
    else:
        start = np.ones(m)
        values, vectors = sparse_linalg.eigsh(mass, k=1, M=laplacian, which="LA", v0=start)
        mu, v = values[0], vectors[:, 0]
    f = np.append(v, 0.0)
    f /= f[0]
    return RadialSolution(rho, f, float(1.0 / mu), radial_energy(rho, f))


def airy_profile(rho: np.ndarray, k: float) -> np.ndarray:
    """f(rho) = [Ai(-k^(1/3) rho) + Bi(-k^(1/3) rho)/sqrt(3)] / (2 Ai(0)), so that f(0) = 1."""
    ai, _, bi, _ = special.airy(-np.cbrt(k) * np.asarray(rho, dtype=np.float64))
    return (ai + bi / np.sqrt(3)) / (2 * special.airy(0.0)[0])


def airy_closed_form(R: float, rho: np.ndarray | None = None, n: int = 512) -> RadialSolution:
    """The closed form on ``rho`` (default n points on [0, R]): k = (x0 / R)^3, x0 = 1.9864..."""
    R, _ = _check_grid(R, 3)
    rho = np.linspace(0.0, R, n) if rho is None else np.asarray(rho, dtype=np.float64)
    k = (AIRY_ZERO / R) ** 3
    f = airy_profile(rho, k)
    fine = np.linspace(0.0, R, 20001)
    return RadialSolution(rho, f, k, radial_energy(fine, airy_profile(fine, k)))


def disk_inner_products(rho: np.ndarray, f: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """<f, 1_{B_r}> = 2 pi int_0^r f(s) s ds for each r in ``radii`` (trapezoid rule, f interpolated)."""
    cumulative = np.concatenate([[0.0], np.cumsum(np.diff(rho) * 0.5 * (f[1:] * rho[1:] + f[:-1] * rho[:-1]))])
    return 2 * np.pi * np.interp(radii, rho, cumulative)


def optimal_amplitude(rho: np.ndarray, f: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h(r) = <f, 1_{B_r}> / ||f||^2 and the error min_h ||h f - 1_{B_r}||^2 = pi r^2 - <f, 1_{B_r}>^2 / ||f||^2."""
    norm2 = 2 * np.pi * np.sum(trapezoid_weights(rho) * f**2 * rho)
    inner = disk_inner_products(rho, f, np.asarray(radii, dtype=np.float64))
    return inner / norm2, np.pi * np.asarray(radii) ** 2 - inner**2 / norm2
