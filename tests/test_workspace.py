"""Reused output buffers: same results bit for bit, no new arrays in a steady-state step, opt-in only."""
import tracemalloc

import numpy as np
import pytest

import npae
from npae.models import disk_autoencoder
from npae.train import Trainer, TrainConfig


def config(**kwargs):
    return TrainConfig(**{**dict(steps=40, batch_size=8, lr=3e-3, train_size=100, seed=0), **kwargs})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reusing_buffers_gives_bit_identical_training(dtype):
    runs = []
    for reuse in (False, True):
        model = disk_autoencoder("talk", image_size=16, channels=4, rng=0).astype(dtype)
        trainer = Trainer(model, config(), reuse_buffers=reuse)
        runs.append((trainer.run(progress=False), model.params))
    (loss_fresh, params_fresh), (loss_reused, params_reused) = runs
    assert loss_fresh == loss_reused
    assert all(np.array_equal(params_fresh[k], params_reused[k]) for k in params_fresh)
    assert all(params_reused[k].dtype == dtype for k in params_reused)


def test_steady_state_step_allocates_no_arrays():
    model = disk_autoencoder("talk", image_size=64, rng=0)
    trainer = Trainer(model, config(steps=10**6, batch_size=16, train_size=50))
    steps = trainer.steps()
    for _ in range(3):
        next(steps)
    buffers = npae.workspace_nbytes(model)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(3):
            next(steps)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert buffers > 5_000_000
    assert peak - baseline < 0.02 * buffers
    assert current - baseline < 10_000


def test_buffers_are_reused_only_inside_the_context():
    layer = npae.Conv2d(1, 2, 3, rng=0)
    x1, x2 = np.ones((1, 1, 4, 4), np.float32), np.zeros((1, 1, 4, 4), np.float32)
    y1 = layer.forward(x1)
    kept = y1.copy()
    assert layer.forward(x2) is not y1 and np.array_equal(y1, kept)
    with npae.reusing_buffers(layer):
        first = layer.forward(x1)
        assert layer.forward(x2) is first
    assert layer.reuse_buffers is False
    assert layer.forward(x1) is not first
