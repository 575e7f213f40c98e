"""Where the numbers of an image batch lie in memory: channels last, seen in (N, C, H, W) order.

Every layer takes and returns arrays of shape (N, C, H, W), PyTorch's order.  The convolutions
and Bias return them *channels last* in memory: ``y.transpose(0, 3, 1, 2)``, the (N, C, H, W) view
of a C-contiguous (N, H, W, C) array ``y``; LeakyReLU returns its input's layout.  The convolutions' matrix
products then read and write whole channel vectors, and nothing is copied between layouts from
one layer to the next.  Shapes, indexing and values are those of any array; only ``strides`` tell.

Convolution weights (A, B, kh, kw) are kept channels last too, as (A, kh, kw, B) in memory: each row of
the matrix a convolution multiplies by (:func:`npae.nn.conv.weight_rows`) is then a view, and its weight
gradient is written where it belongs, with no copy between layouts.  Optimisers and :func:`npae.nn.pack_parameters`
handle a parameter in :func:`memory` order, its gradient and moments in the same layout.

A layer that needs one layout asks for it (:func:`channels_last`, ``np.ascontiguousarray``); a copy
is made only when the array is in the other one.  Elementwise kernels work on the numbers in memory
order (``ravel("K")``) and return arrays laid out as their input (``np.empty_like``).
"""
from __future__ import annotations

import numpy as np


def is_channels_last(x: np.ndarray) -> bool:
    """True if the (N, C, H, W) array ``x`` is the view of a C-contiguous (N, H, W, C) array."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous


def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> C-contiguous (N, H, W, C): a view if ``x`` is channels last, else a copy."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def as_nchw(y: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> its (N, C, H, W) view."""
    return y.transpose(0, 3, 1, 2)


def is_compact(x: np.ndarray) -> bool:
    """True if ``x`` is C-contiguous or, 4-D, channels last: its numbers fill one block of memory."""
    return x.flags.c_contiguous or (x.ndim == 4 and is_channels_last(x))


def compact(x: np.ndarray) -> np.ndarray:
    """``x`` (any shape) if it is C-contiguous or, 4-D, channels last; else a C-contiguous copy."""
    return x if is_compact(x) else np.ascontiguousarray(x)


def in_layout(template: np.ndarray, *arrays: np.ndarray) -> bool:
    """True if every array has the shape and strides of ``template``: their :func:`memory` match element for element."""
    return all(a.shape == template.shape and all(stride == expected for stride, expected, size
                                                 in zip(a.strides, template.strides, a.shape) if size > 1)
               for a in arrays)


def memory(x: np.ndarray) -> np.ndarray:
    """The 1-D view (size,) of a compact array's numbers in memory order."""
    if x.flags.c_contiguous:
        return x.reshape(-1)
    if x.ndim == 4 and is_channels_last(x):
        return x.transpose(0, 2, 3, 1).reshape(-1)
    raise ValueError(f"memory: array of shape {x.shape} and strides {x.strides} is neither C-contiguous "
                     "nor channels last")


def from_memory(flat: np.ndarray, template: np.ndarray) -> np.ndarray:
    """The array of ``template``'s shape and layout whose :func:`memory` is the 1-D array ``flat``."""
    if template.flags.c_contiguous:
        return flat.reshape(template.shape)
    n_img, channels, h, w = template.shape
    return as_nchw(flat.reshape(n_img, h, w, channels))
