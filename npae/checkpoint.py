"""Checkpoints: one ``.npz`` for every npae model, with its training state when there is one.

Layout of the archive (every entry a plain array, so it loads with
``allow_pickle=False``):

    meta              a JSON string: format tag, the model's config (what rebuilds it), and for a
                      training run its training config, step and RNG state
    model/<name>      the model's state_dict: each parameter and buffer, by qualified name
    optim/<key>       the optimiser's state_dict (step, m and v per parameter), if any
    loss_history      the training loss of every step so far (float64), if any

Files are written to a temporary file in the same directory and renamed over
the target, so a crash mid-write never leaves a half-written checkpoint.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .files import atomic_savez

FORMAT = "npae-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.npz"


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, not npae's, or for another architecture."""


def refuse_non_finite(arrays: dict[str, np.ndarray], what: str) -> None:
    """Raise CheckpointError naming the first array that holds NaN or inf: ``what`` is never saved broken."""
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"refusing to write {what}: {name!r} holds NaN or inf")


def model_config(model) -> dict:
    """The JSON-ready description that :func:`build_model` rebuilds ``model``'s architecture from."""
    if model.config is None:
        raise CheckpointError(f"{type(model).__name__} has no config to rebuild it from; build it with an npae "
                              f"builder (disk_autoencoder, conv_autoencoder, PCAAutoencoder)")
    return model.config.to_dict()


def build_model(config: dict):
    """A freshly initialised model of the architecture ``config`` describes (see :func:`model_config`)."""
    from .models import AutoencoderConfig, build_autoencoder
    from .pca_ae import PCA_KIND, PCAAutoencoder, PCAConfig

    if config.get("kind") == PCA_KIND:
        return PCAAutoencoder.from_config(PCAConfig(**{k: v for k, v in config.items() if k != "kind"}))
    return build_autoencoder(AutoencoderConfig(**config), rng=0)


def write_checkpoint(path, model, meta: dict | None = None, optim_state: dict | None = None,
                     loss_history=None) -> Path:
    """Write ``model`` (and a training state) atomically; ``meta`` must be JSON-serialisable.
    Anything non-finite, in the weights or the optimiser's moments, is refused."""
    state = model.state_dict()
    refuse_non_finite(state, "a checkpoint")
    refuse_non_finite(optim_state or {}, "a checkpoint")
    header = {"format": FORMAT, "version": VERSION, "model_config": model_config(model), **(meta or {})}
    arrays = {"meta": np.array(json.dumps(header))}
    arrays.update({f"model/{name}": value for name, value in state.items()})
    arrays.update({f"optim/{key}": value for key, value in (optim_state or {}).items()})
    if loss_history is not None:
        arrays["loss_history"] = np.asarray(loss_history, dtype=np.float64)
    return atomic_savez(path, arrays)


def save_model(path, model, settings: dict | None = None) -> Path:
    """Write a trained model (no training state) to the ``.npz`` at ``path``, with ``settings`` in its meta."""
    return write_checkpoint(path, model, {"settings": settings or {}})


def resolve_path(path) -> Path:
    """A checkpoint file, or a run directory holding ``checkpoint.npz``."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return path


def read_archive(path, expected_format: str = FORMAT, version: int = VERSION) -> tuple[dict, dict]:
    """(meta, every other entry) of an npae archive, loaded with ``allow_pickle=False``; a file that is
    corrupt, not an .npz, or of another format or version raises :class:`CheckpointError`.
    ``expected_format``: one tag, or a tuple of tags (format, version) accepted."""
    accepted = dict(expected_format) if isinstance(expected_format, tuple) else {expected_format: version}
    expected_format = " or ".join(accepted)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {expected_format} file at {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path} is not an {expected_format} file (not an .npz archive)")
        with loaded as archive:
            contents = {key: archive[key] for key in archive.files}
    except MemoryError as error:
        raise CheckpointError(f"{path}: an entry claims an array too large to load (corrupt or crafted file)") from error
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{path} is not a readable {expected_format} file (corrupt or truncated): "
                              f"{error}") from error
    if "meta" not in contents:
        raise CheckpointError(f"{path} is not an {expected_format} file (no 'meta' entry)")
    try:
        meta = json.loads(str(contents.pop("meta")))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: the 'meta' entry is not valid JSON") from error
    if not isinstance(meta, dict) or meta.get("format") not in accepted:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{path} is not an {expected_format} file (format {found!r})")
    if meta.get("version") != accepted[meta["format"]]:
        raise CheckpointError(f"{path} has {meta['format']} version {meta.get('version')}, this npae reads "
                              f"{accepted[meta['format']]}")
    return meta, contents


LEGACY_PCA_FORMAT = "npae-pca-ae"
"""The format of PCA-AE files written by npae 0.1's ``save_pca_autoencoder``: still read by :func:`load_model`."""


def read_model_archive(path) -> tuple[dict, dict]:
    """(meta, model state) of any npae model file; a legacy PCA-AE file is read into the current layout."""
    path = resolve_path(path)
    meta, contents = read_archive(path, ((FORMAT, VERSION), (LEGACY_PCA_FORMAT, 1)))
    if meta["format"] == LEGACY_PCA_FORMAT:
        from .pca_ae import PCA_KIND

        model = meta.get("model")
        if not isinstance(model, dict):
            raise CheckpointError(f"{path}: the metadata lacks the PCA-AE's architecture")
        return {"model_config": {"kind": PCA_KIND, **model}, "settings": meta.get("settings", {})}, contents
    if "model_config" not in meta:
        raise CheckpointError(f"{path}: checkpoint metadata lacks ['model_config']")
    return meta, {k[len("model/"):]: v for k, v in contents.items() if k.startswith("model/")}


def model_from(meta: dict, state: dict, path):
    """The model a checkpoint's meta describes, with ``state`` loaded; a mismatch raises CheckpointError."""
    try:
        model = build_model(meta["model_config"])
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(f"{path}: invalid model config in checkpoint: {error!r}") from error
    try:
        model.load_state_dict(state)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: weights do not fit the architecture in its config: {error}") from error
    if hasattr(model, "eval"):
        model.eval()
    return model


def load_model(path):
    """The model of a checkpoint file or run directory, ready to use (a PCA-AE in evaluation mode)."""
    meta, state = read_model_archive(path)
    return model_from(meta, state, path)


def read_checkpoint(path) -> tuple[dict, dict, dict, np.ndarray]:
    """(meta, model params, optimiser state, loss history), refusing anything that is not a valid checkpoint."""
    path = resolve_path(path)
    meta, contents = read_archive(path)
    missing = [key for key in ("model_config", "train_config", "step", "rng_state") if key not in meta]
    if missing:
        raise CheckpointError(f"{path}: checkpoint metadata lacks {missing}")
    params = {k[len("model/"):]: v for k, v in contents.items() if k.startswith("model/")}
    optim = {k[len("optim/"):]: v for k, v in contents.items() if k.startswith("optim/")}
    return meta, params, optim, contents.get("loss_history", np.zeros(0))
