"""Analytic solvers of the size result: radial energy, Airy (finite differences and closed form), pixel-exact energy."""
from .pixel import (first_zero, fit_airy_radius, pixel_maximiser, radial_profile, relative_l2_gap, solve_pixel_energy,
                    unit_l2, value_at_zero)
from .radial import (AIRY_ZERO, RadialSolution, airy_closed_form, airy_profile, disk_inner_products,
                     optimal_amplitude, radial_energy, solve_airy_fd, solve_energy)

__all__ = ["AIRY_ZERO", "RadialSolution", "airy_closed_form", "airy_profile", "disk_inner_products",
           "optimal_amplitude", "radial_energy", "solve_airy_fd", "solve_energy", "solve_pixel_energy", "pixel_maximiser",
           "radial_profile", "relative_l2_gap", "first_zero", "fit_airy_radius", "unit_l2", "value_at_zero"]
