"""Layers with hand-written forward and backward passes."""
from .activation import LeakyReLU, Sigmoid
from .bias import Bias
from .conv import Conv2d, ConvTranspose2d, NearestUpConv2d
from .coord import CoordChannels
from .flat import pack_parameters
from .layer import Layer
from .norm import BatchNorm
from .sampling import Subsample, Upsample
from .sequential import Sequential

__all__ = ["Layer", "Conv2d", "ConvTranspose2d", "NearestUpConv2d", "Bias", "BatchNorm", "CoordChannels", "Subsample", "Upsample",
           "LeakyReLU", "Sigmoid", "Sequential", "pack_parameters"]
