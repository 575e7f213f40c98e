"""Checkpoints: one ``.npz`` holding weights, optimiser state, step, RNG state and the JSON config.

Layout of the archive (every entry a plain array, so it loads with
``allow_pickle=False``):

    meta              a JSON string: format tag, model and training configs, step, RNG state
    model/<name>      each parameter, by qualified name
    optim/<key>       the optimiser's state_dict (step, m and v per parameter)
    loss_history      the training loss of every step so far (float64)

Files are written to a temporary file in the same directory and renamed over
the target, so a crash mid-write never leaves a half-written checkpoint.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "npae-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.npz"


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, not npae's, or for another architecture."""


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """np.savez to a temporary file beside ``path``, fsync, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def refuse_non_finite(arrays: dict[str, np.ndarray], what: str) -> None:
    """Raise CheckpointError naming the first array that holds NaN or inf: ``what`` is never saved broken."""
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"refusing to write {what}: {name!r} holds NaN or inf")


def write_checkpoint(path, model_params: dict, optim_state: dict, meta: dict, loss_history) -> Path:
    """Write a checkpoint atomically; ``meta`` must be JSON-serialisable.  Non-finite weights are refused."""
    refuse_non_finite(model_params, "a checkpoint")
    arrays = {"meta": np.array(json.dumps({"format": FORMAT, "version": VERSION, **meta}))}
    arrays.update({f"model/{name}": value for name, value in model_params.items()})
    arrays.update({f"optim/{key}": value for key, value in optim_state.items()})
    arrays["loss_history"] = np.asarray(loss_history, dtype=np.float64)
    return atomic_savez(path, arrays)


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
    corrupt, not an .npz, or of another format or version raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {expected_format} file at {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path} is not an {expected_format} file (not an .npz archive)")
        with loaded as archive:
            contents = {key: archive[key] for key in archive.files}
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
    if not isinstance(meta, dict) or meta.get("format") != expected_format:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{path} is not an {expected_format} file (format {found!r})")
    if meta.get("version") != version:
        raise CheckpointError(f"{path} has {expected_format} version {meta.get('version')}, this npae reads {version}")
    return meta, contents


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
