"""npae: a transparent, CPU-only autoencoder lab.

Layers with hand-written backward passes (hot loops in Numba), Adam, a
reusable gradient checker, and the disk autoencoder of Newson, Almansa,
Gousseau and Ladjal.
"""
from . import data, kernels
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .losses import bce_loss, covariance_penalty, mse_loss
from .nn import (BatchNorm, Bias, Conv2d, ConvTranspose2d, CoordChannels, Layer, LeakyReLU, Sequential, Sigmoid,
                 Subsample, Upsample, BufferPool, pooled_step, release_kept_arrays, reusing_buffers)
from .inspect import Inspector
from .models import Autoencoder, conv_autoencoder, disk_autoencoder, ramp_encoder
from .optim import SGD, Adam
from .pca_ae import (PCAAutoencoder, PCATrainConfig, load_pca_autoencoder, save_pca_autoencoder,
                     train_pca_autoencoder)
from .train import Trainer, TrainConfig, TrainingDiverged, load_checkpoint

__version__ = "0.1.0"

__all__ = [
    "Layer", "Conv2d", "ConvTranspose2d", "Bias", "BatchNorm", "CoordChannels", "Subsample", "Upsample", "LeakyReLU", "Sigmoid",
    "Sequential", "BufferPool", "reusing_buffers", "release_kept_arrays", "pooled_step", "mse_loss", "bce_loss", "covariance_penalty", "Adam", "SGD", "gradcheck", "GradcheckReport",
    "GradcheckError", "kernels", "data", "Autoencoder", "disk_autoencoder", "conv_autoencoder", "ramp_encoder", "Trainer", "TrainConfig",
    "TrainingDiverged", "load_checkpoint", "Inspector",
    "PCAAutoencoder", "PCATrainConfig", "train_pca_autoencoder", "save_pca_autoencoder", "load_pca_autoencoder",
]
