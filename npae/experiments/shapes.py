"""The size result for any shape (the talk's further work: "scaling of any shape").

Without biases the decoder is positively homogeneous, so on images x_r of one shape S scaled by r its
output is y = h(r) f, with f the maximiser of sum_r <f, x_r>^2 under ||f|| = 1: the top singular vector
of the family (:func:`npae.theory.pixel_maximiser`).  Only the disk has a closed form (Airy); for any
shape the pixel-exact maximiser is the reference.  For each shape this trains the talk autoencoder
(latent 1) with and without biases, with the size section's settings, on 1000 scaled copies, and
measures:

* with biases: the test MSE and |Spearman| of the code against the area;
* without biases: homogeneity D(l z) = l D(z); the decoder's image f = D(s) (s the sign of the codes it
  uses) against the pixel-exact maximiser f* of 1000 copies (relative L2 gap of the unit images); and the
  amplitude h(r) = <D(E(x_r)), f> / ||f||^2 against the optimal <x_r, f> / ||f||^2 (relative L2 gap).

The disk is trained on exactly the data and seeds of ``npae reproduce size``, so its row repeats that run.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import plots
from ..data.shapes import scaled_shapes, shape_indicator, shape_test_set
from ..statistics import abs_spearman_or_zero
from ..theory import pixel_maximiser
from .size import SizeSettings, homogeneity_error, train_model

DEFAULT_SHAPES = ("disk", "square", "star", "glyph:7")


@dataclass
class ShapeSettings:
    """Shapes, and the training of each of their two models (the size section's mode)."""

    shapes: list[str] = field(default_factory=lambda: list(DEFAULT_SHAPES))
    training: SizeSettings = field(default_factory=SizeSettings)
    family: int = 1000

    @classmethod
    def mode(cls, mode: str, seed: int = 0, shapes=None) -> "ShapeSettings":
        return cls(list(shapes or DEFAULT_SHAPES), SizeSettings.mode(mode, "talk", seed),
                   64 if mode == "smoke" else 1000)


def relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b||."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def direction_gap(image: np.ndarray, maximiser: np.ndarray) -> float:
    """Relative L2 gap of the unit image to the unit maximiser, which is defined up to its sign."""
    return min(relative_gap(unit(image), maximiser), relative_gap(-unit(image), maximiser))


def unit(image: np.ndarray) -> np.ndarray:
    return image / np.linalg.norm(image)


def slug(shape: str) -> str:
    """A file-name-safe name: "glyph:7" -> "glyph-7", "image:/a/b.png" -> "image-b"."""
    if shape.startswith("image:"):
        return "image-" + Path(shape[len("image:"):]).stem
    return shape.replace(":", "-")


def bias_free_analysis(model, test: np.ndarray, family: np.ndarray) -> dict:
    """The decoder's image against the pixel-exact maximiser, and its amplitude against the optimal one."""
    codes = model.encoder.forward(test).ravel().astype(np.float64)
    sign = 1.0 if np.sum(codes > 0) >= np.sum(codes < 0) else -1.0
    decoder64 = copy.deepcopy(model.decoder).astype(np.float64)
    f_decoder = decoder64.forward(np.full((1, 1, 1, 1), sign))[0, 0]
    f_pixel, _ = pixel_maximiser(family)
    norm2 = float(np.sum(f_decoder ** 2))
    outputs = decoder64.forward(codes.reshape(-1, 1, 1, 1))[:, 0]
    amplitude_decoder = outputs.reshape(len(codes), -1) @ f_decoder.ravel() / norm2
    amplitude_optimal = test[:, 0].reshape(len(codes), -1).astype(np.float64) @ f_decoder.ravel() / norm2
    return {
        "homogeneity_max_relative_error": homogeneity_error(decoder64, codes),
        "fraction_codes_of_one_sign": float(np.mean(np.sign(codes) == sign)),
        "gap_direction_to_pixel_maximiser": direction_gap(f_decoder, f_pixel) if norm2 > 0 else float("nan"),
        "gap_amplitude_to_optimal": relative_gap(amplitude_decoder, amplitude_optimal),
        "f_decoder": f_decoder, "f_pixel": f_pixel,
        "amplitude_decoder": amplitude_decoder, "amplitude_optimal": amplitude_optimal,
    }


def run_shape(shape: str, settings: ShapeSettings, out: Path, progress: bool) -> tuple[dict, dict]:
    train = settings.training
    size = 64
    images, _ = scaled_shapes(shape, train.train_size, size, scale_range=(0.0, size / 2),
                              rng=np.random.default_rng([train.seed, 1]))
    test, attributes = shape_test_set(shape, size)
    family, _ = scaled_shapes(shape, settings.family, size, scale_range=(0.0, size / 2),
                              rng=np.random.default_rng(train.seed), dtype=np.float64)

    biased = train_model(train, bias=True, progress=progress, data=images)
    z = biased.model.encoder.forward(test)
    reconstructions = biased.model.decoder.forward(z)
    metrics = {"with_bias": {
        "test_mse": float(np.mean((reconstructions.astype(np.float64) - test) ** 2)),
        "spearman_z_area": abs_spearman_or_zero(z.ravel(), attributes["area"]),
        "final_train_loss": float(np.mean(biased.loss_history[-50:])),
    }}
    free = train_model(train, bias=False, progress=progress, data=images)
    analysis = bias_free_analysis(free.model, test, family)
    metrics["without_bias"] = {key: value for key, value in analysis.items() if not isinstance(value, np.ndarray)}
    name = slug(shape)
    figures = {
        f"{shape}: the bias-free decoder's image, the pixel-exact maximiser and their difference (unit norms)":
            plots.direction_comparison(unit(analysis["f_decoder"]), analysis["f_pixel"],
                                       f"{shape}: relative L2 gap {analysis['gap_direction_to_pixel_maximiser']:.4f}",
                                       out / f"direction_{name}.png"),
        f"{shape}: amplitude h(r), decoder against optimal": plots.amplitude(
            attributes["scale"], analysis["amplitude_decoder"], analysis["amplitude_optimal"],
            out / f"amplitude_{name}.png"),
    }
    return metrics, figures


def run_shapes(out, settings: ShapeSettings, progress: bool = True) -> dict:
    """Train and measure every shape of ``settings``; write the figures into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for shape in settings.shapes:
        shape_indicator(shape, 64)
    start = time.perf_counter()
    metrics, figures = {"settings": asdict(settings)}, {}
    for shape in settings.shapes:
        metrics[shape], shape_figures = run_shape(shape, settings, out, progress)
        figures.update(shape_figures)
    seconds = time.perf_counter() - start
    metrics["seconds"] = round(seconds, 1)
    return {"metrics": metrics, "figures": figures, "notes": [summary_table(metrics, settings.shapes)],
            "seconds": seconds}


def summary_table(metrics: dict, shapes) -> str:
    lines = ["| shape | test MSE (biases) | \\|Spearman(z, area)\\| | homogeneity error (bias-free) | "
             "gap of D(s) to the pixel-exact maximiser | gap of h(r) to the optimal |",
             "| --- | --- | --- | --- | --- | --- |"]
    for shape in shapes:
        biased, free = metrics[shape]["with_bias"], metrics[shape]["without_bias"]
        lines.append(f"| {shape} | {biased['test_mse']:.3e} | {biased['spearman_z_area']:.5f} | "
                     f"{free['homogeneity_max_relative_error']:.1e} | {free['gap_direction_to_pixel_maximiser']:.4f} | "
                     f"{free['gap_amplitude_to_optimal']:.4f} |")
    return "\n".join(lines)
