"""The disk autoencoder's presets, in one place: network, training, and the size section's modes.

* ``"talk"``: 64 x 64 images, log_2(64) = 6 blocks of 3x3 convolutions halving the image
  (hidden widths 16-16-32-64-64), LeakyReLU 0.2, zero-insertion up-sampling.
* ``"official"``: 63 x 63 images, 5 blocks of 3x3 stride-2 "valid" convolutions with widths
  8, 4, 3, 2 (63 -> 31 -> 15 -> 7 -> 3 -> 1), transposed convolutions back, LeakyReLU 0.05.

Training ("talk"): the talk gives Adam lr 1e-3 and batch 300 (ICLR 2018).  npae trains batch 16 x 13 000
steps, Adam lr 5e-3 with a cosine decay to a thousandth of the rate.  Tuned over seeds with ``npae sweep
train`` (2026-11-28, docs/results.md): the former 8-16-32-64-64 x 8000 steps reached test MSE 1.15e-3 to
1.49e-3 (below 1e-3 in 0 of 8 seeds); 16 channels at 32 x 32 and 13 000 steps reach it in 8 of 8, for 2.3x
the time (`npae train`: 222 s against 95 s on 2 cores).  lr 1e-2 diverges for seed 0 on this project's machine.  "official": the authors'
code (lr 0.01, batch 64, 10 000 steps, disks averaged over 800 sub-pixel renderings).

``SIZE_MODES``: the training of each mode of ``npae reproduce size`` ("quick": minutes on a laptop;
"full": the papers' iterations, batch and data; "smoke": a few steps that check the pipeline).  The size
section (and ``npae reproduce shapes``) trains the cheaper widths ``SIZE_CHANNELS``: it trains two networks,
and its statements (monotone code, one-signed bias-free decoder, Airy profile) do not need the last 25 % of MSE.
"""
from __future__ import annotations

GEOMETRIES = ("talk", "official", "pcaae")
"""Block geometries: "talk" 3x3 "same" convolutions halving the image; "official" 3x3 stride-2 "valid"
(63 -> 31 -> ... -> 1); "pcaae" the PCA-AE authors' 4x4 stride-2 convolutions with padding 1 (64 -> 32 -> ... -> 1)."""
UPSAMPLING = {"talk": ("zeros", "nearest", "bilinear"), "official": ("transposed",), "pcaae": ("transposed",)}

TALK_CHANNELS = (16, 16, 32, 64, 64)
"""Hidden widths of the talk preset, image side to code: cheap where the images are large and wide where
they are small.  89 % of the squared error of a trained network lies within 1.5 pixels of the disk's edge,
drawn by the decoder's last 32 x 32 layer: 16 channels there instead of 8 cost 1.55x the step time."""
SIZE_CHANNELS = (8, 16, 32, 64, 64)
"""Widths of the size section's networks (the talk preset's until 2026-11-28)."""

PCAAE_ENCODER_CHANNELS = (32, 16, 8, 4, 2)
"""Hidden widths of the PCA-AE authors' encoders (each to one code); their decoder of k codes has 2k, 4k, 8k,
16k, 32k (:func:`pcaae_decoder_channels`)."""


def pcaae_decoder_channels(codes: int) -> list[int]:
    return [codes * 2 ** (k + 1) for k in range(5)]


NETWORKS = {
    "talk": dict(preset="talk", image_size=64, latent_dim=1, channels=list(TALK_CHANNELS), alpha=0.2,
                 upsampling="zeros"),
    "official": dict(preset="official", image_size=63, latent_dim=1, channels=[8, 4, 3, 2], alpha=0.05,
                     upsampling="transposed"),
}

TRAINING = {
    "talk": dict(lr=5e-3, batch_size=16, steps=13000, lr_schedule="cosine", lr_final_factor=0.001),
    "official": dict(lr=1e-2, batch_size=64, steps=10000, supersample=800),
}

SIZE_MODES = {
    "talk": {
        "quick": dict(steps=4000, batch_size=16, lr=1e-2, lr_schedule="cosine", train_size=1000, supersample=None,
                      channels=list(SIZE_CHANNELS)),
        "full": dict(steps=20000, batch_size=300, lr=1e-3, lr_schedule="constant", train_size=10000,
                     supersample=None, channels=list(SIZE_CHANNELS)),
        "smoke": dict(steps=15, batch_size=8, lr=1e-2, lr_schedule="cosine", train_size=64, supersample=None,
                      channels=list(SIZE_CHANNELS)),
    },
    "official": {
        "quick": dict(steps=4000, batch_size=64, lr=1e-2, lr_schedule="cosine", train_size=1000, supersample=None),
        "full": dict(steps=10000, batch_size=64, lr=1e-2, lr_schedule="constant", train_size=1000, supersample=800),
        "smoke": dict(steps=15, batch_size=8, lr=1e-2, lr_schedule="cosine", train_size=64, supersample=None),
    },
}


def check_preset(preset: str) -> str:
    if preset not in NETWORKS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {tuple(NETWORKS)}")
    return preset


def network_defaults(preset: str, image_size: int | None = None) -> dict:
    """The preset's network settings; for the talk preset at another ``image_size``, its widths cut to fit."""
    settings = dict(NETWORKS[check_preset(preset)])
    settings["channels"] = list(settings["channels"])
    if image_size is not None:
        settings["image_size"] = int(image_size)
        if preset == "talk":
            side, blocks = int(image_size), 0
            while side > 1 and side % 2 == 0:
                side, blocks = side // 2, blocks + 1
            settings["channels"] = [TALK_CHANNELS[min(k, len(TALK_CHANNELS) - 1)] for k in range(max(blocks - 1, 1))]
    return settings


def training_defaults(preset: str) -> dict:
    return dict(TRAINING[check_preset(preset)])


def size_mode(preset: str, mode: str) -> dict:
    """The training of one mode of the size section for ``preset``."""
    modes = SIZE_MODES[check_preset(preset)]
    if mode not in modes:
        raise ValueError(f"unknown mode {mode!r}; expected one of {tuple(modes)}")
    return dict(modes[mode])
