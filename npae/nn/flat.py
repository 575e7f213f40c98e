"""A model's parameters, and their gradients, as views of one flat buffer each.

    flat = [memory(w_0), b_0, memory(w_1), ...]      layer.params[key] = flat[o_k : o_k + size_k] seen as w_k

Each array keeps its layout (:func:`npae.nn.layout.memory`: a channels-last weight stays channels last).
Nothing changes for the layers (they update and overwrite these arrays in place), but an optimiser can
then update every parameter with one pass over ``flat`` instead of one call per array
(:class:`npae.optim.Adam`).  :func:`packed_buffer` says whether arrays are still packed so: a layer that
rebinds its arrays (``Layer.astype``) unpacks them, and the optimiser goes back to one call per array
(``Autoencoder.astype`` packs them again).
"""
from __future__ import annotations

import numpy as np

from .layout import from_memory, is_compact


def _pack(dicts_and_keys: list[tuple[dict, str]], dtype: np.dtype) -> np.ndarray:
    """Copy ``d[key]`` for each (d, key) into one new flat buffer and rebind ``d[key]`` to its view there."""
    flat = np.empty(sum(d[key].size for d, key in dicts_and_keys), dtype=dtype)
    offset = 0
    for d, key in dicts_and_keys:
        value = d[key]
        segment = flat[offset:offset + value.size]
        view = from_memory(segment, value) if is_compact(value) else segment.reshape(value.shape)
        view[...] = value
        d[key] = view
        offset += value.size
    return flat


def pack_parameters(model) -> None:
    """Make every parameter of ``model`` (and its gradient) a view of one flat buffer, in ``model.params``'s
    order, values unchanged (nothing if the parameters have different dtypes).  Call it before handing out
    references to the arrays: one held from before is no longer the model's."""
    layers = [layer for _, layer in model.named_layers()] if hasattr(model, "named_layers") else [model]
    slots = [(layer, key) for layer in layers for key in layer.params]
    dtypes = {layer.params[key].dtype for layer, key in slots}
    if len(dtypes) != 1:
        return
    dtype = dtypes.pop()
    _pack([(layer.params, key) for layer, key in slots], dtype)
    _pack([(layer.grads, key) for layer, key in slots], dtype)


def packed_buffer(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The 1-D buffer that holds ``arrays`` (each compact: its numbers in one block) one after another, in this
    order and nothing else, or None."""
    if not arrays:
        return None
    base = arrays[0].base
    if base is None or base.ndim != 1 or not base.flags.c_contiguous or base.size != sum(a.size for a in arrays):
        return None
    address = base.ctypes.data
    for array in arrays:
        if array.base is not base or array.dtype != base.dtype or not is_compact(array) \
                or array.ctypes.data != address:
            return None
        address += array.nbytes
    return base
