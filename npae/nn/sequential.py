"""Sequential: layers applied in order, backward in reverse order; the one container of npae.

Children are named by their index (``Sequential(a, b)``: "0", "1") or by keyword
(``Sequential(encoder=e, decoder=d)``: "encoder", "decoder", also reachable as
``model.encoder``).  Parameters and buffers get qualified names, recursively:
``"encoder.3.weight"``, ``"1.6.running_mean"``, so a state dict is a flat mapping
from names to arrays that an ``.npz`` file can hold.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import fused
from .layer import Layer, check_dtype


class Sequential(Layer):
    """y = layer_{L-1}( ... layer_1(layer_0(x)));  backward chains the layers' backward in reverse.

    ``backward`` overwrites every layer's ``grads``.  ``config`` (None, or a dict a builder
    understands) lets a checkpoint rebuild the architecture.
    """

    def __init__(self, *layers: Layer, config: dict | None = None, **named: Layer):
        super().__init__()
        if layers and named:
            raise TypeError("Sequential: give the layers either all by position or all by name")
        children = dict(named) if named else {str(index): layer for index, layer in enumerate(layers)}
        for name, layer in children.items():
            if not hasattr(layer, "forward") or not hasattr(layer, "backward"):
                raise TypeError(f"Sequential: item {name} ({type(layer).__name__}) is not a layer")
        self.names = list(children)
        self.layers = list(children.values())
        self.config = config

    def __getattr__(self, name):
        names = self.__dict__.get("names", [])
        if name in names and not name.isdigit():
            return self.__dict__["layers"][names.index(name)]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def named_children(self) -> Iterator[tuple[str, Layer]]:
        return zip(self.names, self.layers)

    def append(self, layer: Layer, name: str | None = None) -> None:
        """Add a child at the end (named by its index unless ``name`` is given)."""
        self.names.append(str(len(self.layers)) if name is None else name)
        self.layers.append(layer)

    def named_layers(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """(qualified name, layer) for every leaf layer, in forward order."""
        for name, layer in self.named_children():
            if isinstance(layer, Sequential):
                yield from layer.named_layers(f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}", layer

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        return {f"{layer_name}.{key}": value
                for layer_name, layer in self.named_layers()
                for key, value in getattr(layer, attribute).items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._named("params")

    @params.setter
    def params(self, value):
        if value:
            raise AttributeError("Sequential.params is derived from its layers")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self._named("grads")

    @grads.setter
    def grads(self, value):
        if value:
            raise AttributeError("Sequential.grads is derived from its layers")

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        return self._named("buffers")

    @buffers.setter
    def buffers(self, value):
        if value:
            raise AttributeError("Sequential.buffers is derived from its layers")

    def forward(self, x):
        """The layers in order; a Bias directly followed by a LeakyReLU in one pass (:mod:`npae.nn.fused`)."""
        layers, k = self.layers, 0
        while k < len(layers):
            if k + 1 < len(layers) and fused.fusable(layers[k], layers[k + 1]):
                x = fused.forward(layers[k], layers[k + 1], x)
                k += 2
            else:
                x = layers[k].forward(x)
                k += 1
        return x

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def backward_params(self, grad_out):
        """Every layer's grads, as :meth:`backward` fills them, without dL/d(input) of the first layer."""
        if type(self).backward is not Sequential.backward:
            self.backward(grad_out)  # a backward of its own decides the grads
            return
        for layer in reversed(self.layers[1:]):
            grad_out = layer.backward(grad_out)
        if self.layers:
            first = self.layers[0]
            getattr(first, "backward_params", first.backward)(grad_out)

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def astype(self, dtype):
        check_dtype(dtype)
        for layer in self.layers:
            layer.astype(dtype)
        return self

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer, by qualified name."""
        return {name: value.copy() for name, value in {**self.params, **self.buffers}.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters and buffers in place; keys, shapes and dtypes must match exactly."""
        load_into({**self.params, **self.buffers}, state, type(self).__name__)

    def summary(self, input_shape) -> str:
        """A table of layer, output shape and parameter count for an input of ``input_shape``."""
        rows = [("layer", "output shape", "params")]
        shape = tuple(input_shape)
        for name, layer in self.named_layers():
            shape = layer.output_shape(shape)
            rows.append((f"{name}: {layer!r}", str(shape), str(layer.num_params())))
        rows.append(("total", "", str(self.num_params())))
        widths = [max(len(row[k]) for row in rows) for k in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        return "\n".join(lines)

    def extra_repr(self):
        if all(name.isdigit() for name in self.names):
            return ", ".join(repr(layer) for layer in self.layers)
        return ", ".join(f"{name}={layer!r}" for name, layer in self.named_children())


def load_into(params: dict[str, np.ndarray], state: dict[str, np.ndarray], owner: str) -> None:
    """Copy arrays of ``state`` into ``params`` in place after checking every key, shape and dtype."""
    missing = sorted(set(params) - set(state))
    unexpected = sorted(set(state) - set(params))
    if missing or unexpected:
        raise ValueError(f"{owner}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
    for name, target in params.items():
        value = np.asarray(state[name])
        if value.shape != target.shape:
            raise ValueError(f"{owner}.load_state_dict: {name!r} has shape {value.shape}, expected {target.shape}")
        if value.dtype != target.dtype:
            raise TypeError(f"{owner}.load_state_dict: {name!r} has dtype {value.dtype}, expected {target.dtype}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{owner}.load_state_dict: {name!r} holds NaN or inf")
    for name, target in params.items():
        target[...] = state[name]
