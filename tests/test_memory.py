"""The buffer pool: a correct memory plan, same training bit for bit, no new arrays in a steady-state step."""
import tracemalloc

import numpy as np
import pytest

import npae
from npae.models import disk_autoencoder
from npae.nn.memory import Request, plan_offsets
from npae.train import Trainer, TrainConfig


def config(**kwargs):
    return TrainConfig(**{**dict(steps=40, batch_size=8, lr=3e-3, train_size=100, seed=0), **kwargs})


def test_plan_shares_bytes_only_between_arrays_not_alive_together():
    requests = [Request(1000, 0, death=2), Request(500, 1, death=3), Request(1000, 2, death=4), Request(64, 3, death=4)]
    size = plan_offsets(requests)
    spans = [(r.offset, r.offset + r.nbytes, r.birth, r.death) for r in requests]
    for i, (s1, e1, b1, d1) in enumerate(spans):
        for s2, e2, b2, d2 in spans[i + 1:]:
            if b1 < d2 and b2 < d1:
                assert e1 <= s2 or e2 <= s1
    assert requests[2].offset == requests[0].offset
    assert all(r.offset % 64 == 0 for r in requests)
    assert size == 1024 + 512 and requests[3].offset == requests[1].offset
    assert requests[2].shares_with == [0]


def test_pool_records_plans_and_replays():
    pool = npae.BufferPool()

    def step():
        a = pool.empty((16, 16), np.float32)
        b = pool.empty((8,), np.float64)
        a[...] = 1
        del a
        c = pool.empty((16, 16), np.float32)
        c[...] = 2
        return float(b.size + c.sum())

    assert step() == 520.0 and pool.state == "recording"
    pool.end_step()
    assert pool.state == "replaying" and pool.nbytes == 1024 + 64
    fresh = pool.fresh_arrays
    for _ in range(3):
        assert step() == 520.0
        pool.end_step()
    assert pool.fresh_arrays == fresh and pool.state == "replaying"


def test_pool_never_overwrites_an_array_still_referenced():
    pool = npae.BufferPool()
    kept = []

    def step(keep):
        a = pool.empty((4,), np.float32)
        a[...] = 7
        if keep:
            kept.append(a)
        del a
        b = pool.empty((4,), np.float32)
        b[...] = 0

    step(False)
    pool.end_step()
    step(True)
    assert np.all(kept[0] == 7)
    pool.end_step()
    assert pool.state == "recording" and np.all(kept[0] == 7)


def test_a_different_request_ends_the_replay():
    pool = npae.BufferPool()
    pool.empty((4,), np.float32)
    pool.end_step()
    assert pool.state == "replaying"
    x = pool.empty((5,), np.float32)
    assert pool.state == "off" and x.shape == (5,)
    del x
    pool.end_step()
    assert pool.state == "recording"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooled_buffers_give_bit_identical_training(dtype):
    runs = []
    for reuse in (False, True):
        model = disk_autoencoder("talk", image_size=16, channels=4, rng=0).astype(dtype)
        trainer = Trainer(model, config(), reuse_buffers=reuse)
        runs.append((trainer.run(progress=False), model.params))
    (loss_fresh, params_fresh), (loss_pooled, params_pooled) = runs
    assert loss_fresh == loss_pooled
    assert all(np.array_equal(params_fresh[k], params_pooled[k]) for k in params_fresh)
    assert all(params_pooled[k].dtype == dtype for k in params_pooled)


def test_steady_state_step_allocates_no_arrays():
    model = disk_autoencoder("talk", image_size=64, rng=0)
    trainer = Trainer(model, config(steps=10**6, batch_size=16, train_size=50))
    steps = trainer.steps()
    next(steps)
    pool = trainer.buffer_pool
    fresh = pool.fresh_arrays
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(3):
            next(steps)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pool.state == "replaying" and pool.fresh_arrays == fresh
    assert peak - baseline < 0.02 * pool.nbytes
    assert current - baseline < 10_000


def test_layers_use_the_pool_only_inside_the_context():
    layer = npae.Conv2d(1, 2, 3, rng=0)
    x = np.ones((1, 1, 4, 4), np.float32)
    y = layer.forward(x)
    pool = npae.BufferPool()
    with npae.reusing_buffers(layer, pool):
        pooled = layer.forward(x)
        assert pool.fresh_arrays > 0
        np.testing.assert_array_equal(pooled, y)
    assert layer.buffer_pool is None
    count = pool.fresh_arrays
    layer.forward(x)
    assert pool.fresh_arrays == count
