"""The layer protocol every npae layer follows, and the input checks they share.

A layer has

* ``forward(x)``: computes its output and keeps what ``backward`` needs;
* ``backward(grad_out) -> grad_in``: given dL/d(output) of the last forward,
  returns dL/d(input) and *overwrites* ``grads`` with dL/d(params) (it does
  not accumulate: two backward calls leave the gradient of the last one);
* ``backward_params(grad_out)``: the same ``grads``, without dL/d(input), for a
  model's first layer, whose input (the data) needs no gradient (a layer without
  it, or whose class overrides ``backward`` only, is run through ``backward``);
* ``params`` and ``grads``: dicts with the same keys and shapes;
* ``buffers``: arrays that are state but not trained (BatchNorm's running statistics);
* ``output_shape(input_shape)``: the shape ``forward`` would return.

Parameters are updated in place by the optimisers, so a layer never rebinds
the arrays in ``params``.
"""
from __future__ import annotations

import numpy as np

from .layout import compact

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise TypeError."""
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def check_input(layer: "Layer", x, channels: int | None = None, dtype=None, keep_layout: bool = False) -> np.ndarray:
    """Validate an NCHW input: an ndarray, 4-D, float32/64, finite-size, right channels and dtype.

    Returns it C-contiguous, or with ``keep_layout`` channels last if it was (:mod:`npae.nn.layout`)."""
    name = type(layer).__name__
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: input must be a numpy array, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name}: input must be 4-D (N, C, H, W), got shape {x.shape}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: input dtype must be float32 or float64, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"{name}: input dtype {x.dtype} does not match the layer's parameters ({dtype}); "
            f"convert one of them (layer.astype({x.dtype.name}) or x.astype({dtype.name}))"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} input channels, got shape {x.shape}")
    layer.forward_dtype = x.dtype
    return compact(x) if keep_layout else np.ascontiguousarray(x)


def check_grad(layer: "Layer", grad_out, expected_shape: tuple[int, ...], keep_layout: bool = False) -> np.ndarray:
    """Validate dL/d(output): called after forward, with the output's shape; returned as :func:`check_input` does."""
    name = type(layer).__name__
    if expected_shape is None:
        raise RuntimeError(f"{name}: backward called before forward")
    if not isinstance(grad_out, np.ndarray) or grad_out.shape != tuple(expected_shape):
        shape = getattr(grad_out, "shape", None)
        raise ValueError(f"{name}: grad_out must have the output's shape {expected_shape}, got {shape}")
    forward_dtype = getattr(layer, "forward_dtype", None)
    if forward_dtype is not None and grad_out.dtype != forward_dtype:
        raise TypeError(f"{name}: grad_out dtype {grad_out.dtype} differs from the forward pass's {forward_dtype}")
    return compact(grad_out) if keep_layout else np.ascontiguousarray(grad_out)


def as_pair(value, what: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair of positive ints."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in pair):
        raise ValueError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")
    return int(pair[0]), int(pair[1])


class Layer:
    """Base class: no parameters, identity ``astype``; subclasses fill ``params``/``grads``.

    ``buffers`` holds state that is not trained but belongs to the model (BatchNorm's running
    statistics): saved and loaded with the parameters, never touched by an optimiser.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_params(self, grad_out: np.ndarray) -> None:
        """Fill ``grads`` as :meth:`backward` does, where dL/d(input) is not needed (the data's gradient).

        Layers whose dL/d(input) costs work of its own skip it here (:class:`~npae.nn.Conv2d`)."""
        self.backward(grad_out)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    @property
    def dtype(self) -> np.dtype | None:
        """dtype of the parameters, or None for a parameter-free layer."""
        for value in self.params.values():
            return value.dtype
        return None

    def astype(self, dtype) -> "Layer":
        """Convert the parameters (and zero the grads) to ``dtype``, in place; returns self."""
        dtype = check_dtype(dtype)
        for key in self.params:
            self.params[key] = self.params[key].astype(dtype)
            self.grads[key] = np.zeros_like(self.params[key])
        return self

    def zero_grad(self) -> None:
        for grad in self.grads.values():
            grad[...] = 0

    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
