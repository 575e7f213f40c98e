"""Layers with hand-written forward and backward passes."""
from .activation import LeakyReLU, Sigmoid
from .bias import Bias
from .conv import Conv2d, ConvTranspose2d
from .layer import Layer
from .sampling import Subsample, Upsample
from .sequential import Sequential

__all__ = ["Layer", "Conv2d", "ConvTranspose2d", "Bias", "Subsample", "Upsample",
           "LeakyReLU", "Sigmoid", "Sequential"]
