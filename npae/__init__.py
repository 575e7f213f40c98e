"""npae: a transparent, CPU-only autoencoder lab.

Layers with hand-written backward passes (hot loops in Numba), Adam, a
reusable gradient checker, and the disk autoencoder of Newson, Almansa,
Gousseau and Ladjal.
"""
from . import data, kernels
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .losses import bce_loss, mse_loss
from .nn import (Bias, Conv2d, ConvTranspose2d, Layer, LeakyReLU, Sequential, Sigmoid, Subsample,
                 Upsample)
from .inspect import Inspector
from .models import Autoencoder, disk_autoencoder
from .optim import SGD, Adam
from .train import Trainer, TrainConfig, TrainingDiverged, load_checkpoint

__version__ = "0.1.0"

__all__ = [
    "Layer", "Conv2d", "ConvTranspose2d", "Bias", "Subsample", "Upsample", "LeakyReLU", "Sigmoid",
    "Sequential", "mse_loss", "bce_loss", "Adam", "SGD", "gradcheck", "GradcheckReport",
    "GradcheckError", "kernels", "data", "Autoencoder", "disk_autoencoder", "Trainer", "TrainConfig",
    "TrainingDiverged", "load_checkpoint", "Inspector",
]
