"""The size section of the talk, end to end (SCIENCE.md 1).

1. Train the disk autoencoder with biases (latent 1): reconstructions, z against r and area,
   Spearman(z, r^2), decoding a line of codes.
2. The encoder integrates: z against the area (pixel sum), next to the purely linear
   averaging encoder z_avg = mean pixel value.
3. Train it without biases: homogeneity D(l z) = l D(z) of the trained decoder, the sign of
   the codes it uses, outputs y = h(r) f.
4. The bias-free decoder's profile against the energy maximiser and Airy.
Every stage returns numbers for metrics.json and figures for report.md.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import plots
from ..data import disks
from ..evaluate import evaluate_disks
from ..models import disk_autoencoder
from ..presets import size_mode
from ..statistics import abs_rank_corr, linear_r2
from ..train import Trainer, default_config
from .airy import analyse_decoder, run_airy


@dataclass
class SizeSettings:
    """Training settings of one mode of the size reproduction."""

    preset: str = "talk"
    steps: int = 4000
    batch_size: int = 16
    lr: float = 1e-2
    lr_schedule: str = "cosine"
    train_size: int = 1000
    channels: int | list | None = None
    seed: int = 0
    supersample: int | None = None
    published: str | None = None

    @classmethod
    def mode(cls, mode: str, preset: str = "talk", seed: int = 0) -> "SizeSettings":
        """"quick" (default, minutes on a laptop), "full" (the papers' iterations, batch and data) or "smoke"
        (a few steps: checks the pipeline in seconds, the numbers mean nothing); see :mod:`npae.presets`."""
        return cls(preset, seed=seed, **size_mode(preset, mode))


def train_model(settings: SizeSettings, bias: bool, progress: bool = True, data: np.ndarray | None = None):
    """The preset's autoencoder (latent 1) trained with the mode's settings, on disks or on ``data``."""
    model = disk_autoencoder(settings.preset, latent_dim=1, bias=bias, channels=settings.channels,
                             rng=np.random.default_rng([settings.seed, 0 if bias else 1]))
    config = default_config(settings.preset, steps=settings.steps, batch_size=settings.batch_size, lr=settings.lr,
                            lr_schedule=settings.lr_schedule, train_size=settings.train_size,
                            seed=settings.seed, supersample=settings.supersample, checkpoint_every=0)
    trainer = Trainer(model, config, data=data)
    trainer.run(progress=progress)
    return trainer


def estimate_seconds(settings: SizeSettings, timed_steps: int = 3) -> float:
    """Time of the two trainings, from ``timed_steps`` measured steps (after one warm-up) of the real model."""
    model = disk_autoencoder(settings.preset, latent_dim=1, channels=settings.channels, rng=0)
    config = default_config(settings.preset, steps=timed_steps + 1, batch_size=settings.batch_size, lr=settings.lr,
                            train_size=0, supersample=None, checkpoint_every=0)
    trainer = Trainer(model, config)
    batch = trainer.next_batch()
    trainer.train_step(batch)
    start = time.perf_counter()
    for _ in range(timed_steps):
        trainer.train_step(batch)
    return 2 * settings.steps * (time.perf_counter() - start) / timed_steps


def interpolate_codes(model, codes: np.ndarray, count: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``count`` codes evenly spaced between the smallest and largest test code."""
    line = np.linspace(codes.min(), codes.max(), count)
    return line, model.decoder.forward(line.reshape(-1, 1, 1, 1).astype(model.dtype))


def homogeneity_error(decoder, codes: np.ndarray, scales=np.linspace(0, 4, 17)) -> float:
    """max over l >= 0 (except 0) and codes of ||D(l z) - l D(z)|| / ||l D(z)||, in float64."""
    z = codes.reshape(-1, 1, 1, 1).astype(np.float64)
    base = decoder.forward(z)
    worst = 0.0
    for scale in scales[scales > 0]:
        scaled = decoder.forward(scale * z)
        denominator = np.linalg.norm((scale * base).reshape(len(z), -1), axis=1)
        numerator = np.linalg.norm((scaled - scale * base).reshape(len(z), -1), axis=1)
        ok = denominator > 0
        worst = max(worst, float(np.max(numerator[ok] / denominator[ok], initial=0.0)))
    return worst


def published_row(path, data_settings: dict) -> dict:
    """The authors' Keras example model of the official preset on the same test disks as npae's own."""
    from ..published import load_published_disk_ae

    result = evaluate_disks(load_published_disk_ae(path), **data_settings)
    return {"source": str(path), "test_mse": result["test_mse"], "spearman_z_r2": result["spearman_z_r2"],
            "spearman_z_area": result["spearman_z_area"]}


def run_size(out, settings: SizeSettings, progress: bool = True) -> dict:
    """Run all stages, write figures into ``out``; returns {"metrics": ..., "figures": ..., "seconds": ...}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    metrics, figures = {"settings": asdict(settings)}, {}

    biased = train_model(settings, bias=True, progress=progress)
    result = evaluate_disks(biased.model, **biased.config.data_settings())
    codes = result["z"][:, 0].astype(np.float64)
    average = result["area"] / biased.model.config.image_size ** 2
    line, decoded = interpolate_codes(biased.model, codes)
    metrics["with_bias"] = {
        "test_mse": result["test_mse"], "spearman_z_r2": result["spearman_z_r2"],
        "spearman_z_area": result["spearman_z_area"], "final_train_loss": float(np.mean(biased.loss_history[-50:])),
        "r2_linear_fit_z_vs_area": linear_r2(result["area"], codes),
        "r2_linear_fit_z_vs_radius": linear_r2(result["radius"], codes),
        "spearman_z_vs_average_encoder": abs_rank_corr(codes, average),
        "r2_linear_fit_average_encoder_vs_area": linear_r2(result["area"], average),
    }
    figures["loss (with biases)"] = plots.loss_curve(biased.loss_history, out / "loss_bias.png")
    figures["reconstructions (top: test disks, bottom: outputs)"] = plots.reconstructions(
        result["images"], result["reconstructions"], out / "reconstructions.png")
    figures["latent code against radius and area"] = plots.latent_vs_attributes(
        result["radius"], result["area"], result["z"], result["spearman_z_r2"], result["spearman_z_area"],
        out / "latent.png")
    figures["decoding a line of codes"] = plots.image_row(decoded, [f"z={v:.2g}" for v in line],
                                                          out / "interpolation.png")
    figures["the encoder integrates: z against the area"] = plots.encoder_vs_average(
        result["area"], codes, average, out / "integrator.png")
    if settings.published:
        metrics["published"] = published_row(settings.published, biased.config.data_settings())

    free = train_model(settings, bias=False, progress=progress)
    free_result = evaluate_disks(free.model, **free.config.data_settings())
    decoder64 = copy.deepcopy(free.model.decoder).astype(np.float64)
    free_codes = free_result["z"][:, 0].astype(np.float64)
    analysis = analyse_decoder(free.model)
    metrics["without_bias"] = {
        "test_mse": free_result["test_mse"], "spearman_z_r2": free_result["spearman_z_r2"],
        "final_train_loss": float(np.mean(free.loss_history[-50:])),
        "homogeneity_max_relative_error": homogeneity_error(decoder64, free_codes),
        "fraction_codes_of_one_sign": analysis["fraction_codes_of_that_sign"],
        "gap_profile_to_airy": analysis["gap_to_airy"], "max_abs_profile_to_airy": analysis["max_abs_to_airy"],
    }
    figures["loss (without biases)"] = plots.loss_curve(free.loss_history, out / "loss_nobias.png")
    figures["bias-free outputs are y = h(r) f"] = plots.scaled_profiles(
        free_result["radius"], free_result["reconstructions"], out / "scaled_outputs.png")

    size = free.model.config.image_size
    pixel, _ = disks(1000, size, radius_range=(0, size / 2), rng=np.random.default_rng(settings.seed),
                     dtype=np.float64)
    airy = run_airy(out, size / 2, 512, model=free.model, pixel_images=pixel)
    duplicates = ("code_sign", "fraction_codes_of_that_sign", "gap_to_airy", "max_abs_to_airy")
    metrics["theory"] = {k: v for k, v in airy.items() if k not in duplicates}
    figures["decoder profile, energy maximiser and Airy"] = out / "airy.png"
    figures["amplitude h(r): decoder against optimal"] = out / "amplitude.png"
    seconds = time.perf_counter() - start
    metrics["seconds"] = round(seconds, 1)
    return {"metrics": metrics, "figures": figures, "seconds": seconds}
