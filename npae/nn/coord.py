"""Coordinate channels, as in CoordConv (Liu et al., NeurIPS 2018)."""
from __future__ import annotations

import numpy as np

from .layer import Layer, check_grad, check_input


def coordinate_grid(h: int, w: int, dtype) -> np.ndarray:
    """(2, H, W): row coordinate then column coordinate, each linear from -1 to 1 (0 on a length-1 axis)."""
    rows = np.linspace(-1, 1, h) if h > 1 else np.zeros(1)
    cols = np.linspace(-1, 1, w) if w > 1 else np.zeros(1)
    return np.stack(np.meshgrid(rows, cols, indexing="ij")).astype(dtype)


class CoordChannels(Layer):
    """y = concat(x, rows, cols) along channels: (N, C, H, W) -> (N, C + 2, H, W).

    rows[i, j] = -1 + 2 i / (H - 1) and cols[i, j] = -1 + 2 j / (W - 1) do not depend on x,
    so dL/dx = dL/dy[:, :C].  No parameters.
    """

    def __init__(self):
        super().__init__()
        self._shape = None

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        return (n, c + 2, h, w)

    def forward(self, x):
        x = check_input(self, x)
        self._shape = x.shape
        n, _, h, w = x.shape
        grid = np.broadcast_to(coordinate_grid(h, w, x.dtype), (n, 2, h, w))
        return np.concatenate([x, grid], axis=1)

    def backward(self, grad_out):
        if self._shape is None:
            raise RuntimeError("CoordChannels: backward called before forward")
        grad_out = check_grad(self, grad_out, self.output_shape(self._shape))
        return np.ascontiguousarray(grad_out[:, : self._shape[1]])
