"""One training step, the only one in npae: the Trainer, training on any array, the PCA-AE stages and
the Inspector all take it.

    loss, dL/dy = objective(model, batch)     forward, loss and backward: fills model.grads
    refuse a non-finite or blown-up loss      nothing has changed yet
    optimizer.step()                          p <- p - update(g), or nothing if a gradient holds NaN or inf
                                              or the update would leave one in a parameter or a moment

A :class:`Tape` passed as ``tape`` records what the step made: every layer's input, output and
input gradient (when the model is a chain of layers), the parameters before the update, the
gradients, and the optimiser's moments after it.  Recording keeps references and copies; it never
changes the arithmetic, so a step with a tape and one without leave bit-identical states.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .allocator import keep_freed_memory
from .losses import mse_loss
from .optim import NonFiniteUpdate


class TrainingDiverged(RuntimeError):
    """The loss, a gradient, a parameter or an optimiser moment became NaN or inf (or the loss blew up);
    the step was not applied, the model and optimiser keep their previous state."""


@dataclass
class LayerTrace:
    name: str
    layer: object
    input: np.ndarray
    output: np.ndarray
    grad_input: np.ndarray | None = None


@dataclass
class Tape:
    """What one step made (filled by :func:`training_step`)."""

    layers: list[LayerTrace] = field(default_factory=list)
    loss: float = math.nan
    params_before: dict[str, np.ndarray] = field(default_factory=dict)
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    moments: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def is_chain(model) -> bool:
    """True if ``model.forward`` is its leaf layers applied in order (a Sequential of Sequentials)."""
    from .nn import Sequential

    return isinstance(model, Sequential) and type(model).forward is Sequential.forward and all(
        type(child).forward is Sequential.forward or not isinstance(child, Sequential)
        for _, child in model.named_children())


def forward(model, x: np.ndarray, tape: Tape | None = None) -> np.ndarray:
    """model.forward(x); with a tape, layer by layer, recording each input and output."""
    if tape is None or not is_chain(model):
        return model.forward(x)
    for name, layer in model.named_layers():
        y = layer.forward(x)
        tape.layers.append(LayerTrace(name, layer, x, y))
        x = y
    return x


def backward(model, grad: np.ndarray, tape: Tape | None = None) -> None:
    """Fill model.grads from dL/dy: ``model.backward_params(grad)``, which skips dL/d(data) as PyTorch does for
    an input that does not require a gradient; with a tape that recorded the forward, layer by layer,
    recording every dL/d(input), the data's included (the same grads)."""
    if tape is None or not tape.layers:
        getattr(model, "backward_params", model.backward)(grad)
        return
    for trace in reversed(tape.layers):
        grad = trace.layer.backward(grad)
        trace.grad_input = grad


def reconstruction(loss=mse_loss) -> Callable:
    """The autoencoder objective: y = model(x), (L, dL/dy) = loss(y, x), model.backward(dL/dy)."""

    def objective(model, batch, tape=None):
        output = forward(model, batch, tape)
        value, grad = loss(output, batch)
        if math.isfinite(value):
            backward(model, grad, tape)
        return value

    return objective


def training_step(model, optimizer, batch: np.ndarray, objective: Callable | None = None,
                  tape: Tape | None = None, step_label: str = "", max_loss: float = math.inf) -> float:
    """One step: ``objective(model, batch, tape)`` returns the loss and fills the grads; then the update.

    ``batch`` is whatever the objective reads (images, or indices into a training set).
    Raises :class:`TrainingDiverged` naming the culprit, with model and optimiser unchanged, if the loss or a
    gradient is not finite, if the loss exceeds ``max_loss`` (a finite blow-up), or if the update would make
    a parameter or a moment overflow (the optimiser refuses it: :class:`npae.optim.NonFiniteUpdate`; an
    optimiser passed here must change nothing when it raises, as npae's do).  These are detected, so
    numpy's warnings about overflow are muted.
    The first step keeps freed memory in the process for the next ones (:mod:`npae.allocator`).
    """
    keep_freed_memory()
    objective = reconstruction() if objective is None else objective
    where = f" at {step_label}" if step_label else ""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss = objective(model, batch, tape)
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the loss became {loss}{where}")
        if loss > max_loss:
            raise TrainingDiverged(f"the loss blew up to {loss:.3e} (more than the limit {max_loss:.3e}){where}")
        before = {name: value.copy() for name, value in model.params.items()} if tape is not None else {}
        try:
            optimizer.step()
        except NonFiniteUpdate as refused:
            raise TrainingDiverged(f"{refused}{where}") from None
    if tape is not None:
        tape.loss = loss
        tape.params_before = before
        tape.grads = {name: value.copy() for name, value in model.grads.items()}
        tape.moments = {name: {key: value.copy() for key, value in moments.items()}
                        for name, moments in optimizer.state.items()}
    return loss
