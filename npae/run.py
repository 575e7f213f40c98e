"""A training run in a folder, as ``npae train`` makes it: checkpoints and snapshots while training,
then metrics.json, the loss history and figures of the trained model on the test disks.

A folder is locked while a run writes into it (``.lock`` holding the writer's PID; a lock whose
process is gone is stale and taken over).  Replacing a run moves the old one aside and deletes it
only once the new run has written its first checkpoint; if the new run fails before that, the old
one is put back.  A run is resumed from its last checkpoint, and temporary files that a killed
write left behind are removed when the next run starts.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import plots
from .checkpoint import CHECKPOINT_NAME
from .evaluate import evaluate_disks
from .files import atomic_write, remove_temporaries, write_json
from .models import disk_autoencoder
from .train import Trainer, TrainConfig

LOCK_NAME = ".lock"
RESULT_FILES = ("metrics.json", "loss_history.npy", "loss.png", "reconstructions.png", "latent.png")
ASIDE_NAME = ".replaced-run"


class RunInUse(RuntimeError):
    """Another live process is writing into this run folder."""


class RunExists(ValueError):
    """The folder already holds a run and neither replacing nor resuming it was asked for."""


def run_directory(preset: str, latent_dim: int, bias: bool) -> Path:
    return Path(f"runs/{preset}-latent{latent_dim}{'' if bias else '-nobias'}")


def holds_run(out: Path) -> bool:
    return (out / CHECKPOINT_NAME).exists() or (out / "snapshots").exists()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_lock(out: Path) -> Iterator[Path]:
    """Hold ``out/.lock`` (this process's PID) for the block; refuse with :class:`RunInUse` if a live process
    holds it, take it over if its process is gone."""
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                owner = 0
            if owner and owner != os.getpid() and _process_alive(owner):
                raise RunInUse(f"{out} is in use by process {owner} (lock file {lock}); wait for it to finish, "
                               f"or choose another --out") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(handle, "w") as stream:
            stream.write(f"{os.getpid()}\n")
        break
    else:
        raise RunInUse(f"could not take the lock {lock}")
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError):
            if lock.read_text().strip() == str(os.getpid()):
                lock.unlink()


def _run_entries(out: Path) -> list[Path]:
    names = (CHECKPOINT_NAME, "snapshots") + RESULT_FILES
    return [out / name for name in names if (out / name).exists()]


@contextlib.contextmanager
def replacing(out: Path) -> Iterator[callable]:
    """Move the run in ``out`` aside; the block calls the yielded ``commit()`` once the new run has written
    its first checkpoint, which deletes the old run.  If the block fails before that, the old run is put back."""
    aside = out / ASIDE_NAME
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    for entry in _run_entries(out):
        entry.rename(aside / entry.name)
    state = {"committed": False}

    def commit():
        if not state["committed"]:
            shutil.rmtree(aside, ignore_errors=True)
            state["committed"] = True

    try:
        yield commit
    except BaseException:
        if not state["committed"]:
            for entry in _run_entries(out):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            for entry in aside.iterdir():
                entry.rename(out / entry.name)
            aside.rmdir()
        raise
    commit()


def train_run(out, config: TrainConfig, preset: str = "talk", latent_dim: int = 1, bias: bool = True,
              channels=None, progress: bool = True, overwrite: bool = False) -> dict:
    """Build the preset's disk autoencoder (weights from seed [config.seed, 0]), train it into ``out``,
    evaluate it on the test disks and write metrics.json, loss_history.npy and three figures.
    ``overwrite``: replace a run already in ``out`` (else that is an error).  Returns the metrics."""
    out = Path(out)
    model = disk_autoencoder(preset, latent_dim=latent_dim, bias=bias, channels=channels,
                             rng=np.random.default_rng([config.seed, 0]))
    with run_lock(out):
        remove_temporaries(out)
        if holds_run(out) and not overwrite:
            raise RunExists(f"{out} already holds a run; pass --resume to continue it, --overwrite to "
                                  f"replace it, or choose another --out")
        with replacing(out) if holds_run(out) else _committed() as commit:
            start = time.perf_counter()
            trainer = Trainer(model, config, out)
            trainer.save()
            commit()
            trainer.run(progress=progress)
        return write_results(out, trainer, time.perf_counter() - start)


@contextlib.contextmanager
def _committed():
    yield lambda: None


def resume_run(out, steps: int | None = None, progress: bool = True) -> dict:
    """Continue the run in ``out`` from its last checkpoint (to ``steps`` if given, else to its configured
    length), bit for bit as if it had not stopped, then write its metrics and figures."""
    out = Path(out)
    with run_lock(out):
        remove_temporaries(out)
        if not (out / CHECKPOINT_NAME).exists():
            raise FileNotFoundError(f"{out} holds no checkpoint to resume; start the run without --resume")
        overrides = {} if steps is None else {"steps": steps}
        start = time.perf_counter()
        trainer = Trainer.resume(out / CHECKPOINT_NAME, run_dir=out, **overrides)
        trainer.run(progress=progress)
        return write_results(out, trainer, time.perf_counter() - start)


def write_results(out: Path, trainer: Trainer, seconds: float) -> dict:
    config = trainer.model.config
    result = evaluate_disks(trainer.model, **trainer.config.data_settings())
    history = trainer.loss_history
    metrics = {
        "preset": config.preset, "latent_dim": config.latent_dim, "bias": config.bias, "steps": trainer.step_count,
        "seed": trainer.config.seed, "train_seconds": round(seconds, 2),
        "final_train_loss": float(np.mean(history[-20:])) if history else None,
        "test_mse": result["test_mse"], "spearman_z_r2": result["spearman_z_r2"],
        "spearman_z_area": result["spearman_z_area"],
    }
    write_json(out / "metrics.json", metrics)
    atomic_write(out / "loss_history.npy", lambda stream: np.save(stream, np.asarray(history)))
    plots.loss_curve(history, out / "loss.png")
    plots.reconstructions(result["images"], result["reconstructions"], out / "reconstructions.png")
    plots.latent_vs_attributes(result["radius"], result["area"], result["z"], result["spearman_z_r2"],
                               result["spearman_z_area"], out / "latent.png")
    return metrics
