"""Training the disk autoencoder: data, Adam, MSE, checkpoints, divergence guard.

One step: draw a batch, y = model(x), (L, dL/dy) = mse(y, x),
model.backward(dL/dy), optimiser.step().  ``Trainer.steps()`` is an iterator
over steps, so a user can stop after any step, look at the model, the grads
and the optimiser's moments, and continue.  Everything random comes from one
``np.random.Generator`` whose state is saved in checkpoints, so
N steps straight and k steps + resume + (N - k) steps give bit-identical weights.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import checkpoint as ckpt
from .data import disks
from .models import disk_autoencoder
from .optim import Adam
from .presets import training_defaults
from .step import Tape, TrainingDiverged, training_step


DIVERGENCE_WINDOW = 50
"""Steps in the running median that the divergence check compares a step's loss with."""


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (stored as JSON in the checkpoint).

    ``train_size``: size of the fixed training set batches are drawn from; 0 draws fresh disks every step.
    ``lr_schedule``: "constant", or "cosine": at step t of T the rate is
    lr (f + (1 - f) (1 + cos(pi t / T)) / 2) with f = ``lr_final_factor``.
    ``divergence_factor``: a step whose loss exceeds this multiple of the median of the last
    ``DIVERGENCE_WINDOW`` losses, and every loss of the run so far, stops training as diverged, before its
    update (0: no such check).
    """

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based)."""
        if self.lr_schedule == "constant" or self.steps == 0:
            return self.lr
        f = self.lr_final_factor
        return self.lr * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * min(step, self.steps) / self.steps)))

    steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    train_size: int = 1000
    weight_decay: float = 0.0
    decay_on: str = "encoder"
    seed: int = 0
    radius_max: float | None = None
    blur_sigma: float = 0.5
    supersample: int | None = None
    checkpoint_every: int = 500
    lr_schedule: str = "constant"
    lr_final_factor: float = 0.01
    divergence_factor: float = 1000.0

    def __post_init__(self):
        for name in ("steps", "batch_size", "train_size", "seed", "checkpoint_every"):
            setattr(self, name, int(getattr(self, name)))
        for name in ("lr", "weight_decay", "blur_sigma", "lr_final_factor", "divergence_factor"):
            setattr(self, name, float(getattr(self, name)))
        self.betas = tuple(float(b) for b in self.betas)
        if self.radius_max is not None:
            self.radius_max = float(self.radius_max)
            if not self.radius_max > 0:
                raise ValueError(f"radius_max must be positive, got {self.radius_max}")
        if self.supersample is not None:
            self.supersample = int(self.supersample)
            if self.supersample < 1:
                raise ValueError(f"supersample must be a positive number of renderings, got {self.supersample}")
        if not (self.divergence_factor == 0 or self.divergence_factor > 1):
            raise ValueError(f"divergence_factor must be 0 (off) or above 1, got {self.divergence_factor}")
        if self.blur_sigma < 0 or self.checkpoint_every < 0 or not 0 <= self.lr_final_factor <= 1:
            raise ValueError("blur_sigma and checkpoint_every must be >= 0 and lr_final_factor in [0, 1], got "
                             f"{self.blur_sigma}, {self.checkpoint_every}, {self.lr_final_factor}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.decay_on not in ("encoder", "all"):
            raise ValueError(f"decay_on must be 'encoder' or 'all', got {self.decay_on!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.steps < 0 or self.batch_size < 1:
            raise ValueError(f"steps must be >= 0 and batch_size >= 1, got {self.steps}, {self.batch_size}")
        if self.train_size < 0:
            raise ValueError(f"train_size must be >= 0 (0: fresh disks every step), got {self.train_size}")

    def data_settings(self) -> dict:
        """How the disks are rendered (for a test set drawn like the training data)."""
        return {"blur_sigma": self.blur_sigma, "supersample": self.supersample}


@dataclass
class StepResult:
    step: int
    loss: float


def check_training_data(data, dtype) -> np.ndarray:
    """``data`` as a C-contiguous (N, C, H, W) array of the model's dtype, finite, N >= 1; else a clear error."""
    if not isinstance(data, np.ndarray) or data.ndim != 4 or len(data) < 1:
        raise ValueError(f"training data must be a non-empty 4-D array (N, C, H, W), got "
                         f"{getattr(data, 'shape', type(data).__name__)}")
    if data.dtype != dtype:
        raise TypeError(f"training data dtype {data.dtype} differs from the model's {dtype}")
    if not np.all(np.isfinite(data)):
        raise ValueError("training data holds NaN or inf")
    return np.ascontiguousarray(data)


def make_optimizer(model, config: TrainConfig) -> Adam:
    decay = (lambda name: name.startswith("encoder.")) if config.decay_on == "encoder" else None
    return Adam(model, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, decay=decay)


class Trainer:
    """Trains ``model`` with Adam on centred disks; ``run_dir`` (optional) receives checkpoint.npz.

    ``data``: a fixed training set (N, C, H, W) of the model's dtype to draw the batches from instead of
    disks (e.g. the Diracs of the position experiments); config.train_size is then ignored.
    """

    def __init__(self, model, config: TrainConfig, run_dir=None, data: np.ndarray | None = None):
        self.model, self.config = model, config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.optimizer = make_optimizer(model, config)
        self.rng = np.random.default_rng(config.seed)
        self.step_count = 0
        self.loss_history = []
        self.train_images = None
        if data is not None:
            self.train_images = check_training_data(data, model.dtype)
        elif config.train_size:
            self.train_images, _ = self._disks(config.train_size, np.random.default_rng([config.seed, 1]))

    def _disks(self, n, rng):
        if self.model.config is None:
            raise ValueError("this model has no config to draw disks for; pass the training images as data=")
        size = self.model.config.image_size
        r_max = self.config.radius_max if self.config.radius_max is not None else size / 2
        return disks(n, size, radius_range=(0.0, r_max), blur_sigma=self.config.blur_sigma,
                     supersample=self.config.supersample, rng=rng, dtype=self.model.dtype)

    def next_batch(self) -> np.ndarray:
        """A batch from the fixed training set (drawn with replacement) or a fresh one."""
        if self.train_images is not None:
            return self.train_images[self.rng.integers(0, len(self.train_images), self.config.batch_size)]
        return self._disks(self.config.batch_size, self.rng)[0]

    def _diverged(self, error: TrainingDiverged) -> TrainingDiverged:
        return TrainingDiverged(f"{error}: training stopped and the model keeps the parameters of step "
                                f"{self.step_count}")

    @property
    def loss_history(self) -> list[float]:
        """The training loss of every step so far.  Read it; to replace it, assign a new list (the largest
        loss, which :meth:`max_loss` reads, is kept as losses are recorded and recomputed on assignment)."""
        return self._loss_history

    @loss_history.setter
    def loss_history(self, losses) -> None:
        self._loss_history = [float(loss) for loss in losses]
        self._largest_loss = max(self._loss_history, default=-math.inf)

    def _record(self, loss: float) -> None:
        self._loss_history.append(loss)
        self._largest_loss = max(self._largest_loss, loss)

    def max_loss(self) -> float:
        """The loss above which a step counts as a blow-up: divergence_factor x the recent median loss, but never
        below the largest loss of the run so far (a loss that has fallen to 1e-6 may rise to 1e-3 and recover)."""
        recent = self.loss_history[-DIVERGENCE_WINDOW:]
        if not self.config.divergence_factor or not recent:
            return math.inf
        return max(self.config.divergence_factor * float(np.median(recent)), self._largest_loss)

    def _step(self, batch: np.ndarray, tape: Tape | None) -> float:
        self.optimizer.lr = self.config.lr_at(self.step_count)
        try:
            loss = training_step(self.model, self.optimizer, batch, tape=tape,
                                 step_label=f"step {self.step_count + 1}", max_loss=self.max_loss())
        except TrainingDiverged as error:
            raise self._diverged(error) from None
        self.step_count += 1
        self._record(loss)
        return loss

    def train_step(self, batch: np.ndarray) -> float:
        """One step on ``batch`` (:func:`npae.step.training_step`); raises TrainingDiverged, without
        updating, if the loss, a gradient or the update is not finite."""
        return self._step(batch, None)

    def inspect_step(self, batch: np.ndarray | None = None):
        """The same step, recorded layer by layer (see :class:`npae.inspect.Inspector`): training can go on
        afterwards exactly as if the step had been a plain one."""
        from .inspect import Inspector

        batch = self.next_batch() if batch is None else batch
        self.optimizer.lr = self.config.lr_at(self.step_count)
        inspector = Inspector(self.model, self.optimizer, step_label=f"step {self.step_count + 1}",
                              max_loss=self.max_loss())
        try:
            record = inspector.step(batch)
        except TrainingDiverged as error:
            raise self._diverged(error) from None
        self.step_count += 1
        self._record(record.loss_before)
        return record

    def steps(self, until: int | None = None) -> Iterator[StepResult]:
        """Iterate over training steps up to step ``until`` (default config.steps), checkpointing as configured."""
        until = self.config.steps if until is None else until
        if self.run_dir is not None and self.step_count == 0 and self.config.checkpoint_every:
            self.save(self.snapshot_path(0))
        while self.step_count < until:
            rng_state = self.rng.bit_generator.state
            try:
                loss = self.train_step(self.next_batch())
            except TrainingDiverged as error:
                raise self._keep_last_good_state(error, rng_state) from None
            if self.run_dir is not None and self.config.checkpoint_every and \
                    self.step_count % self.config.checkpoint_every == 0:
                self.save()
                self.save(self.snapshot_path(self.step_count))
            yield StepResult(self.step_count, loss)

    def _keep_last_good_state(self, error: TrainingDiverged, rng_state: dict) -> TrainingDiverged:
        """Model, optimiser and counters still hold the last good (finite) state; put the RNG back to before the
        failed step's batch and, with a run_dir, save that state so that it resumes (e.g. with a lower lr)."""
        self.rng.bit_generator.state = rng_state
        if self.run_dir is None:
            return error
        return TrainingDiverged(f"{error}; that state is saved in {self.save()}")

    def run(self, until: int | None = None, callbacks: list[Callable[["Trainer", StepResult], None]] = (),
            progress: bool = True) -> list[float]:
        """Train to ``until`` with a tqdm progress bar; save a final checkpoint if there is a run_dir."""
        from tqdm.auto import tqdm

        until = self.config.steps if until is None else until
        bar = tqdm(total=until, initial=self.step_count, disable=not progress, desc="train", leave=False)
        try:
            for result in self.steps(until):
                bar.update(1)
                if result.step % 10 == 0 or result.step == until:
                    bar.set_postfix(loss=f"{np.mean(self.loss_history[-10:]):.3e}")
                for callback in callbacks:
                    callback(self, result)
        finally:
            bar.close()
        if self.run_dir is not None:
            self.save()
        return self.loss_history

    def snapshot_path(self, step: int) -> Path:
        """run_dir/snapshots/step_XXXXXXX.npz: kept checkpoints, from which any step can be replayed."""
        return self.run_dir / "snapshots" / f"step_{step:07d}.npz"

    def meta(self) -> dict:
        return {"train_config": asdict(self.config), "step": self.step_count,
                "rng_state": self.rng.bit_generator.state}

    def save(self, path=None) -> Path:
        """Write the checkpoint (default run_dir/checkpoint.npz) atomically."""
        if path is None:
            if self.run_dir is None:
                raise ValueError("Trainer.save: no path given and no run_dir")
            path = self.run_dir / ckpt.CHECKPOINT_NAME
        return ckpt.write_checkpoint(path, self.model, self.meta(), self.optimizer.state_dict(), self.loss_history)

    @classmethod
    def resume(cls, path, run_dir=None, data: np.ndarray | None = None, **overrides) -> "Trainer":
        """A trainer in exactly the state a checkpoint saved (weights, moments, step, RNG).

        ``run_dir``: where the resumed run writes its checkpoints (None: nowhere).  ``data``: the training
        images of a run trained on an array.  ``overrides`` change fields of the saved TrainConfig (e.g.
        ``steps`` to train further).
        """
        meta, params, optim, history = ckpt.read_checkpoint(path)
        model = ckpt.model_from(meta, params, path)
        try:
            train_config = TrainConfig(**{**meta["train_config"], **overrides})
        except (TypeError, ValueError) as error:
            raise ckpt.CheckpointError(f"{path}: invalid training config in checkpoint: {error}") from error
        trainer = cls(model, train_config, run_dir, data=data)
        try:
            trainer.optimizer.load_state_dict(optim)
            trainer.rng.bit_generator.state = meta["rng_state"]
        except (ValueError, KeyError, TypeError) as error:
            raise ckpt.CheckpointError(f"{path}: optimiser or RNG state does not match the model: {error}") from error
        trainer.step_count = int(meta["step"])
        trainer.loss_history = [float(v) for v in history]
        if not trainer.optimizer.step_count == trainer.step_count == len(trainer.loss_history):
            raise ckpt.CheckpointError(f"{path}: inconsistent step counts (meta {trainer.step_count}, optimiser "
                                       f"{trainer.optimizer.step_count}, loss history {len(trainer.loss_history)})")
        return trainer


def run_length(run_dir) -> int:
    """The number of steps a run directory's checkpoint.npz holds."""
    return int(ckpt.read_checkpoint(run_dir)[0]["step"])


def replay_to(run_dir, step: int) -> Trainer:
    """A trainer in the state after ``step`` steps: resumed from the latest snapshot at or before it, then trained.

    Training is deterministic, so the state is exactly the one the original run had at that step.
    """
    run_dir = Path(run_dir)
    final_step = run_length(run_dir)
    if not 0 <= step <= final_step:
        raise ValueError(f"{run_dir} holds steps 0 to {final_step}; cannot replay to step {step}")
    snapshots = sorted((run_dir / "snapshots").glob("step_*.npz"))
    usable = [p for p in snapshots if int(p.stem.split("_")[1]) <= step]
    if not usable:
        raise FileNotFoundError(f"no snapshot at or before step {step} in {run_dir / 'snapshots'}")
    trainer = Trainer.resume(usable[-1], run_dir=None, checkpoint_every=0)
    for _ in trainer.steps(until=step):
        pass
    return trainer


def load_checkpoint(path):
    """The trained model of a checkpoint file or run directory, ready to use (any npae model)."""
    return ckpt.load_model(path)


def default_config(preset: str, **overrides) -> TrainConfig:
    """The preset's training hyper-parameters, with overrides (a None override sets None)."""
    return TrainConfig(**{**training_defaults(preset), **overrides})


def train_disk_autoencoder(preset="talk", latent_dim=1, bias=True, steps=None, seed=0, run_dir=None,
                           progress=True, channels=None, upsampling=None, **train_overrides):
    """Build and train a preset's disk autoencoder; returns the trainer (its .model is trained)."""
    model = disk_autoencoder(preset, latent_dim=latent_dim, bias=bias, channels=channels, upsampling=upsampling,
                             rng=np.random.default_rng([seed, 0]))
    if steps is not None:
        train_overrides["steps"] = steps
    trainer = Trainer(model, default_config(preset, seed=seed, **train_overrides), run_dir)
    trainer.run(progress=progress)
    return trainer
