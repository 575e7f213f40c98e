"""Step-by-step inspection of training: every activation, gradient and Adam moment of one step.

``Inspector(model, optimizer).step(batch)`` takes the training step of npae
(:func:`npae.step.training_step`, the one the Trainer takes) with a
:class:`~npae.step.Tape` attached, and turns what the tape holds into a
:class:`StepRecord`: for each layer, its input, output and input gradient, and
for each parameter its value before the step, gradient, Adam moments m and v
after the step, the update applied and ||update|| / ||weight||; and the loss
before and after the step.  The arrays are the ones the step made, so what it
shows is what training did.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .losses import mse_loss
from .step import Tape, reconstruction, training_step


def stats(array: np.ndarray) -> dict[str, float]:
    """Summary of an array: mean, std, min, max, L2 norm, fraction of zeros."""
    a = np.asarray(array, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "norm": float(np.linalg.norm(a)), "zeros": float(np.mean(a == 0))}


@dataclass
class LayerRecord:
    name: str
    kind: str
    input: np.ndarray
    output: np.ndarray
    grad_input: np.ndarray | None = None


@dataclass
class ParamRecord:
    name: str
    before: np.ndarray
    grad: np.ndarray
    update: np.ndarray
    moments: dict[str, np.ndarray]

    @property
    def update_ratio(self) -> float:
        """||update|| / ||weight before||, the usual health check of a learning rate (~1e-3 is typical)."""
        norm = np.linalg.norm(self.before)
        return float(np.linalg.norm(self.update) / norm) if norm > 0 else float("inf")


@dataclass
class StepRecord:
    step: int
    loss_before: float
    loss_after: float
    layers: list[LayerRecord] = field(default_factory=list)
    params: dict[str, ParamRecord] = field(default_factory=dict)

    def table(self) -> str:
        """A per-layer table: output stats, and for layers with parameters grad norm, moments, update ratio."""
        lines = [f"step {self.step}: loss before {self.loss_before:.6e}, after {self.loss_after:.6e}", "",
                 f"{'layer':<14} {'kind':<16} {'output shape':<18} {'out mean':>10} {'out std':>10} "
                 f"{'|grad in|':>10}"]
        for layer in self.layers:
            s = stats(layer.output)
            grad_norm = np.linalg.norm(layer.grad_input) if layer.grad_input is not None else float("nan")
            lines.append(f"{layer.name:<14} {layer.kind:<16} {str(layer.output.shape):<18} {s['mean']:10.3e} "
                         f"{s['std']:10.3e} {grad_norm:10.3e}")
        lines += ["", f"{'parameter':<22} {'|w|':>10} {'|grad|':>10} {'|m|':>10} {'|v|':>10} {'|update|':>10} "
                      f"{'upd/w':>10}"]
        for name, p in self.params.items():
            m = np.linalg.norm(p.moments.get("m", np.zeros(1)))
            v = np.linalg.norm(p.moments.get("v", np.zeros(1)))
            lines.append(f"{name:<22} {np.linalg.norm(p.before):10.3e} {np.linalg.norm(p.grad):10.3e} {m:10.3e} "
                         f"{v:10.3e} {np.linalg.norm(p.update):10.3e} {p.update_ratio:10.3e}")
        return "\n".join(lines)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every recorded array under a flat name, for ``np.savez``."""
        out = {"loss_before": np.array(self.loss_before), "loss_after": np.array(self.loss_after),
               "step": np.array(self.step)}
        for layer in self.layers:
            out[f"activation/{layer.name}/input"] = layer.input
            out[f"activation/{layer.name}/output"] = layer.output
            if layer.grad_input is not None:
                out[f"activation/{layer.name}/grad_input"] = layer.grad_input
        for name, p in self.params.items():
            out[f"param/{name}/before"] = p.before
            out[f"param/{name}/grad"] = p.grad
            out[f"param/{name}/update"] = p.update
            for key, value in p.moments.items():
                out[f"param/{name}/{key}"] = value
        return out


class Inspector:
    """Takes training steps of ``model`` with ``optimizer`` and records everything (reads, never alters the maths)."""

    def __init__(self, model, optimizer, loss=mse_loss, step_label: str = "", max_loss: float = math.inf):
        self.model, self.optimizer, self.loss, self.step_label = model, optimizer, loss, step_label
        self.max_loss = max_loss

    def step(self, batch: np.ndarray) -> StepRecord:
        """One training step on ``batch`` (an autoencoder's target is the batch itself), recorded.

        Refuses, like every step, a non-finite loss, gradient or update (:class:`npae.step.TrainingDiverged`).
        """
        tape = Tape()
        training_step(self.model, self.optimizer, batch, reconstruction(self.loss), tape, self.step_label,
                      self.max_loss)
        layers = [LayerRecord(t.name, type(t.layer).__name__, t.input, t.output, t.grad_input) for t in tape.layers]
        params = {name: ParamRecord(name, tape.params_before[name], tape.grads[name], value - tape.params_before[name],
                                    tape.moments.get(name, {}))
                  for name, value in self.model.params.items()}
        loss_after, _ = self.loss(self.model.forward(batch), batch)
        return StepRecord(self.optimizer.step_count, tape.loss, loss_after, layers, params)
