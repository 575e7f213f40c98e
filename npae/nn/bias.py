"""A learned additive bias per channel, its own layer as in the talk."""
from __future__ import annotations

import numpy as np

from .. import kernels
from .layer import Layer, check_dtype, check_grad, check_input
from .layout import as_nchw, channels_last


class Bias(Layer):
    """y[n, c, i, j] = x[n, c, i, j] + b[c];  db[c] = sum_{n,i,j} dy[n, c, i, j].

    Shapes: x, y (N, C, H, W), bias (C,), initialised to 0; y is channels last in memory
    (:mod:`npae.nn.layout`), where both are one pass over a (pixels, channels) matrix.
    ``backward`` overwrites ``grads["bias"]``.
    """

    def __init__(self, channels, *, dtype=np.float32):
        super().__init__()
        self.channels = int(channels)
        if self.channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        self.params["bias"] = np.zeros(self.channels, dtype=check_dtype(dtype))
        self.grads["bias"] = np.zeros_like(self.params["bias"])
        self._shape = None

    def output_shape(self, input_shape):
        if input_shape[1] != self.channels:
            raise ValueError(f"Bias: expected {self.channels} channels, got shape {tuple(input_shape)}")
        return tuple(input_shape)

    def forward(self, x):
        bias = self.params["bias"]
        x = channels_last(check_input(self, x, self.channels, bias.dtype, keep_layout=True))
        self._shape = as_nchw(x).shape
        y = kernels.add_bias(x.reshape(-1, self.channels), bias)
        return as_nchw(y.reshape(x.shape))

    def backward(self, grad_out):
        grad_out = check_grad(self, grad_out, self._shape, keep_layout=True)
        kernels.column_sums(channels_last(grad_out).reshape(-1, self.channels), out=self.grads["bias"])
        return grad_out

    def extra_repr(self):
        return str(self.channels)
