"""The position section of the talk, end to end (SCIENCE.md 2).

1. Hand-crafted encoder: convolutions and sub-samplings only (:func:`npae.models.ramp_encoder`)
   whose output is sum_t t x[t], the position of a Dirac, exact for every position.
2. A trained autoencoder (latent 1) on 1-D Diracs: does its code order the positions, is it
   linear in them, and is its effective filter the ramp?
3. Decoding against sampling: train on positions every k-th pixel only and measure the
   reconstruction error at positions seen and unseen in training.
4. 2-D position: small disks at random (x, y), latent 2, with and without coordinate channels.
Every stage returns numbers for metrics.json and figures for report.md.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import plots
from ..data.position import allowed_positions, dirac_signals, diracs, positioned_disks
from ..models import conv_autoencoder, ramp_encoder
from ..statistics import abs_corr, abs_rank_corr, linear_r2, multiple_r2
from ..train import Trainer, TrainConfig


@dataclass
class PositionSettings:
    """Training settings of one mode of the position reproduction."""

    length: int = 64
    blur_sigma: float = 2.0
    channels_1d: int = 16
    steps_1d: int = 3000
    batch_1d: int = 32
    train_count_1d: int = 4096
    spacings: tuple = (1, 2, 4, 8)
    image_size: int = 64
    disk_radius: float = 8.0
    channels_2d: list = field(default_factory=lambda: [8, 16, 32, 64, 64])
    steps_2d: int = 2500
    batch_2d: int = 16
    train_count_2d: int = 4000
    lr: float = 1e-2
    seed: int = 0
    bias_1d: bool = True
    only_1d: bool = False
    """``bias_1d``: biases in the 1-D autoencoders of experiments 2 and 3 (False: bias-free, positively
    homogeneous networks, like the hand-crafted ramp encoder); ``only_1d``: run only experiments 1 and 2 (the trained
    1-D encoder against the ramp), the run of a settings sweep."""

    @classmethod
    def mode(cls, mode: str, seed: int = 0) -> "PositionSettings":
        """"quick" (default, minutes on a laptop), "full" (longer training of every network) or "smoke"
        (tiny data and networks: checks the pipeline in seconds, the numbers mean nothing)."""
        if mode == "quick":
            return cls(seed=seed)
        if mode == "full":
            return cls(steps_1d=12000, steps_2d=10000, batch_2d=32, train_count_2d=20000, seed=seed)
        if mode == "smoke":
            return cls(channels_1d=4, steps_1d=4, train_count_1d=64, channels_2d=[4, 4, 4, 4, 4], steps_2d=4,
                       train_count_2d=32, seed=seed)
        raise ValueError(f"unknown mode {mode!r}; expected 'quick', 'full' or 'smoke'")


def handcrafted_encoder(length: int) -> dict:
    """Check the ramp encoder on every one-hot and on random signals (float64); its filters as text."""
    encoder = ramp_encoder(length, np.float64)
    codes = encoder.forward(np.eye(length)[:, None, None, :]).ravel()
    rng = np.random.default_rng(0)
    signals = rng.standard_normal((64, 1, 1, length))
    ramp_products = signals[:, 0, 0] @ np.arange(length)
    lines = []
    for name, layer in encoder.named_layers():
        if "weight" in layer.params:
            weight = layer.params["weight"][:, :, 0]
            rows = [f"  out {o} <- in {c}: {np.array2string(weight[o, c], precision=0)}"
                    for o in range(weight.shape[0]) for c in range(weight.shape[1]) if np.any(weight[o, c])]
            lines.append(f"{name} {layer!r}\n" + "\n".join(rows))
    return {
        "metrics": {
            "levels": len(lines),
            "max_error_one_hot": float(np.max(np.abs(codes - np.arange(length)))),
            "max_error_random_signals": float(np.max(np.abs(encoder.forward(signals).ravel() - ramp_products))),
        },
        "filters": "\n".join(lines),
    }


def train_autoencoder(model, data: np.ndarray, steps: int, batch_size: int, lr: float, seed: int,
                      progress: bool) -> list[float]:
    """Adam with a cosine decay on a fixed set of examples (MSE); returns the loss history."""
    config = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, lr_schedule="cosine", train_size=0,
                         seed=seed, checkpoint_every=0)
    return Trainer(model, config, data=data).run(progress=progress)


def signal_autoencoder(settings: PositionSettings, seed: int):
    return conv_autoencoder((1, 1, settings.length), channels=settings.channels_1d, latent_dim=1,
                            bias=settings.bias_1d, rng=np.random.default_rng([seed, 7]))


def relative_errors(model, signals: np.ndarray) -> np.ndarray:
    """||D(E(x)) - x||^2 / ||x||^2 per signal."""
    outputs = model.forward(signals).astype(np.float64)
    energy = np.sum(signals.astype(np.float64) ** 2, axis=(1, 2, 3))
    return np.sum((outputs - signals) ** 2, axis=(1, 2, 3)) / energy


def effective_filter(model, length: int, blur_sigma: float, dtype) -> dict:
    """The code of each integer Dirac z(e_t), and the gradient dz/dx at the centre Dirac."""
    signals = dirac_signals(np.arange(length, dtype=np.float64), length, blur_sigma, dtype)
    codes = model.encode(signals).ravel().astype(np.float64)
    centre = signals[length // 2: length // 2 + 1]
    model.encode(centre)
    gradient = model.encoder.backward(np.ones((1, 1, 1, 1), dtype=dtype)).ravel().astype(np.float64)
    return {"codes": codes, "gradient": gradient}


def trained_encoder(settings: PositionSettings, progress: bool) -> dict:
    """Experiment 2: train on sub-pixel Diracs (a continuous curve of data) and compare the code with the ramp."""
    data, _ = diracs(settings.train_count_1d, settings.length, subpixel=True, blur_sigma=settings.blur_sigma,
                     rng=np.random.default_rng([settings.seed, 11]))
    model = signal_autoencoder(settings, settings.seed)
    history = train_autoencoder(model, data, settings.steps_1d, settings.batch_1d, settings.lr, settings.seed,
                                progress)
    test, attributes = diracs(500, settings.length, subpixel=True, blur_sigma=settings.blur_sigma,
                              rng=np.random.default_rng([settings.seed, 12]))
    codes = model.encode(test).ravel().astype(np.float64)
    positions = attributes["position"]
    ramp = np.arange(settings.length, dtype=np.float64)
    profile = effective_filter(model, settings.length, settings.blur_sigma, data.dtype)
    metrics = {
        "final_train_loss": float(np.mean(history[-50:])),
        "test_relative_error": float(np.mean(relative_errors(model, test))),
        "spearman_z_position": abs_rank_corr(codes, positions),
        "r2_linear_fit_z_vs_position": linear_r2(positions, codes),
        "corr_codes_of_one_hots_vs_ramp": abs_corr(profile["codes"], ramp),
        "corr_gradient_filter_vs_ramp": abs_corr(profile["gradient"], ramp),
    }
    return {"model": model, "metrics": metrics, "history": history, "test": test, "positions": positions,
            "codes": codes, "profile": profile}


def sampling_experiment(settings: PositionSettings, progress: bool) -> dict:
    """Experiment 3: train on positions every k-th pixel; relative error at seen, unseen and half-integer positions."""
    length = settings.length
    every = np.arange(length, dtype=np.float64)
    halves = np.arange(length - 1, dtype=np.float64) + 0.5
    rows = {}
    for spacing in settings.spacings:
        grid = allowed_positions(length, spacing)
        data, _ = diracs(settings.train_count_1d, length, spacing=spacing, blur_sigma=settings.blur_sigma,
                         rng=np.random.default_rng([settings.seed, 13, spacing]))
        model = signal_autoencoder(settings, settings.seed)
        train_autoencoder(model, data, settings.steps_1d, settings.batch_1d, settings.lr, settings.seed, progress)
        errors = relative_errors(model, dirac_signals(every, length, settings.blur_sigma, data.dtype))
        seen = np.isin(np.arange(length), grid)
        half_errors = relative_errors(model, dirac_signals(halves, length, settings.blur_sigma, data.dtype))
        rows[f"k={spacing}"] = {
            "seen_positions": int(seen.sum()),
            "error_seen": float(errors[seen].mean()),
            "error_unseen_integer": float(errors[~seen].mean()) if np.any(~seen) else None,
            "error_half_integer": float(half_errors.mean()),
        }
    return rows


def position_2d(settings: PositionSettings, coord_channels: bool, progress: bool) -> dict:
    """Experiment 4: disks of fixed radius at random (x, y), latent 2; how linearly the code holds x and y."""
    draw = dict(image_size=settings.image_size, radius=settings.disk_radius)
    data, _ = positioned_disks(settings.train_count_2d, rng=np.random.default_rng([settings.seed, 21]), **draw)
    model = conv_autoencoder((1, settings.image_size, settings.image_size), channels=settings.channels_2d,
                             latent_dim=2, coord_channels=coord_channels, rng=np.random.default_rng([settings.seed, 22]))
    history = train_autoencoder(model, data, settings.steps_2d, settings.batch_2d, settings.lr, settings.seed,
                                progress)
    test, attributes = positioned_disks(500, rng=np.random.default_rng([settings.seed, 23]), **draw)
    codes = model.encode(test)[:, :, 0, 0].astype(np.float64)
    outputs = model.forward(test)
    metrics = {"mse_per_pixel": float(np.mean((outputs.astype(np.float64) - test) ** 2)),
               "final_train_loss": float(np.mean(history[-50:]))}
    for axis in ("x", "y"):
        target = attributes[axis]
        metrics[f"r2_{axis}_from_both_codes"] = multiple_r2(codes, target)
        for i in range(2):
            metrics[f"r2_z{i + 1}_vs_{axis}"] = linear_r2(target, codes[:, i])
    return {"metrics": metrics, "codes": codes, "attributes": attributes, "test": test, "outputs": outputs}


def run_position(out, settings: PositionSettings, progress: bool = True) -> dict:
    """Run all four experiments, write figures into ``out``; returns {"metrics", "figures", "notes", "seconds"}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    metrics, figures = {"settings": asdict(settings)}, {}

    crafted = handcrafted_encoder(settings.length)
    metrics["handcrafted"] = crafted["metrics"]
    notes = [f"Filters of the hand-crafted encoder (length {settings.length}; channel 0 = mass, 1 = moment):\n\n"
             f"```\n{crafted['filters']}\n```"]

    trained = trained_encoder(settings, progress)
    metrics["trained_1d"] = trained["metrics"]
    figures["trained encoder: code against position, and its effective filter against the ramp"] = \
        plots.position_code(trained["positions"], trained["codes"], trained["profile"], out / "position_code.png")
    figures["1-D Diracs (blue) and their reconstructions (orange)"] = plots.signal_reconstructions(
        trained["test"], trained["model"].forward(trained["test"]), trained["positions"], out / "dirac_recon.png")
    figures["loss (1-D Diracs)"] = plots.loss_curve(trained["history"], out / "loss_1d.png")

    if not settings.only_1d:
        metrics["sampling"] = sampling_experiment(settings, progress)
        figures["decoding against sampling: error at seen and unseen positions"] = plots.sampling_errors(
            metrics["sampling"], out / "sampling.png")

        runs = {}
        for coord in (False, True):
            name = "coordconv_2d" if coord else "plain_2d"
            runs[name] = position_2d(settings, coord, progress)
            metrics[name] = runs[name]["metrics"]
        figures["2-D position: each latent axis against x and y (top: plain, bottom: CoordChannels)"] = \
            plots.position_2d({k: (v["codes"], v["attributes"]) for k, v in runs.items()}, out / "position_2d.png")
        figures["2-D reconstructions (plain network)"] = plots.reconstructions(
            runs["plain_2d"]["test"], runs["plain_2d"]["outputs"], out / "recon_2d.png")
    seconds = time.perf_counter() - start
    metrics["seconds"] = round(seconds, 1)
    return {"metrics": metrics, "figures": figures, "notes": notes, "seconds": seconds}
