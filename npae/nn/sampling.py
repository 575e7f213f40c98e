"""Sub-sampling and up-sampling by an integer factor.

``Subsample`` keeps every f-th pixel; ``Upsample("zeros")`` is its exact
adjoint (zero insertion), which is what "up-sampling by zero-padding before the
convolution" means in the talk.  ``"nearest"`` repeats pixels and
``"bilinear"`` interpolates (PyTorch's ``align_corners=False``).
"""
from __future__ import annotations

from .. import kernels
from .layer import Layer, as_pair, check_grad, check_input

UPSAMPLE_MODES = ("zeros", "nearest", "bilinear")


class Subsample(Layer):
    """y = x[:, :, ::f, ::f]: (N, C, H, W) -> (N, C, ceil(H/f), ceil(W/f)); dx = zero_insert(dy)."""

    def __init__(self, factor=2):
        super().__init__()
        self.factor = as_pair(factor, "factor")
        self._shape = None

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        fh, fw = self.factor
        return (n, c, -(-h // fh), -(-w // fw))

    def forward(self, x):
        x = check_input(self, x)
        self._shape = x.shape
        return kernels.subsample(x, *self.factor)

    def backward(self, grad_out):
        if self._shape is None:
            raise RuntimeError("Subsample: backward called before forward")
        grad_out = check_grad(self, grad_out, self.output_shape(self._shape))
        return kernels.zero_insert(grad_out, *self.factor, *self._shape[2:])

    def extra_repr(self):
        return f"factor={self.factor}"


class Upsample(Layer):
    """Up-sampling by f: (N, C, H, W) -> (N, C, f H, f W).

    mode "zeros":    y[f i, f j] = x[i, j], 0 elsewhere (the adjoint of Subsample);
    mode "nearest":  y[i, j] = x[i // f, j // f];
    mode "bilinear": y = A_h x A_w^T with A the 1-D interpolation matrices.
    ``output_size=(Ho, Wo)`` (mode "zeros" only) makes it the adjoint of a
    Subsample of an Ho x Wo image, e.g. 63 -> 32 -> 63.
    """

    def __init__(self, factor=2, mode="zeros", output_size=None):
        super().__init__()
        if mode not in UPSAMPLE_MODES:
            raise ValueError(f"unknown upsampling mode {mode!r}; expected one of {UPSAMPLE_MODES}")
        if output_size is not None and mode != "zeros":
            raise ValueError("output_size is only supported with mode='zeros'")
        self.factor = as_pair(factor, "factor")
        self.mode = mode
        self.output_size = None if output_size is None else as_pair(output_size, "output_size")
        self._shape = None

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        fh, fw = self.factor
        if self.output_size is None:
            return (n, c, fh * h, fw * w)
        ho, wo = self.output_size
        if -(-ho // fh) != h or -(-wo // fw) != w:
            raise ValueError(f"Upsample: output_size {self.output_size} does not subsample to {h}x{w}")
        return (n, c, ho, wo)

    def forward(self, x):
        x = check_input(self, x)
        self._shape = x.shape
        fh, fw = self.factor
        if self.mode == "zeros":
            return kernels.zero_insert(x, fh, fw, *self.output_shape(x.shape)[2:])
        if self.mode == "nearest":
            return kernels.nearest(x, fh, fw)
        return kernels.bilinear(x, fh, fw)

    def backward(self, grad_out):
        if self._shape is None:
            raise RuntimeError("Upsample: backward called before forward")
        grad_out = check_grad(self, grad_out, self.output_shape(self._shape))
        fh, fw = self.factor
        if self.mode == "zeros":
            return kernels.subsample(grad_out, fh, fw)
        if self.mode == "nearest":
            return kernels.block_sum(grad_out, fh, fw)
        return kernels.bilinear_adjoint(grad_out, fh, fw)

    def extra_repr(self):
        size = "" if self.output_size is None else f", output_size={self.output_size}"
        return f"factor={self.factor}, mode={self.mode!r}{size}"
