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
