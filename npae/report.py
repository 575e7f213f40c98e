"""report.md and metrics.json from what an experiment returns."""
from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

import numpy as np

from .files import write_json, write_text

DESCRIPTIONS = {
    "test_mse": "mean squared error per pixel on the 300 test disks (radii linspace(0, 31.5, 300))",
    "spearman_z_r2": "|Spearman correlation| between the code z and r^2 on the test disks",
    "spearman_z_area": "|Spearman correlation| between z and the area (pixel sum)",
    "final_train_loss": "training loss (MSE per pixel), mean of the last 50 steps",
    "r2_linear_fit_z_vs_area": "R^2 of the least-squares line z ~ a + b * area",
    "r2_linear_fit_z_vs_radius": "R^2 of the least-squares line z ~ a + b * radius (for contrast)",
    "spearman_z_vs_average_encoder": "|Spearman| between z and the linear averaging encoder (mean pixel value)",
    "r2_linear_fit_average_encoder_vs_area": "R^2 of the averaging encoder against the area (1 by construction)",
    "homogeneity_max_relative_error": "max over l in (0, 4] and test codes of |D(l z) - l D(z)| / |l D(z)| (float64)",
    "fraction_codes_of_one_sign": "fraction of test codes with the sign the bias-free decoder uses",
    "gap_profile_to_airy": "relative L2 gap (measure rho d rho, unit norms) of the bias-free decoder's radial "
                           "profile to Airy's on [0, R]",
    "max_abs_profile_to_airy": "max |f_decoder - f_Airy| on [0, R], both with f(0) = 1",
    "gap_to_airy": "relative L2 gap of the bias-free decoder's profile to Airy's",
    "max_abs_to_airy": "max |f_decoder - f_Airy| with f(0) = 1",
    "kR3_closed_form": "k R^3 of the closed form (x0^3, x0 the first zero of Ai(-x) + Bi(-x)/sqrt(3))",
    "kR3_energy_solver": "k R^3 of the radial energy maximiser (Nystrom, trapezoid rule)",
    "kR3_fd_solver": "k R^3 of the finite-difference Airy solver",
    "max_error_energy_solver": "max |f - f_closed| of the energy maximiser, f(0) = 1",
    "max_error_fd_solver": "max |f - f_closed| of the finite-difference solver, f(0) = 1",
    "energy_closed_form": "E(f) = int_0^R <f, 1_B_r>^2 dr / ||f||^2 of the closed form",
    "energy_solver": "E(f) of the energy maximiser",
    "gap_pixel_energy_to_airy": "relative L2 gap of the pixel-exact maximiser (top singular vector of 1000 "
                                "disks) to Airy's",
    "R": "outer radius R of the radial problem (pixels)",
    "n": "grid points of the solvers",
    "seconds": "wall-clock time of the whole run (s)",
    "mse_per_pixel": "mean squared error per pixel on the experiment's 500 test images",
    "latent_correlation_matrix": "Pearson correlation matrix of the codes on the test images",
    "max_latent_correlation": "largest |Pearson| between two different codes on the test images",
    "S_on_z1": "|Pearson(z1, S)|, S the area (pixel sum)",
    "max_off_diagonal_where_published_small": "largest |Pearson(z_i, statistic)| among the entries the paper "
                                              "reports <= 0.05",
    "z2_z3_angles_from_H_deg": "angle of z2 and z3 from the H axis in the (H, V) plane, atan(|corr V| / |corr H|)",
    "R_H_from_z2_z3": "multiple correlation of H with (z2, z3): how much of H the two codes carry together",
    "R_V_from_z2_z3": "multiple correlation of V with (z2, z3)",
    "z2_z3_angles_from_log_H_deg": "angle of z2 and z3 from the log H axis in the (log H, log V) plane",
    "aligned_as_published": "z2 within 15 degrees of the log H axis and z3 within 15 of log V, as in the published "
                            "PCA-AE",
    "R_log_H_from_z2_z3": "multiple correlation of log H with (z2, z3), blind to a rotation of the two codes",
    "R_log_V_from_z2_z3": "multiple correlation of log V with (z2, z3)",
    "criteria.S_on_z1": "criterion |Pearson(z1, S)| >= 0.97 (asked of every seed of a sweep)",
    "criteria.R_log_H_from_z2_z3": "criterion R(log H | z2, z3) >= 0.8 (asked of the median seed), blind to a rotation of z2, z3",
    "criteria.R_log_V_from_z2_z3": "criterion R(log V | z2, z3) >= 0.8 (asked of the median seed)",
    "criteria.max_latent_correlation": "criterion: codes decorrelated, every |Pearson(z_i, z_j)| <= 0.05",
    "angles_from_x_deg": "angle of each code from the x axis in the (x, y) plane, atan(|corr y| / |corr x|)",
    "R_radius_from_codes": "multiple correlation of the radius with the three codes",
    "R_x_from_codes": "multiple correlation of x with the three codes",
    "R_y_from_codes": "multiple correlation of y with the three codes",
    "explained_variance_fraction": "fraction of the training images' variance along each of the first k + 1 "
                                   "principal axes",
    "pca_ae_final_loss_per_stage": "training loss (BCE, plus the covariance term) of each stage, mean of its last "
                                   "50 steps",
    "levels": "conv + sub-sampling levels of the hand-crafted encoder, ceil(log2 n)",
    "max_error_one_hot": "max over every one-hot e_p of |E(e_p) - p| (float64)",
    "max_error_random_signals": "max |E(x) - sum_t t x[t]| over 64 Gaussian random signals (float64)",
    "test_relative_error": "mean ||D(E(x)) - x||^2 / ||x||^2 on 500 test Diracs at sub-pixel positions",
    "spearman_z_position": "|Spearman correlation| between the code z and the Dirac's position",
    "r2_linear_fit_z_vs_position": "R^2 of the least-squares line z ~ a + b * position",
    "corr_codes_of_one_hots_vs_ramp": "|Pearson| between z(e_t), the code of each integer Dirac, and the ramp t",
    "corr_gradient_filter_vs_ramp": "|Pearson| between dz/dx at the centre Dirac (the encoder's linear filter there) "
                                    "and the ramp t",
    "seen_positions": "integer positions in the training set (every k-th)",
    "error_seen": "mean relative error ||D(E(x)) - x||^2 / ||x||^2 at positions seen in training",
    "error_unseen_integer": "the same at integer positions never seen in training (none for k = 1)",
    "error_half_integer": "the same at the half-integer positions p + 1/2 (never seen for any k)",
    "r2_x_from_both_codes": "R^2 of the least-squares fit x ~ a + b z1 + c z2 on 500 test images",
    "r2_y_from_both_codes": "R^2 of the least-squares fit y ~ a + b z1 + c z2",
    "r2_z1_vs_x": "R^2 of the line z1 ~ a + b x", "r2_z2_vs_x": "R^2 of the line z2 ~ a + b x",
    "r2_z1_vs_y": "R^2 of the line z1 ~ a + b y", "r2_z2_vs_y": "R^2 of the line z2 ~ a + b y",
}

for _j in range(1, 9):
    DESCRIPTIONS[f"mse_first_{_j}_codes"] = f"test MSE per pixel of D_{_j}(z_1..z_{_j}), the decoder of the first {_j} codes"
    DESCRIPTIONS[f"linear_pca_mse_{_j}_components"] = f"test MSE per pixel of linear PCA with {_j} components"
    for _name in ("S", "H", "V", "radius", "x", "y"):
        DESCRIPTIONS[f"{_name}_z{_j}"] = f"|Pearson(z{_j}, {_name})| on the test images"
        DESCRIPTIONS[f"spearman_{_name}_z{_j}"] = f"|Spearman(z{_j}, {_name})| on the test images (rank correlation)"
        DESCRIPTIONS[f"{_name}_pc{_j}"] = f"|Pearson| of {_name} with the coordinate on principal axis {_j}"
        DESCRIPTIONS[f"eta2_{_name}_z{_j}"] = (f"correlation ratio eta^2(z{_j} | {_name}): the share of z{_j}'s "
                                              f"variance explained by {_name} alone, linearly or not (20 bins; "
                                              f"about 0.02 for an unrelated code)")
    DESCRIPTIONS[f"neighbour_r2_all_z{_j}"] = (f"R^2 of z{_j} predicted from all the attributes together by its 10 "
                                              f"nearest neighbours (about -0.1 for an unrelated code)")


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what platform reports."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def machine() -> str:
    return (f"{cpu_name()}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def flatten(metrics: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            rows += flatten(value, f"{prefix}{key}.")
        else:
            rows.append((prefix + key, value))
    return rows


def metrics_table(metrics: dict) -> str:
    lines = ["| metric | value | what it measures |", "| --- | --- | --- |"]
    for name, value in flatten(metrics):
        if name.startswith("settings."):
            continue
        shown = f"{value:.6g}" if isinstance(value, float) else ("n/a" if value is None else str(value))
        description = DESCRIPTIONS.get(".".join(name.split(".")[-2:]), DESCRIPTIONS.get(name.rsplit(".", 1)[-1], ""))
        description = description.replace("|", "\\|")
        lines.append(f"| `{name}` | {shown} | {description} |")
    return "\n".join(lines)


def write_report(out, title: str, command: str, sections: list[tuple[str, dict]]) -> Path:
    """Write report.md (figures embedded, metrics explained) and metrics.json into ``out``.

    ``sections``: (heading, {"metrics": dict, "figures": {caption: path}, "seconds": float}), and optionally
    "notes": markdown paragraphs shown between the metrics table and the figures.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"# {title}", "", f"Command: `{command}`  ", f"Date: {date}  ", f"Machine: {machine()}", ""]
    if len(sections) > 1:
        lines += ["## Contents", ""] + [f"- [{h}](#{h.lower().replace(' ', '-')})" for h, _ in sections] + [""]
    all_metrics = {}
    for heading, result in sections:
        all_metrics[heading] = _plain(result["metrics"])
        lines += [f"## {heading}", "", f"Run time: {result['seconds']:.0f} s. Settings: "
                  f"`{json.dumps(_plain(result['metrics'].get('settings', {})))}`", "", metrics_table(
                      result["metrics"]), ""]
        for note in result.get("notes", ()):
            lines += [note, ""]
        for caption, path in result["figures"].items():
            lines += [f"### {caption}", "", f"![{caption}]({Path(os.path.relpath(path, out)).as_posix()})", ""]
    write_text(out / "report.md", "\n".join(lines))
    write_json(out / "metrics.json", all_metrics if len(sections) > 1 else all_metrics[sections[0][0]])
    return out / "report.md"
