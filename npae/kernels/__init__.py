"""Numba kernels and their plain-NumPy references (pure functions on arrays).

Each public function dispatches on :func:`get_backend`: ``"numba"`` runs the
jitted kernel, ``"numpy"`` the reference.  This package imports nothing else
of npae.
"""
from .adam import adam_fault, adam_update
from .backend import BACKENDS, get_backend, set_backend, use_backend
from .bias import add_bias, add_bias_leaky_relu, column_sums
from .blas import matmul
from .conv import col2im, im2col
from .direct import single_output_conv, single_output_conv_input_grad, single_output_conv_weight_grad
from .loss import squared_error
from .pointwise import leaky_relu, leaky_relu_backward
from .sampling import bilinear, bilinear_adjoint, bilinear_matrix, block_sum, nearest, subsample, zero_insert

__all__ = [
    "BACKENDS", "get_backend", "set_backend", "use_backend",
    "matmul", "add_bias", "column_sums", "add_bias_leaky_relu", "im2col", "col2im", "subsample", "zero_insert", "nearest", "block_sum",
    "bilinear", "bilinear_adjoint", "bilinear_matrix", "leaky_relu", "leaky_relu_backward", "adam_update",
    "adam_fault", "squared_error", "single_output_conv", "single_output_conv_input_grad",
    "single_output_conv_weight_grad",
]
