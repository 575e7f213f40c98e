"""Output buffers that a layer keeps from one step to the next.

By default every ``forward``/``backward`` returns new arrays, which is what
one expects from a function: ``a = layer.forward(x1); b = layer.forward(x2)``
leaves ``a`` intact.  A training loop, though, drops each step's arrays as
soon as the step is over, and allocating them again every step costs time
(page faults on large arrays) and memory churn.  Inside
``with reusing_buffers(model):`` each layer writes its outputs into arrays it
keeps (one per role, reallocated only when a shape or dtype changes), so a
steady-state training step allocates no new arrays; the arrays a layer
returns are then overwritten by its next call.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np


class Workspace:
    """Named arrays kept between calls: ``get(name, shape, dtype)`` returns the same array while they match."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        array = self.arrays.get(name)
        if array is None or array.shape != tuple(shape) or array.dtype != dtype:
            array = self.arrays[name] = np.empty(shape, dtype=dtype)
        return array

    @property
    def nbytes(self) -> int:
        return int(sum(array.nbytes for array in self.arrays.values()))


def layers_of(model) -> list:
    """The leaf layers of a layer, a Sequential or an Autoencoder."""
    if hasattr(model, "named_layers"):
        return [layer for _, layer in model.named_layers()]
    return [model]


@contextlib.contextmanager
def reusing_buffers(model) -> Iterator[None]:
    """Within the block, every layer of ``model`` writes its outputs into buffers it keeps."""
    layers = layers_of(model)
    previous = [layer.reuse_buffers for layer in layers]
    for layer in layers:
        layer.reuse_buffers = True
    try:
        yield
    finally:
        for layer, flag in zip(layers, previous):
            layer.reuse_buffers = flag


def workspace_nbytes(model) -> int:
    """Bytes held in the buffers of every layer of ``model``."""
    return sum(layer.workspace.nbytes for layer in layers_of(model) if layer.has_workspace)
