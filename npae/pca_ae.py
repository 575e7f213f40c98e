"""The PCA-like autoencoder of Pham, Ladjal and Newson (SCIENCE.md 3): ordered, decorrelated codes.

Component k has its own encoder E_k (talk blocks down to one number, then a parameter-free
:class:`~npae.nn.BatchNorm`) and a decoder D_k (talk blocks up from k numbers, sigmoid output)
reading the codes z_1..z_k.  Training is incremental: stage k trains E_k and D_k only, with
E_1..E_{k-1} frozen, on

    L_k = BCE(D_k(z_1..z_k), x) + lambda_cov (1/(k-1)) sum_{i<k} mean(z_i z_k)^2.

The earlier decoders are kept: D_j decodes the first j codes, which measures the ordering.
:func:`save_pca_autoencoder` / :func:`load_pca_autoencoder` keep a trained model in one ``.npz``.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, atomic_savez, read_archive, refuse_non_finite
from .losses import bce_loss, covariance_penalty
from .models import Autoencoder, conv_decoder, conv_encoder
from .nn import BatchNorm, Sequential
from .nn.sequential import load_into
from .nn.init import as_generator
from .optim import Adam
from .train import TrainingDiverged, check_training_data, non_finite_gradient


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


def set_training(sequential: Sequential, training: bool) -> None:
    """Switch the batch normalisations of ``sequential`` to training (batch statistics) or evaluation mode."""
    for _, layer in sequential.named_layers():
        if isinstance(layer, BatchNorm):
            layer.training = training


class PCAAutoencoder:
    """Encoders E_1..E_k and decoders D_1..D_k of a PCA-AE with ``len(encoders)`` components so far."""

    def __init__(self, image_size: int = 64, channels=(8, 16, 32, 64, 64), alpha: float = 0.2,
                 dtype=np.float32, rng=None):
        self.shape = (1, int(image_size), int(image_size))
        self.channels, self.alpha, self.dtype = list(channels), float(alpha), np.dtype(dtype)
        self.rng = as_generator(rng)
        self.encoders: list[Sequential] = []
        self.decoders: list[Sequential] = []

    @property
    def components(self) -> int:
        return len(self.encoders)

    def new_encoder(self, codes: int = 1) -> Sequential:
        """Talk blocks to ``codes`` numbers (linear last block), then BatchNorm(codes)."""
        layers = conv_encoder(self.shape, self.channels, codes, alpha=self.alpha, code_activation=False,
                              dtype=self.dtype, rng=self.rng).layers
        return Sequential(*layers, BatchNorm(codes))

    def new_decoder(self, codes: int) -> Sequential:
        return conv_decoder(self.shape, self.channels, codes, alpha=self.alpha, output="sigmoid",
                            dtype=self.dtype, rng=self.rng)

    def add_component(self) -> tuple[Sequential, Sequential]:
        """Append E_{k+1} and D_{k+1} (freshly initialised) and return them."""
        self.encoders.append(self.new_encoder())
        self.decoders.append(self.new_decoder(self.components))
        return self.encoders[-1], self.decoders[-1]

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

    def _arrays(self) -> dict[str, np.ndarray]:
        """The live arrays: "encoder{i}.<param>", the normalisation's "encoder{i}.<layer>.running_mean" and
        ".running_var", and "decoder{i}.<param>", for i = 1..k."""
        arrays = {}
        for i, (encoder, decoder) in enumerate(zip(self.encoders, self.decoders), start=1):
            arrays.update({f"encoder{i}.{name}": value for name, value in encoder.params.items()})
            for name, layer in encoder.named_layers():
                if isinstance(layer, BatchNorm):
                    arrays[f"encoder{i}.{name}.running_mean"] = layer.running_mean
                    arrays[f"encoder{i}.{name}.running_var"] = layer.running_var
            arrays.update({f"decoder{i}.{name}": value for name, value in decoder.params.items()})
        return arrays

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every array the model needs to encode and decode (see :meth:`_arrays` for the names)."""
        return {name: value.copy() for name, value in self._arrays().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the model after checking every name, shape and dtype (ValueError / TypeError)."""
        load_into(self._arrays(), state, type(self).__name__)

    def config(self) -> dict:
        """The architecture, as JSON-ready values: what :func:`load_pca_autoencoder` rebuilds the model from."""
        return {"image_size": self.shape[-1], "channels": self.channels, "alpha": self.alpha,
                "dtype": self.dtype.name, "components": self.components}


PCA_FORMAT = "npae-pca-ae"
PCA_VERSION = 1


def save_pca_autoencoder(path, model: PCAAutoencoder, settings: dict | None = None) -> Path:
    """Write ``model`` to the ``.npz`` at ``path`` atomically: a JSON "meta" entry (format, architecture,
    ``settings``) and every array of :meth:`PCAAutoencoder.state_dict`.  Non-finite weights are refused."""
    state = model.state_dict()
    refuse_non_finite(state, "the PCA-AE")
    meta = {"format": PCA_FORMAT, "version": PCA_VERSION, "model": model.config(), "settings": settings or {}}
    return atomic_savez(path, {"meta": np.array(json.dumps(meta)), **state})


def load_pca_autoencoder(path) -> PCAAutoencoder:
    """The PCA-AE saved by :func:`save_pca_autoencoder`, in evaluation mode; a corrupt file, another format or
    arrays that do not fit the recorded architecture raise :class:`~npae.checkpoint.CheckpointError`."""
    meta, arrays = read_archive(path, PCA_FORMAT, PCA_VERSION)
    config = meta.get("model")
    needed = ("image_size", "channels", "alpha", "dtype", "components")
    if not isinstance(config, dict) or any(key not in config for key in needed):
        raise CheckpointError(f"{path}: the metadata lacks the model's {list(needed)}")
    try:
        model = PCAAutoencoder(config["image_size"], config["channels"], config["alpha"], config["dtype"])
        for _ in range(int(config["components"])):
            model.add_component()
        model.load_state_dict(arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the arrays do not fit the recorded PCA-AE: {error}") from error
    for encoder in model.encoders:
        set_training(encoder, False)
    return model


def _train_pair(pair: Autoencoder, images: np.ndarray, config: PCATrainConfig, rng: np.random.Generator,
                name: str, loss_and_grads, progress: bool) -> list[float]:
    """Adam on ``pair``'s parameters: each step draws a batch (indices ``picks``), ``loss_and_grads(picks)``
    fills the grads and returns the loss; a non-finite loss or gradient raises before the update."""
    from tqdm.auto import tqdm

    optimizer = Adam(pair, lr=config.lr, betas=config.betas)
    history = []
    for step in tqdm(range(config.steps), disable=not progress, desc=name, leave=False):
        loss = loss_and_grads(rng.integers(0, len(images), config.batch_size))
        if not math.isfinite(loss):
            raise TrainingDiverged(f"{name}: loss became {loss} at step {step + 1}; the update was not applied")
        param = non_finite_gradient(pair.grads)
        if param is not None:
            raise TrainingDiverged(f"{name}: the gradient of {param} holds NaN or inf at step {step + 1}")
        optimizer.step()
        history.append(loss)
    return history


def train_stage(model: PCAAutoencoder, images: np.ndarray, config: PCATrainConfig, covariance: bool = True,
                progress: bool = False) -> list[float]:
    """Add a component to ``model`` and train it (E_k, D_k) with the earlier encoders frozen; returns the losses."""
    images = check_training_data(images, model.dtype)
    frozen = model.encode(images) if model.components else np.zeros((len(images), 0, 1, 1), model.dtype)
    encoder, decoder = model.add_component()
    stage = model.components

    def loss_and_grads(picks):
        batch = images[picks]
        codes = np.concatenate([frozen[picks], encoder.forward(batch)], axis=1)
        loss, grad_output = bce_loss(decoder.forward(codes), batch)
        grad_codes = decoder.backward(grad_output)[:, -1:]
        if covariance and stage > 1:
            penalty, grad_penalty = covariance_penalty(codes[:, :, 0, 0])
            loss += config.lambda_cov * penalty
            grad_codes = grad_codes + model.dtype.type(config.lambda_cov) * grad_penalty[:, -1:, None, None]
        encoder.backward(np.ascontiguousarray(grad_codes))
        return loss

    set_training(encoder, True)
    history = _train_pair(Autoencoder(encoder, decoder), images, config, np.random.default_rng([config.seed, stage]),
                          f"PCA-AE stage {stage}", loss_and_grads, progress)
    set_training(encoder, False)
    return history


def train_pca_autoencoder(images: np.ndarray, components: int, config: PCATrainConfig, covariance: bool = True,
                          channels=(8, 16, 32, 64, 64), progress: bool = False):
    """A PCA-AE with ``components`` codes trained stage by stage; returns (model, loss history per stage)."""
    model = PCAAutoencoder(images.shape[-1], channels, dtype=images.dtype, rng=np.random.default_rng([config.seed, 0]))
    histories = [train_stage(model, images, config, covariance, progress) for _ in range(components)]
    return model, histories


def train_plain_autoencoder(images: np.ndarray, components: int, config: PCATrainConfig,
                            channels=(8, 16, 32, 64, 64), progress: bool = False):
    """The baseline: the same blocks trained with all ``components`` codes at once (BCE only).

    Returns (an Autoencoder: encoder to k codes + BatchNorm(k), decoder from k codes; the loss history).
    """
    images = check_training_data(images, images.dtype)
    model = PCAAutoencoder(images.shape[-1], channels, dtype=images.dtype, rng=np.random.default_rng([config.seed, 0]))
    pair = Autoencoder(model.new_encoder(components), model.new_decoder(components))

    def loss_and_grads(picks):
        batch = images[picks]
        loss, grad_output = bce_loss(pair.forward(batch), batch)
        pair.backward(grad_output)
        return loss

    history = _train_pair(pair, images, config, np.random.default_rng([config.seed, 0, components]), "plain AE",
                          loss_and_grads, progress)
    set_training(pair.encoder, False)
    return pair, history
