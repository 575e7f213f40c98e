"""Batch normalisation without learned parameters (``torch.nn.BatchNorm1d(affine=False)``)."""
from __future__ import annotations

import numpy as np

from .layer import Layer, check_grad, check_input


class BatchNorm(Layer):
    """Per channel, y = (x - mu) / sqrt(var + eps) with the batch's mean and biased variance over (N, H, W).

    Training mode couples the samples of a batch; with m = N H W values per channel,
    dx = (dy - mean(dy) - y mean(dy y)) / sqrt(var + eps).
    It also keeps running estimates (momentum ``momentum``, unbiased variance, as PyTorch) that
    evaluation mode (``training = False``) uses instead, so a single image gets a fixed code.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if int(channels) < 1 or not eps > 0 or not 0 <= momentum <= 1:
            raise ValueError(f"need channels >= 1, eps > 0 and momentum in [0, 1], got {channels}, {eps}, {momentum}")
        self.channels, self.eps, self.momentum = int(channels), float(eps), float(momentum)
        self.training = True
        self.buffers["running_mean"] = np.zeros(self.channels)
        self.buffers["running_var"] = np.ones(self.channels)
        self._cache = None

    @property
    def running_mean(self) -> np.ndarray:
        return self.buffers["running_mean"]

    @property
    def running_var(self) -> np.ndarray:
        return self.buffers["running_var"]

    def forward(self, x):
        x = check_input(self, x, self.channels)
        if self.training:
            if x.shape[0] * x.shape[2] * x.shape[3] < 2:
                raise ValueError(f"BatchNorm: training mode needs at least 2 values per channel, got shape {x.shape}")
            x64 = x.astype(np.float64)
            mean = x64.mean(axis=(0, 2, 3))
            var = x64.var(axis=(0, 2, 3))
            count = x.shape[0] * x.shape[2] * x.shape[3]
            self.running_mean[...] = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var[...] = (1 - self.momentum) * self.running_var + self.momentum * var * count / (count - 1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        y = ((x - mean[None, :, None, None].astype(x.dtype)) * inv_std[None, :, None, None].astype(x.dtype))
        self._cache = (y, inv_std.astype(x.dtype), self.training)
        return y

    def backward(self, grad_out):
        if self._cache is None:
            raise RuntimeError("BatchNorm: backward called before forward")
        y, inv_std, training = self._cache
        grad_out = check_grad(self, grad_out, y.shape)
        scale = inv_std[None, :, None, None]
        if not training:
            return grad_out * scale
        mean_grad = grad_out.mean(axis=(0, 2, 3), keepdims=True)
        mean_grad_y = (grad_out * y).mean(axis=(0, 2, 3), keepdims=True)
        return (grad_out - mean_grad - y * mean_grad_y) * scale

    def extra_repr(self):
        return f"{self.channels}, eps={self.eps}, affine=False"
