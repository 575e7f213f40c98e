"""The PCA-like autoencoder of Pham, Ladjal and Newson (SCIENCE.md 3): ordered, decorrelated codes.

Component k has its own encoder E_k (blocks down to one number, then a parameter-free
:class:`~npae.nn.BatchNorm`) and a decoder D_k (blocks up from k numbers, sigmoid output)
reading the codes z_1..z_k.  The blocks are npae's talk blocks (``network="talk"``, widths ``channels``)
or the authors' (``network="authors"``: Conv2d / ConvTranspose2d k4 s2 p1, encoder widths 32-16-8-4-2,
decoder widths 2k-4k-8k-16k-32k, :func:`npae.models.pcaae_config`).  Training is incremental: stage k trains E_k and D_k only, with
E_1..E_{k-1} frozen, on

    L_k = BCE(D_k(z_1..z_k), x) + lambda_cov (1/(k-1)) sum_{i<k} mean(z_i z_k)^2.

The earlier decoders are kept: D_j decodes the first j codes, which measures the ordering.
A PCA-AE is saved and loaded like every npae model (:func:`npae.save_model`, :func:`npae.load_checkpoint`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .losses import bce_loss, covariance_penalty
from .models import Autoencoder, build_decoder, coded_encoder, conv_config, pcaae_config
from .nn import BatchNorm, Sequential
from .nn.init import as_generator
from .optim import Adam
from .step import training_step
from .train import check_training_data

PCA_KIND = "pca-ae"
NETWORKS = ("talk", "authors")


@dataclass
class PCAConfig:
    """The architecture of a PCA-AE: image side, hidden widths, LeakyReLU slope, dtype, number of codes, and
    the blocks (``network``: "talk", or "authors", whose widths and slope are fixed and which needs 64 x 64)."""

    image_size: int = 64
    channels: list[int] = field(default_factory=lambda: [8, 16, 32, 64, 64])
    alpha: float = 0.2
    dtype: str = "float32"
    components: int = 0
    network: str = "talk"

    def __post_init__(self):
        if self.network not in NETWORKS:
            raise ValueError(f"unknown PCA-AE network {self.network!r}; expected one of {NETWORKS}")
        if self.network == "authors" and self.image_size != 64:
            raise ValueError(f"the authors' PCA-AE network takes 64 x 64 images, got side {self.image_size}")

    def to_dict(self) -> dict:
        return {"kind": PCA_KIND, **asdict(self)}


@dataclass
class PCATrainConfig:
    """Training of every stage: Adam(lr, betas) for ``steps`` steps of ``batch_size`` images."""

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    betas: tuple = (0.5, 0.999)
    lambda_cov: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.steps < 0 or self.batch_size < 2 or not self.lr > 0 or self.lambda_cov < 0:
            raise ValueError(f"need steps >= 0, batch_size >= 2 (batch normalisation), lr > 0 and lambda_cov >= 0; "
                             f"got {asdict(self)}")


def set_training(model: Sequential, training: bool) -> None:
    """Switch the batch normalisations of ``model`` to training (batch statistics) or evaluation mode."""
    for _, layer in model.named_layers():
        if isinstance(layer, BatchNorm):
            layer.training = training


class PCAAutoencoder(Sequential):
    """Encoders E_1..E_k and decoders D_1..D_k of a PCA-AE with k = ``components`` codes so far.

    A Sequential of the children "encoder1", "decoder1", "encoder2", ... for storage (params,
    buffers, state_dict, checkpoints); its ``forward`` is D_k(E_1(x), ..., E_k(x)), not a chain.
    """

    def __init__(self, image_size: int = 64, channels=(8, 16, 32, 64, 64), alpha: float = 0.2,
                 dtype=np.float32, rng=None, network: str = "talk"):
        super().__init__()
        self.config = PCAConfig(int(image_size), [int(c) for c in channels], float(alpha), np.dtype(dtype).name,
                                network=network)
        self.rng = as_generator(rng)

    @classmethod
    def from_config(cls, config: PCAConfig, rng=None) -> "PCAAutoencoder":
        model = cls(config.image_size, config.channels, config.alpha, config.dtype, rng, config.network)
        for _ in range(int(config.components)):
            model.add_component()
        return model

    @property
    def shape(self) -> tuple[int, int, int]:
        return (1, self.config.image_size, self.config.image_size)

    @property
    def channels(self) -> list[int]:
        return self.config.channels

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config.dtype)

    @property
    def components(self) -> int:
        return self.config.components

    @property
    def encoders(self) -> list[Sequential]:
        return [getattr(self, f"encoder{i}") for i in range(1, self.components + 1)]

    @property
    def decoders(self) -> list[Sequential]:
        return [getattr(self, f"decoder{i}") for i in range(1, self.components + 1)]

    def _blocks(self, codes: int, **options):
        if self.config.network == "authors":
            return pcaae_config(codes, self.dtype)
        return conv_config(self.shape, self.channels, codes, alpha=self.config.alpha, dtype=self.dtype, **options)

    def new_encoder(self, codes: int = 1) -> Sequential:
        """Blocks to ``codes`` numbers (linear last block), then BatchNorm(codes)."""
        return coded_encoder(replace(self._blocks(codes), decoder_channels=None), self.rng)

    def new_decoder(self, codes: int) -> Sequential:
        """Blocks up from ``codes`` numbers, sigmoid output."""
        return build_decoder(self._blocks(codes, output="sigmoid"), self.rng)

    def add_component(self) -> tuple[Sequential, Sequential]:
        """Append E_{k+1} and D_{k+1} (freshly initialised) and return them."""
        k = self.components + 1
        encoder, decoder = self.new_encoder(), self.new_decoder(k)
        self.append(encoder, f"encoder{k}")
        self.append(decoder, f"decoder{k}")
        self.config.components = k
        return encoder, decoder

    def eval(self) -> "PCAAutoencoder":
        """Evaluation mode: every BatchNorm uses its running statistics."""
        set_training(self, False)
        return self

    def encode(self, x: np.ndarray, components: int | None = None, chunk: int = 512) -> np.ndarray:
        """The codes (N, k, 1, 1) of the first k components, in evaluation mode (running statistics).

        Evaluated ``chunk`` images at a time (exact: evaluation mode treats images independently).
        """
        k = self.components if components is None else components
        for encoder in self.encoders[:k]:
            set_training(encoder, False)
        return np.concatenate([np.concatenate([encoder.forward(x[start:start + chunk]) for encoder in self.encoders[:k]],
                                              axis=1) for start in range(0, len(x), chunk)])

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """D_k(z) for codes (N, k, 1, 1): the decoder trained with k components."""
        return self.decoders[codes.shape[1] - 1].forward(codes)

    def forward(self, x: np.ndarray, components: int | None = None) -> np.ndarray:
        return self.decode(self.encode(x, components))

    def backward(self, grad_out):
        raise NotImplementedError("a PCA-AE is trained stage by stage (train_stage), not end to end")


def _train_pair(pair: Autoencoder, images: np.ndarray, config: PCATrainConfig, rng: np.random.Generator,
                name: str, objective, progress: bool) -> list[float]:
    """Adam on ``pair``'s parameters, one :func:`npae.step.training_step` per batch: each step draws the
    indices ``picks`` of a batch, ``objective(pair, picks, tape)`` fills the grads and returns the loss."""
    from tqdm.auto import tqdm

    optimizer = Adam(pair, lr=config.lr, betas=config.betas)
    history = []
    for step in tqdm(range(config.steps), disable=not progress, desc=name, leave=False):
        picks = rng.integers(0, len(images), config.batch_size)
        history.append(training_step(pair, optimizer, picks, objective, step_label=f"{name}, step {step + 1}"))
    return history


def train_stage(model: PCAAutoencoder, images: np.ndarray, config: PCATrainConfig, covariance: bool = True,
                progress: bool = False) -> list[float]:
    """Add a component to ``model`` and train it (E_k, D_k) with the earlier encoders frozen; returns the losses."""
    images = check_training_data(images, model.dtype)
    frozen = model.encode(images) if model.components else np.zeros((len(images), 0, 1, 1), model.dtype)
    encoder, decoder = model.add_component()
    stage = model.components

    def objective(pair, picks, tape=None):
        batch = images[picks]
        codes = np.concatenate([frozen[picks], encoder.forward(batch)], axis=1)
        loss, grad_output = bce_loss(decoder.forward(codes), batch)
        grad_codes = decoder.backward(grad_output)[:, -1:]
        if covariance and stage > 1:
            penalty, grad_penalty = covariance_penalty(codes[:, :, 0, 0])
            loss += config.lambda_cov * penalty
            grad_codes = grad_codes + model.dtype.type(config.lambda_cov) * grad_penalty[:, -1:, None, None]
        encoder.backward_params(np.ascontiguousarray(grad_codes))
        return loss

    set_training(encoder, True)
    history = _train_pair(Autoencoder(encoder, decoder), images, config, np.random.default_rng([config.seed, stage]),
                          f"PCA-AE stage {stage}", objective, progress)
    set_training(encoder, False)
    return history


def train_pca_autoencoder(images: np.ndarray, components: int, config: PCATrainConfig, covariance: bool = True,
                          channels=(8, 16, 32, 64, 64), progress: bool = False, network: str = "talk"):
    """A PCA-AE with ``components`` codes trained stage by stage; returns (model, loss history per stage)."""
    model = PCAAutoencoder(images.shape[-1], channels, dtype=images.dtype, rng=np.random.default_rng([config.seed, 0]),
                           network=network)
    histories = [train_stage(model, images, config, covariance, progress) for _ in range(components)]
    return model, histories


def train_plain_autoencoder(images: np.ndarray, components: int, config: PCATrainConfig,
                            channels=(8, 16, 32, 64, 64), progress: bool = False, network: str = "talk"):
    """The baseline: the same blocks trained with all ``components`` codes at once (BCE only).

    Returns (an Autoencoder: encoder to k codes + BatchNorm(k), decoder from k codes; the loss history).
    """
    images = check_training_data(images, images.dtype)
    model = PCAAutoencoder(images.shape[-1], channels, dtype=images.dtype, rng=np.random.default_rng([config.seed, 0]),
                           network=network)
    pair = Autoencoder(model.new_encoder(components), model.new_decoder(components))

    def objective(pair, picks, tape=None):
        batch = images[picks]
        loss, grad_output = bce_loss(pair.forward(batch), batch)
        pair.backward_params(grad_output)
        return loss

    history = _train_pair(pair, images, config, np.random.default_rng([config.seed, 0, components]), "plain AE",
                          objective, progress)
    set_training(pair.encoder, False)
    return pair, history
