"""Pointwise non-linearities: LeakyReLU (the talk's) and Sigmoid (PCA-AE's output)."""
from __future__ import annotations

import numpy as np

from .. import kernels
from .layer import Layer, check_grad, check_input


class LeakyReLU(Layer):
    """y = x if x > 0 else alpha x;  dx = dy if x > 0 else alpha dy.

    Positively homogeneous: LeakyReLU(l t) = l LeakyReLU(t) for every l >= 0.
    """

    def __init__(self, alpha=0.2):
        super().__init__()
        self.alpha = float(alpha)
        self._mask = None

    def forward(self, x):
        y, self._mask = kernels.leaky_relu(check_input(self, x, keep_layout=True), self.alpha)
        return y

    def backward(self, grad_out):
        if self._mask is None:
            raise RuntimeError("LeakyReLU: backward called before forward")
        grad_out = check_grad(self, grad_out, self._mask.shape, keep_layout=True)
        return kernels.leaky_relu_backward(grad_out, self._mask, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x));  dx = dy * y (1 - y).  Evaluated without overflow for large |x|."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        x = check_input(self, x)
        e = np.exp(-np.abs(x))
        self._y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self._y

    def backward(self, grad_out):
        if self._y is None:
            raise RuntimeError("Sigmoid: backward called before forward")
        grad_out = check_grad(self, grad_out, self._y.shape)
        return grad_out * self._y * (1 - self._y)
