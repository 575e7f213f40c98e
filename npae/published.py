"""The authors' own trained models, loaded into npae networks built by npae's builder.

* :func:`load_published_pcaae`: the PCA-AE of Pham, Ladjal and Newson on ellipses (their third encoder and
  their decoder of three codes), from their PyTorch checkpoint or an ``.npz`` of the same arrays.
* :func:`load_published_disk_ae`: the example disk autoencoder of Newson et al.'s Keras code (npae's
  "official" preset), from the Keras weights file (HDF5, read with h5py) or an ``.npz``.

:func:`fill` copies named arrays into a model through an explicit name mapping, converting layouts and
checking every name, shape and dtype first: a missing, unexpected or misshapen tensor is a
:class:`~npae.checkpoint.CheckpointError` that names it, and nothing is copied.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError
from .models import build_decoder, coded_encoder, pcaae_config
from .nn import BatchNorm, Bias, Conv2d, ConvTranspose2d, Sequential
from .pca_ae import set_training


def read_arrays(path) -> dict[str, np.ndarray]:
    """Every tensor of an ``.npz``, a PyTorch checkpoint (``.pt``/``.pth``; needs PyTorch) or a Keras weights file
    (``.h5``; needs h5py), as float arrays by name.  Nested PyTorch state dicts are flattened with "/"."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    if suffix in (".pt", ".pth"):
        return _read_torch(path)
    if suffix in (".h5", ".hdf5"):
        return _read_keras(path)
    raise ValueError(f"{path}: unknown weights format {suffix!r}; expected .npz, .pt/.pth or .h5")


def _read_torch(path: Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise ImportError(f"reading {path} needs PyTorch (pip install torch==2.13.0), or use the .npz of the same "
                          f"arrays") from None
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint of tensors: {error}") from error
    arrays = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}{key}/" if isinstance(item, dict) else f"{prefix}{key}", item)
        elif isinstance(value, torch.Tensor):
            arrays[prefix] = value.detach().cpu().numpy()

    walk("", checkpoint)
    return arrays


def _read_keras(path: Path) -> dict[str, np.ndarray]:
    try:
        import h5py
    except ImportError:
        raise ImportError(f"reading {path} needs h5py (pip install 'npae[published]'), or use the .npz of the "
                          f"same arrays") from None
    arrays = {}
    try:
        with h5py.File(path, "r") as archive:
            root = archive["model_weights"] if "model_weights" in archive else archive
            for layer in [name.decode() if isinstance(name, bytes) else name for name in root.attrs["layer_names"]]:
                group = root[layer]
                for weight in group.attrs["weight_names"]:
                    weight = weight.decode() if isinstance(weight, bytes) else weight
                    arrays[weight] = np.asarray(group[weight])
    except (OSError, KeyError) as error:
        raise CheckpointError(f"{path} is not a readable Keras weights file: {error}") from error
    return arrays


def fill(model, arrays: dict[str, np.ndarray], mapping: dict[str, str], source: str,
         convert: Callable[[str, np.ndarray], np.ndarray] | None = None, ignored: tuple[str, ...] = ()) -> None:
    """Copy ``arrays[mapping[name]]`` (after ``convert(name, array)``) into every entry ``name`` of
    ``model.state_dict()``; every mapped tensor must exist, every tensor must be mapped or ``ignored``, and
    shapes must match.  Floats are cast to the model's dtype (buffers: to theirs)."""
    targets = {**model.params, **model.buffers}
    unmapped = sorted(set(targets) - set(mapping))
    if unmapped:
        raise ValueError(f"the mapping leaves {unmapped} of the npae model unfilled")
    missing = sorted(name for name in mapping.values() if name not in arrays)
    unexpected = sorted(set(arrays) - set(mapping.values()) - set(ignored))
    if missing or unexpected:
        raise CheckpointError(f"{source}: missing tensors {missing}, unexpected tensors {unexpected}")
    converted = {}
    for name, target in targets.items():
        value = np.asarray(arrays[mapping[name]])
        if value.dtype.kind not in "fi":
            raise CheckpointError(f"{source}: tensor {mapping[name]!r} has dtype {value.dtype}, not a number")
        value = convert(name, value) if convert else value
        if value.shape != target.shape:
            raise CheckpointError(f"{source}: tensor {mapping[name]!r} has shape {value.shape} (after layout "
                                  f"conversion), npae's {name!r} needs {target.shape}")
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"{source}: tensor {mapping[name]!r} holds NaN or inf")
        converted[name] = value.astype(target.dtype)
    for name, target in targets.items():
        target[...] = converted[name]


def _layer_names(sequential: Sequential, prefix: str, kinds) -> list[str]:
    return [f"{prefix}.{name}" for name, layer in sequential.named_layers() if isinstance(layer, kinds)]


def _convolution_mapping(sequential: Sequential, prefix: str, sources: list[str]) -> dict[str, str]:
    """npae names of the k-th convolution and the k-th Bias -> sources[k] + ".weight" / ".bias"."""
    convolutions = _layer_names(sequential, prefix, (Conv2d, ConvTranspose2d))
    biases = _layer_names(sequential, prefix, Bias)
    if not len(convolutions) == len(biases) == len(sources):
        raise ValueError(f"{prefix}: {len(convolutions)} convolutions and {len(biases)} biases for {len(sources)} "
                         f"source layers")
    mapping = {f"{conv}.weight": f"{source}.weight" for conv, source in zip(convolutions, sources)}
    mapping.update({f"{bias}.bias": f"{source}.bias" for bias, source in zip(biases, sources)})
    return mapping


class PublishedPCAAE(Sequential):
    """The authors' published PCA-AE: ``encoder3`` (their third code's encoder, BatchNorm in evaluation mode)
    and ``decoder3`` (their decoder of three codes)."""

    def __init__(self):
        encoder = coded_encoder(replace(pcaae_config(1), decoder_channels=None), rng=0)
        decoder = build_decoder(pcaae_config(3), rng=0)
        super().__init__(encoder3=encoder, decoder3=decoder)
        set_training(self, False)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Images (N, 1, 64, 64) of codes z (N, 3)."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != 3:
            raise ValueError(f"decode needs codes of shape (N, 3), got {z.shape}")
        return self.decoder3.forward(np.ascontiguousarray(z.reshape(len(z), 3, 1, 1)))

    def encode_component(self, component: int, x: np.ndarray) -> np.ndarray:
        """The code z_component (N,) of images x (N, 1, 64, 64); only the third encoder was published."""
        if component != 3:
            raise ValueError(f"only the third code's encoder was published, not encoder {component}")
        set_training(self.encoder3, False)
        return self.encoder3.forward(x).reshape(len(x))


def load_published_pcaae(path) -> PublishedPCAAE:
    """The published PCA-AE from ``PCAAE_ellipses.pt`` (PyTorch; its modules' inner names encoder_x1 / decoder_x are
    dropped, its optimiser state ignored) or its ``.npz`` (keys encoder3.* / decoder3.*)."""
    arrays = read_arrays(path)
    renamed = {}
    for key, value in arrays.items():
        name = key.replace("model_E3_state_dict/", "encoder3.").replace("model_D3_state_dict/", "decoder3.")
        renamed[name.replace("encoder3.encoder_x1.", "encoder3.").replace("decoder3.decoder_x.", "decoder3.")] = value
    model = PublishedPCAAE()
    mapping = _convolution_mapping(model.encoder3, "encoder3", [f"encoder3.conv{k}" for k in range(1, 7)])
    mapping.update(_convolution_mapping(model.decoder3, "decoder3", [f"decoder3.convT{k}" for k in range(6, 0, -1)]))
    norm = _layer_names(model.encoder3, "encoder3", BatchNorm)[0]
    mapping.update({f"{norm}.running_mean": "encoder3.zero_mean.running_mean",
                    f"{norm}.running_var": "encoder3.zero_mean.running_var"})
    ignored = tuple(name for name in renamed if name.startswith("optimizer") or name.endswith("num_batches_tracked"))
    fill(model, renamed, mapping, str(path), ignored=ignored)
    return model


def _keras_layout(name: str, value: np.ndarray) -> np.ndarray:
    """Keras kernels (kh, kw, in, out) and transposed kernels (kh, kw, out, in) -> npae's (out, in, kh, kw) and
    (in, out, kh, kw): both transpose(3, 2, 0, 1), no spatial flip."""
    return np.ascontiguousarray(value.transpose(3, 2, 0, 1)) if value.ndim == 4 else value


def load_published_disk_ae(path):
    """The authors' Keras example disk autoencoder as npae's "official" preset, from the Keras weights file
    (``.h5``, needs h5py) or its ``.npz`` (keys encoder.1..5 / decoder.1..5 .kernel / .bias)."""
    from .models import disk_autoencoder

    arrays = read_arrays(path)
    if Path(path).suffix.lower() in (".h5", ".hdf5"):
        arrays = _keras_names(arrays)
    model = disk_autoencoder("official", rng=0)
    sources = [f"encoder.{k}" for k in range(1, 6)] + [f"decoder.{k}" for k in range(1, 6)]
    mapping = _convolution_mapping(model.encoder, "encoder", sources[:5])
    mapping.update(_convolution_mapping(model.decoder, "decoder", sources[5:]))
    mapping = {name: source.replace(".weight", ".kernel") for name, source in mapping.items()}
    fill(model, arrays, mapping, str(path), convert=_keras_layout)
    return model


def _keras_names(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras weight names ("conv2d_3/kernel:0", in layer order) -> "encoder.k.kernel" / "decoder.k.kernel"."""
    layers = []
    for name in arrays:
        layer = name.split("/")[0]
        if layer not in layers:
            layers.append(layer)
    convolutions = [layer for layer in layers if "transpose" not in layer.lower()]
    transposed = [layer for layer in layers if "transpose" in layer.lower()]
    renamed = {}
    for part, group in (("encoder", convolutions), ("decoder", transposed)):
        for k, layer in enumerate(group, start=1):
            for name, value in arrays.items():
                if name.split("/")[0] == layer:
                    renamed[f"{part}.{k}.{name.split('/')[-1].split(':')[0]}"] = value
    return renamed


REFERENCE_FILES = {"pcaae": Path("pcaae_ellipses") / "pcaae_ellipses_published.npz",
                   "disk": Path("disk_official_keras") / "disk_official_published.npz"}


def find_reference(kind: str) -> Path | None:
    """The published weights of ``kind`` ("pcaae" or "disk") in a ``shared/reference`` folder beside the
    working directory or beside npae's source tree, or None (a plain install has none: the rows are skipped)."""
    here = Path(__file__).resolve().parents[2]
    for root in (Path.cwd().parent / "shared" / "reference", here / "shared" / "reference"):
        if (root / REFERENCE_FILES[kind]).is_file():
            return root / REFERENCE_FILES[kind]
    return None
