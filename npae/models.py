"""The disk autoencoder of the talk and of the authors' code, built from npae's layers.

Two presets (SCIENCE.md 1b):

* ``"talk"``: 64 x 64 images, log_2(64) = 6 encoder blocks
  [Conv2d 3x3 same -> Subsample(2) -> Bias -> LeakyReLU] and 6 decoder blocks
  [Upsample(2) -> Conv2d 3x3 same -> Bias -> LeakyReLU]; alpha 0.2, Adam lr 1e-3.
  By default the conv/sub-sampling pairs are built as the equal strided and
  transposed convolutions, which skip the discarded outputs and inserted zeros
  (4x less work at each resolution); ``literal=True`` builds them layer by layer.
* ``"official"``: 63 x 63 images, 5 encoder blocks [Conv2d 3x3 stride 2 valid ->
  Bias -> LeakyReLU] with channels 8, 4, 3, 2, latent (63 -> 31 -> 15 -> 7 -> 3 -> 1),
  mirrored [ConvTranspose2d 3x3 stride 2 -> Bias -> LeakyReLU]; alpha 0.05, Adam lr 0.01.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .nn import Bias, Conv2d, ConvTranspose2d, CoordChannels, LeakyReLU, Sequential, Sigmoid, Subsample, Upsample
from .nn.init import as_generator
from .nn.layer import check_dtype
from .nn.sequential import load_into

PRESETS = ("talk", "official")
TALK_CHANNELS = (8, 16, 32, 64, 64)
"""Hidden channels of the talk preset, image side to code: cheap where the images are large (64 x 64 -> 32
x 32 with 8 channels) and wide where they are small.  Measured (seed 0, 4000 steps, batch 32, lr 1e-2
cosine): test MSE 1.28e-3 against 1.9e-3 with 8 channels everywhere, for 2x the step time."""


@dataclass
class AutoencoderConfig:
    """Everything needed to rebuild a disk autoencoder (stored as JSON in checkpoints)."""

    preset: str = "talk"
    image_size: int = 64
    latent_dim: int = 1
    channels: list[int] = field(default_factory=lambda: [8])
    alpha: float = 0.2
    bias: bool = True
    upsampling: str = "zeros"
    factor: int = 2
    dtype: str = "float32"
    literal: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def preset_defaults(preset: str) -> dict:
    """Default configuration of a preset."""
    if preset == "talk":
        return dict(preset="talk", image_size=64, latent_dim=1, channels=list(TALK_CHANNELS), alpha=0.2, upsampling="zeros")
    if preset == "official":
        return dict(preset="official", image_size=63, latent_dim=1, channels=[8, 4, 3, 2], alpha=0.05,
                    upsampling="transposed")
    raise ValueError(f"unknown preset {preset!r}; expected one of {PRESETS}")


def count_blocks(preset: str, image_size: int, factor: int) -> int:
    """Blocks needed to bring image_size to 1: log_f(size) for "talk", size -> (size-3)//2+1 for "official"."""
    if preset == "talk":
        blocks = round(math.log(image_size, factor)) if image_size > 1 else 0
        if blocks < 1 or factor**blocks != image_size:
            raise ValueError(f"talk preset: image_size {image_size} is not a power of the sub-sampling factor "
                             f"{factor}, so the encoder cannot reach 1 x 1 (use e.g. 32, 64, 128)")
        return blocks
    size, blocks = image_size, 0
    while size > 1:
        if size < 3 or (size - 3) % 2:
            raise ValueError(f"official preset: image_size {image_size} does not reach 1 x 1 with 3x3 stride-2 "
                             f"valid convolutions (use 2^k - 1, e.g. 31, 63, 127)")
        size, blocks = (size - 3) // 2 + 1, blocks + 1
    if blocks < 1:
        raise ValueError(f"official preset: image_size must be at least 3, got {image_size}")
    return blocks


class Autoencoder:
    """x -> z = encoder(x) -> y = decoder(z), with backward through both.

    ``params``/``grads`` name every array ``"encoder.<i>.<name>"`` or
    ``"decoder.<i>.<name>"``; ``backward`` overwrites the grads.
    """

    def __init__(self, encoder: Sequential, decoder: Sequential, config: AutoencoderConfig | None = None):
        self.encoder, self.decoder, self.config = encoder, decoder, config

    def forward(self, x):
        return self.decoder.forward(self.encoder.forward(x))

    def backward(self, grad_out):
        return self.encoder.backward(self.decoder.backward(grad_out))

    def encode(self, x):
        return self.encoder.forward(x)

    def decode(self, z):
        return self.decoder.forward(z)

    __call__ = forward

    def _parts(self):
        return (("encoder", self.encoder), ("decoder", self.decoder))

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{part}.{k}": v for part, seq in self._parts() for k, v in seq.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{part}.{k}": v for part, seq in self._parts() for k, v in seq.grads.items()}

    def named_layers(self):
        for part, seq in self._parts():
            for name, layer in seq.named_layers(part + "."):
                yield name, layer

    @property
    def dtype(self):
        return self.encoder.dtype

    def astype(self, dtype):
        self.encoder.astype(dtype)
        self.decoder.astype(dtype)
        if self.config is not None:
            self.config.dtype = np.dtype(dtype).name
        return self

    def num_params(self) -> int:
        return self.encoder.num_params() + self.decoder.num_params()

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state) -> None:
        load_into(self.params, state, "Autoencoder")

    def summary(self, input_shape=None) -> str:
        if input_shape is None:
            size = self.config.image_size if self.config else 64
            input_shape = (1, 1, size, size)
        latent_shape = self.encoder.output_shape(input_shape)
        return ("encoder\n" + self.encoder.summary(input_shape) + "\n\ndecoder\n" + self.decoder.summary(latent_shape))


def _talk_layers(cfg: AutoencoderConfig, rng, dtype):
    """Talk blocks. Unless ``cfg.literal``, each block is written in the form that computes only what is kept.

    Encoder: Conv2d 3x3 "same" then Subsample(f) equals Conv2d 3x3 "same" with stride f.
    Decoder with zero-insertion up-sampling: Upsample("zeros") then Conv2d(w) 3x3 "same" equals
    ConvTranspose2d(w') with stride 2, padding 1, output_padding 1 and w'[i, o, a, b] = w[o, i, 2-a, 2-b]
    (see :func:`literal_to_transposed`).  ``literal=True`` builds the layer-by-layer form of SCIENCE.md.
    """
    blocks = count_blocks("talk", cfg.image_size, cfg.factor)
    widths = _widths(cfg, blocks)
    encoder, decoder = [], []
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        if cfg.literal:
            encoder += [Conv2d(c_in, c_out, 3, padding="same", rng=rng, dtype=dtype), Subsample(cfg.factor)]
        else:
            encoder += [Conv2d(c_in, c_out, 3, stride=cfg.factor, padding="same", rng=rng, dtype=dtype)]
        encoder += [Bias(c_out, dtype=dtype)] if cfg.bias else []
        encoder += [LeakyReLU(cfg.alpha)]
    mirrored = widths[::-1]
    transposed = cfg.upsampling == "zeros" and cfg.factor == 2 and not cfg.literal
    for c_in, c_out in zip(mirrored[:-1], mirrored[1:]):
        if transposed:
            decoder += [ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, rng=rng, dtype=dtype)]
        else:
            decoder += [Upsample(cfg.factor, cfg.upsampling),
                        Conv2d(c_in, c_out, 3, padding="same", rng=rng, dtype=dtype)]
        decoder += [Bias(c_out, dtype=dtype)] if cfg.bias else []
        decoder += [LeakyReLU(cfg.alpha)]
    return encoder, decoder


def literal_to_transposed(conv_weight: np.ndarray) -> np.ndarray:
    """Weight of the ConvTranspose2d equal to Upsample("zeros", 2) then Conv2d(conv_weight, "same"), 3x3 kernels."""
    return np.ascontiguousarray(conv_weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def _official_layers(cfg: AutoencoderConfig, rng, dtype):
    blocks = count_blocks("official", cfg.image_size, 2)
    widths = _widths(cfg, blocks)
    encoder, decoder = [], []
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        encoder += [Conv2d(c_in, c_out, 3, stride=2, padding="valid", rng=rng, dtype=dtype)]
        encoder += [Bias(c_out, dtype=dtype)] if cfg.bias else []
        encoder += [LeakyReLU(cfg.alpha)]
    mirrored = widths[::-1]
    for c_in, c_out in zip(mirrored[:-1], mirrored[1:]):
        decoder += [ConvTranspose2d(c_in, c_out, 3, stride=2, padding=0, rng=rng, dtype=dtype)]
        decoder += [Bias(c_out, dtype=dtype)] if cfg.bias else []
        decoder += [LeakyReLU(cfg.alpha)]
    return encoder, decoder


def _widths(cfg: AutoencoderConfig, blocks: int) -> list[int]:
    """Channel counts from the image (1) through the hidden blocks to the latent."""
    hidden = list(cfg.channels)
    if len(hidden) == 1:
        hidden = hidden * (blocks - 1)
    if len(hidden) != blocks - 1 or any(int(c) < 1 for c in hidden):
        raise ValueError(f"{cfg.preset} preset with image_size {cfg.image_size} has {blocks} blocks, so channels "
                         f"needs {blocks - 1} positive counts (or one, repeated), got {cfg.channels}")
    if cfg.latent_dim < 1:
        raise ValueError(f"latent_dim must be positive, got {cfg.latent_dim}")
    return [1] + [int(c) for c in hidden] + [cfg.latent_dim]


def build_autoencoder(cfg: AutoencoderConfig, rng=None) -> Autoencoder:
    """Build the autoencoder a configuration describes, weights drawn from ``rng``."""
    rng = as_generator(rng)
    dtype = check_dtype(cfg.dtype)
    if cfg.preset == "talk":
        if cfg.upsampling not in ("zeros", "nearest", "bilinear"):
            raise ValueError(f"talk preset: unknown upsampling {cfg.upsampling!r}; "
                             f"expected 'zeros', 'nearest' or 'bilinear'")
        encoder, decoder = _talk_layers(cfg, rng, dtype)
    elif cfg.preset == "official":
        if cfg.upsampling != "transposed":
            raise ValueError(f"official preset uses transposed convolutions; got upsampling={cfg.upsampling!r}")
        encoder, decoder = _official_layers(cfg, rng, dtype)
    else:
        raise ValueError(f"unknown preset {cfg.preset!r}; expected one of {PRESETS}")
    return Autoencoder(Sequential(*encoder), Sequential(*decoder), cfg)


def disk_autoencoder(preset="talk", latent_dim=1, channels=None, alpha=None, bias=True, upsampling=None,
                     image_size=None, dtype=np.float32, rng=None, literal=False) -> Autoencoder:
    """The disk autoencoder of a preset; every argument left at None takes the preset's value.

    ``channels``: hidden channel counts, one per block but the last (or one
    number for all).  ``bias=False`` removes every bias (the talk's ablation).
    ``literal=True`` (talk preset) builds conv -> Subsample and Upsample -> conv layer by
    layer instead of the equal strided and transposed convolutions.
    """
    settings = preset_defaults(preset)
    if preset == "talk" and channels is None and image_size is not None:
        blocks = count_blocks("talk", int(image_size), settings.get("factor", 2))
        settings["channels"] = [TALK_CHANNELS[min(k, len(TALK_CHANNELS) - 1)] for k in range(blocks - 1)]
    if channels is not None:
        settings["channels"] = [int(channels)] if np.isscalar(channels) else [int(c) for c in channels]
    if image_size is not None:
        settings["image_size"] = int(image_size)
    for key, value in (("alpha", alpha), ("upsampling", upsampling)):
        if value is not None:
            settings[key] = value
    settings.update(latent_dim=int(latent_dim), bias=bool(bias), dtype=check_dtype(dtype).name, literal=bool(literal))
    return build_autoencoder(AutoencoderConfig(**settings), rng)


def conv_encoder(input_shape, channels, latent_dim=1, bias=True, alpha=0.2, coord_channels=False,
                 code_activation=True, dtype=np.float32, rng=None) -> Sequential:
    """Talk blocks [Conv2d 3x3 stride 2 "same" -> Bias -> LeakyReLU] from (C, H, W) down to (latent_dim, 1, 1).

    An axis of length 1 (1-D signals, shape (C, 1, n)) gets kernel 1 and stride 1 along it.
    ``coord_channels``: a :class:`CoordChannels` before every convolution (CoordConv).
    ``code_activation=False`` leaves the LeakyReLU out of the last block (a linear read-out of the code).
    """
    widths, kernel, stride = _conv_plan(input_shape, channels, latent_dim)
    rng, dtype = as_generator(rng), check_dtype(dtype)
    extra = 2 if coord_channels else 0
    layers = []
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        layers += [CoordChannels()] if coord_channels else []
        layers += [Conv2d(c_in + extra, c_out, kernel, stride=stride, padding="same", rng=rng, dtype=dtype)]
        layers += [Bias(c_out, dtype=dtype)] if bias else []
        layers += [LeakyReLU(alpha)]
    if not code_activation:
        layers.pop()
    return Sequential(*layers)


def conv_decoder(output_shape, channels, latent_dim=1, bias=True, alpha=0.2, coord_channels=False, output="leaky",
                 dtype=np.float32, rng=None) -> Sequential:
    """The mirror of :func:`conv_encoder`: [ConvTranspose2d 3x3 stride 2 -> Bias -> LeakyReLU] up to (C, H, W).

    ``output``: the last non-linearity, "leaky" (the talk's) or "sigmoid" (for a BCE loss).
    """
    if output not in ("leaky", "sigmoid"):
        raise ValueError(f"unknown output {output!r}; expected 'leaky' or 'sigmoid'")
    widths, kernel, stride = _conv_plan(output_shape, channels, latent_dim)
    rng, dtype = as_generator(rng), check_dtype(dtype)
    extra = 2 if coord_channels else 0
    padding = tuple((k - 1) // 2 for k in kernel)
    layers = []
    mirrored = widths[::-1]
    for c_in, c_out in zip(mirrored[:-1], mirrored[1:]):
        layers += [CoordChannels()] if coord_channels else []
        layers += [ConvTranspose2d(c_in + extra, c_out, kernel, stride=stride, padding=padding,
                                   output_padding=tuple(s - 1 for s in stride), rng=rng, dtype=dtype)]
        layers += [Bias(c_out, dtype=dtype)] if bias else []
        layers += [LeakyReLU(alpha)]
    if output == "sigmoid":
        layers[-1] = Sigmoid()
    return Sequential(*layers)


def _conv_plan(shape, channels, latent_dim):
    """Widths [C, hidden..., latent], kernel and stride of the blocks that bring (C, H, W) to (latent, 1, 1)."""
    if len(shape) != 3 or any(int(s) < 1 for s in shape):
        raise ValueError(f"shape must be (channels, height, width) of positive ints, got {shape!r}")
    c, h, w = (int(s) for s in shape)
    sides = [s for s in (h, w) if s > 1]
    if not sides or len(set(sides)) != 1 or sides[0] & (sides[0] - 1):
        raise ValueError(f"image {h}x{w}: the sides longer than 1 must be one power of 2, e.g. 64x64 or 1x64")
    blocks = int(math.log2(sides[0]))
    hidden = [int(channels)] * (blocks - 1) if np.isscalar(channels) else [int(v) for v in channels]
    if len(hidden) != blocks - 1 or any(v < 1 for v in hidden) or latent_dim < 1:
        raise ValueError(f"a {h}x{w} image needs {blocks} blocks, so channels needs {blocks - 1} positive counts "
                         f"(or one number) and latent_dim >= 1; got {channels!r}, {latent_dim}")
    kernel = tuple(3 if s > 1 else 1 for s in (h, w))
    stride = tuple(2 if s > 1 else 1 for s in (h, w))
    return [c] + hidden + [int(latent_dim)], kernel, stride


def conv_autoencoder(input_shape=(1, 64, 64), channels=8, latent_dim=1, bias=True, alpha=0.2, coord_channels=False,
                     output="leaky", dtype=np.float32, rng=None) -> Autoencoder:
    """A talk-style autoencoder of any power-of-2 image (or 1 x n signal): :func:`conv_encoder` + :func:`conv_decoder`.

    Used by the position and PCA experiments; ``config`` is None (not a disk preset).
    """
    rng = as_generator(rng)
    options = dict(bias=bias, alpha=alpha, coord_channels=coord_channels, dtype=dtype)
    encoder = conv_encoder(input_shape, channels, latent_dim, rng=rng, **options)
    decoder = conv_decoder(input_shape, channels, latent_dim, output=output, rng=rng, **options)
    return Autoencoder(encoder, decoder)


def ramp_encoder(length: int, dtype=np.float64) -> Sequential:
    """A bias-free cascade of 1x3 convolutions and sub-samplings whose output is sum_t t x[t] (SCIENCE.md 2).

    Input (N, 1, 1, length), output (N, 1, 1, 1).  Level l works on blocks of B = 2^l samples and
    carries two channels, the block's mass s = sum x and moment m = sum (t - t_block) x.  Merging the
    block at 2j with the one at 2j + 1 (a "same" conv read at even positions, then Subsample(2)) gives
    s' = s[2j] + s[2j+1] and m' = m[2j] + m[2j+1] + B s[2j+1].  After ceil(log2 length) levels one
    block is left and m = sum_t t x[t]: the position of a Dirac.  Linear, so exact for any x.
    """
    if not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(f"length must be an int >= 2, got {length!r}")
    dtype = check_dtype(dtype)
    levels = math.ceil(math.log2(length))
    layers = []
    for level in range(levels):
        block = 2**level
        first, last = level == 0, level == levels - 1
        weight = np.zeros((1 if last else 2, 1 if first else 2, 1, 3))
        mass, moment = 0, (0 if last else 1)
        if not last:
            weight[mass, mass, 0] = [0, 1, 1]
        if first:
            weight[moment, 0, 0] = [0, 0, 1]
        else:
            weight[moment, 1, 0] = [0, 1, 1]
            weight[moment, 0, 0] = [0, 0, block]
        conv = Conv2d(weight.shape[1], weight.shape[0], (1, 3), padding="same", dtype=dtype, rng=0)
        conv.params["weight"][...] = weight
        layers += [conv, Subsample((1, 2))]
    return Sequential(*layers)
