"""Figures (matplotlib, Agg backend): loss curve, reconstructions, latent code against the disk's attributes."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


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
    ax.set_xlabel("radius r")
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
