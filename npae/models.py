"""Every network of npae, made by one builder of encoder and decoder blocks.

A block is one resolution step (SCIENCE.md 1b):

* encoder: [Conv2d k stride s] (or, literally, [Conv2d k "same" -> Subsample(s)]) -> Bias -> activation
* decoder: [ConvTranspose2d k stride s] (or [Upsample(s) -> Conv2d k "same"]) -> Bias -> activation

An :class:`AutoencoderConfig` says which blocks: its ``preset`` fixes the geometry
("talk": 3x3 "same" convolutions halving every side down to 1 x 1; "official": 3x3
stride-2 "valid" convolutions, 63 -> 31 -> 15 -> 7 -> 3 -> 1), and the other fields the
widths, biases, activations and up-sampling.  :func:`disk_autoencoder` (the presets),
:func:`conv_autoencoder` (any power-of-2 image or 1 x n signal), the position networks and
the PCA-AE's per-code encoders and decoders are all configurations of it.

Talk blocks are built, unless ``literal``, as the strided and transposed convolutions that
equal [conv -> sub-sample] and [zero-insertion up-sample -> conv]: they skip the discarded
outputs and the inserted zeros (4x less work at each resolution); [nearest up-sample -> conv 3x3]
is one transposed 4x4 convolution at the low resolution (:class:`~npae.nn.NearestUpConv2d`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .nn import (BatchNorm, Bias, Conv2d, ConvTranspose2d, CoordChannels, Layer, LeakyReLU, NearestUpConv2d,
                 Sequential, Sigmoid, Subsample, Upsample)
from .nn.flat import pack_parameters
from .nn.init import as_generator
from .nn.layer import check_dtype
from .presets import GEOMETRIES, PCAAE_ENCODER_CHANNELS, UPSAMPLING, network_defaults, pcaae_decoder_channels

ACTIVATIONS = ("leaky", "sigmoid", "none")


@dataclass
class AutoencoderConfig:
    """Everything needed to rebuild an autoencoder (stored as JSON in checkpoints).

    ``input_shape``: (C, H, W) of the images; None means (1, image_size, image_size).
    ``channels``: hidden widths, one per block but the last (or one number for all).
    ``output``: the decoder's last activation, "leaky" (the talk's) or "sigmoid" (for a BCE loss);
    ``code_activation=False`` leaves the activation out of the encoder's last block (a linear code).
    ``coord_channels``: a :class:`CoordChannels` before every convolution (CoordConv).
    ``decoder_channels``: the decoder's hidden widths, code side to image; None mirrors the encoder's.
    """

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
    input_shape: list[int] | None = None
    coord_channels: bool = False
    output: str = "leaky"
    code_activation: bool = True
    decoder_channels: list[int] | None = None

    def __post_init__(self):
        if self.preset not in GEOMETRIES:
            raise ValueError(f"unknown preset {self.preset!r}; expected one of {GEOMETRIES}")
        if self.upsampling not in UPSAMPLING[self.preset]:
            raise ValueError(f"{self.preset} preset: unknown upsampling {self.upsampling!r}; "
                             f"expected one of {UPSAMPLING[self.preset]}")
        if self.output not in ("leaky", "sigmoid"):
            raise ValueError(f"unknown output {self.output!r}; expected 'leaky' or 'sigmoid'")
        if self.input_shape is not None:
            self.input_shape = [int(s) for s in self.input_shape]
        check_dtype(self.dtype)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images."""
        if self.input_shape is not None:
            return tuple(self.input_shape)
        return (1, self.image_size, self.image_size)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Block:
    """One resolution step: ``kind`` "conv", "conv_subsample", "transposed", "upsample_conv" or
    "nearest_upconv" (nearest up-sampling by 2 and a 3x3 convolution, fused: :class:`NearestUpConv2d`)."""

    kind: str
    c_in: int
    c_out: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: object
    output_padding: tuple[int, int] = (0, 0)
    activation: str = "leaky"


def block_layers(block: Block, cfg: AutoencoderConfig, rng, dtype) -> list[Layer]:
    """The layers of one block: [CoordChannels] -> convolution(s) -> [Bias] -> activation."""
    extra = 2 if cfg.coord_channels else 0
    layers: list[Layer] = [CoordChannels()] if cfg.coord_channels else []
    c_in, c_out, kernel, stride = block.c_in + extra, block.c_out, block.kernel, block.stride
    if block.kind == "conv":
        layers += [Conv2d(c_in, c_out, kernel, stride=stride, padding=block.padding, rng=rng, dtype=dtype)]
    elif block.kind == "conv_subsample":
        layers += [Conv2d(c_in, c_out, kernel, padding=block.padding, rng=rng, dtype=dtype), Subsample(stride)]
    elif block.kind == "transposed":
        layers += [ConvTranspose2d(c_in, c_out, kernel, stride=stride, padding=block.padding,
                                   output_padding=block.output_padding, rng=rng, dtype=dtype)]
    elif block.kind == "nearest_upconv":
        layers += [NearestUpConv2d(c_in, c_out, rng=rng, dtype=dtype)]
    elif block.kind == "upsample_conv":
        layers += [Upsample(stride, cfg.upsampling), Conv2d(c_in, c_out, kernel, padding=block.padding, rng=rng,
                                                              dtype=dtype)]
    else:
        raise ValueError(f"unknown block kind {block.kind!r}")
    layers += [Bias(c_out, dtype=dtype)] if cfg.bias else []
    if block.activation == "leaky":
        layers += [LeakyReLU(cfg.alpha)]
    elif block.activation == "sigmoid":
        layers += [Sigmoid()]
    return layers


def widths(cfg: AutoencoderConfig) -> list[int]:
    """Channel counts from the image through the hidden blocks to the latent: [C, hidden..., latent]."""
    blocks = count_blocks(cfg)
    hidden = [int(c) for c in (cfg.channels if np.iterable(cfg.channels) else [cfg.channels])]
    if len(hidden) == 1:
        hidden = hidden * (blocks - 1)
    if len(hidden) != blocks - 1 or any(c < 1 for c in hidden):
        raise ValueError(f"{cfg.preset} preset with images {cfg.shape} has {blocks} blocks, so channels "
                         f"needs {blocks - 1} positive counts (or one, repeated), got {cfg.channels}")
    if cfg.latent_dim < 1:
        raise ValueError(f"latent_dim must be positive, got {cfg.latent_dim}")
    return [cfg.shape[0]] + hidden + [int(cfg.latent_dim)]


def count_blocks(cfg: AutoencoderConfig) -> int:
    """Blocks needed to bring the image to 1 x 1: log_f(side) for "talk", side -> (side-3)//2+1 for "official"."""
    _, h, w = cfg.shape
    if cfg.preset in ("talk", "pcaae"):
        sides = {s for s in (h, w) if s > 1}
        side = sides.pop() if len(sides) == 1 else 0
        blocks = round(math.log(side, cfg.factor)) if side > 1 else 0
        if blocks < 1 or cfg.factor ** blocks != side:
            raise ValueError(f"{cfg.preset} preset: image {h}x{w} is not a power of the sub-sampling factor {cfg.factor} "
                             f"along its sides longer than 1, so the encoder cannot reach 1 x 1 (use e.g. 32, 64, 1x64)")
        return blocks
    size, blocks = h, 0
    while size > 1:
        if size < 3 or (size - 3) % 2:
            raise ValueError(f"official preset: image_size {h} does not reach 1 x 1 with 3x3 stride-2 "
                             f"valid convolutions (use 2^k - 1, e.g. 31, 63, 127)")
        size, blocks = (size - 3) // 2 + 1, blocks + 1
    if blocks < 1 or h != w:
        raise ValueError(f"official preset: images must be square and at least 3 x 3, got {h}x{w}")
    return blocks


def _talk_geometry(cfg: AutoencoderConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """Kernel 3 and stride ``factor`` along the sides longer than 1, kernel 1 and stride 1 along the others."""
    _, h, w = cfg.shape
    kernel = tuple(3 if s > 1 else 1 for s in (h, w))
    stride = tuple(cfg.factor if s > 1 else 1 for s in (h, w))
    return kernel, stride


def encoder_blocks(cfg: AutoencoderConfig) -> list[Block]:
    channel_counts = widths(cfg)
    pairs = list(zip(channel_counts[:-1], channel_counts[1:]))
    if cfg.preset == "official":
        blocks = [Block("conv", a, b, (3, 3), (2, 2), "valid") for a, b in pairs]
    elif cfg.preset == "pcaae":
        blocks = [Block("conv", a, b, (4, 4), (2, 2), 1) for a, b in pairs]
    else:
        kernel, stride = _talk_geometry(cfg)
        kind = "conv_subsample" if cfg.literal else "conv"
        blocks = [Block(kind, a, b, kernel, stride, "same") for a, b in pairs]
    if not cfg.code_activation:
        blocks[-1] = replace(blocks[-1], activation="none")
    return blocks


def decoder_widths(cfg: AutoencoderConfig) -> list[int]:
    """Channel counts from the code to the image: the encoder's reversed, or [latent, decoder_channels..., C]."""
    encoder_widths = widths(cfg)
    if cfg.decoder_channels is None:
        return encoder_widths[::-1]
    hidden = [int(c) for c in cfg.decoder_channels]
    if len(hidden) != len(encoder_widths) - 2 or any(c < 1 for c in hidden):
        raise ValueError(f"decoder_channels needs {len(encoder_widths) - 2} positive counts, got {cfg.decoder_channels}")
    return [encoder_widths[-1]] + hidden + [encoder_widths[0]]


def decoder_blocks(cfg: AutoencoderConfig) -> list[Block]:
    channel_counts = decoder_widths(cfg)
    pairs = list(zip(channel_counts[:-1], channel_counts[1:]))
    if cfg.preset == "official":
        blocks = [Block("transposed", a, b, (3, 3), (2, 2), 0) for a, b in pairs]
    elif cfg.preset == "pcaae":
        blocks = [Block("transposed", a, b, (4, 4), (2, 2), 1) for a, b in pairs]
    else:
        kernel, stride = _talk_geometry(cfg)
        if cfg.upsampling == "zeros" and cfg.factor == 2 and not cfg.literal:
            padding = tuple((k - 1) // 2 for k in kernel)
            output_padding = tuple(s - 1 for s in stride)
            blocks = [Block("transposed", a, b, kernel, stride, padding, output_padding) for a, b in pairs]
        else:
            fused = cfg.upsampling == "nearest" and not cfg.literal and kernel == (3, 3) and stride == (2, 2)
            kind = "nearest_upconv" if fused else "upsample_conv"
            blocks = [Block(kind, a, b, kernel, stride, "same") for a, b in pairs]
    if cfg.output == "sigmoid":
        blocks[-1] = replace(blocks[-1], activation="sigmoid")
    return blocks


def build_encoder(cfg: AutoencoderConfig, rng=None) -> Sequential:
    rng, dtype = as_generator(rng), check_dtype(cfg.dtype)
    return Sequential(*[layer for block in encoder_blocks(cfg) for layer in block_layers(block, cfg, rng, dtype)])


def build_decoder(cfg: AutoencoderConfig, rng=None) -> Sequential:
    rng, dtype = as_generator(rng), check_dtype(cfg.dtype)
    return Sequential(*[layer for block in decoder_blocks(cfg) for layer in block_layers(block, cfg, rng, dtype)])


class Autoencoder(Sequential):
    """x -> z = encoder(x) -> y = decoder(z): a Sequential with the children "encoder" and "decoder".

    ``params``/``grads`` name every array ``"encoder.<i>.<name>"`` or ``"decoder.<i>.<name>"``.
    """

    def __init__(self, encoder: Sequential, decoder: Sequential, config: AutoencoderConfig | None = None):
        super().__init__(encoder=encoder, decoder=decoder, config=config)

    def encode(self, x):
        return self.encoder.forward(x)

    def decode(self, z):
        return self.decoder.forward(z)

    def astype(self, dtype):
        super().astype(dtype)
        pack_parameters(self)
        if self.config is not None:
            self.config.dtype = np.dtype(dtype).name
        return self

    def summary(self, input_shape=None) -> str:
        if input_shape is None:
            input_shape = (1,) + (self.config.shape if self.config else (1, 64, 64))
        latent_shape = self.encoder.output_shape(input_shape)
        return ("encoder\n" + self.encoder.summary(input_shape) + "\n\ndecoder\n" + self.decoder.summary(latent_shape))


def build_autoencoder(cfg: AutoencoderConfig, rng=None) -> Autoencoder:
    """The autoencoder a configuration describes, weights drawn from ``rng`` (encoder first, then decoder)."""
    rng = as_generator(rng)
    model = Autoencoder(build_encoder(cfg, rng), build_decoder(cfg, rng), cfg)
    pack_parameters(model)
    return model


def literal_to_transposed(conv_weight: np.ndarray) -> np.ndarray:
    """Weight of the ConvTranspose2d equal to Upsample("zeros", 2) then Conv2d(conv_weight, "same"), 3x3 kernels."""
    return np.ascontiguousarray(conv_weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def disk_autoencoder(preset="talk", latent_dim=1, channels=None, alpha=None, bias=True, upsampling=None,
                     image_size=None, dtype=np.float32, rng=None, literal=False) -> Autoencoder:
    """The disk autoencoder of a preset; every argument left at None takes the preset's value.

    ``channels``: hidden channel counts, one per block but the last (or one
    number for all).  ``bias=False`` removes every bias (the talk's ablation).
    ``literal=True`` (talk preset) builds conv -> Subsample and Upsample -> conv layer by
    layer instead of the equal strided and transposed convolutions.
    """
    settings = network_defaults(preset, image_size)
    if channels is not None:
        settings["channels"] = [int(channels)] if np.isscalar(channels) else [int(c) for c in channels]
    for key, value in (("alpha", alpha), ("upsampling", upsampling)):
        if value is not None:
            settings[key] = value
    settings.update(latent_dim=int(latent_dim), bias=bool(bias), dtype=check_dtype(dtype).name, literal=bool(literal))
    return build_autoencoder(AutoencoderConfig(**settings), rng)


def conv_config(input_shape=(1, 64, 64), channels=8, latent_dim=1, bias=True, alpha=0.2, coord_channels=False,
                output="leaky", code_activation=True, dtype=np.float32) -> AutoencoderConfig:
    """Talk blocks for any power-of-2 image (C, H, W) or 1 x n signal (C, 1, n)."""
    if len(input_shape) != 3 or any(int(s) < 1 for s in input_shape):
        raise ValueError(f"shape must be (channels, height, width) of positive ints, got {input_shape!r}")
    return AutoencoderConfig(preset="talk", image_size=max(int(s) for s in input_shape[1:]), latent_dim=int(latent_dim),
                             channels=[int(channels)] if np.isscalar(channels) else [int(c) for c in channels],
                             alpha=float(alpha), bias=bool(bias), dtype=check_dtype(dtype).name,
                             input_shape=list(input_shape), coord_channels=bool(coord_channels), output=output,
                             code_activation=bool(code_activation))


def conv_autoencoder(input_shape=(1, 64, 64), channels=8, latent_dim=1, bias=True, alpha=0.2, coord_channels=False,
                     output="leaky", dtype=np.float32, rng=None) -> Autoencoder:
    """A talk-style autoencoder of any power-of-2 image (or 1 x n signal), used by the position and PCA
    experiments: the same builder as :func:`disk_autoencoder`, so it checkpoints like any model."""
    cfg = conv_config(input_shape, channels, latent_dim, bias, alpha, coord_channels, output, dtype=dtype)
    return build_autoencoder(cfg, rng)


def pcaae_config(codes: int = 1, dtype=np.float32) -> AutoencoderConfig:
    """The PCA-AE authors' network for the encoder / the decoder of ``codes`` codes: Conv2d and ConvTranspose2d
    k4 s2 p1 with bias, LeakyReLU 0.2, a linear code, sigmoid output, 64 x 64 images; every width is ``codes``
    times the one-code width, as in their ``Encoder(code_size)`` and ``Decoder(code_size)``."""
    return AutoencoderConfig(preset="pcaae", image_size=64, latent_dim=codes,
                             channels=[codes * c for c in PCAAE_ENCODER_CHANNELS],
                             alpha=0.2, upsampling="transposed", output="sigmoid", code_activation=False,
                             decoder_channels=pcaae_decoder_channels(codes), dtype=check_dtype(dtype).name)


def coded_encoder(cfg: AutoencoderConfig, rng=None) -> Sequential:
    """An encoder to ``cfg.latent_dim`` linear codes followed by a parameter-free BatchNorm (the PCA-AE's E_k)."""
    encoder = build_encoder(replace(cfg, code_activation=False), rng)
    encoder.append(BatchNorm(cfg.latent_dim))
    return encoder


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
