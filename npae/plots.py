"""Figures (matplotlib, Agg backend): loss curve, reconstructions, latent code against the disk's attributes."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .files import atomic_write  # noqa: E402
from .statistics import abs_corr, abs_rank_corr, linear_r2  # noqa: E402


def _save(fig, path) -> Path:
    """Write the figure as a PNG atomically (no truncated image if the disk fills up), then close it."""
    try:
        return atomic_write(path, lambda stream: fig.savefig(stream, format="png", dpi=90, bbox_inches="tight"))
    finally:
        plt.close(fig)


def loss_curve(history, path, title="training loss (MSE per pixel)") -> Path:
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.semilogy(np.arange(1, len(history) + 1), history, lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def reconstructions(images, outputs, path, count=8) -> Path:
    """Top row inputs, bottom row reconstructions, for ``count`` evenly spaced test images."""
    picks = np.linspace(0, len(images) - 1, count).astype(int)
    fig, axes = plt.subplots(2, count, figsize=(1.3 * count, 2.8))
    for column, k in enumerate(picks):
        for row, source in enumerate((images, outputs)):
            ax = axes[row, column]
            ax.imshow(source[k, 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, column].set_title(f"#{k}", fontsize=8)
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    return _save(fig, path)


def latent_vs_attributes(radius, area, z, spearman_r2, spearman_area, path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    axes[0].plot(radius, z[:, 0], ".", ms=3)
    axes[0].set_xlabel("radius r")
    axes[0].set_ylabel("latent code z")
    axes[0].set_title(f"|Spearman(z, r^2)| = {spearman_r2:.4f}")
    axes[1].plot(area, z[:, 0], ".", ms=3)
    axes[1].set_xlabel("area (pixel sum)")
    axes[1].set_title(f"|Spearman(z, area)| = {spearman_area:.4f}")
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, path)


def profiles(curves: dict, R: float, path, title: str) -> Path:
    """Radial profiles (label -> (rho, f)) on [0, R], f(0) = 1."""
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = ["-", "--", ":", "-."]
    for k, (label, (rho, f)) in enumerate(curves.items()):
        inside = rho <= R * 1.02
        ax.plot(rho[inside], f[inside], styles[k % 4], lw=2 if k == 0 else 1.5, label=label)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("rho (pixels)")
    ax.set_ylabel("f(rho) / f(0)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def amplitude(radius, decoder_amplitude, optimal_amplitude, path) -> Path:
    """h(r) of the decoder against the optimal <f, x_r> / ||f||^2."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(radius, decoder_amplitude, lw=2, label="decoder: <D(E(x_r)), f> / ||f||^2")
    ax.plot(radius, optimal_amplitude, "--", label="optimal: <x_r, f> / ||f||^2")
    ax.set_xlabel("radius (scale) r")
    ax.set_ylabel("amplitude h(r)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def image_row(images, labels, path) -> Path:
    """One row of images (N, 1, S, S) with a label under each."""
    count = len(images)
    fig, axes = plt.subplots(1, count, figsize=(1.3 * count, 1.6))
    for ax, image, label in zip(np.atleast_1d(axes), images, labels):
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(label, fontsize=7)
    return _save(fig, path)


def direction_comparison(decoder_image, reference_image, title, path) -> Path:
    """The decoder's unit image, the reference (pixel-exact maximiser) and their difference, side by side."""
    difference = decoder_image - reference_image
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.8))
    top = max(np.abs(decoder_image).max(), np.abs(reference_image).max())
    for ax, image, label, limit in zip(axes, (decoder_image, reference_image, difference),
                                       ("decoder D(s), unit norm", "pixel-exact maximiser", "difference"),
                                       (top, top, max(np.abs(difference).max(), 1e-12))):
        shown = ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        fig.colorbar(shown, ax=ax, fraction=0.046)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(label, fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def encoder_vs_average(area, codes, average, path) -> Path:
    """The trained code and the linear averaging encoder's code against the area, with the line fit."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    slope, intercept = np.polyfit(area, codes, 1)
    axes[0].plot(area, codes, ".", ms=3, label="trained encoder z")
    axes[0].plot(area, slope * area + intercept, "-", lw=1, label="least-squares line")
    axes[0].set_xlabel("area (pixel sum)")
    axes[0].set_ylabel("z")
    axes[0].legend(fontsize=8)
    axes[1].plot(average, codes, ".", ms=3)
    axes[1].set_xlabel("averaging encoder: mean pixel value")
    axes[1].set_ylabel("trained z")
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, path)


def scaled_profiles(radius, outputs, path, count=6) -> Path:
    """Central rows of bias-free outputs for a few radii: the same shape f scaled by h(r)."""
    picks = np.linspace(len(radius) // 6, len(radius) - 1, count).astype(int)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    centre = outputs.shape[2] // 2
    for k in picks:
        row = outputs[k, 0, centre]
        axes[0].plot(row, label=f"r = {radius[k]:.1f}")
        peak = np.abs(row).max()
        axes[1].plot(row / peak if peak > 0 else row)
    axes[0].set_title("central row of D(E(x_r))", fontsize=9)
    axes[1].set_title("the same rows divided by their maximum", fontsize=9)
    axes[0].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, path)


def position_code(positions, codes, profile, path) -> Path:
    """Left: z against the Dirac's position.  Right: z(e_t) and dz/dx at the centre, each against the ramp t."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    axes[0].plot(positions, codes, ".", ms=3)
    axes[0].set_xlabel("position p")
    axes[0].set_ylabel("code z")
    axes[0].set_title(f"|Spearman(z, p)| = {abs_rank_corr(codes, positions):.4f}")
    ramp = np.arange(len(profile["codes"]), dtype=np.float64)
    for label, values in (("z(e_t)", profile["codes"]), ("dz/dx at the centre Dirac", profile["gradient"])):
        scaled = (values - values.mean()) / (values.std() or 1.0)
        axes[1].plot(ramp, scaled, label=f"{label} (corr {abs_corr(values, ramp):.3f})")
    axes[1].plot(ramp, (ramp - ramp.mean()) / ramp.std(), "k--", lw=1, label="ramp t")
    axes[1].set_xlabel("t")
    axes[1].set_title("effective filter (standardised)")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, path)


def signal_reconstructions(signals, outputs, positions, path, count=6) -> Path:
    """1-D signals and their reconstructions, for ``count`` test positions spread over the range."""
    picks = np.argsort(positions)[np.linspace(0, len(positions) - 1, count).astype(int)]
    fig, axes = plt.subplots(1, count, figsize=(2.2 * count, 2.2), sharey=True)
    for ax, k in zip(axes, picks):
        ax.plot(signals[k, 0, 0], lw=1.2)
        ax.plot(outputs[k, 0, 0], lw=1.0)
        ax.set_title(f"p = {positions[k]:.1f}", fontsize=8)
        ax.set_xticks([])
    return _save(fig, path)


def sampling_errors(rows: dict, path) -> Path:
    """Relative reconstruction error against the training spacing k, at seen, unseen and half-integer positions."""
    spacings = [int(name.split("=")[1]) for name in rows]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for key, label in (("error_seen", "seen in training"), ("error_unseen_integer", "unseen integer positions"),
                       ("error_half_integer", "half-integer positions")):
        points = [(k, row[key]) for k, row in zip(spacings, rows.values()) if row[key] is not None]
        ax.semilogy(*zip(*points), "o-", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("training positions every k pixels")
    ax.set_ylabel("||D(E(x)) - x||^2 / ||x||^2")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def position_2d(runs: dict, path) -> Path:
    """One row per run: each latent axis against x and against y."""
    fig, axes = plt.subplots(len(runs), 4, figsize=(12, 2.8 * len(runs)), squeeze=False)
    for row, (name, (codes, attributes)) in enumerate(runs.items()):
        for col, (i, axis) in enumerate([(0, "x"), (0, "y"), (1, "x"), (1, "y")]):
            ax = axes[row, col]
            ax.plot(attributes[axis], codes[:, i], ".", ms=2)
            r2 = linear_r2(attributes[axis], codes[:, i])
            ax.set_title(f"{name}: z{i + 1} vs {axis} (R^2 {r2:.3f})", fontsize=8)
            ax.grid(alpha=0.3)
    return _save(fig, path)


def pearson_tables(tables: dict, published: dict, path) -> Path:
    """One heat map per model of |Pearson(z_i, statistic)|, npae's value over the published one (if any)."""
    fig, axes = plt.subplots(1, len(tables), figsize=(3.6 * len(tables), 3.2), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items()):
        stats_names = list(table)
        values = np.array([table[s] for s in stats_names])
        ax.imshow(values, cmap="Blues", vmin=0, vmax=1)
        for i, stat in enumerate(stats_names):
            for j in range(values.shape[1]):
                reference = published.get(name, {}).get(stat)
                label = f"{values[i, j]:.2f}" + ("" if reference is None else f"\n({reference[j]:.2f})")
                ax.text(j, i, label, ha="center", va="center",
                        fontsize=8, color="white" if values[i, j] > 0.6 else "black")
        ax.set_xticks(range(values.shape[1]), [f"z{j + 1}" for j in range(values.shape[1])])
        ax.set_yticks(range(len(stats_names)), stats_names)
        ax.set_title(name.replace("_", " "), fontsize=9)
    return _save(fig, path)


def ordering(ae_errors, pca_errors, path) -> Path:
    """Reconstruction error against the number of codes / principal components."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.semilogy(np.arange(1, len(ae_errors) + 1), ae_errors, "o-", label="PCA-AE, decoder D_j")
    ax.semilogy(np.arange(1, len(pca_errors) + 1), pca_errors, "s--", label="linear PCA")
    ax.set_xlabel("components j")
    ax.set_ylabel("test MSE per pixel")
    ax.set_xticks(np.arange(1, len(ae_errors) + 1))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def traversal_grid(images, path) -> Path:
    """images (rows, columns, S, S): one latent axis per row."""
    rows, columns = images.shape[:2]
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.25 * rows), squeeze=False)
    for i in range(rows):
        for j in range(columns):
            axes[i, j].imshow(images[i, j], cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[i, 0].set_ylabel(f"z{i + 1}")
    return _save(fig, path)


def strip_plot(values: dict, path) -> Path:
    """One panel per metric: every seed's value (a dot) for each setting, the median as a bar.

    ``values``: {setting: {metric: [value per seed]}}."""
    metrics = sorted({key for by_metric in values.values() for key in by_metric})
    settings = list(values)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.2), squeeze=False)
    jitter = np.random.default_rng(0)
    for ax, metric in zip(axes[0], metrics):
        for k, setting in enumerate(settings):
            points = np.asarray(values[setting].get(metric, []), dtype=float)
            if len(points):
                ax.plot(k + jitter.uniform(-0.12, 0.12, len(points)), points, "o", ms=4, alpha=0.7)
                ax.plot([k - 0.25, k + 0.25], [np.median(points)] * 2, "k-", lw=1.5)
        ax.set_xticks(range(len(settings)))
        ax.set_xticklabels(settings, rotation=30, ha="right", fontsize=7)
        ax.set_title(metric, fontsize=8)
        ax.grid(alpha=0.3)
    return _save(fig, path)
