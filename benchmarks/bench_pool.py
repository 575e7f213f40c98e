"""Same-run A/B of the training step with and without the BufferPool (issue 14).

    python benchmarks/bench_pool.py [--repeats 25]

For C in {8, 16} and B in {16, 64}: two Trainers from the same seed, one with
``reuse_buffers=True`` (arrays from the pool) and one without; after warm-up,
their steps alternate (A, B, A, B, ...) and each variant's median is reported.
Peak traced memory (tracemalloc) of one steady-state step of each is measured
afterwards, separately, since tracing slows the step.
"""
from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

import npae
from npae.models import disk_autoencoder
from npae.train import Trainer, TrainConfig


def trainer(channels: int, batch: int, reuse: bool) -> Trainer:
    model = disk_autoencoder("talk", channels=channels, rng=0)
    config = TrainConfig(steps=10**6, batch_size=batch, lr=1e-3, train_size=256, checkpoint_every=0)
    return Trainer(model, config, reuse_buffers=reuse)


def one_step(t: Trainer) -> float:
    batch = t.next_batch(out=t._batch_buffer())
    start = time.perf_counter()
    t.train_step(batch)
    return time.perf_counter() - start


def traced_peak(t: Trainer) -> int:
    batch = t.next_batch(out=t._batch_buffer())
    tracemalloc.start()
    tracemalloc.reset_peak()
    t.train_step(batch)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def compare(channels: int, batch: int, repeats: int) -> dict:
    pooled, plain = trainer(channels, batch, True), trainer(channels, batch, False)
    for _ in range(5):
        one_step(pooled), one_step(plain)
    times = {"pool": [], "fresh": []}
    for _ in range(repeats):
        times["pool"].append(one_step(pooled))
        times["fresh"].append(one_step(plain))
    row = {"channels": channels, "batch": batch, "repeats": repeats,
           "pool_ms": 1e3 * float(np.median(times["pool"])), "fresh_ms": 1e3 * float(np.median(times["fresh"])),
           "pool_peak_mb": traced_peak(pooled) / 1e6, "fresh_peak_mb": traced_peak(plain) / 1e6,
           "pool_arena_mb": pooled.buffer_pool.nbytes / 1e6}
    same = all(np.array_equal(pooled.model.params[k], plain.model.params[k]) for k in pooled.model.params)
    row["bit_identical_weights"] = bool(same)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = []
    print(f"{'C':>3} {'B':>4} {'pool ms':>9} {'fresh ms':>9} {'pool/fresh':>10} {'peak pool MB':>13} "
          f"{'peak fresh MB':>14} {'arena MB':>9} same")
    for channels in (8, 16):
        for batch in (16, 64):
            r = compare(channels, batch, args.repeats)
            rows.append(r)
            print(f"{channels:>3} {batch:>4} {r['pool_ms']:9.2f} {r['fresh_ms']:9.2f} "
                  f"{r['pool_ms'] / r['fresh_ms']:10.2f} {r['pool_peak_mb']:13.2f} {r['fresh_peak_mb']:14.2f} "
                  f"{r['pool_arena_mb']:9.2f} {r['bit_identical_weights']}")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(rows, stream, indent=2)
    return rows


if __name__ == "__main__":
    main()
