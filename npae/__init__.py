"""npae: a transparent, CPU-only autoencoder lab.

Layers with hand-written backward passes (hot loops in Numba), Adam, a
reusable gradient checker, and the autoencoders of Newson, Almansa, Gousseau
and Ladjal (size and position) and of Pham, Ladjal and Newson (PCA-like).
"""
from . import data, kernels
from .checkpoint import CheckpointError, save_model
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .losses import bce_loss, covariance_penalty, mse_loss
from .nn import (BatchNorm, Bias, Conv2d, ConvTranspose2d, CoordChannels, Layer, LeakyReLU, NearestUpConv2d,
                 Sequential, Sigmoid, Subsample, Upsample, pack_parameters)
from .inspect import Inspector
from .models import Autoencoder, AutoencoderConfig, build_autoencoder, conv_autoencoder, disk_autoencoder, ramp_encoder
from .optim import SGD, Adam
from .pca_ae import PCAAutoencoder, PCATrainConfig, train_pca_autoencoder
from .step import Tape, TrainingDiverged, training_step
from .train import Trainer, TrainConfig, load_checkpoint

__version__ = "0.1.0"

__all__ = [
    "Layer", "Conv2d", "ConvTranspose2d", "NearestUpConv2d", "Bias", "BatchNorm", "CoordChannels", "Subsample", "Upsample", "LeakyReLU",
    "Sigmoid", "Sequential", "pack_parameters", "mse_loss", "bce_loss", "covariance_penalty", "Adam", "SGD", "gradcheck",
    "GradcheckReport", "GradcheckError", "kernels", "data", "Autoencoder", "AutoencoderConfig", "build_autoencoder",
    "disk_autoencoder", "conv_autoencoder", "ramp_encoder", "Trainer", "TrainConfig", "TrainingDiverged",
    "training_step", "Tape", "load_checkpoint", "save_model", "CheckpointError", "Inspector",
    "PCAAutoencoder", "PCATrainConfig", "train_pca_autoencoder",
]
