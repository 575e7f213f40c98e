"""The forward pass of Bias then LeakyReLU, the pair after every convolution of the talk's networks, in one pass.

    t = x + b,  y = phi_a(t),  mask = t > 0

:class:`~npae.nn.Sequential` runs the forward pass of a :class:`~npae.nn.Bias` directly followed by a
:class:`~npae.nn.LeakyReLU` (those classes exactly, not subclasses) through :func:`forward`: the same numbers
as the two layers one after the other, bit for bit, in one pass over the images instead of two and one kernel
call instead of two.  Each layer is left holding what its own ``backward`` needs (the Bias its output shape,
the LeakyReLU its mask), and the backward pass runs the layers one by one.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from .activation import LeakyReLU
from .bias import Bias
from .layer import check_input
from .layout import as_nchw, channels_last


_OWN_FORWARDS = (Bias.forward, LeakyReLU.forward)


def fusable(first, second) -> bool:
    """True if ``first`` then ``second`` is a Bias then a LeakyReLU, both with the library's ``forward`` (not a
    subclass's, nor one patched onto the class or the layer): then Sequential runs them as one pair."""
    return (type(first) is Bias and type(second) is LeakyReLU
            and (Bias.forward, LeakyReLU.forward) == _OWN_FORWARDS
            and "forward" not in vars(first) and "forward" not in vars(second))


def forward(bias: Bias, leaky: LeakyReLU, x: np.ndarray) -> np.ndarray:
    """``leaky.forward(bias.forward(x))`` in one pass; y is channels last in memory."""
    b = bias.params["bias"]
    x = channels_last(check_input(bias, x, bias.channels, b.dtype, keep_layout=True))
    y, mask = kernels.add_bias_leaky_relu(x.reshape(-1, bias.channels), b, leaky.alpha)
    y, mask = as_nchw(y.reshape(x.shape)), as_nchw(mask.reshape(x.shape))
    bias._shape, leaky._mask, leaky.forward_dtype = y.shape, mask, y.dtype
    return y
