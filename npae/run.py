"""A training run in a folder, as ``npae train`` makes it: checkpoints and snapshots while training,
then metrics.json, the loss history and figures of the trained model on the test disks."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from . import plots
from .evaluate import evaluate_disks
from .models import disk_autoencoder
from .train import Trainer, TrainConfig


def run_directory(preset: str, latent_dim: int, bias: bool) -> Path:
    return Path(f"runs/{preset}-latent{latent_dim}{'' if bias else '-nobias'}")


def holds_run(out: Path) -> bool:
    return (out / "checkpoint.npz").exists() or (out / "snapshots").exists()


def clear_run(out: Path) -> None:
    """Remove the checkpoint and snapshots of a run (its other files are rewritten by the next run)."""
    shutil.rmtree(out / "snapshots", ignore_errors=True)
    (out / "checkpoint.npz").unlink(missing_ok=True)


def train_run(out, config: TrainConfig, preset: str = "talk", latent_dim: int = 1, bias: bool = True,
              channels=None, progress: bool = True) -> dict:
    """Build the preset's disk autoencoder (weights from seed [config.seed, 0]), train it into ``out``,
    evaluate it on the test disks and write metrics.json, loss_history.npy and three figures.
    Returns the metrics."""
    out = Path(out)
    model = disk_autoencoder(preset, latent_dim=latent_dim, bias=bias, channels=channels,
                             rng=np.random.default_rng([config.seed, 0]))
    start = time.perf_counter()
    trainer = Trainer(model, config, out)
    trainer.run(progress=progress)
    seconds = time.perf_counter() - start
    return write_results(out, trainer, preset, latent_dim, bias, seconds)


def write_results(out: Path, trainer: Trainer, preset: str, latent_dim: int, bias: bool, seconds: float) -> dict:
    result = evaluate_disks(trainer.model, **trainer.config.data_settings())
    metrics = {
        "preset": preset, "latent_dim": latent_dim, "bias": bias, "steps": trainer.step_count,
        "seed": trainer.config.seed, "train_seconds": round(seconds, 2),
        "final_train_loss": float(np.mean(trainer.loss_history[-20:])),
        "test_mse": result["test_mse"], "spearman_z_r2": result["spearman_z_r2"],
        "spearman_z_area": result["spearman_z_area"],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    np.save(out / "loss_history.npy", np.asarray(trainer.loss_history))
    plots.loss_curve(trainer.loss_history, out / "loss.png")
    plots.reconstructions(result["images"], result["reconstructions"], out / "reconstructions.png")
    plots.latent_vs_attributes(result["radius"], result["area"], result["z"], result["spearman_z_r2"],
                               result["spearman_z_area"], out / "latent.png")
    return metrics
