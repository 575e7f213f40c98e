"""2-D convolution (cross-correlation) and its adjoint, the transposed convolution.

Both are one matrix product on an im2col column matrix (see :mod:`npae.kernels.conv`), on images
kept channels last (:mod:`npae.nn.layout`).  With ``cols = im2col(x)`` of shape (N*Ho*Wo, kh*kw*C),
x and dy as matrices (pixels, channels), and Wm the weight as a (kh*kw*C, O) matrix
(:func:`weight_matrix`):

    Conv2d:          y = cols Wm,          dWm^T = dy^T cols,      dx = col2im(dy Wm^T)
    ConvTranspose2d: y = col2im(x Wm^T),   dWm^T = x^T im2col(dy), dx = im2col(dy) Wm

The transposed convolution is exactly the input-gradient of a convolution, and vice versa.  The weight is
kept channels last in memory (:mod:`npae.nn.layout`), so that Wm^T, the (O, kh*kw*C) matrix, is a view of it
(:func:`weight_rows`), and the weight gradient is computed as that matrix, into the gradient's memory:
OpenBLAS is faster with Wm^T C-contiguous and with the gradient transposed (docs/benchmarks.md), and
only Wm is a copy.
Conv2d keeps its input x for the backward pass and rebuilds cols from it there:
x is already alive as the previous layer's output, cols would be kh*kw/(sh*sw)
times larger.  With one input channel (the data) it keeps cols instead: rebuilding them
cost 2-3% of the talk model's step, keeping them 2.25x the images' memory.
A stride-1 Conv2d with one output channel never builds cols (:mod:`npae.kernels.direct`): there cols would be
kh*kw times its input, for a matrix-vector product (the bilinear decoder's last layer: 19 -> 5.5 ms).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import kernels
from ..kernels.blas import matmul
from .init import as_generator, he_uniform
from .layer import Layer, as_pair, check_dtype, check_grad, check_input
from .layout import as_nchw, channels_last, is_channels_last

PADDING_MODES = ("same", "valid", "full")


class Geometry(NamedTuple):
    """Index arithmetic of one convolution: kernel, stride, top/left padding, output size (a NamedTuple: made
    at every call, 4x faster than a frozen dataclass)."""

    kh: int
    kw: int
    sh: int
    sw: int
    pt: int
    pl: int
    ho: int
    wo: int

    def im2col(self, x):
        """(N, H, W, C) -> (N*ho*wo, kh*kw*C)."""
        return kernels.im2col(x, self.kh, self.kw, self.sh, self.sw, self.pt, self.pl, self.ho, self.wo)

    def col2im(self, cols, x_shape):
        """(N*ho*wo, kh*kw*C) -> x_shape (N, H, W, C)."""
        return kernels.col2im(cols, x_shape, self.kh, self.kw, self.sh, self.sw, self.pt, self.pl, self.ho, self.wo)


def resolve_padding(padding, kernel: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zero padding for "same", "valid", "full" or an int / pair of ints.

    "same" pads k-1 in all, (k-1)//2 before (PyTorch's rule): with stride 1 the
    output has the input's size, with stride s it has ceil(H/s) pixels, those
    of the stride-1 output at multiples of s.
    """
    kh, kw = kernel
    if isinstance(padding, str):
        if padding == "same":
            return (kh - 1) // 2, kh // 2, (kw - 1) // 2, kw // 2
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "full":
            return kh - 1, kh - 1, kw - 1, kw - 1
        raise ValueError(f"unknown padding {padding!r}; expected one of {PADDING_MODES} or an int")
    pair = (padding, padding) if np.isscalar(padding) else tuple(padding)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) and p >= 0 for p in pair):
        raise ValueError(f"padding must be {PADDING_MODES}, a non-negative int or a pair, got {padding!r}")
    return pair[0], pair[0], pair[1], pair[1]


def weight_matrix(weight: np.ndarray) -> np.ndarray:
    """(A, B, kh, kw) -> the (kh*kw*B, A) matrix Wm[(di, dj, b), a] = weight[a, b, di, dj] (a copy)."""
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(-1, weight.shape[0]))


def weight_rows(weight: np.ndarray) -> np.ndarray:
    """(A, B, kh, kw) -> the C-contiguous (A, kh*kw*B) matrix Wm^T[a, (di, dj, b)] = weight[a, b, di, dj]:
    a view of a channels-last weight, else a copy."""
    return channels_last(weight).reshape(weight.shape[0], -1)


def rows_view(weight: np.ndarray) -> np.ndarray | None:
    """The (A, kh*kw*B) matrix :func:`weight_rows` as a view of a channels-last ``weight``'s memory
    (a product can be written there), or None if ``weight`` is not channels last."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1) if is_channels_last(weight) else None


def weight_from_rows(rows: np.ndarray, out: np.ndarray) -> None:
    """Write the (A, kh*kw*B) matrix, the transpose of :func:`weight_matrix`'s, into ``out`` (A, B, kh, kw)."""
    a, b, kh, kw = out.shape
    out[...] = rows.reshape(a, kh, kw, b).transpose(0, 3, 1, 2)


def _store_weight_gradient(grad: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """grad (A, B, kh, kw) <- the (A, kh*kw*B) matrix left @ right, computed in grad's memory if it is channels
    last."""
    target = rows_view(grad)
    rows = matmul(left, right, out=target)
    if target is None:
        weight_from_rows(rows, grad)


class _Convolution(Layer):
    """What both convolutions share: channel counts, kernel, stride and a He-initialised weight."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, weight_layout: str, rng, dtype):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        if self.in_channels < 1 or self.out_channels < 1:
            raise ValueError(f"channel counts must be positive, got {in_channels}, {out_channels}")
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = as_pair(stride, "stride")
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        first, second = ((self.out_channels, self.in_channels) if weight_layout == "out_in"
                         else (self.in_channels, self.out_channels))
        shape = (first, second) + self.kernel_size
        weight = he_uniform(as_generator(rng), shape, fan_in, check_dtype(dtype))
        self.params["weight"] = as_nchw(channels_last(weight))
        self.grads["weight"] = np.zeros_like(self.params["weight"])
        self._cache = None


class Conv2d(_Convolution):
    """Cross-correlation, as ``torch.nn.functional.conv2d`` (no bias: that is :class:`Bias`).

    y[n, o, i, j] = sum_{c, a, b} w[o, c, a, b] * xpad[n, c, s_h i + a, s_w j + b]

    Shapes: x (N, C, H, W), weight (O, C, kh, kw), y (N, O, Ho, Wo) with
    Ho = (H + pad_top + pad_bottom - kh) // s_h + 1.  ``backward`` overwrites
    ``grads["weight"]``.  y is channels last in memory.  ``forward`` keeps x for ``backward`` (a reference
    when x is channels last, as every convolution's output is, or has one channel): changing x in place in
    between changes the weight gradient, except with one input channel, where the column matrix is kept.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding="same",
                 *, rng=None, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, "out_in", rng, dtype)
        self.padding = padding
        self.pads = resolve_padding(padding, self.kernel_size)

    def geometry(self, h: int, w: int) -> Geometry:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        pt, pb, pl, pr = self.pads
        ho, wo = (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"Conv2d: input {h}x{w} is smaller than the kernel {kh}x{kw} after padding")
        return Geometry(kh, kw, sh, sw, pt, pl, ho, wo)

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        if c != self.in_channels:
            raise ValueError(f"Conv2d: expected {self.in_channels} input channels, got shape {tuple(input_shape)}")
        g = self.geometry(h, w)
        return (n, self.out_channels, g.ho, g.wo)

    @property
    def direct(self) -> bool:
        """One output channel, stride 1: computed without a column matrix (:mod:`npae.kernels.direct`)."""
        return self.out_channels == 1 and self.stride == (1, 1)

    def _taps(self):
        """The weight of one output channel as a (kh, kw, C) array."""
        return self.params["weight"][0].transpose(1, 2, 0)

    def forward(self, x):
        weight = self.params["weight"]
        x = channels_last(check_input(self, x, self.in_channels, weight.dtype, keep_layout=True))
        g = self.geometry(x.shape[1], x.shape[2])
        if self.direct:
            self._cache = (x, g, None)
            y = kernels.single_output_conv(x, self._taps(), g.pt, g.pl, g.ho, g.wo)
            return as_nchw(y.reshape(x.shape[0], g.ho, g.wo, 1))
        cols = g.im2col(x)
        y = matmul(cols, weight_matrix(weight))
        self._cache = (x, g, cols if self.in_channels == 1 else None)
        return as_nchw(y.reshape(x.shape[0], g.ho, g.wo, self.out_channels))

    def backward(self, grad_out):
        grad_y = self._weight_gradient(grad_out)
        x, g, _ = self._cache
        if self.direct:
            dy = grad_y.reshape(x.shape[0], g.ho, g.wo)
            return as_nchw(kernels.single_output_conv_input_grad(dy, self._taps(), g.pt, g.pl, x.shape))
        grad_cols = matmul(grad_y, weight_rows(self.params["weight"]))
        return as_nchw(g.col2im(grad_cols, x.shape))

    def backward_params(self, grad_out):
        if type(self).backward is not Conv2d.backward or "backward" in vars(self):
            self.backward(grad_out)  # a backward of its own decides the grads
            return
        self._weight_gradient(grad_out)

    def _weight_gradient(self, grad_out):
        """Write dWm^T = dy^T cols into ``grads["weight"]``; return dy as a (pixels, O) matrix."""
        if self._cache is None:
            raise RuntimeError("Conv2d: backward called before forward")
        x, g, cols = self._cache
        grad_out = check_grad(self, grad_out, (x.shape[0], self.out_channels, g.ho, g.wo), keep_layout=True)
        grad_y = channels_last(grad_out).reshape(-1, self.out_channels)
        if self.direct:
            dy = grad_y.reshape(x.shape[0], g.ho, g.wo)
            taps = kernels.single_output_conv_weight_grad(dy, x, g.pt, g.pl, g.kh, g.kw)
            self.grads["weight"][0] = taps.transpose(2, 0, 1)
            return grad_y
        _store_weight_gradient(self.grads["weight"], grad_y.T, g.im2col(x) if cols is None else cols)
        return grad_y

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding!r}")


class ConvTranspose2d(_Convolution):
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d`` (no bias).

    The adjoint of :class:`Conv2d` with the same weight: y = Conv2d'(x), the
    input-gradient of a stride-s convolution.  Shapes: x (N, C, H, W), weight
    (C, O, kh, kw) (PyTorch's layout), y (N, O, Ho, Wo) with
    Ho = (H - 1) s_h - 2 p_h + kh + output_padding_h; y is channels last in memory.
    ``backward`` overwrites ``grads["weight"]``.  ``forward`` keeps x for ``backward`` (a reference when x
    is channels last, as every convolution's output is, or has one channel): changing x in place in
    between changes the weight gradient.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=0,
                 output_padding=0, *, rng=None, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, "in_out", rng, dtype)
        if padding == "valid":
            padding = 0
        if isinstance(padding, str):
            raise ValueError(f"unknown padding {padding!r} for ConvTranspose2d; expected 'valid' or an int")
        pt, _, pl, _ = resolve_padding(padding, self.kernel_size)
        self.padding = (pt, pl)
        self.output_padding = (output_padding,) * 2 if np.isscalar(output_padding) else tuple(output_padding)
        if any(op < 0 or op >= s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"output_padding must be in [0, stride), got {output_padding!r}")

    def geometry(self, h: int, w: int) -> tuple[Geometry, int, int]:
        """The geometry of the forward convolution this layer is the adjoint of, and (Ho, Wo)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        ho = (h - 1) * sh - 2 * ph + kh + self.output_padding[0]
        wo = (w - 1) * sw - 2 * pw + kw + self.output_padding[1]
        if ho < 1 or wo < 1:
            raise ValueError(f"ConvTranspose2d: output would be {ho}x{wo} for input {h}x{w}")
        return Geometry(kh, kw, sh, sw, ph, pw, h, w), ho, wo

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        if c != self.in_channels:
            raise ValueError(
                f"ConvTranspose2d: expected {self.in_channels} input channels, got shape {tuple(input_shape)}")
        _, ho, wo = self.geometry(h, w)
        return (n, self.out_channels, ho, wo)

    def forward(self, x):
        weight = self.params["weight"]
        x = channels_last(check_input(self, x, self.in_channels, weight.dtype, keep_layout=True))
        g, ho, wo = self.geometry(x.shape[1], x.shape[2])
        x2d = x.reshape(-1, self.in_channels)
        cols = matmul(x2d, weight_rows(weight))
        self._cache = (x.shape, g, x2d)
        return as_nchw(g.col2im(cols, (x.shape[0], ho, wo, self.out_channels)))

    def backward(self, grad_out):
        if self._cache is None:
            raise RuntimeError("ConvTranspose2d: backward called before forward")
        x_shape, g, x2d = self._cache
        n_img, h, w, _ = x_shape
        grad_out = check_grad(self, grad_out, self.output_shape((n_img, self.in_channels, h, w)), keep_layout=True)
        cols = g.im2col(channels_last(grad_out))
        _store_weight_gradient(self.grads["weight"], x2d.T, cols)
        grad_x = matmul(cols, weight_matrix(self.params["weight"]))
        return as_nchw(grad_x.reshape(x_shape))

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


NEAREST_TAPS = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=np.float64)
"""M (4 x 3): the 4x4 transposed kernel equal to nearest up-sampling by 2 then a 3x3 "same" convolution
is K = M w M^T, since output pixel t = 2i + a - 1 reads the 3x3 taps b in {2 - a, 3 - a} of the source i."""

NEAREST_KRON = np.kron(NEAREST_TAPS, NEAREST_TAPS)
"""M (x) M (16 x 9): the flattened K = M w M^T is (M (x) M) times the flattened w, K[4a + b] = sum M[a, i] M[b, j] w[3i + j]."""


class NearestUpConv2d(_Convolution):
    """Upsample("nearest", 2) then Conv2d 3x3 "same", computed at the low resolution as one transposed
    convolution with a 4x4 kernel, stride 2, padding 1 (4/9 of the multiply-adds, no up-sampled copy).

    The parameter is the 3x3 convolution's weight w (O, C, 3, 3); the transposed kernel is
    K[c, o] = M w[o, c] M^T (:data:`NEAREST_TAPS`), and dL/dw[o, c] = M^T dL/dK[c, o] M, both for every
    (o, c) at once as one matrix product with M (x) M (:data:`NEAREST_KRON`).
    Shapes: x (N, C, H, W) -> y (N, O, 2H, 2W).  ``backward`` overwrites ``grads["weight"]``.
    """

    def __init__(self, in_channels, out_channels, *, rng=None, dtype=np.float32):
        super().__init__(in_channels, out_channels, 3, 1, "out_in", rng, dtype)
        for arrays in (self.params, self.grads):  # read and written as (O*C, 9) rows: C-contiguous
            arrays["weight"] = np.ascontiguousarray(arrays["weight"])
        self._transposed = ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, rng=0, dtype=dtype)

    def astype(self, dtype):
        super().astype(dtype)
        self._transposed.astype(dtype)
        return self

    def output_shape(self, input_shape):
        return self._transposed.output_shape(input_shape)

    def forward(self, x):
        weight = self.params["weight"]
        kernels_4x4 = weight.reshape(-1, 9) @ NEAREST_KRON.T.astype(weight.dtype)
        shape = (self.out_channels, self.in_channels, 4, 4)
        self._transposed.params["weight"][...] = kernels_4x4.reshape(shape).transpose(1, 0, 2, 3)
        return self._transposed.forward(x)

    def backward(self, grad_out):
        grad_in = self._transposed.backward(grad_out)
        grad_4x4 = self._transposed.grads["weight"].transpose(1, 0, 2, 3).reshape(-1, 16)
        grad_3x3 = grad_4x4 @ NEAREST_KRON.astype(grad_in.dtype)
        self.grads["weight"][...] = grad_3x3.reshape(self.grads["weight"].shape)
        return grad_in

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, nearest x2 then kernel_size=(3, 3)"
